/**
 * Handlers that turn informer events into work-queue keys, so wiring an informer to a queue is
 * one line. Keys are `namespace/name` (`name` for cluster-scoped objects); deletes noticed only by
 * a relist arrive as tombstones, whose key is used as is.
 *
 * @module
 */
import {
  deletionHandlingMetaNamespaceKeyFunc,
  DeletedFinalStateUnknown,
  type DeepReadonly,
  type KubeObject,
  type ResourceEventHandler,
} from '@kubecache/cache';
import { Priority } from './queue.js';
import type { AddOptions } from './queue.js';
import type { UpdatePredicate } from './predicates.js';

/** What the enqueue helpers need of a queue. */
export interface KeyQueue {
  add(item: string, options?: AddOptions): void;
}

/** Options of {@link enqueueKeys}. */
export interface EnqueueOptions<T extends KubeObject> {
  /** Updates pass only when every predicate passes (default: all updates pass). */
  readonly predicates?: readonly UpdatePredicate<T>[];
}

/** The last known state of a deleted object, unwrapping a tombstone. */
export function lastKnownState<T>(obj: T | DeletedFinalStateUnknown<T>): T | undefined {
  return obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
}

/**
 * A handler that adds the key of every added, updated and deleted object to `queue`. Objects of
 * the initial list and resyncs (`onUpdate(obj, obj)`) are queued at {@link Priority.Low}.
 *
 * @example
 * ```ts
 * informer.addEventHandler(enqueueKeys(queue));
 * ```
 */
export function enqueueKeys<T extends KubeObject>(
  queue: KeyQueue,
  options: EnqueueOptions<T> = {},
): ResourceEventHandler<T> {
  return enqueueMapped<T>(
    queue,
    (obj) =>
      deletionHandlingMetaNamespaceKeyFunc(
        obj as KubeObject | DeletedFinalStateUnknown<KubeObject>,
      ),
    options,
  );
}

/**
 * A handler that adds the keys `map` returns for each event's object (the old and the new one of
 * an update, both, as controller-runtime's `EnqueueRequestsFromMapFunc` does).
 *
 * @example
 * ```ts
 * // Reconcile the Deployment named in a ConfigMap's label.
 * factory.core.v1.configmaps().informer().addEventHandler(enqueueMapped(queue, (obj) => {
 *   const cm = lastKnownState(obj); // undefined for a tombstone without a last state
 *   const app = cm?.metadata?.labels?.['app'];
 *   return app === undefined ? undefined : `${cm?.metadata?.namespace}/${app}`;
 * }));
 * ```
 */
export function enqueueMapped<T extends KubeObject>(
  queue: KeyQueue,
  map: (
    obj: DeepReadonly<T> | DeletedFinalStateUnknown<DeepReadonly<T>>,
  ) => string | readonly string[] | undefined,
  options: EnqueueOptions<T> = {},
): ResourceEventHandler<T> {
  const predicates = options.predicates ?? [];
  const push = (
    obj: DeepReadonly<T> | DeletedFinalStateUnknown<DeepReadonly<T>>,
    priority: number,
  ): void => {
    const keys = map(obj);
    if (keys === undefined) return;
    if (typeof keys === 'string') queue.add(keys, { priority });
    else for (const k of keys) queue.add(k, { priority });
  };
  // The old object's keys that the new one does not have (an owner or a mapping that changed).
  // Keys both have are queued once: queuing one twice would reconcile it twice when a worker
  // takes the first add at once.
  const pushOldOnly = (
    oldObj: DeepReadonly<T>,
    newObj: DeepReadonly<T>,
    priority: number,
  ): void => {
    const oldKeys = map(oldObj);
    if (oldKeys === undefined) return;
    const newKeys = map(newObj);
    const has = (k: string): boolean =>
      newKeys === undefined
        ? false
        : typeof newKeys === 'string'
          ? newKeys === k
          : newKeys.includes(k);
    if (typeof oldKeys === 'string') {
      if (!has(oldKeys)) queue.add(oldKeys, { priority });
    } else for (const k of oldKeys) if (!has(k)) queue.add(k, { priority });
  };
  return {
    onAdd: (obj, isInInitialList) => push(obj, isInInitialList ? Priority.Low : Priority.Normal),
    onUpdate: (oldObj, newObj) => {
      for (const p of predicates) if (!p(oldObj, newObj)) return;
      const resync = oldObj === newObj;
      const priority = resync ? Priority.Low : Priority.Normal;
      push(newObj, priority);
      if (!resync) pushOldOnly(oldObj, newObj, priority);
    },
    onDelete: (obj) => push(obj, Priority.Normal),
  };
}
