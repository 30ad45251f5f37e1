import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig, V1Deployment } from '@kubernetes/client-node';
import type { ApiServer } from '@kubecache/apiserver';
import { cm, json, setup } from './helpers.ts';

function deployment(name: string, replicas = 1): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'nginx:1' }] },
      },
    },
  };
}

function codeOf(err: unknown): number {
  return (err as { code?: number }).code ?? -1;
}

function bodyOf(err: unknown): { reason?: string; kind?: string; code?: number } {
  return JSON.parse(String((err as { body?: string }).body ?? '{}')) as { reason?: string };
}

describe('apiserver CRUD over HTTP', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  before(async () => {
    ({ server, kc } = await setup());
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
  });
  after(() => server.close());

  it('serves discovery documents', async () => {
    const version = await json(server, '/version');
    assert.equal(version.body['major'], '1');
    const api = await json(server, '/api');
    assert.deepEqual(api.body['versions'], ['v1']);
    const core1 = await json(server, '/api/v1');
    const names = core1.body['resources'] as {
      name: string;
      kind: string;
      namespaced: boolean;
      shortNames?: string[];
      verbs: string[];
    }[];
    const cmRes = names.find((r) => r.name === 'configmaps')!;
    assert.equal(cmRes.kind, 'ConfigMap');
    assert.equal(cmRes.namespaced, true);
    assert.deepEqual(cmRes.shortNames, ['cm']);
    assert.ok(cmRes.verbs.includes('watch'));
    for (const r of ['namespaces', 'secrets', 'pods', 'services', 'events'])
      assert.ok(
        names.some((n) => n.name === r),
        r,
      );
    assert.equal(names.find((r) => r.name === 'namespaces')!.namespaced, false);
    const groups = await json(server, '/apis');
    const groupNames = (groups.body['groups'] as { name: string }[]).map((g) => g.name);
    for (const g of ['apps', 'coordination.k8s.io', 'apiextensions.k8s.io'])
      assert.ok(groupNames.includes(g), g);
    const appsDoc = await json(server, '/apis/apps/v1');
    const appsNames = (appsDoc.body['resources'] as { name: string }[]).map((r) => r.name);
    for (const r of ['deployments', 'replicasets', 'statefulsets', 'daemonsets'])
      assert.ok(appsNames.includes(r), r);
    const leases = await json(server, '/apis/coordination.k8s.io/v1');
    assert.ok((leases.body['resources'] as { name: string }[]).some((r) => r.name === 'leases'));
  });

  it('creates, reads, updates and deletes namespaced objects with server-set metadata', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: cm('crud-a', 'default', undefined, { k: 'v' }),
    });
    assert.equal(created.metadata?.name, 'crud-a');
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(created.metadata?.creationTimestamp instanceof Date);
    const rv1 = Number(created.metadata?.resourceVersion);
    assert.ok(rv1 > 0);
    assert.equal(created.metadata?.generation, undefined, 'configmaps carry no generation');
    const read = await core.readNamespacedConfigMap({ namespace: 'default', name: 'crud-a' });
    assert.deepEqual(read.data, { k: 'v' });
    read.data = { k: 'w' };
    const updated = await core.replaceNamespacedConfigMap({
      namespace: 'default',
      name: 'crud-a',
      body: read,
    });
    assert.ok(Number(updated.metadata?.resourceVersion) > rv1);
    assert.equal(updated.metadata?.uid, created.metadata?.uid);
    // stale resourceVersion -> 409 Conflict
    await assert.rejects(
      core.replaceNamespacedConfigMap({
        namespace: 'default',
        name: 'crud-a',
        body: { ...read, metadata: { ...read.metadata, resourceVersion: String(rv1) } },
      }),
      (err) => codeOf(err) === 409 && bodyOf(err).reason === 'Conflict',
    );
    // duplicate create -> 409 AlreadyExists
    await assert.rejects(
      core.createNamespacedConfigMap({ namespace: 'default', body: cm('crud-a') }),
      (err) => codeOf(err) === 409 && bodyOf(err).reason === 'AlreadyExists',
    );
    const status = await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'crud-a' });
    assert.equal(status.status, 'Success');
    await assert.rejects(
      core.readNamespacedConfigMap({ namespace: 'default', name: 'crud-a' }),
      (err) => codeOf(err) === 404 && bodyOf(err).reason === 'NotFound',
    );
    await assert.rejects(
      core.deleteNamespacedConfigMap({ namespace: 'default', name: 'crud-a' }),
      (err) => codeOf(err) === 404,
    );
  });

  it('handles cluster-scoped resources and rejects creates in missing namespaces', async () => {
    await core.createNamespace({ body: { metadata: { name: 'team-a' } } });
    const ns = await core.readNamespace({ name: 'team-a' });
    assert.equal(ns.metadata?.namespace, undefined);
    const all = await core.listNamespace();
    assert.ok(all.items.some((n) => n.metadata?.name === 'default'));
    await assert.rejects(
      core.createNamespacedConfigMap({ namespace: 'nope', body: cm('x', 'nope') }),
      (err) => codeOf(err) === 404,
    );
    await core.createNamespacedConfigMap({ namespace: 'team-a', body: cm('in-team', 'team-a') });
    await core.deleteNamespace({ name: 'team-a' });
    // The emulated namespace controller empties and removes it shortly after.
    const deadline = Date.now() + 5000;
    while (server.get({ apiVersion: 'v1', kind: 'Namespace', name: 'team-a' }) !== undefined) {
      assert.ok(Date.now() < deadline, 'the namespace is removed');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(
      server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'in-team' }),
      undefined,
      'namespace deletion cascades',
    );
  });

  it('generateName picks a unique name', async () => {
    const a = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { generateName: 'gen-' } },
    });
    const b = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { generateName: 'gen-' } },
    });
    assert.match(a.metadata?.name ?? '', /^gen-[a-z0-9]{5}$/);
    assert.notEqual(a.metadata?.name, b.metadata?.name);
  });

  it('bumps generation on spec changes only', async () => {
    const d = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('web'),
    });
    assert.equal(d.metadata?.generation, 1);
    d.metadata!.labels = { touched: 'yes' };
    const labelsOnly = await apps.replaceNamespacedDeployment({
      namespace: 'default',
      name: 'web',
      body: d,
    });
    assert.equal(labelsOnly.metadata?.generation, 1);
    labelsOnly.spec!.replicas = 3;
    const specChange = await apps.replaceNamespacedDeployment({
      namespace: 'default',
      name: 'web',
      body: labelsOnly,
    });
    assert.equal(specChange.metadata?.generation, 2);
    // main-resource updates cannot change status (status subresource)
    specChange.status = { replicas: 99 };
    const ignored = await apps.replaceNamespacedDeployment({
      namespace: 'default',
      name: 'web',
      body: specChange,
    });
    assert.equal(ignored.status?.replicas, undefined, 'the stored (empty) status is kept');
    const st = await apps.replaceNamespacedDeploymentStatus({
      namespace: 'default',
      name: 'web',
      body: { ...ignored, status: { replicas: 3 } },
    });
    assert.equal(st.status?.replicas, 3);
    assert.equal(st.metadata?.generation, 2);
  });

  it('supports merge, JSON and strategic merge patches', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: cm('patchme', 'default', { a: '1' }, { x: '1', y: '2' }),
    });
    const merged = await core.patchNamespacedConfigMap(
      {
        namespace: 'default',
        name: 'patchme',
        body: { data: { x: null, z: '3' }, metadata: { labels: { b: '2' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.deepEqual(merged.data, { y: '2', z: '3' });
    assert.deepEqual(merged.metadata?.labels, { a: '1', b: '2' });
    const patched = await core.patchNamespacedConfigMap(
      {
        namespace: 'default',
        name: 'patchme',
        body: [
          { op: 'replace', path: '/data/y', value: 'two' },
          { op: 'remove', path: '/data/z' },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    assert.deepEqual(patched.data, { y: 'two' });
    await assert.rejects(
      core.patchNamespacedConfigMap(
        {
          namespace: 'default',
          name: 'patchme',
          body: [{ op: 'test', path: '/data/y', value: 'nope' }],
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
      (err) => codeOf(err) === 422,
    );
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('smp') });
    const smp = await apps.patchNamespacedDeployment(
      {
        namespace: 'default',
        name: 'smp',
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'side', image: 'busybox' },
                  { name: 'main', image: 'nginx:2' },
                ],
              },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const containers = smp.spec?.template.spec?.containers ?? [];
    assert.deepEqual(containers.map((c) => `${c.name}=${c.image}`).sort(), [
      'main=nginx:2',
      'side=busybox',
    ]);
    await assert.rejects(
      core.patchNamespacedConfigMap(
        { namespace: 'default', name: 'missing', body: { data: {} } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
      (err) => codeOf(err) === 404,
    );
  });

  it('keeps objects with finalizers until the finalizers are cleared', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } },
    });
    const pending = await json(server, '/api/v1/namespaces/default/configmaps/fin', {
      method: 'DELETE',
    });
    assert.equal(pending.status, 200);
    assert.ok(
      (pending.body['metadata'] as { deletionTimestamp?: string }).deletionTimestamp,
      'delete returns the terminating object',
    );
    const still = await core.readNamespacedConfigMap({ namespace: 'default', name: 'fin' });
    assert.ok(still.metadata?.deletionTimestamp instanceof Date);
    still.metadata!.finalizers = [];
    await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'fin', body: still });
    await assert.rejects(
      core.readNamespacedConfigMap({ namespace: 'default', name: 'fin' }),
      (err) => codeOf(err) === 404,
    );
  });

  it('answers bad input with the right Status and keeps serving', async () => {
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      json(server, path, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', ...headers },
      });
    const malformed = await post('/api/v1/namespaces/default/configmaps', '{"metadata":');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body['reason'], 'BadRequest');
    assert.equal(malformed.body['kind'], 'Status');
    const noName = await post('/api/v1/namespaces/default/configmaps', '{"data":{}}');
    assert.equal(noName.status, 422);
    assert.equal(noName.body['reason'], 'Invalid');
    const badName = await post(
      '/api/v1/namespaces/default/configmaps',
      '{"metadata":{"name":"Not_Valid"}}',
    );
    assert.equal(badName.status, 422);
    const wrongKind = await post(
      '/api/v1/namespaces/default/configmaps',
      '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"k"}}',
    );
    assert.equal(wrongKind.status, 400);
    const wrongNs = await post(
      '/api/v1/namespaces/default/configmaps',
      '{"metadata":{"name":"k","namespace":"other"}}',
    );
    assert.equal(wrongNs.status, 400);
    const unknown = await json(server, '/api/v1/namespaces/default/widgets');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body['reason'], 'NotFound');
    const unknownGroup = await json(server, '/apis/nope.io/v1/things');
    assert.equal(unknownGroup.status, 404);
    const big = await post(
      '/api/v1/namespaces/default/configmaps',
      JSON.stringify({ metadata: { name: 'big' }, data: { x: 'y'.repeat(4 * 1024 * 1024) } }),
    );
    assert.equal(big.status, 413);
    const array = await post('/api/v1/namespaces/default/configmaps', '[1,2]');
    assert.equal(array.status, 400);
    const badPatch = await json(server, '/api/v1/namespaces/default/configmaps/x', {
      method: 'PATCH',
      body: '{}',
      headers: { 'Content-Type': 'text/plain' },
    });
    assert.ok(badPatch.status === 415 || badPatch.status === 404);
    const badLimit = await json(server, '/api/v1/configmaps?limit=abc');
    assert.equal(badLimit.status, 400);
    const badRv = await json(server, '/api/v1/configmaps?watch=true&resourceVersion=abc');
    assert.equal(badRv.status, 400);
    const method = await json(server, '/api/v1/namespaces/default/configmaps', {
      method: 'PUT',
      body: '{}',
    });
    assert.equal(method.status, 405);
    const ok = await json(server, '/api/v1/namespaces/default/configmaps');
    assert.equal(ok.status, 200);
  });

  it('survives random garbage requests', async () => {
    let seed = Number(process.env['APISERVER_FUZZ_SEED'] ?? 1234);
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const paths = [
      '/api/v1/namespaces/default/configmaps',
      '/apis/apps/v1/namespaces/default/deployments/x',
      '/api/v1/namespaces',
      '/apis/%zz',
      '/api/v1/namespaces/default/configmaps/a/b/c/d',
      '/openapi/v3/zzz',
    ];
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
    const bodies = [
      '',
      '{',
      'null',
      '123',
      '"s"',
      '{"metadata":{"name":5}}',
      '{"metadata":null}',
      '[{"op":"bogus"}]',
      '{"apiVersion":7}',
      '\u0000\u0001',
    ];
    const types = [
      'application/json',
      'application/merge-patch+json',
      'application/json-patch+json',
      'application/strategic-merge-patch+json',
      'application/apply-patch+yaml',
    ];
    for (let i = 0; i < 120; i++) {
      const method = methods[Math.floor(rand() * methods.length)]!;
      const res = await fetch(server.url + paths[Math.floor(rand() * paths.length)]!, {
        method,
        headers: { 'Content-Type': types[Math.floor(rand() * types.length)]! },
        ...(method === 'GET' ? {} : { body: bodies[Math.floor(rand() * bodies.length)]! }),
      });
      const text = await res.text();
      assert.ok(
        res.status < 500,
        `${method} ${res.url} status ${res.status} ${text} seed ${process.env['APISERVER_FUZZ_SEED'] ?? 1234}`,
      );
    }
    const alive = await json(server, '/version');
    assert.equal(alive.status, 200);
  });

  it('serves metadata-only GET and LIST with the PartialObjectMetadata Accept header', async () => {
    server.create(cm('meta-a', 'default', { m: '1' }, { secret: 'x' }));
    const list = await json(server, '/api/v1/namespaces/default/configmaps', {
      headers: { Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' },
    });
    assert.equal(list.body['kind'], 'PartialObjectMetadataList');
    assert.equal(list.body['apiVersion'], 'meta.k8s.io/v1');
    const item = (list.body['items'] as Record<string, unknown>[]).find(
      (i) => (i['metadata'] as { name: string }).name === 'meta-a',
    )!;
    assert.equal(item['data'], undefined);
    assert.deepEqual((item['metadata'] as { labels: unknown }).labels, { m: '1' });
    const one = await json(server, '/api/v1/namespaces/default/configmaps/meta-a', {
      headers: { Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' },
    });
    assert.equal(one.body['kind'], 'PartialObjectMetadata');
    assert.equal(one.body['data'], undefined);
  });

  it('in-process helpers go through the same storage as HTTP', async () => {
    const created = server.create(cm('helper', 'helper-ns', undefined, { a: 'b' }));
    assert.equal(created.metadata?.namespace, 'helper-ns');
    const viaHttp = await core.readNamespacedConfigMap({ namespace: 'helper-ns', name: 'helper' });
    assert.deepEqual(viaHttp.data, { a: 'b' });
    server.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'helper-ns', name: 'helper' },
      { data: { a: 'c' } },
    );
    assert.deepEqual(
      server.get<{ data?: unknown; metadata?: object }>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'helper-ns',
        name: 'helper',
      })?.data,
      { a: 'c' },
    );
    assert.equal(
      server.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'helper-ns' }).length,
      1,
    );
    server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'helper-ns', name: 'helper' });
    await assert.rejects(
      core.readNamespacedConfigMap({ namespace: 'helper-ns', name: 'helper' }),
      (err) => codeOf(err) === 404,
    );
    assert.throws(
      () => server.create(cm('Bad_Name')),
      (err) => (err as { statusCode?: number }).statusCode === 422,
    );
  });

  it('in-process writes keep a private copy of the caller object', () => {
    const input = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'iso', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'iso' } },
        template: {
          metadata: { labels: { app: 'iso' } },
          spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
        },
      },
    };
    server.create(input);
    input.spec.replicas = 5;
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'iso' };
    const stored = server.get<{ spec: { replicas: number }; metadata: { generation: number } }>(
      ref,
    );
    assert.equal(stored?.spec.replicas, 1);
    const updated = server.update(input) as unknown as { metadata: { generation: number } };
    assert.equal(updated.metadata.generation, 2, 'the spec change is seen, so generation bumps');
    input.spec.replicas = 7;
    assert.equal(
      server.get<{ spec: { replicas: number }; metadata?: object }>(ref)?.spec.replicas,
      5,
    );
  });

  it('in-process helpers default the namespace of namespaced kinds to default', () => {
    server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'no-ns' } });
    const updated = server.update({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'no-ns' },
      data: { a: 'b' },
    } as {
      apiVersion: string;
      kind: string;
      metadata: { name: string; namespace?: string };
    });
    assert.equal(updated.metadata.namespace, 'default');
    const applied = server.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'no-ns' },
      data: { c: 'd' },
    });
    assert.deepEqual((applied as { data?: unknown }).data, { c: 'd' });
  });

  it('deletes collections and honours dryRun', async () => {
    server.create(cm('dc-1', 'dc', { g: 'x' }));
    server.create(cm('dc-2', 'dc', { g: 'x' }));
    server.create(cm('dc-3', 'dc', { g: 'y' }));
    const dry = await json(server, '/api/v1/namespaces/dc/configmaps?dryRun=All', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(cm('dry', 'dc')),
    });
    assert.equal(dry.status, 201);
    assert.equal(
      server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'dc', name: 'dry' }),
      undefined,
    );
    // A dry-run update answers the changed object at the stored resourceVersion (as the real
    // server does) and stores nothing.
    const before = server.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'dc',
      name: 'dc-1',
    });
    const dryPatch = await json(server, '/api/v1/namespaces/dc/configmaps/dc-1?dryRun=All', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ data: { g: 'changed' } }),
    });
    assert.equal(dryPatch.status, 200);
    const answered = dryPatch.body as { metadata: { resourceVersion: string }; data: unknown };
    assert.deepEqual(answered.data, { g: 'changed' });
    assert.equal(answered.metadata.resourceVersion, before?.metadata?.resourceVersion);
    assert.deepEqual(
      server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'dc', name: 'dc-1' }),
      before,
    );
    await core.deleteCollectionNamespacedConfigMap({ namespace: 'dc', labelSelector: 'g=x' });
    assert.deepEqual(
      server
        .list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'dc' })
        .map((o) => o.metadata?.name),
      ['dc-3'],
    );
  });
});
