/**
 * The list/watch rules shared by the {@link Reflector} and the raw {@link Watcher}: which
 * resourceVersion a (re)list asks for, when it is paged, how long a watch may run on the server,
 * and how a failure is classified (410 relists, 429 waits for Retry-After, the rest backs off).
 * Internal: not exported from the package index.
 */
import { ApiStatusError, KubecacheError } from './errors.js';
import type { Clock, TimerHandle } from './clock.js';
import { WatchStalledError, type ReflectorStage } from './reflector-errors.js';
import type { Status } from './types.js';

/** Server-side watch timeouts are drawn from [MIN, 2 × MIN) seconds, as client-go does. */
const MIN_WATCH_TIMEOUT_SECONDS = 300;

/** A randomized `timeoutSeconds` for a watch, so many clients do not reconnect in lockstep. */
export function watchTimeoutSeconds(random: () => number): number {
  return Math.floor(MIN_WATCH_TIMEOUT_SECONDS * (1 + random()));
}

/**
 * Is `err` the server saying our resourceVersion is newer than it knows (504 / ResourceVersionTooLarge)?
 *
 * @example
 * ```ts
 * try {
 *   await lw.list({ resourceVersion: '987654321', resourceVersionMatch: 'NotOlderThan', signal });
 * } catch (err) {
 *   if (isTooLargeResourceVersion(err)) await lw.list({ resourceVersion: '', signal }); // a quorum read always works
 * }
 * ```
 */
export function isTooLargeResourceVersion(err: unknown): boolean {
  if (!(err instanceof ApiStatusError)) return false;
  const causes = err.status?.details?.causes;
  if (causes?.some((c) => c.reason === 'ResourceVersionTooLarge')) return true;
  return /too large resource version/i.test(err.status?.message ?? err.message);
}

/** 410 Gone / Expired (HTTP or a watch ERROR event): the resourceVersion left the history. */
export function isGone(err: unknown): boolean {
  return err instanceof ApiStatusError && err.isGone();
}

/** Our resourceVersion cannot be served any more: only a relist helps. */
export function needsRelist(err: unknown): boolean {
  return isGone(err) || isTooLargeResourceVersion(err);
}

/** A watch ERROR event's Status as an error (code 500 when the Status has none). */
export function watchEventError(status: Status): ApiStatusError {
  const code = typeof status.code === 'number' && status.code > 0 ? status.code : 500;
  return new ApiStatusError(code, `watch ERROR event: ${status.message ?? status.reason ?? code}`, {
    status,
  });
}

/** The wait a 429 asks for (Retry-After), in ms; undefined for anything else. */
export function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof ApiStatusError) || err.statusCode !== 429) return undefined;
  return err.retryAfterSeconds === undefined ? undefined : err.retryAfterSeconds * 1000;
}

/** Where a watch failed: a bad line, or before / after the server accepted the watch. */
export function watchFailureStage(err: unknown, opened: boolean): ReflectorStage {
  // Bytes that are not a watch event (or a line past the size limit) are a decode failure; a
  // stream cut mid-line is the connection's, so it stays a stream failure.
  if (
    err instanceof KubecacheError &&
    (err.code === 'MalformedWatchLine' || err.code === 'WatchLineTooLong')
  )
    return 'decode';
  return opened ? 'watch-stream' : 'watch-start';
}

/**
 * The RV a (re)list asks for (client-go's rule): "0" the first time (any cached state will do),
 * then the last synced RV (never older than what we have), and "" (a quorum read) once the
 * server said that RV is unavailable.
 */
export function relistResourceVersion(lastSyncRv: string, rvUnavailable: boolean): string {
  if (rvUnavailable) return '';
  return lastSyncRv === '' ? '0' : lastSyncRv;
}

/**
 * Whether a list at `rv` asks for pages. client-go's rule: a relist from a specific RV is
 * unpaged unless the server paged an earlier list, because an RV with a limit is an exact read
 * from etcd (410 once compacted), while an RV without one is served from the watch cache.
 */
export function listIsPaged(rv: string, pageSize: number, serverPaged: boolean): boolean {
  if (pageSize <= 0) return false;
  return rv === '' || rv === '0' || serverPaged;
}

/**
 * Arms a stall watchdog: once `idleMs()` reaches `windowMs`, `onStall` gets a
 * {@link WatchStalledError} (once). It re-checks only when the window could have run out, so a
 * busy watch costs one timer per window, not one per event. Returns the disarm function.
 */
export function armStallWatchdog(
  clock: Clock,
  windowMs: number,
  idleMs: () => number,
  onStall: (error: WatchStalledError) => void,
): () => void {
  if (windowMs <= 0) return () => {};
  let handle: TimerHandle | undefined;
  const check = (): void => {
    const idle = idleMs();
    if (idle >= windowMs) {
      handle = undefined;
      onStall(new WatchStalledError(idle));
      return;
    }
    handle = clock.setTimeout(check, windowMs - idle);
  };
  handle = clock.setTimeout(check, windowMs);
  return () => {
    if (handle !== undefined) clock.clearTimeout(handle);
    handle = undefined;
  };
}
