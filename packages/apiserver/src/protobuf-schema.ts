/**
 * The subset of the Kubernetes protobuf schema the server decodes request bodies with: the kinds
 * kubectl's typed commands send (`create namespace|configmap|secret|deployment|job|token`, `run`,
 * `scale`, `drain`'s evictions, leases of leader election, DeleteOptions) and what their fields nest.
 *
 * Written here as a table rather than `.proto` text because each field carries two facts the
 * wire format has lost and the JSON the server stores needs back (`protobuf.ts` uses them):
 *
 * - `!` keeps a zero value (`""`, `0`, `false`). The Go encoder writes every non-pointer scalar,
 *   zero or not, and `omitempty` drops the zeros again in JSON; a pointer field (`replicas`,
 *   `immutable`, `holderIdentity`…) or a required one (`containerPort`) is written only when set,
 *   so its zero is a value the client chose and must survive.
 * - `inline` marks a Go embedded struct (`LocalObjectReference` in key selectors, `VolumeSource`
 *   in a volume, `ProbeHandler` in a probe): its own message on the wire, flattened in JSON.
 *
 * Field numbers are those of k8s.io/api's and k8s.io/apimachinery's `generated.proto` (the Go
 * field tags); names are the JSON names. Messages not listed (affinity, DNS config, most volume
 * sources, ephemeral containers…) are unknown here: a body using them is refused with a clear
 * 415 rather than decoded with the field silently dropped.
 *
 * Grammar of a field: `<number> <type>[*] [!] [inline]`, where `<type>` is a scalar
 * (`string`, `bool`, `int32`, `int64`, `bytes`), a message of this table, or `map<V>` (string
 * keys, as every Kubernetes map); `*` is repeated. Messages with special JSON forms: `Time`,
 * `MicroTime`, `Quantity`, `IntOrString`, `FieldsV1` (see `protobuf.ts`).
 */
import protobuf from 'protobufjs';

/** One message: JSON field name to its spec (see the grammar above). */
type MessageSpec = Readonly<Record<string, string>>;

const ref = { name: '1 string' };
const meta = '1 ObjectMeta';

