/**
 * Per-kind field labels: which fields a `fieldSelector` may name for each kind, and the value an
 * object has for each of them.
 *
 * The real server does this in two steps, both modelled here: the kind's field-label conversion
 * (`AddFieldLabelConversionFunc`, e.g. pkg/apis/core/v1/conversion.go) accepts or refuses a label
 * with the kind's own 400 text, then the kind's `GetAttrs`/`ToSelectableFields` gives each object's
 * values. Kinds without a conversion function accept only `metadata.name` and `metadata.namespace`
 * (apimachinery's default), which is why apps/v1 ReplicaSets refuse `status.replicas` even though
 * their storage computes it. Values are the Go fields' string forms: a missing string is `''`, a
 * missing bool `'false'`, a missing integer `'0'`.
 */
import type { KubeObject } from '@kubecache/cache';
import type { ResourceInfo } from './resources.js';
import { apiVersionOf } from './resources.js';

/** An object's value for one field label. */
export type FieldValue = (obj: KubeObject) => string;

/** The field labels of one kind. */
export interface FieldLabels {
  /** Selector label → the object's value for it. */
  readonly fields: ReadonlyMap<string, FieldValue>;
  /** The 400 message when a selector names a label the kind does not support. */
  unsupported(label: string): string;
}

/** The value at a dotted path of the object's JSON, or undefined. */
function at(obj: KubeObject, path: string): unknown {
  let value: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A string field (Go `string`): missing is `''`. */
function str(path: string): FieldValue {
  return (obj) => {
    const value = at(obj, path);
    return value === undefined || value === null ? '' : String(value);
  };
}

/** A bool field, as `fmt.Sprint` writes it: missing is `'false'`. */
function bool(path: string): FieldValue {
  return (obj) => String(at(obj, path) === true);
}

/** An int32 field, as `strconv.Itoa` writes it: missing is `'0'`. */
function int(path: string): FieldValue {
  return (obj) => {
    const value = at(obj, path);
    return typeof value === 'number' ? String(Math.trunc(value)) : '0';
  };
}

const NAME: readonly [string, FieldValue] = ['metadata.name', str('metadata.name')];
const NAMESPACE: readonly [string, FieldValue] = ['metadata.namespace', str('metadata.namespace')];

/** The text of a core/v1 or events/v1 conversion function (and of custom resources). */
const notSupported = (label: string): string => `field label not supported: ${label}`;

function labels(
  fields: readonly (readonly [string, FieldValue])[],
  unsupported: (label: string) => string = notSupported,
): FieldLabels {
  return { fields: new Map(fields), unsupported };
}

/**
 * apimachinery's `DefaultMetaV1FieldSelectorConversion`, for kinds without a conversion function.
 * A cluster-scoped object has no namespace field, so `metadata.namespace` reads as `''`.
 */
const DEFAULT_LABELS = labels(
  [NAME, NAMESPACE],
  (label) => `"${label}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
);

/**
 * A pod's `status.podIP`: the first of the internal `podIPs`, which conversion from v1 fills from
 * `status.podIP` when set (it wins over `podIPs`) and from `status.podIPs` otherwise.
 */
const podIP: FieldValue = (obj) => {
  const single = at(obj, 'status.podIP');
  if (typeof single === 'string' && single !== '') return single;
  const list = at(obj, 'status.podIPs');
  return Array.isArray(list) ? str('ip')(list[0] as KubeObject) : '';
};

/** A core event's `source`: `source.component`, else the reporting controller. */
const eventSource: FieldValue = (obj) =>
  str('source.component')(obj) || str('reportingComponent')(obj);

/**
 * The kinds with their own conversion function, by `apiVersion/kind`. ReplicationControllers and
 * batch/v1 Jobs are listed for when those resources are served.
 */
const BY_KIND: ReadonlyMap<string, FieldLabels> = new Map([
  [
    'v1/Pod',
    labels([
      NAME,
      NAMESPACE,
      ['spec.nodeName', str('spec.nodeName')],
      ['spec.restartPolicy', str('spec.restartPolicy')],
      ['spec.schedulerName', str('spec.schedulerName')],
      ['spec.serviceAccountName', str('spec.serviceAccountName')],
      ['status.phase', str('status.phase')],
      ['status.podIP', podIP],
      // Accepted by the conversion but absent from the pod's selectable fields: always ''.
      ['status.podIPs', () => ''],
      ['status.nominatedNodeName', str('status.nominatedNodeName')],
      // Old clients' name for spec.nodeName, converted by the real server.
      ['spec.host', str('spec.nodeName')],
    ]),
  ],
  ['v1/Node', labels([NAME, ['spec.unschedulable', bool('spec.unschedulable')]])],
  ['v1/Namespace', labels([NAME, ['status.phase', str('status.phase')]])],
  ['v1/Secret', labels([NAME, NAMESPACE, ['type', str('type')]])],
  [
    'v1/ReplicationController',
    labels([NAME, NAMESPACE, ['status.replicas', int('status.replicas')]]),
  ],
  [
    'v1/Event',
    labels([
      NAME,
      NAMESPACE,
      ['involvedObject.kind', str('involvedObject.kind')],
      ['involvedObject.namespace', str('involvedObject.namespace')],
      ['involvedObject.name', str('involvedObject.name')],
      ['involvedObject.uid', str('involvedObject.uid')],
      ['involvedObject.apiVersion', str('involvedObject.apiVersion')],
      ['involvedObject.resourceVersion', str('involvedObject.resourceVersion')],
      ['involvedObject.fieldPath', str('involvedObject.fieldPath')],
      ['reason', str('reason')],
      ['reportingComponent', str('reportingComponent')],
      ['source', eventSource],
      ['type', str('type')],
    ]),
  ],
  [
    // events.k8s.io names the same fields differently (`regarding`, `reportingController`); here
    // its objects are stored in their own shape, so the values are read from those names.
    'events.k8s.io/v1/Event',
    labels([
      NAME,
      NAMESPACE,
      ['regarding.kind', str('regarding.kind')],
      ['regarding.namespace', str('regarding.namespace')],
      ['regarding.name', str('regarding.name')],
      ['regarding.uid', str('regarding.uid')],
      ['regarding.apiVersion', str('regarding.apiVersion')],
      ['regarding.resourceVersion', str('regarding.resourceVersion')],
      ['regarding.fieldPath', str('regarding.fieldPath')],
      ['reason', str('reason')],
      ['reportingController', str('reportingController')],
      ['type', str('type')],
    ]),
  ],
  [
    'batch/v1/Job',
    labels(
      [NAME, NAMESPACE, ['status.successful', int('status.succeeded')]],
      (label) => `field label "${label}" not supported for Job`,
    ),
  ],
]);

/** Custom resources: `metadata.name`, and `metadata.namespace` when namespaced. */
const CUSTOM_NAMESPACED = labels([NAME, NAMESPACE]);
const CUSTOM_CLUSTER = labels([NAME]);

/** The field labels a resource's kind supports. */
export function fieldLabelsOf(info: ResourceInfo): FieldLabels {
  if (info.custom) return info.namespaced ? CUSTOM_NAMESPACED : CUSTOM_CLUSTER;
  return BY_KIND.get(`${apiVersionOf(info)}/${info.kind}`) ?? DEFAULT_LABELS;
}
