/**
 * The namespace lifecycle: what the namespace registry, the NamespaceLifecycle admission plugin
 * and the namespace controller do on a real cluster.
 *
 * - A new namespace gets `spec.finalizers: ["kubernetes"]`, `status.phase: Active` and the
 *   `kubernetes.io/metadata.name` label.
 * - DELETE marks it (`deletionTimestamp`, `status.phase: Terminating`, MODIFIED) and keeps it; a
 *   create inside it is then 403 Forbidden with the `NamespaceTerminating` cause; another DELETE
 *   is 409 while `spec.finalizers` is not empty.
 * - The namespace controller is emulated by {@link NamespaceController}: after a delay (a real
 *   one takes seconds) it deletes the content (pods at once, as if their kubelet confirmed),
 *   waits for objects kept by finalizers, then clears `spec.finalizers`, which deletes the
 *   namespace in the same write (DELETED), as the real `/finalize` does.
 */
import type { ApiStatusError } from '@kubecache/cache';
import { groupResourceKey } from './resources.js';
import type { ResourceInfo, ResourceRegistry } from './resources.js';
import type { Storage, StorageEvent } from './storage.js';
import { qualified, statusError } from './status.js';

/** The finalizer the namespace controller owns. */
export const KUBERNETES_FINALIZER = 'kubernetes';

/** Default delay before the emulated namespace controller empties a terminating namespace. */
export const DEFAULT_NAMESPACE_DELETION_DELAY_MS = 100;

const NAMESPACES_KEY = groupResourceKey('', 'namespaces');

/** The parts of a namespace this module reads and writes (a mutable view). */
interface NamespaceObject {
  metadata?: {
    name?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: { finalizers?: string[] };
  status?: { phase?: string };
}

export function isNamespaces(info: ResourceInfo): boolean {
  return info.group === '' && info.resource === 'namespaces';
}

/** Fills what the namespace registry sets on create (it owns the label and the finalizer). */
export function prepareNamespace(obj: NamespaceObject): void {
  const meta = obj.metadata!;
  meta.labels = { ...meta.labels, 'kubernetes.io/metadata.name': meta.name! };
  obj.spec = { ...obj.spec, finalizers: obj.spec?.finalizers ?? [KUBERNETES_FINALIZER] };
  obj.status = { ...obj.status, phase: 'Active' };
}

/** Whether a stored namespace is being deleted. */
export function isTerminating(ns: NamespaceObject | undefined): boolean {
  return ns?.status?.phase === 'Terminating';
}

/** Marks a namespace as being deleted (the first DELETE). */
export function markTerminating(obj: NamespaceObject, now: string): void {
  obj.metadata!.deletionTimestamp = now;
  obj.status = { ...obj.status, phase: 'Terminating' };
}

/** Whether the namespace controller still has to empty it (its `spec.finalizers`). */
export function hasSpecFinalizers(obj: NamespaceObject): boolean {
  return (obj.spec?.finalizers?.length ?? 0) > 0;
}

/** Namespaces the NamespaceLifecycle admission never lets go. */
const IMMORTAL_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public'];

/** 403 for a DELETE of `default`, `kube-system` or `kube-public`; undefined for others. */
export function immortal(name: string): ApiStatusError | undefined {
  if (!IMMORTAL_NAMESPACES.includes(name)) return undefined;
  return statusError(
    403,
    'Forbidden',
    `namespaces "${name}" is forbidden: this namespace may not be deleted`,
    { name, kind: 'namespaces' },
  );
}

/** 409 for a DELETE of a namespace the controller has not emptied yet. */
export function stillFinalizing(name: string): ApiStatusError {
  return statusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on namespaces "${name}": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.`,
    { name, kind: 'namespaces' },
  );
}

/** 403 for a create in a terminating namespace (the NamespaceLifecycle admission plugin). */
export function namespaceTerminating(
  info: ResourceInfo,
  name: string,
  namespace: string,
): ApiStatusError {
  const what = qualified(info.group, info.resource);
  const subject = name === '' ? what : `${what} "${name}"`;
  const details: NonNullable<ApiStatusError['status']>['details'] = {
    ...(name === '' ? {} : { name }),
    ...(info.group === '' ? {} : { group: info.group }),
    kind: info.resource,
    causes: [
      {
        reason: 'NamespaceTerminating',
        message: `namespace ${namespace} is being terminated`,
        field: 'metadata.namespace',
      },
    ],
  };
  return statusError(
    403,
    'Forbidden',
    `${subject} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
    details,
  );
}

