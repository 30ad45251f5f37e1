/**
 * Per-registration delivery of informer notifications.
 *
 * ## Why every registration has its own buffer
 *
 * One informer (one watch, one store) serves many handlers. The informer's sink writes the store
 * and then pushes the change into every registration's buffer, synchronously, and returns: a
 * handler never runs inside the store write, so a slow, async or throwing handler cannot hold up
 * the store, the reflector or the other handlers. Each registration then drains its own buffer:
 *
 * - synchronous handlers are called back to back in batches (scheduled with `setImmediate`, so a
 *   whole watch chunk is delivered at once, and yielding to I/O after {@link DRAIN_BATCH}
 *   deliveries per registration) - no promise per
 *   delivery, no allocation beyond the notification object shared by all registrations;
 * - when a handler returns a promise, the registration waits for it before delivering its next
 *   notification, so every handler sees its events in order, one at a time;
 * - a throw or a rejection goes to the error hook, and delivery carries on with the next event.
 *
 * ## Bounded buffers: coalescing per key
 *
 * client-go's buffers are unbounded (a stuck handler grows memory forever), kube-rs applies
 * back-pressure to every subscriber (one slow subscriber stalls all), fabric8 runs every handler
 * on one serial executor. Here a buffer that reaches its capacity is *compacted*: the pending
 * notifications are folded per object key into the net change the handler has not seen yet.
 * For one key, in arrival order (`+` = followed by):
 *
 * | pending          | then     | becomes                                                    |
 * | ---------------- | -------- | ---------------------------------------------------------- |
 * | add(a)           | update(b)| add(b) (keeps the first add's `isInInitialList`)           |
 * | update(a→b)      | update(c)| update(a→c) (oldest old, newest new)                       |
 * | add(a)           | delete   | nothing: the handler never saw the object                  |
 * | update(a→b)      | delete(x)| delete(x)                                                  |
 * | delete(x)        | add(a)   | delete(x) then add(a) (a new incarnation, usually a new UID)|
 * | delete(x), add(a)| update(b)| delete(x) then add(b)                                      |
 * | delete(x), add(a)| delete(y)| delete(x) (the handler knew only the first incarnation)     |
 *
 * Keys keep the position of their first pending notification, so the relative order of different
 * keys is preserved by first arrival; events of one key stay in order. After compaction a buffer
 * holds at most two entries per distinct key, so its size is bounded by the number of objects
 * (which the cache holds anyway), not by the event rate. If the distinct keys alone exceed the
 * capacity, the buffer grows to twice what the compaction left before compacting again, which
 * keeps compaction amortised O(1) per event. Nothing is ever silently lost: the handler always
 * ends up with the latest state of every key.
 *
 * @module
 */
import { DeletedFinalStateUnknown } from './keys.js';
import type { DeepReadonly } from './types.js';

/** Handlers get the cached object itself, typed read-only: it is shared by every reader. */
const shared = <T>(obj: T): DeepReadonly<T> => obj as unknown as DeepReadonly<T>;

/**
 * Default capacity of a registration's buffer before it is compacted.
 *
 * @example
 * ```ts
 * informer.addEventHandler(handler, { bufferCapacity: DEFAULT_BUFFER_CAPACITY * 4 });
 * ```
 */
export const DEFAULT_BUFFER_CAPACITY = 16_384;
/**
 * Deliveries per registration per scheduling turn before yielding to I/O.
 *
 * @example
 * ```ts
 * const listener = new Listener(handler, { name: 'h' }, console.error, () => true);
 * listener.drain(DRAIN_BATCH); // 'done' | 'more' | 'waiting'
 * ```
 */
export const DRAIN_BATCH = 4_096;
/**
 * Smallest resync period of a handler (client-go's `minimumResyncPeriod`); shorter ones are raised to it.
 *
 * @example
 * ```ts
 * informer.addEventHandler(handler, { resyncPeriodMs: MIN_RESYNC_PERIOD_MS });
 * ```
 */
export const MIN_RESYNC_PERIOD_MS = 1_000;

/**
 * A change delivered to handlers. One object per change, shared by every registration.
 *
 * @example
 * ```ts
 * const n: Notification<Pod> = { kind: 'add', key: 'default/web', obj: pod, isInInitialList: true };
 * ```
 */
