/**
 * SharedInformerFactory: one informer per (resource, options), shared by every part of a program.
 *
 * Like client-go's factory, asking twice for the same resource with the same options returns the
 * same informer (one watch, one cache). Unlike it, informers requested after `start()` are
 * started at once (forgetting a second `Start` is a classic client-go bug), and `shutdown()`
 * waits until every handler has delivered what was buffered.
 */
import {
  consoleLogger,
  describeError,
  formatShardSelector,
  KubecacheError,
  Lister,
  parseShardSelector,
  SharedIndexInformer,
  type Clock,
  type InformerHealth,
  type Logger,
  type Indexers,
  type InformerErrorContext,
  type KubeObject,
  type ReflectorOptions,
  type ShardSelector,
} from '@kubecache/cache';
import type { KubeConfig } from '@kubernetes/client-node';
import { DiscoveringListerWatcher } from './discovery.js';
import { KubeListerWatcher, type ResourceRef } from './kube-lister-watcher.js';
import {
  builtinResources,
  type DynamicObject,
  type PartialObjectMetadata,
  type TypedResource,
} from './resources.js';

/**
 * Options of {@link SharedInformerFactory}; every informer of the factory inherits them.
 *
 * @example
 * ```ts
 * new SharedInformerFactory(kc, { namespace: 'default', labelSelector: 'team=a', resyncPeriodMs: 60_000 });
 * ```
 */
export interface SharedInformerFactoryOptions {
  /** Watch only this namespace (default: all). */
  readonly namespace?: string;
  /** Server-side label selector of every list/watch. */
  readonly labelSelector?: string;
  /** Server-side field selector of every list/watch. */
  readonly fieldSelector?: string;
  /**
   * KEP-5866 shard selector of every list/watch: cache only the objects whose hash lies in its
   * ranges (`shardSelectorFor(i, n)`, or the wire text). Applied by the server when it supports
   * it, else filtered on the client with the same hash (see `KubeListerWatcher`).
   */
  readonly shardSelector?: ShardSelector | string;
  /** Default handler resync period (default 0: none). */
  readonly resyncPeriodMs?: number;
  /** Applied to every object before it is cached (e.g. `stripManagedFields`). */
  readonly transform?: <T extends KubeObject>(obj: T) => T;
  readonly clock?: Clock;
  /**
   * Deep-freeze every cached object, so a write that gets past the read-only types (a cast, plain
   * JavaScript) throws instead of silently changing what every other reader sees. Costs a walk of
   * each object as it is stored. Default: off, or on when the environment has
   * `KUBECACHE_FREEZE=1` (turn it on in test suites).
   */
  readonly freeze?: boolean;
  /** Reflector tuning (page size, backoff, streaming lists, ...). */
  readonly reflector?: Partial<Omit<ReflectorOptions<KubeObject>, 'listerWatcher' | 'store'>>;
  /**
   * Where every informer's default error report goes: one line per failure (see
   * `SharedIndexInformer`). Default {@link consoleLogger}. pino loggers fit as they are.
   */
  readonly logger?: Logger;
  /** Every failure of every informer, once each (replaces the logging). */
  readonly onError?: (
    error: unknown,
    context: InformerErrorContext & { readonly informer: string },
  ) => void;
}

/**
 * Per-informer overrides of the factory options.
 *
 * @example
 * ```ts
 * const byNode = (pod: Pod) => [pod.spec?.nodeName ?? ''];
 * factory.informerFor(resources.pods, { namespace: 'kube-system', indexers: { byNode } });
 * ```
 */
export interface InformerForOptions<T extends KubeObject> {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** See {@link SharedInformerFactoryOptions.shardSelector}; part of the informer's identity. */
  readonly shardSelector?: ShardSelector | string;
  readonly resyncPeriodMs?: number;
  readonly transform?: (obj: T) => T;
  /** Extra indexes (added to an existing shared informer when it lacks them). */
  readonly indexers?: Indexers<T>;
  /** Cache PartialObjectMetadata only (see {@link SharedInformerFactory.metadataFor}). */
  readonly metadataOnly?: boolean;
}

/**
 * An informer and its lister.
 *
 * @example
 * ```ts
 * const { informer, lister } = factory.apps.v1.deployments();
 * ```
 */
