/**
 * The real kubectl's write paths against the embedded server, checked against what a real
 * v1.23 server answers to the same commands: client-side `apply` (a strategic merge patch built
 * from the last-applied annotation), `apply --server-side` with conflicts and
 * `--force-conflicts`, `patch` of every type, `label`, `annotate` and `edit`, each leaving its
 * manager in `metadata.managedFields`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiServer } from '@kubecache/apiserver';
import { setup } from './helpers.ts';
import { kubectl } from './kubectl-helpers.ts';

interface Managed {
  manager: string;
  operation: string;
}

describe('kubectl writes against the embedded server', () => {
  let server: ApiServer;
  let dir: string;
  let kubeconfig: string;
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const ok = async (args: string[], env?: Record<string, string>): Promise<string> => {
    const r = await kubectl(kubeconfig, args, env === undefined ? {} : { env });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const managers = (obj: { metadata?: { managedFields?: unknown } }): string[] =>
    ((obj.metadata?.managedFields ?? []) as Managed[])
      .map((m) => `${m.manager}/${m.operation}`)
      .sort();
  const getCm = (name: string) =>
    server.get<{ data?: Record<string, string>; metadata: Record<string, unknown> }>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'kt',
      name,
    })!;

  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    dir = mkdtempSync(join(tmpdir(), 'kubecache-kubectl-ssa-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfigYaml);
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kt' } });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('apply -f twice: the second is a strategic merge from the last-applied configuration', async () => {
    const manifest = (image: string, replicas: number, env: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kt
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: ${image}
        env: [${env}]
`;
    assert.match(
      await ok([
        'apply',
        '-f',
        file('d1.yaml', manifest('nginx:1', 1, '{name: A, value: "1"}, {name: B, value: "2"}')),
      ]),
      /deployment.apps\/web created/,
    );
    // Someone else adds a container: client-side apply must keep it (merge by name).
    await ok([
      'patch',
      'deployment',
      'web',
      '-n',
      'kt',
      '--type',
      'strategic',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}',
    ]);
    assert.match(
      await ok(['apply', '-f', file('d2.yaml', manifest('nginx:2', 2, '{name: A, value: "1"}'))]),
      /deployment.apps\/web configured/,
    );
    const dep = server.get<{
      metadata: Record<string, unknown>;
      spec: {
        replicas: number;
        template: { spec: { containers: { name: string; image: string; env?: unknown }[] } };
      };
    }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kt', name: 'web' })!;
    assert.equal(dep.spec.replicas, 2);
    // As on a real server: the patched-in sidecar came first and stays; env B (dropped from the
    // manifest) is deleted through the last-applied annotation.
    assert.deepEqual(
      dep.spec.template.spec.containers.map((c) => [c.name, c.image, c.env]),
      [
        ['sidecar', 'busybox', undefined],
        ['c', 'nginx:2', [{ name: 'A', value: '1' }]],
      ],
    );
    assert.deepEqual(managers(dep), ['kubectl-client-side-apply/Update', 'kubectl-patch/Update']);
  });

  it('apply --server-side: removal of dropped fields, conflicts, --force-conflicts', async () => {
    const cm = (data: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: ss, namespace: kt}
data: {${data}}
`;
    assert.match(
      await ok(['apply', '--server-side', '-f', file('c1.yaml', cm('a: "1", b: "2"'))]),
      /configmap\/ss serverside-applied/,
    );
    await ok(['apply', '--server-side', '-f', file('c2.yaml', cm('a: "1", c: "3"'))]);
    assert.deepEqual(getCm('ss').data, { a: '1', c: '3' });
    const c3 = file('c3.yaml', cm('a: "9", c: "3"'));
    const refused = await kubectl(kubeconfig, [
      'apply',
      '--server-side',
      '--field-manager=other',
      '-f',
      c3,
    ]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /Apply failed with 1 conflict: conflict with "kubectl": \.data\.a/,
    );
    assert.match(refused.stderr, /--force-conflicts/);
    await ok(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', c3]);
    const after = getCm('ss');
    assert.deepEqual(after.data, { a: '9', c: '3' });
    assert.deepEqual(managers(after), ['kubectl/Apply', 'other/Apply']);
  });

  it('patch (strategic, merge, json), label, annotate and edit, each under its own manager', async () => {
    // The typed create (sent as protobuf).
    await ok(['create', 'configmap', 'p', '-n', 'kt', '--from-literal=a=1']);
    await ok([
      'patch',
      'configmap',
      'p',
      '-n',
      'kt',
      '--type',
      'strategic',
      '-p',
      '{"data":{"s":"1"}}',
    ]);
    await ok([
      'patch',
      'configmap',
      'p',
      '-n',
      'kt',
      '--type',
      'merge',
      '-p',
      '{"data":{"m":"1"}}',
    ]);
    await ok([
      'patch',
      'configmap',
      'p',
      '-n',
      'kt',
      '--type',
      'json',
      '-p',
      '[{"op":"add","path":"/data/j","value":"1"}]',
    ]);
    await ok(['label', 'configmap', 'p', '-n', 'kt', 'x=y']);
    await ok(['annotate', 'configmap', 'p', '-n', 'kt', 'note=hi']);
    // A non-interactive editor: kubectl writes the object to a temporary file and runs
    // $EDITOR on it.
    assert.match(
      await ok(['edit', 'configmap', 'p', '-n', 'kt'], {
        EDITOR: 'sed -i s/note:\\ hi/note:\\ bye/',
      }),
      /configmap\/p edited/,
    );
    const p = getCm('p');
    assert.deepEqual(p.data, { a: '1', j: '1', m: '1', s: '1' });
    assert.deepEqual(p.metadata['labels'], { x: 'y' });
    assert.deepEqual(p.metadata['annotations'], { note: 'bye' });
    assert.deepEqual(managers(p), [
      'kubectl-annotate/Update',
      'kubectl-create/Update',
      'kubectl-edit/Update',
      'kubectl-label/Update',
      'kubectl-patch/Update',
    ]);
    // A failed JSON patch test changes nothing.
    const failed = await kubectl(kubeconfig, [
      'patch',
      'configmap',
      'p',
      '-n',
      'kt',
      '--type',
      'json',
      '-p',
      '[{"op":"test","path":"/data/a","value":"nope"}]',
    ]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /The request is invalid/);
  });
});
