/**
 * The resource table: every stable built-in resource of the Kubernetes version that
 * `@kubernetes/client-node` models, with its group/version/resource, kind, scope and the
 * client-node model that types it. {@link builtinResources} is the one table; the factory's
 * `core.v1.pods()`-style accessors and the flat {@link resources} map are derived from it, and a
 * test checks it against client-node's API classes (every list endpoint, its path and scope).
 *
 * Informers read raw JSON from the watch and never run client-node's deserializer, so timestamps
 * are RFC 3339 strings, not `Date`s. {@link Wire} maps a client-node model to what is really in
 * the cache, so the types do not lie.
 */
import type { KubeObject, ObjectMeta } from '@kubecache/cache';
import type {
  CoreV1Event,
  EventsV1Event as EventsV1EventModel,
  V1APIService,
  V1CSIDriver,
  V1CSINode,
  V1CSIStorageCapacity,
  V1CertificateSigningRequest,
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1ComponentStatus,
  V1ConfigMap,
  V1ControllerRevision,
  V1CronJob,
  V1CustomResourceDefinition,
  V1DaemonSet,
  V1Deployment,
  V1DeviceClass,
  V1EndpointSlice,
  V1Endpoints,
  V1FlowSchema,
  V1HorizontalPodAutoscaler,
  V1IPAddress,
  V1Ingress,
  V1IngressClass,
  V1Job,
  V1Lease,
  V1LimitRange,
  V1MutatingAdmissionPolicy,
  V1MutatingAdmissionPolicyBinding,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1NetworkPolicy,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1PodTemplate,
  V1PriorityClass,
  V1PriorityLevelConfiguration,
  V1ReplicaSet,
  V1ReplicationController,
  ResourceV1ResourceClaim,
  V1ResourceClaimTemplate,
  V1ResourceQuota,
  V1ResourceSlice,
  V1Role,
  V1RoleBinding,
  V1RuntimeClass,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1ServiceCIDR,
  V1StatefulSet,
  V1StorageClass,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
  V1ValidatingWebhookConfiguration,
  V1VolumeAttachment,
  V1VolumeAttributesClass,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { ResourceRef } from './kube-lister-watcher.js';

/**
 * A client-node model as it is on the wire: every `Date` is an RFC 3339 `string`.
 *
 * @example
 * ```ts
 * const d: Wire<V1Deployment> = fromClientModel(await appsApi.readNamespacedDeployment({ name: 'web', namespace: 'default' }));
 * const created: string | undefined = d.metadata?.creationTimestamp; // a Date in V1Deployment
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
 * const deployments: TypedResource<Deployment> = resources.deployments;
 * factory.informerFor(deployments); // SharedIndexInformer<Deployment>
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
 * const myApps = factory.forResource({ group: 'example.com', version: 'v1', resource: 'myapps' }); // DynamicObject
 * const app = myApps.lister().namespace('default').get('demo');
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

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(value);
}

/**
 * Every stable built-in resource, by group (the factory's accessor name), version and plural.
 * Scope and kind are those of the API server; `rbac` is `rbac.authorization.k8s.io`, `flowcontrol`
 * is `flowcontrol.apiserver.k8s.io`, `core` is the legacy group `""`.
 *
 * @example
 * ```ts
 * factory.informerFor(builtinResources.batch.v1.jobs); // SharedIndexInformer<Job>
 * builtinResources.core.v1.nodes.namespaced; // false
 * ```
 */
export const builtinResources = deepFreeze({
  core: {
    v1: {
      componentstatuses: resource<ComponentStatus>(
        '',
        'v1',
        'componentstatuses',
        'ComponentStatus',
        false,
      ),
      configmaps: resource<ConfigMap>('', 'v1', 'configmaps', 'ConfigMap'),
      endpoints: resource<Endpoints>('', 'v1', 'endpoints', 'Endpoints'),
      events: resource<Event>('', 'v1', 'events', 'Event'),
      limitranges: resource<LimitRange>('', 'v1', 'limitranges', 'LimitRange'),
      namespaces: resource<Namespace>('', 'v1', 'namespaces', 'Namespace', false),
      nodes: resource<Node>('', 'v1', 'nodes', 'Node', false),
      persistentvolumeclaims: resource<PersistentVolumeClaim>(
        '',
        'v1',
        'persistentvolumeclaims',
        'PersistentVolumeClaim',
      ),
      persistentvolumes: resource<PersistentVolume>(
        '',
        'v1',
        'persistentvolumes',
        'PersistentVolume',
        false,
      ),
      pods: resource<Pod>('', 'v1', 'pods', 'Pod'),
      podtemplates: resource<PodTemplate>('', 'v1', 'podtemplates', 'PodTemplate'),
      replicationcontrollers: resource<ReplicationController>(
        '',
        'v1',
        'replicationcontrollers',
        'ReplicationController',
      ),
      resourcequotas: resource<ResourceQuota>('', 'v1', 'resourcequotas', 'ResourceQuota'),
      secrets: resource<Secret>('', 'v1', 'secrets', 'Secret'),
      serviceaccounts: resource<ServiceAccount>('', 'v1', 'serviceaccounts', 'ServiceAccount'),
      services: resource<Service>('', 'v1', 'services', 'Service'),
    },
  },
  apps: {
    v1: {
      controllerrevisions: resource<ControllerRevision>(
        'apps',
        'v1',
        'controllerrevisions',
        'ControllerRevision',
      ),
      daemonsets: resource<DaemonSet>('apps', 'v1', 'daemonsets', 'DaemonSet'),
      deployments: resource<Deployment>('apps', 'v1', 'deployments', 'Deployment'),
      replicasets: resource<ReplicaSet>('apps', 'v1', 'replicasets', 'ReplicaSet'),
      statefulsets: resource<StatefulSet>('apps', 'v1', 'statefulsets', 'StatefulSet'),
    },
  },
  batch: {
    v1: {
      cronjobs: resource<CronJob>('batch', 'v1', 'cronjobs', 'CronJob'),
      jobs: resource<Job>('batch', 'v1', 'jobs', 'Job'),
    },
  },
  autoscaling: {
    v1: {
      horizontalpodautoscalers: resource<HorizontalPodAutoscalerV1>(
        'autoscaling',
        'v1',
        'horizontalpodautoscalers',
        'HorizontalPodAutoscaler',
      ),
    },
    v2: {
      horizontalpodautoscalers: resource<HorizontalPodAutoscaler>(
        'autoscaling',
        'v2',
        'horizontalpodautoscalers',
        'HorizontalPodAutoscaler',
      ),
    },
  },
  networking: {
    v1: {
      ingressclasses: resource<IngressClass>(
        'networking.k8s.io',
        'v1',
        'ingressclasses',
        'IngressClass',
        false,
      ),
      ingresses: resource<Ingress>('networking.k8s.io', 'v1', 'ingresses', 'Ingress'),
      ipaddresses: resource<IPAddress>(
        'networking.k8s.io',
        'v1',
        'ipaddresses',
        'IPAddress',
        false,
      ),
      networkpolicies: resource<NetworkPolicy>(
        'networking.k8s.io',
        'v1',
        'networkpolicies',
        'NetworkPolicy',
      ),
      servicecidrs: resource<ServiceCIDR>(
        'networking.k8s.io',
        'v1',
        'servicecidrs',
        'ServiceCIDR',
        false,
      ),
    },
  },
  policy: {
    v1: {
      poddisruptionbudgets: resource<PodDisruptionBudget>(
        'policy',
        'v1',
        'poddisruptionbudgets',
        'PodDisruptionBudget',
      ),
    },
  },
  rbac: {
    v1: {
      clusterrolebindings: resource<ClusterRoleBinding>(
        'rbac.authorization.k8s.io',
        'v1',
        'clusterrolebindings',
        'ClusterRoleBinding',
        false,
      ),
      clusterroles: resource<ClusterRole>(
        'rbac.authorization.k8s.io',
        'v1',
        'clusterroles',
        'ClusterRole',
        false,
      ),
      rolebindings: resource<RoleBinding>(
        'rbac.authorization.k8s.io',
        'v1',
        'rolebindings',
        'RoleBinding',
      ),
      roles: resource<Role>('rbac.authorization.k8s.io', 'v1', 'roles', 'Role'),
    },
  },
  storage: {
    v1: {
      csidrivers: resource<CSIDriver>('storage.k8s.io', 'v1', 'csidrivers', 'CSIDriver', false),
      csinodes: resource<CSINode>('storage.k8s.io', 'v1', 'csinodes', 'CSINode', false),
      csistoragecapacities: resource<CSIStorageCapacity>(
        'storage.k8s.io',
        'v1',
        'csistoragecapacities',
        'CSIStorageCapacity',
      ),
      storageclasses: resource<StorageClass>(
        'storage.k8s.io',
        'v1',
        'storageclasses',
        'StorageClass',
        false,
      ),
      volumeattachments: resource<VolumeAttachment>(
        'storage.k8s.io',
        'v1',
        'volumeattachments',
        'VolumeAttachment',
        false,
      ),
      volumeattributesclasses: resource<VolumeAttributesClass>(
        'storage.k8s.io',
        'v1',
        'volumeattributesclasses',
        'VolumeAttributesClass',
        false,
      ),
    },
  },
  discovery: {
    v1: {
      endpointslices: resource<EndpointSlice>(
        'discovery.k8s.io',
        'v1',
        'endpointslices',
        'EndpointSlice',
      ),
    },
  },
  coordination: {
    v1: {
      leases: resource<Lease>('coordination.k8s.io', 'v1', 'leases', 'Lease'),
    },
  },
  events: {
    v1: {
      events: resource<EventsV1Event>('events.k8s.io', 'v1', 'events', 'Event'),
    },
  },
  scheduling: {
    v1: {
      priorityclasses: resource<PriorityClass>(
        'scheduling.k8s.io',
        'v1',
        'priorityclasses',
        'PriorityClass',
        false,
      ),
    },
  },
  node: {
    v1: {
      runtimeclasses: resource<RuntimeClass>(
        'node.k8s.io',
        'v1',
        'runtimeclasses',
        'RuntimeClass',
        false,
      ),
    },
  },
  certificates: {
    v1: {
      certificatesigningrequests: resource<CertificateSigningRequest>(
        'certificates.k8s.io',
        'v1',
        'certificatesigningrequests',
        'CertificateSigningRequest',
        false,
      ),
    },
  },
  admissionregistration: {
    v1: {
      mutatingadmissionpolicies: resource<MutatingAdmissionPolicy>(
        'admissionregistration.k8s.io',
        'v1',
        'mutatingadmissionpolicies',
        'MutatingAdmissionPolicy',
        false,
      ),
      mutatingadmissionpolicybindings: resource<MutatingAdmissionPolicyBinding>(
        'admissionregistration.k8s.io',
        'v1',
        'mutatingadmissionpolicybindings',
        'MutatingAdmissionPolicyBinding',
        false,
      ),
      mutatingwebhookconfigurations: resource<MutatingWebhookConfiguration>(
        'admissionregistration.k8s.io',
        'v1',
        'mutatingwebhookconfigurations',
        'MutatingWebhookConfiguration',
        false,
      ),
      validatingadmissionpolicies: resource<ValidatingAdmissionPolicy>(
        'admissionregistration.k8s.io',
        'v1',
        'validatingadmissionpolicies',
        'ValidatingAdmissionPolicy',
        false,
      ),
      validatingadmissionpolicybindings: resource<ValidatingAdmissionPolicyBinding>(
        'admissionregistration.k8s.io',
        'v1',
        'validatingadmissionpolicybindings',
        'ValidatingAdmissionPolicyBinding',
        false,
      ),
      validatingwebhookconfigurations: resource<ValidatingWebhookConfiguration>(
        'admissionregistration.k8s.io',
        'v1',
        'validatingwebhookconfigurations',
        'ValidatingWebhookConfiguration',
        false,
      ),
    },
  },
  apiextensions: {
    v1: {
      customresourcedefinitions: resource<CustomResourceDefinition>(
        'apiextensions.k8s.io',
        'v1',
        'customresourcedefinitions',
        'CustomResourceDefinition',
        false,
      ),
    },
  },
  apiregistration: {
    v1: {
      apiservices: resource<APIService>(
        'apiregistration.k8s.io',
        'v1',
        'apiservices',
        'APIService',
        false,
      ),
    },
  },
  flowcontrol: {
    v1: {
      flowschemas: resource<FlowSchema>(
        'flowcontrol.apiserver.k8s.io',
        'v1',
        'flowschemas',
        'FlowSchema',
        false,
      ),
      prioritylevelconfigurations: resource<PriorityLevelConfiguration>(
        'flowcontrol.apiserver.k8s.io',
        'v1',
        'prioritylevelconfigurations',
        'PriorityLevelConfiguration',
        false,
      ),
    },
  },
  resource: {
    v1: {
      deviceclasses: resource<DeviceClass>(
        'resource.k8s.io',
        'v1',
        'deviceclasses',
        'DeviceClass',
        false,
      ),
      resourceclaims: resource<ResourceClaim>(
        'resource.k8s.io',
        'v1',
        'resourceclaims',
        'ResourceClaim',
      ),
      resourceclaimtemplates: resource<ResourceClaimTemplate>(
        'resource.k8s.io',
        'v1',
        'resourceclaimtemplates',
        'ResourceClaimTemplate',
      ),
      resourceslices: resource<ResourceSlice>(
        'resource.k8s.io',
        'v1',
        'resourceslices',
        'ResourceSlice',
        false,
      ),
    },
  },
});

/**
 * The built-in resources by plural, for `factory.informerFor(resources.pods)`: every entry of
 * {@link builtinResources}, at the preferred version where a resource has two
 * (`horizontalpodautoscalers` is `autoscaling/v2`; `events` is the core group's, the
 * `events.k8s.io` one is only in {@link builtinResources}).
 *
 * @example
 * ```ts
 * factory.informerFor(resources.configmaps).addEventHandler({ onAdd: (cm) => console.log(cm.data) });
 * ```
 */
export const resources = Object.freeze({
  ...builtinResources.core.v1,
  ...builtinResources.apps.v1,
  ...builtinResources.batch.v1,
  ...builtinResources.autoscaling.v2,
  ...builtinResources.networking.v1,
  ...builtinResources.policy.v1,
  ...builtinResources.rbac.v1,
  ...builtinResources.storage.v1,
  ...builtinResources.discovery.v1,
  ...builtinResources.coordination.v1,
  ...builtinResources.scheduling.v1,
  ...builtinResources.node.v1,
  ...builtinResources.certificates.v1,
  ...builtinResources.admissionregistration.v1,
  ...builtinResources.apiextensions.v1,
  ...builtinResources.apiregistration.v1,
  ...builtinResources.flowcontrol.v1,
  ...builtinResources.resource.v1,
});

/**
 * Wire types of the built-ins, for annotations: one per kind, named as the kind (the v1
 * HorizontalPodAutoscaler is `HorizontalPodAutoscalerV1`, the `events.k8s.io` Event
 * `EventsV1Event`). Interfaces rather than aliases, so hovers, errors and `.d.ts` files say
 * `Pod` instead of spelling out the whole structure.
 *
 * @example
 * ```ts
 * const onAdd = (d: Deployment): void => console.log(d.metadata?.creationTimestamp); // a string
 * ```
 */
export interface Deployment extends Wire<V1Deployment> {}
/** @see {@link Deployment} */
export interface APIService extends Wire<V1APIService> {}
/** @see {@link Deployment} */
export interface CSIDriver extends Wire<V1CSIDriver> {}
/** @see {@link Deployment} */
export interface CSINode extends Wire<V1CSINode> {}
/** @see {@link Deployment} */
export interface CSIStorageCapacity extends Wire<V1CSIStorageCapacity> {}
/** @see {@link Deployment} */
export interface CertificateSigningRequest extends Wire<V1CertificateSigningRequest> {}
/** @see {@link Deployment} */
export interface ClusterRole extends Wire<V1ClusterRole> {}
/** @see {@link Deployment} */
export interface ClusterRoleBinding extends Wire<V1ClusterRoleBinding> {}
/** @see {@link Deployment} */
export interface ComponentStatus extends Wire<V1ComponentStatus> {}
/** @see {@link Deployment} */
export interface ConfigMap extends Wire<V1ConfigMap> {}
/** @see {@link Deployment} */
export interface ControllerRevision extends Wire<V1ControllerRevision> {}
/** @see {@link Deployment} */
export interface CronJob extends Wire<V1CronJob> {}
/** @see {@link Deployment} */
export interface CustomResourceDefinition extends Wire<V1CustomResourceDefinition> {}
/** @see {@link Deployment} */
export interface DaemonSet extends Wire<V1DaemonSet> {}
/** @see {@link Deployment} */
export interface DeviceClass extends Wire<V1DeviceClass> {}
/** @see {@link Deployment} */
export interface EndpointSlice extends Wire<V1EndpointSlice> {}
/** @see {@link Deployment} */
export interface Endpoints extends Wire<V1Endpoints> {}
/** @see {@link Deployment} */
export interface Event extends Wire<CoreV1Event> {}
/** @see {@link Deployment} */
export interface EventsV1Event extends Wire<EventsV1EventModel> {}
/** @see {@link Deployment} */
export interface FlowSchema extends Wire<V1FlowSchema> {}
/** @see {@link Deployment} */
export interface HorizontalPodAutoscaler extends Wire<V2HorizontalPodAutoscaler> {}
/** @see {@link Deployment} */
export interface HorizontalPodAutoscalerV1 extends Wire<V1HorizontalPodAutoscaler> {}
/** @see {@link Deployment} */
export interface IPAddress extends Wire<V1IPAddress> {}
/** @see {@link Deployment} */
export interface Ingress extends Wire<V1Ingress> {}
/** @see {@link Deployment} */
export interface IngressClass extends Wire<V1IngressClass> {}
/** @see {@link Deployment} */
export interface Job extends Wire<V1Job> {}
/** @see {@link Deployment} */
export interface Lease extends Wire<V1Lease> {}
/** @see {@link Deployment} */
export interface LimitRange extends Wire<V1LimitRange> {}
/** @see {@link Deployment} */
export interface MutatingAdmissionPolicy extends Wire<V1MutatingAdmissionPolicy> {}
/** @see {@link Deployment} */
export interface MutatingAdmissionPolicyBinding extends Wire<V1MutatingAdmissionPolicyBinding> {}
/** @see {@link Deployment} */
export interface MutatingWebhookConfiguration extends Wire<V1MutatingWebhookConfiguration> {}
/** @see {@link Deployment} */
export interface Namespace extends Wire<V1Namespace> {}
/** @see {@link Deployment} */
export interface NetworkPolicy extends Wire<V1NetworkPolicy> {}
/** @see {@link Deployment} */
export interface Node extends Wire<V1Node> {}
/** @see {@link Deployment} */
export interface PersistentVolume extends Wire<V1PersistentVolume> {}
/** @see {@link Deployment} */
export interface PersistentVolumeClaim extends Wire<V1PersistentVolumeClaim> {}
/** @see {@link Deployment} */
export interface Pod extends Wire<V1Pod> {}
/** @see {@link Deployment} */
export interface PodDisruptionBudget extends Wire<V1PodDisruptionBudget> {}
/** @see {@link Deployment} */
export interface PodTemplate extends Wire<V1PodTemplate> {}
/** @see {@link Deployment} */
export interface PriorityClass extends Wire<V1PriorityClass> {}
/** @see {@link Deployment} */
export interface PriorityLevelConfiguration extends Wire<V1PriorityLevelConfiguration> {}
/** @see {@link Deployment} */
export interface ReplicaSet extends Wire<V1ReplicaSet> {}
/** @see {@link Deployment} */
export interface ReplicationController extends Wire<V1ReplicationController> {}
/** @see {@link Deployment} */
export interface ResourceClaim extends Wire<ResourceV1ResourceClaim> {}
/** @see {@link Deployment} */
export interface ResourceClaimTemplate extends Wire<V1ResourceClaimTemplate> {}
/** @see {@link Deployment} */
export interface ResourceQuota extends Wire<V1ResourceQuota> {}
/** @see {@link Deployment} */
export interface ResourceSlice extends Wire<V1ResourceSlice> {}
/** @see {@link Deployment} */
export interface Role extends Wire<V1Role> {}
/** @see {@link Deployment} */
export interface RoleBinding extends Wire<V1RoleBinding> {}
/** @see {@link Deployment} */
export interface RuntimeClass extends Wire<V1RuntimeClass> {}
/** @see {@link Deployment} */
export interface Secret extends Wire<V1Secret> {}
/** @see {@link Deployment} */
export interface Service extends Wire<V1Service> {}
/** @see {@link Deployment} */
export interface ServiceAccount extends Wire<V1ServiceAccount> {}
/** @see {@link Deployment} */
export interface ServiceCIDR extends Wire<V1ServiceCIDR> {}
/** @see {@link Deployment} */
export interface StatefulSet extends Wire<V1StatefulSet> {}
/** @see {@link Deployment} */
export interface StorageClass extends Wire<V1StorageClass> {}
/** @see {@link Deployment} */
export interface ValidatingAdmissionPolicy extends Wire<V1ValidatingAdmissionPolicy> {}
/** @see {@link Deployment} */
export interface ValidatingAdmissionPolicyBinding extends Wire<V1ValidatingAdmissionPolicyBinding> {}
/** @see {@link Deployment} */
export interface ValidatingWebhookConfiguration extends Wire<V1ValidatingWebhookConfiguration> {}
/** @see {@link Deployment} */
export interface VolumeAttachment extends Wire<V1VolumeAttachment> {}
/** @see {@link Deployment} */
export interface VolumeAttributesClass extends Wire<V1VolumeAttributesClass> {}