/** The messages, by a name unique within this table. */
const MESSAGES: Readonly<Record<string, MessageSpec>> = {
  // k8s.io/apimachinery runtime: the envelope after the `k8s\0` magic.
  Unknown: {
    typeMeta: '1 UnknownTypeMeta',
    raw: '2 bytes',
    contentEncoding: '3 string',
    contentType: '4 string',
  },
  UnknownTypeMeta: { apiVersion: '1 string', kind: '2 string' },

  // k8s.io/apimachinery meta/v1, resource, intstr.
  Time: { seconds: '1 int64', nanos: '2 int32' },
  MicroTime: { seconds: '1 int64', nanos: '2 int32' },
  Quantity: { string: '1 string' },
  IntOrString: { type: '1 int64', intVal: '2 int32', strVal: '3 string' },
  FieldsV1: { Raw: '1 bytes' },
  ObjectMeta: {
    name: '1 string',
    generateName: '2 string',
    namespace: '3 string',
    selfLink: '4 string',
    uid: '5 string',
    resourceVersion: '6 string',
    generation: '7 int64',
    creationTimestamp: '8 Time',
    deletionTimestamp: '9 Time',
    deletionGracePeriodSeconds: '10 int64 !',
    labels: '11 map<string>',
    annotations: '12 map<string>',
    ownerReferences: '13 OwnerReference*',
    finalizers: '14 string*',
    // Removed from the API in v1.25, but older clients and servers still write it (empty).
    clusterName: '15 string',
    managedFields: '17 ManagedFieldsEntry*',
  },
  OwnerReference: {
    apiVersion: '5 string !',
    kind: '1 string !',
    name: '3 string !',
    uid: '4 string !',
    controller: '6 bool !',
    blockOwnerDeletion: '7 bool !',
  },
  ManagedFieldsEntry: {
    manager: '1 string',
    operation: '2 string',
    apiVersion: '3 string',
    time: '4 Time',
    fieldsType: '6 string',
    fieldsV1: '7 FieldsV1',
    subresource: '8 string',
  },
  LabelSelector: { matchLabels: '1 map<string>', matchExpressions: '2 LabelSelectorRequirement*' },
  LabelSelectorRequirement: { key: '1 string !', operator: '2 string !', values: '3 string*' },
  Condition: {
    type: '1 string !',
    status: '2 string !',
    observedGeneration: '3 int64',
    lastTransitionTime: '4 Time',
    reason: '5 string',
    message: '6 string',
  },
  DeleteOptions: {
    gracePeriodSeconds: '1 int64 !',
    preconditions: '2 Preconditions',
    orphanDependents: '3 bool !',
    propagationPolicy: '4 string !',
    dryRun: '5 string*',
  },
  Preconditions: { uid: '1 string !', resourceVersion: '2 string !' },

  // k8s.io/api core/v1.
  Namespace: { metadata: meta, spec: '2 NamespaceSpec', status: '3 NamespaceStatus' },
  NamespaceSpec: { finalizers: '1 string*' },
  NamespaceStatus: { phase: '1 string', conditions: '2 NamespaceCondition*' },
  NamespaceCondition: {
    type: '1 string !',
    status: '2 string !',
    lastTransitionTime: '4 Time',
    reason: '5 string',
    message: '6 string',
  },
  ConfigMap: {
    metadata: meta,
    immutable: '4 bool !',
    data: '2 map<string>',
    binaryData: '3 map<bytes>',
  },
  Secret: {
    metadata: meta,
    immutable: '5 bool !',
    data: '2 map<bytes>',
    stringData: '4 map<string>',
    type: '3 string',
  },
  ServiceAccount: {
    metadata: meta,
    secrets: '2 ObjectReference*',
    imagePullSecrets: '3 LocalObjectReference*',
    automountServiceAccountToken: '4 bool !',
  },
  ObjectReference: {
    kind: '1 string',
    namespace: '2 string',
    name: '3 string',
    uid: '4 string',
    apiVersion: '5 string',
    resourceVersion: '6 string',
    fieldPath: '7 string',
  },
  LocalObjectReference: ref,
  Service: { metadata: meta, spec: '2 ServiceSpec', status: '3 ServiceStatus' },
  ServiceSpec: {
    ports: '1 ServicePort*',
    selector: '2 map<string>',
    clusterIP: '3 string',
    clusterIPs: '18 string*',
    type: '4 string',
    externalIPs: '5 string*',
    sessionAffinity: '7 string',
    loadBalancerIP: '8 string',
    loadBalancerSourceRanges: '9 string*',
    externalName: '10 string',
    externalTrafficPolicy: '11 string',
    healthCheckNodePort: '12 int32',
    publishNotReadyAddresses: '13 bool',
    ipFamilies: '19 string*',
    ipFamilyPolicy: '17 string !',
    allocateLoadBalancerNodePorts: '20 bool !',
    loadBalancerClass: '21 string !',
    internalTrafficPolicy: '22 string !',
  },
  ServicePort: {
    name: '1 string',
    protocol: '2 string',
    appProtocol: '6 string !',
    port: '3 int32 !',
    targetPort: '4 IntOrString',
    nodePort: '5 int32',
  },
  ServiceStatus: { loadBalancer: '1 LoadBalancerStatus', conditions: '2 Condition*' },
  LoadBalancerStatus: {},
  Pod: { metadata: meta, spec: '2 PodSpec', status: '3 PodStatus' },
  PodStatus: {
    phase: '1 string',
    conditions: '2 PodCondition*',
    message: '3 string',
    reason: '4 string',
    nominatedNodeName: '11 string',
    hostIP: '5 string',
    podIP: '6 string',
    startTime: '7 Time',
    qosClass: '9 string',
  },
  PodCondition: {
    type: '1 string !',
    status: '2 string !',
    lastProbeTime: '3 Time',
    lastTransitionTime: '4 Time',
    reason: '5 string',
    message: '6 string',
  },
  PodTemplateSpec: { metadata: meta, spec: '2 PodSpec' },
  PodSpec: {
    volumes: '1 Volume*',
    initContainers: '20 Container*',
    containers: '2 Container*',
    restartPolicy: '3 string',
    terminationGracePeriodSeconds: '4 int64 !',
    activeDeadlineSeconds: '5 int64 !',
    dnsPolicy: '6 string',
    nodeSelector: '7 map<string>',
    serviceAccountName: '8 string',
    serviceAccount: '9 string',
    automountServiceAccountToken: '21 bool !',
    nodeName: '10 string',
    hostNetwork: '11 bool',
    hostPID: '12 bool',
    hostIPC: '13 bool',
    shareProcessNamespace: '27 bool !',
    securityContext: '14 PodSecurityContext',
    imagePullSecrets: '15 LocalObjectReference*',
    hostname: '16 string',
    subdomain: '17 string',
    schedulerName: '19 string',
    tolerations: '22 Toleration*',
    priorityClassName: '24 string',
    priority: '25 int32 !',
    enableServiceLinks: '30 bool !',
    preemptionPolicy: '31 string !',
  },
  Container: {
    name: '1 string !',
    image: '2 string',
    command: '3 string*',
    args: '4 string*',
    workingDir: '5 string',
    ports: '6 ContainerPort*',
    envFrom: '19 EnvFromSource*',
    env: '7 EnvVar*',
    resources: '8 ResourceRequirements',
    volumeMounts: '9 VolumeMount*',
    livenessProbe: '10 Probe',
    readinessProbe: '11 Probe',
    startupProbe: '22 Probe',
    lifecycle: '12 Lifecycle',
    terminationMessagePath: '13 string',
    terminationMessagePolicy: '20 string',
    imagePullPolicy: '14 string',
    securityContext: '15 SecurityContext',
    stdin: '16 bool',
    stdinOnce: '17 bool',
    tty: '18 bool',
  },
  ContainerPort: {
    name: '1 string',
    hostPort: '2 int32',
    containerPort: '3 int32 !',
    protocol: '4 string',
    hostIP: '5 string',
  },
  EnvVar: { name: '1 string !', value: '2 string', valueFrom: '3 EnvVarSource' },
  EnvVarSource: {
    fieldRef: '1 ObjectFieldSelector',
    resourceFieldRef: '2 ResourceFieldSelector',
    configMapKeyRef: '3 ConfigMapKeySelector',
    secretKeyRef: '4 SecretKeySelector',
  },
  ObjectFieldSelector: { apiVersion: '1 string', fieldPath: '2 string !' },
  ResourceFieldSelector: {
    containerName: '1 string',
    resource: '2 string !',
    divisor: '3 Quantity',
  },
  ConfigMapKeySelector: {
    ref: '1 LocalObjectReference inline',
    key: '2 string !',
    optional: '3 bool !',
  },
  SecretKeySelector: {
    ref: '1 LocalObjectReference inline',
    key: '2 string !',
    optional: '3 bool !',
  },
  EnvFromSource: {
    prefix: '1 string',
    configMapRef: '2 ConfigMapEnvSource',
    secretRef: '3 SecretEnvSource',
  },
  ConfigMapEnvSource: { ref: '1 LocalObjectReference inline', optional: '2 bool !' },
  SecretEnvSource: { ref: '1 LocalObjectReference inline', optional: '2 bool !' },
  ResourceRequirements: { limits: '1 map<Quantity>', requests: '2 map<Quantity>' },
  VolumeMount: {
    name: '1 string !',
    readOnly: '2 bool',
    mountPath: '3 string !',
    subPath: '4 string',
    mountPropagation: '5 string !',
    subPathExpr: '6 string',
  },
  Volume: { name: '1 string !', source: '2 VolumeSource inline' },
  VolumeSource: {
    hostPath: '1 HostPathVolumeSource',
    emptyDir: '2 EmptyDirVolumeSource',
    secret: '6 SecretVolumeSource',
    persistentVolumeClaim: '10 PersistentVolumeClaimVolumeSource',
    configMap: '19 ConfigMapVolumeSource',
  },
  HostPathVolumeSource: { path: '1 string !', type: '2 string !' },
  EmptyDirVolumeSource: { medium: '1 string', sizeLimit: '2 Quantity' },
  SecretVolumeSource: {
    secretName: '1 string',
    items: '2 KeyToPath*',
    defaultMode: '3 int32 !',
    optional: '4 bool !',
  },
  ConfigMapVolumeSource: {
    ref: '1 LocalObjectReference inline',
    items: '2 KeyToPath*',
    defaultMode: '3 int32 !',
    optional: '4 bool !',
  },
  KeyToPath: { key: '1 string !', path: '2 string !', mode: '3 int32 !' },
  PersistentVolumeClaimVolumeSource: { claimName: '1 string !', readOnly: '2 bool' },
  Probe: {
    handler: '1 ProbeHandler inline',
    initialDelaySeconds: '2 int32',
    timeoutSeconds: '3 int32',
    periodSeconds: '4 int32',
    successThreshold: '5 int32',
    failureThreshold: '6 int32',
    terminationGracePeriodSeconds: '7 int64 !',
  },
  ProbeHandler: {
    exec: '1 ExecAction',
    httpGet: '2 HTTPGetAction',
    tcpSocket: '3 TCPSocketAction',
    grpc: '4 GRPCAction',
  },
  Lifecycle: { postStart: '1 LifecycleHandler', preStop: '2 LifecycleHandler' },
  LifecycleHandler: {
    exec: '1 ExecAction',
    httpGet: '2 HTTPGetAction',
    tcpSocket: '3 TCPSocketAction',
  },
  ExecAction: { command: '1 string*' },
  HTTPGetAction: {
    path: '1 string',
    port: '2 IntOrString',
    host: '3 string',
    scheme: '4 string',
    httpHeaders: '5 HTTPHeader*',
  },
  HTTPHeader: { name: '1 string !', value: '2 string !' },
  TCPSocketAction: { port: '1 IntOrString', host: '2 string' },
  GRPCAction: { port: '1 int32 !', service: '2 string !' },
  SecurityContext: {
    capabilities: '1 Capabilities',
    privileged: '2 bool !',
    runAsUser: '4 int64 !',
    runAsGroup: '8 int64 !',
    runAsNonRoot: '5 bool !',
    readOnlyRootFilesystem: '6 bool !',
    allowPrivilegeEscalation: '7 bool !',
    procMount: '9 string !',
    seccompProfile: '11 SeccompProfile',
  },
  Capabilities: { add: '1 string*', drop: '2 string*' },
  SeccompProfile: { type: '1 string !', localhostProfile: '2 string !' },
  PodSecurityContext: {
    runAsUser: '2 int64 !',
    runAsGroup: '6 int64 !',
    runAsNonRoot: '3 bool !',
    supplementalGroups: '4 int64*',
    fsGroup: '5 int64 !',
    fsGroupChangePolicy: '9 string !',
    seccompProfile: '10 SeccompProfile',
  },
  Toleration: {
    key: '1 string',
    operator: '2 string',
    value: '3 string',
    effect: '4 string',
    tolerationSeconds: '5 int64 !',
  },

  // k8s.io/api apps/v1.
  Deployment: { metadata: meta, spec: '2 DeploymentSpec', status: '3 DeploymentStatus' },
  DeploymentSpec: {
    replicas: '1 int32 !',
    selector: '2 LabelSelector',
    template: '3 PodTemplateSpec',
    strategy: '4 DeploymentStrategy',
    minReadySeconds: '5 int32',
    revisionHistoryLimit: '6 int32 !',
    paused: '7 bool',
    progressDeadlineSeconds: '9 int32 !',
  },
  DeploymentStrategy: { type: '1 string', rollingUpdate: '2 RollingUpdateDeployment' },
  RollingUpdateDeployment: { maxUnavailable: '1 IntOrString', maxSurge: '2 IntOrString' },
  DeploymentStatus: {
    observedGeneration: '1 int64',
    replicas: '2 int32',
    updatedReplicas: '3 int32',
    readyReplicas: '7 int32',
    availableReplicas: '4 int32',
    unavailableReplicas: '5 int32',
    conditions: '6 DeploymentCondition*',
    collisionCount: '8 int32 !',
  },
  DeploymentCondition: {
    type: '1 string !',
    status: '2 string !',
    lastUpdateTime: '6 Time',
    lastTransitionTime: '7 Time',
    reason: '4 string',
    message: '5 string',
  },

  // k8s.io/api batch/v1.
  Job: { metadata: meta, spec: '2 JobSpec', status: '3 JobStatus' },
  JobSpec: {
    parallelism: '1 int32 !',
    completions: '2 int32 !',
    activeDeadlineSeconds: '3 int64 !',
    backoffLimit: '7 int32 !',
    selector: '4 LabelSelector',
    manualSelector: '5 bool !',
    template: '6 PodTemplateSpec',
    ttlSecondsAfterFinished: '8 int32 !',
    completionMode: '9 string !',
    suspend: '10 bool !',
  },
  JobStatus: {
    conditions: '1 JobCondition*',
    startTime: '2 Time',
    completionTime: '3 Time',
    active: '4 int32',
    succeeded: '5 int32',
    failed: '6 int32',
    completedIndexes: '7 string',
    ready: '9 int32 !',
  },
  JobCondition: {
    type: '1 string !',
    status: '2 string !',
    lastProbeTime: '3 Time',
    lastTransitionTime: '4 Time',
    reason: '5 string',
    message: '6 string',
  },

  // k8s.io/api coordination/v1 and autoscaling/v1.
  Lease: { metadata: meta, spec: '2 LeaseSpec' },
  LeaseSpec: {
    holderIdentity: '1 string !',
    leaseDurationSeconds: '2 int32 !',
    acquireTime: '3 MicroTime',
    renewTime: '4 MicroTime',
    leaseTransitions: '5 int32 !',
  },
  Scale: { metadata: meta, spec: '2 ScaleSpec', status: '3 ScaleStatus' },
  ScaleSpec: { replicas: '1 int32' },
  ScaleStatus: { replicas: '1 int32 !', selector: '2 string' },

  // Subresource bodies: core/v1 Binding, policy/v1 Eviction, authentication.k8s.io/v1
  // TokenRequest (what `kubectl create token` sends).
  Binding: { metadata: meta, target: '2 ObjectReference' },
  Eviction: { metadata: meta, deleteOptions: '2 DeleteOptions' },
  TokenRequest: { metadata: meta, spec: '2 TokenRequestSpec', status: '3 TokenRequestStatus' },
  TokenRequestSpec: {
    audiences: '1 string*',
    expirationSeconds: '4 int64 !',
    boundObjectRef: '3 BoundObjectReference',
  },
  BoundObjectReference: {
    kind: '1 string',
    apiVersion: '2 string',
    name: '3 string',
    uid: '4 string',
  },
  TokenRequestStatus: { token: '1 string', expirationTimestamp: '2 Time' },
};

