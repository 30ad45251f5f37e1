/**
 * `metadata.managedFields`: which manager owns which fields, kept up to date on every write the
 * way a v1.23 server's field manager does, and server-side apply on top of it.
 *
 * Every create, update and patch is an `Update` operation of its manager (the `fieldManager`
 * query parameter, else the User-Agent up to its first `/`: `kubectl`, `curl`, `node`…): the
 * fields the write added or changed become that manager's (one entry per manager, apiVersion
 * and subresource) and leave every other manager's set; removed fields leave every set. The
 * entry's `time` moves only when the write took fields, so a write that changes nothing changes
 * no managed field either and stays a no-op (no new resourceVersion). As on a real server, an
 * update of an object that has no managed fields (written in-process, or reset by a write of
 * `managedFields: [{}]`) is not tracked; an apply always is.
 *
 * A server-side apply (`Apply` operation) makes its manager own exactly the fields of its
 * configuration; fields it owned before and no longer applies are removed from the object unless
 * another manager owns them; applying a value to a field another manager owns is a 409 conflict
 * unless `force=true`, which takes the field over. An apply that changes the object stamps the
 * entry's time.
 *
 * What a write owns is computed on the object without its server-stamped metadata (name,
 * namespace, uid, resourceVersion, generation, creationTimestamp, managedFields), the status on
 * main-resource writes of kinds with a status subresource, and the type fields. A create compares
 * the object with the kind's Go zero value, whose always-present structs (a Deployment's `spec`,
 * `spec.template`, `spec.strategy`…) are not "added" and so carry no `"."` in FieldsV1.
 */
import type { KubeObject } from '@kubecache/cache';
import { FieldSet, compare, pathString, removeFields, toFieldSet } from './fieldset.js';
import type { PathElement } from './fieldset.js';
import { apiVersionOf } from './resources.js';
import type { ResourceInfo } from './resources.js';
import { childShape, isObject, rootShape } from './schema.js';
import type { Shape } from './schema.js';
import { itemElement } from './fieldset.js';
import { statusError } from './status.js';

/** Who writes, for the managed fields of a write. */
export interface FieldManagerWrite {
  /** The manager name (already defaulted from the User-Agent). */
  readonly manager: string;
  /** `status` for writes to the status subresource. */
  readonly subresource?: 'status' | undefined;
  /** Set for server-side apply: the fields of the applied configuration, and `force`. */
  readonly apply?: { readonly config: FieldSet; readonly force: boolean };
}

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string | undefined;
  subresource?: string | undefined;
  set: FieldSet;
}

/**
 * The manager of a request: `fieldManager`, else the User-Agent up to its first `/` (printable
 * characters, at most 128 bytes), else `unknown` as the real server records a request without one.
 */
export function managerOf(fieldManager: string | null, userAgent: string | undefined): string {
  if (fieldManager !== null && fieldManager !== '') return fieldManager;
  let out = '';
  for (const ch of (userAgent ?? '').split('/')[0]!) {
    if (/\p{C}/u.test(ch)) continue;
    if (Buffer.byteLength(out + ch) > 128) break;
    out += ch;
  }
  return out === '' ? 'unknown' : out;
}

/** The PatchOptions/CreateOptions checks of `fieldManager` and `force` (422 as on the real server). */
export function checkWriteOptions(
  query: URLSearchParams,
  kind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions',
  apply: boolean,
): void {
  const causes: { field: string; message: string; reason: string }[] = [];
  const manager = query.get('fieldManager');
  if (manager !== null && manager.length > 128) {
    causes.push({
      field: 'fieldManager',
      reason: 'FieldValueTooLong',
      message: 'Too long: must have at most 128 bytes',
    });
  }
  if (kind === 'PatchOptions') {
    if (!apply && query.has('force')) {
      causes.push({
        field: 'force',
        reason: 'FieldValueForbidden',
        message: 'Forbidden: may not be specified for non-apply patch',
      });
    }
    if (apply && (manager === null || manager === '')) {
      causes.push({
        field: 'fieldManager',
        reason: 'FieldValueRequired',
        message: 'Required value: is required for apply patch',
      });
    }
  }
  if (causes.length > 0) {
    const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    throw statusError(422, 'Invalid', `${kind}.meta.k8s.io "" is invalid: ${text}`, {
      group: 'meta.k8s.io',
      kind,
      causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })),
    });
  }
}

