/**
 * Read-your-writes: a controller that wrote an object and reads it back through its informer's
 * cache before the watch delivered the write sees the old object, and may act on stale state
 * (create a second child, count a replica twice). A mutation cache remembers the objects a
 * controller wrote (and deleted) and answers reads with the newer of the written and the cached
 * object by resourceVersion, until the informer catches up. Semantics of client-go's
 * `MutationCache`, plus remembered deletes; entries live in an `lru-cache` (bounded in count and
 * age, so a write the informer never confirms cannot pin memory or hide the truth forever).
 *
 * @module
 */
import {
  compareResourceVersions,
  metaNamespaceKeyFunc,
  NAMESPACE_INDEX,
  realClock,
  type Clock,
  type DeepReadonly,
  type ReadonlyIndexer,
  type KeyFunc,
  type KubeObject,
} from '@kubecache/cache';
import { LRUCache } from 'lru-cache';

/** Options of {@link MutationCache}. */
export interface MutationCacheOptions<T extends KubeObject> {
  /** The informer's cache (`informer.getIndexer()`). */
  readonly indexer: ReadonlyIndexer<T>;
  /** Most remembered writes. Default 100 (client-go's). */
  readonly max?: number;
  /** How long a write is remembered, ms (expired once older than this). Default 300 000 (5 minutes, client-go's). */
  readonly ttlMs?: number;
  readonly clock?: Clock;
  /** Default `namespace/name`; must match the indexer's. */
  readonly keyFunc?: KeyFunc<T>;
}

type Entry<T> =
  | { readonly deleted: false; readonly obj: T }
  | { readonly deleted: true; readonly uid: string | undefined; readonly rv: string | undefined };

/**
 * Reads through an informer's cache, newer-of with the controller's own writes.
 *
 * @example
 * ```ts
 * const configMaps = factory.core.v1.configmaps();
 * const reads = new MutationCache({ indexer: configMaps.informer().getIndexer() });
 * const copy = deepCopy(configMaps.lister().namespace('default').get('settings'));
 * copy.data = { ...copy.data, mode: 'fast' };
 * const written = await coreApi.replaceNamespacedConfigMap({ name: 'settings', namespace: 'default', body: toClientModel<V1ConfigMap>(copy) });
 * reads.mutation(fromClientModel(written));
 * reads.getByKey('default/settings'); // `written` until the informer has it (or newer)
 * ```
 */
export class MutationCache<T extends KubeObject> {
  readonly #indexer: ReadonlyIndexer<T>;
  readonly #keyFunc: KeyFunc<T>;
  readonly #entries: LRUCache<string, Entry<T>>;

  constructor(options: MutationCacheOptions<T>) {
    this.#indexer = options.indexer;
    this.#keyFunc = options.keyFunc ?? metaNamespaceKeyFunc;
    const clock = options.clock ?? realClock;
    this.#entries = new LRUCache<string, Entry<T>>({
      max: options.max ?? 100,
      ttl: options.ttlMs ?? 300_000,
      // Age by the injected clock, so tests expire entries with a FakeClock.
      // (+1: lru-cache reads a start time of 0 as "no TTL", and a FakeClock starts at 0.)
      perf: { now: () => clock.now() + 1 },
      // lru-cache otherwise caches "now" for 1 ms on a real timer, which a FakeClock never moves.
      ttlResolution: 0,
    });
  }

  /** Remembers an object the controller wrote (the API's answer to a create, update or patch). */
  mutation(obj: T): void {
    this.#entries.set(this.#keyFunc(obj), { deleted: false, obj });
  }

  /**
   * Remembers a delete: reads hide the cached object (of that uid, at most that resourceVersion)
   * until the informer sees the delete. Pass the deleted object, or its key.
   */
  deletion(objOrKey: T | string): void {
    if (typeof objOrKey === 'string') {
      this.#entries.set(objOrKey, { deleted: true, uid: undefined, rv: undefined });
      return;
    }
    const meta = objOrKey.metadata;
    this.#entries.set(this.#keyFunc(objOrKey), {
      deleted: true,
      uid: meta?.uid,
      rv: meta?.resourceVersion,
    });
  }

  /** The newer of the cached and the written object for `key`, or undefined. */
  getByKey(key: string): DeepReadonly<T> | undefined {
    return this.#newer(key, this.#indexer.getByKey(key));
  }

  /**
   * Objects whose index `indexName` holds `value`, newer-of per object; written objects the
   * informer has not seen yet are included when they belong to the index.
   */
  byIndex(indexName: string, value: string): DeepReadonly<T>[] {
    const fromCache = this.#indexer.byIndex(indexName, value);
    const indexFunc = this.#indexer.getIndexers()[indexName];
    return this.#merge(fromCache, (obj) => indexFunc?.(obj).includes(value) ?? false);
  }

  /** Every object (of `namespace` when given), newer-of per object. */
  list(namespace?: string): DeepReadonly<T>[] {
    if (namespace === undefined) return this.#merge(this.#indexer.list(), () => true);
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  /** Writes remembered now (expired ones excluded). */
  get size(): number {
    this.#entries.purgeStale();
    return this.#entries.size;
  }

  #merge(fromCache: readonly DeepReadonly<T>[], belongs: (obj: T) => boolean): DeepReadonly<T>[] {
    const out: DeepReadonly<T>[] = [];
    const seen = new Set<string>();
    for (const obj of fromCache) {
      const key = this.#keyFunc(obj as T);
      seen.add(key);
      const newer = this.#newer(key, obj);
      if (newer !== undefined) out.push(newer);
    }
    for (const [key, entry] of this.#entries.entries()) {
      if (seen.has(key) || entry.deleted) continue;
      const newer = this.#newer(key, this.#indexer.getByKey(key));
      if (newer !== undefined && belongs(newer as T)) out.push(newer);
    }
    return out;
  }

  /** client-go's rule: the written object wins only while it is strictly newer than the cache. */
  #newer(key: string, cached: DeepReadonly<T> | undefined): DeepReadonly<T> | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return cached;
    if (entry.deleted) {
      if (cached === undefined) {
        this.#entries.delete(key); // the informer saw the delete
        return undefined;
      }
      const meta = cached.metadata;
      const recreated = entry.uid !== undefined && meta?.uid !== entry.uid;
      const newerThanDelete =
        entry.rv !== undefined &&
        (compareResourceVersions(meta?.resourceVersion ?? '', entry.rv) ?? 0) > 0;
      if (recreated || newerThanDelete) {
        this.#entries.delete(key);
        return cached;
      }
      return undefined;
    }
    // The written object is handed out like a cached one: shared, read-only.
    const written = entry.obj as unknown as DeepReadonly<T>;
    if (cached === undefined) return written;
    const order = compareResourceVersions(
      entry.obj.metadata?.resourceVersion ?? '',
      cached.metadata?.resourceVersion ?? '',
    );
    // Not comparable: trust the write, as client-go does, until it expires.
    if (order === undefined || order > 0) return written;
    this.#entries.delete(key); // the informer caught up
    return cached;
  }
}
