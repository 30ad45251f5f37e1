/**
 * The resource table: built-in resources with their group/version/resource, kind, scope and the
 * `@kubernetes/client-node` model that types them.
 *
 * Informers read raw JSON from the watch and never run client-node's deserializer, so timestamps
 * are RFC 3339 strings, not `Date`s. {@link Wire} maps a client-node model to what is really in
 * the cache, so the types do not lie.
 */
import type { KubeObject, ObjectMeta } from '@kubecache/cache';
import type {
  CoreV1Event,
  V1ConfigMap,
  V1DaemonSet,
  V1Deployment,
  V1Lease,
  V1Namespace,
  V1Pod,
  V1ReplicaSet,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { ResourceRef } from './kube-lister-watcher.js';

/**
 * A client-node model as it is on the wire: every `Date` is an RFC 3339 `string`.
 *
 * @example
 * ```ts
 * const d: Wire<V1Deployment> = lister.namespace('default').get('web');
 * const created: string | undefined = d.metadata?.creationTimestamp;
 * ```
 */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/**
 * A resource reference that also carries the TypeScript type of its objects.
 *
 * @example
 * ```ts
 * const deployments: TypedResource<Wire<V1Deployment>> = resources.deployments;
 * factory.informerFor(deployments); // SharedIndexInformer<Wire<V1Deployment>>
 * ```
 */
export interface TypedResource<T extends KubeObject> extends ResourceRef {
  readonly kind: string;
  readonly namespaced: boolean;
  /** Phantom field: never set, only carries `T`. */
  readonly __type?: T;
}

/**
 * `meta.k8s.io/v1` PartialObjectMetadata: what metadata-only informers cache.
 *
 * @example
 * ```ts
 * factory.metadataFor(resources.pods).lister().list()[0]?.metadata?.name;
 * ```
 */
export interface PartialObjectMetadata extends KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/**
 * An object of a resource known only at runtime (a CRD): the common fields, anything else unknown.
 *
 * @example
 * ```ts
 * const app: DynamicObject = lister.namespace('default').get('demo');
 * const spec = app['spec'] as { appName?: string } | undefined;
 * ```
 */
export interface DynamicObject extends KubeObject {
  [field: string]: unknown;
}

function resource<T extends KubeObject>(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced = true,
): TypedResource<T> {
  return Object.freeze({ group, version, resource: plural, kind, namespaced });
}

/**
 * The built-in resources with typed accessors on the factory.
 *
 * @example
 * ```ts
 * factory.informerFor(resources.configmaps).addEventHandler({ onAdd: (cm) => console.log(cm.data) });
 * ```
 */
export const resources = Object.freeze({
  deployments: resource<Wire<V1Deployment>>('apps', 'v1', 'deployments', 'Deployment'),
  replicasets: resource<Wire<V1ReplicaSet>>('apps', 'v1', 'replicasets', 'ReplicaSet'),
  statefulsets: resource<Wire<V1StatefulSet>>('apps', 'v1', 'statefulsets', 'StatefulSet'),
  daemonsets: resource<Wire<V1DaemonSet>>('apps', 'v1', 'daemonsets', 'DaemonSet'),
  pods: resource<Wire<V1Pod>>('', 'v1', 'pods', 'Pod'),
  configmaps: resource<Wire<V1ConfigMap>>('', 'v1', 'configmaps', 'ConfigMap'),
  secrets: resource<Wire<V1Secret>>('', 'v1', 'secrets', 'Secret'),
  services: resource<Wire<V1Service>>('', 'v1', 'services', 'Service'),
  namespaces: resource<Wire<V1Namespace>>('', 'v1', 'namespaces', 'Namespace', false),
  events: resource<Wire<CoreV1Event>>('', 'v1', 'events', 'Event'),
  leases: resource<Wire<V1Lease>>('coordination.k8s.io', 'v1', 'leases', 'Lease'),
});

/**
 * Wire types of the built-ins, for annotations.
 *
 * @example
 * ```ts
 * const onAdd = (d: Deployment): void => console.log(d.metadata?.creationTimestamp); // a string
 * ```
 */
export type Deployment = Wire<V1Deployment>;
/** @see {@link Deployment} */
export type ReplicaSet = Wire<V1ReplicaSet>;
/** @see {@link Deployment} */
export type StatefulSet = Wire<V1StatefulSet>;
/** @see {@link Deployment} */
export type DaemonSet = Wire<V1DaemonSet>;
/** @see {@link Deployment} */
export type Pod = Wire<V1Pod>;
/** @see {@link Deployment} */
export type ConfigMap = Wire<V1ConfigMap>;
/** @see {@link Deployment} */
export type Secret = Wire<V1Secret>;
/** @see {@link Deployment} */
export type Service = Wire<V1Service>;
/** @see {@link Deployment} */
export type Namespace = Wire<V1Namespace>;
/** @see {@link Deployment} */
export type Event = Wire<CoreV1Event>;
/** @see {@link Deployment} */
export type Lease = Wire<V1Lease>;
