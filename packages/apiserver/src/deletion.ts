/**
 * What a DELETE does to an object, as the real registry decides it (k8s.io/apiserver's
 * `Store.Delete`, `rest.BeforeDelete` and the garbage-collector finalizers):
 *
 * - graceful deletion (pods only): a pod bound to a node gets `deletionTimestamp` = now + grace
 *   and `deletionGracePeriodSeconds` and stays (MODIFIED) until a DELETE with grace 0 (what the
 *   kubelet sends); an unbound pod, or grace 0, is marked then removed (MODIFIED, then DELETED);
 *   a later DELETE may only shorten the grace period;
 * - `propagationPolicy` Orphan / Foreground (or `orphanDependents`) add the `orphan` /
 *   `foregroundDeletion` finalizer; an object with finalizers is only marked as deleting
 *   (deletionTimestamp now, grace 0) and stays until an update removes the last one.
 *
 * There is no garbage collector here: those finalizers stay until a client removes them.
 *
 * The functions are pure: the storage applies their plan in one synchronous write.
 */
import type { KubeObject } from '@kubecache/cache';
import { parseBody } from './body.js';
import type { ResourceInfo } from './resources.js';
import { badRequest } from './status.js';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** The pod grace period when neither the request nor the pod names one (the API default). */
const DEFAULT_POD_GRACE_SECONDS = 30;

/** The DeleteOptions the server honours, from the body and the query. */
export interface DeleteOptions {
  readonly preconditions?: { uid?: string; resourceVersion?: string };
  readonly dryRun?: boolean;
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  readonly orphanDependents?: boolean;
}

const POLICIES: readonly string[] = ['Orphan', 'Background', 'Foreground'];

function isPolicy(value: unknown): value is DeleteOptions['propagationPolicy'] {
  return typeof value === 'string' && POLICIES.includes(value);
}

/**
 * Decodes a DELETE's options: the body (empty, or DeleteOptions) and the query parameters
 * (`gracePeriodSeconds`, `propagationPolicy`, `orphanDependents`, `dryRun`), as kubectl and
 * client libraries send either.
 */
export function deleteOptions(
  text: string,
  query: URLSearchParams,
  queryDryRun: boolean,
): DeleteOptions {
  const body =
    text.trim() === ''
      ? {}
      : (parseBody(text, false) as {
          preconditions?: { uid?: string; resourceVersion?: string };
          dryRun?: string[];
          gracePeriodSeconds?: unknown;
          propagationPolicy?: unknown;
          orphanDependents?: unknown;
        });
  const graceText = query.get('gracePeriodSeconds');
  let grace = typeof body.gracePeriodSeconds === 'number' ? body.gracePeriodSeconds : undefined;
  if (graceText !== null) {
    if (!/^-?\d+$/.test(graceText)) {
      throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(graceText)}: invalid syntax`);
    }
    grace = Number(graceText);
  }
  const policy = query.get('propagationPolicy') ?? body.propagationPolicy;
  if (policy !== undefined && policy !== null && !isPolicy(policy)) {
    throw badRequest(
      `propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan", "nil"`,
    );
  }
  const orphanText = query.get('orphanDependents');
  const orphan =
    orphanText !== null
      ? orphanText !== 'false'
      : typeof body.orphanDependents === 'boolean'
        ? body.orphanDependents
        : undefined;
  const bodyDryRun = Array.isArray(body.dryRun) && body.dryRun.includes('All');
  return {
    preconditions: body.preconditions,
    dryRun: queryDryRun || bodyDryRun,
    gracePeriodSeconds: grace,
    propagationPolicy: isPolicy(policy) ? policy : undefined,
    orphanDependents: orphan,
  };
}

/**
 * The finalizers after the garbage-collector options are applied (`deletionFinalizersForGarbage
 * Collection`): both GC finalizers are dropped, then added back as the options (or, without
 * options, the object's own GC finalizers) ask.
 */
export function finalizersForDeletion(
  current: readonly string[] | undefined,
  options: DeleteOptions,
): string[] {
  const existing = current ?? [];
  const others = existing.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  let orphan: boolean;
  let foreground: boolean;
  if (options.orphanDependents !== undefined) {
    orphan = options.orphanDependents;
    foreground = false;
  } else if (options.propagationPolicy !== undefined) {
    orphan = options.propagationPolicy === 'Orphan';
    foreground = options.propagationPolicy === 'Foreground';
  } else {
    orphan = existing.includes(ORPHAN_FINALIZER);
    foreground = existing.includes(FOREGROUND_FINALIZER);
  }
  if (orphan) others.push(ORPHAN_FINALIZER);
  if (foreground) others.push(FOREGROUND_FINALIZER);
  return others;
}

/**
 * The grace period of a pod's deletion (`podStrategy.CheckGracefulDelete`): the request's, else
 * the pod's `terminationGracePeriodSeconds`, else 30; 0 for a pod not bound to a node or already
 * finished; a negative one becomes 1. Undefined for every other resource (no graceful deletion).
 */
export function gracePeriodOf(
  info: ResourceInfo,
  obj: KubeObject,
  options: DeleteOptions,
): number | undefined {
  if (info.group !== '' || info.resource !== 'pods') return undefined;
  const spec = (obj as { spec?: { nodeName?: string; terminationGracePeriodSeconds?: number } })
    .spec;
  const phase = (obj as { status?: { phase?: string } }).status?.phase;
  let period =
    options.gracePeriodSeconds ?? spec?.terminationGracePeriodSeconds ?? DEFAULT_POD_GRACE_SECONDS;
  if (spec?.nodeName === undefined || spec.nodeName === '') period = 0;
  if (phase === 'Failed' || phase === 'Succeeded') period = 0;
  if (period < 0) period = 1;
  return period;
}

/** RFC 3339 (second precision) of `seconds` from now, as deletion timestamps are written. */
export function timestampIn(seconds: number, nowMs = Date.now()): string {
  const second = Math.floor(nowMs / 1000) + seconds;
  return new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A timestamp moved by `deltaSeconds`. */
export function shiftTimestamp(timestamp: string, deltaSeconds: number): string {
  return timestampIn(deltaSeconds, Date.parse(timestamp));
}
