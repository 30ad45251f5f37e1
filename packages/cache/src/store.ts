/**
 * Store and Indexer: the in-memory cache an informer keeps of one resource.
 *
 * ## "Thread-safe" in Node
 *
 * JavaScript runs one piece of code at a time, so the only way a reader could observe a
 * half-applied write is a write that yields (`await`) in the middle. Every mutating method here is
 * synchronous and runs to completion: an `update` moves the object between index buckets, a
 * `replace` swaps in a fully rebuilt map and fully rebuilt indexes, with no `await` in between.
 * Whatever a reader sees - `get`, `list`, `byIndex`, `listBySelector` - is the state before or
 * after a whole write, never a mix. Writes are also exception-safe: the key and every index value
 * are computed before anything changes, so a throwing key or index function leaves the store as
 * it was. An index function that writes to the store it indexes for is refused
 * ({@link ReentrantWriteError}).
 *
 * ## Shared, read-only objects
 *
 * The store never copies: `get`, `list` and `byIndex` return the very objects that were added,
 * shared by every consumer of the cache (handlers, listers, other controllers). They are
 * read-only by contract. Mutating one corrupts everyone's view, and can diverge from the indexes
 * (which are computed when the object is written). To change an object, copy it
 * (`structuredClone`) and send the copy to the API server. The `freeze: true` option deep-freezes
 * every stored object so that any mutation throws a `TypeError` (modules are strict mode): turn it
 * on in tests and development to catch offenders.
 *
 * The indexes remember the values each object was indexed under, so even an object mutated in
 * place by a careless consumer is removed from exactly the buckets it was put in.
 */
import type { Indexers } from './index-funcs.js';
import { deletionHandlingMetaNamespaceKeyFunc, type KeyFunc } from './keys.js';
import type { LabelSelector } from './label-selector.js';
import type { ReflectorStore } from './reflector-store.js';
import { ThreadSafeIndexer } from './thread-safe-store.js';
import type { DeepReadonly, KubeObject } from './types.js';

/**
 * What `listBySelector` needs of a {@link LabelSelector}: its requirements (to pick an index) and
 * its matcher (to check candidates). Every parsed `LabelSelector` is one.
 *
 * @example
 * ```ts
 * const sel: IndexableLabelSelector = parseLabelSelector('app=web,tier in (fe,be)');
 * indexer.listBySelector(sel, 'default');
 * ```
 */
export type IndexableLabelSelector = Pick<
  LabelSelector,
  'requirements' | 'matches' | 'isEverything' | 'isNothing'
>;

/**
 * A keyed cache of objects. All methods are synchronous; see the module comment for the
 * consistency and read-only contract.
 *
 * @example
 * ```ts
 * const store: Store<KubeObject> = createStore();
 * store.add({ metadata: { namespace: 'default', name: 'web' } });
 * store.getByKey('default/web');
 * ```
 */
export interface Store<T extends KubeObject> extends ReflectorStore<T> {
  /** Inserts or replaces the object under its key (an add of an existing key is an update). */
  add(obj: T): void;
  /** Inserts or replaces the object under its key. */
  update(obj: T): void;
  /** Removes the object with the same key, if present (only the key of `obj` matters). */
  delete(obj: T): void;
  /** Removes the object stored under `key`, returning it; for deletes known only by key (tombstones). */
  deleteByKey(key: string): T | undefined;
  /** The stored object with the same key as `obj`. */
  get(obj: T): T | undefined;
  /** The stored object with this key. */
  getByKey(key: string): T | undefined;
  /** All stored objects (a new array of the shared objects). */
  list(): T[];
  /** All keys. */
  listKeys(): string[];
  /** Number of stored objects. */
  readonly size: number;
  /**
   * Atomically replaces the whole contents with `items` (a relist at `resourceVersion`); indexes
   * are rebuilt before the new contents become visible. With duplicate keys the last one wins.
   */
  replace(items: readonly T[], resourceVersion: string): void;
  /**
   * A no-op for a plain store, kept for client-go parity: periodic resync is the informer's job
   * (it re-delivers what the store holds), the store itself has nothing to refresh.
   */
  resync(): void;
}

/**
 * A {@link Store} that also keeps named indexes.
 *
 * @example
 * ```ts
 * const indexer = createIndexer<KubeObject>({ indexers: { [NAMESPACE_INDEX]: namespaceIndexFunc } });
 * indexer.add(pod);
 * indexer.byIndex(NAMESPACE_INDEX, 'default');
 * ```
 */
