import type { KubeObject } from './types.js';

/**
 * What a reflector writes into: the plain {@link Store} satisfies it, and so does the informer's
 * delta sink, which applies each call to its indexer and fans the change out to handlers.
 * Every call is synchronous, so the write and its notification happen with no `await` between.
 */
export interface ReflectorStore<T extends KubeObject> {
  add(obj: T): void;
  update(obj: T): void;
  delete(obj: T): void;
  /**
   * Atomically replaces the whole contents with `items`, listed at `resourceVersion`. This is how
   * a reflector delivers a (re)list: once, with the complete state. A sink that notifies (the
   * informer's) diffs it against what it holds: an object that vanished becomes a delete carrying
   * a `DeletedFinalStateUnknown` tombstone (its final state was never observed), a new one an
   * add, a changed one an update.
   */
  replace(items: readonly T[], resourceVersion: string): void;
}