/** The Go zero value of each built-in kind, as the field manager sees a create's "old" object. */
const ZERO_TEMPLATE = {
  metadata: {},
  spec: { template: { metadata: { creationTimestamp: null }, spec: { containers: null } } },
};
const ZERO: Readonly<Record<string, unknown>> = {
  'v1/Pod': { metadata: {}, spec: { containers: null }, status: {} },
  'v1/Service': { metadata: {}, spec: {}, status: { loadBalancer: {} } },
  'v1/Namespace': { metadata: {}, spec: {}, status: {} },
  'v1/Node': {
    metadata: {},
    spec: {},
    status: { daemonEndpoints: { kubeletEndpoint: {} }, nodeInfo: {} },
  },
  'v1/Event': { metadata: {}, involvedObject: {}, source: {} },
  'events.k8s.io/v1/Event': { metadata: {}, deprecatedSource: {} },
  'apps/v1/Deployment': {
    ...ZERO_TEMPLATE,
    spec: { ...ZERO_TEMPLATE.spec, strategy: {} },
    status: {},
  },
  'apps/v1/ReplicaSet': { ...ZERO_TEMPLATE, status: {} },
  'apps/v1/StatefulSet': {
    ...ZERO_TEMPLATE,
    spec: { ...ZERO_TEMPLATE.spec, updateStrategy: {} },
    status: {},
  },
  'apps/v1/DaemonSet': {
    ...ZERO_TEMPLATE,
    spec: { ...ZERO_TEMPLATE.spec, updateStrategy: {} },
    status: {},
  },
  'coordination.k8s.io/v1/Lease': { metadata: {}, spec: {} },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': {
    metadata: {},
    spec: { names: {} },
    status: { acceptedNames: {} },
  },
};

/** Metadata the field manager never tracks. */
const STRIPPED_META = [
  'name',
  'namespace',
  'creationTimestamp',
  'selfLink',
  'uid',
  'clusterName',
  'generation',
  'managedFields',
  'resourceVersion',
];

function strip(obj: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...obj };
  delete rest['apiVersion'];
  delete rest['kind'];
  if (isObject(rest['metadata'])) {
    const meta = { ...rest['metadata'] };
    for (const f of STRIPPED_META) delete meta[f];
    rest['metadata'] = meta;
  }
  return rest;
}

/** `metadata` itself is never owned (only fields under it). */
const METADATA = ((): FieldSet => {
  const set = new FieldSet();
  set.insert(['f:metadata']);
  return set;
})();

/** The fields a write of this kind and subresource does not track (the status, on main writes). */
function ignoredFields(info: ResourceInfo, subresource: string | undefined): FieldSet {
  const set = new FieldSet();
  if (subresource === undefined && info.subresources.includes('status')) set.insert(['f:status']);
  return set;
}

function entryKey(e: {
  manager: string;
  operation: string;
  apiVersion: string;
  subresource?: string | undefined;
}): string {
  return JSON.stringify([
    e.manager,
    e.operation,
    e.operation === 'Apply' ? '' : e.apiVersion,
    e.subresource ?? '',
  ]);
}

/** Decodes `metadata.managedFields`; `undefined` when absent or malformed. */
function decode(value: unknown): Entry[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: Entry[] = [];
  for (const raw of value) {
    if (!isObject(raw)) return undefined;
    const set = FieldSet.fromFieldsV1(raw['fieldsV1'] ?? {});
    if (set === undefined || typeof raw['operation'] !== 'string') return undefined;
    out.push({
      manager: typeof raw['manager'] === 'string' ? raw['manager'] : '',
      operation: raw['operation'],
      apiVersion: typeof raw['apiVersion'] === 'string' ? raw['apiVersion'] : '',
      time: typeof raw['time'] === 'string' ? raw['time'] : undefined,
      subresource: typeof raw['subresource'] === 'string' ? raw['subresource'] : undefined,
      set,
    });
  }
  return out;
}

/** Encodes entries the way the real server orders them: Apply before Update, then by time, manager. */
function encode(entries: Entry[]): unknown[] {
  const seconds = (t: string | undefined): number => (t === undefined ? 0 : Date.parse(t) / 1000);
  return entries
    .filter((e) => !e.set.isEmpty())
    .sort((p, q) => {
      if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
      if (seconds(p.time) !== seconds(q.time)) return seconds(p.time) - seconds(q.time);
      if (p.manager !== q.manager) return p.manager < q.manager ? -1 : 1;
      if (p.apiVersion !== q.apiVersion) return p.apiVersion < q.apiVersion ? -1 : 1;
      return (p.subresource ?? '') < (q.subresource ?? '') ? -1 : 1;
    })
    .map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      ...(e.time === undefined ? {} : { time: e.time }),
      fieldsType: 'FieldsV1',
      fieldsV1: e.set.toFieldsV1(),
      ...(e.subresource === undefined ? {} : { subresource: e.subresource }),
    }));
}

