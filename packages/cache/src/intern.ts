/**
 * Opt-in heap compaction of cached objects: repeated strings and empty objects shared.
 *
 * `JSON.parse` gives every object its own copy of every string value longer than 10 characters
 * (V8 shares property names and shorter values): 100k ConfigMaps hold 100k copies of a long
 * namespace name, of each long label value, of every `managedFields` manager and timestamp. {@link internStrings} returns a transform that replaces each short string
 * value by one canonical copy, and every empty `{}` (the leaves of `managedFields` field sets)
 * by one frozen shared object, so a cache of similar objects costs less than the bytes it parsed.
 * The price is one walk of each object as it arrives (measured in `npm run bench`).
 *
 * The canonical copies live in a table bounded by `maxEntries`: when full it starts over (objects
 * already cached keep their strings; only the sharing of new arrivals with old ones is lost), so
 * unique values (uids, resourceVersions are skipped anyway) cannot grow it without bound.
 *
 * @module
 */
import type { KubeObject } from './types.js';

/**
 * Options of {@link internStrings}.
 *
 * @example
 * ```ts
 * const transform = internStrings({ maxLength: 64, skipKeys: ['uid', 'resourceVersion', 'name'] });
 * ```
 */
export interface InternOptions {
  /** Longer strings are left alone (long values rarely repeat). Default 128. */
  readonly maxLength?: number;
  /** Distinct strings the table keeps before it starts over. Default 100 000. */
  readonly maxEntries?: number;
  /** Values under these property names are never interned (unique per object). Default `uid`, `resourceVersion`. */
  readonly skipKeys?: readonly string[];
  /** Share one frozen `{}` for every empty object. Default true. */
  readonly shareEmptyObjects?: boolean;
}

const SHARED_EMPTY: Readonly<Record<string, never>> = Object.freeze({});

/**
 * A transform (for `SharedIndexInformer`'s or the factory's `transform` option) that interns the
 * short string values of each object and shares empty objects, in place. Objects it returns are
 * meant to be read only, as everything in the cache: the shared `{}` is frozen.
 *
 * @example
 * ```ts
 * const informer = new SharedIndexInformer<ConfigMap>({ listerWatcher, transform: internStrings() });
 * // With managedFields dropped as well:
 * const compact = internStrings();
 * const transform = (cm: ConfigMap) => compact(stripManagedFields(cm));
 * ```
 */
export function internStrings<T extends KubeObject>(options: InternOptions = {}): (obj: T) => T {
  const maxLength = options.maxLength ?? 128;
  const maxEntries = options.maxEntries ?? 100_000;
  const skip = new Set(options.skipKeys ?? ['uid', 'resourceVersion']);
  const shareEmpty = options.shareEmptyObjects ?? true;
  const table = new Map<string, string>();

  const intern = (s: string): string => {
    const canonical = table.get(s);
    if (canonical !== undefined) return canonical;
    if (table.size >= maxEntries) table.clear();
    table.set(s, s);
    return s;
  };

  const compactValue = (value: unknown, key: string): unknown => {
    if (typeof value === 'string') {
      return value.length <= maxLength && !skip.has(key) ? intern(value) : value;
    }
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = compactValue(value[i], key);
      return value;
    }
    const record = value as Record<string, unknown>;
    let empty = true;
    for (const k in record) {
      empty = false;
      record[k] = compactValue(record[k], k);
    }
    return empty && shareEmpty && Object.getPrototypeOf(record) === Object.prototype
      ? SHARED_EMPTY
      : record;
  };

  return (obj: T): T => compactValue(obj, '') as T;
}
