import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ApiServer } from '@kubecache/apiserver';
import { cm, json, openWatch, setup } from './helpers.ts';

const CM_PATH = '/api/v1/namespaces/lw/configmaps';

describe('apiserver LIST', () => {
  let server: ApiServer;
  let core: CoreV1Api;
  before(async () => {
    // A LIST from a future RV waits this long before its 504 (3 s by default).
    const s = await setup({ tooLargeResourceVersionWaitMs: 50 });
    server = s.server;
    core = s.kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < 10; i++)
      server.create(
        cm(`item-${i}`, 'lw', { idx: String(i), parity: i % 2 === 0 ? 'even' : 'odd' }),
      );
    server.create(cm('other', 'lw2', { parity: 'even' }));
  });
  after(() => server.close());

  it('lists a namespace and all namespaces with the list resourceVersion', async () => {
    const ns = await core.listNamespacedConfigMap({ namespace: 'lw' });
    assert.equal(ns.items.length, 10);
    assert.equal(ns.metadata?.resourceVersion, server.resourceVersion());
    assert.deepEqual(
      ns.items.map((i) => i.metadata?.name),
      [...Array(10).keys()].map((i) => `item-${i}`),
    );
    const all = await core.listConfigMapForAllNamespaces();
    assert.equal(all.items.length, 11);
    const raw = await json(server, CM_PATH);
    assert.equal(raw.body['kind'], 'ConfigMapList');
    assert.equal(raw.body['apiVersion'], 'v1');
    const first = (raw.body['items'] as Record<string, unknown>[])[0]!;
    assert.equal(
      first['kind'],
      undefined,
      'built-in list items carry no kind, as on the real server',
    );
  });

  it('filters with label and field selectors', async () => {
    const even = await core.listNamespacedConfigMap({
      namespace: 'lw',
      labelSelector: 'parity=even',
    });
    assert.equal(even.items.length, 5);
    const set = await core.listNamespacedConfigMap({
      namespace: 'lw',
      labelSelector: 'idx in (1,2,3),parity!=odd',
    });
    assert.deepEqual(
      set.items.map((i) => i.metadata?.name),
      ['item-2'],
    );
    const byName = await core.listConfigMapForAllNamespaces({
      fieldSelector: 'metadata.name=other',
    });
    assert.deepEqual(
      byName.items.map((i) => i.metadata?.namespace),
      ['lw2'],
    );
    const byNs = await core.listConfigMapForAllNamespaces({
      fieldSelector: 'metadata.namespace!=lw',
    });
    assert.ok(byNs.items.every((i) => i.metadata?.namespace !== 'lw'));
    const bad = await json(server, `${CM_PATH}?labelSelector=${encodeURIComponent('a in (b')}`);
    assert.equal(bad.status, 400);
  });

  it('pages with limit/continue and reports remainingItemCount', async () => {
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    let firstRv: string | undefined;
    do {
      const page = await core.listNamespacedConfigMap({
        namespace: 'lw',
        limit: 3,
        _continue: cont,
      });
      firstRv ??= page.metadata?.resourceVersion;
      assert.equal(page.metadata?.resourceVersion, firstRv, 'every page reports the first page RV');
      names.push(...page.items.map((i) => i.metadata!.name!));
      cont = page.metadata?._continue;
      if (pages === 0) assert.equal(page.metadata?.remainingItemCount, 7);
      pages++;
    } while (cont);
    assert.equal(pages, 4);
    assert.equal(new Set(names).size, 10);
    const filtered = await core.listNamespacedConfigMap({
      namespace: 'lw',
      limit: 2,
      labelSelector: 'parity=odd',
    });
    assert.equal(filtered.items.length, 2);
    assert.ok(filtered.metadata?._continue);
  });

  it('expires continue tokens after compaction with 410', async () => {
    const page = await core.listNamespacedConfigMap({ namespace: 'lw', limit: 2 });
    server.create(cm('bump', 'lw-other'));
    server.faults.compactHistory();
    const res = await json(server, `${CM_PATH}?limit=2&continue=${page.metadata!._continue!}`);
    assert.equal(res.status, 410);
    assert.equal(res.body['reason'], 'Expired');
  });

  it('honours resourceVersion and resourceVersionMatch', async () => {
    const before = server.resourceVersion();
    server.create(cm('later', 'lw-rv'));
    const exactOld = await json(
      server,
      `/api/v1/namespaces/lw-rv/configmaps?resourceVersion=${before}&resourceVersionMatch=Exact`,
    );
    assert.equal(exactOld.status, 200);
    assert.equal((exactOld.body['items'] as unknown[]).length, 0, 'snapshot before the create');
    assert.equal(
      (exactOld.body['metadata'] as { resourceVersion: string }).resourceVersion,
      before,
    );
    const any = await json(server, '/api/v1/namespaces/lw-rv/configmaps?resourceVersion=0');
    assert.equal((any.body['items'] as unknown[]).length, 1);
    const notOlder = await json(
      server,
      `/api/v1/namespaces/lw-rv/configmaps?resourceVersion=${before}&resourceVersionMatch=NotOlderThan`,
    );
    assert.equal((notOlder.body['items'] as unknown[]).length, 1);
    const future = await json(
      server,
      '/api/v1/namespaces/lw-rv/configmaps?resourceVersion=99999999&resourceVersionMatch=NotOlderThan',
    );
    assert.equal(future.status, 504);
    const matchWithoutRv = await json(
      server,
      '/api/v1/namespaces/lw-rv/configmaps?resourceVersionMatch=Exact',
    );
    assert.equal(matchWithoutRv.status, 422);
    server.faults.compactHistory();
    server.create(cm('later2', 'lw-rv'));
    const tooOld = await json(
      server,
      `/api/v1/namespaces/lw-rv/configmaps?resourceVersion=${before}&resourceVersionMatch=Exact`,
    );
    assert.equal(tooOld.status, 410);
  });
});