function shapeOf(info: ResourceInfo): Shape {
  return info.custom ? rootShape('', '') : rootShape(apiVersionOf(info), info.kind);
}

type Meta = { managedFields?: unknown } & Record<string, unknown>;

/**
 * Sets `next.metadata.managedFields` for a write of `next` over `live` (`undefined` for a create)
 * by `write` (see the module comment). Without `write` (in-process writes), the stored managed
 * fields are carried over. Throws the 409 conflict Status of an apply without `force`.
 */
export function manageFields(
  info: ResourceInfo,
  live: KubeObject | undefined,
  next: KubeObject & { metadata?: Meta },
  write: FieldManagerWrite | undefined,
  now: string,
): void {
  const meta = (next.metadata ??= {}) as Meta;
  const liveMeta = (live?.metadata ?? {}) as Meta;
  if (write === undefined) {
    if (meta.managedFields === undefined && liveMeta.managedFields !== undefined)
      meta.managedFields = liveMeta.managedFields;
    return;
  }
  const given = meta.managedFields;
  // `managedFields: [{}]` resets them (and this write is not tracked).
  if (
    Array.isArray(given) &&
    given.length === 1 &&
    isObject(given[0]) &&
    Object.keys(given[0]).length === 0
  ) {
    delete meta.managedFields;
    return;
  }
  let entries: Entry[];
  if (write.apply !== undefined) entries = decode(liveMeta.managedFields) ?? [];
  else {
    const fromNext = decode(given);
    entries =
      fromNext !== undefined && fromNext.length > 0
        ? fromNext
        : (decode(liveMeta.managedFields) ?? []);
  }
  // An update of an object without managed fields (reset, or written in-process) stays untracked.
  if (write.apply === undefined && live !== undefined && entries.length === 0) {
    delete meta.managedFields;
    return;
  }
  const shape = shapeOf(info);
  const version = apiVersionOf(info);
  const ignored = ignoredFields(info, write.subresource);
  const base =
    live !== undefined
      ? strip(live as Record<string, unknown>)
      : ((info.custom ? {} : ZERO[`${version}/${info.kind}`]) ?? { metadata: {} });
  const c = compare(base, strip(next as Record<string, unknown>), shape);
  const added = c.added.recursiveDifference(ignored).difference(METADATA);
  const removed = c.removed.recursiveDifference(ignored);
  const changed = c.modified.recursiveDifference(ignored).difference(METADATA).union(added);
  const operation = write.apply !== undefined ? 'Apply' : 'Update';
  const key = entryKey({
    manager: write.manager,
    operation,
    apiVersion: version,
    subresource: write.subresource,
  });
  let own = entries.find((e) => entryKey(e) === key);
  if (write.apply !== undefined) {
    const conflicts: { manager: Entry; paths: PathElement[][] }[] = [];
    for (const e of entries) {
      if (e === own) continue;
      const clash = e.set.intersection(changed);
      if (!clash.isEmpty()) conflicts.push({ manager: e, paths: clash.paths() });
    }
    if (conflicts.length > 0 && !write.apply.force) throw conflictError(conflicts);
    const isNew = own === undefined;
    if (own === undefined) {
      own = {
        manager: write.manager,
        operation,
        apiVersion: version,
        subresource: write.subresource,
        set: new FieldSet(),
      };
      entries.push(own);
    }
    own.set = write.apply.config.recursiveDifference(ignored);
    own.apiVersion = version;
    const objectChanged = !changed.isEmpty() || !removed.isEmpty();
    if (objectChanged || isNew) own.time = now;
    for (const e of entries) if (e !== own) e.set = e.set.difference(changed).difference(removed);
  } else {
    const current = changed.difference(removed);
    for (const e of entries) e.set = e.set.difference(changed).difference(removed);
    if (!current.isEmpty()) {
      if (own === undefined) {
        own = {
          manager: write.manager,
          operation,
          apiVersion: version,
          subresource: write.subresource,
          set: current,
        };
        entries.push(own);
      } else own.set = own.set.union(current);
      own.time = now;
    }
  }
  const encoded = encode(entries);
  if (encoded.length > 0) meta.managedFields = encoded;
  else delete meta.managedFields;
}

