/**
 * The controller runner: informers → one rate-limited work queue → a pool of workers that
 * reconcile one key at a time.
 *
 * ## Sources
 *
 * - `for(informer)`: the primary resource; each event queues the object's own key.
 * - `owns(informer)`: children; each event queues the key of the child's *controlling* owner
 *   (the `ownerReferences` entry with `controller: true` of the primary kind), so deleting or
 *   changing a child re-triggers its owner.
 * - `watches(informer, map)`: anything else, mapped to keys by your function.
 *
 * Every source feeds the same queue, and the queue never hands out a key that is being
 * processed, so one key is never reconciled twice at once whatever the number of workers and
 * sources. Initial-list and resync events go in at low priority (see `queue.ts`).
 *
 * ## Workers
 *
 * A `p-queue` pool runs the reconciles with `workers` as its concurrency. The controller pulls
 * a key only when a worker is free, so keys wait in the work queue (where duplicates collapse and
 * priorities apply), never in the pool's backlog. Pulling is event driven: a finishing reconcile
 * pulls the next key synchronously; when the queue is empty one `get()` is parked.
 *
 * ## Results
 *
 * | reconcile                     | then                                                  |
 * | ----------------------------- | ----------------------------------------------------- |
 * | returns nothing               | `forget` (the next failure starts from the shortest delay) |
 * | returns `{ requeueAfterMs }`  | `forget`, then queued again after that delay           |
 * | returns `{ requeue: true }`   | queued again after the rate limiter's delay           |
 * | throws / rejects              | `onError(err, key)`, then queued again after the rate limiter's delay |
 *
 * ## Stopping
 *
 * Aborting `run`'s signal stops intake at once (no new reconcile starts), lets running reconciles
 * finish for up to `drainTimeoutMs`, then aborts the signal they were given and resolves.
 *
 * @module
 */
import {
  deletionHandlingMetaNamespaceKeyFunc,
  KubecacheError,
  splitMetaNamespaceKey,
  type DeletedFinalStateUnknown,
  type DeepReadonly,
  type HandlerRegistration,
  type KubeObject,
  type ResourceEventHandler,
  realClock,
  type Clock,
} from '@kubecache/cache';
import PQueue from 'p-queue';
import { enqueueMapped, lastKnownState, type EnqueueOptions } from './enqueue.js';
import type { MetricsProvider } from './metrics.js';
import type { RateLimiter } from './rate-limiters.js';
import { RateLimitingQueue } from './rate-limiting-queue.js';

/**
 * What a controller needs of an informer: a `SharedIndexInformer` (or anything shaped like one).
 */
export interface ControllerSource<T extends KubeObject> {
  readonly name: string;
  addEventHandler(
    handler: ResourceEventHandler<T>,
    options?: { readonly name?: string },
  ): HandlerRegistration;
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  /** Used by `owns` to learn the primary kind when it is not given. */
  getStore(): { list(): readonly T[] };
}

/** One reconcile's input. */
export interface ReconcileRequest {
  /** `namespace/name`, or `name` for a cluster-scoped object. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** Failures of this key since its last success (0 on a first attempt). */
  readonly retries: number;
  /** Aborted when the controller stops and the drain timeout has passed. */
  readonly signal: AbortSignal;
}

/** What a reconcile may return (see the module comment's table). */
export type ReconcileResult =
  void | undefined | { readonly requeueAfterMs: number } | { readonly requeue: true };

/** The reconcile function: makes the world match the object named by the request. */
export type Reconciler = (request: ReconcileRequest) => ReconcileResult | Promise<ReconcileResult>;

/** Options of {@link Controller}. */
export interface ControllerOptions {
  /** Name of the controller, its queue and its handler registrations. Default `controller`. */
  readonly name?: string;
  readonly reconcile: Reconciler;
  /** Reconciles that may run at once (different keys). Default 1. */
  readonly workers?: number;
  /** Retry delays. Default client-go's controller limiter (5 ms → 1000 s per key, 10 qps overall). */
  readonly rateLimiter?: RateLimiter<string>;
  readonly clock?: Clock;
  readonly metricsProvider?: MetricsProvider;
  /** A reconcile failed (it is retried). Default `console.error`. */
  readonly onError?: (error: unknown, key: string) => void;
  /** How long a stop waits for running reconciles, ms. Default 30 000. */
  readonly drainTimeoutMs?: number;
}

/** Options of `owns`. */
export interface OwnsOptions<T extends KubeObject> extends EnqueueOptions<T> {
  /** The owner kind to follow (default: the kind of the primary objects). */
  readonly ownerKind?: string;
  /** The owner is cluster-scoped: its key is its name alone. Default false. */
  readonly ownerClusterScoped?: boolean;
}