/**
 * Emulates the namespace controller. `delayMs` after a namespace starts terminating (and again
 * after each deletion inside it while something is left), it deletes what is left; once the
 * namespace is empty it clears the `kubernetes` finalizer and deletes the namespace. A
 * non-finite delay disables it: namespaces then stay Terminating, as in an envtest without
 * controllers.
 */
export class NamespaceController {
  readonly #db: Storage;
  readonly #registry: ResourceRegistry;
  readonly #delayMs: number;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopped = false;

  constructor(db: Storage, registry: ResourceRegistry, delayMs: number) {
    this.#db = db;
    this.#registry = registry;
    this.#delayMs = delayMs;
    db.onEvent((ev) => this.#observe(ev));
  }

  /** Cancels pending work (the server is closing). */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #observe(ev: StorageEvent): void {
    if (ev.resourceKey === NAMESPACES_KEY) {
      if (ev.type === 'DELETED') this.#cancel(ev.object.name);
      else if (isTerminating(ev.object.obj) && hasSpecFinalizers(ev.object.obj))
        this.#schedule(ev.object.name);
      return;
    }
    // A deletion inside a terminating namespace may be the last thing it waited for.
    if (ev.type === 'DELETED' && ev.object.namespace !== '') {
      const ns = this.#db.tryGet(this.#namespaces(), undefined, ev.object.namespace);
      if (ns !== undefined && isTerminating(ns.obj)) this.#schedule(ev.object.namespace);
    }
  }

  #namespaces(): ResourceInfo {
    return this.#registry.get('', 'v1', 'namespaces')!;
  }

  #schedule(name: string): void {
    if (this.#stopped || !Number.isFinite(this.#delayMs) || this.#timers.has(name)) return;
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      this.#finalize(name);
    }, this.#delayMs);
    timer.unref();
    this.#timers.set(name, timer);
  }

  #cancel(name: string): void {
    clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
  }

  /** One pass of the controller over a terminating namespace. */
  #finalize(name: string): void {
    const nsInfo = this.#namespaces();
    const ns = this.#db.tryGet(nsInfo, undefined, name);
    if (ns === undefined || !isTerminating(ns.obj)) return;
    for (const store of [...this.#db.stores()]) {
      if (!store.info.namespaced) continue;
      for (const item of [...store.items.values()]) {
        if (item.namespace !== name) continue;
        if (item.obj.metadata?.deletionTimestamp !== undefined) continue; // kept by finalizers
        this.#db.delete(store.info, name, item.name, { gracePeriodSeconds: 0 });
      }
    }
    // Objects kept by finalizers: their final DELETED schedules the next pass.
    if (this.#remaining(name) > 0) return;
    // Clearing the finalizer deletes the namespace in the same write (unless metadata
    // finalizers keep it), as the real `/finalize` does.
    const cleared = JSON.parse(this.#db.get(nsInfo, undefined, name).json) as NamespaceObject;
    cleared.spec = { ...cleared.spec, finalizers: [] };
    this.#db.update(nsInfo, cleared);
  }

  #remaining(name: string): number {
    let n = 0;
    for (const store of this.#db.stores()) {
      if (!store.info.namespaced) continue;
      for (const item of store.items.values()) if (item.namespace === name) n++;
    }
    return n;
  }
}
