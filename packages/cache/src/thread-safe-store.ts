/**
 * The implementation behind `createIndexer` / `createStore` (see `store.ts` for the contract).
 *
 * Layout, chosen for the write path (an informer applies every watch event here):
 * - `items: Map<key, Entry>`; an entry holds the object and, per index, the values the object
 *   was indexed under when it was written.
 * - one `Map<value, Set<Entry>>` per index. Buckets hold entries rather than keys, so reads
 *   (`byIndex`, `listBySelector`) go straight to the objects without a second map lookup, and an
 *   update that keeps the key keeps the entry, so buckets need no touching when values don't
 *   change.
 *
 * An update computes the new values of every index, then, per index, leaves the buckets common
 * to old and new values alone, leaves the buckets only the old values name, and joins the ones
 * only the new values name. The old values come from the entry, not from re-running the index
 * function on the old object: that is both cheaper and immune to an old object mutated in place,
 * the way client-go's indexes got corrupted (kubernetes #109115 was a variant of "the old
 * buckets are not exactly the ones left"). Empty buckets are deleted, so
 * `listIndexFuncValues` only names values that have objects and high-churn values don't leak.
 */
import type { IndexFunc, Indexers } from './index-funcs.js';
import { describeIndexFunc } from './index-funcs.js';
import type { KeyFunc } from './keys.js';
import type { IndexableLabelSelector, Indexer } from './store.js';
import { IndexerConflictError, IndexNotFoundError, ReentrantWriteError } from './store-errors.js';
import type { KubeObject } from './types.js';

interface Entry<T> {
  readonly key: string;
  obj: T;
  /** `vals[i]`: what index `i` returned for `obj`. */
  vals: (readonly string[])[];
}

type Bucket<T> = Set<Entry<T>>;
type Index<T> = Map<string, Bucket<T>>;

