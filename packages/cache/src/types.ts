/**
 * The structural shape of Kubernetes objects as they travel on the wire (JSON). The cache package
 * depends on no Kubernetes client, so it types only what it reads; `@kubecache/client` supplies
 * the full models from `@kubernetes/client-node`.
 */

/**
 * `T` read-only all the way down: what the cache hands out (lister results, handler arguments,
 * informer events). Cached objects are shared by every reader, so writing to one would change
 * what everyone else sees and corrupt the cache; this type makes such a write a compile error.
 * Copy first (`deepCopy` in `@kubecache/client`) to change an object.
 *
 * A homomorphic mapped type on purpose: primitives stay as they are, arrays become read-only
 * arrays, and hovers and errors say `DeepReadonly<Pod>` instead of spelling out the structure.
 *
 * @example
 * ```ts
 * const cached: DeepReadonly<Pod> = lister.namespace('default').get('web');
 * // @ts-expect-error: an index signature only permits reading
 * cached.metadata!.labels!['app'] = 'x';
 * ```
 */
export type DeepReadonly<T> = { readonly [K in keyof T]: DeepReadonlyValue<T[K]> };

/** A property value of {@link DeepReadonly}: `unknown` and functions stay as they are. */
export type DeepReadonlyValue<V> = unknown extends V
  ? V
  : V extends (...args: never[]) => unknown
    ? V
    : DeepReadonly<V>;

/** An owner reference, as in `metadata.ownerReferences`. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** The subset of `metav1.ObjectMeta` the cache reads. Timestamps are RFC 3339 strings on the wire. */
export interface ObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly finalizers?: readonly string[];
  readonly managedFields?: readonly unknown[];
}

/** Any Kubernetes object: `apiVersion`, `kind` and `metadata`, plus whatever else it carries. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** `metav1.Status`, the body of API errors and of watch ERROR events. */
export interface Status {
  apiVersion?: string;
  kind?: 'Status';
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
  metadata?: { resourceVersion?: string; continue?: string };
}
