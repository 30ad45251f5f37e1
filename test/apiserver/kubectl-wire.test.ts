/**
 * The real `kubectl`'s typed commands against the embedded server: they send their bodies as
 * Kubernetes protobuf (`Content-Type: application/vnd.kubernetes.protobuf`), which the server
 * decodes; the stored objects are then read back over HTTP as JSON.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiServer } from '@kubecache/apiserver';
import { setup } from './helpers.ts';
import { kubectl } from './kubectl-helpers.ts';

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

describe('kubectl typed commands (protobuf bodies)', () => {
  let server: ApiServer;
  let dir: string;
  let kubeconfig: string;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    dir = mkdtempSync(join(tmpdir(), 'kubecache-kubectl-wire-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfigYaml);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Runs kubectl with request logging, expecting success, the given line on stdout and (for the
   * typed create commands) a protobuf request body: kubectl did not fall back to JSON.
   */
  async function ok(args: string[], expected: RegExp, protobuf = true): Promise<void> {
    const r = await kubectl(kubeconfig, ['-v=8', ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, expected);
    if (protobuf) assert.match(r.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
  }

  async function get(path: string): Promise<Obj> {
    const res = await fetch(server.url + path);
    assert.equal(res.status, 200, path);
    return (await res.json()) as Obj;
  }

  it('create namespace', async () => {
    await ok(['create', 'namespace', 'wire'], /namespace\/wire created/);
    const ns = await get('/api/v1/namespaces/wire');
    assert.equal(ns.kind, 'Namespace');
    assert.equal(ns.metadata.name, 'wire');
  });

  it('create configmap --from-literal (empty values kept)', async () => {
    await ok(
      ['-n', 'wire', 'create', 'configmap', 'cfg', '--from-literal=a=1', '--from-literal=empty='],
      /configmap\/cfg created/,
    );
    const cm = await get('/api/v1/namespaces/wire/configmaps/cfg');
    assert.deepEqual(cm.data, { a: '1', empty: '' });
    assert.equal(cm.apiVersion, 'v1');
  });

  it('create secret generic --from-literal (bytes become base64)', async () => {
    await ok(
      ['-n', 'wire', 'create', 'secret', 'generic', 'pw', '--from-literal=password=s3cr3t'],
      /secret\/pw created/,
    );
    const secret = await get('/api/v1/namespaces/wire/secrets/pw');
    assert.deepEqual(secret.data, { password: Buffer.from('s3cr3t').toString('base64') });
  });

  it('create deployment --image --replicas=0 (a pointer zero survives)', async () => {
    await ok(
      [
        '-n',
        'wire',
        'create',
        'deployment',
        'web',
        '--image=nginx:1.25',
        '--port=80',
        '--replicas=0',
      ],
      /deployment.apps\/web created/,
    );
    const dep = await get('/apis/apps/v1/namespaces/wire/deployments/web');
    const spec = dep.spec as {
      replicas: number;
      selector: unknown;
      template: { metadata: unknown; spec: { containers: unknown[] } };
    };
    assert.equal(spec.replicas, 0);
    assert.deepEqual(spec.selector, { matchLabels: { app: 'web' } });
    assert.deepEqual(spec.template.metadata, { creationTimestamp: null, labels: { app: 'web' } });
    assert.deepEqual(spec.template.spec.containers, [
      {
        name: 'nginx',
        image: 'nginx:1.25',
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        resources: {},
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      },
    ]);
    assert.deepEqual(dep.metadata.labels, { app: 'web' });
    assert.equal(dep.metadata.generation, 1);
  });

  it('create job --image -- command (batch/v1 jobs are served)', async () => {
    await ok(
      ['-n', 'wire', 'create', 'job', 'once', '--image=busybox', '--', 'echo', 'hi'],
      /job.batch\/once created/,
    );
    const job = await get('/apis/batch/v1/namespaces/wire/jobs/once');
    const spec = job.spec as { template: { spec: Record<string, unknown> } };
    assert.equal(spec.template.spec['restartPolicy'], 'Never');
    assert.deepEqual(spec.template.spec['containers'], [
      {
        name: 'once',
        image: 'busybox',
        command: ['echo', 'hi'],
        resources: {},
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'Always',
      },
    ]);
  });

  it('label (a merge patch) goes through too', async () => {
    await ok(
      ['-n', 'wire', 'label', 'configmap', 'cfg', 'tier=web'],
      /configmap\/cfg labeled/,
      false,
    );
    const cm = await get('/api/v1/namespaces/wire/configmaps/cfg');
    assert.deepEqual(cm.metadata.labels, { tier: 'web' });
  });
});
