/**
 * Store keys: how an object is named inside a cache.
 *
 * A namespaced object is keyed `namespace/name`, a cluster-scoped one just `name`. Names and
 * namespaces are DNS labels/subdomains and can never contain `/`, so the key splits back
 * unambiguously. The same convention is used by client-go, so keys are interchangeable with
 * anything a Go controller logs or enqueues.
 */
import { KubecacheError } from './errors.js';
import type { KubeObject } from './types.js';

/**
 * A key could not be computed from an object (no `metadata`, no `metadata.name`), or a key string
 * is malformed. `code` is `'KeyError'`.
 *
 * @example
 * ```ts
 * try { metaNamespaceKeyFunc({}); } catch (err) {
 *   if (err instanceof KeyError) console.log(err.code); // 'KeyError'
 * }
 * ```
 */
export class KeyError extends KubecacheError {
  /** The offending key, when the failure is about a key string rather than an object. */
  readonly key: string | undefined;

  constructor(message: string, options?: { key?: string; cause?: unknown }) {
    super('KeyError', message, {
      cause: options?.cause,
      hint: 'every object needs metadata.name (and a namespace for namespaced kinds); a custom keyFunc must accept every object the server sends',
    });
    this.key = options?.key;
  }
}

/**
 * Computes the store key of an object.
 *
 * @example
 * ```ts
 * const byUid: KeyFunc<KubeObject> = (obj) => obj.metadata?.uid ?? '';
 * ```
 */
export type KeyFunc<T> = (obj: T) => string;

/**
 * The last known state of an object that was deleted while the watch was disconnected: the
 * relist no longer contains it, so the informer knows it is gone but not what it looked like at
 * deletion. `obj` is the last state the cache saw (possibly stale), or `undefined` when unknown.
 * Delete handlers receive either the object or one of these.
 *
 * @example
 * ```ts
 * informer.addEventHandler({
 *   onDelete(obj) {
 *     const last = obj instanceof DeletedFinalStateUnknown ? obj.obj : obj; // may be undefined
 *     console.log(deletionHandlingMetaNamespaceKeyFunc(obj), last?.status?.phase);
 *   },
 * });
 * ```
 */
export class DeletedFinalStateUnknown<T> {
  /** The store key of the deleted object. */
  readonly key: string;
  /** The last state the cache held, if any; it may predate the deletion by several updates. */
  readonly obj: T | undefined;

  constructor(key: string, obj: T | undefined) {
    this.key = key;
    this.obj = obj;
  }
}

/**
 * The default key: `namespace/name` for namespaced objects, `name` for cluster-scoped ones.
 * Throws {@link KeyError} when the object has no `metadata` or no `metadata.name`.
 *
 * @example
 * ```ts
 * metaNamespaceKeyFunc({ metadata: { namespace: 'default', name: 'web' } }); // 'default/web'
 * metaNamespaceKeyFunc({ metadata: { name: 'node-1' } });                    // 'node-1'
 * ```
 */
export function metaNamespaceKeyFunc(obj: KubeObject): string {
  const meta = obj?.metadata;
  if (typeof meta !== 'object' || meta === null) {
    throw new KeyError('cannot compute a store key: object has no metadata');
  }
  const name = meta.name;
  if (typeof name !== 'string' || name === '') {
    throw new KeyError('cannot compute a store key: object has no metadata.name');
  }
  const ns = meta.namespace;
  return ns ? ns + '/' + name : name;
}

/**
 * Like {@link metaNamespaceKeyFunc}, but a {@link DeletedFinalStateUnknown} tombstone yields the
 * key it carries. Use it wherever deletes may arrive as tombstones (informer stores, handlers).
 *
 * @example
 * ```ts
 * deletionHandlingMetaNamespaceKeyFunc(new DeletedFinalStateUnknown<Pod>('default/web', undefined)); // 'default/web'
 * ```
 */
export function deletionHandlingMetaNamespaceKeyFunc(
  obj: KubeObject | DeletedFinalStateUnknown<unknown>,
): string {
  if (obj instanceof DeletedFinalStateUnknown) return obj.key;
  return metaNamespaceKeyFunc(obj);
}

/**
 * Wraps any key function so that tombstones yield their carried key.
 *
 * @example
 * ```ts
 * const keyOf = deletionHandlingKeyFunc<KubeObject>((o) => o.metadata?.uid ?? '');
 * ```
 */
export function deletionHandlingKeyFunc<T>(
  keyFunc: KeyFunc<T>,
): KeyFunc<T | DeletedFinalStateUnknown<T>> {
  return (obj) => (obj instanceof DeletedFinalStateUnknown ? obj.key : keyFunc(obj));
}

/**
 * Splits a key made by {@link metaNamespaceKeyFunc} back into namespace and name; `namespace` is
 * `''` for cluster-scoped keys. Throws {@link KeyError} for malformed keys: empty, more than one
 * `/`, or an empty namespace or name part (`/web`, `default/`).
 *
 * @example
 * ```ts
 * splitMetaNamespaceKey('default/web'); // { namespace: 'default', name: 'web' }
 * splitMetaNamespaceKey('node-1');      // { namespace: '', name: 'node-1' }
 * ```
 */
export function splitMetaNamespaceKey(key: string): { namespace: string; name: string } {
  if (typeof key !== 'string' || key === '') {
    throw new KeyError('malformed store key: empty', { key: String(key) });
  }
  const slash = key.indexOf('/');
  if (slash === -1) return { namespace: '', name: key };
  if (key.indexOf('/', slash + 1) !== -1) {
    throw new KeyError(`malformed store key ${JSON.stringify(key)}: more than one '/'`, { key });
  }
  const namespace = key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (namespace === '' || name === '') {
    throw new KeyError(`malformed store key ${JSON.stringify(key)}: empty namespace or name`, {
      key,
    });
  }
  return { namespace, name };
}
