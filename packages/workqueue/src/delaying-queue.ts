/**
 * The delaying queue: `addAfter(item, ms)` queues an item once a delay has passed, on the
 * queue's {@link Clock} (so tests move time with a `FakeClock`).
 *
 * One timer is armed, for the earliest ready time; a binary heap orders the rest. When an item
 * is already waiting for its delay, the earlier ready time wins (as in client-go): a
 * `requeueAfter: 10s` from one reconcile never postpones a retry already due in 1 s. Entries
 * superseded that way stay in the heap and are skipped when popped. Items still waiting at
 * shutdown are dropped.
 *
 * @module
 */
import type { TimerHandle } from '@kubecache/cache';
import { Priority, WorkQueue, type AddOptions, type WorkQueueOptions } from './queue.js';

interface DelayedEntry<T> {
  readonly item: T;
  readonly readyAt: number;
  readonly seq: number;
  priority: number;
}

/**
 * A {@link WorkQueue} with delayed adds.
 *
 * @example
 * ```ts
 * const queue = new DelayingQueue<string>({ clock });
 * queue.addAfter('default/web', 10_000); // handed out in 10 s, or earlier if added meanwhile
 * ```
 */
export class DelayingQueue<T = string> extends WorkQueue<T> {
  readonly #heap: DelayedEntry<T>[] = [];
  /** Item → its live entry (the one with the earliest ready time). */
  readonly #waitingFor = new Map<T, DelayedEntry<T>>();
  #seq = 0;
  #timer: TimerHandle | undefined;
  #timerDue = Infinity;

  constructor(options: WorkQueueOptions = {}) {
    super(options);
  }

  /** Adds `item` after `delayMs` (at once when ≤ 0). */
  addAfter(item: T, delayMs: number, options?: AddOptions): void {
    if (this.shuttingDown()) return;
    if (!(delayMs > 0)) {
      this.add(item, options);
      return;
    }
    const priority = options?.priority ?? Priority.Normal;
    const readyAt = this.clock.now() + delayMs;
    const existing = this.#waitingFor.get(item);
    if (existing !== undefined && existing.readyAt <= readyAt) {
      if (priority > existing.priority) existing.priority = priority;
      return;
    }
    const entry: DelayedEntry<T> = {
      item,
      readyAt,
      seq: this.#seq++,
      priority: Math.max(priority, existing?.priority ?? priority),
    };
    this.#waitingFor.set(item, entry);
    this.#heapPush(entry);
    this.#arm();
  }

  /** Items waiting for their delay (not yet in the queue). */
  delayedCount(): number {
    return this.#waitingFor.size;
  }

  protected override onShutDown(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    this.#heap.length = 0;
    this.#waitingFor.clear();
  }

  /** Moves every item whose time has come into the queue, then re-arms for the next one. */
  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const now = this.clock.now();
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.readyAt > now) break;
      this.#heapPop();
      if (this.#waitingFor.get(top.item) !== top) continue; // superseded by an earlier entry
      this.#waitingFor.delete(top.item);
      this.add(top.item, { priority: top.priority });
    }
    this.#arm();
  }

  #arm(): void {
    const top = this.#heap[0];
    if (top === undefined || this.shuttingDown()) return;
    if (this.#timer !== undefined && this.#timerDue <= top.readyAt) return;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timerDue = top.readyAt;
    this.#timer = this.clock.setTimeout(
      () => this.#fire(),
      Math.max(0, top.readyAt - this.clock.now()),
    );
  }

  #heapPush(entry: DelayedEntry<T>): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #heapPop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before<T>(a: DelayedEntry<T>, b: DelayedEntry<T>): boolean {
  return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
}
