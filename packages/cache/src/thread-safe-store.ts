/**
 * The implementation behind `createIndexer` / `createStore` (see `store.ts` for the contract).
 *
 * Layout, chosen for the write path (an informer applies every watch event here):
 * - Objects live in entries. With the default `namespace/name` keys, entries are found through
 *   `Map<namespace, Map<name, Entry>>`: building the `ns/name` string for every write and hashing
 *   it (a fresh string each time, so V8 must flatten and hash it in the runtime) costs more than
 *   the rest of an update together; two lookups on the strings the object already carries are
 *   about twice as fast. Any other key function gets a flat `Map<key, Entry>`.
 * - An entry holds the object and, per index, the values it was indexed under when written.
 * - One `Map<value, Set<Entry>>` per index. Buckets hold entries rather than keys, so reads
 *   (`byIndex`, `listBySelector`) reach the objects without another lookup, and an update keeps
 *   the entry, so buckets need no touching when the indexed values don't change.
 *
 * An update computes the new values of every index first (so a throwing function changes
 * nothing), then per index leaves alone the buckets common to old and new values, leaves the
 * buckets only the old values name and joins those only the new values name. The old values
 * come from the entry, not from re-running the index function on the old object: that is
 * cheaper and immune to an old object mutated in place. (kubernetes #109115 was a variant of
 * "the buckets left are not exactly the buckets joined".) Empty buckets are deleted, so
 * `listIndexFuncValues` only names values with objects and churning values don't leak memory.
 *
 * Built-in single-valued index functions (namespace, one label key) are recognised and read
 * straight from the object as a string, without allocating the one-element array the public
 * function returns; results are identical.
 */
import type { IndexFunc, Indexers } from './index-funcs.js';
import { describeIndexFunc } from './index-funcs.js';
import {
  DeletedFinalStateUnknown,
  deletionHandlingMetaNamespaceKeyFunc,
  type KeyFunc,
  KeyError,
  metaNamespaceKeyFunc,
} from './keys.js';
import type { IndexableLabelSelector, Indexer } from './store.js';
import { IndexerConflictError, IndexNotFoundError, ReentrantWriteError } from './store-errors.js';
import type { KubeObject } from './types.js';

/**
 * What one index holds for one entry: the array its function returned, or, for a single-valued
 * built-in, the value itself (`undefined`: not indexed).
 */
type Slot = readonly string[] | string | undefined;

interface Entry<T> {
  /** The store key; computed on demand for namespace/name-addressed entries. */
  key: string | undefined;
  readonly namespace: string;
  readonly name: string;
  obj: T;
  /** `slots[i]`: the values of index `i` for `obj`. */
  slots: Slot[];
}

type Bucket<T> = Set<Entry<T>>;

interface IndexState<T> {
  readonly name: string;
  readonly fn: IndexFunc<T>;
  /** For single-valued built-ins: reads the value without allocating. */
  readonly single: ((obj: T) => string | undefined) | undefined;
  map: Map<string, Bucket<T>>;
}

const NO_SLOTS: Slot[] = [];
/** Above this many old x new comparisons, diff multi-valued index values through Sets. */
const LINEAR_DIFF_LIMIT = 64;

/** @internal Options after defaults. */
export interface ThreadSafeIndexerOptions<T> {
  keyFunc: KeyFunc<T>;
  indexers: Indexers<T>;
  freeze: boolean;
}

/**
 * The indexed store. Obtain one through `createIndexer`.
 *
 * @example
 * ```ts
 * const indexer = createIndexer<KubeObject>();
 * ```
 */