export interface InformerPair<T extends KubeObject> {
  informer(): SharedIndexInformer<T>;
  lister(): Lister<T>;
}

/**
 * The factory's health: `ready` once started, when every started informer has synced and none
 * has stopped.
 *
 * @example
 * ```ts
 * const { ready, informers } = factory.health();
 * ```
 */
export interface FactoryHealth {
  readonly ready: boolean;
  /** By informer id (`group/version/resource` plus its options). */
  readonly informers: Readonly<Record<string, InformerHealth>>;
}

/**
 * `waitForCacheSync` found informers that stopped for good before they synced (a spent retry
 * budget). `code` is `'CacheSyncFailed'`; `failures` names each with its terminal error.
 *
 * @example
 * ```ts
 * try { await factory.waitForCacheSync(signal); } catch (err) {
 *   if (err instanceof CacheSyncError) for (const f of err.failures) console.error(f.informer, f.error.message);
 * }
 * ```
 */
export class CacheSyncError extends KubecacheError {
  readonly failures: readonly { readonly informer: string; readonly error: Error }[];
  /** What did sync, as `waitForCacheSync` would have answered. */
  readonly synced: Readonly<Record<string, boolean>>;

  constructor(
    failures: readonly { readonly informer: string; readonly error: Error }[],
    synced: Readonly<Record<string, boolean>>,
  ) {
    const first = failures[0]!;
    super(
      'CacheSyncFailed',
      `${failures.length} informer(s) stopped before syncing; ${first.informer}: ${describeError(first.error)}`,
      { cause: first.error },
    );
    this.failures = failures;
    this.synced = synced;
  }
}

/**
 * One informer of a factory, as {@link SharedInformerFactory.informers} lists it.
 *
 * @example
 * ```ts
 * for (const { id, informer } of factory.informers()) console.log(id, informer.hasSynced());
 * ```
 */
export interface FactoryInformer {
  readonly id: string;
  readonly informer: SharedIndexInformer<KubeObject>;
  /**
   * With a shard selector: whether the server applied it at the last list (true) or the client
   * filtered (false); undefined before the first list, and without a shard selector.
   */
  readonly serverSideSharding: boolean | undefined;
}

/**
 * The type of {@link builtinResources}: group → version → plural → `TypedResource<…>`.
 *
 * @example
 * ```ts
 * type Jobs = BuiltinResources['batch']['v1']['jobs']; // TypedResource<Job>
 * ```
 */
export type BuiltinResources = typeof builtinResources;

/**
 * The typed accessors of one group version: `pods()` → `InformerPair<Pod>`.
 *
 * @example
 * ```ts
 * const coreV1: VersionInformers<typeof builtinResources.core.v1> = factory.core.v1;
 * ```
 */
export type VersionInformers<R> = {
  readonly [K in keyof R]: R[K] extends TypedResource<infer T> ? () => InformerPair<T> : never;
};

/**
 * The typed accessors of one API group, by version.
 *
 * @example
 * ```ts
 * const autoscaling: GroupInformers<typeof builtinResources.autoscaling> = factory.autoscaling; // .v1, .v2
 * ```
 */
export type GroupInformers<G> = { readonly [V in keyof G]: VersionInformers<G[V]> };

/**
 * Every built-in group's accessors, as the factory has them (`factory.batch.v1.jobs()`).
 *
 * @example
 * ```ts
 * const jobs = (f: BuiltinInformers) => f.batch.v1.jobs().lister().list();
 * ```
 */
export type BuiltinInformers = {
  readonly [G in keyof BuiltinResources]: GroupInformers<BuiltinResources[G]>;
};

interface Entry {
  readonly id: string;
  readonly informer: SharedIndexInformer<KubeObject>;
  readonly lister: Lister<KubeObject>;
  readonly lw: KubeListerWatcher<KubeObject> | DiscoveringListerWatcher<KubeObject>;
  run: Promise<void> | undefined;
}

/** The wire text of a shard selector option; a malformed text throws here, not at the first list. */
function shardSelectorText(selector: ShardSelector | string | undefined): string {
  if (selector === undefined || selector === '') return '';
  if (typeof selector !== 'string') return formatShardSelector(selector);
  parseShardSelector(selector);
  return selector;
}