/**
 * A controller misconfiguration (`run` twice, no `for` source, an unknown owner kind). `code` is
 * `'ControllerConfig'`.
 *
 * @example
 * ```ts
 * try { await controller.run(signal); } catch (err) { if (err instanceof ControllerConfigError) console.error(err.message); }
 * ```
 */
export class ControllerConfigError extends KubecacheError {
  constructor(message: string) {
    super('ControllerConfig', message);
  }
}

interface Source {
  readonly informer: ControllerSource<KubeObject>;
  readonly handler: ResourceEventHandler<KubeObject>;
}

/**
 * A controller: sources → work queue → workers running `reconcile`.
 *
 * @example
 * ```ts
 * const myApps = factory.forResource({ group: 'example.com', version: 'v1', resource: 'myapps' });
 * const ensureConfigMap = async (app: DeepReadonly<DynamicObject>): Promise<void> => {
 *   // create or update the ConfigMap `app` owns
 * };
 * const controller = new Controller({
 *   name: 'myapps',
 *   workers: 4,
 *   reconcile: async ({ namespace, name }) => {
 *     const app = myApps.lister().namespace(namespace).tryGet(name);
 *     if (app === undefined) return; // deleted: owned objects are garbage-collected
 *     await ensureConfigMap(app);
 *   },
 * })
 *   .for(myApps.informer())
 *   .owns(factory.core.v1.configmaps().informer());
 * await controller.run(signal); // resolves after signal aborts and running reconciles finish
 * ```
 */
export class Controller {
  readonly name: string;
  /** The work queue (exposed for metrics, tests and manual `add`s). */
  readonly queue: RateLimitingQueue<string>;
  readonly #reconcile: Reconciler;
  readonly #workers: number;
  readonly #onError: (error: unknown, key: string) => void;
  readonly #drainTimeoutMs: number;
  readonly #clock: Clock;
  readonly #sources: Source[] = [];
  #primary: ControllerSource<KubeObject> | undefined;
  #primaryKind: string | undefined;
  #started = false;
  #stopping = false;
  #running = 0;
  #parked = false;
  #pool: PQueue | undefined;
  readonly #reconcileAbort = new AbortController();

  constructor(options: ControllerOptions) {
    this.name = options.name ?? 'controller';
    this.#reconcile = options.reconcile;
    this.#workers = Math.max(1, Math.floor(options.workers ?? 1));
    this.#onError =
      options.onError ??
      ((error, key) => console.error(`controller ${this.name}: reconcile of ${key} failed`, error));
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.#clock = options.clock ?? realClock;
    this.queue = new RateLimitingQueue<string>({
      name: this.name,
      clock: this.#clock,
      ...(options.rateLimiter === undefined ? {} : { rateLimiter: options.rateLimiter }),
      ...(options.metricsProvider === undefined
        ? {}
        : { metricsProvider: options.metricsProvider }),
    });
  }