const NO_VALUES: (readonly string[])[] = [];
/** Above this many old x new comparisons, diff index values through a Set. */
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
  #keyFunc: KeyFunc<T>;
  #freeze: boolean;
  #items = new Map<string, Entry<T>>();
  #names: string[] = [];
  #funcs: IndexFunc<T>[] = [];
  #indices: Index<T>[] = [];
  #positions = new Map<string, number>();
  /** Positions of the indexes `listBySelector` can use: label key -> index, and `key=value` ones. */
  #labelIndex = new Map<string, number>();
  #labelsIndex = -1;
  #namespaceIndex = -1;
  /** Reused per update to hold new index values until the write commits. */
  #scratch: (readonly string[])[] = [];
  #writing = false;

  constructor(options: ThreadSafeIndexerOptions<T>) {
    this.#keyFunc = options.keyFunc;
    this.#freeze = options.freeze;
    this.addIndexers(options.indexers);
  }

  get size(): number {
    return this.#items.size;
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
      const key = this.#keyFunc(obj);
      const funcs = this.#funcs;
      const n = funcs.length;
      const entry = this.#items.get(key);
      if (entry === undefined) {
        const vals: (readonly string[])[] = n === 0 ? NO_VALUES : [];
        for (let i = 0; i < n; i++) vals.push(funcs[i](obj));
        if (this.#freeze) deepFreeze(obj);
        const created: Entry<T> = { key, obj, vals };
        this.#items.set(key, created);
        for (let i = 0; i < n; i++) addToBuckets(this.#indices[i], vals[i], created);
        return;
      }
      const scratch = this.#scratch;
      for (let i = 0; i < n; i++) scratch[i] = funcs[i](obj);
      if (this.#freeze) deepFreeze(obj);
      // Commit: nothing below can throw.
      entry.obj = obj;
      const vals = entry.vals;
      for (let i = 0; i < n; i++) {
        const next = scratch[i];
        const prev = vals[i];
        // The common case: one value, unchanged. No bucket to touch.
        if (next.length === 1 && prev.length === 1 && next[0] === prev[0]) continue;
        moveBuckets(this.#indices[i], prev, next, entry);
        vals[i] = next;
      }
    } finally {
      this.#writing = false;
    }
  }

  delete(obj: T): void {
    if (this.#writing) throw new ReentrantWriteError();
    this.#writing = true;
    try {
      this.#deleteKey(this.#keyFunc(obj));
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
    return this.#deleteKey(key);
  }

  #deleteKey(key: string): T | undefined {
    const entry = this.#items.get(key);
    if (entry === undefined) return undefined;
    const indices = this.#indices;
    const vals = entry.vals;
    for (let i = 0; i < indices.length; i++) removeFromBuckets(indices[i], vals[i], entry);
    this.#items.delete(key);
    return entry.obj;
  }

  get(obj: T): T | undefined {
    return this.#items.get(this.#keyFunc(obj))?.obj;
  }

  getByKey(key: string): T | undefined {
    return this.#items.get(key)?.obj;
  }

  list(): T[] {
    const out = new Array<T>(this.#items.size);
    let i = 0;
    for (const entry of this.#items.values()) out[i++] = entry.obj;
    return out;
  }

  listKeys(): string[] {
    return Array.from(this.#items.keys());
  }

  replace(items: readonly T[], _resourceVersion: string): void {
    if (this.#writing) throw new ReentrantWriteError();
    this.#writing = true;
    try {
      // Build the new contents and indexes aside and swap them in at the end: a throwing key or
      // index function leaves the store untouched, and nothing observes a partial rebuild.
      const funcs = this.#funcs;
      const n = funcs.length;
      const nextItems = new Map<string, Entry<T>>();
      const nextIndices: Index<T>[] = [];
      for (let i = 0; i < n; i++) nextIndices.push(new Map());
      for (const obj of items) {
        const key = this.#keyFunc(obj);
        const vals: (readonly string[])[] = n === 0 ? NO_VALUES : [];
        for (let i = 0; i < n; i++) vals.push(funcs[i](obj));
        const dup = nextItems.get(key);
        if (dup !== undefined) {
          for (let i = 0; i < n; i++) removeFromBuckets(nextIndices[i], dup.vals[i], dup);
        }
        const entry: Entry<T> = { key, obj, vals };
        nextItems.set(key, entry);
        for (let i = 0; i < n; i++) addToBuckets(nextIndices[i], vals[i], entry);
      }
      if (this.#freeze) for (const obj of items) deepFreeze(obj);
      this.#items = nextItems;
      this.#indices = nextIndices;
    } finally {
      this.#writing = false;
    }
  }

  resync(): void {
    // Nothing to do: a store holds no pending work. Informers implement resync by re-delivering
    // what the store holds to their handlers.
  }

  addIndexers(indexers: Indexers<T>): void {
    if (this.#writing) throw new ReentrantWriteError();
    const names = Object.keys(indexers);
    const taken = names.filter((name) => this.#positions.has(name));
    if (taken.length > 0) throw new IndexerConflictError(taken);
    const funcs = names.map((name) => {
      const fn = indexers[name];
      if (typeof fn !== 'function') {
        throw new TypeError(`index function ${JSON.stringify(name)} is not a function`);
      }
      return fn;
    });
    if (names.length === 0) return;
    this.#writing = true;
    try {
      // Index what is already stored, aside, before registering anything.
      const entries = Array.from(this.#items.values());
      const added: (readonly string[])[][] = new Array(entries.length);
      const newIndices: Index<T>[] = funcs.map(() => new Map());
      for (let e = 0; e < entries.length; e++) {
        const entry = entries[e];
        const vals = funcs.map((fn) => fn(entry.obj));
        added[e] = vals;
        for (let j = 0; j < vals.length; j++) addToBuckets(newIndices[j], vals[j], entry);
      }
      for (let e = 0; e < entries.length; e++) entries[e].vals = entries[e].vals.concat(added[e]);
      for (let j = 0; j < names.length; j++) {
        const position = this.#names.length;
        this.#names.push(names[j]);
        this.#funcs.push(funcs[j]);
        this.#indices.push(newIndices[j]);
        this.#positions.set(names[j], position);
        const description = describeIndexFunc(funcs[j]);
        if (description?.kind === 'label' && !this.#labelIndex.has(description.labelKey)) {
          this.#labelIndex.set(description.labelKey, position);
        } else if (description?.kind === 'labels' && this.#labelsIndex < 0) {
          this.#labelsIndex = position;
        } else if (description?.kind === 'namespace' && this.#namespaceIndex < 0) {
          this.#namespaceIndex = position;
        }
      }
      this.#scratch = new Array(this.#funcs.length);
    } finally {
      this.#writing = false;
    }
  }

  #position(indexName: string): number {
    const position = this.#positions.get(indexName);
    if (position === undefined) throw new IndexNotFoundError(indexName);
    return position;
  }

  index(indexName: string, obj: T): T[] {
    const position = this.#position(indexName);
    const values = this.#funcs[position](obj);
    const index = this.#indices[position];
    if (values.length === 1) return objectsOf(index.get(values[0]));
    const seen = new Set<Entry<T>>();
    for (const value of values) {
      const bucket = index.get(value);
      if (bucket !== undefined) for (const entry of bucket) seen.add(entry);
    }
    return objectsOf(seen);
  }

  indexKeys(indexName: string, value: string): string[] {
    const bucket = this.#indices[this.#position(indexName)].get(value);
    if (bucket === undefined) return [];
    const out = new Array<string>(bucket.size);
    let i = 0;
    for (const entry of bucket) out[i++] = entry.key;
    return out;
  }

  byIndex(indexName: string, value: string): T[] {
    return objectsOf(this.#indices[this.#position(indexName)].get(value));
  }

  listIndexFuncValues(indexName: string): string[] {
    return Array.from(this.#indices[this.#position(indexName)].keys());
  }

  getIndexers(): Indexers<T> {
    const out: Record<string, IndexFunc<T>> = {};
    for (let i = 0; i < this.#names.length; i++) out[this.#names[i]] = this.#funcs[i];
    return Object.freeze(out);
  }

  listBySelector(selector: IndexableLabelSelector, namespace?: string): T[] {
    if (selector.isNothing()) return [];
    const ns = namespace === undefined || namespace === '' ? undefined : namespace;
    // Candidate sources: every bucket of the chosen source is disjoint from the others, so
    // their sizes add up to the number of candidates and no deduplication is needed.
    let best: Bucket<T>[] | undefined;
    let bestSize = Infinity;
    let bestIsNamespace = false;
    if (ns !== undefined && this.#namespaceIndex >= 0) {
      const bucket = this.#indices[this.#namespaceIndex].get(ns);
      if (bucket === undefined) return [];
      best = [bucket];
      bestSize = bucket.size;
      bestIsNamespace = true;
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
    if (best === undefined) {
      for (const entry of this.#items.values()) {
        const meta = entry.obj.metadata;
        if (ns !== undefined && meta?.namespace !== ns) continue;
        if (everything || selector.matches(meta?.labels)) out.push(entry.obj);
      }
      return out;
    }
    const checkNamespace = ns !== undefined && !bestIsNamespace;
    for (const bucket of best) {
      for (const entry of bucket) {
        const meta = entry.obj.metadata;
        if (checkNamespace && meta?.namespace !== ns) continue;
        if (everything || selector.matches(meta?.labels)) out.push(entry.obj);
      }
    }
    return out;
  }

  /** The buckets holding objects whose label `key` is one of `values`, if an index knows. */
  #labelBuckets(key: string, values: readonly string[]): Bucket<T>[] | undefined {
    const position = this.#labelIndex.get(key);
    let index: Index<T>;
    let prefix: string | undefined;
    if (position !== undefined) {
      index = this.#indices[position];
    } else if (this.#labelsIndex >= 0) {
      index = this.#indices[this.#labelsIndex];
      prefix = key + '=';
    } else {
      return undefined;
    }
    const buckets: Bucket<T>[] = [];
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (values.indexOf(value) !== i) continue; // a repeated value names the same bucket
      const bucket = index.get(prefix === undefined ? value : prefix + value);
      if (bucket !== undefined) buckets.push(bucket);
    }
    return buckets;
  }
}

function objectsOf<T>(bucket: Set<Entry<T>> | undefined): T[] {
  if (bucket === undefined) return [];
  const out = new Array<T>(bucket.size);
  let i = 0;
  for (const entry of bucket) out[i++] = entry.obj;
  return out;
}

function addToBuckets<T>(index: Index<T>, values: readonly string[], entry: Entry<T>): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const bucket = index.get(value);
    if (bucket === undefined) index.set(value, new Set([entry]));
    else bucket.add(entry);
  }
}

function removeFromBuckets<T>(index: Index<T>, values: readonly string[], entry: Entry<T>): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const bucket = index.get(value);
    if (bucket === undefined) continue; // a value listed twice: already removed
    bucket.delete(entry);
    // Drop empty buckets: no phantom values, no memory kept for values that came and went.
    if (bucket.size === 0) index.delete(value);
  }
}

/** Moves `entry` from the buckets of `prev` to those of `next`, touching only what differs. */
function moveBuckets<T>(
  index: Index<T>,
  prev: readonly string[],
  next: readonly string[],
  entry: Entry<T>,
): void {
  if (prev.length * next.length <= LINEAR_DIFF_LIMIT) {
    for (let i = 0; i < prev.length; i++) {
      const value = prev[i];
      if (next.includes(value)) continue;
      const bucket = index.get(value);
      if (bucket === undefined) continue;
      bucket.delete(entry);
      if (bucket.size === 0) index.delete(value);
    }
    for (let i = 0; i < next.length; i++) {
      const value = next[i];
      if (prev.includes(value)) continue;
      const bucket = index.get(value);
      if (bucket === undefined) index.set(value, new Set([entry]));
      else bucket.add(entry);
    }
    return;
  }
  const prevSet = new Set(prev);
  const nextSet = new Set(next);
  for (const value of prevSet) {
    if (nextSet.has(value)) continue;
    const bucket = index.get(value);
    if (bucket === undefined) continue;
    bucket.delete(entry);
    if (bucket.size === 0) index.delete(value);
  }
  for (const value of nextSet) {
    if (prevSet.has(value)) continue;
    const bucket = index.get(value);
    if (bucket === undefined) index.set(value, new Set([entry]));
    else bucket.add(entry);
  }
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
