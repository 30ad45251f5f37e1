/**
 * The numbers a work queue exposes, as client-go's `workqueue.MetricsProvider` defines them:
 * depth, adds, queue latency (add → get), work duration (get → done), unfinished work, the
 * longest running item, and retries. A provider turns each into a metric of your monitoring
 * library (prom-client, OpenTelemetry); {@link InMemoryQueueMetrics} keeps them readable in
 * process, for tests and for a `/metrics` page of your own.
 *
 * Timing metrics cost two clock reads per item, so a queue built without a provider reads no
 * clock at all.
 */

/** A value that goes up and down. */
export interface GaugeMetric {
  inc(): void;
  dec(): void;
}

/** A value that is set. */
export interface SettableGaugeMetric {
  set(value: number): void;
}

/** A value that only goes up. */
export interface CounterMetric {
  inc(): void;
}

/** A distribution of observations (seconds, as client-go reports them). */
export interface HistogramMetric {
  observe(value: number): void;
}

/**
 * Makes the metrics of one named queue.
 *
 * @example
 * ```ts
 * // One labelled metric per kind, a child per queue name (with prom-client, `metric('depth')` is
 * // `(name) => depthGauge.labels(name)` for a `new Gauge({ name: 'workqueue_depth', labelNames: ['name'], ... })`).
 * const values = new Map<string, number>(); // stands in for the metrics library's registry
 * const metric = (kind: string) => (name: string) => {
 *   const key = `workqueue_${kind}{name="${name}"}`;
 *   const add = (v: number): void => void values.set(key, (values.get(key) ?? 0) + v);
 *   return { inc: () => add(1), dec: () => add(-1), set: (v: number) => void values.set(key, v), observe: add };
 * };
 * const provider: MetricsProvider = {
 *   newDepthMetric: metric('depth'),
 *   newAddsMetric: metric('adds_total'),
 *   newLatencyMetric: metric('queue_duration_seconds_sum'),
 *   newWorkDurationMetric: metric('work_duration_seconds_sum'),
 *   newUnfinishedWorkSecondsMetric: metric('unfinished_work_seconds'),
 *   newLongestRunningProcessorSecondsMetric: metric('longest_running_processor_seconds'),
 *   newRetriesMetric: metric('retries_total'),
 * };
 * new RateLimitingQueue<string>({ name: 'deployments', metricsProvider: provider });
 * ```
 */
export interface MetricsProvider {
  newDepthMetric(name: string): GaugeMetric;
  newAddsMetric(name: string): CounterMetric;
  newLatencyMetric(name: string): HistogramMetric;
  newWorkDurationMetric(name: string): HistogramMetric;
  newUnfinishedWorkSecondsMetric(name: string): SettableGaugeMetric;
  newLongestRunningProcessorSecondsMetric(name: string): SettableGaugeMetric;
  newRetriesMetric(name: string): CounterMetric;
}

/** A histogram summarised as count, sum and max (enough for tests and rough dashboards). */
export interface HistogramSummary {
  count: number;
  sum: number;
  max: number;
}

/** The numbers of one queue kept by {@link InMemoryQueueMetrics}. */
export interface QueueMetricsSnapshot {
  depth: number;
  adds: number;
  retries: number;
  /** Seconds from add to get. */
  latency: HistogramSummary;
  /** Seconds from get to done. */
  workDuration: HistogramSummary;
  unfinishedWorkSeconds: number;
  longestRunningProcessorSeconds: number;
}

function emptySnapshot(): QueueMetricsSnapshot {
  return {
    depth: 0,
    adds: 0,
    retries: 0,
    latency: { count: 0, sum: 0, max: 0 },
    workDuration: { count: 0, sum: 0, max: 0 },
    unfinishedWorkSeconds: 0,
    longestRunningProcessorSeconds: 0,
  };
}

function histogram(summary: HistogramSummary): HistogramMetric {
  return {
    observe(value: number): void {
      summary.count++;
      summary.sum += value;
      if (value > summary.max) summary.max = value;
    },
  };
}

/**
 * A provider that keeps every queue's numbers in memory.
 *
 * @example
 * ```ts
 * const metrics = new InMemoryQueueMetrics();
 * const queue = new WorkQueue<string>({ name: 'q', metricsProvider: metrics, clock });
 * queue.add('a');
 * metrics.get('q').adds; // 1
 * ```
 */
export class InMemoryQueueMetrics implements MetricsProvider {
  readonly #queues = new Map<string, QueueMetricsSnapshot>();

  /** The numbers of queue `name` (live: the object keeps changing). */
  get(name: string): QueueMetricsSnapshot {
    let s = this.#queues.get(name);
    if (s === undefined) this.#queues.set(name, (s = emptySnapshot()));
    return s;
  }

  /** Names of the queues seen so far. */
  names(): string[] {
    return [...this.#queues.keys()];
  }

  newDepthMetric(name: string): GaugeMetric {
    const s = this.get(name);
    return { inc: () => void s.depth++, dec: () => void s.depth-- };
  }
  newAddsMetric(name: string): CounterMetric {
    const s = this.get(name);
    return { inc: () => void s.adds++ };
  }
  newLatencyMetric(name: string): HistogramMetric {
    return histogram(this.get(name).latency);
  }
  newWorkDurationMetric(name: string): HistogramMetric {
    return histogram(this.get(name).workDuration);
  }
  newUnfinishedWorkSecondsMetric(name: string): SettableGaugeMetric {
    const s = this.get(name);
    return { set: (v) => void (s.unfinishedWorkSeconds = v) };
  }
  newLongestRunningProcessorSecondsMetric(name: string): SettableGaugeMetric {
    const s = this.get(name);
    return { set: (v) => void (s.longestRunningProcessorSeconds = v) };
  }
  newRetriesMetric(name: string): CounterMetric {
    const s = this.get(name);
    return { inc: () => void s.retries++ };
  }
}