export type Notification<T> =
  | {
      readonly kind: 'add';
      readonly key: string;
      readonly obj: T;
      readonly isInInitialList: boolean;
    }
  | { readonly kind: 'update'; readonly key: string; readonly oldObj: T; readonly newObj: T }
  | {
      readonly kind: 'delete';
      readonly key: string;
      readonly obj: T | DeletedFinalStateUnknown<T>;
    };

/**
 * Callbacks of one registration. Any of them may return a promise: the registration waits for it
 * before delivering its next notification (other registrations are not affected). Any other
 * return value is ignored, so `onAdd: (pod) => queue.add(key(pod))` needs no braces.
 *
 * @example
 * ```ts
 * informer.addEventHandler({
 *   onAdd: (pod, isInInitialList) => console.log('add', pod.metadata?.name, isInInitialList),
 *   onUpdate: (oldPod, newPod) => console.log('update', newPod.metadata?.name),
 *   onDelete: (pod) => console.log('delete', deletionHandlingMetaNamespaceKeyFunc(pod)),
 * });
 * ```
 */
export interface ResourceEventHandler<T> {
  /** A new object, or (with `isInInitialList`) one already present at the initial list / registration. */
  onAdd?(obj: DeepReadonly<T>, isInInitialList: boolean): unknown;
  /** A changed object; periodic resyncs deliver `onUpdate(obj, obj)`. */
  onUpdate?(oldObj: DeepReadonly<T>, newObj: DeepReadonly<T>): unknown;
  /** A deleted object, or a tombstone when the deletion was only noticed by a relist. */
  onDelete?(obj: DeepReadonly<T> | DeletedFinalStateUnknown<DeepReadonly<T>>): unknown;
}

/**
 * Where a handler failure is reported.
 *
 * @example
 * ```ts
 * const onError: HandlerErrorHook = (err, ctx) =>
 *   log.error({ registration: ctx.registration, event: ctx.event, error: describeError(err) }, 'handler failed');
 * ```
 */
export type HandlerErrorHook = (
  error: unknown,
  context: { readonly registration: string; readonly event: Notification<unknown>['kind'] },
) => void;

/**
 * Options of one registration.
 *
 * @example
 * ```ts
 * informer.addEventHandler(handler, { name: 'pods-controller', resyncPeriodMs: 30_000 });
 * ```
 */
export interface HandlerOptions {
  /** Name used in error reports (default `handler-<n>`). */
  readonly name?: string;
  /**
   * Resync period of this handler: every period it gets `onUpdate(obj, obj)` for every cached
   * object. Omitted: the informer's default. 0: no resync for this handler, whatever the default
   * (client-go's meaning). Values under 1 s are raised to 1 s.
   */
  readonly resyncPeriodMs?: number;
  /** Pending notifications before the buffer is compacted per key (default {@link DEFAULT_BUFFER_CAPACITY}). */
  readonly bufferCapacity?: number;
}

/**
 * The handle `addEventHandler` returns.
 *
 * @example
 * ```ts
 * const reg = informer.addEventHandler(handler);
 * while (!reg.hasSynced()) await new Promise((resolve) => setTimeout(resolve, 100));
 * reg.remove();
 * ```
 */
export interface HandlerRegistration {
  readonly name: string;
  /** True once the informer has synced and this handler has processed every notification of the initial list. */
  hasSynced(): boolean;
  /** Stops delivery at once (even in the middle of a batch) and drops the pending notifications. */
  remove(): void;
  /** Whether {@link HandlerRegistration.remove} was called. */
  readonly removed: boolean;
  /** Notifications waiting to be delivered. */
  readonly pending: number;
  /** Resolves when nothing is pending or in flight (or the registration is removed). */
  drained(): Promise<void>;
}

/**
 * The notifications every attached registration still has to read, shared by all of them: each
 * registration keeps only a cursor into it, so a change costs one append whatever the number of
 * registrations. Entries are dropped once the slowest attached registration has read them.
 * Internal to {@link Processor} and its listeners (not exported from the package).
 */
export class EventLog<T> {
  /** Power-of-two ring; the notification of sequence number `s` is at `s & mask`. */
  ring: (Notification<T> | undefined)[] = new Array<Notification<T> | undefined>(256);
  mask = 255;
  /** Sequence number of the oldest retained notification. */
  start = 0;
  /** Sequence number the next notification gets. */
  tail = 0;
  /** Sequence number of the last initial-list add appended (-1: none). */
  lastInitialSeq = -1;
  /** When notifications were appended: `markSeq[i]` and later ones arrived at or after `markTime[i]`. */
  markSeq: number[] = [];
  markTime: number[] = [];