const transformIds = new WeakMap<object, number>();
let nextTransformId = 1;
function fnId(fn: object | undefined): number {
  if (fn === undefined) return 0;
  let id = transformIds.get(fn);
  if (id === undefined) transformIds.set(fn, (id = nextTransformId++));
  return id;
}

/**
 * Shares informers across a program.
 *
 * @example
 * ```ts
 * const factory = new SharedInformerFactory(kc, { resyncPeriodMs: 60_000 });
 * const deployments = factory.apps.v1.deployments();
 * deployments.informer().addEventHandler({ onAdd: (d) => console.log(d.metadata?.name) });
 * factory.start(signal);
 * await factory.waitForCacheSync(signal);
 * deployments.lister().namespace('default').list();
 * ```
 */
export class SharedInformerFactory {
  readonly #kc: KubeConfig;
  readonly #options: SharedInformerFactoryOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #logger: Logger;
  /** Terminal errors of informers whose run rejected. */
  readonly #terminal = new Map<string, Error>();
  #controller: AbortController | undefined;
  #shutdown = false;

  constructor(kubeConfig: KubeConfig, options: SharedInformerFactoryOptions = {}) {
    this.#kc = kubeConfig;
    this.#options = options;
    this.#logger = options.logger ?? consoleLogger();
    const pair = (ref: TypedResource<KubeObject>) => () => this.#pair(ref);
    const mapValues = <V, R>(o: Record<string, V>, f: (v: V) => R): Record<string, R> =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
    Object.assign(
      this,
      mapValues(
        builtinResources,
        (versions: Record<string, Record<string, TypedResource<KubeObject>>>) =>
          mapValues(versions, (byPlural) => mapValues(byPlural, pair)),
      ),
    );
  }

