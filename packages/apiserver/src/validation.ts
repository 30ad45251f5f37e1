/**
 * Validation of the modelled kinds, as the real v1.23 registry strategies run it (k8s.io/kubernetes
 * `pkg/apis/core/validation`, `pkg/apis/apps/validation`, and apimachinery's object-meta checks).
 * Every rule returns field errors in the order the Go code appends them; a 422 `Invalid` Status
 * carries them all as causes (status.ts `invalid` joins the distinct messages).
 *
 * Create runs the kind's `Validate` (its metadata with the kind's name rule, then its spec).
 * Update runs what `BeforeUpdate` runs: the common metadata checks twice (once as on create with
 * the path-segment name rule, once as the update rule), then the kind's `ValidateUpdate`, which
 * for most kinds repeats the metadata checks once or twice more. So an invalid label on an update
 * is reported three or four times, as the real server does (the Status message lists it once).
 * The tables below say which kinds do which.
 *
 * Deliberately not modelled (see the README's gaps): pod spec immutability on update, quantities,
 * probes, security contexts, affinity, tolerations, volume sources, Services' and Events' own
 * rules, and custom resource schemas.
 */
import type { KubeObject } from '@kubecache/cache';
import { labelSelectorFromObject } from '@kubecache/cache';
import { jsonEqual } from './equality.js';
import {
  duplicate,
  forbidden,
  goSyntax,
  immutable,
  invalidValue,
  notFound,
  notSupported,
  required,
  tooLong,
} from './field-errors.js';
import type { FieldError, LabelSelectorJson } from './field-errors.js';
import {
  isConfigMapKey,
  isDns1123Label,
  isQualifiedName,
  isValidLabelValue,
  nameIsDns1035Label,
  nameIsDnsLabel,
  nameIsDnsSubdomain,
} from './name-formats.js';
import type { NameCheck } from './name-formats.js';
import type { ResourceInfo } from './resources.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function obj(value: unknown): Json {
  return isObject(value) ? value : {};
}
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}
function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
function stringMap(value: unknown): Record<string, string> | undefined {
  return isObject(value) ? (value as Record<string, string>) : undefined;
}
function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** The total size of a Secret's data or a ConfigMap's data + binaryData (`core.MaxSecretSize`). */
const MAX_DATA_BYTES = 1024 * 1024;
/** `TotalAnnotationSizeLimitB`. */
const MAX_ANNOTATION_BYTES = 256 * 1024;
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

// ---------------------------------------------------------------------------------------------
// Object metadata

/** `ValidateLabels`: every key a qualified name, every value a label value. */
export function validateLabels(labels: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(obj(labels))) {
    for (const msg of isQualifiedName(k)) errs.push(invalidValue(field, k, msg));
    for (const msg of isValidLabelValue(str(v))) errs.push(invalidValue(field, str(v), msg));
  }
  return errs;
}

/** `ValidateAnnotations`: keys are qualified names (checked lower-cased); 256 KiB in total. */
function validateAnnotations(annotations: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(obj(annotations))) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(invalidValue(field, k, msg));
    size += utf8Length(k) + utf8Length(str(v));
  }
  if (size > MAX_ANNOTATION_BYTES) errs.push(tooLong(field, MAX_ANNOTATION_BYTES));
  return errs;
}

/** `ValidateOwnerReferences` (the per-reference checks). */
function validateOwnerReferences(refs: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const raw of list(refs)) {
    const ref = obj(raw);
    const apiVersion = str(ref['apiVersion']);
    const version = apiVersion.includes('/') ? apiVersion.split('/')[1]! : apiVersion;
    if (version === '')
      errs.push(invalidValue(`${field}.apiVersion`, apiVersion, 'version must not be empty'));
    if (str(ref['kind']) === '')
      errs.push(invalidValue(`${field}.kind`, '', 'kind must not be empty'));
    if (str(ref['name']) === '')
      errs.push(invalidValue(`${field}.name`, '', 'name must not be empty'));
    if (str(ref['uid']) === '')
      errs.push(invalidValue(`${field}.uid`, '', 'uid must not be empty'));
  }
  return errs;
}

