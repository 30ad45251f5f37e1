/**
 * The work queue: client-go's `workqueue` semantics with controller-runtime's priorities.
 *
 * ## The three sets
 *
 * An item is in at most one of three places, and the rules between them are the whole contract:
 *
 * | item is …                | `add(item)` does                                    |
 * | ------------------------ | --------------------------------------------------- |
 * | unknown                  | queues it (dirty + waiting)                         |
 * | waiting (dirty)          | nothing: duplicates collapse into the waiting one   |
 * | processing (handed out)  | marks it dirty; `done(item)` queues it again        |
 * | processing and dirty     | nothing                                             |
 *
 * So an item is never handed to two workers at once, an item changed while a worker holds it is
 * processed again after that worker's `done`, and a burst of adds of one key costs one reconcile.
 *
 * ## Priorities
 *
 * Each add carries a priority (default {@link Priority.Normal}); higher goes first, FIFO within a
 * priority. Adding an item that is already waiting raises its priority when the new one is higher
 * (never lowers it). Controllers queue the initial list and resyncs at {@link Priority.Low}, so
 * after a restart over 100k objects the one object a user just changed is not behind them.
 *
 * Raising a waiting item's priority leaves its old entry behind in the lower FIFO; entries are
 * checked when popped (still dirty, at that priority, not processing), so a stale entry is skipped
 * for free instead of being searched for on every raise.
 *
 * ## Shutting down
 *
 * `shutDown()` stops intake; `get()` keeps handing out what is waiting, then resolves with
 * `{ shutdown: true }`. `shutDownWithDrain()` also waits until every handed-out item is `done`.
 *
 * @module
 */
import { abortableWait, realClock, type Clock, type TimerHandle } from '@kubecache/cache';
import type {
  CounterMetric,
  GaugeMetric,
  HistogramMetric,
  MetricsProvider,
  SettableGaugeMetric,
} from './metrics.js';

/**
 * Priorities used by the controller runner; any finite number works.
 *
 * @example
 * ```ts
 * queue.add('default/web', { priority: Priority.Low }); // behind every Normal item
 * ```
 */
export const Priority = Object.freeze({
  /** Initial list and resync events. */
  Low: -100,
  /** Real changes (the default). */
  Normal: 0,
});

/** Options of one add. */
export interface AddOptions {
  /** Higher is handed out first (default {@link Priority.Normal}). */
  readonly priority?: number;
}

/** What {@link WorkQueue.get} resolves with. */
export type QueueGetResult<T> =
  | { readonly item: T; readonly shutdown: false }
  | { readonly item: undefined; readonly shutdown: true };

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Name for metrics and logs (default `workqueue`). */
  readonly name?: string;
  /** Time source for metrics and delays (default the real clock). */
  readonly clock?: Clock;
  /** Where depth, adds, latency, work duration, unfinished work and retries go (default none). */
  readonly metricsProvider?: MetricsProvider;
  /** How often unfinished work and the longest running item are measured, ms (default 500, as client-go). */
  readonly unfinishedWorkUpdatePeriodMs?: number;
}

interface Level<T> {
  readonly priority: number;
  items: T[];
  head: number;
}

interface QueueMetrics {
  readonly depth: GaugeMetric;
  readonly adds: CounterMetric;
  readonly latency: HistogramMetric;
  readonly workDuration: HistogramMetric;
  readonly unfinishedWork: SettableGaugeMetric;
  readonly longestRunning: SettableGaugeMetric;
  readonly retries: CounterMetric;
  /** Item → clock time of its add (for latency). */
  readonly addedAt: Map<unknown, number>;
}

const SHUTDOWN: QueueGetResult<never> = Object.freeze({ item: undefined, shutdown: true });

/**
 * A work queue with client-go's dirty/processing semantics and priorities. See the module comment.
 *
 * @example
 * ```ts
 * const reconcile = async (key: string): Promise<void> => console.log('reconciling', key);
 * const queue = new WorkQueue<string>();
 * queue.add('default/web');
 * for (;;) {
 *   const { item, shutdown } = await queue.get();
 *   if (shutdown) break;
 *   try { await reconcile(item); } finally { queue.done(item); }
 * }
 * ```
 */
