/**
 * Update predicates: decide whether an update (old → new) is worth a reconcile. Like
 * controller-runtime's `predicate` package, they see every update, resyncs (`old === new`)
 * included, so `generationChanged` also filters resyncs out. Adds and deletes always pass.
 *
 * @module
 */
import type { DeepReadonly, KubeObject } from '@kubecache/cache';

/** Whether the update from `oldObj` to `newObj` should be reconciled. */
export type UpdatePredicate<T extends KubeObject = KubeObject> = (
  oldObj: DeepReadonly<T>,
  newObj: DeepReadonly<T>,
) => boolean;

function shallowEqualRecords(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean {
  if (a === b) return true;
  const ak = a === undefined ? [] : Object.keys(a);
  const bk = b === undefined ? [] : Object.keys(b);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (a?.[k] !== b?.[k]) return false;
  return true;
}

/**
 * `metadata.generation` changed: the spec changed (status-only writes and resyncs are skipped).
 * Objects without a generation (ConfigMaps, Secrets) always pass, as in controller-runtime.
 *
 * @example
 * ```ts
 * controller.for(factory.apps.v1.deployments().informer(), { predicates: [generationChanged] });
 * ```
 */
export const generationChanged: UpdatePredicate = (o, n) =>
  o.metadata?.generation === undefined || o.metadata.generation !== n.metadata?.generation;

/** `metadata.labels` changed. */
export const labelsChanged: UpdatePredicate = (o, n) =>
  !shallowEqualRecords(o.metadata?.labels, n.metadata?.labels);

/** `metadata.annotations` changed. */
export const annotationsChanged: UpdatePredicate = (o, n) =>
  !shallowEqualRecords(o.metadata?.annotations, n.metadata?.annotations);

/** `metadata.resourceVersion` changed: anything was written (skips resyncs only). */
export const resourceVersionChanged: UpdatePredicate = (o, n) =>
  o.metadata?.resourceVersion !== n.metadata?.resourceVersion;

/**
 * Passes when any of `predicates` passes.
 *
 * @example
 * ```ts
 * // Reconcile on spec changes and on relabelling, not on status writes.
 * const deployments = factory.apps.v1.deployments().informer();
 * controller.for(deployments, { predicates: [anyOf(generationChanged, labelsChanged)] });
 * ```
 */
export function anyOf<T extends KubeObject>(
  ...predicates: UpdatePredicate<T>[]
): UpdatePredicate<T> {
  return (o, n) => predicates.some((p) => p(o, n));
}

/** Passes when every one of `predicates` passes. */
export function allOf<T extends KubeObject>(
  ...predicates: UpdatePredicate<T>[]
): UpdatePredicate<T> {
  return (o, n) => predicates.every((p) => p(o, n));
}
