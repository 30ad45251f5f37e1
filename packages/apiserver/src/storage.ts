/**
 * In-memory object storage: one map per group/resource, a single global resourceVersion counter,
 * and a bounded ring buffer of pre-serialized change events that watches replay from.
 *
 * Speed is the point of the layout. Every object is serialized exactly once, when it is written;
 * LIST responses are string concatenations of those cached strings and watch events reuse them, so
 * serving 100k objects never re-serializes anything. Stored objects are never mutated: a write
 * replaces the entry, so a LIST that captured the entries can keep streaming them asynchronously.
 */
import { randomUUID } from 'node:crypto';
import type { ApiStatusError, KubeObject } from '@kubecache/cache';
import { finalizersForDeletion, gracePeriodOf, shiftTimestamp, timestampIn } from './deletion.js';
import type { DeleteOptions } from './deletion.js';
import { isNoopUpdate, jsonEqual } from './equality.js';
import { applyDefaults, prepareForCreate, prepareForUpdate } from './defaults.js';
import { decodingError } from './go-decoding.js';
import { validateCreate, validateUpdate } from './validation.js';
import { manageFields } from './managed-fields.js';
import type { FieldManagerWrite } from './managed-fields.js';
import {
  hasSpecFinalizers,
  immortal,
  isNamespaces,
  isTerminating,
  markTerminating,
  namespaceTerminating,
  prepareNamespace,
  stillFinalizing,
} from './namespaces.js';
import { rebuildSnapshot, SnapshotCache } from './snapshots.js';
import type { Snapshot } from './snapshots.js';
import type { ResourceInfo } from './resources.js';
import { apiVersionOf, groupResourceKey } from './resources.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  futureRevision,
  invalid,
  notFound,
  statusError,
  tooLargeResourceVersion,
} from './status.js';

/** The structural part of a label selector the storage needs. */
export interface LabelMatcher {
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
  isEverything(): boolean;
}

/** The structural part of a field selector the storage needs. */
export interface FieldMatcher {
  matches(obj: KubeObject): boolean;
  isEverything(): boolean;
}

/** One stored object version with its cached serializations. Never mutated after creation. */
export interface StoredObject {
  /** `namespace/name` or `name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly rv: number;
  readonly obj: KubeObject;
  /** The object as JSON, starting with `{"apiVersion":…,"kind":…,`. */
  readonly json: string;
  /** Length of the `{"apiVersion":…,"kind":…,` prefix, so list items can drop the type fields. */
  readonly typePrefixLength: number;
}

/** A change event in the history ring. */
export interface StorageEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly rv: number;
  /** Group/resource storage key. */
  readonly resourceKey: string;
  readonly object: StoredObject;
  /** The previous version (MODIFIED, DELETED), used for selector transitions and snapshots. */
  readonly prev: StoredObject | undefined;
  /** Lazily cached wire lines (UTF-8), keyed by event type + representation. */
  lines?: Map<string, Buffer>;
}

/** Per-resource storage: the objects plus a lazily maintained sorted key order for paging. */
export class ResourceStore {
  readonly key: string;
  info: ResourceInfo;
  readonly items = new Map<string, StoredObject>();
  #sorted: string[] | undefined;

  constructor(info: ResourceInfo) {
    this.info = info;
    this.key = groupResourceKey(info.group, info.resource);
  }

  /** Keys in lexical order (what etcd gives the real server); rebuilt only after adds/deletes. */
  sortedKeys(): string[] {
    this.#sorted ??= [...this.items.keys()].sort();
    return this.#sorted;
  }

  set(obj: StoredObject, isNew: boolean): void {
    this.items.set(obj.key, obj);
    if (isNew) this.#sorted = undefined;
  }

  remove(key: string): void {
    this.items.delete(key);
    this.#sorted = undefined;
  }
}

