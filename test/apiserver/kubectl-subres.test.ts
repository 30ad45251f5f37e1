/**
 * The real `kubectl` (1.32) against the embedded server, for what the scale and other
 * subresources, discovery (categories, verbs) and the OpenAPI documents make work: `scale`,
 * `get all`, `explain`, `api-resources`, `apply --validate=true`, `logs` and `create token` (a
 * protobuf TokenRequest; the token subresource's details are tested over HTTP in
 * `subresources.test.ts`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiServer } from '@kubecache/apiserver';
import { setup } from './helpers.ts';
import { kubectl } from './kubectl-helpers.ts';

function deployment(name: string, replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
    },
  };
}

describe('kubectl: subresources, discovery and OpenAPI', () => {
  let server: ApiServer;
  let dir: string;
  let kubeconfig: string;
  const run = (args: string[], stdin?: string) => kubectl(kubeconfig, args, stdin);

  before(async () => {
    ({ server } = await setup());
    dir = mkdtempSync(join(tmpdir(), 'kubecache-kubectl-subres-'));
    kubeconfig = join(dir, 'kubeconfig');
    // Its own discovery cache, so nothing cached from another server is reused.
    writeFileSync(kubeconfig, server.kubeconfigYaml);
    process.env['KUBECACHEDIR'] = join(dir, 'cache');
    server.create(deployment('web', 1));
    server.create({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'shop' },
      spec: {
        replicas: 1,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'c', image: 'postgres' }] },
        },
      },
    });
    server.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'shop' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    server.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'svc', namespace: 'shop' },
      spec: { ports: [{ port: 80 }] },
    });
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'not-in-all', namespace: 'shop' },
    });
    server.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'robot', namespace: 'shop' },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const replicasOf = (kind: string, name: string) =>
    server.get<{ metadata?: object; spec: { replicas: number } }>({
      apiVersion: 'apps/v1',
      kind,
      namespace: 'shop',
      name,
    })!.spec.replicas;

  it('kubectl scale deployment (a merge patch of …/scale) and statefulset', async () => {
    const res = await run(['-n', 'shop', 'scale', 'deployment', 'web', '--replicas=3']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), 'deployment.apps/web scaled');
    assert.equal(replicasOf('Deployment', 'web'), 3);
    const sts = await run(['-n', 'shop', 'scale', 'statefulset', 'db', '--replicas=2']);
    assert.equal(sts.code, 0, sts.stderr);
    assert.equal(replicasOf('StatefulSet', 'db'), 2);
  });

  it('kubectl scale --current-replicas: a precondition (GET then PUT of the Scale)', async () => {
    const wrong = await run([
      '-n',
      'shop',
      'scale',
      'deploy/web',
      '--current-replicas=7',
      '--replicas=4',
    ]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Expected replicas to be 7, was 3/);
    const ok = await run([
      '-n',
      'shop',
      'scale',
      'deploy/web',
      '--current-replicas=3',
      '--replicas=4',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(replicasOf('Deployment', 'web'), 4);
  });

  it('kubectl scale of a missing deployment is NotFound', async () => {
    const res = await run(['-n', 'shop', 'scale', 'deployment', 'nope', '--replicas=1']);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /deployments\.apps "nope" not found/);
  });

  it('kubectl get all lists the resources in the "all" category only', async () => {
    const res = await run(['-n', 'shop', 'get', 'all', '-o', 'name']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(res.stdout.trim().split('\n').sort(), [
      'deployment.apps/web',
      'pod/p',
      'service/svc',
      'statefulset.apps/db',
    ]);
  });

  it('kubectl api-resources shows the real verbs and categories', async () => {
    const res = await run(['api-resources', '-o', 'wide']);
    assert.equal(res.code, 0, res.stderr);
    const rows = new Map(
      res.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => {
          const cols = line.split(/\s+/);
          const key: string = `${cols[0]} ${cols.find((c) => c.includes('/')) ?? 'v1'}`;
          return [key, line] as const;
        }),
    );
    const row = (key: string) => rows.get(key) ?? assert.fail(`no row ${key}:\n${res.stdout}`);
    assert.match(row('namespaces v1'), /create,delete,get,list,patch,update,watch\s*$/);
    assert.match(row('bindings v1'), /Binding\s+create\s*$/);
    assert.match(
      row('pods v1'),
      /create,delete,deletecollection,get,list,patch,update,watch\s+all$/,
    );
    assert.match(row('deployments apps/v1'), /\s+all$/);
    assert.match(row('customresourcedefinitions apiextensions.k8s.io/v1'), /\s+api-extensions$/);
    assert.doesNotMatch(row('configmaps v1'), /\sall$/);
    const listable = await run(['api-resources', '--verbs=list', '--categories=all', '-o', 'name']);
    assert.deepEqual(listable.stdout.trim().split('\n').sort(), [
      'daemonsets.apps',
      'deployments.apps',
      'jobs.batch',
      'pods',
      'replicasets.apps',
      'services',
      'statefulsets.apps',
    ]);
  });

  it('kubectl explain deployment.spec.replicas (OpenAPI v3 with the real schemas)', async () => {
    const res = await run(['explain', 'deployment.spec.replicas']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /KIND:\s+Deployment/);
    assert.match(res.stdout, /FIELD: replicas <integer>/);
    assert.match(
      res.stdout,
      /Number of desired pods\. This is a pointer to distinguish between explicit/,
    );
  });

  it('kubectl explain configmap lists its fields', async () => {
    const res = await run(['explain', 'configmap']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /KIND:\s+ConfigMap/);
    assert.match(res.stdout, /ConfigMap holds configuration data for pods to consume\./);
    for (const field of [
      'binaryData\t<map[string]string>',
      'data\t<map[string]string>',
      'immutable\t<boolean>',
    ]) {
      assert.ok(res.stdout.includes(field), `${field} in:\n${res.stdout}`);
    }
  });

  it('kubectl apply --validate=true: the server rejects unknown fields (fieldValidation=Strict)', async () => {
    const manifest = (extra: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: validated, namespace: shop}
data: {a: b}
${extra}`;
    const bad = await run(['apply', '--validate=true', '-f', '-'], manifest('bogus: 1\n'));
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus"/,
    );
    const warn = await run(['apply', '--validate=warn', '-f', '-'], manifest('bogus: 1\n'));
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /Warning: unknown field "bogus"/);
    const good = await run(['apply', '--validate=true', '-f', '-'], manifest(''));
    assert.equal(good.code, 0, good.stderr);
  });

  it('kubectl create token (a protobuf TokenRequest) prints a token for the service account', async () => {
    const res = await run(['-n', 'shop', 'create', 'token', 'robot', '--duration=20m']);
    assert.equal(res.code, 0, res.stderr);
    const parts = res.stdout.trim().split('.');
    assert.equal(parts.length, 3, res.stdout);
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as {
      sub: string;
      exp: number;
      iat: number;
    };
    assert.equal(claims.sub, 'system:serviceaccount:shop:robot');
    assert.equal(claims.exp - claims.iat, 1200);
    const missing = await run(['-n', 'shop', 'create', 'token', 'nobody']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
  });

  it('kubectl logs of a pod on no node: an empty log (the real 204)', async () => {
    const logs = await run(['-n', 'shop', 'logs', 'p']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, '');
  });
});
