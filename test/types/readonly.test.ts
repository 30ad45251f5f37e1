// What the cache hands out is read-only to the compiler, all the way down; a copy is writable.
// The `@ts-expect-error` lines are the assertions: if a write ever compiles, the type check of
// the tests fails. The runtime part checks the freeze option catches writes that bypass types.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import type { DeepReadonly, Lister, Logger } from '@kubecache/cache';
import { deepCopy, SharedInformerFactory, type ConfigMap, type Pod } from '@kubecache/client';
import { MutationCache } from '@kubecache/workqueue';
import { KubeConfig } from '@kubernetes/client-node';
import { setup } from '../apiserver/helpers.ts';

/** `console` is a `Logger` as it is (pino's signature, which console also accepts). */
export const consoleIsALogger: Logger = console;

/** Never called: type-level checks only. */
export function readOnlyAtCompileTime(lister: Lister<Pod>): void {
  const cached = lister.namespace('default').get('web');
  // @ts-expect-error labels of a cached object cannot be written
  cached.metadata!.labels!['app'] = 'x';
  // @ts-expect-error nor nested fields
  cached.spec!.containers[0]!.image = 'evil';
  // @ts-expect-error nor arrays
  cached.spec!.containers.push({ name: 'sidecar' });
  // @ts-expect-error nor the object itself
  cached.kind = 'Other';
  const fromIndex = lister.byIndex('namespace', 'default')[0]!;
  // @ts-expect-error custom-index queries are read-only
  fromIndex.metadata!.name = 'renamed';
  const informer0 = new SharedInformerFactory(new KubeConfig()).core.v1.pods().informer();
  const raw = informer0.getIndexer().byIndex('namespace', 'default')[0]!;
  // @ts-expect-error so is the informer's own indexer
  raw.metadata!.labels!['app'] = 'x';
  const reads = new MutationCache<Pod>({ indexer: informer0.getIndexer() });
  // @ts-expect-error and read-your-writes results
  reads.getByKey('default/web')!.spec!.containers[0]!.image = 'evil';
  const copy: Pod = deepCopy(cached);
  copy.metadata!.labels = { ...copy.metadata!.labels, app: 'x' };
  copy.spec!.containers[0]!.image = 'fine';
  const informer = new SharedInformerFactory(new KubeConfig()).core.v1.pods().informer();
  informer.addEventHandler({
    onUpdate: (_old: DeepReadonly<Pod>, pod) => {
      // @ts-expect-error handler arguments are read-only too
      pod.metadata!.annotations!['seen'] = 'yes';
    },
  });
}

describe('freeze option', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  before(async () => {
    ({ server, kc } = await setup({ bookmarkIntervalMs: 0 }));
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: 'default', name: 'c', labels: { a: 'b' } },
      data: { k: 'v' },
    } as ConfigMap);
  });
  after(() => server.close());

  for (const freeze of [true, false]) {
    it(`freeze: ${freeze} ${freeze ? 'makes a write that bypasses the types throw' : 'leaves objects as they came'}`, async () => {
      const factory = new SharedInformerFactory(kc, { freeze });
      const cms = factory.core.v1.configmaps();
      const ac = new AbortController();
      factory.start(ac.signal);
      try {
        await factory.waitForCacheSync(AbortSignal.timeout(5000));
        const cached = cms.lister().namespace('default').get('c') as ConfigMap;
        assert.equal(Object.isFrozen(cached.metadata!.labels), freeze);
        if (freeze) assert.throws(() => (cached.data!['k'] = 'changed'), TypeError);
        const copy = deepCopy(cms.lister().namespace('default').get('c'));
        copy.data!['k'] = 'changed';
        assert.equal(
          cms.lister().namespace('default').get('c').data?.['k'],
          'v',
          'the cache is untouched',
        );
      } finally {
        ac.abort();
        await factory.shutdown();
      }
    });
  }
});