/** Result of a LIST against storage. */
export interface ListResult {
  readonly items: StoredObject[];
  readonly resourceVersion: number;
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

/** LIST parameters (already parsed). */
export interface StorageListOptions {
  readonly namespace?: string;
  readonly label?: LabelMatcher;
  readonly field?: FieldMatcher;
  readonly limit?: number;
  readonly continueToken?: string;
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: string;
}

/** Options of a write. */
export interface WriteOptions {
  /** Write only the `status` (true) or everything but the status (false, default for resources with a status subresource). */
  readonly subresource?: 'status' | undefined;
  readonly dryRun?: boolean;
  /** Who writes, for `metadata.managedFields` (`managed-fields.ts`); in-process writes have none. */
  readonly fieldManager?: FieldManagerWrite | undefined;
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
/** A generated name is at most 63 characters: the prefix is cut to leave room for the suffix. */
const MAX_GENERATE_NAME_PREFIX = 58;

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

/** RFC 3339 with second precision, as the real server writes timestamps. */
export function nowTimestamp(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastTimestamp = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastTimestamp;
}
let lastSecond = -1;
let lastTimestamp = '';

type MutableMeta = Record<string, unknown> & {
  name?: string;
  namespace?: string;
  generateName?: string;
  resourceVersion?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
  labels?: Record<string, string>;
};
type MutableObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: MutableMeta;
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Resources whose registry strategy sets `metadata.generation` (and bumps it on spec changes).
 * Pods, ConfigMaps, Services, namespaces and the rest have none (pods gained one in 1.33).
 */
const GENERATION_RESOURCES: ReadonlySet<string> = new Set([
  'deployments',
  'replicasets',
  'statefulsets',
  'daemonsets',
  'replicationcontrollers',
  'jobs',
  'cronjobs',
  'ingresses',
  'networkpolicies',
  'poddisruptionbudgets',
  'customresourcedefinitions',
]);

function keepsGeneration(info: ResourceInfo): boolean {
  return info.custom || GENERATION_RESOURCES.has(info.resource);
}

/** The content whose change bumps `metadata.generation`. */
function generationContent(obj: MutableObject, custom: boolean): unknown {
  if (!custom) return obj['spec'];
  const rest: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') rest[k] = obj[k];
  }
  return rest;
}

/**
 * Serializes with `apiVersion` and `kind` first so that list items can strip them by slicing (the
 * real server omits type fields from items of built-in lists).
 */
export function serialize(
  obj: MutableObject,
  apiVersion: string,
  kind: string,
): { json: string; typePrefixLength: number; obj: KubeObject } {
  const ordered: Record<string, unknown> = { apiVersion, kind, metadata: obj.metadata };
  for (const k of Object.keys(obj)) {
    if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata') ordered[k] = obj[k];
  }
  const json = JSON.stringify(ordered);
  const prefix = `{"apiVersion":${JSON.stringify(apiVersion)},"kind":${JSON.stringify(kind)},`;
  return { json, typePrefixLength: prefix.length, obj: ordered as KubeObject };
}

interface ContinueToken {
  /** The snapshot's RV; -1 (as on the real server) continues at the latest state. */
  readonly rv: number;
  readonly start: string;
}

/** The 410 of a continue token older than the history, as etcd3's storage words it. */
const INCONSISTENT_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/**
 * 410 Expired for a compacted continue token, carrying a token (RV -1) that resumes after the same
 * key at the latest state, as the real server's Status `metadata.continue` does.
 */
function expiredContinue(start: string): ApiStatusError {
  const err = expired(INCONSISTENT_CONTINUE);
  if (err.status !== undefined) {
    err.status.metadata = { continue: encodeContinue({ rv: -1, start }) };
  }
  return err;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start }),
  ).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      isPlainObject(parsed) &&
      typeof parsed['rv'] === 'number' &&
      (parsed['rv'] > 0 || parsed['rv'] === -1) &&
      typeof parsed['start'] === 'string'
    ) {
      return { rv: parsed['rv'], start: parsed['start'] };
    }
  } catch {
    // fall through
  }
  throw badRequest(`continue key is not valid: ${text}`);
}