  append(n: Notification<T>): void {
    if (this.tail - this.start === this.ring.length) this.#grow();
    this.ring[this.tail & this.mask] = n;
    if (n.kind === 'add' && n.isInInitialList) this.lastInitialSeq = this.tail;
    this.tail++;
  }

  at(seq: number): Notification<T> {
    return this.ring[seq & this.mask]!;
  }

  /** Drops the notifications before `seq` (every attached registration has read them). */
  trim(seq: number): void {
    const ring = this.ring;
    const mask = this.mask;
    for (let s = this.start; s < seq; s++) ring[s & mask] = undefined;
    this.start = seq;
    // Marks older than the oldest retained notification's mark are no longer needed.
    let keep = 0;
    while (keep + 1 < this.markSeq.length && this.markSeq[keep + 1]! <= seq) keep++;
    if (keep > 0) {
      this.markSeq.splice(0, keep);
      this.markTime.splice(0, keep);
    }
    // An idle log gives its memory back (a burst must not pin a large ring forever).
    if (seq === this.tail && this.ring.length > 256) {
      this.ring = new Array<Notification<T> | undefined>(256);
      this.mask = 255;
    }
  }

  /** Time the notification `seq` was appended, at the latest (from the marks); undefined if unknown. */
  appendedBy(seq: number): number | undefined {
    for (let i = this.markSeq.length - 1; i >= 0; i--) {
      if (this.markSeq[i]! <= seq) return this.markTime[i];
    }
    return undefined;
  }

  #grow(): void {
    const old = this.ring;
    const oldMask = this.mask;
    const size = old.length * 2;
    const ring = new Array<Notification<T> | undefined>(size);
    const mask = size - 1;
    for (let s = this.start; s < this.tail; s++) ring[s & mask] = old[s & oldMask];
    this.ring = ring;
    this.mask = mask;
  }
}

/**
 * One registration's cursor, private buffer and delivery loop. Used by the informer's processor;
 * exported for advanced embedding and tests.
 *
 * Attached to a {@link Processor}, a listener reads the processor's shared log through its own
 * cursor and owns no buffer at all while it keeps up. Its private buffer holds only what the log
 * cannot: notifications for it alone (a late registration's snapshot, resyncs) and what a
 * compaction folded. Everything private precedes everything still unread in the log, which keeps
 * each handler's events in order.
 *
 * @example
 * ```ts
 * const l = new Listener(handler, { name: 'h' }, (err) => console.error(err), () => informer.hasSynced());
 * l.push({ kind: 'add', key: 'default/web', obj: pod, isInInitialList: false });
 * ```
 */
export class Listener<T> implements HandlerRegistration {
  readonly name: string;
  /** Effective resync period (0 = none). */
  resyncPeriodMs: number;
  /** Clock time of the next resync for this listener. */
  nextResyncAt = 0;
  #onAdd: ResourceEventHandler<T>['onAdd'];
  #onUpdate: ResourceEventHandler<T>['onUpdate'];
  #onDelete: ResourceEventHandler<T>['onDelete'];
  readonly #handler: ResourceEventHandler<T>;
  readonly #onError: HandlerErrorHook;
  readonly #informerSynced: () => boolean;
  readonly #capacity: number;
  #compactAt: number;
  /** The shared log and this listener's position in it (when attached to a processor). */
  #log: EventLog<T> | undefined;
  #cursor = 0;
  // Private ring buffer: power-of-two array (allocated only while non-empty), head index, count.
  #ring: (Notification<T> | undefined)[] | undefined;
  #mask = 0;
  #head = 0;
  #count = 0;
  /** Initial-list adds waiting in the private buffer (those in the log are tracked by the log). */
  #initialPending = 0;
  #state: 'idle' | 'scheduled' | 'waiting' = 'idle';
  #removed = false;
  #drainWaiters: (() => void)[] | undefined;
  /** Clock time the private buffer last went from empty to non-empty (for lag). */
  #pendingSince = 0;
  readonly #now: (() => number) | undefined;
  /** Set by the processor: unregisters this listener. */
  onRemove: ((l: Listener<T>) => void) | undefined;
  /** Set by the processor: reschedules this listener after an async handler settled. */
  reschedule: ((l: Listener<T>) => void) | undefined;

