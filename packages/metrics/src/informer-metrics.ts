/**
 * Informer and handler metrics, read at scrape time.
 *
 * Nothing here runs per watch event: on each scrape, the exporter reads `health()` (gauges) and
 * `stats()` (monotonic counters, added to the prom-client counters as the delta since the last
 * read) of every informer it knows, enumerating factories afresh so that informers created
 * after registration are picked up. Only the two histograms are pushed, from the informer's
 * rare `listed` / `watchEnded` notifications ({@link ObservableInformer.observe}).
 *
 * @module
 */
import {
  emptyInformerStats,
  type InformerHealth,
  type InformerObserver,
  type InformerStats,
} from '@kubecache/cache';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { MetricSet, resolveRegistry, type PromRegistry, type Unregisterable } from './registry.js';

/**
 * What the exporter reads from an informer; `SharedIndexInformer` satisfies it.
 *
 * @example
 * ```ts
 * const informer: ObservableInformer = factory.core.v1.pods().informer();
 * ```
 */
export interface ObservableInformer {
  /** The informer's name (the `informer` label when no id is given). */
  readonly name: string;
  health(): InformerHealth;
  stats(): InformerStats;
  /** Subscribes to rare lifecycle events; returns the unsubscribe function. */
  observe(observer: InformerObserver): () => void;
}

/**
 * An informer with the id to label it with.
 *
 * @example
 * ```ts
 * const entry: IdentifiedInformer = { id: 'pods', informer };
 * ```
 */
export interface IdentifiedInformer {
  readonly id: string;
  readonly informer: ObservableInformer;
}

/**
 * What the exporter reads from a factory; `SharedInformerFactory` satisfies it. `informers()` is
 * called on every scrape, so it must list informers created after registration too.
 *
 * @example
 * ```ts
 * const source: InformerFactoryLike = new SharedInformerFactory(kc);
 * ```
 */
export interface InformerFactoryLike {
  informers(): readonly IdentifiedInformer[];
}

/** A source of informers: a factory, an informer (labelled by its name), or one with an id. */
export type InformerSource = InformerFactoryLike | ObservableInformer | IdentifiedInformer;

/**
 * Default buckets of `kubecache_informer_watch_duration_seconds`: 1 s to 1 h (API servers end a
 * watch after 5–10 min; much shorter ones mean cuts, by a proxy or a load balancer).
 *
 * @example
 * ```ts
 * registerInformerMetrics({ factory, watchDurationBuckets: [...DEFAULT_WATCH_DURATION_BUCKETS, 7200] });
 * ```
 */
export const DEFAULT_WATCH_DURATION_BUCKETS: readonly number[] = [
  1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600,
];

/**
 * Default buckets of `kubecache_informer_list_duration_seconds`: 10 ms to 2 min.
 *
 * @example
 * ```ts
 * registerInformerMetrics({ factory, listDurationBuckets: DEFAULT_LIST_DURATION_BUCKETS.slice(2) });
 * ```
 */
export const DEFAULT_LIST_DURATION_BUCKETS: readonly number[] = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120,
];

/**
 * Options of {@link registerInformerMetrics}. Sources can be given here or added later with
 * {@link InformerMetrics.add}.
 *
 * @example
 * ```ts
 * registerInformerMetrics({ factory, informers: [{ id: 'standalone/pods', informer }] });
 * ```
 */
export interface InformerMetricsOptions {
  /** Where the metrics go (default prom-client's global `register`). */
  readonly registry?: PromRegistry;
  /** A factory whose informers (now and later) are exported, each labelled by its id. */
  readonly factory?: InformerFactoryLike;
  /** More factories. Informer ids must be unique across all sources of one exporter. */
  readonly factories?: readonly InformerFactoryLike[];
  /** Informers made without a factory (labelled by `name`, or by the `id` given with them). */
  readonly informers?: readonly (ObservableInformer | IdentifiedInformer)[];
  /** Buckets of the watch duration histogram (default {@link DEFAULT_WATCH_DURATION_BUCKETS}). */
  readonly watchDurationBuckets?: readonly number[];
  /** Buckets of the list duration histogram (default {@link DEFAULT_LIST_DURATION_BUCKETS}). */
  readonly listDurationBuckets?: readonly number[];
  /**
   * Wall-clock time in ms since the epoch, for the last-sync age (default `Date.now`; health
   * times are wall-clock ISO strings).
   */
  readonly now?: () => number;
}

