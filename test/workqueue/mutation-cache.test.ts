import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import {
  FakeClock,
  InvalidResourceVersionError,
  createIndexer,
  namespaceIndexFunc,
  NAMESPACE_INDEX,
  type KubeObject,
} from '@kubecache/cache';
import {
  SharedInformerFactory,
  deepCopy,
  fromClientModel,
  toClientModel,
  type ConfigMap,
} from '@kubecache/client';
import { MutationCache } from '@kubecache/workqueue';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { setup as startServerWithKubeConfig } from '../apiserver/helpers.ts';

function cm(
  name: string,
  rv: string,
  data: Record<string, string> = {},
  uid = `uid-${name}`,
): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace: 'default', name, resourceVersion: rv, uid, labels: { app: name } },
    data,
  };
}

function setup(options: { max?: number; ttlMs?: number } = {}) {
  const clock = new FakeClock();
  const indexer = createIndexer<ConfigMap>({
    indexers: { [NAMESPACE_INDEX]: namespaceIndexFunc },
  });
  const cache = new MutationCache<ConfigMap>({ indexer, clock, ...options });
  return { clock, indexer, cache };
}

describe('MutationCache (read-your-writes)', () => {
  it('returns the written object while it is newer than the cache, then the cache once it caught up', () => {
    const { indexer, cache } = setup();
    indexer.add(cm('a', '10', { v: 'old' }));
    const written = cm('a', '11', { v: 'new' });
    cache.mutation(written);
    assert.equal(cache.getByKey('default/a'), written);
    indexer.update(cm('a', '11', { v: 'new' }));
    assert.deepEqual(cache.getByKey('default/a')?.data, { v: 'new' });
    assert.equal(cache.size, 0, 'dropped once the informer has it');
    indexer.update(cm('a', '12', { v: 'newer' }));
    assert.equal(cache.getByKey('default/a')?.metadata?.resourceVersion, '12');
  });

  it('compares resourceVersions as numbers, not text', () => {
    const { indexer, cache } = setup();
    indexer.add(cm('a', '100'));
    cache.mutation(cm('a', '99'));
    assert.equal(cache.getByKey('default/a')?.metadata?.resourceVersion, '100');
  });

  it('shows a created object before the informer has it, in lists and index queries too', () => {
    const { indexer, cache } = setup();
    indexer.add(cm('a', '5'));
    cache.mutation(cm('b', '6'));
    assert.equal(cache.getByKey('default/b')?.metadata?.name, 'b');
    assert.deepEqual(
      cache.list('default').map((o) => o.metadata?.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      cache.list().map((o) => o.metadata?.name),
      ['a', 'b'],
    );
    assert.deepEqual(cache.byIndex(NAMESPACE_INDEX, 'other'), []);
  });

  it('remembers deletes: the deleted object is hidden until the informer sees the delete; a re-created one shows', () => {
    const { indexer, cache } = setup();
    indexer.add(cm('a', '10'));
    indexer.add(cm('b', '10'));
    cache.deletion(cm('a', '10'));
    assert.equal(cache.getByKey('default/a'), undefined);
    assert.deepEqual(
      cache.list('default').map((o) => o.metadata?.name),
      ['b'],
    );
    indexer.delete(cm('a', '10'));
    indexer.add(cm('a', '20', {}, 'uid-a-2')); // re-created (new uid)
    assert.equal(cache.getByKey('default/a')?.metadata?.uid, 'uid-a-2');

    cache.deletion('default/b');
    assert.equal(cache.getByKey('default/b'), undefined, 'by key');
  });

  it('holds at most `max` writes and forgets them after the TTL (defaults 100 and 5 minutes)', async () => {
    const { clock, indexer, cache } = setup();
    indexer.add(cm('a', '10', { v: 'cached' }));
    cache.mutation(cm('a', '11', { v: 'written' }));
    for (let i = 0; i < 99; i++) cache.mutation(cm(`x${i}`, '11'));
    assert.equal(cache.size, 100);
    cache.mutation(cm('overflow', '11'));
    assert.equal(cache.size, 100, 'the least recently used write was evicted');
    assert.deepEqual(cache.getByKey('default/a')?.data, { v: 'cached' });

    const small = setup({ ttlMs: 1000 });
    small.indexer.add(cm('a', '10', { v: 'cached' }));
    small.cache.mutation(cm('a', '11', { v: 'written' }));
    await small.clock.advance(1000);
    assert.deepEqual(small.cache.getByKey('default/a')?.data, { v: 'written' });
    await small.clock.advance(1);
    assert.deepEqual(small.cache.getByKey('default/a')?.data, { v: 'cached' }, 'expired');
    await clock.advance(300_001);
    assert.equal(cache.size, 0, 'default TTL is 5 minutes');
  });
});

describe('read-your-writes over HTTP', () => {
  let server: ApiServer;
  let kc: KubeConfig;

  before(async () => {
    ({ server, kc } = await startServerWithKubeConfig({ bookmarkIntervalMs: 0 }));
  });
  after(() => server.close());

  it('a write through client-node, recorded in the mutation cache, is read back at once', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: 'ryw', name: 'settings' },
      data: { mode: 'slow' },
    } as KubeObject);
    const factory = new SharedInformerFactory(kc, { namespace: 'ryw' });
    const cms = factory.core.v1.configmaps();
    const reads = new MutationCache<ConfigMap>({ indexer: cms.informer().getIndexer() });
    const ac = new AbortController();
    factory.start(ac.signal);
    try {
      await factory.waitForCacheSync(ac.signal);
      const core = kc.makeApiClient(CoreV1Api);
      const copy = deepCopy(cms.lister().namespace('ryw').get('settings'));
      copy.data = { mode: 'fast' };
      const written = await core.replaceNamespacedConfigMap({
        namespace: 'ryw',
        name: 'settings',
        body: toClientModel<V1ConfigMap>(copy),
      });
      reads.mutation(fromClientModel(written));
      // Whether or not the watch event has arrived yet, the read reflects the write.
      assert.deepEqual(reads.getByKey('ryw/settings')?.data, { mode: 'fast' });
      assert.equal(
        await cms.informer().waitForResourceVersion(written.metadata!.resourceVersion!, ac.signal),
        true,
      );
      assert.deepEqual(cms.lister().namespace('ryw').get('settings').data, { mode: 'fast' });
      assert.deepEqual(reads.getByKey('ryw/settings')?.data, { mode: 'fast' });
      assert.equal(reads.size, 0, 'the informer caught up, the write is forgotten');
    } finally {
      ac.abort();
      await factory.shutdown();
    }
  });
});