function conflictError(conflicts: readonly { manager: Entry; paths: PathElement[][] }[]) {
  const sorted = [...conflicts].sort((a, b) => (a.manager.manager < b.manager.manager ? -1 : 1));
  const describe = (e: Entry): string => {
    let s = JSON.stringify(e.manager);
    if (e.subresource !== undefined) s += ` with subresource ${JSON.stringify(e.subresource)}`;
    if (e.operation === 'Update') s += ` using ${e.apiVersion}`;
    return s;
  };
  const causes = sorted.flatMap((c) =>
    c.paths.map((p) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${describe(c.manager)}`,
      field: pathString(p),
    })),
  );
  let message: string;
  if (causes.length === 1) {
    message = `Apply failed with 1 conflict: ${causes[0]!.message}: ${causes[0]!.field}`;
  } else {
    const lines: string[] = [];
    for (const c of sorted) {
      lines.push(`conflicts with ${describe(c.manager)}:`);
      for (const p of c.paths) lines.push(`- ${pathString(p)}`);
    }
    message = `Apply failed with ${causes.length} conflicts: ${lines.join('\n')}`;
  }
  return statusError(409, 'Conflict', message, { causes });
}

/**
 * The object a server-side apply of `config` over `live` produces, before the storage writes it:
 * the configuration merged in (keyed lists by key, sets by value, atomic lists and structs
 * replaced), then the fields the manager applied last time and no longer does removed, unless
 * another manager owns them. Also returns the configuration's field set for `manageFields`.
 */
export function applyConfiguration(
  info: ResourceInfo,
  live: KubeObject | undefined,
  config: KubeObject,
  manager: string,
  subresource: 'status' | undefined,
): { readonly merged: KubeObject; readonly config: FieldSet } {
  const shape = shapeOf(info);
  const configSet = toFieldSet(strip(config as Record<string, unknown>), shape)
    .recursiveDifference(ignoredFields(info, subresource))
    .difference(METADATA);
  if (live === undefined) return { merged: config, config: configSet };
  let merged = mergeApplied(live, config, shape) as KubeObject;
  const entries = decode((live.metadata as Meta | undefined)?.managedFields) ?? [];
  const key = entryKey({ manager, operation: 'Apply', apiVersion: '', subresource });
  const last = entries.find((e) => entryKey(e) === key);
  if (last !== undefined) {
    let owned = configSet;
    for (const e of entries) if (e !== last) owned = owned.union(e.set);
    const toRemove = prunable(last.set, owned);
    if (!toRemove.isEmpty()) merged = removeFields(merged, shape, toRemove) as KubeObject;
  }
  return { merged, config: configSet };
}

/** The members of `last` nobody owns any more, each only when nothing under it is owned. */
function prunable(last: FieldSet, owned: FieldSet | undefined): FieldSet {
  const out = new FieldSet();
  out.member = last.member && !(owned?.member ?? false) && !(owned?.hasDescendants() ?? false);
  if (out.member) return out;
  for (const [pe, child] of last.children) {
    const sub = prunable(child, owned?.children.get(pe));
    if (!sub.isEmpty()) out.children.set(pe, sub);
  }
  return out;
}

/** structured-merge-diff's merge of an apply configuration into the live object. */
function mergeApplied(live: unknown, config: unknown, shape: Shape): unknown {
  if (config === undefined) return live;
  if (live === undefined || live === null) return config;
  if (isObject(config) && isObject(live)) {
    const granular =
      shape.kind === 'untyped' ||
      ((shape.kind === 'struct' || shape.kind === 'map') && !shape.atomic);
    if (!granular) return config;
    const out: Record<string, unknown> = { ...live };
    for (const [k, v] of Object.entries(config))
      out[k] = mergeApplied(live[k], v, childShape(shape, k));
    return out;
  }
  if (
    Array.isArray(config) &&
    Array.isArray(live) &&
    shape.kind === 'list' &&
    shape.list !== 'atomic'
  ) {
    const rhs = new Map<PathElement, unknown>();
    config.forEach((item, i) => rhs.set(itemElement(shape, item, i), item));
    const out: unknown[] = [];
    const seen = new Set<PathElement>();
    live.forEach((item, i) => {
      const pe = itemElement(shape, item, i);
      seen.add(pe);
      out.push(rhs.has(pe) ? mergeApplied(item, rhs.get(pe), shape.elem) : item);
    });
    for (const [pe, item] of rhs) if (!seen.has(pe)) out.push(item);
    return out;
  }
  return config;
}
