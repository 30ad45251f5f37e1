// The exporter's bookkeeping against scripted informers (no server): counter deltas, gauges
// reset on every scrape, informers created after registration, sources that drop informers.
// test/metrics/informer-metrics.test.ts runs the same metrics against real informers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  emptyInformerStats,
  type InformerHealth,
  type InformerObserver,
  type InformerStats,
} from '@kubecache/cache';
import {
  registerInformerMetrics,
  type IdentifiedInformer,
  type ObservableInformer,
} from '@kubecache/metrics';
import { Registry } from 'prom-client';
import { samples, value } from './scrape.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

class ScriptedInformer implements ObservableInformer {
  readonly observers = new Set<InformerObserver>();
  health: () => InformerHealth;
  readonly h: Mutable<InformerHealth>;
  readonly s: Mutable<InformerStats> = emptyInformerStats();

  readonly name: string;

  constructor(name: string) {
    this.name = name;
    this.h = {
      name,
      ready: false,
      started: true,
      synced: false,
      stopped: false,
      watching: false,
      watchingSince: undefined,
      lastEventAt: undefined,
      lastSyncResourceVersion: '',
      lastError: undefined,
      consecutiveFailures: 0,
      nextRetryAt: undefined,
      terminalError: undefined,
      storeSize: 0,
      handlers: [],
    };
    this.health = () => structuredClone(this.h);
  }

  stats(): InformerStats {
    return this.s; // live on purpose: the exporter must copy what it remembers
  }

  observe(observer: InformerObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }
}

