/**
 * Records the discovery documents of a REAL kube-apiserver (not a test) into
 * `test/apiserver/golden/discovery/*.json`, for `test/apiserver/discovery.test.ts`, which compares
 * the embedded server's documents with them, restricted to the resources the embedded server
 * models. Same environment as `record.ts`:
 *
 *   KUBE_API_URL=https://127.0.0.1:6443 KUBE_TOKEN=... KUBE_CA_FILE=ca.crt \
 *     node test/apiserver/golden/record-discovery.ts
 *
 * It creates the CRD `widgets.golden.example.com` (categories, short names, status and scale
 * subresources, a served v1beta1 and a storage v1) to record how a custom resource is listed; run it
 * against a fresh server.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WIDGET_CRD } from './discovery-crd.ts';
import type { DiscoveryGolden } from './discovery-crd.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'discovery');
const BASE = process.env['KUBE_API_URL'] ?? '';
const TOKEN = process.env['KUBE_TOKEN'] ?? '';
const CA = process.env['KUBE_CA_FILE'] ? readFileSync(process.env['KUBE_CA_FILE']) : undefined;
if (BASE === '') {
  console.error(
    'set KUBE_API_URL, KUBE_TOKEN and KUBE_CA_FILE (kube-up.sh writes them to DATA/env)',
  );
  process.exit(2);
}

function send(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(new URL(path, BASE), {
      method,
      ca: CA,
      headers: {
        Accept: 'application/json',
        Authorization: `Bearer ${TOKEN}`,
        ...(payload !== undefined
          ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
          : {}),
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const PATHS = [
  '/api',
  '/api/v1',
  '/apis/apps/v1',
  '/apis/coordination.k8s.io/v1',
  '/apis/events.k8s.io/v1',
  '/apis/apiextensions.k8s.io/v1',
  '/apis/golden.example.com/v1',
  '/apis/golden.example.com/v1beta1',
];

const version = (JSON.parse((await send('GET', '/version')).text) as { gitVersion: string })
  .gitVersion;
const created = await send(
  'POST',
  '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  WIDGET_CRD,
);
if (created.status !== 201 && created.status !== 409) throw new Error(created.text);
// The CRD's resources are served once it is established.
for (let i = 0; i < 100; i++) {
  if ((await send('GET', '/apis/golden.example.com/v1')).status === 200) break;
  await new Promise((r) => setTimeout(r, 100));
}
mkdirSync(DIR, { recursive: true });
for (const path of PATHS) {
  const res = await send('GET', path);
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text}`);
  const golden: DiscoveryGolden = {
    recordedFrom: `kube-apiserver ${version}`,
    path,
    body: JSON.parse(res.text) as unknown,
  };
  const file = join(DIR, `${path.slice(1).replaceAll('/', '_')}.json`);
  writeFileSync(file, JSON.stringify(golden, null, 2) + '\n');
  console.log(`${path} -> ${file}`);
}