export interface Indexer<T extends KubeObject> extends Store<T> {
  /**
   * Adds indexes; objects already stored are indexed at once. Throws
   * {@link IndexerConflictError} if a name is already taken (nothing is added then).
   */
  addIndexers(indexers: Indexers<T>): void;
  /** Stored objects sharing at least one value of index `indexName` with `obj` (deduplicated). */
  index(indexName: string, obj: T): T[];
  /** Keys of the stored objects indexed under `value`. */
  indexKeys(indexName: string, value: string): string[];
  /** Stored objects indexed under `value`. */
  byIndex(indexName: string, value: string): T[];
  /** The values of index `indexName` that currently have at least one object. */
  listIndexFuncValues(indexName: string): string[];
  /** The registered index functions by name (a frozen snapshot). */
  getIndexers(): Indexers<T>;
  /**
   * Objects matching `selector` (in `namespace`, when given and not `''`, which like client-go's
   * `NamespaceAll` means every namespace). Uses label indexes (built by `labelIndexFunc` or
   * `labelsIndexFunc`, under any name) for `=`/`in` requirements, starting from the smallest
   * candidate set and checking the full selector on each candidate; otherwise scans the
   * namespace bucket (with a namespace index) or everything.
   */
  listBySelector(selector: IndexableLabelSelector, namespace?: string): T[];
}

/**
 * The read side of an {@link Indexer}, handing objects out read-only: what an informer exposes
 * (`informer.getIndexer()`), since nothing but the informer may write its cache and cached objects
 * are shared by every reader. Every `Indexer<T>` is one.
 *
 * @example
 * ```ts
 * const onNode = informer.getIndexer().byIndex('byNode', 'node-1'); // DeepReadonly<Pod>[]
 * ```
 */
export interface ReadonlyIndexer<T extends KubeObject> {
  readonly size: number;
  /** The stored object with the same key as `obj`. */
  get(obj: T | DeepReadonly<T>): DeepReadonly<T> | undefined;
  getByKey(key: string): DeepReadonly<T> | undefined;
  list(): DeepReadonly<T>[];
  listKeys(): string[];
  index(indexName: string, obj: T | DeepReadonly<T>): DeepReadonly<T>[];
  indexKeys(indexName: string, value: string): string[];
  byIndex(indexName: string, value: string): DeepReadonly<T>[];
  listIndexFuncValues(indexName: string): string[];
  getIndexers(): Indexers<T>;
  listBySelector(selector: IndexableLabelSelector, namespace?: string): DeepReadonly<T>[];
}

/**
 * Options of {@link createIndexer} and {@link createStore}.
 *
 * @example
 * ```ts
 * createIndexer<KubeObject>({ keyFunc: (o) => o.metadata?.uid ?? '', freeze: true });
 * ```
 */
export interface IndexerOptions<T extends KubeObject> {
  /** Key of an object. Default: {@link deletionHandlingMetaNamespaceKeyFunc} (`ns/name`). */
  keyFunc?: KeyFunc<T>;
  /** Initial indexes. Default: none. */
  indexers?: Indexers<T>;
  /**
   * Deep-freeze every stored object so that mutating it throws (tests, dev mode). Default
   * `false`. Note that it freezes the caller's objects, which the store does not copy.
   */
  freeze?: boolean;
}

/**
 * Creates an indexed store.
 *
 * @example
 * ```ts
 * const indexer = createIndexer<KubeObject>({
 *   indexers: { [NAMESPACE_INDEX]: namespaceIndexFunc, [labelIndexName('app')]: labelIndexFunc('app') },
 * });
 * const items: KubeObject[] = [{ metadata: { namespace: 'default', name: 'web', labels: { app: 'web' } } }];
 * indexer.replace(items, '42');
 * indexer.byIndex(labelIndexName('app'), 'web');
 * ```
 */
export function createIndexer<T extends KubeObject>(options: IndexerOptions<T> = {}): Indexer<T> {
  return new ThreadSafeIndexer<T>({
    keyFunc: options.keyFunc ?? (deletionHandlingMetaNamespaceKeyFunc as KeyFunc<T>),
    indexers: options.indexers ?? {},
    freeze: options.freeze ?? false,
  });
}

/**
 * Creates a plain store (an indexer without indexes, typed as a {@link Store}).
 *
 * @example
 * ```ts
 * const store = createStore<KubeObject>();
 * store.add({ metadata: { name: 'node-1' } });
 * store.listKeys(); // ['node-1']
 * ```
 */
export function createStore<T extends KubeObject>(
  options: Omit<IndexerOptions<T>, 'indexers'> = {},
): Store<T> {
  return createIndexer<T>({ keyFunc: options.keyFunc, freeze: options.freeze });
}