describe('registerInformerMetrics (bookkeeping, scripted informers)', () => {
  it('turns stats into counters by delta and health into gauges, at every scrape', async () => {
    const registry = new Registry();
    const inf = new ScriptedInformer('core/v1/pods');
    let now = Date.parse('2025-01-01T00:00:10Z');
    const metrics = registerInformerMetrics({ registry, informers: [inf], now: () => now });
    const i = { informer: 'core/v1/pods' };

    let text = await registry.metrics();
    assert.equal(value(text, 'kubecache_informer_lists_total', i), 0);
    assert.equal(value(text, 'kubecache_informer_events_total', { ...i, type: 'ADDED' }), 0);
    assert.equal(value(text, 'kubecache_informer_synced', i), 0);
    assert.equal(value(text, 'kubecache_informer_last_sync_age_seconds', i), undefined);

    inf.s.lists = 1;
    inf.s.watches = 1;
    inf.s.events.ADDED = 3;
    inf.s.watchMsTotal = 1500;
    Object.assign(inf.h, {
      synced: true,
      watching: true,
      storeSize: 3,
      lastEventAt: '2025-01-01T00:00:07.500Z',
      handlers: [{ name: 'slow', backlog: 4, lagMs: 2500, synced: true }],
    });
    text = await registry.metrics();
    assert.equal(value(text, 'kubecache_informer_lists_total', i), 1);
    assert.equal(value(text, 'kubecache_informer_watches_total', i), 1);
    assert.equal(value(text, 'kubecache_informer_events_total', { ...i, type: 'ADDED' }), 3);
    assert.equal(value(text, 'kubecache_informer_watch_open_seconds_total', i), 1.5);
    assert.equal(value(text, 'kubecache_informer_store_objects', i), 3);
    assert.equal(value(text, 'kubecache_informer_synced', i), 1);
    assert.equal(value(text, 'kubecache_informer_watching', i), 1);
    assert.equal(value(text, 'kubecache_informer_last_sync_age_seconds', i), 2.5);
    assert.equal(value(text, 'kubecache_informer_handler_backlog', { ...i, handler: 'slow' }), 4);
    assert.equal(
      value(text, 'kubecache_informer_handler_lag_seconds', { ...i, handler: 'slow' }),
      2.5,
    );

    // A scrape with nothing new changes no counter; a second scrape in the same tick neither.
    const [t1, t2] = await Promise.all([registry.metrics(), registry.metrics()]);
    assert.equal(value(t1, 'kubecache_informer_events_total', { ...i, type: 'ADDED' }), 3);
    assert.equal(value(t2, 'kubecache_informer_events_total', { ...i, type: 'ADDED' }), 3);

    inf.s.events.ADDED = 5;
    inf.s.events.MODIFIED = 2;
    inf.s.relists = 1;
    inf.s.lists = 2;
    inf.h.handlers = []; // the handler was removed: its series go
    now += 10_000;
    text = await registry.metrics();
    assert.equal(value(text, 'kubecache_informer_events_total', { ...i, type: 'ADDED' }), 5);
    assert.equal(value(text, 'kubecache_informer_events_total', { ...i, type: 'MODIFIED' }), 2);
    assert.equal(value(text, 'kubecache_informer_relists_total', i), 1);
    assert.equal(value(text, 'kubecache_informer_lists_total', i), 2);
    assert.equal(value(text, 'kubecache_informer_last_sync_age_seconds', i), 12.5);
    assert.deepEqual(samples(text, 'kubecache_informer_handler_backlog'), []);

    // A single metric read is as fresh as a whole scrape.
    inf.h.storeSize = 7;
    await Promise.resolve(); // next tick of the scrape cache
    const one = await registry.getSingleMetricAsString('kubecache_informer_store_objects');
    assert.equal(value(one, 'kubecache_informer_store_objects', i), 7);

    metrics.unregister();
    assert.equal(registry.getMetricsAsArray().length, 0);
    assert.equal(inf.observers.size, 0, 'observers detached');
  });

  it('records list and watch durations from the observer notifications', async () => {
    const registry = new Registry();
    const inf = new ScriptedInformer('x');
    const metrics = registerInformerMetrics({
      registry,
      informers: [{ id: 'pods', informer: inf }],
    });
    assert.equal(inf.observers.size, 1, 'observed at registration, before any scrape');
    for (const o of inf.observers) {
      o.listed?.({ items: 10, durationMs: 40, relist: false });
      o.watchEnded?.({ durationMs: 300_000, events: 12 });
      o.watchEnded?.({ durationMs: 2_000, events: 0 });
    }
    const text = await registry.metrics();
    const i = { informer: 'pods' };
    assert.equal(value(text, 'kubecache_informer_list_duration_seconds_count', i), 1);
    assert.equal(value(text, 'kubecache_informer_list_duration_seconds_sum', i), 0.04);
    assert.equal(value(text, 'kubecache_informer_watch_duration_seconds_count', i), 2);
    assert.equal(value(text, 'kubecache_informer_watch_duration_seconds_sum', i), 302);
    assert.equal(
      value(text, 'kubecache_informer_watch_duration_seconds_bucket', { ...i, le: '5' }),
      1,
    );
    metrics.unregister();
  });

  it('enumerates factories at every scrape: informers created later appear, dropped ones go', async () => {
    const registry = new Registry();
    const entries: IdentifiedInformer[] = [];
    const factory = { informers: () => entries };
    const metrics = registerInformerMetrics({ registry, factory });
    assert.deepEqual(samples(await registry.metrics(), 'kubecache_informer_store_objects'), []);

    const pods = new ScriptedInformer('pods');
    pods.h.storeSize = 2;
    pods.s.events.ADDED = 2;
    entries.push({ id: 'core/v1/pods', informer: pods });
    const cms = new ScriptedInformer('cms');
    entries.push({ id: 'core/v1/configmaps[ns=default]', informer: cms });
    let text = await registry.metrics();
    assert.deepEqual(
      samples(text, 'kubecache_informer_store_objects').map((s) => [s.labels['informer'], s.value]),
      [
        ['core/v1/pods', 2],
        ['core/v1/configmaps[ns=default]', 0],
      ],
    );
    assert.equal(pods.observers.size, 1, 'observed from its first scrape on');

    entries.splice(0, 1);
    text = await registry.metrics();
    assert.deepEqual(
      samples(text, 'kubecache_informer_events_total', { type: 'ADDED' }).map(
        (s) => s.labels['informer'],
      ),
      ['core/v1/configmaps[ns=default]'],
    );
    assert.equal(pods.observers.size, 0);

    // add(): one more source for the same exporter.
    const other = new ScriptedInformer('apps/v1/deployments');
    metrics.add(other);
    text = await registry.metrics();
    assert.equal(value(text, 'kubecache_informer_synced', { informer: 'apps/v1/deployments' }), 0);
    metrics.unregister();
  });

  it('a scrape survives an informer whose health() throws', async () => {
    const registry = new Registry();
    const bad = new ScriptedInformer('bad');
    bad.health = () => {
      throw new Error('boom');
    };
    const good = new ScriptedInformer('good');
    good.h.storeSize = 1;
    const metrics = registerInformerMetrics({ registry, informers: [bad, good] });
    const text = await registry.metrics();
    assert.equal(value(text, 'kubecache_informer_store_objects', { informer: 'good' }), 1);
    assert.equal(value(text, 'kubecache_informer_store_objects', { informer: 'bad' }), undefined);
    metrics.unregister();
  });
});
