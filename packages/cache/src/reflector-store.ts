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
  /**
   * Optional: a replace delivered page by page, which a reflector uses for a paged *re*list, so
   * that the store never holds the old contents and the complete new list at once (a relist of
   * 100k objects would otherwise peak at twice the steady heap). Each page moves the objects it
   * names forward; `commit` applies the last page and removes what no page named. Between pages
   * the contents are a mix of old and new objects, each of them a state the server had, as during
   * a watch. A replace the reflector abandons (the list failed) is simply dropped: the objects
   * already moved forward stay, and the next list completes the job.
   */
  beginReplace?(): PagedReplace<T>;
}

/**
 * One replace in progress (see {@link ReflectorStore.beginReplace}).
 *
 * @example
 * ```ts
 * const first = await listerWatcher.list({ limit: 500, signal });
 * const rest = await listerWatcher.list({ limit: 500, continue: first.continue, signal });
 * const replace = informer.sink.beginReplace?.();
 * replace?.page(first.items);
 * replace?.commit(rest.items, rest.resourceVersion);
 * ```
 */
export interface PagedReplace<T extends KubeObject> {
  /** Applies one page of the list (not the last). */
  page(items: readonly T[]): void;
  /** Applies the last page and completes the replace: objects no page named are deleted. */
  commit(items: readonly T[], resourceVersion: string): void;
}