describe('apiserver WATCH', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0, historySize: 50 }));
  });
  after(() => server.close());

  it('without a resourceVersion sends synthetic ADDEDs, then live events in order', async () => {
    server.create(cm('w1', 'watch-a'));
    server.create(cm('w2', 'watch-a'));
    const w = await openWatch(server, '/api/v1/namespaces/watch-a/configmaps?watch=true');
    assert.equal(w.status, 200);
    const initial = await w.next(2);
    assert.deepEqual(
      initial.map((e) => `${e.type}:${e.object.metadata?.name}`),
      ['ADDED:w1', 'ADDED:w2'],
    );
    assert.equal(initial[0]!.object.kind, 'ConfigMap', 'watch events carry kind');
    server.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'watch-a', name: 'w1' },
      { data: { a: 'b' } },
    );
    server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'watch-a', name: 'w2' });
    server.create(cm('other-ns', 'watch-b'));
    const live = await w.next(2);
    assert.deepEqual(
      live.map((e) => `${e.type}:${e.object.metadata?.name}`),
      ['MODIFIED:w1', 'DELETED:w2'],
    );
    assert.ok(
      Number(live[1]!.object.metadata?.resourceVersion) >
        Number(live[0]!.object.metadata?.resourceVersion),
    );
    w.close();
  });

  it('from a resourceVersion replays every later event and nothing earlier', async () => {
    server.create(cm('r1', 'watch-c'));
    const rv = server.resourceVersion();
    server.create(cm('r2', 'watch-c'));
    server.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'watch-c', name: 'r1' },
      { data: { x: 'y' } },
    );
    const w = await openWatch(
      server,
      `/api/v1/namespaces/watch-c/configmaps?watch=true&resourceVersion=${rv}`,
    );
    const events = await w.next(2);
    assert.deepEqual(
      events.map((e) => `${e.type}:${e.object.metadata?.name}`),
      ['ADDED:r2', 'MODIFIED:r1'],
    );
    assert.deepEqual(await w.next(1, 100), []);
    w.close();
  });

  it('sends an ERROR 410 Expired when the resourceVersion is older than the history', async () => {
    const old = server.resourceVersion();
    for (let i = 0; i < 60; i++) server.create(cm(`h${i}`, 'watch-h'));
    const w = await openWatch(
      server,
      `/api/v1/namespaces/watch-h/configmaps?watch=true&resourceVersion=${old}`,
    );
    const [ev] = await w.next(1);
    assert.equal(ev?.type, 'ERROR');
    assert.equal(ev?.object.code, 410);
    assert.equal(ev?.object.reason, 'Expired');
    assert.deepEqual(await w.done, { broken: false });
  });

  it('sendInitialEvents streams the state then an initial-events-end bookmark', async () => {
    server.create(cm('s1', 'watch-s'));
    server.create(cm('s2', 'watch-s'));
    const bad = await json(
      server,
      '/api/v1/namespaces/watch-s/configmaps?watch=true&sendInitialEvents=true',
    );
    assert.equal(bad.status, 422);
    const w = await openWatch(
      server,
      '/api/v1/namespaces/watch-s/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true',
    );
    const events = await w.next(3);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'ADDED', 'BOOKMARK'],
    );
    assert.equal(events[2]!.object.metadata?.annotations?.['k8s.io/initial-events-end'], 'true');
    assert.equal(events[2]!.object.metadata?.resourceVersion, server.resourceVersion());
    assert.equal(events[2]!.object.kind, 'ConfigMap');
    w.close();
  });

  it('sends periodic bookmarks when allowed', async () => {
    const { server: s2 } = await setup({ bookmarkIntervalMs: 30 });
    try {
      const w = await openWatch(s2, '/api/v1/configmaps?watch=true&allowWatchBookmarks=true');
      const [bm] = await w.next(1);
      assert.equal(bm?.type, 'BOOKMARK');
      assert.equal(bm?.object.metadata?.resourceVersion, s2.resourceVersion());
      const plain = await openWatch(s2, '/api/v1/configmaps?watch=true');
      assert.deepEqual(await plain.next(1, 120), [], 'no bookmarks unless allowed');
      w.close();
      plain.close();
    } finally {
      await s2.close();
    }
  });

  it('ends the stream after timeoutSeconds', async () => {
    const w = await openWatch(
      server,
      '/api/v1/configmaps?watch=true&timeoutSeconds=1&resourceVersion=' + server.resourceVersion(),
    );
    const started = Date.now();
    assert.deepEqual(await w.done, { broken: false });
    assert.ok(Date.now() - started >= 900);
  });

  it('applies selectors like the real server: leaving is DELETED, entering is ADDED', async () => {
    server.create(cm('sel', 'watch-l', { tier: 'front' }));
    const w = await openWatch(
      server,
      `/api/v1/namespaces/watch-l/configmaps?watch=true&labelSelector=tier%3Dfront&resourceVersion=${server.resourceVersion()}`,
    );
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'watch-l', name: 'sel' };
    server.patch(ref, { data: { a: '1' } });
    server.patch(ref, { metadata: { labels: { tier: 'back' } } });
    server.patch(ref, { data: { a: '2' } });
    server.patch(ref, { metadata: { labels: { tier: 'front' } } });
    server.create(cm('never', 'watch-l', { tier: 'back' }));
    const events = await w.next(3);
    assert.deepEqual(
      events.map((e) => e.type),
      ['MODIFIED', 'DELETED', 'ADDED'],
    );
    // The DELETED of leaving carries the last matching state at the leaving write's RV.
    assert.equal(events[1]!.object.metadata?.labels?.['tier'], 'front');
    assert.equal(
      events[1]!.object.metadata?.resourceVersion,
      String(Number(events[0]!.object.metadata?.resourceVersion) + 1),
    );
    assert.deepEqual(await w.next(1, 100), []);
    const fw = await openWatch(
      server,
      '/api/v1/configmaps?watch=true&fieldSelector=metadata.name%3Dsel',
    );
    const [only] = await fw.next(1);
    assert.equal(only?.object.metadata?.name, 'sel');
    w.close();
    fw.close();
  });

  it('serves metadata-only watches', async () => {
    server.create({ ...cm('mw', 'watch-m'), data: { big: 'x' } });
    const w = await openWatch(server, '/api/v1/namespaces/watch-m/configmaps?watch=true', {
      Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
    });
    const [ev] = await w.next(1);
    assert.equal(ev?.object.kind, 'PartialObjectMetadata');
    assert.equal(ev?.object['data'], undefined);
    w.close();
  });

  it('fans one event out to many watchers', async () => {
    const watches = await Promise.all(
      [...Array(5).keys()].map(() =>
        openWatch(
          server,
          `/api/v1/namespaces/fan/configmaps?watch=true&resourceVersion=${server.resourceVersion()}`,
        ),
      ),
    );
    server.create(cm('fan-1', 'fan'));
    for (const w of watches) {
      const [ev] = await w.next(1);
      assert.equal(ev?.object.metadata?.name, 'fan-1');
      w.close();
    }
  });
});
