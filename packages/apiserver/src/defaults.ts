/**
 * Defaulting of the modelled kinds, as the real v1.23 server does it when it decodes a create or
 * update body (k8s.io/kubernetes `pkg/apis/core/v1/defaults.go`, `pkg/apis/apps/v1/defaults.go`,
 * the v1 Secret conversion) and what its registry strategies set on create (`PrepareForCreate`).
 * The results are what a client reads back from a real cluster, e.g. for a Deployment:
 *
 * | field                                   | default                                   |
 * | --------------------------------------- | ----------------------------------------- |
 * | `spec.replicas`                         | 1 (also ReplicaSets, StatefulSets)        |
 * | `spec.strategy`                         | RollingUpdate, maxUnavailable/maxSurge 25% |
 * | `spec.revisionHistoryLimit`             | 10 (also DaemonSets, StatefulSets)        |
 * | `spec.progressDeadlineSeconds`          | 600                                       |
 * | `spec.template.metadata`                | `creationTimestamp: null` (Go's encoding) |
 * | pod spec                                | restartPolicy Always, dnsPolicy ClusterFirst, schedulerName default-scheduler, terminationGracePeriodSeconds 30, securityContext {} |
 * | containers                              | terminationMessagePath/Policy, imagePullPolicy (Always for `:latest` or no tag), `resources: {}`, port protocol TCP |
 *
 * Only what the API server itself does is modelled: the admission plugins a cluster enables by
 * default (DefaultTolerationSeconds adds two tolerations to pods, Priority sets `priority: 0` and
 * `preemptionPolicy`) are not. Quantities are kept as written (the real server re-renders them in
 * canonical form, e.g. `0.5` → `500m`).
 */
import type { KubeObject } from '@kubecache/cache';
import { jsonEqual } from './equality.js';
import type { ResourceInfo } from './resources.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `o[key]`, created when missing (a nested default needs its parent). */
function child(o: Json, key: string): Json {
  const value = o[key];
  if (isObject(value)) return value;
  const created: Json = {};
  o[key] = created;
  return created;
}

function setDefault(o: Json, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === null || o[key] === '') o[key] = value;
}

/**
 * The object's own deep copy of `o.spec`, to default in place. A patched body shares every
 * untouched subtree with the stored object (and an in-process caller's object shares its nested
 * values with the caller), and neither may change: defaults write only to copies.
 */
function ownSpec(o: Json): Json {
  const spec: Json = isObject(o['spec']) ? structuredClone(o['spec']) : {};
  o['spec'] = spec;
  return spec;
}

/** Sets one annotation on a copy of the annotations (see {@link ownSpec}). */
function setAnnotation(o: Json, key: string, value: string): void {
  const meta = child(o, 'metadata');
  meta['annotations'] = {
    ...(isObject(meta['annotations']) ? meta['annotations'] : {}),
    [key]: value,
  };
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

// ---------------------------------------------------------------------------------------------
// Images

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const NAME_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-*)[a-z0-9]+)*';
const REFERENCE = new RegExp(
  `^((?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?/)?${NAME_COMPONENT}(?:/${NAME_COMPONENT})*)` +
    '(?::([\\w][\\w.-]{0,127}))?' +
    '(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$',
);

/**
 * The default `imagePullPolicy` of an image: `Always` when its tag is `latest` or it has neither
 * a tag nor a digest, `IfNotPresent` otherwise — including for a reference Docker's parser
 * rejects (upper case in the repository, bad characters), as the real defaulting ignores the error.
 */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  const match = REFERENCE.exec(image);
  if (match === null || match[1]!.length > 255) return 'IfNotPresent';
  // A first path component without `.` or `:` (and not `localhost`) is not a registry: the whole
  // name is then a Docker Hub repository, which must be lower case.
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  const remainder =
    slash >= 0 && (/[.:]/.test(first) || first === 'localhost') ? image.slice(slash + 1) : image;
  const repository = remainder.split(/[:@]/)[0]!;
  if (repository.toLowerCase() !== repository) return 'IfNotPresent';
  const tag = match[2];
  const digest = match[3];
  if (tag === undefined && digest === undefined) return 'Always';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

// ---------------------------------------------------------------------------------------------
// Pod specs

function defaultProbe(probe: unknown): void {
  if (!isObject(probe)) return;
  setDefault(probe, 'timeoutSeconds', 1);
  setDefault(probe, 'periodSeconds', 10);
  setDefault(probe, 'successThreshold', 1);
  setDefault(probe, 'failureThreshold', 3);
  defaultHandler(probe);
}

