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
  /** Atomically replaces the whole contents with `items`, listed at `resourceVersion`. */
  replace(items: readonly T[], resourceVersion: string): void;
}
