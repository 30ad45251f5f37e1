/**
 * The write path: from a cached object to an API call and back.
 *
 * Cached objects are shared and read-only ({@link Wire} types: timestamps are RFC 3339 strings,
 * as on the wire). To write one back, {@link deepCopy} it, change the copy, and hand it to a
 * client-node API call through {@link toClientModel}: client-node's serializer passes string
 * timestamps through unchanged (it converts only `Date` instances), so the copy goes out exactly
 * as it came in. What client-node returns has `Date`s again; {@link fromClientModel} turns it
 * back into a wire object (for a `MutationCache`, say).
 *
 * @module
 */
import type { KubeObject } from '@kubecache/cache';
import { Backoff, realClock, sleep, type Clock } from '@kubecache/cache';
import type { Wire } from './resources.js';

/** `T` with every `readonly` removed, deeply. */
export type Mutable<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer U)[]
    ? Mutable<U>[]
    : T extends object
      ? { -readonly [K in keyof T]: Mutable<T[K]> }
      : T;

/**
 * A deep, mutable copy of a cached (read-only) object.
 *
 * @example
 * ```ts
 * const cm = deepCopy(factory.core.v1.configmaps().lister().namespace('default').get('settings'));
 * cm.data = { ...cm.data, mode: 'fast' }; // the cache is untouched
 * ```
 */
export function deepCopy<T>(obj: T | Readonly<T>): Mutable<T> {
  // Cached objects are plain JSON (they came off the wire), so structuredClone loses nothing.
  return structuredClone(obj) as Mutable<T>;
}

/**
 * A wire object typed as the client-node model `M`, for the `body` of a client-node call. No
 * conversion happens: client-node serializes string timestamps as they are.
 *
 * @example
 * ```ts
 * const cm = deepCopy(factory.core.v1.configmaps().lister().namespace('default').get('settings'));
 * await coreApi.replaceNamespacedConfigMap({ name: 'settings', namespace: 'default', body: toClientModel<V1ConfigMap>(cm) });
 * ```
 */
export function toClientModel<M>(obj: Wire<M> | Mutable<Wire<M>>): M {
  // Sound at run time: the only difference between M and Wire<M> is Date vs RFC 3339 string,
  // and client-node's ObjectSerializer returns non-Date values of Date fields unchanged.
  return obj as unknown as M;
}

/**
 * A client-node model (as a call returns it, with `Date`s) as a wire object: every `Date`
 * becomes an RFC 3339 string with second precision when it has no milliseconds, as the API
 * server writes `metav1.Time`.
 *
 * @example
 * ```ts
 * const written = await coreApi.readNamespacedConfigMap({ name: 'settings', namespace: 'default' });
 * const cm: ConfigMap = fromClientModel(written); // timestamps are strings again
 * ```
 */
export function fromClientModel<M>(model: M): Wire<M> {
  return toWire(model) as Wire<M>;
}

function toWire(value: unknown): unknown {
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

/** Retry timing of {@link retryOnConflict}: client-go's `retry.DefaultRetry` by default. */
export interface RetryOptions {
  /** Attempts in all. Default 5. */
  readonly steps?: number;
  /** First delay, ms. Default 10. */
  readonly durationMs?: number;
  /** Growth per attempt. Default 1 (constant). */
  readonly factor?: number;
  /** Jitter fraction. Default 0.1. */
  readonly jitter?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly signal?: AbortSignal;
}

/**
 * The HTTP status of a client-node `ApiException` (or of anything with a numeric `code` or
 * `statusCode`), else undefined.
 *
 * @example
 * ```ts
 * try {
 *   await coreApi.readNamespacedConfigMap({ name: 'settings', namespace: 'default' });
 * } catch (err) {
 *   if (statusCodeOf(err) === 404) console.log('no such ConfigMap');
 *   else throw err;
 * }
 * ```
 */
export function statusCodeOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const code = (error as { code?: unknown; statusCode?: unknown }).code;
  if (typeof code === 'number') return code;
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/**
 * Whether `error` is a 409 Conflict, from client-node (`ApiException.code`), kubecache
 * (`ApiStatusError.statusCode`) or a raw `Status` body.
 */
export function isConflict(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  if (statusCodeOf(error) === 409) return true;
  const e = error as { body?: unknown };
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return false;
    }
  }
  return (body as (KubeObject & { code?: unknown }) | undefined)?.code === 409;
}

/**
 * Runs `fn` until it succeeds, retrying (after a short backoff) while it fails with 409
 * Conflict, like client-go's `retry.RetryOnConflict`. `fn` must re-read the object each time
 * (through the lister, or a GET) and re-apply its change: a conflict means someone else wrote
 * first. Other errors, and the last conflict once `steps` are used up, are thrown.
 *
 * @example
 * ```ts
 * await retryOnConflict(async () => {
 *   const cm = deepCopy(factory.core.v1.configmaps().lister().namespace('default').get('settings'));
 *   cm.data = { ...cm.data, mode: 'fast' };
 *   await coreApi.replaceNamespacedConfigMap({ name: 'settings', namespace: 'default', body: toClientModel<V1ConfigMap>(cm) });
 * });
 * ```
 */
export async function retryOnConflict<R>(
  fn: () => Promise<R> | R,
  options: RetryOptions = {},
): Promise<R> {
  const steps = Math.max(1, options.steps ?? 5);
  const clock = options.clock ?? realClock;
  const backoff = new Backoff({
    options: {
      initialMs: options.durationMs ?? 10,
      factor: options.factor ?? 1,
      jitter: 0,
      maxMs: Number.MAX_SAFE_INTEGER,
      resetAfterMs: Number.POSITIVE_INFINITY,
    },
    clock,
  });
  const jitter = options.jitter ?? 0.1;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || attempt >= steps) throw err;
    }
    // client-go's jitter adds up to `jitter` of the delay (our Backoff's only subtracts).
    const delay = backoff.next() * (1 + jitter * random());
    await sleep(clock, delay, options.signal);
  }
}