/** Lower bound: the first index whose key is > `after`. */
function firstAfter(keys: readonly string[], after: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function parseRv(text: string): number {
  if (!/^\d+$/.test(text)) throw badRequest(`invalid resource version "${text}"`);
  return Number(text);
}

/**
 * The object storage. All methods are synchronous: a write, its history entry and its fan-out to
 * watches happen in one tick, so no reader ever sees half of it and no watch misses an event
 * between its snapshot and its registration.
 */
export class Storage {
  #rv: number;
  /** Watches from an RV older than this get 410 Expired (the history no longer covers them). */
  #compactedRv: number;
  readonly #stores = new Map<string, ResourceStore>();
  readonly #ring: (StorageEvent | undefined)[];
  #ringHead = 0; // index of the oldest event
  #ringCount = 0;
  readonly #listeners: ((event: StorageEvent) => void)[] = [];
  /** Recent list snapshots (continue tokens and exact-RV lists read one per page). */
  readonly #snapshots = new SnapshotCache();

  constructor(options: { historySize?: number; initialResourceVersion?: number } = {}) {
    this.#rv = options.initialResourceVersion ?? 1;
    this.#compactedRv = this.#rv;
    this.#ring = new Array<StorageEvent | undefined>(Math.max(1, options.historySize ?? 100_000));
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** The oldest resourceVersion a watch may start from. */
  get compactedResourceVersion(): number {
    return this.#compactedRv;
  }

  /** Subscribes to every committed change (synchronously, in commit order). */
  onEvent(listener: (event: StorageEvent) => void): void {
    this.#listeners.push(listener);
  }

  store(info: ResourceInfo): ResourceStore {
    const cached = this.#storeOf.get(info);
    if (cached !== undefined && this.#stores.get(cached.key) === cached) return cached;
    const key = groupResourceKey(info.group, info.resource);
    let store = this.#stores.get(key);
    if (store === undefined) {
      store = new ResourceStore(info);
      this.#stores.set(key, store);
    }
    this.#storeOf.set(info, store);
    return store;
  }

  /** Hot-path shortcut from a resource's info object to its store. */
  readonly #storeOf = new WeakMap<ResourceInfo, ResourceStore>();

  /** Drops the whole history: every watch or continue token from an older RV now gets 410. */
  compact(): void {
    this.#ring.fill(undefined);
    this.#ringHead = 0;
    this.#ringCount = 0;
    this.#compactedRv = this.#rv;
    this.#snapshots.clear();
  }

  /** History events with rv > `after`, in order (optionally only of one resource). */
  eventsAfter(after: number, resourceKey?: string): StorageEvent[] {
    const out: StorageEvent[] = [];
    const cap = this.#ring.length;
    let lo = 0;
    let hi = this.#ringCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ring[(this.#ringHead + mid) % cap]!.rv <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#ringCount; i++) {
      const ev = this.#ring[(this.#ringHead + i) % cap]!;
      if (resourceKey === undefined || ev.resourceKey === resourceKey) out.push(ev);
    }
    return out;
  }

  #record(event: StorageEvent): void {
    const cap = this.#ring.length;
    if (this.#ringCount === cap) {
      // Evict the oldest event: a watch from before it can no longer be served.
      this.#compactedRv = this.#ring[this.#ringHead]!.rv;
      this.#ring[this.#ringHead] = event;
      this.#ringHead = (this.#ringHead + 1) % cap;
    } else {
      this.#ring[(this.#ringHead + this.#ringCount) % cap] = event;
      this.#ringCount++;
    }
    for (const listener of this.#listeners) listener(event);
  }

  /** Checks a create/update body's shape and kind, and gives it a `metadata` object to fill. */
  #acceptBody(info: ResourceInfo, input: KubeObject): { obj: MutableObject; meta: MutableMeta } {
    const obj = input as MutableObject;
    if (!isPlainObject(obj)) throw badRequest('the body of the request was not a JSON object');
    this.#checkType(info, obj);
    const meta: MutableMeta = isPlainObject(obj.metadata) ? (obj.metadata as MutableMeta) : {};
    obj.metadata = meta;
    return { obj, meta };
  }

  /**
   * What decoding a body does on the real server beyond its shape: the typed fields' errors (a
   * Secret's base64, 400) and the defaults (defaults.ts).
   */
  #decodeAndDefault(info: ResourceInfo, obj: MutableObject): void {
    const error = decodingError(info, obj as KubeObject);
    if (error !== undefined) throw error;
    applyDefaults(info, obj as KubeObject);
  }

  #checkType(info: ResourceInfo, obj: MutableObject): void {
    if (obj.apiVersion !== undefined && typeof obj.apiVersion !== 'string') {
      throw badRequest("couldn't get version/kind; json parse error: apiVersion must be a string");
    }
    if (obj.kind !== undefined && typeof obj.kind !== 'string') {
      throw badRequest("couldn't get version/kind; json parse error: kind must be a string");
    }
    const meta: unknown = obj.metadata;
    if (meta !== undefined && meta !== null && !isPlainObject(meta)) {
      throw badRequest('metadata must be an object');
    }
    if (isPlainObject(meta)) {
      const causes: { field: string; message: string; reason?: string }[] = [];
      for (const f of ['name', 'generateName', 'namespace', 'resourceVersion', 'uid']) {
        if (meta[f] !== undefined && meta[f] !== null && typeof meta[f] !== 'string') {
          causes.push({
            field: `metadata.${f}`,
            message: 'Invalid value: must be a string',
            reason: 'FieldValueInvalid',
          });
        }
      }
      for (const f of ['labels', 'annotations']) {
        const m = meta[f];
        if (
          m !== undefined &&
          m !== null &&
          (!isPlainObject(m) || Object.values(m).some((v) => typeof v !== 'string'))
        ) {
          causes.push({
            field: `metadata.${f}`,
            message: 'Invalid value: must be a map of strings',
            reason: 'FieldValueInvalid',
          });
        }
      }
      const fin = meta['finalizers'];
      if (
        fin !== undefined &&
        fin !== null &&
        (!Array.isArray(fin) || fin.some((v) => typeof v !== 'string'))
      ) {
        causes.push({
          field: 'metadata.finalizers',
          message: 'Invalid value: must be a list of strings',
          reason: 'FieldValueInvalid',
        });
      }
      if (causes.length > 0)
        throw invalid(
          info.group,
          info.kind,
          typeof meta['name'] === 'string' ? meta['name'] : '',
          causes,
        );
      for (const f of [
        'labels',
        'annotations',
        'finalizers',
        'name',
        'generateName',
        'namespace',
        'resourceVersion',
      ]) {
        if (meta[f] === null) delete meta[f];
      }
    }
    const apiVersion = apiVersionOf(info);
    if (obj.apiVersion !== undefined && obj.apiVersion !== '' && obj.apiVersion !== apiVersion) {
      // Other served versions of the same CRD share storage; anything else is a mismatch.
      const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
      if (!info.custom || group !== info.group) {
        throw badRequest(
          `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`,
        );
      }
    }
    if (obj.kind !== undefined && obj.kind !== '' && obj.kind !== info.kind) {
      throw badRequest(
        `the kind in the data (${obj.kind}) does not match the expected kind (${info.kind})`,
      );
    }
  }

  #commit(
    store: ResourceStore,
    obj: MutableObject,
    type: StorageEvent['type'],
    prev: StoredObject | undefined,
    rv: number,
    copy = false,
  ): StoredObject {
    const info = store.info;
    const meta = obj.metadata!;
    meta.resourceVersion = String(rv);
    const apiVersion =
      prev !== undefined && info.custom
        ? (prev.obj.apiVersion ?? apiVersionOf(info))
        : apiVersionOf(info);
    const serialized = serialize(obj, obj.apiVersion ?? apiVersion, info.kind);
    const { json, typePrefixLength } = serialized;
    // A caller that keeps its object (in-process helpers) gets a private copy stored instead.
    const ordered = copy ? (JSON.parse(json) as KubeObject) : serialized.obj;
    const namespace = info.namespaced ? (meta.namespace ?? '') : '';
    const name = meta.name!;
    const stored: StoredObject = {
      key: namespace === '' ? name : `${namespace}/${name}`,
      namespace,
      name,
      rv,
      obj: ordered,
      json,
      typePrefixLength,
    };
    if (type === 'DELETED') store.remove(stored.key);
    else store.set(stored, prev === undefined);
    this.#rv = rv;
    this.#record({ type, rv, resourceKey: store.key, object: stored, prev });
    return stored;
  }

  /**
   * Creates an object (POST). `obj` is owned by the storage afterwards. `keepStatus` keeps a
   * status the caller wrote (the in-process helpers' test-setup convenience); otherwise the
   * status is the one the real registry gives a new object.
   */
  create(
    info: ResourceInfo,
    input: KubeObject,
    options: {
      namespace?: string;
      dryRun?: boolean;
      copy?: boolean;
      keepStatus?: boolean;
      fieldManager?: FieldManagerWrite | undefined;
    } = {},
  ): StoredObject {
    const { obj, meta } = this.#acceptBody(info, input);
    this.#decodeAndDefault(info, obj);
    if (info.namespaced) {
      const ns = options.namespace ?? meta.namespace;
      checkNamespaceMatches(meta.namespace, options.namespace);
      if (ns === undefined || ns === '') {
        throw invalid(info.group, info.kind, meta.name ?? '', [
          { field: 'metadata.namespace', message: 'Required value' },
        ]);
      }
      meta.namespace = ns;
    } else {
      delete meta.namespace;
    }
    if (info.namespaced) this.#checkNamespaceActive(info, meta.name ?? '', meta.namespace!);
    const store = this.store(info);
    if (
      (typeof meta.name !== 'string' || meta.name === '') &&
      typeof meta.generateName === 'string' &&
      meta.generateName !== ''
    ) {
      const base = meta.generateName.slice(0, MAX_GENERATE_NAME_PREFIX);
      let name = base + randomSuffix();
      const prefix = info.namespaced ? `${meta.namespace}/` : '';
      while (store.items.has(prefix + name)) name = base + randomSuffix();
      meta.name = name;
    }
    // The uid exists before the registry's PrepareForCreate (a Job's selector names it).
    meta.uid = randomUUID();
    // The registry's PrepareForCreate and Validate (validation.ts), before the 409 of storage.
    prepareForCreate(info, obj, options.keepStatus === true);
    const errors = validateCreate(info, obj);
    if (errors.length > 0) throw invalid(info.group, info.kind, meta.name ?? '', errors);
    meta.name ??= '';
    const key = info.namespaced ? `${meta.namespace}/${meta.name}` : meta.name;
    if (store.items.has(key)) throw alreadyExists(info.group, info.resource, meta.name);
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
      throw invalid(info.group, info.kind, meta.name, [
        {
          field: 'metadata.resourceVersion',
          reason: 'FieldValueInvalid',
          message: 'Invalid value: resourceVersion may not be set on objects to be created',
        },
      ]);
    }
    meta.creationTimestamp = nowTimestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (keepsGeneration(info)) meta.generation = 1;
    else delete meta.generation;
    // Tracked as sent and defaulted (a namespace's name label is a default); what the server
    // adds itself (a namespace's finalizer, its phase) is nobody's.
    if (isNamespaces(info)) {
      meta.labels = { ...meta.labels, 'kubernetes.io/metadata.name': meta.name };
    }
    if (options.fieldManager !== undefined) {
      manageFields(info, undefined, obj, options.fieldManager, meta.creationTimestamp);
    }
    if (isNamespaces(info)) prepareNamespace(obj);
    obj.apiVersion ??= apiVersionOf(info);
    const rv = this.#rv + 1;
    if (options.dryRun === true) return this.#dry(store, obj, rv);
    return this.#commit(store, obj, 'ADDED', undefined, rv, options.copy === true);
  }

  #dry(store: ResourceStore, obj: MutableObject, rv: number): StoredObject {
    const meta = obj.metadata!;
    meta.resourceVersion = String(rv);
    const {
      json,
      typePrefixLength,
      obj: ordered,
    } = serialize(obj, obj.apiVersion ?? apiVersionOf(store.info), store.info.kind);
    return {
      key: '',
      namespace: meta.namespace ?? '',
      name: meta.name ?? '',
      rv,
      obj: ordered,
      json,
      typePrefixLength,
    };
  }

  get(info: ResourceInfo, namespace: string | undefined, name: string): StoredObject {
    const store = this.store(info);
    const key = info.namespaced ? `${namespace ?? ''}/${name}` : name;
    const found = store.items.get(key);
    if (found === undefined) throw notFound(info.group, info.resource, name);
    return found;
  }

  tryGet(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
  ): StoredObject | undefined {
    const key = info.namespaced ? `${namespace ?? ''}/${name}` : name;
    return this.store(info).items.get(key);
  }

  /**
   * Replaces an object (PUT). A non-empty `metadata.resourceVersion` is a precondition (409 on
   * mismatch). For resources with a status subresource, a main-resource update keeps the stored
   * status and a status update keeps everything else, as the real server does. An update that
   * would store what is already stored returns the stored version untouched.
   */
  update(
    info: ResourceInfo,
    input: KubeObject,
    options: { namespace?: string; name?: string; copy?: boolean } & WriteOptions = {},
  ): StoredObject {
    const { obj, meta } = this.#acceptBody(info, input);
    this.#decodeAndDefault(info, obj);
    if (options.name !== undefined && meta.name !== undefined && meta.name !== options.name) {
      throw badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${options.name})`,
      );
    }
    const name = meta.name ?? options.name;
    if (name === undefined || name === '') {
      throw invalid(info.group, info.kind, '', [
        { field: 'metadata.name', message: 'Required value: name is required' },
      ]);
    }
    meta.name = name;
    if (info.namespaced) {
      checkNamespaceMatches(meta.namespace, options.namespace);
      meta.namespace = options.namespace ?? meta.namespace;
    } else {
      delete meta.namespace;
    }
    const store = this.store(info);
    const current = this.get(info, meta.namespace, name);
    if (
      meta.resourceVersion !== undefined &&
      meta.resourceVersion !== '' &&
      meta.resourceVersion !== String(current.rv)
    ) {
      throw conflict(info.group, info.resource, name);
    }
    const old = current.obj as MutableObject;
    const oldMeta = old.metadata!;
    const hasStatus = info.subresources.includes('status');
    let next: MutableObject = obj;
    if (options.subresource === 'status') {
      // Only the status changes (plus metadata the real server lets through: none we model).
      next = { ...(JSON.parse(current.json) as MutableObject), status: obj['status'] };
    } else if (hasStatus) {
      if (old['status'] === undefined) delete next['status'];
      else next['status'] = old['status'];
    }
    const nextMeta = next.metadata!;
    // Immutable and server-owned fields.
    nextMeta.uid = oldMeta.uid;
    nextMeta.creationTimestamp = oldMeta.creationTimestamp;
    if (oldMeta.deletionTimestamp !== undefined) {
      nextMeta.deletionTimestamp = oldMeta.deletionTimestamp;
      nextMeta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
    } else {
      delete nextMeta.deletionTimestamp;
      delete nextMeta.deletionGracePeriodSeconds;
    }
    if (oldMeta.generation !== undefined) {
      nextMeta.generation = jsonEqual(
        generationContent(old, info.custom),
        generationContent(next, info.custom),
      )
        ? oldMeta.generation
        : oldMeta.generation + 1;
    }
    next.apiVersion =
      next.apiVersion === undefined || next.apiVersion === '' ? old.apiVersion : next.apiVersion;
    if (options.subresource !== 'status') {
      prepareForUpdate(info, next as KubeObject, current.obj);
      const errors = validateUpdate(info, next as KubeObject, current.obj);
      if (errors.length > 0) throw invalid(info.group, info.kind, name, errors);
    }
    manageFields(info, current.obj, next, options.fieldManager, nowTimestamp());
    // A write that changes nothing is not a write (as on the real server): no new
    // resourceVersion, no history entry, no watch event; the caller gets the stored object.
    if (isNoopUpdate(current.obj, next)) return current;
    // A dry run stores nothing: the answer keeps the stored resourceVersion (the real server's
    // dry-run storage hands its update function the current one).
    if (options.dryRun === true) return this.#dry(store, next, current.rv);
    const rv = this.#rv + 1;
    // Clearing the last finalizer of an object being deleted completes the deletion (for a
    // namespace, only once its controller has cleared `spec.finalizers` too). As on the real
    // server, the stored object is deleted (the DELETED event carries it as stored, finalizers
    // and all, at the deletion's RV) and the caller gets its updated object at the old RV.
    const finalizers = nextMeta.finalizers;
    if (
      nextMeta.deletionTimestamp !== undefined &&
      (finalizers === undefined || finalizers.length === 0) &&
      !(isNamespaces(info) && hasSpecFinalizers(next))
    ) {
      this.#remove(store, current);
      return this.#dry(store, next, current.rv);
    }
    return this.#commit(store, next, 'MODIFIED', current, rv, options.copy === true);
  }

  /**
   * Deletes an object the way the real registry does (`deletion.ts` decides): a pod bound to a
   * node is deleted gracefully, finalizers (including the GC ones the options add) keep it with a
   * `deletionTimestamp`, a namespace starts terminating (`namespaces.ts`). Returns the object
   * (the last stored version when it is gone) and whether it is gone.
   */
  delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): { object: StoredObject; deleted: boolean } {
    const store = this.store(info);
    const current = this.get(info, namespace, name);
    checkPreconditions(current, options.preconditions);
    const next = JSON.parse(current.json) as MutableObject;
    const meta = next.metadata!;
    if (isNamespaces(info)) return this.#deleteNamespace(store, current, next, options);
    if (meta.deletionTimestamp !== undefined) {
      // Already being deleted: only a shorter grace period changes anything.
      const last = meta.deletionGracePeriodSeconds ?? 0;
      const grace = options.gracePeriodSeconds;
      if (last > 0 && (grace === undefined || grace >= last))
        return { object: current, deleted: false };
      if (last > 0 && grace !== undefined) {
        meta.deletionTimestamp = shiftTimestamp(meta.deletionTimestamp, grace - last);
        meta.deletionGracePeriodSeconds = grace;
        return this.#markDeleting(store, current, next, options);
      }
      if (meta.finalizers !== undefined && meta.finalizers.length > 0) {
        return { object: current, deleted: false };
      }
      if (options.dryRun === true) return { object: current, deleted: true };
      this.#remove(store, current);
      return { object: current, deleted: true };
    }
    const grace = gracePeriodOf(info, current.obj, options);
    const finalizers = finalizersForDeletion(meta.finalizers, options);
    if (grace === undefined && finalizers.length === 0) {
      if (options.dryRun === true) return { object: current, deleted: true };
      this.#remove(store, current);
      return { object: current, deleted: true };
    }
    if (finalizers.length > 0 || meta.finalizers !== undefined) meta.finalizers = finalizers;
    meta.deletionTimestamp = timestampIn(grace ?? 0);
    meta.deletionGracePeriodSeconds = grace ?? 0;
    return this.#markDeleting(store, current, next, options);
  }

  /**
   * Stores the object marked as deleting (MODIFIED); when neither a grace period nor a finalizer
   * keeps it, removes it right after (DELETED), as the real server's two writes do.
   */
  #markDeleting(
    store: ResourceStore,
    current: StoredObject,
    next: MutableObject,
    options: DeleteOptions,
  ): { object: StoredObject; deleted: boolean } {
    const meta = next.metadata!;
    const kept =
      (meta.finalizers !== undefined && meta.finalizers.length > 0) ||
      (meta.deletionGracePeriodSeconds ?? 0) > 0;
    if (options.dryRun === true)
      return { object: this.#dry(store, next, this.#rv + 1), deleted: !kept };
    const marked = this.#commit(store, next, 'MODIFIED', current, this.#rv + 1);
    if (kept) return { object: marked, deleted: false };
    this.#remove(store, marked);
    return { object: marked, deleted: true };
  }

  /** A namespace's DELETE: Terminating first; gone once its controller has emptied it. */
  #deleteNamespace(
    store: ResourceStore,
    current: StoredObject,
    next: MutableObject,
    options: DeleteOptions,
  ): { object: StoredObject; deleted: boolean } {
    const refused = immortal(current.name);
    if (refused !== undefined) throw refused;
    if (next.metadata!.deletionTimestamp === undefined) {
      markTerminating(next, nowTimestamp());
      if (options.dryRun === true)
        return { object: this.#dry(store, next, this.#rv + 1), deleted: false };
      return {
        object: this.#commit(store, next, 'MODIFIED', current, this.#rv + 1),
        deleted: false,
      };
    }
    if (hasSpecFinalizers(current.obj)) throw stillFinalizing(current.name);
    const finalizers = next.metadata!.finalizers;
    if (finalizers !== undefined && finalizers.length > 0)
      return { object: current, deleted: false };
    if (options.dryRun !== true) this.#remove(store, current);
    return { object: current, deleted: true };
  }

  /** Removes a stored object: one DELETED event carrying it as stored, at a new RV. */
  #remove(store: ResourceStore, current: StoredObject): void {
    this.#commit(
      store,
      JSON.parse(current.json) as MutableObject,
      'DELETED',
      current,
      this.#rv + 1,
    );
  }

  /** 403 for a create in a namespace that is terminating (the NamespaceLifecycle admission). */
  #checkNamespaceActive(info: ResourceInfo, name: string, namespace: string): void {
    const namespaces = this.#stores.get(groupResourceKey('', 'namespaces'));
    if (isTerminating(namespaces?.items.get(namespace)?.obj)) {
      throw namespaceTerminating(info, name, namespace);
    }
  }

  /** Removes every object of a resource (used when its CRD goes away). */
  deleteAll(info: ResourceInfo): void {
    const store = this.store(info);
    for (const key of [...store.items.keys()]) {
      const current = store.items.get(key)!;
      this.#commit(
        store,
        JSON.parse(current.json) as MutableObject,
        'DELETED',
        current,
        this.#rv + 1,
      );
    }
    this.#stores.delete(store.key);
  }

  /**
   * LIST. `resourceVersion` unset or "0" serves the current state; an exact RV with
   * `resourceVersionMatch=Exact` serves a snapshot rebuilt from the history (410 when compacted);
   * `NotOlderThan` newer than the current RV is a 504 "Too large resource version".
   */
  list(info: ResourceInfo, options: StorageListOptions = {}): ListResult {
    const store = this.store(info);
    let items: ReadonlyMap<string, StoredObject> = store.items;
    let keys: readonly string[] | undefined;
    let listRv = this.#rv;
    let start = '';
    const rvText = options.resourceVersion ?? '';
    if (options.continueToken !== undefined && options.continueToken !== '') {
      if (rvText !== '' && rvText !== '0') {
        throw badRequest('specifying resource version is not allowed when using continue');
      }
      const token = decodeContinue(options.continueToken);
      start = token.start;
      if (token.rv !== -1) {
        if (token.rv < this.#compactedRv) throw expiredContinue(token.start);
        // Every page reads the first page's snapshot, as etcd serves it at the token's revision.
        ({ items, keys } = this.#snapshot(store, token.rv));
        listRv = token.rv;
      }
    } else if (rvText !== '' && rvText !== '0') {
      const rv = parseRv(rvText);
      const match = options.resourceVersionMatch ?? '';
      if (match !== 'Exact' && match !== 'NotOlderThan' && match !== '') {
        throw badRequest(`resourceVersionMatch: Unsupported value: "${match}"`);
      }
      // An exact RV, or an RV with a limit and no match, is read from etcd at that revision.
      const exact = match === 'Exact' || (match === '' && (options.limit ?? 0) > 0);
      // Over HTTP, freshness.ts has already waited for a future RV and answered; this guards
      // direct calls with the same errors.
      if (rv > this.#rv)
        throw match === 'Exact' ? futureRevision() : tooLargeResourceVersion(rv, this.#rv);
      if (exact) {
        ({ items, keys } = this.#snapshot(store, rv));
        listRv = rv;
      }
    } else if (
      options.resourceVersionMatch !== undefined &&
      options.resourceVersionMatch !== '' &&
      rvText === ''
    ) {
      throw invalid('meta.k8s.io', 'ListOptions', '', [
        {
          field: 'resourceVersionMatch',
          reason: 'FieldValueForbidden',
          message:
            'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
        },
      ]);
    }
    keys ??= store.sortedKeys();
    const { namespace, label, field } = options;
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : Infinity;
    const checkLabel = label !== undefined && !label.isEverything();
    const checkField = field !== undefined && !field.isEverything();
    let i = start === '' ? 0 : firstAfter(keys, start);
    let end = keys.length;
    if (namespace !== undefined && namespace !== '' && info.namespaced) {
      // Keys of one namespace are contiguous in sorted order.
      const prefix = `${namespace}/`;
      i = Math.max(i, lowerBound(keys, prefix));
      end = lowerBound(keys, `${namespace}0`); // '0' is the character after '/'
    }
    const out: StoredObject[] = [];
    for (; i < end && out.length < limit; i++) {
      const item = items.get(keys[i]!);
      if (item === undefined) continue;
      if (checkLabel && !label.matches(item.obj.metadata?.labels)) continue;
      if (checkField && !field.matches(item.obj)) continue;
      out.push(item);
    }
    let cont: string | undefined;
    let remaining: number | undefined;
    if (i < end && out.length >= limit) {
      // More may follow; only promise it when something actually matches later.
      let more = !checkLabel && !checkField;
      if (!more) {
        for (let j = i; j < end; j++) {
          const item = items.get(keys[j]!);
          if (item === undefined) continue;
          if (checkLabel && !label.matches(item.obj.metadata?.labels)) continue;
          if (checkField && !field.matches(item.obj)) continue;
          more = true;
          break;
        }
      }
      if (more) {
        cont = encodeContinue({ rv: listRv, start: out[out.length - 1]!.key });
        if (!checkLabel && !checkField) remaining = end - i;
      }
    }
    const result: ListResult = { items: out, resourceVersion: listRv };
    if (cont !== undefined) return { ...result, continue: cont, remainingItemCount: remaining };
    return result;
  }

  /**
   * The resource's state at `rv` (the current items when nothing changed since), or 410 Expired
   * when the history no longer reaches back to it.
   */
  #snapshot(store: ResourceStore, rv: number): Snapshot {
    if (rv < this.#compactedRv)
      throw expired('The resourceVersion for the provided list is too old.');
    const later = rv >= this.#rv ? [] : this.eventsAfter(rv, store.key);
    // Unchanged since `rv` (other resources may have moved the RV on): the current items are it.
    if (later.length === 0) return { items: store.items, keys: store.sortedKeys() };
    return this.#snapshots.get(store.key, rv, () => rebuildSnapshot(store.items, later));
  }

  /** Every store (for namespace cascades and diagnostics). */
  stores(): IterableIterator<ResourceStore> {
    return this.#stores.values();
  }
}

function lowerBound(keys: readonly string[], value: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The object's own namespace, when set, must agree with the one in the request path. */
function checkNamespaceMatches(
  objectNamespace: string | undefined,
  pathNamespace: string | undefined,
): void {
  if (
    objectNamespace !== undefined &&
    objectNamespace !== '' &&
    pathNamespace !== undefined &&
    objectNamespace !== pathNamespace
  ) {
    throw badRequest(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
}

/** 409 when a DELETE's preconditions (uid, resourceVersion) do not hold. */
function checkPreconditions(current: StoredObject, pre: DeleteOptions['preconditions']): void {
  if (pre?.uid !== undefined && pre.uid !== current.obj.metadata?.uid) {
    throw statusError(
      409,
      'Conflict',
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.obj.metadata?.uid ?? ''}`,
    );
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== String(current.rv)) {
    throw statusError(
      409,
      'Conflict',
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.rv}`,
    );
  }
}