export class ThreadSafeIndexer<T extends KubeObject> implements Indexer<T> {
  readonly #keyFunc: KeyFunc<T>;
  readonly #freeze: boolean;
  /** `namespace -> name -> entry`, with the default key function; otherwise undefined. */
  #nested: Map<string, Map<string, Entry<T>>> | undefined;
  /** `key -> entry`, with a custom key function; otherwise undefined. */
  #flat: Map<string, Entry<T>> | undefined;
  #count = 0;
  #indexes: IndexState<T>[] = [];
  #positions = new Map<string, number>();
  /** Indexes `listBySelector` can use: label key -> position, a `key=value` one, a namespace one. */
  #labelIndex = new Map<string, number>();
  #labelsIndex = -1;
  #namespaceIndex = -1;
  /** Reused by every update to hold the new index values until the write commits. */
  #scratch: Slot[] = [];
  #writing = false;

  constructor(options: ThreadSafeIndexerOptions<T>) {
    this.#keyFunc = options.keyFunc;
    this.#freeze = options.freeze;
    const defaultKeys =
      options.keyFunc === (deletionHandlingMetaNamespaceKeyFunc as unknown) ||
      options.keyFunc === (metaNamespaceKeyFunc as unknown);
    if (defaultKeys) this.#nested = new Map();
    else this.#flat = new Map();
    this.addIndexers(options.indexers);
  }

  get size(): number {
    return this.#count;
  }

  add(obj: T): void {
    this.#write(obj);
  }

  update(obj: T): void {
    this.#write(obj);
  }

