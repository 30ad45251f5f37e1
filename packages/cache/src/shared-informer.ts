/**
 * SharedIndexInformer: one list+watch of a resource, one indexed cache, many handlers.
 *
 * ## The flow
 *
 * The {@link Reflector} lists and watches and writes into the informer's *sink* (a
 * {@link ReflectorStore}). Each sink call is synchronous and does three things with no `await`
 * between them: apply the transform, write the {@link Indexer}, and push one shared
 * {@link Notification} into every registration's buffer ({@link Processor}). Handlers therefore
 * always run after the store write they are told about: a handler that reads the store or a
 * lister sees at least the state of its event (possibly newer: handlers lag the store, never lead).
 *
 * ## Relists
 *
 * On `replace` (the initial list, and every relist after a 410 Gone or a broken watch) the sink
 * diffs the new list against the cache: keys that vanished get `onDelete` with a
 * {@link DeletedFinalStateUnknown} carrying the last known state (the deletion happened while we
 * were not watching, so the final state is unknown); new keys get `onAdd` (with
 * `isInInitialList = true` during the first sync); keys whose resourceVersion changed get
 * `onUpdate(old, new)`. Unchanged objects produce nothing.
 *
 * ## Resync
 *
 * Each registration may ask for a resync period (minimum 1 s). A single timer on the informer's
 * clock fires at the earliest due registration; every due registration then receives
 * `onUpdate(obj, obj)` for every cached object. Resync re-delivers the cache, it never relists.
 *
 * ## Late registration
 *
 * `addEventHandler` after the informer started pushes an `onAdd(obj, true)` for every cached
 * object into the new registration's buffer and only then links it to the processor, all in one
 * synchronous step: no store write can fall between the snapshot and the live events, so the
 * handler sees no gap and no duplicate.
 *
 * @module
 */
import { abortableWait } from './abortable-wait.js';
import type { Clock } from './clock.js';
import { realClock, type TimerHandle } from './clock.js';
import { KubecacheError } from './errors.js';
import { namespaceIndexFunc, NAMESPACE_INDEX, type Indexers } from './index-funcs.js';
import {
  eventIterable,
  type InformerEvent,
  type InformerEventsOptions,
} from './informer-events.js';
import { DeletedFinalStateUnknown, metaNamespaceKeyFunc, type KeyFunc } from './keys.js';
import type { ListerWatcher } from './lister-watcher.js';
import {
  Listener,
  Processor,
  type HandlerOptions,
  type HandlerRegistration,
  type Notification,
  type ResourceEventHandler,
} from './processor.js';
import { Reflector, type ReflectorOptions } from './reflector.js';
import type { ReflectorError } from './reflector-errors.js';
import type { ReflectorStore } from './reflector-store.js';
import { compareResourceVersions } from './resource-version.js';
import { createIndexer, type Indexer, type Store } from './store.js';
import type { KubeObject } from './types.js';

/**
 * What went wrong, reported to {@link SharedIndexInformerOptions.onError}.
 *
 * @example
 * ```ts
 * onError: (err, ctx) => { if (ctx.source === 'handler') log.warn(ctx.registration, err); }
 * ```
 */
export type InformerErrorContext =
  | {
      readonly source: 'handler';
      readonly registration: string;
      readonly event: Notification<unknown>['kind'];
    }
  | { readonly source: 'watch' }
  | { readonly source: 'transform' };

/**
 * Options of {@link SharedIndexInformer}.
 *
 * @example
 * ```ts
 * new SharedIndexInformer<Pod>({ listerWatcher, resyncPeriodMs: 60_000, transform: stripManagedFields });
 * ```
 */
export interface SharedIndexInformerOptions<T extends KubeObject> {
  readonly listerWatcher: ListerWatcher<T>;
  /** Extra indexes; the namespace index is always present. */
  readonly indexers?: Indexers<T>;
  /** Default resync period of handlers that do not set one (0 = none). */
  readonly resyncPeriodMs?: number;
  /** Applied to every object before it is stored (e.g. {@link stripManagedFields}). */
  readonly transform?: (obj: T) => T;
  readonly clock?: Clock;
  /** Store key (default `namespace/name`). */
  readonly keyFunc?: KeyFunc<T>;
  /** Deep-freeze cached objects (catches accidental mutation in tests). */
  readonly freeze?: boolean;
  /** Extra reflector options (page size, selectors, backoff, ...). */
  readonly reflector?: Partial<Omit<ReflectorOptions<T>, 'listerWatcher' | 'store'>>;
  /** Handler failures, watch errors and transform failures. Default: `console.error`. */
  readonly onError?: (error: unknown, context: InformerErrorContext) => void;
  /** Name for logs. */
  readonly name?: string;
}