/** `httpGet` gets path `/` and scheme HTTP (probes and lifecycle handlers). */
function defaultHandler(handler: unknown): void {
  if (!isObject(handler) || !isObject(handler['httpGet'])) return;
  setDefault(handler['httpGet'], 'path', '/');
  setDefault(handler['httpGet'], 'scheme', 'HTTP');
}

function defaultContainer(c: Json, hostNetwork: boolean): void {
  for (const port of objects(c['ports'])) {
    setDefault(port, 'protocol', 'TCP');
    if (hostNetwork && (port['hostPort'] === undefined || port['hostPort'] === 0)) {
      port['hostPort'] = port['containerPort'];
    }
  }
  for (const env of objects(c['env'])) {
    const from = env['valueFrom'];
    if (isObject(from) && isObject(from['fieldRef']))
      setDefault(from['fieldRef'], 'apiVersion', 'v1');
  }
  // ResourceRequirements is a struct, not a pointer: Go always encodes it.
  if (!isObject(c['resources'])) c['resources'] = {};
  defaultProbe(c['livenessProbe']);
  defaultProbe(c['readinessProbe']);
  defaultProbe(c['startupProbe']);
  if (isObject(c['lifecycle'])) {
    defaultHandler(c['lifecycle']['postStart']);
    defaultHandler(c['lifecycle']['preStop']);
  }
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(
    c,
    'imagePullPolicy',
    defaultPullPolicy(typeof c['image'] === 'string' ? c['image'] : ''),
  );
}

const VOLUME_SOURCES_WITH_MODE = ['configMap', 'secret', 'downwardAPI', 'projected'];

function defaultVolume(v: Json): void {
  const sources = Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
  // A volume without a source is an emptyDir.
  if (sources.length === 0) v['emptyDir'] = {};
  for (const key of VOLUME_SOURCES_WITH_MODE) {
    const source = v[key];
    if (isObject(source)) setDefault(source, 'defaultMode', 420);
  }
  if (isObject(v['hostPath']) && v['hostPath']['type'] === undefined) v['hostPath']['type'] = '';
}

/** `SetDefaults_PodSpec` and what it reaches (all containers, ports, probes, volumes). */
function defaultPodSpec(spec: Json): void {
  const hostNetwork = spec['hostNetwork'] === true;
  for (const v of objects(spec['volumes'])) defaultVolume(v);
  for (const c of objects(spec['initContainers'])) defaultContainer(c, hostNetwork);
  for (const c of objects(spec['containers'])) defaultContainer(c, hostNetwork);
  // Ephemeral containers get the container defaults (never host ports).
  for (const c of objects(spec['ephemeralContainers'])) defaultContainer(c, false);
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  if (!isObject(spec['securityContext'])) spec['securityContext'] = {};
  setDefault(spec, 'schedulerName', 'default-scheduler');
}

/** `SetDefaults_Pod`: requests default to limits, `enableServiceLinks` to true. */
function defaultPod(o: Json): void {
  const spec = ownSpec(o);
  for (const c of [...objects(spec['containers']), ...objects(spec['initContainers'])]) {
    const resources = c['resources'];
    if (!isObject(resources) || !isObject(resources['limits'])) continue;
    const requests = child(resources, 'requests');
    for (const [k, v] of Object.entries(resources['limits']))
      if (requests[k] === undefined) requests[k] = v;
  }
  defaultPodSpec(spec);
  if (typeof spec['enableServiceLinks'] !== 'boolean') spec['enableServiceLinks'] = true;
}

/** A workload's pod template: Go encodes the zero `creationTimestamp` as `null`. */
function defaultTemplate(spec: Json): void {
  const template = child(spec, 'template');
  const meta = child(template, 'metadata');
  if (meta['creationTimestamp'] === undefined) meta['creationTimestamp'] = null;
  defaultPodSpec(child(template, 'spec'));
}

// ---------------------------------------------------------------------------------------------
// Quantities and QoS

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;
const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A quantity's value (a double: enough to compare requests with limits); NaN when malformed. */
export function quantityValue(text: unknown): number {
  if (typeof text === 'number') return text;
  if (typeof text !== 'string') return Number.NaN;
  const m = QUANTITY.exec(text.trim());
  if (m === null) return Number.NaN;
  const base = Number(m[1]);
  if (m[2] !== undefined) return base * 10 ** Number(m[2].slice(1));
  return m[3] === undefined ? base : base * SUFFIX[m[3]]!;
}