  constructor(
    handler: ResourceEventHandler<T>,
    options: HandlerOptions & { readonly name: string },
    onError: HandlerErrorHook,
    informerSynced: () => boolean,
    now?: () => number,
  ) {
    this.name = options.name;
    this.#now = now;
    this.#handler = handler;
    this.#onAdd = handler.onAdd;
    this.#onUpdate = handler.onUpdate;
    this.#onDelete = handler.onDelete;
    this.#onError = onError;
    this.#informerSynced = informerSynced;
    this.#capacity = Math.max(2, options.bufferCapacity ?? DEFAULT_BUFFER_CAPACITY);
    this.#compactAt = this.#capacity;
    const p = options.resyncPeriodMs ?? 0;
    this.resyncPeriodMs = p > 0 ? Math.max(MIN_RESYNC_PERIOD_MS, p) : 0;
  }

  get removed(): boolean {
    return this.#removed;
  }

  get pending(): number {
    return this.#count + (this.#log === undefined ? 0 : this.#log.tail - this.#cursor);
  }

  /** True while a handler's promise is pending. */
  get waiting(): boolean {
    return this.#state === 'waiting';
  }

  /**
   * Slots this registration's private buffer holds (0 when it has none): what an idle
   * registration costs beyond its fixed fields, whatever it buffered before.
   */
  get bufferSlots(): number {
    return this.#ring === undefined ? 0 : this.#ring.length;
  }

  /** @internal Log position; the processor trims the log to the smallest cursor. */
  get cursor(): number {
    return this.#cursor;
  }

  /** @internal Notifications still pending before the next compaction. */
  get headroom(): number {
    return this.#compactAt - this.pending;
  }