/**
 * A registered informer exporter.
 *
 * @example
 * ```ts
 * const metrics = registerInformerMetrics({ factory });
 * metrics.add(new SharedInformerFactory(kc, { namespace: 'kube-system' }));
 * metrics.unregister();
 * ```
 */
export interface InformerMetrics extends Unregisterable {
  /** Exports one more factory or informer (from the next scrape on; its histograms at once). */
  add(source: InformerSource): void;
}

const EVENT_TYPES = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'] as const;

const INFORMER = ['informer'] as const;
const INFORMER_TYPE = ['informer', 'type'] as const;
const INFORMER_HANDLER = ['informer', 'handler'] as const;
type InformerLabel = (typeof INFORMER)[number];
type EventLabel = (typeof INFORMER_TYPE)[number];
type HandlerLabel = (typeof INFORMER_HANDLER)[number];

/** Counters read from `stats()`, with the metric each feeds. */
type ScalarStat = Exclude<keyof InformerStats, 'events'>;

interface Tracked {
  readonly id: string;
  readonly unobserve: () => void;
  /** The stats last added to the counters (zeros before the first read). */
  last: InformerStats;
}

const ZERO_STATS: InformerStats = emptyInformerStats();

function isFactory(source: InformerSource): source is InformerFactoryLike {
  return typeof (source as Partial<InformerFactoryLike>).informers === 'function';
}

function isIdentified(source: InformerSource): source is IdentifiedInformer {
  return 'informer' in source && 'id' in source && typeof source.id === 'string';
}

/**
 * Exports the informers of `factory` / `factories` / `informers` as `kubecache_informer_*`
 * metrics (see the package README for the table). Call once per registry; add more sources with
 * {@link InformerMetrics.add}.
 *
 * Labels: `informer` is the factory's informer id (`core/v1/configmaps[ns=default]`; it includes
 * the selectors as written in code, so keep secrets out of selectors), `type` the watch event
 * type, `handler` the registration's name. No label value comes from the watched objects (series
 * are per informer and handler, never per object), from a URL or from a credential.
 *
 * @example
 * ```ts
 * const factory = new SharedInformerFactory(kc);
 * const pods = factory.core.v1.pods(); // created before or after: both are exported
 * const metrics = registerInformerMetrics({ factory }); // or { registry, factory }
 * // GET /metrics: res.end(await register.metrics()), with `register` of prom-client
 * ```
 */
export function registerInformerMetrics(options: InformerMetricsOptions = {}): InformerMetrics {
  return new InformerExporter(options);
}

class InformerExporter implements InformerMetrics {
  readonly #registry: PromRegistry;
  readonly #now: () => number;
  readonly #set = new MetricSet();
  readonly #factories: InformerFactoryLike[] = [];
  readonly #informers: IdentifiedInformer[] = [];
  readonly #tracked = new Map<ObservableInformer, Tracked>();
  #fresh = false;
  #unregistered = false;