/** `GetPodQOS` over cpu and memory of every container and init container. */
export function podQosClass(spec: Json): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  for (const c of [...objects(spec['containers']), ...objects(spec['initContainers'])]) {
    const resources = isObject(c['resources']) ? c['resources'] : {};
    const add = (list: unknown, into: Map<string, number>): Set<string> => {
      const found = new Set<string>();
      for (const [name, q] of Object.entries(isObject(list) ? list : {})) {
        if (name !== 'cpu' && name !== 'memory') continue;
        const value = quantityValue(q);
        if (!(value > 0)) continue;
        found.add(name);
        into.set(name, (into.get(name) ?? 0) + value);
      }
      return found;
    };
    add(resources['requests'], requests);
    const limited = add(resources['limits'], limits);
    if (!limited.has('cpu') || !limited.has('memory')) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, value] of requests) if (limits.get(name) !== value) guaranteed = false;
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

// ---------------------------------------------------------------------------------------------
// Per kind

/** Secrets: `stringData` is merged into `data` (winning) and dropped; `type` defaults to Opaque. */
function defaultSecret(o: Json): void {
  const stringData = o['stringData'];
  if (isObject(stringData)) {
    const data: Json = { ...(isObject(o['data']) ? o['data'] : {}) };
    for (const [k, v] of Object.entries(stringData)) {
      data[k] = Buffer.from(typeof v === 'string' ? v : '', 'utf8').toString('base64');
    }
    o['data'] = data;
  }
  delete o['stringData'];
  if (o['data'] !== undefined) o['data'] = canonicalBase64(o['data']);
  setDefault(o, 'type', 'Opaque');
}

/**
 * `[]byte` values are decoded and encoded again: a value that Go's decoder accepts in another
 * spelling (line breaks, non-zero padding bits) is stored in canonical base64; `null` is empty.
 * Returns the map itself when nothing changes, else a copy.
 */
function canonicalBase64(map: unknown): unknown {
  if (!isObject(map)) return map;
  let out: Json | undefined;
  for (const [k, v] of Object.entries(map)) {
    const canonical = typeof v === 'string' ? Buffer.from(v, 'base64').toString('base64') : '';
    if (canonical !== v) (out ??= { ...map })[k] = canonical;
  }
  return out ?? map;
}

/** `SetDefaults_Job`: one completion at parallelism 1, six retries, NonIndexed, not suspended. */
function defaultJob(o: Json): void {
  const spec = ownSpec(o);
  if (spec['completions'] === undefined && spec['parallelism'] === undefined) {
    spec['completions'] = 1;
    spec['parallelism'] = 1;
  }
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'backoffLimit', 6);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  defaultTemplate(spec);
}

const DEFAULTERS: Readonly<Record<string, (o: Json) => void>> = {
  '/secrets': defaultSecret,
  'batch/jobs': defaultJob,
  '/configmaps': (o) => {
    if (o['binaryData'] !== undefined) o['binaryData'] = canonicalBase64(o['binaryData']);
  },
  '/pods': defaultPod,
  'apps/deployments': (o) => {
    const spec = ownSpec(o);
    setDefault(spec, 'replicas', 1);
    const strategy = child(spec, 'strategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate') {
      const rolling = child(strategy, 'rollingUpdate');
      setDefault(rolling, 'maxUnavailable', '25%');
      setDefault(rolling, 'maxSurge', '25%');
    }
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    defaultTemplate(spec);
  },
  'apps/replicasets': (o) => {
    const spec = ownSpec(o);
    setDefault(spec, 'replicas', 1);
    defaultTemplate(spec);
  },
  'apps/daemonsets': (o) => {
    const spec = ownSpec(o);
    const strategy = child(spec, 'updateStrategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate') {
      const rolling = child(strategy, 'rollingUpdate');
      setDefault(rolling, 'maxUnavailable', 1);
      setDefault(rolling, 'maxSurge', 0);
    }
    setDefault(spec, 'revisionHistoryLimit', 10);
    defaultTemplate(spec);
  },
  'apps/statefulsets': (o) => {
    const spec = ownSpec(o);
    setDefault(spec, 'replicas', 1);
    // A string field without omitempty: Go always encodes it.
    if (typeof spec['serviceName'] !== 'string') spec['serviceName'] = '';
    setDefault(spec, 'podManagementPolicy', 'OrderedReady');
    const strategy = child(spec, 'updateStrategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate')
      setDefault(child(strategy, 'rollingUpdate'), 'partition', 0);
    setDefault(spec, 'revisionHistoryLimit', 10);
    defaultTemplate(spec);
  },
};

