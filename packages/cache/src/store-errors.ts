/** Errors of the store and indexer. */
import { KubecacheError } from './errors.js';

/**
 * An index name passed to a query is not registered. `code` is `'IndexNotFound'`.
 *
 * @example
 * ```ts
 * try { indexer.byIndex('nope', 'x'); } catch (err) {
 *   if (err instanceof IndexNotFoundError) console.log(err.indexName);
 * }
 * ```
 */
export class IndexNotFoundError extends KubecacheError {
  /** The unknown index name. */
  readonly indexName: string;

  constructor(indexName: string) {
    super('IndexNotFound', `index ${JSON.stringify(indexName)} does not exist`);
    this.indexName = indexName;
  }
}

/**
 * `addIndexers` was given a name that is already registered. `code` is `'IndexerConflict'`.
 *
 * @example
 * ```ts
 * try { indexer.addIndexers({ namespace: namespaceIndexFunc }); } catch (err) {
 *   if (err instanceof IndexerConflictError) console.log(err.indexNames);
 * }
 * ```
 */
export class IndexerConflictError extends KubecacheError {
  /** The names that were already registered. */
  readonly indexNames: readonly string[];

  constructor(indexNames: readonly string[]) {
    super('IndexerConflict', `indexer conflict: ${indexNames.join(', ')} already registered`);
    this.indexNames = indexNames;
  }
}

/**
 * A key or index function wrote to the store that was calling it. Such a write would interleave
 * with the one in progress, so it is refused. `code` is `'ReentrantWrite'`.
 *
 * @example
 * ```ts
 * const bad = createIndexer<KubeObject>({ indexers: { x: (o) => { bad.delete(o); return []; } } });
 * bad.add(obj); // throws ReentrantWriteError
 * ```
 */
export class ReentrantWriteError extends KubecacheError {
  constructor() {
    super(
      'ReentrantWrite',
      'a store was written to from inside one of its own key or index functions',
    );
  }
}