  readonly #counters: Readonly<Record<ScalarStat, Counter<InformerLabel>>>;
  readonly #events: Counter<EventLabel>;
  readonly #watchDuration: Histogram<InformerLabel>;
  readonly #listDuration: Histogram<InformerLabel>;
  readonly #gauges: {
    readonly lastSyncAge: Gauge<InformerLabel>;
    readonly storeObjects: Gauge<InformerLabel>;
    readonly synced: Gauge<InformerLabel>;
    readonly watching: Gauge<InformerLabel>;
    readonly stopped: Gauge<InformerLabel>;
    readonly consecutiveFailures: Gauge<InformerLabel>;
  };
  readonly #backlog: Gauge<HandlerLabel>;
  readonly #lag: Gauge<HandlerLabel>;

  constructor(options: InformerMetricsOptions) {
    this.#registry = resolveRegistry(options.registry);
    this.#now = options.now ?? Date.now;
    // Every pulled metric refreshes all of them (once per scrape: see #refresh), so a scrape of
    // a single metric (registry.getSingleMetricAsString) is as fresh as a full one.
    const refresh = (): void => this.#refresh();
    const s = this.#set;
    const counter = (name: string, help: string) => s.counter(name, help, INFORMER, refresh);
    const gauge = (name: string, help: string) => s.gauge(name, help, INFORMER, refresh);
    this.#counters = {
      lists: counter(
        'kubecache_informer_lists_total',
        'Completed lists (the initial one and every relist).',
      ),
      relists: counter(
        'kubecache_informer_relists_total',
        'Completed lists after the first (a 410 Gone, a failed resume, or a restart).',
      ),
      watches: counter('kubecache_informer_watches_total', 'Watch requests opened.'),
      watchRestarts: counter(
        'kubecache_informer_watch_restarts_total',
        'Watches opened again after one ended or broke.',
      ),
      failures: counter(
        'kubecache_informer_failures_total',
        'Failures reported by the informer, all stages (list, watch, decode, handler, transform, store).',
      ),
      watchMsTotal: counter(
        'kubecache_informer_watch_open_seconds_total',
        'Time a watch was open, seconds (its rate is the fraction of time the informer watches).',
      ),
    };
    this.#events = s.counter(
      'kubecache_informer_events_total',
      'Watch events received, by type.',
      INFORMER_TYPE,
      refresh,
    );
    this.#watchDuration = s.histogram(
      'kubecache_informer_watch_duration_seconds',
      'How long each watch stayed open before it ended, broke or was aborted, seconds.',
      INFORMER,
      options.watchDurationBuckets ?? DEFAULT_WATCH_DURATION_BUCKETS,
    );
    this.#listDuration = s.histogram(
      'kubecache_informer_list_duration_seconds',
      'How long each completed list took, seconds.',
      INFORMER,
      options.listDurationBuckets ?? DEFAULT_LIST_DURATION_BUCKETS,
    );
    this.#gauges = {
      lastSyncAge: gauge(
        'kubecache_informer_last_sync_age_seconds',
        'Seconds since the informer last applied a list, a watch event or a bookmark (absent before the first).',
      ),
      storeObjects: gauge('kubecache_informer_store_objects', 'Objects in the informer cache.'),
      synced: gauge(
        'kubecache_informer_synced',
        '1 once the informer has synced its initial list, else 0.',
      ),
      watching: gauge('kubecache_informer_watching', '1 while a watch stream is open, else 0.'),
      stopped: gauge(
        'kubecache_informer_stopped',
        '1 once the informer has stopped (shut down, or a spent retry budget), else 0.',
      ),
      consecutiveFailures: gauge(
        'kubecache_informer_consecutive_failures',
        'Failures in a row with no progress in between (0 once a list or an event succeeds).',
      ),
    };
    this.#backlog = s.gauge(
      'kubecache_informer_handler_backlog',
      'Notifications waiting for an event handler.',
      INFORMER_HANDLER,
      refresh,
    );
    this.#lag = s.gauge(
      'kubecache_informer_handler_lag_seconds',
      'Age of the oldest notification an event handler has not processed yet, seconds (0 when none waits).',
      INFORMER_HANDLER,
      refresh,
    );

    if (options.factory !== undefined) this.#factories.push(options.factory);
    this.#factories.push(...(options.factories ?? []));
    for (const i of options.informers ?? []) this.#informers.push(identify(i));
    s.register(this.#registry);
    // Observe what already exists now, so its first watch and list durations are not missed.
    for (const entry of this.#enumerate()) this.#track(entry);
  }

  add(source: InformerSource): void {
    if (this.#unregistered) return;
    if (isFactory(source)) {
      this.#factories.push(source);
      for (const entry of source.informers()) this.#track(entry);
    } else {
      const entry = identify(source);
      this.#informers.push(entry);
      this.#track(entry);
    }
  }

  unregister(): void {
    if (this.#unregistered) return;
    this.#unregistered = true;
    this.#set.unregister(this.#registry);
    for (const t of this.#tracked.values()) t.unobserve();
    this.#tracked.clear();
    this.#factories.length = 0;
    this.#informers.length = 0;
  }

  *#enumerate(): Iterable<IdentifiedInformer> {
    for (const f of this.#factories) yield* f.informers();
    yield* this.#informers;
  }

  #track({ id, informer }: IdentifiedInformer): Tracked {
    let t = this.#tracked.get(informer);
    if (t !== undefined) return t;
    const labels = { informer: id };
    const unobserve = informer.observe({
      listed: ({ durationMs }) => this.#listDuration.observe(labels, durationMs / 1000),
      watchEnded: ({ durationMs }) => this.#watchDuration.observe(labels, durationMs / 1000),
    });
    // Series exist from the start (at 0), so that rate() and increase() see the first events.
    this.#listDuration.zero(labels);
    this.#watchDuration.zero(labels);
    t = { id, unobserve, last: ZERO_STATS };
    this.#tracked.set(informer, t);
    return t;
  }

  /**
   * Reads every informer into the metrics. prom-client calls each metric's `collect` in turn,
   * synchronously, within one scrape; the first call does the work and the rest of that tick
   * reuse it. (Reading twice would be harmless anyway: counters add deltas, gauges are reset.)
   */
  #refresh(): void {
    if (this.#fresh || this.#unregistered) return;
    this.#fresh = true;
    queueMicrotask(() => (this.#fresh = false));

    for (const g of Object.values(this.#gauges)) g.reset();
    this.#backlog.reset();
    this.#lag.reset();
    const now = this.#now();
    const seen = new Set<ObservableInformer>();
    for (const entry of this.#enumerate()) {
      if (seen.has(entry.informer)) continue;
      seen.add(entry.informer);
      const t = this.#track(entry);
      let health: InformerHealth;
      let stats: InformerStats;
      try {
        health = entry.informer.health();
        stats = entry.informer.stats();
      } catch {
        // One misbehaving informer must not fail the whole scrape.
        continue;
      }
      this.#addCounters(t, stats);
      this.#setGauges(t.id, health, now);
    }
    // Informers no longer listed (a source dropped them): their series go too.
    for (const [informer, t] of this.#tracked) {
      if (seen.has(informer)) continue;
      t.unobserve();
      this.#tracked.delete(informer);
      const labels = { informer: t.id };
      for (const c of Object.values(this.#counters)) c.remove(labels);
      for (const type of EVENT_TYPES) this.#events.remove({ informer: t.id, type });
      this.#listDuration.remove(labels);
      this.#watchDuration.remove(labels);
    }
  }

  #addCounters(t: Tracked, stats: InformerStats): void {
    const labels = { informer: t.id };
    const last = t.last;
    for (const key of Object.keys(this.#counters) as ScalarStat[]) {
      const scale = key === 'watchMsTotal' ? 1 / 1000 : 1;
      this.#counters[key].inc(labels, delta(stats[key], last[key]) * scale);
    }
    for (const type of EVENT_TYPES) {
      this.#events.inc({ informer: t.id, type }, delta(stats.events[type], last.events[type]));
    }
    // A copy: stats() may hand out a live object.
    t.last = { ...stats, events: { ...stats.events } };
  }

  #setGauges(id: string, health: InformerHealth, now: number): void {
    const labels = { informer: id };
    const g = this.#gauges;
    if (health.lastEventAt !== undefined) {
      const at = Date.parse(health.lastEventAt);
      if (Number.isFinite(at)) g.lastSyncAge.set(labels, Math.max(0, (now - at) / 1000));
    }
    g.storeObjects.set(labels, health.storeSize);
    g.synced.set(labels, health.synced ? 1 : 0);
    g.watching.set(labels, health.watching ? 1 : 0);
    g.stopped.set(labels, health.stopped ? 1 : 0);
    g.consecutiveFailures.set(labels, health.consecutiveFailures);
    for (const h of health.handlers) {
      const hl = { informer: id, handler: h.name };
      this.#backlog.set(hl, h.backlog);
      this.#lag.set(hl, h.lagMs / 1000);
    }
  }
}

function identify(source: ObservableInformer | IdentifiedInformer): IdentifiedInformer {
  return isIdentified(source) ? source : { id: source.name, informer: source };
}

/** How much a monotonic count grew (never negative, whatever a source reports). */
function delta(now: number, before: number): number {
  return now > before ? now - before : 0;
}
