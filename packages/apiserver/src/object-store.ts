/**
 * The in-process object helpers ({@link ObjectStore}): `server.create(obj)`, `update`, `patch`…
 * for test setup without HTTP.
 *
 * They take plain objects with `apiVersion` and `kind` instead of URLs, and go through the same
 * storage calls as the REST handlers (validation, resourceVersion, generation, finalizers,
 * history, watch fan-out), so open watches see every change; they differ only where test setup
 * wants them to: a namespaced object defaults to `default`, `create` creates a missing namespace,
 * and the caller's object is copied so that changing it later cannot reach the stored one.
 */
import type { KubeObject } from '@kubecache/cache';
import { prepareCreate } from './crd.js';
import { patchStored } from './patching.js';
import type { ResourceInfo, ResourceRegistry } from './resources.js';
import { fieldMatcher, labelMatcher } from './selectors.js';
import { statusError } from './status.js';
import type { Storage } from './storage.js';

/** Identifies one object for the in-process helpers.
 *
 * @example
 * ```ts
 * server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' });
 * ```
 */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** Selects objects of one kind for {@link ObjectStore.list}.
 *
 * @example
 * ```ts
 * server.list({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', labelSelector: 'app=web' });
 * ```
 */
export interface ListRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/**
 * Direct, in-process access to the server's objects for test setup. Every call goes through the
 * same code path as the REST API (validation, resourceVersion, history, watch fan-out), so open
 * watches see the changes. Returned objects are the stored ones: treat them as read-only.
 *
 * @example
 * ```ts
 * server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' }, data: { k: 'v' } });
 * server.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' }, { data: { k: 'w' } });
 * ```
 */
export interface ObjectStore {
  /** Creates an object (its namespace is created if missing). Throws ApiStatusError like the API. */
  create<T extends KubeObject>(obj: T): T;
  /** Replaces an object (PUT semantics; a set resourceVersion is a precondition). */
  update<T extends KubeObject>(obj: T): T;
  /** Writes the status of an object through its status subresource (or the object if it has none). */
  updateStatus<T extends KubeObject>(obj: T): T;
  /** Creates the object, or replaces it (ignoring its resourceVersion) when it exists. */
  apply<T extends KubeObject>(obj: T): T;
  /** Patches an object (merge patch by default). */
  patch<T extends KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    type?: 'merge' | 'json' | 'strategic',
  ): T;
  /** Deletes an object; with finalizers it only gets a deletionTimestamp. Returns the final object. */
  delete<T extends KubeObject>(ref: ObjectRef): T;
  /** The stored object, or undefined. */
  get<T extends KubeObject>(ref: ObjectRef): T | undefined;
  /** Objects of one kind, sorted by namespace/name. */
  list<T extends KubeObject>(ref: ListRef): T[];
  /** The current resourceVersion. */
  resourceVersion(): string;
}

/**
 * The storage rewrites only top-level fields and metadata of its input before serializing it, so
 * a copy of those two levels protects the caller's object; with `copy: true` the storage then
 * stores a private parse of the serialized JSON, so later changes to the caller's nested objects
 * cannot reach the stored one.
 */
function shallowCopy<T extends KubeObject>(obj: T): T {
  return { ...obj, metadata: { ...obj.metadata } };
}

/** {@link ObjectStore} over a registry and a storage; the API server extends it. */
export class InProcessObjectStore implements ObjectStore {
  readonly registry: ResourceRegistry;
  readonly db: Storage;

  constructor(registry: ResourceRegistry, db: Storage) {
    this.registry = registry;
    this.db = db;
  }

  #infoOf(apiVersion: string | undefined, kind: string | undefined): ResourceInfo {
    const info = this.registry.byKind(apiVersion ?? '', kind ?? '');
    if (info === undefined) {
      throw statusError(
        404,
        'NotFound',
        `no resource is served for apiVersion ${apiVersion ?? ''}, kind ${kind ?? ''}`,
      );
    }
    return info;
  }

  #ensureNamespace(namespace: string | undefined): void {
    if (namespace === undefined || namespace === '') return;
    const nsInfo = this.registry.get('', 'v1', 'namespaces')!;
    if (this.db.tryGet(nsInfo, undefined, namespace) === undefined) {
      this.db.create(nsInfo, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace },
      });
    }
  }

  /** The namespace of an in-process write: the object's, or `default` for namespaced kinds. */
  #nsOf(info: ResourceInfo, obj: KubeObject): string | undefined {
    return info.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined;
  }

  /** The namespace of a reference: its own, or `default` for namespaced kinds. */
  #refNamespace(info: ResourceInfo, ref: ObjectRef): string | undefined {
    return ref.namespace ?? (info.namespaced ? 'default' : undefined);
  }

  create<T extends KubeObject>(obj: T): T {
    const info = this.#infoOf(obj.apiVersion, obj.kind);
    const copy = shallowCopy(obj);
    if (info.namespaced) {
      const ns = copy.metadata?.namespace ?? 'default';
      this.#ensureNamespace(ns);
      copy.metadata = { ...copy.metadata, namespace: ns };
    }
    prepareCreate(info, copy);
    return this.db.create(info, copy, { copy: true, keepStatus: true }).obj as T;
  }

  update<T extends KubeObject>(obj: T): T {
    const info = this.#infoOf(obj.apiVersion, obj.kind);
    return this.db.update(info, shallowCopy(obj), { copy: true, namespace: this.#nsOf(info, obj) })
      .obj as T;
  }

  updateStatus<T extends KubeObject>(obj: T): T {
    const info = this.#infoOf(obj.apiVersion, obj.kind);
    const sub = info.subresources.includes('status') ? 'status' : undefined;
    return this.db.update(info, shallowCopy(obj), {
      subresource: sub,
      copy: true,
      namespace: this.#nsOf(info, obj),
    }).obj as T;
  }

  apply<T extends KubeObject>(obj: T): T {
    const info = this.#infoOf(obj.apiVersion, obj.kind);
    const existing = this.db.tryGet(info, this.#nsOf(info, obj), obj.metadata?.name ?? '');
    if (existing === undefined) return this.create(obj);
    const copy = shallowCopy(obj);
    copy.metadata = { ...copy.metadata, resourceVersion: undefined };
    return this.db.update(info, copy, { copy: true, namespace: this.#nsOf(info, obj) }).obj as T;
  }

  patch<T extends KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    type: 'merge' | 'json' | 'strategic' = 'merge',
  ): T {
    const info = this.#infoOf(ref.apiVersion, ref.kind);
    const namespace = this.#refNamespace(info, ref);
    return patchStored(this.db, info, namespace, ref.name, patch, type, undefined).obj as T;
  }

  delete<T extends KubeObject>(ref: ObjectRef): T {
    const info = this.#infoOf(ref.apiVersion, ref.kind);
    return this.db.delete(info, this.#refNamespace(info, ref), ref.name).object.obj as T;
  }

  get<T extends KubeObject>(ref: ObjectRef): T | undefined {
    const info = this.#infoOf(ref.apiVersion, ref.kind);
    return this.db.tryGet(info, this.#refNamespace(info, ref), ref.name)?.obj as T | undefined;
  }

  list<T extends KubeObject>(ref: ListRef): T[] {
    const info = this.#infoOf(ref.apiVersion, ref.kind);
    return this.db
      .list(info, {
        namespace: ref.namespace,
        label: labelMatcher(ref.labelSelector ?? null),
        field: fieldMatcher(ref.fieldSelector ?? null, info),
      })
      .items.map((i) => i.obj as T);
  }

  resourceVersion(): string {
    return String(this.db.resourceVersion);
  }
}