/** apimachinery's `ValidateFinalizers`. */
function validateFinalizers(finalizers: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = list(finalizers).map(str);
  for (const f of names)
    for (const msg of isQualifiedName(f)) errs.push(invalidValue(field, f, msg));
  if (names.includes('orphan') && names.includes('foregroundDeletion')) {
    errs.push(
      invalidValue(
        field,
        goSyntax.stringList(names),
        'finalizer orphan and foregroundDeletion cannot be both set',
      ),
    );
  }
  return errs;
}

/** Core's extra finalizer rule: a name without `/` must be a standard one. */
function validateKubeFinalizers(finalizers: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  list(finalizers).forEach((raw, i) => {
    const f = str(raw);
    if (!f.includes('/') && !STANDARD_FINALIZERS.has(f)) {
      errs.push(
        invalidValue(
          `${field}[${i}]`,
          f,
          'name is neither a standard finalizer name nor is it fully qualified',
        ),
      );
    }
  });
  return errs;
}

/** apimachinery's `ValidateObjectMeta` (plus core's finalizer rule for built-in kinds). */
function validateObjectMeta(
  meta: Json,
  namespaced: boolean,
  nameCheck: NameCheck,
  core: boolean,
  old?: Json,
): FieldError[] {
  const errs: FieldError[] = [];
  const generateName = str(meta['generateName']);
  if (generateName !== '') {
    for (const msg of nameCheck(generateName, true))
      errs.push(invalidValue('metadata.generateName', generateName, msg));
  }
  const name = str(meta['name']);
  if (name === '') errs.push(required('metadata.name', 'name or generateName is required'));
  else
    for (const msg of nameCheck(name, false)) errs.push(invalidValue('metadata.name', name, msg));
  if (namespaced) {
    const ns = str(meta['namespace']);
    if (ns === '') errs.push(required('metadata.namespace'));
    else
      for (const msg of nameIsDnsLabel(ns, false))
        errs.push(invalidValue('metadata.namespace', ns, msg));
  }
  errs.push(...metaContentErrors(meta, old));
  errs.push(...validateFinalizers(meta['finalizers'], 'metadata.finalizers'));
  if (core) errs.push(...validateKubeFinalizers(meta['finalizers'], 'metadata.finalizers'));
  return errs;
}

/**
 * Labels, annotations and owner references: checked on create and on every update pass. On an
 * update, a map that is the stored object's own (a patch shares unchanged subtrees) is valid.
 */
function metaContentErrors(meta: Json, old?: Json): FieldError[] {
  const same = (key: string) =>
    old !== undefined && meta[key] !== undefined && meta[key] === old[key];
  return [
    ...(same('labels') ? [] : validateLabels(meta['labels'], 'metadata.labels')),
    ...(same('annotations')
      ? []
      : validateAnnotations(meta['annotations'], 'metadata.annotations')),
    ...(same('ownerReferences')
      ? []
      : validateOwnerReferences(meta['ownerReferences'], 'metadata.ownerReferences')),
  ];
}

/**
 * `ValidateObjectMetaUpdate` (the server has already carried over uid, creationTimestamp and the
 * deletion fields, and checked name and namespace against the URL).
 */