/**
 * Applies the real server's defaults to a create or update body, in place.
 */
export function applyDefaults(info: ResourceInfo, obj: KubeObject): void {
  if (info.custom) return;
  DEFAULTERS[`${info.group}/${info.resource}`]?.(obj as unknown as Json);
}

/** Where a DaemonSet keeps its template generation in apps/v1 (`spec.templateGeneration` inside). */
const TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

function isDaemonSets(info: ResourceInfo): boolean {
  return info.group === 'apps' && info.resource === 'daemonsets';
}

/**
 * What a registry strategy sets on a new object (`PrepareForCreate`): a pod is `Pending` with its
 * QoS class; apps workloads start from Go's zero status (whose non-omitempty counters encode as
 * 0); a DaemonSet's template generation is 1. `keepStatus` (the in-process helpers' test-setup
 * convenience) keeps a status the caller wrote and only fills one that is missing.
 */
export function prepareForCreate(info: ResourceInfo, obj: KubeObject, keepStatus: boolean): void {
  if (info.custom) return;
  const o = obj as unknown as Json;
  if (isDaemonSets(info)) setAnnotation(o, TEMPLATE_GENERATION, '1');
  if (info.group === 'batch' && info.resource === 'jobs') generateJobSelector(o);
  if (keepStatus && isObject(o['status']) && Object.keys(o['status']).length > 0) return;
  const status = INITIAL_STATUS[`${info.group}/${info.resource}`];
  if (status !== undefined) o['status'] = status(o);
}

/**
 * The job registry's `generateSelector` (unless `spec.manualSelector`): the template gets
 * `controller-uid` (the Job's uid) and `job-name` labels, the selector matches `controller-uid`.
 * A Job without labels then shows its template's, as the real server's defaulting gives it when
 * the stored object is read back.
 */
function generateJobSelector(o: Json): void {
  const spec = ownSpec(o);
  const meta = child(o, 'metadata');
  if (spec['manualSelector'] !== true) {
    const uid = typeof meta['uid'] === 'string' ? meta['uid'] : '';
    const template = child(spec, 'template');
    const templateMeta = child(template, 'metadata');
    const labels = { ...(isObject(templateMeta['labels']) ? templateMeta['labels'] : {}) };
    labels['job-name'] ??= meta['name'];
    labels['controller-uid'] ??= uid;
    templateMeta['labels'] = labels;
    const selector = child(spec, 'selector');
    const matchLabels = { ...(isObject(selector['matchLabels']) ? selector['matchLabels'] : {}) };
    matchLabels['controller-uid'] ??= uid;
    selector['matchLabels'] = matchLabels;
  }
  const templateLabels = child(child(spec, 'template'), 'metadata')['labels'];
  const own = meta['labels'];
  if ((!isObject(own) || Object.keys(own).length === 0) && isObject(templateLabels)) {
    meta['labels'] = { ...templateLabels };
  }
}

/**
 * What a registry strategy carries over on update (`PrepareForUpdate`): a DaemonSet's template
 * generation, bumped when its template changes.
 */
export function prepareForUpdate(info: ResourceInfo, obj: KubeObject, old: KubeObject): void {
  if (!isDaemonSets(info)) return;
  const o = obj as unknown as Json;
  const before = (old as unknown as Json)['spec'];
  const oldGeneration = Number(old.metadata?.annotations?.[TEMPLATE_GENERATION] ?? '0');
  const changed = !jsonEqual(
    isObject(before) ? before['template'] : undefined,
    isObject(o['spec']) ? o['spec']['template'] : undefined,
  );
  setAnnotation(o, TEMPLATE_GENERATION, String(changed ? oldGeneration + 1 : oldGeneration));
}

const INITIAL_STATUS: Readonly<Record<string, (o: Json) => Json>> = {
  '/pods': (o) => ({ phase: 'Pending', qosClass: podQosClass(child(o, 'spec')) }),
  'batch/jobs': () => ({}),
  'apps/deployments': () => ({}),
  'apps/replicasets': () => ({ replicas: 0 }),
  'apps/statefulsets': () => ({ replicas: 0, availableReplicas: 0 }),
  'apps/daemonsets': () => ({
    currentNumberScheduled: 0,
    numberMisscheduled: 0,
    desiredNumberScheduled: 0,
    numberReady: 0,
  }),
};
