/**
 * Listers: typed, read-only, index-backed queries over an informer's cache. They never call the
 * API server; what they return is what the informer has seen. Returned objects are the cached
 * objects themselves (no copies) and are typed read-only: copy before changing anything.
 */
import { KubecacheError } from './errors.js';
import { NAMESPACE_INDEX } from './index-funcs.js';
import { everything, parseLabelSelector, type LabelSelector } from './label-selector.js';
import type { ReadonlyIndexer } from './store.js';
import type { DeepReadonly, KubeObject } from './types.js';

/**
 * The object is not in the cache. `code` is `'NotFound'`, like the API's reason.
 *
 * @example
 * ```ts
 * try { lister.namespace('default').get('web'); }
 * catch (err) { if (err instanceof NotFoundError) console.log(err.resource, err.key); }
 * ```
 */
export class NotFoundError extends KubecacheError {
  /** The cache key that was looked up (`namespace/name` or `name`). */
  readonly key: string;
  /** The resource, when the lister knows it (e.g. `deployments.apps`). */
  readonly resource: string;

  constructor(resource: string, key: string) {
    super('NotFound', `${resource === '' ? 'object' : resource} "${key}" not found`);
    this.key = key;
    this.resource = resource;
  }
}

function toSelector(selector: LabelSelector | string | undefined): LabelSelector {
  if (selector === undefined) return everything;
  return typeof selector === 'string' ? parseLabelSelector(selector) : selector;
}

/**
 * Read-only queries in one namespace.
 *
 * @example
 * ```ts
 * const web = lister.namespace('default').get('web');
 * const frontends = lister.namespace('default').list('tier=frontend');
 * ```
 */
export class NamespaceLister<T extends KubeObject> {
  readonly namespace: string;
  readonly #indexer: ReadonlyIndexer<T>;
  readonly #resource: string;

  constructor(indexer: ReadonlyIndexer<T>, namespace: string, resource = '') {
    this.#indexer = indexer;
    this.namespace = namespace;
    this.#resource = resource;
  }

  /** Objects of this namespace matching `selector` (a parsed selector or its text; default all). */
  list(selector?: LabelSelector | string): DeepReadonly<T>[] {
    const sel = toSelector(selector);
    if (sel.isEverything() && this.#indexer.getIndexers()[NAMESPACE_INDEX] !== undefined) {
      return this.#indexer.byIndex(NAMESPACE_INDEX, this.namespace);
    }
    return this.#indexer.listBySelector(sel, this.namespace);
  }

  /** The object named `name`; throws {@link NotFoundError} when absent. */
  get(name: string): DeepReadonly<T> {
    const key = `${this.namespace}/${name}`;
    const obj = this.#indexer.getByKey(key);
    if (obj === undefined) throw new NotFoundError(this.#resource, key);
    return obj;
  }

  /** The object named `name`, or undefined. */
  tryGet(name: string): DeepReadonly<T> | undefined {
    return this.#indexer.getByKey(`${this.namespace}/${name}`);
  }
}

/**
 * Read-only queries over the whole cache.
 *
 * @example
 * ```ts
 * const lister = new Lister(informer.getIndexer(), 'deployments.apps');
 * lister.list('app=web');                 // all namespaces
 * lister.namespace('default').list();     // one namespace, via the namespace index
 * ```
 */
export class Lister<T extends KubeObject> {
  readonly #indexer: ReadonlyIndexer<T>;
  readonly #resource: string;

  constructor(indexer: ReadonlyIndexer<T>, resource = '') {
    this.#indexer = indexer;
    this.#resource = resource;
  }

  /** Objects matching `selector` in every namespace (default all objects). */
  list(selector?: LabelSelector | string): DeepReadonly<T>[] {
    const sel = toSelector(selector);
    return sel.isEverything() ? this.#indexer.list() : this.#indexer.listBySelector(sel);
  }

  /**
   * The object with key `name`: a cluster-scoped object's name, or `namespace/name`. Throws
   * {@link NotFoundError} when absent. For namespaced objects prefer `namespace(ns).get(name)`.
   */
  get(name: string): DeepReadonly<T> {
    const obj = this.#indexer.getByKey(name);
    if (obj === undefined) throw new NotFoundError(this.#resource, name);
    return obj;
  }

  /** Like {@link Lister.get} but returns undefined when absent. */
  tryGet(name: string): DeepReadonly<T> | undefined {
    return this.#indexer.getByKey(name);
  }

  /**
   * Objects whose index `indexName` has `value` (a custom index added with `indexers`, or
   * `namespace`). Throws `IndexNotFoundError` for an unknown index.
   *
   * @example
   * ```ts
   * const onNode = lister.byIndex('byNode', 'node-1'); // a Lister<Pod> whose informer has a byNode index
   * ```
   */
  byIndex(indexName: string, value: string): DeepReadonly<T>[] {
    return this.#indexer.byIndex(indexName, value);
  }

  /** The values index `indexName` currently holds (e.g. every node that has pods). */
  indexValues(indexName: string): string[] {
    return this.#indexer.listIndexFuncValues(indexName);
  }

  /** Queries scoped to namespace `ns`. */
  namespace(ns: string): NamespaceLister<T> {
    return new NamespaceLister(this.#indexer, ns, this.#resource);
  }
}
