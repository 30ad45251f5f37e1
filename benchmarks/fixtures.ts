import { seededRandom } from '@kubecache/cache';
// Realistic benchmark objects, shaped like what a real API server returns: ConfigMaps of about
// 1 KB and Pods of about 4 KB, each with labels, annotations, ownerReferences, managedFields and
// (for Pods) a full status. Everything is derived from the object's index and a seed, so every
// run, every process and every implementation sees exactly the same bytes.
import type { KubeObject } from '@kubecache/cache';

/** The kinds of object the benchmarks generate. */
export type FixtureKind = 'configmaps' | 'pods';

/** Options of {@link makeObject}. */
export interface FixtureOptions {
  /** Which kind of object. */
  kind: FixtureKind;
  /** Index of the object in the data set (its identity: name, namespace, uid, labels). */
  index: number;
  /** The resourceVersion to stamp on the object. */
  resourceVersion: number;
  /** Generation of the object's content; a watch MODIFIED event bumps it. Default 0. */
  generation?: number;
  /** Seed of the data set. Default 1. */
  seed?: number;
}

/** Number of namespaces objects are spread over. */
export const NAMESPACES = 50;
/** Number of distinct `app.kubernetes.io/name` label values. */
export const APPS = 1000;
/** The label every object carries with one of {@link APPS} values. */
export const APP_LABEL = 'app.kubernetes.io/name';
const TIERS = ['frontend', 'backend', 'cache', 'batch'];

const HEX = '0123456789abcdef';
const ALNUM = 'bcdfghjklmnpqrstvwxz2456789';

function chars(next: () => number, alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(next() * alphabet.length)];
  return out;
}

function uuid(next: () => number): string {
  return `${chars(next, HEX, 8)}-${chars(next, HEX, 4)}-4${chars(next, HEX, 3)}-a${chars(next, HEX, 3)}-${chars(next, HEX, 12)}`;
}

function timestamp(seconds: number): string {
  return new Date(Date.UTC(2026, 0, 1) + seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** The namespace of object `index`. */
export function namespaceOf(index: number): string {
  return `team-${String(index % NAMESPACES).padStart(2, '0')}`;
}

/** The `app.kubernetes.io/name` label value of object `index`. */
export function appOf(index: number): string {
  return `app-${(index * 7919) % APPS}`;
}

/**
 * One deterministic object.
 *
 * @example
 * ```ts
 * const pod = makeObject({ kind: 'pods', index: 42, resourceVersion: 1000 });
 * ```
 */
export function makeObject(options: FixtureOptions): KubeObject {
  return options.kind === 'pods' ? makePod(options) : makeConfigMap(options);
}

function makeConfigMap(o: FixtureOptions): KubeObject {
  const seed = o.seed ?? 1;
  const gen = o.generation ?? 0;
  const next = seededRandom(seed * 1_000_003 + o.index);
  const app = appOf(o.index);
  // The index keeps names unique; the random part makes them look (and hash) like real ones.
  const suffix = `${chars(next, ALNUM, 3)}${o.index.toString(36)}`;
  const uid = uuid(next);
  const ownerUid = uuid(seededRandom(seed * 7 + (o.index % 5000)));
  const created = timestamp(o.index);
  const tier = TIERS[o.index % TIERS.length];
  const bump = seededRandom(seed * 31 + o.index * 17 + gen);
  const obj = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${app}-config-${suffix}`,
      namespace: namespaceOf(o.index),
      uid,
      resourceVersion: String(o.resourceVersion),
      creationTimestamp: created,
      labels: {
        [APP_LABEL]: app,
        'app.kubernetes.io/part-of': `system-${o.index % 20}`,
        tier,
      },
      annotations: { 'example.com/revision': String(gen + 1) },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: app,
          uid: ownerUid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'helm',
          operation: 'Update',
          apiVersion: 'v1',
          time: timestamp(o.index + gen * 60),
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:data': { '.': {}, 'f:application.properties': {}, 'f:endpoint': {} },
            'f:metadata': {
              'f:annotations': { '.': {}, 'f:example.com/revision': {} },
              'f:labels': {
                '.': {},
                [`f:${APP_LABEL}`]: {},
                'f:app.kubernetes.io/part-of': {},
                'f:tier': {},
              },
              'f:ownerReferences': { '.': {}, [`k:{"uid":"${ownerUid}"}`]: {} },
            },
          },
        },
      ],
    },
    data: {
      'application.properties': `server.port=8080\nlogging.level=${gen % 2 === 0 ? 'info' : 'debug'}\ncache.ttl=${Math.floor(bump() * 600)}\nfeature.flags=${chars(bump, HEX, 40)}\n`,
      endpoint: `https://${app}.${namespaceOf(o.index)}.svc.cluster.local:8443/v1`,
    },
  };
  return obj;
}

