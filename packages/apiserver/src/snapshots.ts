/**
 * List snapshots: the state of one resource at a past resourceVersion, as a real server reads it
 * from etcd's MVCC history for a continue token or an exact-RV list.
 *
 * A snapshot is rebuilt from the current objects by undoing, newest first, the history events
 * after its RV (each event keeps the version it replaced). Stored versions are immutable and
 * shared, so a snapshot costs one map of references. Paging through a large list asks for the
 * same snapshot once per page: a small cache keeps the last few, which bounds the memory to a
 * handful of maps however many clients page.
 */
import type { StorageEvent, StoredObject } from './storage.js';

/** One resource's objects at one RV, with their keys in list (lexical) order. */
export interface Snapshot {
  readonly items: ReadonlyMap<string, StoredObject>;
  readonly keys: readonly string[];
}

/** How many snapshots are kept; enough for a few clients paging at once. */
const MAX_SNAPSHOTS = 4;

/**
 * The objects as they were before `later` (the events after the snapshot's RV, oldest first)
 * happened to `current`.
 */
export function rebuildSnapshot(
  current: ReadonlyMap<string, StoredObject>,
  later: readonly StorageEvent[],
): Snapshot {
  const items = new Map(current);
  for (let i = later.length - 1; i >= 0; i--) {
    const ev = later[i]!;
    if (ev.prev === undefined) items.delete(ev.object.key);
    else items.set(ev.prev.key, ev.prev);
  }
  return { items, keys: [...items.keys()].sort() };
}

/** A bounded, least-recently-used cache of snapshots by resource and RV. */
export class SnapshotCache {
  readonly #entries = new Map<string, Snapshot>();

  /** The snapshot of `resourceKey` at `rv`, built by `build` when not cached. */
  get(resourceKey: string, rv: number, build: () => Snapshot): Snapshot {
    const key = `${resourceKey}@${rv}`;
    let snapshot = this.#entries.get(key);
    if (snapshot !== undefined) {
      this.#entries.delete(key); // re-insert: most recently used last
    } else {
      snapshot = build();
      if (this.#entries.size >= MAX_SNAPSHOTS) {
        this.#entries.delete(this.#entries.keys().next().value!);
      }
    }
    this.#entries.set(key, snapshot);
    return snapshot;
  }

  /** Forgets every snapshot (the history they were built from is gone). */
  clear(): void {
    this.#entries.clear();
  }
}
