/**
 * Work queue metrics: a prom-client implementation of `@kubecache/workqueue`'s
 * `MetricsProvider` (client-go's seven workqueue metrics, named `kubecache_workqueue_*` and
 * labelled by `queue`, the queue's name).
 *
 * @module
 */
import type {
  CounterMetric,
  GaugeMetric,
  HistogramMetric,
  MetricsProvider,
  SettableGaugeMetric,
} from '@kubecache/workqueue';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { MetricSet, resolveRegistry, type PromRegistry, type Unregisterable } from './registry.js';

/**
 * Default buckets of the queue latency and work duration histograms, seconds: 100 µs to 5 min.
 * (client-go's `1e-8 … 10` buckets resolve nanoseconds that a JavaScript queue never shows, and
 * stop below the minutes a slow reconcile can take.)
 *
 * @example
 * ```ts
 * new PrometheusQueueMetrics({ workDurationBuckets: [...DEFAULT_QUEUE_BUCKETS, 900] });
 * ```
 */
export const DEFAULT_QUEUE_BUCKETS: readonly number[] = [
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300,
];

/**
 * Options of {@link PrometheusQueueMetrics}.
 *
 * @example
 * ```ts
 * new PrometheusQueueMetrics({ latencyBuckets: [0.01, 0.1, 1, 10] });
 * ```
 */
export interface PrometheusQueueMetricsOptions {
  /** Where the metrics go (default prom-client's global `register`). */
  readonly registry?: PromRegistry;
  /** Buckets of `kubecache_workqueue_queue_duration_seconds` (default {@link DEFAULT_QUEUE_BUCKETS}). */
  readonly latencyBuckets?: readonly number[];
  /** Buckets of `kubecache_workqueue_work_duration_seconds` (default {@link DEFAULT_QUEUE_BUCKETS}). */
  readonly workDurationBuckets?: readonly number[];
}

const QUEUE = ['queue'] as const;
type QueueLabel = (typeof QUEUE)[number];

/**
 * A `MetricsProvider` that records every queue built with it into prom-client metrics, one
 * series per queue name. Create one per registry and pass it to every queue (or controller);
 * give each queue a distinct `name`, since queues sharing a name share their series.
 *
 * The queue pushes its numbers (as in client-go): depth, adds and retries as they happen,
 * latency on `get`, work duration on `done`, unfinished work and the longest running item every
 * `unfinishedWorkUpdatePeriodMs` (500 ms by default).
 *
 * @example
 * ```ts
 * const queueMetrics = new PrometheusQueueMetrics(); // or { registry }
 * const queue = new RateLimitingQueue<string>({ name: 'deployments', metricsProvider: queueMetrics });
 * // the registry now has kubecache_workqueue_depth{queue="deployments"} 0, …
 * ```
 */
export class PrometheusQueueMetrics implements MetricsProvider, Unregisterable {
  readonly #registry: PromRegistry;
  readonly #set = new MetricSet();
  readonly #depth: Gauge<QueueLabel>;
  readonly #adds: Counter<QueueLabel>;
  readonly #latency: Histogram<QueueLabel>;
  readonly #workDuration: Histogram<QueueLabel>;
  readonly #unfinished: Gauge<QueueLabel>;
  readonly #longest: Gauge<QueueLabel>;
  readonly #retries: Counter<QueueLabel>;

  constructor(options: PrometheusQueueMetricsOptions = {}) {
    this.#registry = resolveRegistry(options.registry);
    const s = this.#set;
    this.#depth = s.gauge('kubecache_workqueue_depth', 'Items waiting in the queue.', QUEUE);
    this.#adds = s.counter(
      'kubecache_workqueue_adds_total',
      'Adds accepted by the queue (adding an item that is already waiting counts once).',
      QUEUE,
    );
    this.#latency = s.histogram(
      'kubecache_workqueue_queue_duration_seconds',
      'How long an item waits in the queue before a worker takes it, seconds.',
      QUEUE,
      options.latencyBuckets ?? DEFAULT_QUEUE_BUCKETS,
    );
    this.#workDuration = s.histogram(
      'kubecache_workqueue_work_duration_seconds',
      'How long processing an item takes (get to done), seconds.',
      QUEUE,
      options.workDurationBuckets ?? DEFAULT_QUEUE_BUCKETS,
    );
    this.#unfinished = s.gauge(
      'kubecache_workqueue_unfinished_work_seconds',
      'Seconds of work in progress, summed over the items being processed; steady growth means stuck workers.',
      QUEUE,
    );
    this.#longest = s.gauge(
      'kubecache_workqueue_longest_running_processor_seconds',
      'How long the longest running item has been processed, seconds.',
      QUEUE,
    );
    this.#retries = s.counter(
      'kubecache_workqueue_retries_total',
      'Rate-limited re-adds (addRateLimited) of the queue.',
      QUEUE,
    );
    s.register(this.#registry);
  }

  // Each factory creates the queue's series at 0 (inc(0), never set(0): a second queue with the
  // same name must not wipe the first one's numbers), so rate() works from the first scrape.

  /** @inheritDoc */
  newDepthMetric(name: string): GaugeMetric {
    const g = this.#depth.labels({ queue: name });
    g.inc(0);
    return { inc: () => g.inc(), dec: () => g.dec() };
  }

  /** @inheritDoc */
  newAddsMetric(name: string): CounterMetric {
    const c = this.#adds.labels({ queue: name });
    c.inc(0);
    return { inc: () => c.inc() };
  }

  /** @inheritDoc */
  newLatencyMetric(name: string): HistogramMetric {
    this.#latency.zero({ queue: name });
    return this.#latency.labels({ queue: name });
  }

  /** @inheritDoc */
  newWorkDurationMetric(name: string): HistogramMetric {
    this.#workDuration.zero({ queue: name });
    return this.#workDuration.labels({ queue: name });
  }

  /** @inheritDoc */
  newUnfinishedWorkSecondsMetric(name: string): SettableGaugeMetric {
    const g = this.#unfinished.labels({ queue: name });
    g.inc(0);
    return { set: (v) => g.set(v) };
  }

  /** @inheritDoc */
  newLongestRunningProcessorSecondsMetric(name: string): SettableGaugeMetric {
    const g = this.#longest.labels({ queue: name });
    g.inc(0);
    return { set: (v) => g.set(v) };
  }

  /** @inheritDoc */
  newRetriesMetric(name: string): CounterMetric {
    const c = this.#retries.labels({ queue: name });
    c.inc(0);
    return { inc: () => c.inc() };
  }

  /**
   * Removes the seven metrics from the registry. Queues built with this provider keep working
   * (their numbers just go nowhere).
   *
   * @example
   * ```ts
   * const queueMetrics = new PrometheusQueueMetrics();
   * queueMetrics.unregister();
   * ```
   */
  unregister(): void {
    this.#set.unregister(this.#registry);
  }
}