/**
 * Thrown when an informer is misused (e.g. `run` twice, transform set after start).
 *
 * @example
 * ```ts
 * if (err instanceof InformerStateError) console.log(err.code); // 'InformerState'
 * ```
 */
export class InformerStateError extends KubecacheError {
  constructor(message: string) {
    super('InformerState', message);
  }
}

/**
 * A resourceVersion that cannot be ordered (not a decimal integer) was given where an order is
 * needed. `code` is `'InvalidResourceVersion'`.
 *
 * @example
 * ```ts
 * try { await informer.waitForResourceVersion('abc'); }
 * catch (err) { if (err instanceof InvalidResourceVersionError) console.log(err.resourceVersion); }
 * ```
 */
export class InvalidResourceVersionError extends KubecacheError {
  readonly resourceVersion: string;

  constructor(resourceVersion: string) {
    super(
      'InvalidResourceVersion',
      `resourceVersion ${JSON.stringify(resourceVersion)} is not a decimal integer and cannot be ordered`,
    );
    this.resourceVersion = resourceVersion;
  }
}

/**
 * A transform that drops `metadata.managedFields` (large and rarely needed), sharing everything else.
 *
 * @example
 * ```ts
 * new SharedIndexInformer({ listerWatcher, transform: stripManagedFields });
 * ```
 */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata;
  if (meta?.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest };
}

interface RvWaiter {
  readonly rv: string;
  readonly resolve: () => void;
}

function defaultOnError(error: unknown, context: InformerErrorContext): void {
  console.error('kubecache informer error', context, error);
}

/**
 * The shared, indexed informer. See the module comment for the flow, relist, resync and
 * late-registration semantics.
 *
 * @example
 * ```ts
 * const informer = new SharedIndexInformer<Pod>({ listerWatcher });
 * informer.addEventHandler({ onAdd: (pod) => console.log('added', pod.metadata?.name) });
 * const ac = new AbortController();
 * void informer.run(ac.signal);
 * await informer.waitForSync(ac.signal);
 * informer.getIndexer().byIndex('namespace', 'default');
 * ```
 */
export class SharedIndexInformer<T extends KubeObject> {
  readonly name: string;
  readonly #lw: ListerWatcher<T>;
  readonly #indexer: Indexer<T>;
  readonly #keyFunc: KeyFunc<T>;
  readonly #processor = new Processor<T>();
  readonly #clock: Clock;
  readonly #defaultResync: number;
  readonly #reflectorOptions: SharedIndexInformerOptions<T>['reflector'];
  readonly #onError: (error: unknown, context: InformerErrorContext) => void;
  #transform: ((obj: T) => T) | undefined;
  #reflector: Reflector<T> | undefined;
  #started = false;
  #stopped = false;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #rvWaiters: RvWaiter[] = [];
  #resyncTimer: TimerHandle | undefined;
  #resyncDue = Infinity;
  #handlerCount = 0;
  /** The reflector's view of the informer: every write goes to the indexer, then to handlers. */
  readonly #sink: ReflectorStore<T>;