  /** Every informer this factory created so far, in creation order. */
  informers(): readonly FactoryInformer[] {
    return [...this.#entries.values()].map((e) => ({
      id: e.id,
      informer: e.informer,
      serverSideSharding: (e.lw instanceof KubeListerWatcher ? e.lw : e.lw.resolved)
        ?.serverSideSharding,
    }));
  }

  /**
   * Health of every informer (see `SharedIndexInformer.health`); `ready` once the factory has
   * started and every started informer has synced, and none has stopped. For a readiness probe.
   *
   * @example
   * ```ts
   * http.createServer((_req, res) => { const h = factory.health(); res.writeHead(h.ready ? 200 : 503).end(JSON.stringify(h)); });
   * ```
   */
  health(): FactoryHealth {
    const informers: Record<string, InformerHealth> = {};
    // Not ready before start(): a readiness probe must not pass before anything was cached.
    let ready = this.#controller !== undefined && !this.#shutdown;
    for (const e of this.#entries.values()) {
      const h = e.informer.health();
      informers[e.id] = h;
      if (e.run !== undefined && !h.ready) ready = false;
    }
    return { ready, informers };
  }

  /**
   * The informer of `resource` with these options; the same instance for the same resource and
   * options (transforms and selectors included).
   */
  informerFor<T extends KubeObject>(
    resource: TypedResource<T> | ResourceRef,
    options: InformerForOptions<T> = {},
  ): SharedIndexInformer<T> {
    return this.#entry(resource, options).informer as unknown as SharedIndexInformer<T>;
  }

  /** The lister over {@link SharedInformerFactory.informerFor}'s cache. */
  listerFor<T extends KubeObject>(
    resource: TypedResource<T> | ResourceRef,
    options: InformerForOptions<T> = {},
  ): Lister<T> {
    return this.#entry(resource, options).lister as unknown as Lister<T>;
  }

  /**
   * A dynamic informer/lister pair for a resource known at runtime (e.g. a CRD). Without
   * `namespaced` in `ref`, kind and scope come from the server's discovery documents at the
   * first list; a resource the server does not serve (yet) fails with `ResourceNotServedError`
   * and is retried until it is, then syncs without a restart.
   */
  forResource<T extends KubeObject = DynamicObject>(
    ref: ResourceRef,
    options: InformerForOptions<T> = {},
  ): InformerPair<T> {
    return this.#pair<T>(ref, options);
  }

  /** A metadata-only informer/lister pair (PartialObjectMetadata). */
  metadataFor(
    ref: ResourceRef,
    options: Omit<InformerForOptions<PartialObjectMetadata>, 'metadataOnly'> = {},
  ): InformerPair<PartialObjectMetadata> {
    return this.#pair<PartialObjectMetadata>(ref, { ...options, metadataOnly: true });
  }

  // Typed accessors of every built-in group, derived from `builtinResources` (see
  // `BuiltinInformers`); declared here, assigned in the constructor.
  declare readonly core: BuiltinInformers['core'];
  declare readonly apps: BuiltinInformers['apps'];
  declare readonly batch: BuiltinInformers['batch'];
  declare readonly autoscaling: BuiltinInformers['autoscaling'];
  declare readonly networking: BuiltinInformers['networking'];
  declare readonly policy: BuiltinInformers['policy'];
  declare readonly rbac: BuiltinInformers['rbac'];
  declare readonly storage: BuiltinInformers['storage'];
  declare readonly discovery: BuiltinInformers['discovery'];
  declare readonly coordination: BuiltinInformers['coordination'];
  declare readonly events: BuiltinInformers['events'];
  declare readonly scheduling: BuiltinInformers['scheduling'];
  declare readonly node: BuiltinInformers['node'];
  declare readonly certificates: BuiltinInformers['certificates'];
  declare readonly admissionregistration: BuiltinInformers['admissionregistration'];
  declare readonly apiextensions: BuiltinInformers['apiextensions'];
  declare readonly apiregistration: BuiltinInformers['apiregistration'];
  declare readonly flowcontrol: BuiltinInformers['flowcontrol'];
  declare readonly resource: BuiltinInformers['resource'];

  /**
   * Starts every informer not yet running; informers requested later start at once. Stops them
   * all when `signal` aborts (or on {@link SharedInformerFactory.shutdown}).
   */
  start(signal?: AbortSignal): void {
    if (this.#shutdown) return;
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      if (signal !== undefined) {
        if (signal.aborted) controller.abort(signal.reason);
        else
          signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
      }
    }
    for (const entry of this.#entries.values()) this.#run(entry);
  }

  /**
   * Waits until every started informer has synced, or `signal` aborts. Resolves with one entry per
   * informer (`group/version/resource` plus its options) telling whether it synced. Rejects with
   * a {@link CacheSyncError} naming the reasons when informers stopped for good before syncing
   * (a spent retry budget), so a program never waits on a sync that cannot come.
   */
  async waitForCacheSync(signal?: AbortSignal): Promise<Record<string, boolean>> {
    const started = [...this.#entries.values()].filter((e) => e.run !== undefined);
    const results = await Promise.all(started.map((e) => e.informer.waitForSync(signal)));
    const out: Record<string, boolean> = {};
    started.forEach((e, i) => (out[e.id] = results[i] ?? false));
    // The informer is stopped before its run promise settles: let the rejection land first.
    if (started.some((e, i) => results[i] !== true && e.informer.isStopped())) {
      await Promise.all(started.map((e) => (e.informer.isStopped() ? e.run : undefined)));
    }
    const failures = started.flatMap((e, i) => {
      const error = this.#terminal.get(e.id);
      return results[i] !== true && error !== undefined ? [{ informer: e.id, error }] : [];
    });
    if (failures.length > 0) throw new CacheSyncError(failures, out);
    return out;
  }

  /**
   * Stops every informer and resolves when they have stopped and their handlers have delivered
   * everything already buffered. A handler whose promise never settles would hold this forever:
   * pass `signal` to stop waiting for the drain (the informers are stopped either way).
   */
  async shutdown(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    this.#shutdown = true;
    this.#controller?.abort();
    const entries = [...this.#entries.values()];
    await Promise.all(entries.map((e) => e.run));
    const drained = Promise.all(entries.map((e) => e.informer.drained()));
    const signal = options.signal;
    if (signal === undefined) {
      await drained;
      return;
    }
    if (signal.aborted) return;
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      void drained.then(() => resolve());
    });
  }

  #pair<T extends KubeObject>(
    ref: TypedResource<T> | ResourceRef,
    options: InformerForOptions<T> = {},
  ): InformerPair<T> {
    const entry = this.#entry(ref, options);
    return {
      informer: () => entry.informer as unknown as SharedIndexInformer<T>,
      lister: () => entry.lister as unknown as Lister<T>,
    };
  }

  #entry<T extends KubeObject>(ref: ResourceRef, options: InformerForOptions<T>): Entry {
    const o = this.#options;
    const namespaced = ref.namespaced ?? true;
    const namespace = namespaced ? (options.namespace ?? o.namespace ?? '') : '';
    const labelSelector = options.labelSelector ?? o.labelSelector ?? '';
    const fieldSelector = options.fieldSelector ?? o.fieldSelector ?? '';
    const shardSelector = shardSelectorText(options.shardSelector ?? o.shardSelector);
    const resyncPeriodMs = options.resyncPeriodMs ?? o.resyncPeriodMs ?? 0;
    const transform = (options.transform ?? o.transform) as
      ((obj: KubeObject) => KubeObject) | undefined;
    const metadataOnly = options.metadataOnly ?? false;
    const gvr = `${ref.group === '' ? 'core' : ref.group}/${ref.version}/${ref.resource}`;
    const extras = [
      namespace === '' ? '' : `ns=${namespace}`,
      labelSelector === '' ? '' : `labels=${labelSelector}`,
      fieldSelector === '' ? '' : `fields=${fieldSelector}`,
      shardSelector === '' ? '' : `shard=${shardSelector}`,
      metadataOnly ? 'metadata' : '',
      resyncPeriodMs === 0 ? '' : `resync=${resyncPeriodMs}`,
      transform === undefined ? '' : `transform#${fnId(transform)}`,
    ].filter((s) => s !== '');
    const id = extras.length === 0 ? gvr : `${gvr}[${extras.join(',')}]`;
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      // A ref that does not say its scope (a CRD, a built-in named by hand) is looked up in the
      // server's discovery documents at the first list, so cluster-scoped resources just work.
      const lw =
        ref.namespaced === undefined
          ? new DiscoveringListerWatcher<KubeObject>(this.#kc, ref, { namespace, metadataOnly })
          : new KubeListerWatcher<KubeObject>(this.#kc, {
              resource: ref,
              ...(namespace === '' ? {} : { namespace }),
              metadataOnly,
            });
      const onError = o.onError;
      const informer = new SharedIndexInformer<KubeObject>({
        name: id,
        listerWatcher: lw,
        resyncPeriodMs,
        logger: this.#logger,
        freeze: o.freeze ?? process.env['KUBECACHE_FREEZE'] === '1',
        ...(transform === undefined ? {} : { transform }),
        ...(o.clock === undefined ? {} : { clock: o.clock }),
        ...(onError === undefined
          ? {}
          : { onError: (err, ctx) => onError(err, { ...ctx, informer: id }) }),
        reflector: {
          ...o.reflector,
          ...(labelSelector === '' ? {} : { labelSelector }),
          ...(fieldSelector === '' ? {} : { fieldSelector }),
          ...(shardSelector === '' ? {} : { shardSelector }),
        },
      });
      const resourceName = ref.group === '' ? ref.resource : `${ref.resource}.${ref.group}`;
      entry = {
        id,
        informer,
        lister: new Lister(informer.getIndexer(), resourceName),
        lw,
        run: undefined,
      };
      this.#entries.set(id, entry);
      if (this.#controller !== undefined) this.#run(entry);
    }
    if (options.indexers !== undefined) {
      const have = entry.informer.getIndexer().getIndexers();
      const missing = Object.entries(options.indexers).filter(([name]) => have[name] === undefined);
      if (missing.length > 0) {
        entry.informer.addIndexers(Object.fromEntries(missing) as unknown as Indexers<KubeObject>);
      }
    }
    return entry;
  }

  #run(entry: Entry): void {
    const controller = this.#controller;
    if (entry.run !== undefined || controller === undefined) return;
    entry.run = entry.informer.run(controller.signal).catch((err: unknown) => {
      // The informer has already reported its terminal error through onError or the logger;
      // keep it for waitForCacheSync and health rather than reporting it a second time.
      this.#terminal.set(entry.id, err instanceof Error ? err : new Error(String(err)));
    });
  }
}
