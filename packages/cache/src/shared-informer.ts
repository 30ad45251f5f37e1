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
 * handler sees no gap and no duplicate. A stopped informer refuses new registrations
 * ({@link InformerStoppedError}): its cache is frozen and would never sync them to anything live.
 *
 * ## Objects that cannot be stored
 *
 * An object the transform throws on, or that has no key (no `metadata.name`), is reported
 * ({@link TransformError}, {@link KeyError}) and skipped, and everything else goes on: a watch
 * event is skipped alone, a list is stored without it. client-go does the same; re-watching or
 * relisting would only fetch the same object again.
 *
 * ## Failures, logs and health
 *
 * Every failure is reported once to `onError` with where it happened and what happens next
 * (`attempt`, `retryInMs`, `terminal`). Without an `onError`, the informer logs it through its
 * {@link Logger}: one line at `warn` for a failure that is retried with backoff, `error` for a
 * terminal one, `debug` for a failure that was answered at once (a watch that made progress and
 * was cut, a 410 answered by a relist), and the stack only at `debug`. {@link
 * SharedIndexInformer.health} and {@link SharedIndexInformer.stats} are snapshots read on demand.
 *
 * @module
 */
import { abortableWait } from './abortable-wait.js';
import type { Clock } from './clock.js';
import { realClock, type TimerHandle } from './clock.js';
import { KubecacheError } from './errors.js';
import {
  consoleLogger,
  describeError,
  emptyInformerStats,
  errorCode,
  type FailureSummary,
  type InformerHealth,
  type InformerObserver,
  type InformerStats,
  type Logger,
} from './observability.js';
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
import { Reflector, type ReflectorOptions, type RetryInfo } from './reflector.js';
import type { ReflectorError, ReflectorStage } from './reflector-errors.js';
import type { PagedReplace, ReflectorStore } from './reflector-store.js';
import { compareResourceVersions } from './resource-version.js';
import type { ReadonlyIndexer } from './store.js';
import { ThreadSafeIndexer } from './thread-safe-store.js';
import { ReentrantWriteError } from './store-errors.js';
import type { KubeObject } from './types.js';

/**
 * What went wrong, reported to {@link SharedIndexInformerOptions.onError}.
 *
 * @example
 * ```ts
 * new SharedIndexInformer<Pod>({
 *   listerWatcher: lw,
 *   onError: (err, ctx) => { if (ctx.source === 'handler') log.warn({ registration: ctx.registration }, describeError(err)); },
 * });
 * ```
 */
export type InformerErrorContext =
  | {
      readonly source: 'handler';
      readonly registration: string;
      readonly event: Notification<unknown>['kind'];
    }
  | ({
      /** `list` for the list stage, `watch` for every watch stage. */
      readonly source: 'list' | 'watch';
      readonly stage: ReflectorStage;
    } & RetryInfo)
  | {
      /** The transform threw on an object, or the store refused it (no key): it was skipped. */
      readonly source: 'transform' | 'store';
      /** The object's `namespace/name`, as far as it could be told. */
      readonly key: string;
    };

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
  /**
   * Sees every failure once: handlers, list and watch (with what happens next), transform and
   * store rejections. Default: one line through `logger` (see the module comment).
   */
  readonly onError?: (error: unknown, context: InformerErrorContext) => void;
  /** Where the default `onError` writes. Default {@link consoleLogger}. */
  readonly logger?: Logger;
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

/**
 * `addEventHandler` on an informer that has stopped. Its cache is frozen, so the registration
 * would never see another change. `code` is `'InformerStopped'`.
 *
 * @example
 * ```ts
 * try { informer.addEventHandler(handler); } catch (err) {
 *   if (err instanceof InformerStoppedError) console.log(err.informer);
 * }
 * ```
 */
export class InformerStoppedError extends KubecacheError {
  readonly informer: string;

  constructor(informer: string) {
    super('InformerStopped', `informer ${informer} has stopped; it accepts no new handlers`, {
      hint: 'register handlers before stopping, or start a new informer (or factory)',
    });
    this.informer = informer;
  }
}