function makePod(o: FixtureOptions): KubeObject {
  const seed = o.seed ?? 1;
  const gen = o.generation ?? 0;
  const next = seededRandom(seed * 1_000_033 + o.index);
  const app = appOf(o.index);
  const ns = namespaceOf(o.index);
  const hash = chars(next, ALNUM, 10);
  const name = `${app}-${hash}-${chars(next, ALNUM, 2)}${o.index.toString(36).padStart(4, '0')}`;
  const uid = uuid(next);
  const rsUid = uuid(seededRandom(seed * 11 + (o.index % 5000)));
  const created = o.index;
  const node = `node-${String(o.index % 300).padStart(3, '0')}`;
  const podIp = `10.${(o.index >> 16) & 255}.${(o.index >> 8) & 255}.${o.index & 255}`;
  const hostIp = `192.168.${Math.floor((o.index % 300) / 250)}.${(o.index % 250) + 1}`;
  const image = `registry.example.com/${ns}/${app}:1.${o.index % 40}.${gen % 7}`;
  const imageId = `registry.example.com/${ns}/${app}@sha256:${chars(next, HEX, 64)}`;
  const containerId = `containerd://${chars(next, HEX, 64)}`;
  const restarts = gen % 5;
  const started = timestamp(created + 12 + gen * 30);
  const obj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `${app}-${hash}-`,
      namespace: ns,
      uid,
      resourceVersion: String(o.resourceVersion),
      creationTimestamp: timestamp(created),
      labels: {
        [APP_LABEL]: app,
        'app.kubernetes.io/part-of': `system-${o.index % 20}`,
        'pod-template-hash': hash,
        tier: TIERS[o.index % TIERS.length],
      },
      annotations: {
        'kubectl.kubernetes.io/restartedAt': timestamp(created - 3600),
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${app}-${hash}`,
          uid: rsUid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: timestamp(created),
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:kubectl.kubernetes.io/restartedAt': {},
                'f:prometheus.io/port': {},
                'f:prometheus.io/scrape': {},
              },
              'f:generateName': {},
              'f:labels': {
                '.': {},
                [`f:${APP_LABEL}`]: {},
                'f:app.kubernetes.io/part-of': {},
                'f:pod-template-hash': {},
                'f:tier': {},
              },
              'f:ownerReferences': { '.': {}, [`k:{"uid":"${rsUid}"}`]: {} },
            },
            'f:spec': {
              'f:containers': {
                'k:{"name":"app"}': {
                  '.': {},
                  'f:env': {
                    '.': {},
                    'k:{"name":"LOG_LEVEL"}': { '.': {}, 'f:name': {}, 'f:value': {} },
                    'k:{"name":"POD_NAME"}': { '.': {}, 'f:name': {}, 'f:valueFrom': {} },
                  },
                  'f:image': {},
                  'f:imagePullPolicy': {},
                  'f:name': {},
                  'f:ports': { '.': {}, 'k:{"containerPort":8080,"protocol":"TCP"}': {} },
                  'f:resources': { '.': {}, 'f:limits': {}, 'f:requests': {} },
                },
              },
              'f:dnsPolicy': {},
              'f:restartPolicy': {},
              'f:schedulerName': {},
              'f:terminationGracePeriodSeconds': {},
            },
          },
        },
        {
          manager: 'kubelet',
          operation: 'Update',
          apiVersion: 'v1',
          time: started,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:status': {
              'f:conditions': {
                'k:{"type":"ContainersReady"}': { '.': {}, 'f:status': {}, 'f:type': {} },
                'k:{"type":"Initialized"}': { '.': {}, 'f:status': {}, 'f:type': {} },
                'k:{"type":"Ready"}': { '.': {}, 'f:status': {}, 'f:type': {} },
              },
              'f:containerStatuses': {},
              'f:hostIP': {},
              'f:phase': {},
              'f:podIP': {},
              'f:podIPs': { '.': {}, [`k:{"ip":"${podIp}"}`]: { '.': {}, 'f:ip': {} } },
              'f:startTime': {},
            },
          },
          subresource: 'status',
        },
      ],
    },
    spec: {
      containers: [
        {
          name: 'app',
          image,
          imagePullPolicy: 'IfNotPresent',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'LOG_LEVEL', value: gen % 2 === 0 ? 'info' : 'debug' },
            {
              name: 'POD_NAME',
              valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
            },
          ],
          resources: {
            limits: { cpu: '500m', memory: '512Mi' },
            requests: { cpu: '100m', memory: '128Mi' },
          },
          volumeMounts: [
            {
              name: 'kube-api-access-' + chars(next, ALNUM, 5),
              readOnly: true,
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
            },
          ],
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      nodeName: node,
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {
      phase: 'Running',
      conditions: [
        {
          type: 'Initialized',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: timestamp(created + 1),
        },
        {
          type: 'Ready',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: started,
        },
        {
          type: 'ContainersReady',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: started,
        },
        {
          type: 'PodScheduled',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: timestamp(created),
        },
      ],
      hostIP: hostIp,
      hostIPs: [{ ip: hostIp }],
      podIP: podIp,
      podIPs: [{ ip: podIp }],
      startTime: timestamp(created + 1),
      containerStatuses: [
        {
          name: 'app',
          state: { running: { startedAt: started } },
          lastState:
            restarts > 0
              ? {
                  terminated: {
                    exitCode: 137,
                    reason: 'OOMKilled',
                    startedAt: timestamp(created + 5),
                    finishedAt: timestamp(created + 11 + gen * 30),
                    containerID: containerId,
                  },
                }
              : {},
          ready: true,
          restartCount: restarts,
          image,
          imageID: imageId,
          containerID: containerId,
          started: true,
        },
      ],
      qosClass: 'Burstable',
    },
  };
  // The service-account token volume the container mounts, declared as a real pod declares it
  // (an API server refuses a mount of an undeclared volume).
  (obj.spec as Record<string, unknown>)['volumes'] = [
    {
      name: obj.spec.containers[0]!.volumeMounts[0]!.name,
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          {
            configMap: {
              name: 'kube-root-ca.crt',
              items: [{ key: 'ca.crt', path: 'ca.crt' }],
            },
          },
          {
            downwardAPI: {
              items: [
                {
                  path: 'namespace',
                  fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                },
              ],
            },
          },
        ],
        defaultMode: 420,
      },
    },
  ];
  return obj;
}

/**
 * The metadata-only view of an object, as the API server returns it for
 * `Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`.
 *
 * @example
 * ```ts
 * const partial = toPartialObjectMetadata(makeObject({ kind: 'pods', index: 1, resourceVersion: 1 }));
 * ```
 */
export function toPartialObjectMetadata(obj: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/**
 * The kind name of a list of `kind`.
 *
 * @example
 * ```ts
 * listKind('pods'); // 'PodList'
 * ```
 */
export function listKind(kind: FixtureKind): string {
  return kind === 'pods' ? 'PodList' : 'ConfigMapList';
}
