/**
 * kubectl against the embedded server's defaulting and validation: the texts kubectl prints are
 * those it prints against a real v1.23 kube-apiserver (checked by hand with the same commands).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiServer } from '@kubecache/apiserver';
import { setup } from './helpers.ts';
import { kubectl } from './kubectl-helpers.ts';

const DEPLOYMENT = (selector: boolean) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
${selector ? '  selector: {matchLabels: {app: web}}\n' : ''}  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx
`;

describe('kubectl and validation', () => {
  let server: ApiServer;
  let dir: string;
  let kubeconfig: string;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    dir = mkdtempSync(join(tmpdir(), 'kubecache-kubectl-validate-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfigYaml);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the causes of a 422 one per line', async () => {
    const manifest = join(dir, 'invalid.yaml');
    writeFileSync(manifest, DEPLOYMENT(false));
    const res = await kubectl(kubeconfig, ['apply', '--validate=false', '-f', manifest]);
    assert.equal(res.code, 1);
    assert.equal(
      res.stderr,
      'The Deployment "web" is invalid: \n' +
        '* spec.selector: Required value\n' +
        '* spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`\n',
    );
  });

  it('applies a minimal Deployment with the defaults, and a second apply is unchanged', async () => {
    const manifest = join(dir, 'valid.yaml');
    writeFileSync(manifest, DEPLOYMENT(true));
    const first = await kubectl(kubeconfig, ['apply', '-f', manifest]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'deployment.apps/web created\n');
    const rv = server.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'default',
      name: 'web',
    })?.metadata?.resourceVersion;
    const second = await kubectl(kubeconfig, ['apply', '-f', manifest]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'deployment.apps/web unchanged\n');
    const got = await kubectl(kubeconfig, [
      'get',
      'deploy',
      'web',
      '-o',
      'jsonpath={.spec.strategy}{" "}{.spec.template.spec.containers[0].imagePullPolicy}{" "}{.metadata.resourceVersion}',
    ]);
    assert.equal(
      got.stdout,
      `{"rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"},"type":"RollingUpdate"} Always ${rv}`,
    );
  });

  it('create secret generic (protobuf): type Opaque and base64 data; create configmap with a bad name', async () => {
    const created = await kubectl(kubeconfig, [
      'create',
      'secret',
      'generic',
      'typed',
      '--from-literal=password=hunter2',
      '-o',
      'jsonpath={.data.password} {.type}',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'aHVudGVyMg== Opaque');
    const stored = server.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'default',
      name: 'typed',
    });
    assert.equal((stored as { type?: string } | undefined)?.type, 'Opaque');
    const bad = await kubectl(kubeconfig, ['create', 'configmap', 'Bad2', '--from-literal=a=b']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^error: failed to create configmap: ConfigMap "Bad2" is invalid: metadata\.name: Invalid value: "Bad2": a lowercase RFC 1123 subdomain/,
    );
  });

  // (Manifests go as JSON.)
  it('create -f: stringData becomes base64 data, typed secrets need their keys', async () => {
    const ok = await kubectl(
      kubeconfig,
      ['create', '-f', '-', '-o', 'jsonpath={.data.password} {.type}'],
      'apiVersion: v1\nkind: Secret\nmetadata: {name: t2, namespace: default}\nstringData: {password: hunter2}\n',
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'aHVudGVyMg== Opaque');
    const tls = await kubectl(
      kubeconfig,
      ['create', '-f', '-'],
      'apiVersion: v1\nkind: Secret\nmetadata: {name: t1, namespace: default}\ntype: kubernetes.io/tls\nstringData: {password: hunter2}\n',
    );
    assert.equal(tls.code, 1);
    assert.equal(
      tls.stderr,
      'The Secret "t1" is invalid: \n* data[tls.crt]: Required value\n* data[tls.key]: Required value\n',
    );
  });

  it('create -f: a ConfigMap with an invalid name', async () => {
    const res = await kubectl(
      kubeconfig,
      ['create', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad, namespace: default}\n',
    );
    assert.equal(res.code, 1);
    assert.equal(
      res.stderr,
      `The ConfigMap "Bad" is invalid: metadata.name: Invalid value: "Bad": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\n`,
    );
  });
});