  constructor(options: SharedIndexInformerOptions<T>) {
    this.name = options.name ?? 'informer';
    this.#lw = options.listerWatcher;
    this.#keyFunc = options.keyFunc ?? metaNamespaceKeyFunc;
    const indexers: Record<string, (obj: T) => readonly string[]> = {
      [NAMESPACE_INDEX]: namespaceIndexFunc,
      ...options.indexers,
    };
    this.#indexer = createIndexer<T>({
      keyFunc: this.#keyFunc,
      indexers,
      ...(options.freeze === undefined ? {} : { freeze: options.freeze }),
    });
    this.#clock = options.clock ?? realClock;
    this.#defaultResync = options.resyncPeriodMs ?? 0;
    this.#reflectorOptions = options.reflector;
    this.#onError = options.onError ?? defaultOnError;
    this.#transform = options.transform;
    this.#sink = {
      add: (obj) => this.#upsert(obj),
      update: (obj) => this.#upsert(obj),
      delete: (obj) => this.#delete(obj),
      replace: (items, rv) => this.#replace(items, rv),
    };
  }

  /** The reflector-facing store (exposed for custom reflectors and tests). */
  get sink(): ReflectorStore<T> {
    return this.#sink;
  }

  /** Sets the transform; only before {@link SharedIndexInformer.run}. */
  setTransform(transform: (obj: T) => T): void {
    if (this.#started)
      throw new InformerStateError('transform must be set before the informer starts');
    this.#transform = transform;
  }

  /** Adds indexes (also on a populated cache). */
  addIndexers(indexers: Indexers<T>): void {
    this.#indexer.addIndexers(indexers);
  }

  /** The cache, as a store. Objects are shared and read-only. */
  getStore(): Store<T> {
    return this.#indexer;
  }

  /** The cache with its indexes. Objects are shared and read-only. */
  getIndexer(): Indexer<T> {
    return this.#indexer;
  }

  /** True once the first list has been stored. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Whether {@link SharedIndexInformer.run} was called. */
  get started(): boolean {
    return this.#started;
  }

  /** The resourceVersion of the last list or watch event seen ('' before the first list). */
  lastSyncResourceVersion(): string {
    return this.#reflector?.lastSyncResourceVersion() ?? '';
  }

  /** Resolves true once synced, false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    return abortableWait(signal, (done) => {
      this.#syncWaiters.push(done);
      return () => (this.#syncWaiters = this.#syncWaiters.filter((w) => w !== done));
    });
  }

  /**
   * Resolves true once the cache has applied a list, event or bookmark at least as new as
   * `resourceVersion` (for example the RV a write returned: from then on the cache, and every
   * lister over it, reflects that write), or false when `signal` aborts first. Throws
   * {@link InvalidResourceVersionError} for a resourceVersion that is not a decimal integer.
   *
   * @example
   * ```ts
   * const written = await api.replaceNamespacedConfigMap({ name, namespace, body });
   * await informer.waitForResourceVersion(written.metadata!.resourceVersion!, signal);
   * lister.namespace(namespace).get(name); // at least as new as `written`
   * ```
   */
  waitForResourceVersion(resourceVersion: string, signal?: AbortSignal): Promise<boolean> {
    if (compareResourceVersions(resourceVersion, '0') === undefined) {
      throw new InvalidResourceVersionError(resourceVersion);
    }
    if (this.#reached(resourceVersion)) return Promise.resolve(true);
    return abortableWait(signal, (resolve) => {
      const waiter: RvWaiter = { rv: resourceVersion, resolve };
      this.#rvWaiters.push(waiter);
      return () => (this.#rvWaiters = this.#rvWaiters.filter((w) => w !== waiter));
    });
  }

  #reached(resourceVersion: string): boolean {
    const last = this.lastSyncResourceVersion();
    return last !== '' && (compareResourceVersions(last, resourceVersion) ?? -1) >= 0;
  }

  /** The reflector moved its last synced RV: settle the waiters it satisfies. */
  #onSyncResourceVersion(): void {
    if (this.#rvWaiters.length === 0) return;
    const ready = this.#rvWaiters.filter((w) => this.#reached(w.rv));
    if (ready.length === 0) return;
    this.#rvWaiters = this.#rvWaiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /**
   * Registers a handler. Before start it will get the initial list as adds with
   * `isInInitialList = true`; after start it first gets the current cache the same way.
   */
  addEventHandler(
    handler: ResourceEventHandler<T>,
    options: HandlerOptions = {},
  ): HandlerRegistration {
    const name = options.name ?? `handler-${++this.#handlerCount}`;
    const listener = new Listener<T>(
      handler,
      { ...options, name, resyncPeriodMs: options.resyncPeriodMs ?? this.#defaultResync },
      (error, ctx) => this.#report(error, { source: 'handler', ...ctx }),
      () => this.#synced,
    );
    if (this.#synced) {
      // Snapshot and link in one synchronous step: no write can slip in between.
      for (const obj of this.#indexer.list()) {
        this.#processor.deliverTo(listener, {
          kind: 'add',
          key: this.#keyFunc(obj),
          obj,
          isInInitialList: true,
        });
      }
    }
    this.#processor.add(listener);
    if (listener.resyncPeriodMs > 0) {
      listener.nextResyncAt = this.#clock.now() + listener.resyncPeriodMs;
      if (this.#started) this.#scheduleResync();
    }
    return listener;
  }

  /**
   * Events as an async iterable (a registration under the hood; it is removed when the loop
   * ends or `signal` aborts).
   *
   * @example
   * ```ts
   * for await (const ev of informer.events({ signal })) console.log(ev.type, ev.object);
   * ```
   */
  events(options: InformerEventsOptions = {}): AsyncIterable<InformerEvent<T>> {
    return eventIterable<T>((h, o) => this.addEventHandler(h, o), options);
  }

  /** Resolves when every registration has delivered everything buffered. */
  drained(): Promise<void> {
    return this.#processor.drained();
  }

  /**
   * Lists, watches and delivers until `signal` aborts. Resolves on abort; rejects only when the
   * reflector gives up (a configured retry budget is exhausted).
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new InformerStateError(`informer ${this.name} already started`);
    this.#started = true;
    const userOnWatchError = this.#reflectorOptions?.onWatchError;
    const userOnSyncRv = this.#reflectorOptions?.onSyncResourceVersion;
    this.#reflector = new Reflector<T>({
      ...this.#reflectorOptions,
      name: this.#reflectorOptions?.name ?? this.name,
      clock: this.#reflectorOptions?.clock ?? this.#clock,
      listerWatcher: this.#lw,
      store: this.#sink,
      onWatchError: (error: ReflectorError) => {
        userOnWatchError?.(error);
        this.#report(error, { source: 'watch' });
      },
      onSyncResourceVersion: (rv: string) => {
        userOnSyncRv?.(rv);
        this.#onSyncResourceVersion();
      },
    });
    this.#scheduleResync();
    try {
      await this.#reflector.run(signal);
    } finally {
      this.#stopped = true;
      if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
      this.#resyncTimer = undefined;
    }
  }

  #report(error: unknown, context: InformerErrorContext): void {
    try {
      this.#onError(error, context);
    } catch {
      // The error hook itself failing must not break the informer.
    }
  }

  #apply(obj: T): T {
    const t = this.#transform;
    return t === undefined ? obj : t(obj);
  }

  #upsert(raw: T): void {
    const obj = this.#apply(raw);
    const key = this.#keyFunc(obj);
    // Look up by object, not by key: the store finds it through its namespace and name maps
    // without splitting the key string again (a measurable cost per watch event).
    const old = this.#indexer.get(obj);
    this.#indexer.update(obj);
    this.#processor.distribute(
      old === undefined
        ? { kind: 'add', key, obj, isInInitialList: false }
        : { kind: 'update', key, oldObj: old, newObj: obj },
    );
  }

  #delete(raw: T): void {
    const obj = this.#apply(raw);
    const key = this.#keyFunc(obj);
    const old = this.#indexer.deleteByKey(key);
    // A delete of something never seen has nothing to tell handlers.
    if (old === undefined) return;
    this.#processor.distribute({ kind: 'delete', key, obj });
  }

  #replace(rawItems: readonly T[], resourceVersion: string): void {
    const items = this.#transform === undefined ? rawItems : rawItems.map((o) => this.#apply(o));
    const initial = !this.#synced;
    const p = this.#processor;
    if (this.#indexer.size === 0) {
      this.#indexer.replace(items, resourceVersion);
      for (const obj of items) {
        p.distribute({ kind: 'add', key: this.#keyFunc(obj), obj, isInInitialList: initial });
      }
    } else {
      // Diff against the cache before replacing it (the old objects are needed for tombstones/updates).
      const fresh = new Map<string, T>();
      for (const obj of items) fresh.set(this.#keyFunc(obj), obj);
      const notifications: Notification<T>[] = [];
      for (const key of this.#indexer.listKeys()) {
        if (!fresh.has(key)) {
          const last = this.#indexer.getByKey(key);
          notifications.push({ kind: 'delete', key, obj: new DeletedFinalStateUnknown(key, last) });
        }
      }
      for (const [key, obj] of fresh) {
        const old = this.#indexer.getByKey(key);
        if (old === undefined) {
          notifications.push({ kind: 'add', key, obj, isInInitialList: initial });
        } else if (
          old !== obj &&
          (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion ||
            old.metadata?.resourceVersion === undefined)
        ) {
          notifications.push({ kind: 'update', key, oldObj: old, newObj: obj });
        }
      }
      this.#indexer.replace(items, resourceVersion);
      for (const n of notifications) p.distribute(n);
    }
    if (initial) {
      this.#synced = true;
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w();
      this.#scheduleResync();
    }
  }

  /** (Re)arms the single resync timer for the earliest due registration. */
  #scheduleResync(): void {
    if (!this.#started || this.#stopped) return;
    let due = Infinity;
    for (const l of this.#processor.listeners) {
      if (l.resyncPeriodMs > 0 && l.nextResyncAt < due) due = l.nextResyncAt;
    }
    if (due === this.#resyncDue && this.#resyncTimer !== undefined) return;
    if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    this.#resyncDue = due;
    if (due === Infinity) return;
    this.#resyncTimer = this.#clock.setTimeout(
      () => {
        this.#resyncTimer = undefined;
        this.#resyncDue = Infinity;
        this.#resync();
      },
      Math.max(0, due - this.#clock.now()),
    );
  }

  #resync(): void {
    const now = this.#clock.now();
    const due: Listener<T>[] = [];
    for (const l of this.#processor.listeners) {
      if (l.resyncPeriodMs > 0 && l.nextResyncAt <= now) {
        due.push(l);
        l.nextResyncAt = now + l.resyncPeriodMs;
      }
    }
    if (due.length > 0 && this.#synced) {
      for (const obj of this.#indexer.list()) {
        const n: Notification<T> = {
          kind: 'update',
          key: this.#keyFunc(obj),
          oldObj: obj,
          newObj: obj,
        };
        for (const l of due) this.#processor.deliverTo(l, n);
      }
    }
    this.#scheduleResync();
  }
}