  /** The primary resource: its objects' keys are what `reconcile` receives. */
  for<T extends KubeObject>(
    informer: ControllerSource<T>,
    options: EnqueueOptions<T> & { readonly kind?: string } = {},
  ): this {
    if (this.#primary !== undefined) {
      throw new ControllerConfigError(`controller ${this.name} already has a primary resource`);
    }
    this.#primary = informer as unknown as ControllerSource<KubeObject>;
    this.#primaryKind = options.kind;
    return this.#addSource(
      informer,
      enqueueMapped<T>(
        this.queue,
        (obj) =>
          deletionHandlingMetaNamespaceKeyFunc(
            obj as KubeObject | DeletedFinalStateUnknown<KubeObject>,
          ),
        options,
      ),
    );
  }

  /** Children: an event on a child queues its controlling owner of the primary kind. */
  owns<T extends KubeObject>(informer: ControllerSource<T>, options: OwnsOptions<T> = {}): this {
    const ownerKey = (
      obj: DeepReadonly<T> | DeletedFinalStateUnknown<DeepReadonly<T>>,
    ): string | undefined => {
      // Generic T hides the metadata's shape; every T is a KubeObject, so read it as one.
      const child = lastKnownState(obj) as KubeObject | undefined;
      const kind = options.ownerKind ?? this.#primaryKindNow();
      if (child === undefined || kind === undefined) return undefined;
      const ref = child.metadata?.ownerReferences?.find((r) => r.controller === true);
      if (ref === undefined || ref.kind !== kind) return undefined;
      const ns = child.metadata?.namespace ?? '';
      return options.ownerClusterScoped === true || ns === '' ? ref.name : `${ns}/${ref.name}`;
    };
    return this.#addSource(informer, enqueueMapped<T>(this.queue, ownerKey, options));
  }

  /** Any other source, mapped to primary keys by `map` (old and new object of an update both). */
  watches<T extends KubeObject>(
    informer: ControllerSource<T>,
    map: (
      obj: DeepReadonly<T> | DeletedFinalStateUnknown<DeepReadonly<T>>,
    ) => string | readonly string[] | undefined,
    options: EnqueueOptions<T> = {},
  ): this {
    return this.#addSource(informer, enqueueMapped<T>(this.queue, map, options));
  }

  /**
   * Registers the handlers, waits for every source's cache to sync, then reconciles until
   * `signal` aborts; resolves once running reconciles finished (or the drain timeout passed).
   * Resolves without reconciling when `signal` aborts before the caches synced.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new ControllerConfigError(`controller ${this.name} already ran`);
    if (this.#primary === undefined) {
      throw new ControllerConfigError(`controller ${this.name} has no primary resource (for)`);
    }
    this.#started = true;
    const registrations = this.#sources.map((s, i) =>
      s.informer.addEventHandler(s.handler, { name: `${this.name}#${i}` }),
    );
    const pool = new PQueue({ concurrency: this.#workers });
    this.#pool = pool;
    const stopped = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      const synced = await Promise.all(this.#sources.map((s) => s.informer.waitForSync(signal)));
      if (synced.every(Boolean) && !signal.aborted) {
        this.#pump();
        await stopped;
      }
    } finally {
      this.#stopping = true;
      for (const r of registrations) r.remove();
      this.queue.shutDown();
      await this.#drain(pool);
    }
  }

  /** Running reconciles (for tests and health checks). */
  get running(): number {
    return this.#running;
  }

  #addSource<T extends KubeObject>(
    informer: ControllerSource<T>,
    handler: ResourceEventHandler<T>,
  ): this {
    if (this.#started) {
      throw new ControllerConfigError(`controller ${this.name}: add sources before run`);
    }
    this.#sources.push({
      informer: informer as unknown as ControllerSource<KubeObject>,
      handler: handler as ResourceEventHandler<KubeObject>,
    });
    return this;
  }

  #primaryKindNow(): string | undefined {
    if (this.#primaryKind === undefined) {
      // The lister-watcher fills `kind` on every object; with no primary object cached there is
      // no owner to re-trigger yet (a new owner's own add queues it).
      this.#primaryKind = this.#primary?.getStore().list()[0]?.kind;
    }
    return this.#primaryKind;
  }

  /** Starts reconciles while workers are free and keys wait; parks one `get` when none waits. */
  #pump(): void {
    while (!this.#stopping && this.#running < this.#workers) {
      const next = this.queue.tryGet();
      if (next === undefined) {
        this.#park();
        return;
      }
      if (next.shutdown) return;
      this.#dispatch(next.item);
    }
  }

  #park(): void {
    if (this.#parked) return;
    this.#parked = true;
    void this.queue.get().then((next) => {
      this.#parked = false;
      if (next.shutdown) return;
      if (this.#stopping) {
        this.queue.done(next.item);
        return;
      }
      this.#dispatch(next.item);
      this.#pump();
    });
  }

  #dispatch(key: string): void {
    this.#running++;
    void this.#pool!.add(() => this.#process(key));
  }

  async #process(key: string): Promise<void> {
    const queue = this.queue;
    try {
      const { namespace, name } = splitKey(key);
      const result = await this.#reconcile({
        key,
        namespace,
        name,
        retries: queue.numRequeues(key),
        signal: this.#reconcileAbort.signal,
      });
      if (result !== undefined && 'requeue' in result && result.requeue) {
        queue.addRateLimited(key);
      } else {
        queue.forget(key);
        if (result !== undefined && 'requeueAfterMs' in result) {
          queue.addAfter(key, result.requeueAfterMs);
        }
      }
    } catch (err) {
      try {
        this.#onError(err, key);
      } catch {
        // A failing error hook must not kill the worker.
      }
      queue.addRateLimited(key);
    } finally {
      queue.done(key);
      this.#running--;
      this.#pump();
    }
  }

  async #drain(pool: PQueue): Promise<void> {
    if (pool.pending === 0 && pool.size === 0) return;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, this.#drainTimeoutMs);
    });
    await Promise.race([pool.onIdle(), timedOut]);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#reconcileAbort.abort(new Error(`controller ${this.name} stopped`));
  }
}

function splitKey(key: string): { namespace: string; name: string } {
  if (!key.includes('/')) return { namespace: '', name: key };
  return splitMetaNamespaceKey(key);
}