function validateObjectMetaUpdate(meta: Json, old: Json, core: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (old['deletionTimestamp'] !== undefined) {
    const before = new Set(list(old['finalizers']).map(str));
    const added = [...new Set(list(meta['finalizers']).map(str))].filter((f) => !before.has(f));
    if (added.length > 0) {
      errs.push(
        forbidden(
          'metadata.finalizers',
          `no new finalizers can be added if the object is being deleted, found new finalizers ${goSyntax.stringList(added.sort()).goSyntax}`,
        ),
      );
    }
  }
  errs.push(...metaContentErrors(meta, old));
  if (core) errs.push(...validateKubeFinalizers(meta['finalizers'], 'metadata.finalizers'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// ConfigMaps and Secrets

function validateConfigMap(o: Json, old?: Json): FieldError[] {
  // Unchanged content (a patch shares it with the stored, valid object) needs no second look.
  if (old !== undefined && o['data'] === old['data'] && o['binaryData'] === old['binaryData'])
    return [];
  const errs: FieldError[] = [];
  const data = obj(o['data']);
  const binary = obj(o['binaryData']);
  let chars = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const msg of isConfigMapKey(k)) errs.push(invalidValue(`data[${k}]`, k, msg));
    if (k in binary)
      errs.push(invalidValue(`data[${k}]`, k, 'duplicate of key present in binaryData'));
    chars += str(v).length;
  }
  let size = 0;
  for (const [k, v] of Object.entries(binary)) {
    for (const msg of isConfigMapKey(k)) errs.push(invalidValue(`binaryData[${k}]`, k, msg));
    size += Buffer.byteLength(str(v), 'base64');
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when that bound is too high.
  size +=
    chars * 3 + size <= MAX_DATA_BYTES
      ? chars
      : Object.values(data).reduce<number>((n, v) => n + utf8Length(str(v)), 0);
  // The real path is `field.NewPath("")`, which prints as `[]`.
  if (size > MAX_DATA_BYTES) errs.push(tooLong('[]', MAX_DATA_BYTES));
  return errs;
}

/** The keys a typed Secret must carry (`ValidateSecret`'s switch on the type). */
function validateSecretData(o: Json): FieldError[] {
  const errs: FieldError[] = [];
  const data = obj(o['data']);
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const msg of isConfigMapKey(k)) errs.push(invalidValue(`data[${k}]`, k, msg));
    size += Buffer.byteLength(str(v), 'base64');
  }
  if (size > MAX_DATA_BYTES) errs.push(tooLong('data', MAX_DATA_BYTES));
  const has = (key: string) => key in data;
  switch (str(o['type'])) {
    case 'kubernetes.io/service-account-token': {
      const annotations = obj(obj(o['metadata'])['annotations']);
      if (str(annotations['kubernetes.io/service-account.name']) === '') {
        errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    }
    case 'kubernetes.io/dockercfg':
      if (!has('.dockercfg')) errs.push(required('data[.dockercfg]'));
      break;
    case 'kubernetes.io/dockerconfigjson':
      if (!has('.dockerconfigjson')) errs.push(required('data[.dockerconfigjson]'));
      break;
    case 'kubernetes.io/basic-auth':
      // Upstream's path really is the literal `data[%s]` (a format string used as a name).
      if (!has('username') && !has('password')) {
        errs.push(required('data[%s][username]'), required('data[%s][password]'));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (str(data['ssh-privatekey']) === '') errs.push(required('data[%s][ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) errs.push(required('data[tls.crt]'));
      if (!has('tls.key')) errs.push(required('data[tls.key]'));
      break;
    default:
      break;
  }
  return errs;
}

/** ConfigMaps' and Secrets' `immutable: true`: neither the flag nor the content may change. */
function immutableContent(o: Json, old: Json, fields: readonly string[]): FieldError[] {
  if (old['immutable'] !== true) return [];
  const errs: FieldError[] = [];
  const detail = 'field is immutable when `immutable` is set';
  if (o['immutable'] !== true) errs.push(forbidden('immutable', detail));
  for (const f of fields) if (!jsonEqual(o[f], old[f])) errs.push(forbidden(f, detail));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Pod specs

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const ENV_NAME_MSG =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";
const PORT_RANGE_MSG = 'must be between 1 and 65535, inclusive';

function validatePort(value: unknown, field: string, allowZero: boolean): FieldError[] {
  const n = typeof value === 'number' ? value : 0;
  if (n === 0) return allowZero ? [] : [required(field)];
  return n < 1 || n > 65535 ? [invalidValue(field, n, PORT_RANGE_MSG)] : [];
}

function validateContainers(
  containers: unknown[],
  volumes: ReadonlySet<string>,
  field: string,
): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  containers.forEach((raw, i) => {
    const c = obj(raw);
    const at = `${field}[${i}]`;
    const name = str(c['name']);
    if (name === '') errs.push(required(`${at}.name`));
    else for (const msg of isDns1123Label(name)) errs.push(invalidValue(`${at}.name`, name, msg));
    if (names.has(name)) errs.push(duplicate(`${at}.name`, name));
    else names.add(name);
    if (str(c['image']) === '') errs.push(required(`${at}.image`));
    const tmp = str(c['terminationMessagePolicy']);
    if (tmp === '') {
      errs.push(
        required(`${at}.terminationMessagePolicy`, "must be 'File' or 'FallbackToLogsOnError'"),
      );
    } else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') {
      errs.push(
        invalidValue(
          `${at}.terminationMessagePolicy`,
          tmp,
          "must be 'File' or 'FallbackToLogsOnError'",
        ),
      );
    }
    list(c['ports']).forEach((rawPort, j) => {
      const p = obj(rawPort);
      const pat = `${at}.ports[${j}]`;
      errs.push(...validatePort(p['containerPort'], `${pat}.containerPort`, false));
      errs.push(...validatePort(p['hostPort'], `${pat}.hostPort`, true));
      const protocol = str(p['protocol']);
      if (protocol === '') errs.push(required(`${pat}.protocol`));
      else if (!['SCTP', 'TCP', 'UDP'].includes(protocol))
        errs.push(notSupported(`${pat}.protocol`, protocol, ['SCTP', 'TCP', 'UDP']));
    });
    list(c['env']).forEach((rawEnv, j) => {
      const name = str(obj(rawEnv)['name']);
      if (name === '') errs.push(required(`${at}.env[${j}].name`));
      else if (!ENV_NAME.test(name))
        errs.push(invalidValue(`${at}.env[${j}].name`, name, ENV_NAME_MSG));
    });
    const mountPaths = new Set<string>();
    list(c['volumeMounts']).forEach((rawMount, j) => {
      const m = obj(rawMount);
      const mat = `${at}.volumeMounts[${j}]`;
      const mountName = str(m['name']);
      if (mountName === '') errs.push(required(`${mat}.name`));
      if (!volumes.has(mountName)) errs.push(notFound(`${mat}.name`, mountName));
      const path = str(m['mountPath']);
      if (path === '') errs.push(required(`${mat}.mountPath`));
      if (mountPaths.has(path)) errs.push(invalidValue(`${mat}.mountPath`, path, 'must be unique'));
      mountPaths.add(path);
    });
    const pull = str(c['imagePullPolicy']);
    if (pull === '') errs.push(required(`${at}.imagePullPolicy`));
    else if (!['Always', 'IfNotPresent', 'Never'].includes(pull))
      errs.push(notSupported(`${at}.imagePullPolicy`, pull, ['Always', 'IfNotPresent', 'Never']));
  });
  return errs;
}

/** The part of `ValidatePodSpec` modelled here, in its order. */
function validatePodSpec(spec: Json, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const volumes = new Set<string>();
  list(spec['volumes']).forEach((raw, i) => {
    const name = str(obj(raw)['name']);
    const at = `${field}.volumes[${i}].name`;
    if (name === '') errs.push(required(at));
    else for (const msg of isDns1123Label(name)) errs.push(invalidValue(at, name, msg));
    if (volumes.has(name)) errs.push(duplicate(at, name));
    else volumes.add(name);
  });
  const containers = list(spec['containers']);
  if (containers.length === 0) errs.push(required(`${field}.containers`));
  else errs.push(...validateContainers(containers, volumes, `${field}.containers`));
  const init = list(spec['initContainers']);
  if (init.length > 0) {
    errs.push(...validateContainers(init, volumes, `${field}.initContainers`));
    const names = new Set(containers.map((c) => str(obj(c)['name'])));
    init.forEach((raw, i) => {
      const name = str(obj(raw)['name']);
      if (names.has(name)) errs.push(duplicate(`${field}.initContainers[${i}].name`, name));
      if (name !== '') names.add(name);
    });
  }
  const restart = str(spec['restartPolicy']);
  if (restart === '') errs.push(required(`${field}.restartPolicy`));
  else if (!['Always', 'OnFailure', 'Never'].includes(restart))
    errs.push(notSupported(`${field}.restartPolicy`, restart, ['Always', 'OnFailure', 'Never']));
  const dns = str(spec['dnsPolicy']);
  const dnsValues = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (dns === '') errs.push(required(`${field}.dnsPolicy`));
  else if (!dnsValues.includes(dns)) errs.push(notSupported(`${field}.dnsPolicy`, dns, dnsValues));
  errs.push(...validateLabels(spec['nodeSelector'], `${field}.nodeSelector`));
  return errs;
}

/** `ValidatePodTemplateSpec`: the template's labels and annotations, then its pod spec. */
function validatePodTemplate(template: Json, field: string): FieldError[] {
  const meta = obj(template['metadata']);
  return [
    ...validateLabels(meta['labels'], `${field}.metadata.labels`),
    ...validateAnnotations(meta['annotations'], `${field}.metadata.annotations`),
    ...validatePodSpec(obj(template['spec']), `${field}.spec`),
  ];
}

// ---------------------------------------------------------------------------------------------
// Workloads (apps/v1)

function nonNegative(value: unknown, field: string): FieldError[] {
  return typeof value === 'number' && value < 0
    ? [invalidValue(field, value, 'must be greater than or equal to 0')]
    : [];
}

/** `ValidateLabelSelector`: matchLabels as labels, each expression's operator, key and values. */
function validateLabelSelector(selector: Json, field: string): FieldError[] {
  const errs = validateLabels(selector['matchLabels'], `${field}.matchLabels`);
  list(selector['matchExpressions']).forEach((raw, i) => {
    const e = obj(raw);
    const at = `${field}.matchExpressions[${i}]`;
    const operator = str(e['operator']);
    const values = list(e['values']);
    if (operator === 'In' || operator === 'NotIn') {
      if (values.length === 0)
        errs.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (operator === 'Exists' || operator === 'DoesNotExist') {
      if (values.length > 0)
        errs.push(
          forbidden(
            `${at}.values`,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
    } else {
      errs.push(invalidValue(`${at}.operator`, operator, 'not a valid selector operator'));
    }
    for (const msg of isQualifiedName(str(e['key'])))
      errs.push(invalidValue(`${at}.key`, str(e['key']), msg));
  });
  return errs;
}

/**
 * The selector rules of Deployments, ReplicaSets, DaemonSets and StatefulSets: required, not
 * empty, valid, and matching the template's labels; then the template itself (which must restart
 * `Always`).
 */
function validateSelectorAndTemplate(spec: Json, workload: string): FieldError[] {
  const errs: FieldError[] = [];
  const rawSelector = spec['selector'];
  const selectorJson = isObject(rawSelector) ? (rawSelector as LabelSelectorJson) : undefined;
  if (selectorJson === undefined) {
    errs.push(required('spec.selector'));
  } else {
    errs.push(...validateLabelSelector(rawSelector as Json, 'spec.selector'));
    const size =
      Object.keys(selectorJson.matchLabels ?? {}).length +
      (selectorJson.matchExpressions ?? []).length;
    if (size === 0) {
      errs.push(
        invalidValue(
          'spec.selector',
          goSyntax.labelSelector(selectorJson),
          `empty selector is invalid for ${workload}`,
        ),
      );
    }
  }
  let matches: ((labels: Record<string, string>) => boolean) | undefined;
  let everything = false;
  try {
    const selector = labelSelectorFromObject(
      selectorJson as Parameters<typeof labelSelectorFromObject>[0],
    );
    everything = selector.isEverything();
    matches = (labels) => selector.matches(labels);
  } catch {
    errs.push(
      invalidValue(
        'spec.selector',
        goSyntax.labelSelector(selectorJson ?? {}),
        'invalid label selector',
      ),
    );
  }
  if (matches !== undefined) {
    const template = obj(spec['template']);
    const labels = stringMap(obj(template['metadata'])['labels']);
    if (!everything && !matches(labels ?? {})) {
      errs.push(
        invalidValue(
          'spec.template.metadata.labels',
          goSyntax.stringMap(labels),
          '`selector` does not match template `labels`',
        ),
      );
    }
    errs.push(...validatePodTemplate(template, 'spec.template'));
    const restart = str(obj(template['spec'])['restartPolicy']);
    if (restart !== 'Always')
      errs.push(notSupported('spec.template.spec.restartPolicy', restart, ['Always']));
  }
  return errs;
}

function validateDeploymentSpec(spec: Json): FieldError[] {
  const errs = nonNegative(spec['replicas'], 'spec.replicas');
  errs.push(...validateSelectorAndTemplate(spec, 'deployment'));
  const strategy = obj(spec['strategy']);
  if (
    strategy['type'] === 'Recreate' &&
    strategy['rollingUpdate'] !== undefined &&
    strategy['rollingUpdate'] !== null
  ) {
    errs.push(
      forbidden(
        'spec.strategy.rollingUpdate',
        "may not be specified when strategy `type` is 'Recreate'",
      ),
    );
  }
  errs.push(...nonNegative(spec['minReadySeconds'], 'spec.minReadySeconds'));
  errs.push(...nonNegative(spec['revisionHistoryLimit'], 'spec.revisionHistoryLimit'));
  const deadline = spec['progressDeadlineSeconds'];
  errs.push(...nonNegative(deadline, 'spec.progressDeadlineSeconds'));
  if (
    typeof deadline === 'number' &&
    deadline <= (typeof spec['minReadySeconds'] === 'number' ? spec['minReadySeconds'] : 0)
  ) {
    errs.push(
      invalidValue(
        'spec.progressDeadlineSeconds',
        deadline,
        'must be greater than minReadySeconds',
      ),
    );
  }
  return errs;
}

function validateReplicaSetSpec(spec: Json): FieldError[] {
  return [
    ...nonNegative(spec['replicas'], 'spec.replicas'),
    ...nonNegative(spec['minReadySeconds'], 'spec.minReadySeconds'),
    ...validateSelectorAndTemplate(spec, 'deployment'),
  ];
}

function validateDaemonSetSpec(spec: Json): FieldError[] {
  return [
    ...validateSelectorAndTemplate(spec, 'daemonset'),
    ...nonNegative(spec['minReadySeconds'], 'spec.minReadySeconds'),
    ...nonNegative(spec['revisionHistoryLimit'], 'spec.revisionHistoryLimit'),
  ];
}

function validateStatefulSetSpec(spec: Json): FieldError[] {
  const errs: FieldError[] = [];
  const policy = str(spec['podManagementPolicy']);
  if (policy === '') errs.push(required('spec.podManagementPolicy'));
  else if (policy !== 'OrderedReady' && policy !== 'Parallel')
    errs.push(
      invalidValue('spec.podManagementPolicy', policy, `must be 'OrderedReady' or 'Parallel'`),
    );
  errs.push(...nonNegative(spec['replicas'], 'spec.replicas'));
  errs.push(...validateSelectorAndTemplate(spec, 'statefulset'));
  return errs;
}

const STATEFULSET_MUTABLE = [
  'replicas',
  'template',
  'updateStrategy',
  'minReadySeconds',
  'persistentVolumeClaimRetentionPolicy',
];

function statefulSetSpecUpdate(spec: Json, old: Json): FieldError[] {
  const rest = (s: Json) =>
    Object.fromEntries(Object.entries(s).filter(([k]) => !STATEFULSET_MUTABLE.includes(k)));
  return jsonEqual(rest(spec), rest(old))
    ? []
    : [
        forbidden(
          'spec',
          "updates to statefulset spec for fields other than 'replicas', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      ];
}

function selectorImmutable(spec: Json, old: Json): FieldError[] {
  const selector = obj(spec['selector']) as LabelSelectorJson;
  return immutable(
    'spec.selector',
    goSyntax.labelSelector(selector),
    !jsonEqual(spec['selector'], old['selector']),
  );
}

// ---------------------------------------------------------------------------------------------
// The per-kind table

/** What a kind validates beyond its metadata, on create and on update. */
interface KindRules {
  readonly name: NameCheck;
  /** The kind's own checks after its metadata (`Validate` minus `ValidateObjectMeta`). */
  readonly validate?: (o: Json) => FieldError[];
  /**
   * The kind's `ValidateUpdate`, given the metadata checks to place: `meta()` is the kind's full
   * metadata validation, `metaUpdate()` its update rule.
   */
  readonly validateUpdate?: (
    o: Json,
    old: Json,
    meta: () => FieldError[],
    metaUpdate: () => FieldError[],
  ) => FieldError[];
}

const spec = (o: Json): Json => obj(o['spec']);

const KINDS: Readonly<Record<string, KindRules>> = {
  '/namespaces': { name: nameIsDnsLabel },
  '/services': { name: nameIsDns1035Label },
  '/configmaps': {
    name: nameIsDnsSubdomain,
    validate: validateConfigMap,
    validateUpdate: (o, old, meta, metaUpdate) => [
      ...metaUpdate(),
      ...immutableContent(o, old, ['data', 'binaryData']),
      ...meta(),
      ...validateConfigMap(o, old),
    ],
  },
  '/secrets': {
    name: nameIsDnsSubdomain,
    validate: validateSecretData,
    validateUpdate: (o, old, meta, metaUpdate) => [
      ...metaUpdate(),
      ...immutable('type', str(o['type']), str(o['type']) !== str(old['type'])),
      ...immutableContent(o, old, ['data']),
      ...meta(),
      ...validateSecretData(o),
    ],
  },
  '/pods': {
    name: nameIsDnsSubdomain,
    validate: (o) => validatePodSpec(spec(o), 'spec'),
    validateUpdate: (o, _old, meta, metaUpdate) => [
      ...metaUpdate(),
      ...meta(),
      ...validatePodSpec(spec(o), 'spec'),
    ],
  },
  'apps/deployments': {
    name: nameIsDnsSubdomain,
    validate: (o) => validateDeploymentSpec(spec(o)),
    validateUpdate: (o, old, _meta, metaUpdate) => [
      ...metaUpdate(),
      ...validateDeploymentSpec(spec(o)),
      ...selectorImmutable(spec(o), spec(old)),
    ],
  },
  'apps/replicasets': {
    name: nameIsDnsSubdomain,
    validate: (o) => validateReplicaSetSpec(spec(o)),
    validateUpdate: (o, old, meta, metaUpdate) => [
      ...meta(),
      ...validateReplicaSetSpec(spec(o)),
      ...metaUpdate(),
      ...validateReplicaSetSpec(spec(o)),
      ...selectorImmutable(spec(o), spec(old)),
    ],
  },
  'apps/daemonsets': {
    name: nameIsDnsSubdomain,
    validate: (o) => validateDaemonSetSpec(spec(o)),
    validateUpdate: (o, old, meta, metaUpdate) => [
      ...meta(),
      ...validateDaemonSetSpec(spec(o)),
      ...metaUpdate(),
      ...validateDaemonSetSpec(spec(o)),
      ...selectorImmutable(spec(o), spec(old)),
    ],
  },
  'apps/statefulsets': {
    name: nameIsDnsSubdomain,
    validate: (o) => validateStatefulSetSpec(spec(o)),
    validateUpdate: (o, old, meta, metaUpdate) => [
      ...meta(),
      ...validateStatefulSetSpec(spec(o)),
      ...metaUpdate(),
      ...statefulSetSpecUpdate(spec(o), spec(old)),
    ],
  },
  // Leases (and, below, custom resources and CRDs) check only the metadata update rule.
  'coordination.k8s.io/leases': {
    name: nameIsDnsSubdomain,
    validateUpdate: (_o, _old, _meta, metaUpdate) => metaUpdate(),
  },
};

const METADATA_ONLY_UPDATE: NonNullable<KindRules['validateUpdate']> = (
  _o,
  _old,
  _meta,
  metaUpdate,
) => metaUpdate();

function rulesOf(info: ResourceInfo): KindRules {
  const rules = KINDS[`${info.group}/${info.resource}`];
  if (rules !== undefined) return rules;
  if (info.custom || info.group === 'apiextensions.k8s.io' || info.group === 'events.k8s.io') {
    return { name: nameIsDnsSubdomain, validateUpdate: METADATA_ONLY_UPDATE };
  }
  return { name: nameIsDnsSubdomain };
}

/** Whether the kind is a built-in core one (core's extra finalizer rule applies). */
function isCoreKind(info: ResourceInfo): boolean {
  return !info.custom && info.group !== 'apiextensions.k8s.io';
}

/**
 * The field errors of a create (empty when valid), after defaulting and name generation.
 */
export function validateCreate(info: ResourceInfo, o: KubeObject): FieldError[] {
  const json = o as unknown as Json;
  const rules = rulesOf(info);
  return [
    ...validateObjectMeta(obj(json['metadata']), info.namespaced, rules.name, isCoreKind(info)),
    ...(rules.validate?.(json) ?? []),
  ];
}

/** Path-segment names (what every update's common check uses): not `.`/`..`, no `/` or `%`. */
const pathSegmentName: NameCheck = (name, prefix) => {
  if (prefix) return /[/%]/.test(name) ? [`may not contain '/'`] : [];
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  if (name.includes('/')) return [`may not contain '/'`];
  if (name.includes('%')) return [`may not contain '%'`];
  return [];
};

/**
 * The field errors of an update of `old` into `o` (both defaulted), in the real order: the
 * common metadata checks, then the kind's `ValidateUpdate`.
 */
export function validateUpdate(info: ResourceInfo, o: KubeObject, old: KubeObject): FieldError[] {
  const json = o as unknown as Json;
  const oldJson = old as unknown as Json;
  const meta = obj(json['metadata']);
  const oldMeta = obj(oldJson['metadata']);
  const rules = rulesOf(info);
  const core = isCoreKind(info);
  const fullMeta = () => validateObjectMeta(meta, info.namespaced, rules.name, core, oldMeta);
  const metaUpdate = () => validateObjectMetaUpdate(meta, oldMeta, core);
  const common = [
    ...validateObjectMeta(meta, info.namespaced, pathSegmentName, false, oldMeta),
    ...validateObjectMetaUpdate(meta, oldMeta, false),
  ];
  if (rules.validateUpdate !== undefined) {
    return [...common, ...rules.validateUpdate(json, oldJson, fullMeta, metaUpdate)];
  }
  // Most core kinds: `Validate(new)`, then `ValidateUpdate` (the metadata update rule).
  return [...common, ...fullMeta(), ...(rules.validate?.(json) ?? []), ...metaUpdate()];
}