/**
 * The informer's transform threw on an object; the object was skipped (and is picked up again at
 * its next change or relist). `code` is `'TransformFailed'`; the transform's error is `cause`.
 *
 * @example
 * ```ts
 * new SharedInformerFactory(kc, {
 *   onError: (err) => { if (err instanceof TransformError) console.log(err.key, err.cause); },
 * });
 * ```
 */
export class TransformError extends KubecacheError {
  readonly key: string;

  constructor(key: string, cause: unknown) {
    super(
      'TransformFailed',
      `transform failed on ${key}, object skipped: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause, hint: 'fix the transform: it must accept every object the server can send' },
    );
    this.key = key;
  }
}

/**
 * The store refused an object (one of its index functions threw on it); the object was skipped
 * and is picked up again at its next change or relist. `code` is `'StoreRejected'`; the index
 * function's error is `cause`.
 *
 * @example
 * ```ts
 * new SharedInformerFactory(kc, {
 *   onError: (err) => { if (err instanceof StoreRejectedError) console.log(err.key, err.cause); },
 * });
 * ```
 */
export class StoreRejectedError extends KubecacheError {
  readonly key: string;

  constructor(key: string, cause: unknown) {
    super(
      'StoreRejected',
      `store refused ${key}, object skipped: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause, hint: 'an index function threw on this object: make it accept every object' },
    );
    this.key = key;
  }
}