  #write(obj: T): void {
    if (this.#writing) throw new ReentrantWriteError();
    this.#writing = true;
    try {
      // Locate the entry. Key errors are thrown here, before anything changes.
      let entry: Entry<T> | undefined;
      let key: string | undefined;
      let namespace = '';
      let name = '';
      let byName: Map<string, Entry<T>> | undefined;
      const nested = this.#nested;
      if (nested !== undefined) {
        const meta = obj.metadata;
        const metaName = meta?.name;
        if (typeof metaName !== 'string' || metaName === '') keyFailure(obj);
        name = metaName;
        namespace = meta!.namespace || '';
        byName = nested.get(namespace);
        if (byName !== undefined) entry = byName.get(name);
      } else {
        key = this.#keyFunc(obj);
        entry = this.#flat!.get(key);
      }

      const indexes = this.#indexes;
      const n = indexes.length;
      if (entry === undefined) {
        const slots: Slot[] = n === 0 ? NO_SLOTS : new Array<Slot>(n);
        for (let i = 0; i < n; i++) {
          const index = indexes[i];
          slots[i] = index.single !== undefined ? index.single(obj) : index.fn(obj);
        }
        if (this.#freeze) deepFreeze(obj);
        // Commit: nothing below can throw.
        const created: Entry<T> = { key, namespace, name, obj, slots };
        if (nested !== undefined) {
          if (byName === undefined) nested.set(namespace, (byName = new Map()));
          byName.set(name, created);
        } else {
          this.#flat!.set(key!, created);
        }
        this.#count++;
        for (let i = 0; i < n; i++) join(indexes[i].map, slots[i], created);
        return;
      }

      const scratch = this.#scratch;
      for (let i = 0; i < n; i++) {
        const index = indexes[i];
        scratch[i] = index.single !== undefined ? index.single(obj) : index.fn(obj);
      }
      if (this.#freeze) deepFreeze(obj);
      // Commit: nothing below can throw.
      entry.obj = obj;
      const slots = entry.slots;
      for (let i = 0; i < n; i++) {
        const next = scratch[i];
        const prev = slots[i];
        // The common cases: a single value, unchanged. No bucket to touch.
        if (next === prev) continue;
        if (typeof next !== 'string' && next !== undefined && typeof prev !== 'string') {
          if (prev !== undefined && next.length === 1 && prev.length === 1 && next[0] === prev[0]) {
            continue;
          }
        }
        move(indexes[i].map, prev, next, entry);
        slots[i] = next;
      }
    } finally {
      this.#writing = false;
    }
  }

  delete(obj: T): void {
    if (this.#writing) throw new ReentrantWriteError();
    this.#writing = true;
    try {
      const entry = this.#find(obj);
      if (entry !== undefined) this.#remove(entry);
    } finally {
      this.#writing = false;
    }
  }

  /**
   * Removes the object stored under `key` and returns it (`undefined` if absent). Handy when a
   * delete arrives as a tombstone that only carries the key.
   *
   * @example
   * ```ts
   * indexer.deleteByKey('default/web');
   * ```
   */
  deleteByKey(key: string): T | undefined {
    if (this.#writing) throw new ReentrantWriteError();
    const entry = this.#findKey(key);
    if (entry === undefined) return undefined;
    this.#remove(entry);
    return entry.obj;
  }

  #find(obj: T): Entry<T> | undefined {
    const nested = this.#nested;
    if (nested === undefined) return this.#flat!.get(this.#keyFunc(obj));
    if (obj instanceof DeletedFinalStateUnknown) return this.#findKey(obj.key);
    const name = obj.metadata?.name;
    if (typeof name !== 'string' || name === '') keyFailure(obj);
    return nested.get(obj.metadata!.namespace || '')?.get(name);
  }

  #findKey(key: string): Entry<T> | undefined {
    const nested = this.#nested;
    if (nested === undefined) return this.#flat!.get(key);
    const slash = key.indexOf('/');
    if (slash === -1) return nested.get('')?.get(key);
    return nested.get(key.slice(0, slash))?.get(key.slice(slash + 1));
  }

  #remove(entry: Entry<T>): void {
    const indexes = this.#indexes;
    const slots = entry.slots;
    for (let i = 0; i < indexes.length; i++) leave(indexes[i].map, slots[i], entry);
    const nested = this.#nested;
    if (nested !== undefined) {
      const byName = nested.get(entry.namespace)!;
      byName.delete(entry.name);
      if (byName.size === 0) nested.delete(entry.namespace);
    } else {
      this.#flat!.delete(entry.key!);
    }
    this.#count--;
  }

  get(obj: T): T | undefined {
    return this.#find(obj)?.obj;
  }

  getByKey(key: string): T | undefined {
    return this.#findKey(key)?.obj;
  }

  list(): T[] {
    const out = new Array<T>(this.#count);
    let i = 0;
    if (this.#nested !== undefined) {
      for (const byName of this.#nested.values()) for (const e of byName.values()) out[i++] = e.obj;
    } else {
      for (const e of this.#flat!.values()) out[i++] = e.obj;
    }
    return out;
  }

  listKeys(): string[] {
    if (this.#flat !== undefined) return Array.from(this.#flat.keys());
    const out = new Array<string>(this.#count);
    let i = 0;
    for (const byName of this.#nested!.values())
      for (const e of byName.values()) out[i++] = keyOf(e);
    return out;
  }

  replace(items: readonly T[], _resourceVersion: string): void {
    if (this.#writing) throw new ReentrantWriteError();
    this.#writing = true;
    try {
      // Build the new contents and indexes aside and swap them in at the end: a throwing key or
      // index function leaves the store untouched, and nothing can observe a partial rebuild.
      const indexes = this.#indexes;
      const n = indexes.length;
      const maps: Map<string, Bucket<T>>[] = [];
      for (let i = 0; i < n; i++) maps.push(new Map());
      const nested =
        this.#nested !== undefined ? new Map<string, Map<string, Entry<T>>>() : undefined;
      const flat = nested === undefined ? new Map<string, Entry<T>>() : undefined;
      let count = 0;
      for (const obj of items) {
        let key: string | undefined;
        let namespace = '';
        let name = '';
        let byName: Map<string, Entry<T>> | undefined;
        let dup: Entry<T> | undefined;
        if (nested !== undefined) {
          const metaName = obj.metadata?.name;
          if (typeof metaName !== 'string' || metaName === '') keyFailure(obj);
          name = metaName;
          namespace = obj.metadata!.namespace || '';
          byName = nested.get(namespace);
          if (byName === undefined) nested.set(namespace, (byName = new Map()));
          dup = byName.get(name);
        } else {
          key = this.#keyFunc(obj);
          dup = flat!.get(key);
        }
        const slots: Slot[] = n === 0 ? NO_SLOTS : new Array<Slot>(n);
        for (let i = 0; i < n; i++) {
          const index = indexes[i];
          slots[i] = index.single !== undefined ? index.single(obj) : index.fn(obj);
        }
        if (dup !== undefined) {
          // The last duplicate wins; take the earlier one out of the new indexes.
          for (let i = 0; i < n; i++) leave(maps[i], dup.slots[i], dup);
          count--;
        }
        const entry: Entry<T> = { key, namespace, name, obj, slots };
        if (byName !== undefined) byName.set(name, entry);
        else flat!.set(key!, entry);
        count++;
        for (let i = 0; i < n; i++) join(maps[i], slots[i], entry);
      }
      if (this.#freeze) for (const obj of items) deepFreeze(obj);
      // Commit.
      this.#nested = nested;
      this.#flat = flat;
      this.#count = count;
      for (let i = 0; i < n; i++) indexes[i].map = maps[i];
    } finally {
      this.#writing = false;
    }
  }

  resync(): void {
    // Nothing to do: a store holds no pending work. Informers implement resync by re-delivering
    // what the store holds to their handlers.
  }

  #entries(): Entry<T>[] {
    if (this.#flat !== undefined) return Array.from(this.#flat.values());
    const out: Entry<T>[] = [];
    for (const byName of this.#nested!.values()) for (const e of byName.values()) out.push(e);
    return out;
  }

  addIndexers(indexers: Indexers<T>): void {
    if (this.#writing) throw new ReentrantWriteError();
    const names = Object.keys(indexers);
    const taken = names.filter((name) => this.#positions.has(name));
    if (taken.length > 0) throw new IndexerConflictError(taken);
    const added: IndexState<T>[] = names.map((name) => {
      const fn = indexers[name];
      if (typeof fn !== 'function') {
        throw new TypeError(`index function ${JSON.stringify(name)} is not a function`);
      }
      return { name, fn, single: singleValueReader(fn), map: new Map() };
    });
    if (added.length === 0) return;
    this.#writing = true;
    try {
      // Index what is already stored, aside, before registering anything.
      const entries = this.#entries();
      const newSlots: Slot[][] = new Array<Slot[]>(entries.length);
      for (let e = 0; e < entries.length; e++) {
        const entry = entries[e];
        const slots = added.map((index) =>
          index.single !== undefined ? index.single(entry.obj) : index.fn(entry.obj),
        );
        newSlots[e] = slots;
        for (let j = 0; j < slots.length; j++) join(added[j].map, slots[j], entry);
      }
      // Commit.
      for (let e = 0; e < entries.length; e++) {
        entries[e].slots = entries[e].slots.concat(newSlots[e]);
      }
      for (const index of added) {
        const position = this.#indexes.length;
        this.#indexes.push(index);
        this.#positions.set(index.name, position);
        const description = describeIndexFunc(index.fn);
        if (description?.kind === 'label' && !this.#labelIndex.has(description.labelKey)) {
          this.#labelIndex.set(description.labelKey, position);
        } else if (description?.kind === 'labels' && this.#labelsIndex < 0) {
          this.#labelsIndex = position;
        } else if (description?.kind === 'namespace' && this.#namespaceIndex < 0) {
          this.#namespaceIndex = position;
        }
      }
      this.#scratch = new Array<Slot>(this.#indexes.length);
    } finally {
      this.#writing = false;
    }
  }

  #index(indexName: string): IndexState<T> {
    const position = this.#positions.get(indexName);
    if (position === undefined) throw new IndexNotFoundError(indexName);
    return this.#indexes[position];
  }

  index(indexName: string, obj: T): T[] {
    const index = this.#index(indexName);
    const values = index.fn(obj);
    if (values.length === 1) return objectsOf(index.map.get(values[0]));
    const seen = new Set<Entry<T>>();
    for (const value of values) {
      const bucket = index.map.get(value);
      if (bucket !== undefined) for (const entry of bucket) seen.add(entry);
    }
    return objectsOf(seen);
  }

  indexKeys(indexName: string, value: string): string[] {
    const bucket = this.#index(indexName).map.get(value);
    if (bucket === undefined) return [];
    const out = new Array<string>(bucket.size);
    let i = 0;
    for (const entry of bucket) out[i++] = keyOf(entry);
    return out;
  }

  byIndex(indexName: string, value: string): T[] {
    return objectsOf(this.#index(indexName).map.get(value));
  }

  listIndexFuncValues(indexName: string): string[] {
    return Array.from(this.#index(indexName).map.keys());
  }

  getIndexers(): Indexers<T> {
    const out: Record<string, IndexFunc<T>> = {};
    for (const index of this.#indexes) out[index.name] = index.fn;
    return Object.freeze(out);
  }

  listBySelector(selector: IndexableLabelSelector, namespace?: string): T[] {
    if (selector.isNothing()) return [];
    const ns = namespace === undefined || namespace === '' ? undefined : namespace;
    // Candidate sources. The buckets of one source are disjoint (an object has one value per
    // label key, one namespace), so their sizes add up to the candidate count and candidates
    // need no deduplication. The smallest source wins; every candidate is then checked against
    // the whole selector, which is the intersection with every other requirement.
    let best: Iterable<Entry<T>>[] | undefined;
    let bestSize = Infinity;
    let bestIsNamespace = false;
    if (ns !== undefined) {
      // With namespace/name addressing the per-namespace map is a namespace index too.
      const bucket =
        this.#namespaceIndex >= 0
          ? this.#indexes[this.#namespaceIndex].map.get(ns)
          : this.#nested?.get(ns);
      if (bucket === undefined && (this.#namespaceIndex >= 0 || this.#nested !== undefined)) {
        return [];
      }
      if (bucket !== undefined) {
        best = [bucket.values()];
        bestSize = bucket.size;
        bestIsNamespace = true;
      }
    }
    for (const req of selector.requirements) {
      if (req.operator !== '=' && req.operator !== '==' && req.operator !== 'in') continue;
      const buckets = this.#labelBuckets(req.key, req.values);
      if (buckets === undefined) continue;
      let size = 0;
      for (const bucket of buckets) size += bucket.size;
      if (size === 0) return [];
      if (size < bestSize) {
        best = buckets;
        bestSize = size;
        bestIsNamespace = false;
      }
    }
    const everything = selector.isEverything();
    const out: T[] = [];
    const checkNamespace = ns !== undefined && !bestIsNamespace;
    const consider = (entry: Entry<T>): void => {
      const meta = entry.obj.metadata;
      if (checkNamespace && meta?.namespace !== ns) return;
      if (everything || selector.matches(meta?.labels)) out.push(entry.obj);
    };
    if (best !== undefined) {
      for (const source of best) for (const entry of source) consider(entry);
    } else if (this.#nested !== undefined) {
      for (const byName of this.#nested.values())
        for (const entry of byName.values()) consider(entry);
    } else {
      for (const entry of this.#flat!.values()) consider(entry);
    }
    return out;
  }

  /** The buckets of objects whose label `key` is one of `values`, if an index knows them. */
  #labelBuckets(key: string, values: readonly string[]): Bucket<T>[] | undefined {
    const position = this.#labelIndex.get(key);
    let map: Map<string, Bucket<T>>;
    let prefix: string | undefined;
    if (position !== undefined) {
      map = this.#indexes[position].map;
    } else if (this.#labelsIndex >= 0) {
      map = this.#indexes[this.#labelsIndex].map;
      prefix = `${key}=`;
    } else {
      return undefined;
    }
    const buckets: Bucket<T>[] = [];
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (values.indexOf(value) !== i) continue; // a repeated value names the same bucket
      const bucket = map.get(prefix === undefined ? value : prefix + value);
      if (bucket !== undefined) buckets.push(bucket);
    }
    return buckets;
  }
}

/** Throws the KeyError `metaNamespaceKeyFunc` gives for an object without a usable name. */
function keyFailure(obj: KubeObject): never {
  metaNamespaceKeyFunc(obj);
  throw new KeyError('cannot compute a store key: object has no metadata.name');
}

/** For built-in single-valued index functions, a reader returning the value itself. */
function singleValueReader<T extends KubeObject>(
  fn: IndexFunc<T>,
): ((obj: T) => string | undefined) | undefined {
  const description = describeIndexFunc(fn);
  if (description?.kind === 'namespace') return (obj) => obj.metadata?.namespace ?? '';
  if (description?.kind === 'label') {
    const labelKey = description.labelKey;
    return (obj) => {
      const value = obj.metadata?.labels?.[labelKey];
      return typeof value === 'string' ? value : undefined;
    };
  }
  return undefined;
}

function keyOf<T>(entry: Entry<T>): string {
  if (entry.key === undefined) {
    entry.key = entry.namespace === '' ? entry.name : `${entry.namespace}/${entry.name}`;
  }
  return entry.key;
}

function objectsOf<T>(bucket: Set<Entry<T>> | undefined): T[] {
  if (bucket === undefined) return [];
  const out = new Array<T>(bucket.size);
  let i = 0;
  for (const entry of bucket) out[i++] = entry.obj;
  return out;
}

function joinOne<T>(map: Map<string, Bucket<T>>, value: string, entry: Entry<T>): void {
  const bucket = map.get(value);
  if (bucket === undefined) map.set(value, new Set<Entry<T>>().add(entry));
  else bucket.add(entry);
}

function leaveOne<T>(map: Map<string, Bucket<T>>, value: string, entry: Entry<T>): void {
  const bucket = map.get(value);
  if (bucket === undefined) return; // a value listed twice: already left
  bucket.delete(entry);
  // Drop empty buckets: no phantom values, no memory kept for values that came and went.
  if (bucket.size === 0) map.delete(value);
}

function join<T>(map: Map<string, Bucket<T>>, slot: Slot, entry: Entry<T>): void {
  if (slot === undefined) return;
  if (typeof slot === 'string') return joinOne(map, slot, entry);
  for (let i = 0; i < slot.length; i++) joinOne(map, slot[i], entry);
}

function leave<T>(map: Map<string, Bucket<T>>, slot: Slot, entry: Entry<T>): void {
  if (slot === undefined) return;
  if (typeof slot === 'string') return leaveOne(map, slot, entry);
  for (let i = 0; i < slot.length; i++) leaveOne(map, slot[i], entry);
}

/** Moves `entry` from the buckets of `prev` to those of `next`, touching only what differs. */
function move<T>(map: Map<string, Bucket<T>>, prev: Slot, next: Slot, entry: Entry<T>): void {
  if (typeof prev !== 'object' || typeof next !== 'object') {
    // A single-valued index (or nothing on one side): both sides differ, see the caller.
    leave(map, prev, entry);
    join(map, next, entry);
    return;
  }
  if (prev.length * next.length <= LINEAR_DIFF_LIMIT) {
    for (let i = 0; i < prev.length; i++)
      if (!next.includes(prev[i])) leaveOne(map, prev[i], entry);
    for (let i = 0; i < next.length; i++) if (!prev.includes(next[i])) joinOne(map, next[i], entry);
    return;
  }
  const prevSet = new Set(prev);
  const nextSet = new Set(next);
  for (const value of prevSet) if (!nextSet.has(value)) leaveOne(map, value, entry);
  for (const value of nextSet) if (!prevSet.has(value)) joinOne(map, value, entry);
}

/**
 * Freezes `value` and everything reachable from it. Already-frozen subtrees are assumed to be
 * deeply frozen (objects from another frozen store, or re-added ones), which also stops cycles.
 */
function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  if (ArrayBuffer.isView(value)) return; // typed arrays with elements cannot be frozen
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}
