// Informer and handler metrics against real informers over HTTP (the embedded API server):
// scrape the registry's text, as Prometheus would, and check that the numbers move with what
// happens on the server. Waits are bounded polls on the informer's own state, never on time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import type { KubeObject } from '@kubecache/cache';
import { SharedInformerFactory } from '@kubecache/client';
import { registerInformerMetrics, type InformerMetrics } from '@kubecache/metrics';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { setup } from '../apiserver/helpers.ts';
import { parseMetrics, value } from './scrape.ts';

const NS = 'metrics';
const ID = `core/v1/configmaps[ns=${NS}]`;
const I = { informer: ID };

const configMap = (name: string, data: Record<string, string> = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace: NS, name },
    data,
  }) as KubeObject;
const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name });

/** Polls `check` every 10 ms until it holds; fails after 15 s with `what`. */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('registerInformerMetrics (real informers, embedded API server)', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  let factory: SharedInformerFactory;
  let informer: ReturnType<
    ReturnType<SharedInformerFactory['core']['v1']['configmaps']>['informer']
  >;
  let registry: Registry;
  let metrics: InformerMetrics;
  const stop = new AbortController();
  const scrape = () => registry.metrics();

  /** Waits until the cache has applied every write so far and every handler has seen it. */
  const settle = async (): Promise<void> => {
    const ok = await informer.waitForResourceVersion(
      server.resourceVersion(),
      AbortSignal.timeout(15_000),
    );
    assert.ok(ok, 'the informer caught up with the server');
    await informer.drained();
  };

  before(async () => {
    ({ server, kc } = await setup({ bookmarkIntervalMs: 0 }));
    for (let i = 0; i < 3; i++) server.create(configMap(`seed-${i}`));
    registry = new Registry();
    factory = new SharedInformerFactory(kc, { namespace: NS });
    // Registered before the factory has any informer: informers are found at scrape time.
    metrics = registerInformerMetrics({ registry, factory });
    informer = factory.core.v1.configmaps().informer();
    informer.addEventHandler({}, { name: 'noop' });
    factory.start(stop.signal);
    await factory.waitForCacheSync(stop.signal);
  });

  after(async () => {
    metrics.unregister();
    stop.abort();
    await factory.shutdown();
    await server.close();
  });

  it('after the initial list: one list, the store size, synced and watching', async () => {
    await until('the watch to open', () => informer.health().watching);
    const text = await scrape();
    assert.equal(value(text, 'kubecache_informer_lists_total', I), 1);
    assert.equal(value(text, 'kubecache_informer_relists_total', I), 0);
    assert.equal(value(text, 'kubecache_informer_store_objects', I), 3);
    assert.equal(value(text, 'kubecache_informer_synced', I), 1);
    assert.equal(value(text, 'kubecache_informer_watching', I), 1);
    assert.equal(value(text, 'kubecache_informer_stopped', I), 0);
    assert.equal(value(text, 'kubecache_informer_consecutive_failures', I), 0);
    assert.ok(value(text, 'kubecache_informer_watches_total', I)! >= 1);
    assert.ok(value(text, 'kubecache_informer_last_sync_age_seconds', I)! >= 0);
    // The initial list's items are not watch events.
    assert.equal(value(text, 'kubecache_informer_events_total', { ...I, type: 'ADDED' }), 0);
    assert.equal(value(text, 'kubecache_informer_handler_backlog', { ...I, handler: 'noop' }), 0);
    assert.equal(
      value(text, 'kubecache_informer_handler_lag_seconds', { ...I, handler: 'noop' }),
      0,
    );
  });

  it('events by type grow with creates, updates and deletes; the store size follows', async () => {
    const before = await scrape();
    const count = (text: string, type: string) =>
      value(text, 'kubecache_informer_events_total', { ...I, type })!;
    server.create(configMap('a'));
    server.create(configMap('b'));
    server.patch(ref('a'), { data: { k: 'v1' } });
    server.patch(ref('a'), { data: { k: 'v2' } });
    server.patch(ref('b'), { data: { k: 'v1' } });
    server.delete(ref('seed-0'));
    await settle();
    const text = await scrape();
    assert.equal(count(text, 'ADDED') - count(before, 'ADDED'), 2);
    assert.equal(count(text, 'MODIFIED') - count(before, 'MODIFIED'), 3);
    assert.equal(count(text, 'DELETED') - count(before, 'DELETED'), 1);
    assert.equal(value(text, 'kubecache_informer_store_objects', I), 4);
  });

  it('a 410 after compaction is a relist, a closed watch a restart and a watch duration', async () => {
    const before = await scrape();
    const relisted = new Promise<void>((resolve) => {
      const off = informer.observe({
        listed: ({ relist }) => {
          if (!relist) return;
          off();
          resolve();
        },
      });
    });
    server.faults.compactHistory();
    server.faults.injectWatchError(410);
    await relisted;
    server.create(configMap('after-relist'));
    await settle();
    const text = await scrape();
    const grew = (name: string, labels: Record<string, string> = I) =>
      value(text, name, labels)! - value(before, name, labels)!;
    assert.equal(grew('kubecache_informer_relists_total'), 1);
    assert.equal(grew('kubecache_informer_lists_total'), 1);
    assert.equal(grew('kubecache_informer_events_total', { ...I, type: 'ERROR' }), 1);
    assert.ok(grew('kubecache_informer_watch_restarts_total') >= 1);
    assert.ok(grew('kubecache_informer_watch_duration_seconds_count') >= 1);
    assert.equal(grew('kubecache_informer_list_duration_seconds_count'), 1);
    assert.equal(value(text, 'kubecache_informer_store_objects', I), 5);
  });

  it('a failed watch request counts as a failure, and the informer recovers', async () => {
    const before = await scrape();
    const failuresBefore = informer.stats().failures;
    server.faults.failNext({ status: 500, watch: true, path: `/namespaces/${NS}/configmaps` });
    server.faults.breakWatches();
    await until('the failure', () => informer.stats().failures > failuresBefore);
    server.create(configMap('after-failure'));
    await settle();
    const text = await scrape();
    assert.ok(
      value(text, 'kubecache_informer_failures_total', I)! >
        value(before, 'kubecache_informer_failures_total', I)!,
    );
    assert.equal(value(text, 'kubecache_informer_store_objects', I), 6);
  });

  it('a blocked handler shows a backlog and a lag, both back to 0 once it catches up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const registration = informer.addEventHandler({ onUpdate: () => gate }, { name: 'blocked' });
    const h = { ...I, handler: 'blocked' };
    const noop = { ...I, handler: 'noop' };
    try {
      await until('the blocked handler to sync', () => registration.hasSynced());
      server.patch(ref('a'), { data: { k: 'blocked-1' } }); // delivered, then it blocks
      server.patch(ref('b'), { data: { k: 'blocked-1' } });
      server.patch(ref('after-relist'), { data: { k: 'blocked-1' } });
      await informer.waitForResourceVersion(server.resourceVersion(), AbortSignal.timeout(15_000));
      // The other handler is not held up; the blocked one falls behind, and its lag grows as
      // time passes (waited for, not measured).
      await until('the noop handler to drain and a measurable lag', async () => {
        const text = await scrape();
        return (
          value(text, 'kubecache_informer_handler_backlog', noop) === 0 &&
          value(text, 'kubecache_informer_handler_lag_seconds', h)! > 0
        );
      });
      const text = await scrape();
      assert.ok(value(text, 'kubecache_informer_handler_backlog', h)! >= 2, text);
      assert.equal(value(text, 'kubecache_informer_handler_lag_seconds', noop), 0);
    } finally {
      release();
    }
    await informer.drained();
    let text = await scrape();
    assert.equal(value(text, 'kubecache_informer_handler_backlog', h), 0);
    assert.equal(value(text, 'kubecache_informer_handler_lag_seconds', h), 0);

    registration.remove();
    text = await scrape();
    assert.equal(value(text, 'kubecache_informer_handler_backlog', h), undefined, 'series gone');
  });

  it('labels hold no URL, credential or object name', async () => {
    const labelValues = new Set(
      parseMetrics(await scrape())
        .filter((s) => s.name.startsWith('kubecache_'))
        .flatMap((s) => Object.entries(s.labels).filter(([k]) => k !== 'le' && k !== 'type'))
        .map(([k, v]) => `${k}=${v}`),
    );
    assert.deepEqual([...labelValues].sort(), [`handler=noop`, `informer=${ID}`]);
  });
});