describe('informer.waitForResourceVersion over HTTP', () => {
  let server: ApiServer;
  let kc: KubeConfig;

  before(async () => {
    ({ server, kc } = await startServerWithKubeConfig({ bookmarkIntervalMs: 0 }));
  });
  after(() => server.close());

  it('resolves on an event at least that new, on a bookmark, at once when already reached; false on abort; typed error for a bad RV', async () => {
    const factory = new SharedInformerFactory(kc, { namespace: 'watched' });
    const cms = factory.core.v1.configmaps();
    const informer = cms.informer();
    const ac = new AbortController();
    factory.start(ac.signal);
    try {
      await factory.waitForCacheSync(ac.signal);
      const created = server.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { namespace: 'watched', name: 'a' },
      } as KubeObject);
      const rv = created.metadata!.resourceVersion!;
      assert.equal(await informer.waitForResourceVersion(rv, ac.signal), true);
      assert.ok(
        cms.lister().namespace('watched').tryGet('a') !== undefined,
        'the event was applied',
      );
      assert.equal(await informer.waitForResourceVersion('1', ac.signal), true, 'already reached');

      // A write elsewhere moves the RV; only a bookmark tells this informer about it.
      const elsewhere = server.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { namespace: 'unwatched', name: 'b' },
      } as KubeObject);
      let settled = false;
      const waiting = informer
        .waitForResourceVersion(elsewhere.metadata!.resourceVersion!, ac.signal)
        .then((ok) => ((settled = true), ok));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(settled, false, 'not before the bookmark');
      server.faults.sendBookmarks();
      assert.equal(await waiting, true);

      const stop = new AbortController();
      const never = informer.waitForResourceVersion('999999', stop.signal);
      stop.abort();
      assert.equal(await never, false);
      assert.throws(() => informer.waitForResourceVersion('abc'), InvalidResourceVersionError);
    } finally {
      ac.abort();
      await factory.shutdown();
    }
  });
});
