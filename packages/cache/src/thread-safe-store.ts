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
 * - One `Map<value, Entry[]>` per index. Buckets hold entries rather than keys, so reads
 *   (`byIndex`, `listBySelector`) reach the objects without another lookup, and an update keeps
 *   the entry, so buckets need no touching when the indexed values don't change. Buckets are
 *   arrays, not Sets: each entry remembers its position in each of its buckets, so leaving one
 *   is a swap with the last element and a pop. (A Set of objects would make V8 create and look
 *   up an identity hash per entry, which made adds and deletes several times slower.)
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
  /** `slots[i]`: the values of index `i` for `obj` (multi-valued ones without duplicates). */
  slots: Slot[];
  /** `at[i]`: the position of this entry in the bucket of each value of `slots[i]`. */
  at: At[];
}

/** Bucket positions: a number for a single-valued slot (-1: none), one per value otherwise. */
type At = number | number[];

type Bucket<T> = Entry<T>[];

interface IndexState<T> {
  readonly name: string;
  readonly fn: IndexFunc<T>;
  /** For single-valued built-ins: reads the value without allocating. */
  readonly single: ((obj: T) => string | undefined) | undefined;
  map: Map<string, Bucket<T>>;
}

const NO_SLOTS: Slot[] = [];
const NO_AT: At[] = [];
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
  /**
   * `namespace -> name -> object`: the default keys and no index but namespace ones (the
   * informer's default). No entry per object at all: writes, deletes and scans cost what a
   * plain map of maps costs. The first maintained index moves the contents to `#nested`.
   */
  #direct: Map<string, Map<string, T>> | undefined;
  /** `namespace -> name -> entry`, with the default key function and maintained indexes. */
  #nested: Map<string, Map<string, Entry<T>>> | undefined;
  /** `key -> entry`, with a custom key function; otherwise undefined. */
  #flat: Map<string, Entry<T>> | undefined;
  #count = 0;
  #indexes: IndexState<T>[] = [];
  #positions = new Map<string, number>();
  /**
   * Namespace indexes answered by the `namespace -> name -> entry` maps themselves (default keys
   * only): they cost nothing per write and nothing per object.
   */
  #virtual = new Map<string, IndexFunc<T>>();
  /** Every index function by name, in the order added. */
  #fns = new Map<string, IndexFunc<T>>();
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
    if (defaultKeys) this.#direct = new Map();
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

  /**
   * Inserts or replaces `obj` and returns what was stored under its key before (`undefined` for
   * an insert): an update with one lookup instead of a `get` followed by an `update` (the
   * informer's write path).
   */
  upsert(obj: T): T | undefined {
    return this.#write(obj);
  }

  #write(obj: T): T | undefined {
    if (this.#writing) throw new ReentrantWriteError();
    const direct = this.#direct;
    if (direct !== undefined) {
      // Nothing below calls user code (no index function runs in this mode): no reentrancy
      // guard needed around it.
      const name = nameOf(obj);
      const namespace = namespaceOf(obj);
      let byName = direct.get(namespace);
      if (byName === undefined) direct.set(namespace, (byName = new Map()));
      if (this.#freeze) deepFreeze(obj);
      const previous = byName.get(name);
      byName.set(name, obj);
      if (previous === undefined) this.#count++;
      return previous;
    }
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
        name = nameOf(obj);
        namespace = namespaceOf(obj);
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
        for (let i = 0; i < n; i++) slots[i] = valuesOf(indexes[i], obj);
        if (this.#freeze) deepFreeze(obj);
        // Commit: nothing below can throw.
        const at: At[] = n === 0 ? NO_AT : new Array<At>(n);
        const created: Entry<T> = { key, namespace, name, obj, slots, at };
        if (nested !== undefined) {
          if (byName === undefined) nested.set(namespace, (byName = new Map()));
          byName.set(name, created);
        } else {
          this.#flat!.set(key!, created);
        }
        this.#count++;
        for (let i = 0; i < n; i++) at[i] = join(indexes[i].map, slots[i], created);
        return undefined;
      }
      const previous = entry.obj;

      const scratch = this.#scratch;
      for (let i = 0; i < n; i++) scratch[i] = valuesOf(indexes[i], obj);
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
        move(indexes[i].map, entry, i, next);
      }
      return previous;
    } finally {
      this.#writing = false;
    }
  }

  delete(obj: T): void {
    if (this.#writing) throw new ReentrantWriteError();
    const direct = this.#direct;
    if (direct !== undefined) {
      if (obj instanceof DeletedFinalStateUnknown) {
        this.deleteByKey(obj.key);
        return;
      }
      const name = nameOf(obj);
      this.#deleteDirect(direct, namespaceOf(obj), name);
      return;
    }
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
    const direct = this.#direct;
    if (direct !== undefined) {
      const slash = key.indexOf('/');
      return slash === -1
        ? this.#deleteDirect(direct, '', key)
        : this.#deleteDirect(direct, key.slice(0, slash), key.slice(slash + 1));
    }
    const entry = this.#findKey(key);
    if (entry === undefined) return undefined;
    this.#remove(entry);
    return entry.obj;
  }

  #deleteDirect(
    direct: Map<string, Map<string, T>>,
    namespace: string,
    name: string,
  ): T | undefined {
    const byName = direct.get(namespace);
    if (byName === undefined) return undefined;
    const previous = byName.get(name);
    if (previous === undefined) return undefined;
    byName.delete(name);
    if (byName.size === 0) direct.delete(namespace);
    this.#count--;
    return previous;
  }

  #find(obj: T): Entry<T> | undefined {
    const nested = this.#nested;
    if (nested === undefined) return this.#flat!.get(this.#keyFunc(obj));
    if (obj instanceof DeletedFinalStateUnknown) return this.#findKey(obj.key);
    const name = nameOf(obj);
    return nested.get(namespaceOf(obj))?.get(name);
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
    const at = entry.at;
    for (let i = 0; i < indexes.length; i++) leave(indexes[i].map, slots[i], at[i], entry, i);
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
    const direct = this.#direct;
    if (direct === undefined) return this.#find(obj)?.obj;
    if (obj instanceof DeletedFinalStateUnknown) return this.getByKey(obj.key);
    const name = nameOf(obj);
    return direct.get(namespaceOf(obj))?.get(name);
  }

  getByKey(key: string): T | undefined {
    const direct = this.#direct;
    if (direct === undefined) return this.#findKey(key)?.obj;
    const slash = key.indexOf('/');
    if (slash === -1) return direct.get('')?.get(key);
    return direct.get(key.slice(0, slash))?.get(key.slice(slash + 1));
  }

  list(): T[] {
    const out = new Array<T>(this.#count);
    let i = 0;
    if (this.#direct !== undefined) {
      for (const byName of this.#direct.values()) for (const o of byName.values()) out[i++] = o;
    } else if (this.#nested !== undefined) {
      for (const byName of this.#nested.values()) for (const e of byName.values()) out[i++] = e.obj;
    } else {
      for (const e of this.#flat!.values()) out[i++] = e.obj;
    }
    return out;
  }

  listKeys(): string[] {
    if (this.#flat !== undefined) return Array.from(this.#flat.keys());
    if (this.#direct !== undefined) {
      const out = new Array<string>(this.#count);
      let i = 0;
      for (const [namespace, byName] of this.#direct) {
        for (const name of byName.keys()) out[i++] = joinKey(namespace, name);
      }
      return out;
    }
    const out = new Array<string>(this.#count);
    let i = 0;
    for (const byName of this.#nested!.values())
      for (const e of byName.values()) out[i++] = keyOf(e);
    return out;
  }

  replace(items: readonly T[], _resourceVersion: string): void {
    if (this.#writing) throw new ReentrantWriteError();
    if (this.#direct !== undefined) {
      // Built aside and swapped in: a nameless object leaves the store untouched.
      const direct = new Map<string, Map<string, T>>();
      let count = 0;
      for (const obj of items) {
        const name = nameOf(obj);
        const namespace = namespaceOf(obj);
        let byName = direct.get(namespace);
        if (byName === undefined) direct.set(namespace, (byName = new Map()));
        const before = byName.size;
        byName.set(name, obj); // the last duplicate wins
        count += byName.size - before;
      }
      if (this.#freeze) for (const obj of items) deepFreeze(obj);
      this.#direct = direct;
      this.#count = count;
      return;
    }
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
          name = nameOf(obj);
          namespace = namespaceOf(obj);
          byName = nested.get(namespace);
          if (byName === undefined) nested.set(namespace, (byName = new Map()));
          dup = byName.get(name);
        } else {
          key = this.#keyFunc(obj);
          dup = flat!.get(key);
        }
        const slots: Slot[] = n === 0 ? NO_SLOTS : new Array<Slot>(n);
        for (let i = 0; i < n; i++) slots[i] = valuesOf(indexes[i], obj);
        if (dup !== undefined) {
          // The last duplicate wins; take the earlier one out of the new indexes.
          for (let i = 0; i < n; i++) leave(maps[i], dup.slots[i], dup.at[i], dup, i);
          count--;
        }
        const at: At[] = n === 0 ? NO_AT : new Array<At>(n);
        const entry: Entry<T> = { key, namespace, name, obj, slots, at };
        if (byName !== undefined) byName.set(name, entry);
        else flat!.set(key!, entry);
        count++;
        for (let i = 0; i < n; i++) at[i] = join(maps[i], slots[i], entry);
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
    const taken = names.filter((name) => this.#fns.has(name));
    if (taken.length > 0) throw new IndexerConflictError(taken);
    for (const name of names) {
      if (typeof indexers[name] !== 'function') {
        throw new TypeError(`index function ${JSON.stringify(name)} is not a function`);
      }
    }
    // With the default keys, namespace indexes are answered by the namespace maps (virtual).
    const defaultKeys = this.#flat === undefined;
    const virtual = names.filter(
      (name) => defaultKeys && describeIndexFunc(indexers[name])?.kind === 'namespace',
    );
    const added: IndexState<T>[] = names
      .filter((name) => !virtual.includes(name))
      .map((name) => ({
        name,
        fn: indexers[name],
        single: singleValueReader(indexers[name]),
        map: new Map(),
      }));
    const register = (): void => {
      for (const name of names) this.#fns.set(name, indexers[name]);
      for (const name of virtual) this.#virtual.set(name, indexers[name]);
    };
    if (added.length === 0) {
      register();
      return;
    }
    if (this.#direct !== undefined) {
      // The first maintained index: give every object its entry (nothing can throw here).
      const nested = new Map<string, Map<string, Entry<T>>>();
      for (const [namespace, byName] of this.#direct) {
        const entries = new Map<string, Entry<T>>();
        for (const [name, obj] of byName) {
          entries.set(name, { key: undefined, namespace, name, obj, slots: NO_SLOTS, at: NO_AT });
        }
        nested.set(namespace, entries);
      }
      this.#nested = nested;
      this.#direct = undefined;
    }
    this.#writing = true;
    try {
      // Index what is already stored, aside, before registering anything.
      // Positions are recorded against the index numbers the new indexes will get.
      const entries = this.#entries();
      const first = this.#indexes.length;
      const newSlots: Slot[][] = new Array<Slot[]>(entries.length);
      for (let e = 0; e < entries.length; e++) {
        const entry = entries[e];
        newSlots[e] = added.map((index) => valuesOf(index, entry.obj));
      }
      // Commit (nothing below can throw).
      for (let e = 0; e < entries.length; e++) {
        const entry = entries[e];
        entry.slots = entry.slots.concat(newSlots[e]);
        entry.at = entry.at.concat(new Array<At>(added.length));
        for (let j = 0; j < added.length; j++) {
          entry.at[first + j] = join(added[j].map, newSlots[e][j], entry);
        }
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
      register();
    } finally {
      this.#writing = false;
    }
  }

  #index(indexName: string): IndexState<T> {
    const position = this.#positions.get(indexName);
    if (position === undefined) throw new IndexNotFoundError(indexName);
    return this.#indexes[position];
  }

  /** The objects of namespace `ns` (a virtual namespace index's bucket). */
  #inNamespace(ns: string): T[] {
    const direct = this.#direct;
    if (direct !== undefined) {
      const objects = direct.get(ns);
      if (objects === undefined) return [];
      const out = new Array<T>(objects.size);
      let i = 0;
      for (const obj of objects.values()) out[i++] = obj;
      return out;
    }
    const byName = this.#nested!.get(ns);
    if (byName === undefined) return [];
    const out = new Array<T>(byName.size);
    let i = 0;
    for (const e of byName.values()) out[i++] = e.obj;
    return out;
  }

  index(indexName: string, obj: T): T[] {
    const virtual = this.#virtual.get(indexName);
    if (virtual !== undefined) {
      const values = virtual(obj);
      if (values.length === 1) return this.#inNamespace(values[0]);
      // Namespaces are disjoint: distinct values need no deduplication of objects.
      return [...new Set(values)].flatMap((ns) => this.#inNamespace(ns));
    }
    const index = this.#index(indexName);
    const values = index.fn(obj);
    if (values.length === 1) return objectsOf(index.map.get(values[0]));
    if (values.length === 0) return [];
    const seen = new Set<Entry<T>>();
    for (const value of values) {
      const bucket = index.map.get(value);
      if (bucket !== undefined) for (const entry of bucket) seen.add(entry);
    }
    return objectsOf(seen);
  }

  indexKeys(indexName: string, value: string): string[] {
    if (this.#virtual.has(indexName)) {
      const direct = this.#direct;
      if (direct !== undefined) {
        const objects = direct.get(value);
        if (objects === undefined) return [];
        return Array.from(objects.keys(), (name) => joinKey(value, name));
      }
      const byName = this.#nested!.get(value);
      return byName === undefined ? [] : Array.from(byName.values(), keyOf);
    }
    const bucket = this.#index(indexName).map.get(value);
    if (bucket === undefined) return [];
    const out = new Array<string>(bucket.length);
    for (let i = 0; i < bucket.length; i++) out[i] = keyOf(bucket[i]);
    return out;
  }

  byIndex(indexName: string, value: string): T[] {
    if (this.#virtual.has(indexName)) return this.#inNamespace(value);
    return objectsOf(this.#index(indexName).map.get(value));
  }

  listIndexFuncValues(indexName: string): string[] {
    if (this.#virtual.has(indexName)) return Array.from((this.#direct ?? this.#nested!).keys());
    return Array.from(this.#index(indexName).map.keys());
  }

  getIndexers(): Indexers<T> {
    const out: Record<string, IndexFunc<T>> = {};
    for (const [name, fn] of this.#fns) out[name] = fn;
    return Object.freeze(out);
  }

  listBySelector(selector: IndexableLabelSelector, namespace?: string): T[] {
    if (selector.isNothing()) return [];
    const ns = namespace === undefined || namespace === '' ? undefined : namespace;
    const direct = this.#direct;
    if (direct !== undefined) {
      // No label index in this mode: scan the namespace's objects, or all of them.
      const out: T[] = [];
      if (ns !== undefined) {
        const objects = direct.get(ns);
        if (objects !== undefined) scanObjects(objects, selector, out);
      } else {
        for (const objects of direct.values()) scanObjects(objects, selector, out);
      }
      return out;
    }
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
        best = [Array.isArray(bucket) ? bucket : bucket.values()];
        bestSize = Array.isArray(bucket) ? bucket.length : bucket.size;
        bestIsNamespace = true;
      }
    }
    for (const req of selector.requirements) {
      if (req.operator !== '=' && req.operator !== 'in') continue;
      const buckets = this.#labelBuckets(req.key, req.values);
      if (buckets === undefined) continue;
      let size = 0;
      for (const bucket of buckets) size += bucket.length;
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
    // The loops are spelled out (no shared callback) because the full scan is the slow path
    // every unindexed query takes, and it is bound by touching each object once.
    if (best !== undefined) {
      for (const source of best) {
        for (const entry of source) {
          const obj = entry.obj;
          const meta = obj.metadata;
          if (checkNamespace && meta?.namespace !== ns) continue;
          if (everything || selector.matches(meta?.labels)) out.push(obj);
        }
      }
    } else if (this.#nested !== undefined) {
      for (const byName of this.#nested.values()) {
        for (const entry of byName.values()) {
          const obj = entry.obj;
          const meta = obj.metadata;
          if (checkNamespace && meta?.namespace !== ns) continue;
          if (everything || selector.matches(meta?.labels)) out.push(obj);
        }
      }
    } else {
      for (const entry of this.#flat!.values()) {
        const obj = entry.obj;
        const meta = obj.metadata;
        if (checkNamespace && meta?.namespace !== ns) continue;
        if (everything || selector.matches(meta?.labels)) out.push(obj);
      }
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

/** Appends the objects of `objects` that `selector` matches to `out` (the full-scan loop). */
function scanObjects<T extends KubeObject>(
  objects: Map<string, T>,
  selector: IndexableLabelSelector,
  out: T[],
): void {
  if (selector.isEverything()) {
    for (const obj of objects.values()) out.push(obj);
    return;
  }
  for (const obj of objects.values()) if (selector.matches(obj.metadata?.labels)) out.push(obj);
}

/** The default key of an object in `namespace` named `name` (`name` alone when cluster-scoped). */
function joinKey(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}

/** `metadata.name`; throws the KeyError `metaNamespaceKeyFunc` gives when it is missing or empty. */
function nameOf(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') keyFailure(obj);
  return name;
}

/** `metadata.namespace`, `''` for a cluster-scoped object (call after {@link nameOf}). */
function namespaceOf(obj: KubeObject): string {
  return obj.metadata!.namespace || '';
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

/** The entry's key; built on demand (not kept: a key string per object would cost memory). */
function keyOf<T>(entry: Entry<T>): string {
  return entry.key ?? joinKey(entry.namespace, entry.name);
}

/** What an index holds for `obj`: a single value, or the function's values without repeats. */
function valuesOf<T>(index: IndexState<T>, obj: T): Slot {
  if (index.single !== undefined) return index.single(obj);
  const values = index.fn(obj);
  return values.length > 1 ? distinct(values) : values;
}

function distinct(values: readonly string[]): readonly string[] {
  if (values.length <= 8) {
    for (let i = 1; i < values.length; i++) {
      if (values.lastIndexOf(values[i], i - 1) !== -1) return [...new Set(values)];
    }
    return values;
  }
  const set = new Set(values);
  return set.size === values.length ? values : [...set];
}

function objectsOf<T>(bucket: Bucket<T> | Set<Entry<T>> | undefined): T[] {
  if (bucket === undefined) return [];
  if (Array.isArray(bucket)) {
    const out = new Array<T>(bucket.length);
    for (let i = 0; i < bucket.length; i++) out[i] = bucket[i].obj;
    return out;
  }
  const out = new Array<T>(bucket.size);
  let i = 0;
  for (const entry of bucket) out[i++] = entry.obj;
  return out;
}

/** Appends `entry` to the bucket of `value`; returns its position there. */
function joinOne<T>(map: Map<string, Bucket<T>>, value: string, entry: Entry<T>): number {
  const bucket = map.get(value);
  if (bucket === undefined) {
    map.set(value, [entry]);
    return 0;
  }
  return bucket.push(entry) - 1;
}

/**
 * Takes `entry` out of the bucket of `value`, where it sits at `position`, by moving the last
 * entry into its place (and telling that entry, for index `index`, its new position).
 */
function leaveOne<T>(
  map: Map<string, Bucket<T>>,
  value: string,
  entry: Entry<T>,
  position: number,
  index: number,
): void {
  const bucket = map.get(value)!;
  const last = bucket.pop()!;
  if (last !== entry) {
    bucket[position] = last;
    const at = last.at[index];
    if (typeof at === 'number') last.at[index] = position;
    else at[(last.slots[index] as readonly string[]).indexOf(value)] = position;
  }
  // Drop empty buckets: no phantom values, no memory kept for values that came and went.
  if (bucket.length === 0) map.delete(value);
}

function join<T>(map: Map<string, Bucket<T>>, slot: Slot, entry: Entry<T>): At {
  if (slot === undefined) return -1;
  if (typeof slot === 'string') return joinOne(map, slot, entry);
  const at = new Array<number>(slot.length);
  for (let k = 0; k < slot.length; k++) at[k] = joinOne(map, slot[k], entry);
  return at;
}

function leave<T>(
  map: Map<string, Bucket<T>>,
  slot: Slot,
  at: At,
  entry: Entry<T>,
  index: number,
): void {
  if (slot === undefined) return;
  if (typeof slot === 'string') return leaveOne(map, slot, entry, at as number, index);
  const positions = at as number[];
  for (let k = 0; k < slot.length; k++) leaveOne(map, slot[k], entry, positions[k], index);
}

/**
 * Moves `entry` (index `index`) from the buckets of its current values to those of `next`,
 * leaving only the buckets `next` doesn't name and joining only those it adds.
 */
function move<T>(map: Map<string, Bucket<T>>, entry: Entry<T>, index: number, next: Slot): void {
  const prev = entry.slots[index];
  if (typeof prev !== 'object' || typeof next !== 'object') {
    // Single-valued (or nothing on one side), and the caller saw the value change.
    leave(map, prev, entry.at[index], entry, index);
    entry.slots[index] = next;
    entry.at[index] = join(map, next, entry);
    return;
  }
  // Multi-valued: both arrays are free of repeats. Leaving a bucket only moves other entries,
  // so the positions of the values kept stay valid.
  const prevAt = entry.at[index] as number[];
  const nextAt = new Array<number>(next.length);
  const linear = prev.length * next.length <= LINEAR_DIFF_LIMIT;
  const nextSet = linear ? undefined : new Set(next);
  const prevIndex = linear ? undefined : new Map(prev.map((value, k) => [value, k]));
  for (let k = 0; k < prev.length; k++) {
    if (!(nextSet === undefined ? next.includes(prev[k]) : nextSet.has(prev[k]))) {
      leaveOne(map, prev[k], entry, prevAt[k], index);
    }
  }
  for (let k = 0; k < next.length; k++) {
    const kept = prevIndex === undefined ? prev.indexOf(next[k]) : (prevIndex.get(next[k]) ?? -1);
    nextAt[k] = kept !== -1 ? prevAt[kept] : joinOne(map, next[k], entry);
  }
  entry.slots[index] = next;
  entry.at[index] = nextAt;
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