/** `namespace/name` of an object as far as it can be told, for error reports. */
function looseKey(obj: unknown): string {
  const meta = (obj as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  const name = typeof meta?.name === 'string' ? meta.name : '(no name)';
  return typeof meta?.namespace === 'string' && meta.namespace !== ''
    ? `${meta.namespace}/${name}`
    : name;
}

interface RvWaiter {
  readonly rv: string;
  readonly resolve: () => void;
}

/** `250ms`, `1.6s`: short and exact enough for a log line. */
function formatDelay(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** The default `onError`: one line per failure through `logger`, the stack only at debug. */
function logFailure(
  logger: Logger,
  informer: string,
  error: unknown,
  context: InformerErrorContext,
): void {
  const status = (error as { apiStatus?: { statusCode?: number } }).apiStatus?.statusCode;
  const fields: Record<string, unknown> = { informer, code: errorCode(error) };
  let message: string;
  let level: 'debug' | 'warn' | 'error' = 'warn';
  switch (context.source) {
    case 'handler':
      fields['handler'] = context.registration;
      fields['event'] = context.event;
      message = 'handler failed';
      break;
    case 'list':
    case 'watch':
      fields['stage'] = context.stage;
      if (status !== undefined) fields['status'] = status;
      fields['attempt'] = context.attempt;
      if (context.terminal) {
        level = 'error';
        message = `${context.source} failed, informer stopped`;
      } else {
        fields['retryIn'] = formatDelay(context.retryInMs ?? 0);
        // Answered at once and not counted (a cut after progress, a 410 relist): routine.
        if (context.attempt === 0) level = 'debug';
        message = `${context.source} failed, retrying`;
      }
      break;
    default:
      fields['key'] = context.key;
      message = `${context.source === 'transform' ? 'transform failed' : 'store refused an object'}, skipped`;
  }
  fields['error'] = describeError(error);
  logger[level](fields, message);
  if (level !== 'debug') logger.debug({ informer, err: error }, `${message}: details`);
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
  readonly #indexer: ThreadSafeIndexer<T>;
  readonly #keyFunc: KeyFunc<T>;
  readonly #processor: Processor<T>;
  readonly #clock: Clock;
  readonly #defaultResync: number;
  readonly #reflectorOptions: SharedIndexInformerOptions<T>['reflector'];
  readonly #onError: (error: unknown, context: InformerErrorContext) => void;
  readonly #observers = new Set<InformerObserver>();
  #lastFailure: FailureSummary | undefined;
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
    this.#indexer = new ThreadSafeIndexer<T>({
      keyFunc: this.#keyFunc,
      indexers,
      freeze: options.freeze ?? false,
    });
    this.#clock = options.clock ?? realClock;
    const clock = this.#clock;
    this.#processor = new Processor<T>(() => clock.now());
    this.#defaultResync = options.resyncPeriodMs ?? 0;
    this.#reflectorOptions = options.reflector;
    const logger = options.logger ?? consoleLogger();
    this.#onError =
      options.onError ?? ((error, context) => logFailure(logger, this.name, error, context));
    this.#transform = options.transform;
    this.#sink = {
      add: (obj) => this.#upsert(obj),
      update: (obj) => this.#upsert(obj),
      delete: (obj) => this.#delete(obj),
      replace: (items, rv) => this.#replace(items, rv),
      beginReplace: () => this.#beginReplace(),
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

  /**
   * The cache, read-only (objects are shared by every reader; only the informer writes it). Same
   * as {@link SharedIndexInformer.getIndexer}.
   */
  getStore(): ReadonlyIndexer<T> {
    return this.getIndexer();
  }

  /** The cache with its indexes, read-only: queries hand out `DeepReadonly<T>`. */
  getIndexer(): ReadonlyIndexer<T> {
    return this.#indexer as unknown as ReadonlyIndexer<T>;
  }

  /** True once the first list has been stored. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** True once {@link SharedIndexInformer.run} has ended (aborted, or stopped for good). */
  isStopped(): boolean {
    return this.#stopped;
  }

  /**
   * A snapshot for readiness probes and dashboards (see {@link InformerHealth}).
   *
   * @example
   * ```ts
   * const h = informer.health();
   * if (!h.ready) console.log(h.lastError?.message, h.nextRetryAt);
   * ```
   */
  health(): InformerHealth {
    const status = this.#reflector?.status();
    const clockNow = this.#clock.now();
    const wallNow = Date.now();
    const wall = (t: number | undefined): string | undefined =>
      t === undefined ? undefined : new Date(wallNow - (clockNow - t)).toISOString();
    const terminal = status?.terminalError;
    return {
      name: this.name,
      ready: this.#synced && !this.#stopped,
      started: this.#started,
      synced: this.#synced,
      stopped: this.#stopped,
      watching: this.#reflector?.isWatching() ?? false,
      watchingSince: wall(status?.watchingSince),
      lastEventAt: wall(status?.lastEventAt),
      lastSyncResourceVersion: this.lastSyncResourceVersion(),
      lastError: this.#lastFailure,
      consecutiveFailures: status?.consecutiveFailures ?? 0,
      nextRetryAt: wall(status?.nextRetryAt),
      terminalError:
        terminal === undefined
          ? undefined
          : {
              code: terminal.code,
              message: describeError(terminal),
              stage: terminal.stage,
              at: wall(status?.lastError?.at) ?? new Date(wallNow).toISOString(),
            },
      storeSize: this.#indexer.size,
      handlers: this.#processor.listeners.map((l) => ({
        name: l.name,
        backlog: l.pending,
        lagMs: l.lagMs(),
        synced: l.hasSynced(),
      })),
    };
  }

  /**
   * Counters since the informer was created (see {@link InformerStats}); all zero before `run`.
   *
   * @example
   * ```ts
   * const { relists, events } = informer.stats();
   * ```
   */
  stats(): InformerStats {
    return this.#reflector?.stats() ?? emptyInformerStats();
  }

  /**
   * Subscribes to rare lifecycle events (lists stored, watches ended), for metrics; returns the
   * unsubscribe function. Observers must not throw (a throw is swallowed).
   *
   * @example
   * ```ts
   * const stop = informer.observe({ listed: ({ items, durationMs }) => console.log(items, durationMs) });
   * ```
   */
  observe(observer: InformerObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** Whether {@link SharedIndexInformer.run} was called. */
  get started(): boolean {
    return this.#started;
  }

  /** The resourceVersion of the last list or watch event seen ('' before the first list). */
  lastSyncResourceVersion(): string {
    return this.#reflector?.lastSyncResourceVersion() ?? '';
  }

  /**
   * Resolves true once synced; false when `signal` aborts first or the informer stops without
   * having synced (then {@link SharedIndexInformer.health} says why).
   */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (this.#stopped) return Promise.resolve(false);
    return abortableWait(signal, (done) => {
      this.#syncWaiters.push(done);
      return () => (this.#syncWaiters = this.#syncWaiters.filter((w) => w !== done));
    }).then((woken) => woken && this.#synced);
  }

  /**
   * Resolves true once the cache has applied a list, event or bookmark at least as new as
   * `resourceVersion` (for example the RV a write returned: from then on the cache, and every
   * lister over it, reflects that write), or false when `signal` aborts first. Throws
   * {@link InvalidResourceVersionError} for a resourceVersion that is not a decimal integer.
   *
   * @example
   * ```ts
   * const configMaps = factory.core.v1.configmaps();
   * const body = deepCopy(configMaps.lister().namespace('default').get('settings'));
   * body.data = { ...body.data, mode: 'fast' };
   * const written = await coreApi.replaceNamespacedConfigMap({ name: 'settings', namespace: 'default', body: toClientModel<V1ConfigMap>(body) });
   * await configMaps.informer().waitForResourceVersion(written.metadata!.resourceVersion!, signal);
   * configMaps.lister().namespace('default').get('settings'); // at least as new as `written`
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
    if (this.#stopped) throw new InformerStoppedError(this.name);
    const name = options.name ?? `handler-${++this.#handlerCount}`;
    const clock = this.#clock;
    const listener = new Listener<T>(
      handler,
      { ...options, name, resyncPeriodMs: options.resyncPeriodMs ?? this.#defaultResync },
      (error, ctx) => this.#report(error, { source: 'handler', ...ctx }),
      () => this.#synced,
      () => clock.now(),
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
      onWatchError: (error: ReflectorError, retry: RetryInfo) => {
        userOnWatchError?.(error, retry);
        this.#report(error, {
          source: error.stage === 'list' ? 'list' : 'watch',
          stage: error.stage,
          ...retry,
        });
      },
      observer: {
        listed: (info) => {
          for (const o of this.#observers) o.listed?.(info);
        },
        watchEnded: (info) => {
          for (const o of this.#observers) o.watchEnded?.(info);
        },
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
      // Waiters for a sync that can no longer happen learn it now (they resolve false).
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  #report(error: unknown, context: InformerErrorContext): void {
    this.#lastFailure = {
      code: errorCode(error),
      message: describeError(error),
      stage:
        context.source === 'list' || context.source === 'watch' ? context.stage : context.source,
      at: new Date().toISOString(),
    };
    try {
      this.#onError(error, context);
    } catch {
      // The error hook itself failing must not break the informer.
    }
  }

  /** Transform and key of one object, or undefined after reporting why it cannot be stored. */
  #admit(raw: T): { obj: T; key: string } | undefined {
    let obj = raw;
    if (this.#transform !== undefined) {
      try {
        obj = this.#transform(raw);
      } catch (err) {
        const key = looseKey(raw);
        this.#report(new TransformError(key, err), { source: 'transform', key });
        return undefined;
      }
    }
    try {
      return { obj, key: this.#keyFunc(obj) };
    } catch (err) {
      this.#report(err, { source: 'store', key: looseKey(obj) });
      return undefined;
    }
  }

  /**
   * Stores one object and tells handlers; returns its key, or undefined when it was not stored.
   * `relisted`: the object comes from a relist, where an unchanged resourceVersion tells nothing.
   */
  #upsert(raw: T, relisted = false): string | undefined {
    const admitted = this.#admit(raw);
    if (admitted === undefined) return undefined;
    const { obj, key } = admitted;
    // One lookup: the store finds the entry through its namespace and name maps (without
    // splitting the key string) and hands back the object it replaced.
    let old: T | undefined;
    try {
      old = this.#indexer.upsert(obj);
    } catch (err) {
      // An index function refused it (the store is unchanged): skip it, as client-go does.
      if (err instanceof ReentrantWriteError) throw err;
      this.#report(new StoreRejectedError(key, err), { source: 'store', key });
      return undefined;
    }
    if (old === undefined) {
      this.#processor.distribute({ kind: 'add', key, obj, isInInitialList: false });
    } else if (!relisted || changedSince(old, obj)) {
      this.#processor.distribute({ kind: 'update', key, oldObj: old, newObj: obj });
    }
    return key;
  }

  #delete(raw: T): void {
    const admitted = this.#admit(raw);
    if (admitted === undefined) return;
    const { obj, key } = admitted;
    const old = this.#indexer.deleteByKey(key);
    // A delete of something never seen has nothing to tell handlers.
    if (old === undefined) return;
    this.#processor.distribute({ kind: 'delete', key, obj });
  }

  #replace(rawItems: readonly T[], resourceVersion: string): void {
    // Transform and key every item once; an item that cannot be stored is reported and left out.
    let items: T[] = [];
    let keys: string[] = [];
    for (let i = 0; i < rawItems.length; i++) {
      const admitted = this.#admit(rawItems[i]!);
      if (admitted === undefined) continue;
      items.push(admitted.obj);
      keys.push(admitted.key);
    }
    const initial = !this.#synced;
    // The diff reads the cache as it is before the replace (tombstones and updates need the old
    // objects); a replace that throws leaves the store unchanged, so it can be diffed again.
    const fromEmpty = this.#indexer.size === 0;
    let notifications = fromEmpty ? undefined : this.#diff(items, keys, initial);
    try {
      this.#indexer.replace(items, resourceVersion);
    } catch (err) {
      if (err instanceof ReentrantWriteError) throw err;
      ({ items, keys } = this.#indexable(items, keys));
      if (!fromEmpty) notifications = this.#diff(items, keys, initial);
      this.#indexer.replace(items, resourceVersion);
    }
    const p = this.#processor;
    if (notifications === undefined) {
      for (let i = 0; i < items.length; i++) {
        p.distribute({ kind: 'add', key: keys[i]!, obj: items[i]!, isInInitialList: initial });
      }
    } else {
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

  /**
   * A relist applied page by page (see `ReflectorStore.beginReplace`): each page's objects are
   * stored at once (so the objects they replace can be collected) and told to handlers as adds
   * or updates; the commit deletes what no page named, with tombstones. An object the store
   * refuses is left out, so a stored older version of it is deleted too, as `replace` does.
   */
  #beginReplace(): PagedReplace<T> {
    const seen = new Set<string>();
    const page = (rawItems: readonly T[]): void => {
      for (let i = 0; i < rawItems.length; i++) {
        const key = this.#upsert(rawItems[i]!, true);
        if (key !== undefined) seen.add(key);
      }
    };
    return {
      page,
      commit: (items) => {
        page(items);
        for (const key of this.#indexer.listKeys()) {
          if (seen.has(key)) continue;
          const last = this.#indexer.deleteByKey(key);
          if (last === undefined) continue;
          this.#processor.distribute({
            kind: 'delete',
            key,
            obj: new DeletedFinalStateUnknown(key, last),
          });
        }
      },
    };
  }

  /** What handlers are told when the cache becomes `items`: tombstones, adds, updates. */
  #diff(items: readonly T[], keys: readonly string[], initial: boolean): Notification<T>[] {
    const fresh = new Map<string, T>();
    for (let i = 0; i < items.length; i++) fresh.set(keys[i]!, items[i]!);
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
      } else if (changedSince(old, obj)) {
        notifications.push({ kind: 'update', key, oldObj: old, newObj: obj });
      }
    }
    return notifications;
  }

  /**
   * The items every index function accepts; the others are reported and left out. Runs only after
   * a replace failed, so a list with one bad object is stored without it rather than refused whole.
   */
  #indexable(items: readonly T[], keys: readonly string[]): { items: T[]; keys: string[] } {
    const indexFuncs = Object.values(this.#indexer.getIndexers());
    const ok: T[] = [];
    const okKeys: string[] = [];
    for (let i = 0; i < items.length; i++) {
      try {
        for (const f of indexFuncs) f(items[i]!);
      } catch (err) {
        this.#report(new StoreRejectedError(keys[i]!, err), { source: 'store', key: keys[i]! });
        continue;
      }
      ok.push(items[i]!);
      okKeys.push(keys[i]!);
    }
    return { items: ok, keys: okKeys };
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

/** A relist's rule: an object is news when its resourceVersion moved (or it has none). */
function changedSince(old: KubeObject, obj: KubeObject): boolean {
  return (
    old !== obj &&
    (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion ||
      old.metadata?.resourceVersion === undefined)
  );
}