export class WorkQueue<T = string> {
  readonly name: string;
  protected readonly clock: Clock;
  /** Waiting entries by priority, highest first. */
  #levels: Level<T>[] = [];
  /** Items that need processing → the priority they asked for. */
  readonly #dirty = new Map<T, number>();
  /** Items handed out and not yet done → clock time they were handed out (0 without metrics). */
  readonly #processing = new Map<T, number>();
  #waitingCount = 0;
  #getters: ((r: QueueGetResult<T>) => void)[] = [];
  #shuttingDown = false;
  #drainWaiters: (() => void)[] = [];
  readonly #metrics: QueueMetrics | undefined;
  #unfinishedTimer: TimerHandle | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? 'workqueue';
    this.clock = options.clock ?? realClock;
    const p = options.metricsProvider;
    if (p !== undefined) {
      const n = this.name;
      this.#metrics = {
        depth: p.newDepthMetric(n),
        adds: p.newAddsMetric(n),
        latency: p.newLatencyMetric(n),
        workDuration: p.newWorkDurationMetric(n),
        unfinishedWork: p.newUnfinishedWorkSecondsMetric(n),
        longestRunning: p.newLongestRunningProcessorSecondsMetric(n),
        retries: p.newRetriesMetric(n),
        addedAt: new Map(),
      };
      const period = options.unfinishedWorkUpdatePeriodMs ?? 500;
      const tick = (): void => {
        this.#unfinishedTimer = undefined;
        if (this.#shuttingDown) return;
        this.updateUnfinishedWork();
        this.#unfinishedTimer = this.clock.setTimeout(tick, period);
      };
      this.#unfinishedTimer = this.clock.setTimeout(tick, period);
    }
  }

  /**
   * Queues `item` unless it is already waiting (then only its priority may rise) or, when it is
   * being processed, marks it to be queued again on `done`. Ignored after shutdown.
   */
  add(item: T, options?: AddOptions): void {
    if (this.#shuttingDown) return;
    const priority = options?.priority ?? Priority.Normal;
    const current = this.#dirty.get(item);
    if (current !== undefined) {
      if (priority > current) {
        this.#dirty.set(item, priority);
        if (!this.#processing.has(item)) this.#push(item, priority);
      }
      return;
    }
    const m = this.#metrics;
    if (m !== undefined) {
      m.adds.inc();
      if (!m.addedAt.has(item)) m.addedAt.set(item, this.clock.now());
    }
    this.#dirty.set(item, priority);
    if (this.#processing.has(item)) return;
    this.#enqueue(item, priority);
  }

  /**
   * The next item, once there is one. Resolves with `{ shutdown: true }` once the queue is shut
   * down and nothing is waiting. Call {@link WorkQueue.done} when finished with the item.
   */
  get(): Promise<QueueGetResult<T>> {
    const item = this.#pop();
    if (item !== undefined) return Promise.resolve({ item: item.value, shutdown: false });
    if (this.#shuttingDown) return Promise.resolve(SHUTDOWN);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /**
   * The next waiting item, or undefined when none waits: a synchronous {@link WorkQueue.get}
   * for dispatchers that already know whether a worker is free.
   */
  tryGet(): QueueGetResult<T> | undefined {
    const item = this.#pop();
    if (item !== undefined) return { item: item.value, shutdown: false };
    return this.#shuttingDown ? SHUTDOWN : undefined;
  }

  /** Marks `item` finished; if it was added meanwhile, it is queued again. */
  done(item: T): void {
    const startedAt = this.#processing.get(item);
    if (startedAt === undefined) return;
    this.#processing.delete(item);
    const m = this.#metrics;
    if (m !== undefined) m.workDuration.observe((this.clock.now() - startedAt) / 1000);
    const priority = this.#dirty.get(item);
    if (priority !== undefined) this.#enqueue(item, priority);
    if (this.#processing.size === 0 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Items waiting to be handed out (not counting those being processed). */
  len(): number {
    return this.#waitingCount;
  }

  /** Items handed out and not yet done. */
  processingCount(): number {
    return this.#processing.size;
  }

  /** Whether `item` is waiting or marked to be processed again. */
  isDirty(item: T): boolean {
    return this.#dirty.has(item);
  }

  /** Stops intake: adds are ignored, `get` hands out what waits, then resolves with shutdown. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    if (this.#unfinishedTimer !== undefined) this.clock.clearTimeout(this.#unfinishedTimer);
    this.#unfinishedTimer = undefined;
    this.onShutDown();
    const getters = this.#getters;
    this.#getters = [];
    for (const g of getters) g(SHUTDOWN);
  }

  /**
   * Shuts down, then resolves once every handed-out item is `done`. Resolves early (false) when
   * `signal` aborts; true when drained.
   */
  shutDownWithDrain(signal?: AbortSignal): Promise<boolean> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve(true);
    return abortableWait(signal, (done) => {
      this.#drainWaiters.push(done);
      return () => (this.#drainWaiters = this.#drainWaiters.filter((w) => w !== done));
    });
  }

  /** Whether {@link WorkQueue.shutDown} was called. */
  shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Measures unfinished work (seconds of every item being processed, added up) and the longest
   * running item into the metrics provider. Runs every `unfinishedWorkUpdatePeriodMs`.
   */
  updateUnfinishedWork(): void {
    const m = this.#metrics;
    if (m === undefined) return;
    const now = this.clock.now();
    let total = 0;
    let longest = 0;
    for (const startedAt of this.#processing.values()) {
      const s = (now - startedAt) / 1000;
      total += s;
      if (s > longest) longest = s;
    }
    m.unfinishedWork.set(total);
    m.longestRunning.set(longest);
  }

  /** Counts a retry in the metrics (used by the rate-limiting queue). */
  protected countRetry(): void {
    this.#metrics?.retries.inc();
  }

  /** Hook for subclasses: runs once when the queue shuts down. */
  protected onShutDown(): void {}

  /** Makes a dirty, not-processing item waiting: straight to a parked getter, else into its FIFO. */
  #enqueue(item: T, priority: number): void {
    const getter = this.#getters.shift();
    if (getter !== undefined) {
      this.#dirty.delete(item);
      this.#startProcessing(item);
      getter({ item, shutdown: false });
      return;
    }
    this.#waitingCount++;
    this.#metrics?.depth.inc();
    this.#push(item, priority);
  }

  #push(item: T, priority: number): void {
    const levels = this.#levels;
    let i = 0;
    while (i < levels.length && levels[i]!.priority > priority) i++;
    let level = levels[i];
    if (level === undefined || level.priority !== priority) {
      level = { priority, items: [], head: 0 };
      levels.splice(i, 0, level);
    }
    level.items.push(item);
  }

  /** Takes the next valid waiting entry (see "Priorities" for why entries can be stale). */
  #pop(): { value: T } | undefined {
    if (this.#waitingCount === 0) return undefined;
    for (const level of this.#levels) {
      while (level.head < level.items.length) {
        const item = level.items[level.head]!;
        level.items[level.head++] = undefined as T;
        if (level.head === level.items.length) {
          level.items = [];
          level.head = 0;
        } else if (level.head > 1024 && level.head * 2 > level.items.length) {
          level.items = level.items.slice(level.head);
          level.head = 0;
        }
        if (this.#dirty.get(item) !== level.priority || this.#processing.has(item)) continue;
        this.#waitingCount--;
        this.#metrics?.depth.dec();
        this.#dirty.delete(item);
        this.#startProcessing(item);
        return { value: item };
      }
    }
    return undefined;
  }

  #startProcessing(item: T): void {
    const m = this.#metrics;
    if (m === undefined) {
      this.#processing.set(item, 0);
      return;
    }
    const now = this.clock.now();
    const addedAt = m.addedAt.get(item);
    if (addedAt !== undefined) {
      m.latency.observe((now - addedAt) / 1000);
      m.addedAt.delete(item);
    }
    this.#processing.set(item, now);
  }
}