/** The top-level kinds a protobuf body may carry, by `apiVersion/kind`, to their message. */
const KINDS: Readonly<Record<string, string>> = {
  'v1/Namespace': 'Namespace',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Service': 'Service',
  'v1/Pod': 'Pod',
  'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job',
  'coordination.k8s.io/v1/Lease': 'Lease',
  'autoscaling/v1/Scale': 'Scale',
  'v1/Binding': 'Binding',
  'policy/v1/Eviction': 'Eviction',
  'policy/v1beta1/Eviction': 'Eviction',
  'authentication.k8s.io/v1/TokenRequest': 'TokenRequest',
};

/** How a decoded field becomes JSON (parsed from its spec). */
export interface FieldInfo {
  /** JSON name (for an `inline` field, only a label: its fields join the parent). */
  readonly name: string;
  /** A scalar type or a message name; for a map, its value type. */
  readonly type: string;
  readonly repeated: boolean;
  readonly map: boolean;
  /** Zero values are kept (pointer or required fields). */
  readonly keepZero: boolean;
  readonly inline: boolean;
}

const SCALARS: ReadonlySet<string> = new Set(['string', 'bool', 'int32', 'int64', 'bytes']);

function parseField(name: string, spec: string): FieldInfo & { id: number } {
  const [num, rawType, ...flags] = spec.split(' ');
  const repeated = rawType!.endsWith('*');
  const base = repeated ? rawType!.slice(0, -1) : rawType!;
  const mapMatch = /^map<(\w+)>$/.exec(base);
  const type = mapMatch ? mapMatch[1]! : base;
  if (!SCALARS.has(type) && MESSAGES[type] === undefined) {
    throw new Error(`protobuf schema: ${name} names unknown type ${type}`);
  }
  return {
    id: Number(num),
    name,
    type,
    repeated,
    map: mapMatch !== null,
    keepZero: flags.includes('!'),
    inline: flags.includes('inline'),
  };
}

