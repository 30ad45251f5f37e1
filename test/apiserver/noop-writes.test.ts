import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import type { KubeObject } from '@kubecache/cache';
import { MYAPP_CRD, cm, json, openWatch, setup } from './helpers.ts';

type Body = Record<string, unknown> & {
  metadata: { resourceVersion: string; generation?: number; name: string };
};

/** Sends a JSON body (object or patch) and returns the answer. */
async function send(
  server: ApiServer,
  method: 'PUT' | 'PATCH',
  path: string,
  body: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: Body }> {
  const res = await json(server, path, {
    method,
    headers: { 'Content-Type': contentType },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: res.body as Body };
}

const MERGE = 'application/merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';

describe('apiserver no-op writes', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
  });
  after(() => server.close());

  it('a PUT or patch that changes nothing keeps the resourceVersion and sends no watch event', async () => {
    const created = server.create<KubeObject>(
      cm('same', 'noop', { app: 'a', tier: 'x' }, { k: 'v', n: '1' }),
    );
    const rv = created.metadata!.resourceVersion!;
    const path = '/api/v1/namespaces/noop/configmaps/same';
    const w = await openWatch(
      server,
      `/api/v1/namespaces/noop/configmaps?watch=true&resourceVersion=${rv}`,
    );

    const got = (await json(server, path)).body;
    const cases: [string, 'PUT' | 'PATCH', unknown, string?][] = [
      ['PUT of the stored object', 'PUT', got],
      [
        'PUT with keys reordered and no resourceVersion',
        'PUT',
        {
          data: { n: '1', k: 'v' },
          metadata: { labels: { tier: 'x', app: 'a' }, namespace: 'noop', name: 'same' },
          kind: 'ConfigMap',
          apiVersion: 'v1',
        },
      ],
      ['merge patch with the same values', 'PATCH', { data: { k: 'v' } }, MERGE],
      ['PATCH {}', 'PATCH', {}, MERGE],
      [
        'JSON patch with the same value',
        'PATCH',
        [{ op: 'replace', path: '/data/k', value: 'v' }],
        JSON_PATCH,
      ],
      [
        'strategic patch with the same labels',
        'PATCH',
        { metadata: { labels: { app: 'a' } } },
        STRATEGIC,
      ],
    ];
    for (const [what, method, body, type] of cases) {
      const res = await send(server, method, path, body, type);
      assert.equal(res.status, 200, what);
      assert.equal(res.body.metadata.resourceVersion, rv, `${what}: the resourceVersion stays`);
      assert.deepEqual(res.body['data'], { k: 'v', n: '1' }, what);
    }
    // The in-process helpers share the path.
    assert.equal(
      server.update<KubeObject>(cm('same', 'noop', { app: 'a', tier: 'x' }, { k: 'v', n: '1' }))
        .metadata!.resourceVersion,
      rv,
    );
    assert.equal(
      server.apply<KubeObject>(cm('same', 'noop', { app: 'a', tier: 'x' }, { k: 'v', n: '1' }))
        .metadata!.resourceVersion,
      rv,
    );
    assert.equal(
      server.patch(
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'noop', name: 'same' },
        { data: { n: '1' } },
      ).metadata!.resourceVersion,
      rv,
    );
    assert.equal(server.resourceVersion(), rv, 'no write happened anywhere');

    const changed = await send(server, 'PATCH', path, { data: { k: 'w' } }, MERGE);
    assert.equal(changed.status, 200);
    assert.equal(Number(changed.body.metadata.resourceVersion), Number(rv) + 1);
    const [ev] = await w.next(1);
    assert.equal(ev?.type, 'MODIFIED');
    assert.equal(ev?.object.metadata?.resourceVersion, changed.body.metadata.resourceVersion);
    assert.deepEqual(ev?.object['data'], { k: 'w', n: '1' }, 'the first event is the real change');
    assert.deepEqual(await w.next(1, 100), [], 'and nothing else came');
    w.close();
  });

  it('a status write that changes nothing keeps resourceVersion and generation (Deployment and CRD)', async () => {
    const dep = server.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'noop' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    } as KubeObject);
    const withStatus = server.updateStatus({
      ...dep,
      status: { replicas: 2, readyReplicas: 1 },
    } as KubeObject);
    const rv = withStatus.metadata!.resourceVersion!;
    const path = '/apis/apps/v1/namespaces/noop/deployments/web';
    const w = await openWatch(
      server,
      `/apis/apps/v1/namespaces/noop/deployments?watch=true&resourceVersion=${rv}`,
    );
    const stored = (await json(server, path)).body as Body;
    assert.equal(stored.metadata.generation, 1);

    const sameStatus = await send(server, 'PUT', `${path}/status`, stored);
    assert.equal(sameStatus.status, 200);
    assert.equal(sameStatus.body.metadata.resourceVersion, rv);
    assert.equal(sameStatus.body.metadata.generation, 1);
    const mergeStatus = await send(
      server,
      'PATCH',
      `${path}/status`,
      { status: { readyReplicas: 1 } },
      MERGE,
    );
    assert.equal(mergeStatus.body.metadata.resourceVersion, rv);
    // A main-resource PUT cannot change the status, so a different status there is a no-op too.
    const mainPut = await send(server, 'PUT', path, { ...stored, status: { replicas: 9 } });
    assert.equal(mainPut.body.metadata.resourceVersion, rv);
    assert.deepEqual(mainPut.body['status'], { replicas: 2, readyReplicas: 1 });
    assert.equal(server.resourceVersion(), rv);

    const real = await send(
      server,
      'PATCH',
      `${path}/status`,
      { status: { readyReplicas: 2 } },
      MERGE,
    );
    assert.equal(Number(real.body.metadata.resourceVersion), Number(rv) + 1);
    assert.equal(real.body.metadata.generation, 1, 'a status change does not bump generation');
    const [ev] = await w.next(1);
    assert.equal(ev?.type, 'MODIFIED');
    assert.equal(ev?.object.metadata?.resourceVersion, real.body.metadata.resourceVersion);
    assert.deepEqual(await w.next(1, 100), []);
    w.close();

    // The same for a custom resource with a status subresource.
    server.create(MYAPP_CRD);
    const app = server.create({
      apiVersion: 'my.domain/v1',
      kind: 'MyApp',
      metadata: { name: 'm', namespace: 'noop' },
      spec: { appName: 'x' },
    });
    const appWithStatus = server.updateStatus({ ...app, status: { phase: 'Ready' } } as KubeObject);
    const appRv = appWithStatus.metadata!.resourceVersion!;
    const appPath = '/apis/my.domain/v1/namespaces/noop/myapps/m';
    const appStored = (await json(server, appPath)).body as Body;
    const appSame = await send(server, 'PUT', `${appPath}/status`, appStored);
    assert.equal(appSame.status, 200);
    assert.equal(appSame.body.metadata.resourceVersion, appRv);
    assert.equal(appSame.body.metadata.generation, 1);
    const appPatch = await send(server, 'PATCH', appPath, { spec: { appName: 'x' } }, MERGE);
    assert.equal(appPatch.body.metadata.resourceVersion, appRv);
    assert.equal(server.resourceVersion(), appRv);
  });

  it('generation follows real spec changes only (key order is not a change)', async () => {
    const podTemplate = {
      selector: { matchLabels: { app: 'gen' } },
      template: {
        metadata: { labels: { app: 'gen' } },
        spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
      },
    };
    const dep = server.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gen', namespace: 'noop' },
      spec: { replicas: 1, paused: false, ...podTemplate },
    } as KubeObject);
    const rv = dep.metadata!.resourceVersion!;
    const reordered = server.update({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gen', namespace: 'noop' },
      spec: { ...podTemplate, paused: false, replicas: 1 },
    } as KubeObject);
    assert.equal(reordered.metadata!.resourceVersion, rv);
    assert.equal(reordered.metadata!.generation, 1);
    const labelled = server.patch(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'noop', name: 'gen' },
      { metadata: { labels: { a: 'b' } } },
    );
    assert.notEqual(labelled.metadata!.resourceVersion, rv, 'a label change is a write');
    assert.equal(labelled.metadata!.generation, 1, 'but not a spec change');
    const scaled = server.patch(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'noop', name: 'gen' },
      { spec: { replicas: 3 } },
    );
    assert.equal(scaled.metadata!.generation, 2);
  });
});