  hasSynced(): boolean {
    return (
      this.#informerSynced() &&
      this.#initialPending === 0 &&
      (this.#log === undefined || this.#cursor > this.#log.lastInitialSeq)
    );
  }

  /**
   * How long this listener has had undelivered notifications, on the clock given to the
   * constructor: an upper bound of the oldest pending notification's age. 0 when nothing is
   * pending or no clock was given.
   */
  lagMs(): number {
    const now = this.#now;
    if (now === undefined) return 0;
    let since = Infinity;
    if (this.#count > 0 || (this.#state === 'waiting' && this.pending === 0)) {
      since = this.#pendingSince;
    }
    const log = this.#log;
    if (log !== undefined && this.#cursor < log.tail) {
      since = Math.min(since, log.appendedBy(this.#cursor) ?? this.#pendingSince);
    }
    return since === Infinity ? 0 : Math.max(0, now() - since);
  }

  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#ring = undefined;
    this.#count = 0;
    this.#head = 0;
    this.#initialPending = 0;
    this.#log = undefined;
    this.onRemove?.(this);
    this.#notifyDrained();
  }

  drained(): Promise<void> {
    if (this.#removed || (this.pending === 0 && this.#state !== 'waiting'))
      return Promise.resolve();
    return new Promise((resolve) => (this.#drainWaiters ??= []).push(resolve));
  }

  /** @internal Reads the shared log of a processor from its current end on. */
  attach(log: EventLog<T>): void {
    this.#log = log;
    this.#cursor = log.tail;
  }

  /**
   * Appends a notification for this listener alone; returns true when the listener went from
   * idle to needing a drain (the caller schedules it).
   */
  push(n: Notification<T>): boolean {
    if (this.#removed) return false;
    // Private notifications come after everything unread in the shared log: take that in first.
    this.#absorbLog();
    this.#pushPrivate(n);
    if (this.#state === 'idle') {
      this.#state = 'scheduled';
      return true;
    }
    return false;
  }

  /**
   * @internal Compacts when the pending notifications reached the capacity (the processor checks
   * this only as often as the smallest headroom requires, never per notification).
   */
  compactIfFull(): void {
    if (this.#removed || this.pending < this.#compactAt) return;
    this.#absorbLog();
    if (this.#count >= this.#compactAt) this.#compact();
  }

  /** Moves the unread part of the shared log into the private buffer. */
  #absorbLog(): void {
    const log = this.#log;
    if (log === undefined) return;
    const tail = log.tail;
    for (let s = this.#cursor; s < tail; s++) this.#pushPrivate(log.at(s));
    this.#cursor = tail;
  }

  #pushPrivate(n: Notification<T>): void {
    if (this.#count === 0 && this.#now !== undefined && this.#state !== 'waiting') {
      this.#pendingSince = this.#now();
    }
    if (this.#count === this.#compactAt) this.#compact();
    let ring = this.#ring;
    if (ring === undefined) {
      ring = this.#ring = new Array<Notification<T> | undefined>(16);
      this.#mask = 15;
      this.#head = 0;
    } else if (this.#count === ring.length) {
      ring = this.#grow(ring);
    }
    ring[(this.#head + this.#count) & this.#mask] = n;
    this.#count++;
    if (n.kind === 'add' && n.isInInitialList) this.#initialPending++;
  }

  #grow(old: (Notification<T> | undefined)[]): (Notification<T> | undefined)[] {
    const size = old.length * 2;
    const ring = new Array<Notification<T> | undefined>(size);
    for (let i = 0; i < this.#count; i++) ring[i] = old[(this.#head + i) & this.#mask];
    this.#ring = ring;
    this.#mask = size - 1;
    this.#head = 0;
    return ring;
  }

  /** Folds the private notifications per key (see the module comment for the table). */
  #compact(): void {
    interface Slot {
      deleted: Notification<T> | undefined;
      live: Notification<T> | undefined;
    }
    const slots = new Map<string, Slot>();
    const old = this.#ring!;
    for (let i = 0; i < this.#count; i++) {
      const n = old[(this.#head + i) & this.#mask]!;
      let slot = slots.get(n.key);
      if (slot === undefined) {
        slot = { deleted: undefined, live: undefined };
        slots.set(n.key, slot);
      }
      const live = slot.live;
      if (n.kind === 'delete') {
        if (live === undefined || live.kind === 'update') {
          if (slot.deleted === undefined) slot.deleted = n;
        }
        slot.live = undefined;
      } else if (n.kind === 'add') {
        slot.live = n;
      } else if (live === undefined) {
        slot.live =
          slot.deleted === undefined
            ? n
            : { kind: 'add', key: n.key, obj: n.newObj, isInInitialList: false };
      } else if (live.kind === 'add') {
        slot.live = {
          kind: 'add',
          key: n.key,
          obj: n.newObj,
          isInInitialList: live.isInInitialList,
        };
      } else if (live.kind === 'update') {
        slot.live = { kind: 'update', key: n.key, oldObj: live.oldObj, newObj: n.newObj };
      }
    }
    const ring: (Notification<T> | undefined)[] = [];
    let initial = 0;
    for (const slot of slots.values()) {
      if (slot.deleted !== undefined) ring.push(slot.deleted);
      if (slot.live !== undefined) {
        ring.push(slot.live);
        if (slot.live.kind === 'add' && slot.live.isInInitialList) initial++;
      }
    }
    let size = 16;
    while (size < ring.length * 2 + 2) size *= 2;
    const count = ring.length;
    ring.length = size;
    this.#ring = ring;
    this.#mask = size - 1;
    this.#head = 0;
    this.#count = count;
    this.#initialPending = initial;
    this.#compactAt = Math.max(this.#capacity, count * 2);
  }

  /**
   * Delivers up to `budget` notifications synchronously, the private ones first, then the shared
   * log's: 'more' when the budget ran out, 'waiting' when a handler's promise is pending (the
   * listener reschedules itself), 'done' when nothing is left.
   */
  drain(budget: number): 'done' | 'more' | 'waiting' {
    if (this.#state === 'waiting') return 'waiting';
    let delivered = 0;
    for (;;) {
      let n: Notification<T>;
      if (this.#count > 0) {
        if (delivered === budget) return 'more';
        const ring = this.#ring!;
        const idx = this.#head;
        n = ring[idx]!;
        ring[idx] = undefined;
        this.#head = (idx + 1) & this.#mask;
        if (--this.#count === 0) this.#ring = undefined; // an idle registration holds no buffer
        if (n.kind === 'add' && n.isInInitialList) this.#initialPending--;
      } else {
        const log = this.#log;
        if (log === undefined || this.#cursor >= log.tail) break;
        if (delivered === budget) return 'more';
        // The common case: synchronous handlers reading the shared log, in one tight loop.
        const ran = this.#runLog(log, budget - delivered);
        if (ran < 0) return 'done'; // removed by its own handler
        delivered += ran;
        if (this.waiting) return 'waiting';
        continue;
      }
      delivered++;
      let result: unknown = undefined;
      try {
        switch (n.kind) {
          case 'add':
            if (this.#onAdd !== undefined)
              result = this.#onAdd.call(this.#handler, shared(n.obj), n.isInInitialList);
            break;
          case 'update':
            if (this.#onUpdate !== undefined)
              result = this.#onUpdate.call(this.#handler, shared(n.oldObj), shared(n.newObj));
            break;
          default:
            if (this.#onDelete !== undefined)
              result = this.#onDelete.call(
                this.#handler,
                n.obj as unknown as DeepReadonly<T> | DeletedFinalStateUnknown<DeepReadonly<T>>,
              );
        }
      } catch (err) {
        this.#report(err, n.kind);
      }
      if (this.#removed) return 'done';
      if (result !== undefined && typeof (result as { then?: unknown }).then === 'function') {
        this.#await(result as PromiseLike<unknown>, n.kind);
        return 'waiting';
      }
    }
    this.#state = 'idle';
    this.#notifyDrained();
    return 'done';
  }

  /**
   * Delivers up to `budget` notifications from the shared log; returns how many (-1 when the
   * listener was removed). Stops early when a handler returns a promise (the state becomes
   * 'waiting') or when a handler's own write moved the cursor or the ring under it.
   */
  #runLog(log: EventLog<T>, budget: number): number {
    const ring = log.ring;
    const mask = log.mask;
    const handler = this.#handler;
    const onAdd = this.#onAdd;
    const onUpdate = this.#onUpdate;
    const onDelete = this.#onDelete;
    let cursor = this.#cursor;
    const end = Math.min(log.tail, cursor + budget);
    const start = cursor;
    while (cursor < end) {
      const n = ring[cursor & mask]!;
      this.#cursor = ++cursor;
      let result: unknown = undefined;
      try {
        if (n.kind === 'update') {
          if (onUpdate !== undefined)
            result = onUpdate.call(handler, shared(n.oldObj), shared(n.newObj));
        } else if (n.kind === 'add') {
          if (onAdd !== undefined) result = onAdd.call(handler, shared(n.obj), n.isInInitialList);
        } else if (onDelete !== undefined) {
          result = onDelete.call(
            handler,
            n.obj as unknown as DeepReadonly<T> | DeletedFinalStateUnknown<DeepReadonly<T>>,
          );
        }
      } catch (err) {
        this.#report(err, n.kind);
      }
      if (this.#removed) return -1;
      if (result !== undefined && typeof (result as { then?: unknown }).then === 'function') {
        this.#await(result as PromiseLike<unknown>, n.kind);
        return cursor - start;
      }
      // A handler's own write may have compacted this listener or grown the ring.
      if (this.#cursor !== cursor || log.ring !== ring) return cursor - start;
    }
    return cursor - start;
  }

  #await(result: PromiseLike<unknown>, kind: Notification<T>['kind']): void {
    this.#state = 'waiting';
    if (this.#now !== undefined) this.#pendingSince = this.#now();
    result.then(
      () => this.#resume(),
      (err: unknown) => {
        this.#report(err, kind);
        this.#resume();
      },
    );
  }

  #resume(): void {
    if (this.#removed) return;
    if (this.pending === 0) {
      this.#state = 'idle';
      this.#notifyDrained();
      return;
    }
    this.#state = 'scheduled';
    this.reschedule?.(this);
  }

  #report(err: unknown, kind: Notification<T>['kind']): void {
    try {
      this.#onError(err, { registration: this.name, event: kind });
    } catch {
      // An error hook that throws must not stop delivery either.
    }
  }

  #notifyDrained(): void {
    const waiters = this.#drainWaiters;
    if (waiters === undefined) return;
    this.#drainWaiters = undefined;
    for (const w of waiters) w();
  }
}

/**
 * Fans notifications out to listeners and schedules their drains. A notification is appended
 * once to a log shared by every listener (each reads it through its own cursor), so distributing
 * costs the same with 1 or 100 registrations. The listener array is copy-on-write, so adding or
 * removing a registration during distribution or delivery is safe.
 *
 * @example
 * ```ts
 * const p = new Processor<Pod>();
 * const listener = new Listener(handler, { name: 'h' }, (err) => console.error(err), () => true);
 * p.add(listener);
 * p.distribute({ kind: 'add', key: 'default/web', obj: pod, isInInitialList: false });
 * ```
 */
export class Processor<T> {
  #listeners: readonly Listener<T>[] = [];
  readonly #log = new EventLog<T>();
  /** Log sequence number at which some listener may reach its capacity: check then, not before. */
  #checkAt = 0;
  #scheduled = false;
  readonly #now: (() => number) | undefined;
  readonly #flush = (): void => this.#run();

  /** `now` (optional) timestamps each batch of notifications, for the listeners' lag. */
  constructor(now?: () => number) {
    this.#now = now;
  }

  /** Current registrations. */
  get listeners(): readonly Listener<T>[] {
    return this.#listeners;
  }

  /**
   * Notifications the shared log holds: those the slowest registration has not read yet. One
   * per change, however many registrations read it.
   */
  get retained(): number {
    return this.#log.tail - this.#log.start;
  }

  /** Slots the shared log's ring holds (it shrinks back once everything was read). */
  get logSlots(): number {
    return this.#log.ring.length;
  }

  add(listener: Listener<T>): void {
    listener.onRemove = (l) => {
      this.#listeners = this.#listeners.filter((x) => x !== l);
    };
    listener.reschedule = () => this.#schedule();
    listener.attach(this.#log);
    this.#listeners = [...this.#listeners, listener];
    // The new listener's headroom counts from here.
    this.#checkAt = Math.min(this.#checkAt, this.#log.tail + Math.max(1, listener.headroom));
    if (listener.pending > 0) this.#schedule();
  }

  /** Appends `n` to the shared log (synchronously) and schedules the drains. */
  distribute(n: Notification<T>): void {
    if (this.#listeners.length === 0) return;
    const log = this.#log;
    if (log.tail >= this.#checkAt) this.#checkCapacity();
    if (!this.#scheduled) {
      this.#scheduled = true;
      if (this.#now !== undefined) {
        log.markSeq.push(log.tail);
        log.markTime.push(this.#now());
      }
      setImmediate(this.#flush);
    }
    log.append(n);
  }

  /** Appends `n` for one listener alone and schedules it. */
  deliverTo(listener: Listener<T>, n: Notification<T>): void {
    listener.push(n);
    this.#schedule();
  }

  /** Resolves when every current listener has drained. */
  async drained(): Promise<void> {
    do await Promise.all(this.#listeners.map((l) => l.drained()));
    while (this.#listeners.some((l) => l.pending > 0));
  }

  /** Compacts the listeners that reached their capacity, and sets when to look again. */
  #checkCapacity(): void {
    let headroom = Infinity;
    for (const l of this.#listeners) {
      l.compactIfFull();
      headroom = Math.min(headroom, l.headroom);
    }
    this.#checkAt = this.#log.tail + Math.max(1, headroom === Infinity ? 1 : headroom);
    this.#trim();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A macrotask, not a microtask: a watch chunk decodes into many events; waiting for the turn
    // to end delivers them as one batch, at the cost of one loop turn of latency.
    setImmediate(this.#flush);
  }

  #run(): void {
    this.#scheduled = false;
    const ls = this.#listeners;
    let more = false;
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i]!;
      if (l.removed || l.waiting) continue;
      // Long backlog: let I/O (the watch stream, timers) in before the next batch.
      if (l.drain(DRAIN_BATCH) === 'more') more = true;
    }
    this.#trim();
    if (more) this.#schedule();
  }

  /** Drops what every listener has read. */
  #trim(): void {
    const log = this.#log;
    let min = log.tail;
    for (const l of this.#listeners) if (l.cursor < min) min = l.cursor;
    if (min > log.start) log.trim(min);
  }
}

/**
 * True when `obj` is a tombstone rather than an object.
 *
 * @example
 * ```ts
 * informer.addEventHandler({
 *   onDelete(obj) { const last = isTombstone(obj) ? obj.obj : obj; console.log('deleted', last?.metadata?.name); },
 * });
 * ```
 */
export function isTombstone<T>(
  obj: T | DeletedFinalStateUnknown<T>,
): obj is DeletedFinalStateUnknown<T> {
  return obj instanceof DeletedFinalStateUnknown;
}