/** Parsed field specs, by message name then field name. */
export const FIELDS: ReadonlyMap<string, readonly FieldInfo[]> = new Map(
  Object.entries(MESSAGES).map(([message, fields]) => [
    message,
    Object.entries(fields).map(([name, spec]) => parseField(name, spec)),
  ]),
);

/** Builds the protobufjs types of the table (package `kubecache`), resolved. */
function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const ns = root.define('kubecache');
  for (const [message, fields] of Object.entries(MESSAGES)) {
    const type = new protobuf.Type(message);
    for (const [name, spec] of Object.entries(fields)) {
      const f = parseField(name, spec);
      type.add(
        f.map
          ? new protobuf.MapField(name, f.id, 'string', f.type)
          : new protobuf.Field(name, f.id, f.type, f.repeated ? 'repeated' : 'optional'),
      );
    }
    ns.add(type);
  }
  root.resolveAll();
  return root;
}

/** The schema as protobufjs types; tests encode with the same types the server decodes with. */
export const kubeProtobuf: protobuf.Root = buildRoot();

/**
 * The protobufjs type of a message of the server's schema subset (`ConfigMap`, `PodSpec`,
 * `Unknown`…), to encode test bodies with the very schema the server decodes with.
 *
 * @example
 * ```ts
 * const raw = protobufMessageType('ConfigMap').encode({ metadata: { name: 'a' }, data: { k: 'v' } }).finish();
 * const unknown = protobufMessageType('Unknown')
 *   .encode({ typeMeta: { apiVersion: 'v1', kind: 'ConfigMap' }, raw })
 *   .finish();
 * const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]); // POST it as application/vnd.kubernetes.protobuf
 * ```
 */
export function protobufMessageType(name: string): protobuf.Type {
  return kubeProtobuf.lookupType(`kubecache.${name}`);
}

/**
 * The message a top-level `apiVersion`/`kind` is decoded with; `undefined` for a kind the table
 * does not model. DeleteOptions is registered in every group version, as on the real server.
 */
export function messageForKind(apiVersion: string, kind: string): string | undefined {
  if (kind === 'DeleteOptions') return 'DeleteOptions';
  return KINDS[`${apiVersion}/${kind}`];
}
