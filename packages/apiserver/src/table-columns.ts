/**
 * The column definitions of the real server's Tables, per built-in resource: what kube-apiserver
 * v1.23.16 answers in `columnDefinitions` (recorded from it: names, types, formats, descriptions
 * and priorities, in order). Priority 1 marks the columns `kubectl get -o wide` adds.
 *
 * Data only; the cells that go with them are computed in `printers.ts`.
 */

/** One column of a meta.k8s.io/v1 Table. */
export interface TableColumn {
  readonly name: string;
  readonly type: string;
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

function col(
  name: string,
  type: string,
  format: string,
  description: string,
  priority = 0,
): TableColumn {
  return { name, type, format, description, priority };
}

/** `metadata.name`'s description, shared by every Name column. */
export const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names';

/** `metadata.creationTimestamp`'s description, shared by every Age column. */
export const CREATION_TIMESTAMP_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

const NAME = col('Name', 'string', 'name', NAME_DESCRIPTION);
const AGE = col('Age', 'string', '', CREATION_TIMESTAMP_DESCRIPTION);
const CONTAINERS = col('Containers', 'string', '', 'Names of each container in the template.', 1);
const IMAGES = col(
  'Images',
  'string',
  '',
  'Images referenced by each container in the template.',
  1,
);

const EVENT_COLUMNS: readonly TableColumn[] = [
  col(
    'Last Seen',
    'string',
    '',
    'The time at which the most recent occurrence of this event was recorded.',
  ),
  col(
    'Type',
    'string',
    '',
    'Type of this event (Normal, Warning), new types could be added in the future',
  ),
  col(
    'Reason',
    'string',
    '',
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ),
  col('Object', 'string', '', 'The object that this event is about.'),
  col(
    'Subobject',
    'string',
    '',
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
    1,
  ),
  col(
    'Source',
    'string',
    '',
    'The component reporting this event. Should be a short machine understandable string.',
    1,
  ),
  col('Message', 'string', '', 'A human-readable description of the status of this operation.'),
  col(
    'First Seen',
    'string',
    '',
    'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
    1,
  ),
  col('Count', 'string', '', 'The number of times this event has occurred.', 1),
  col('Name', 'string', 'name', NAME_DESCRIPTION, 1),
];

/** Column definitions by storage key (`configmaps`, `deployments.apps`, …). */
export const BUILTIN_COLUMNS: Readonly<Record<string, readonly TableColumn[]>> = {
  namespaces: [NAME, col('Status', 'string', '', 'The status of the namespace'), AGE],
  configmaps: [
    NAME,
    col(
      'Data',
      'string',
      '',
      "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
    ),
    AGE,
  ],
  secrets: [
    NAME,
    col(
      'Type',
      'string',
      '',
      'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
    ),
    col(
      'Data',
      'string',
      '',
      "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
    ),
    AGE,
  ],
  pods: [
    NAME,
    col('Ready', 'string', '', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', '', 'The aggregate status of the containers in this pod.'),
    col(
      'Restarts',
      'string',
      '',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    AGE,
    col(
      'IP',
      'string',
      '',
      'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      1,
    ),
    col(
      'Node',
      'string',
      '',
      'NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.',
      1,
    ),
    col(
      'Nominated Node',
      'string',
      '',
      'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
      1,
    ),
    col(
      'Readiness Gates',
      'string',
      '',
      'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
      1,
    ),
  ],
  services: [
    NAME,
    col(
      'Type',
      'string',
      '',
      'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
    ),
    col(
      'Cluster-IP',
      'string',
      '',
      'clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are "None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
    ),
    col(
      'External-IP',
      'string',
      '',
      'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.',
    ),
    col(
      'Port(s)',
      'string',
      '',
      'The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
    ),
    AGE,
    col(
      'Selector',
      'string',
      '',
      'Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/',
      1,
    ),
  ],
  events: EVENT_COLUMNS,
  serviceaccounts: [
    NAME,
    col(
      'Secrets',
      'string',
      '',
      'Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount. More info: https://kubernetes.io/docs/concepts/configuration/secret',
    ),
    AGE,
  ],
  nodes: [
    NAME,
    col('Status', 'string', '', 'The status of the node'),
    col('Roles', 'string', '', 'The roles of the node'),
    AGE,
    col('Version', 'string', '', 'Kubelet Version reported by the node.'),
    col(
      'Internal-IP',
      'string',
      '',
      'List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/concepts/nodes/node/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See http://pr.k8s.io/79391 for an example.',
      1,
    ),
    col(
      'External-IP',
      'string',
      '',
      'List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/concepts/nodes/node/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See http://pr.k8s.io/79391 for an example.',
      1,
    ),
    col(
      'OS-Image',
      'string',
      '',
      'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
      1,
    ),
    col(
      'Kernel-Version',
      'string',
      '',
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      1,
    ),
    col(
      'Container-Runtime',
      'string',
      '',
      'ContainerRuntime Version reported by the node through runtime remote API (e.g. docker://1.5.0).',
      1,
    ),
  ],
  endpoints: [
    NAME,
    col(
      'Endpoints',
      'string',
      '',
      'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.',
    ),
    AGE,
  ],
  'deployments.apps': [
    NAME,
    col('Ready', 'string', '', 'Number of the pod with ready state'),
    col(
      'Up-to-date',
      'string',
      '',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    col(
      'Available',
      'string',
      '',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    col(
      'Selector',
      'string',
      '',
      'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
      1,
    ),
  ],
  'replicasets.apps': [
    NAME,
    col(
      'Desired',
      'integer',
      '',
      'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
    ),
    col(
      'Current',
      'integer',
      '',
      'Replicas is the most recently oberved number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
    ),
    col('Ready', 'integer', '', 'The number of ready replicas for this replica set.'),
    AGE,
    CONTAINERS,
    IMAGES,
    col(
      'Selector',
      'string',
      '',
      'Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
      1,
    ),
  ],
  'statefulsets.apps': [
    NAME,
    col('Ready', 'string', '', 'Number of the pod with ready state'),
    AGE,
    CONTAINERS,
    IMAGES,
  ],
  'daemonsets.apps': [
    NAME,
    col(
      'Desired',
      'integer',
      '',
      'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/',
    ),
    col(
      'Current',
      'integer',
      '',
      'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/',
    ),
    col(
      'Ready',
      'integer',
      '',
      'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.',
    ),
    col(
      'Up-to-date',
      'integer',
      '',
      'The total number of nodes that are running updated daemon pod',
    ),
    col(
      'Available',
      'integer',
      '',
      'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)',
    ),
    col(
      'Node Selector',
      'string',
      '',
      "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    col(
      'Selector',
      'string',
      '',
      'A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
      1,
    ),
  ],
  'leases.coordination.k8s.io': [
    NAME,
    col(
      'Holder',
      'string',
      '',
      'holderIdentity contains the identity of the holder of a current lease.',
    ),
    AGE,
  ],
  // events.k8s.io/v1 Events are printed by the core Event printer, with its columns.
  'events.events.k8s.io': EVENT_COLUMNS,
  'jobs.batch': [
    NAME,
    col('Completions', 'string', '', 'The number of pods which reached phase Succeeded.'),
    col('Duration', 'string', '', 'Time required to complete the job.'),
    AGE,
    CONTAINERS,
    IMAGES,
    col(
      'Selector',
      'string',
      '',
      'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
      1,
    ),
  ],
  'cronjobs.batch': [
    NAME,
    col(
      'Schedule',
      'string',
      '',
      'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.',
    ),
    col(
      'Suspend',
      'boolean',
      '',
      'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.',
    ),
    col('Active', 'integer', '', 'A list of pointers to currently running jobs.'),
    col(
      'Last Schedule',
      'string',
      '',
      'Information when was the last time the job was successfully scheduled.',
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    col(
      'Selector',
      'string',
      '',
      'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
      1,
    ),
  ],
  'customresourcedefinitions.apiextensions.k8s.io': [
    NAME,
    col(
      'Created At',
      'date',
      '',
      'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
    ),
  ],
};
