/**
 * Fault injection for reliability tests: failed requests, latency, cut or broken watches, history
 * compaction, outages and restarts.
 */
import type { Status } from '@kubecache/cache';

/** What a request looks like to fault predicates.
 *
 * @example
 * ```ts
 * server.faults.failNext({ status: 500, predicate: (r) => r.watch && r.query.has('labelSelector') });
 * ```
 */
export interface FaultRequest {
  readonly method: string;
  /** Path without the query string, e.g. `/api/v1/namespaces/default/configmaps`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** True for `?watch=true` (or `/watch/` paths). */
  readonly watch: boolean;
}

/** Options of {@link FaultInjector.failNext}.
 *
 * @example
 * ```ts
 * server.faults.failNext({ count: 3, path: /\/configmaps$/, method: 'GET', status: 429, retryAfterSeconds: 2 });
 * ```
 */
export interface FailNextOptions {
  /** How many matching requests fail (default 1). */
  readonly count?: number;
  /** HTTP status to answer with: 429 (with Retry-After), 500, 403, 410, 503… */
  readonly status: number;
  /** Match the path: substring or regular expression (default: every request). */
  readonly path?: string | RegExp;
  /** Only this HTTP method (e.g. `GET`). */
  readonly method?: string;
  /** Only watch requests (true) or only non-watch requests (false). */
  readonly watch?: boolean;
  /** Arbitrary predicate, combined with the other matchers. */
  readonly predicate?: (request: FaultRequest) => boolean;
  /** `Retry-After` header and `details.retryAfterSeconds` (default 1 for 429). */
  readonly retryAfterSeconds?: number;
  readonly message?: string;
}

/** Options of the watch-cutting faults.
 *
 * @example
 * ```ts
 * server.faults.cutAfterEvents(10, { times: 2, path: '/deployments' });
 * ```
 */
export interface CutOptions {
  /** How many future watch connections are affected (default 1). */
  readonly times?: number;
  /** Only watches whose path matches. */
  readonly path?: string | RegExp;
}

interface FailRule extends FailNextOptions {
  remaining: number;
}

interface CutRule {
  readonly kind: 'events' | 'bytes';
  readonly limit: number;
  remaining: number;
  readonly path?: string | RegExp;
}

/** The server-side hooks the injector drives. */
export interface FaultTarget {
  compactHistory(): void;
  closeWatches(): void;
  cutWatches(): void;
  errorWatches(status: Status): void;
  bookmarkNow(): void;
  pause(): Promise<void>;
  resume(): Promise<void>;
  restart(): Promise<void>;
}

function pathMatches(matcher: string | RegExp | undefined, path: string): boolean {
  if (matcher === undefined) return true;
  return typeof matcher === 'string' ? path.includes(matcher) : matcher.test(path);
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Expired',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The `reason` the real server uses for an HTTP status code. */
export function reasonForCode(code: number): string {
  return REASONS[code] ?? '';
}

/**
 * The fault-injection handle of a running server (`server.faults`).
 *
 * @example
 * ```ts
 * server.faults.failNext({ count: 2, path: '/configmaps', status: 429, retryAfterSeconds: 1 });
 * server.faults.cutAfterEvents(3);          // the next watch is dropped after 3 events
 * server.faults.compactHistory();           // watches from older RVs now get 410 Expired
 * await server.faults.pause(); await server.faults.resume();
 * ```
 */
export class FaultInjector {
  readonly #target: FaultTarget;
  #failRules: FailRule[] = [];
  #cutRules: CutRule[] = [];
  /** Extra latency, in milliseconds, added before every request is handled. */
  latencyMs = 0;

  constructor(target: FaultTarget) {
    this.#target = target;
  }

  /** Answer the next `count` requests matching the options with an error status. */
  failNext(options: FailNextOptions): void {
    this.#failRules.push({ ...options, remaining: options.count ?? 1 });
  }

  /** Adds `ms` of latency before every request (0 turns it off). */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Drops the whole event history now: watches and continue tokens from older RVs get 410. */
  compactHistory(): void {
    this.#target.compactHistory();
  }

  /** Ends every open watch gracefully (clean end of the chunked stream). */
  closeWatches(): void {
    this.#target.closeWatches();
  }

  /** Drops every open watch connection abruptly (socket destroyed mid-stream). */
  breakWatches(): void {
    this.#target.cutWatches();
  }

  /** Sends an ERROR event to every open watch (default 500 InternalError), then ends it. */
  injectWatchError(status: number | Status = 500): void {
    const body: Status =
      typeof status === 'number'
        ? {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `injected watch error ${status}`,
            reason: reasonForCode(status),
            code: status,
          }
        : status;
    this.#target.errorWatches(body);
  }

  /** The next watch connection(s) are destroyed after `events` events have been sent. */
  cutAfterEvents(events: number, options: CutOptions = {}): void {
    this.#cutRules.push({
      kind: 'events',
      limit: events,
      remaining: options.times ?? 1,
      path: options.path,
    });
  }

  /** The next watch connection(s) are destroyed after `bytes` bytes, possibly mid-line. */
  cutAfterBytes(bytes: number, options: CutOptions = {}): void {
    this.#cutRules.push({
      kind: 'bytes',
      limit: bytes,
      remaining: options.times ?? 1,
      path: options.path,
    });
  }

  /** Sends a BOOKMARK to every bookmark-enabled watch now. */
  sendBookmarks(): void {
    this.#target.bookmarkNow();
  }

  /** Outage: stop accepting connections and drop open ones (clients see ECONNREFUSED). */
  pause(): Promise<void> {
    return this.#target.pause();
  }

  /** Ends an outage: listen again on the same port. */
  resume(): Promise<void> {
    return this.#target.resume();
  }

  /** Drops everything in flight (requests and watches) but keeps the stored state and history. */
  restart(): Promise<void> {
    return this.#target.restart();
  }

  /** Clears every pending fault rule and the latency. */
  reset(): void {
    this.#failRules = [];
    this.#cutRules = [];
    this.latencyMs = 0;
  }

  /** @internal The failure rule that consumes this request, if any. */
  takeFailure(request: FaultRequest): FailNextOptions | undefined {
    for (const rule of this.#failRules) {
      if (rule.remaining <= 0) continue;
      if (rule.method !== undefined && rule.method.toUpperCase() !== request.method) continue;
      if (rule.watch !== undefined && rule.watch !== request.watch) continue;
      if (!pathMatches(rule.path, request.path)) continue;
      if (rule.predicate !== undefined && !rule.predicate(request)) continue;
      rule.remaining--;
      this.#failRules = this.#failRules.filter((r) => r.remaining > 0);
      return rule;
    }
    return undefined;
  }

  /** @internal The cut limits to apply to a new watch on `path`. */
  takeCut(path: string): { cutAfterEvents?: number; cutAfterBytes?: number } {
    const out: { cutAfterEvents?: number; cutAfterBytes?: number } = {};
    for (const rule of this.#cutRules) {
      if (rule.remaining <= 0 || !pathMatches(rule.path, path)) continue;
      rule.remaining--;
      if (rule.kind === 'events') out.cutAfterEvents = rule.limit;
      else out.cutAfterBytes = rule.limit;
    }
    this.#cutRules = this.#cutRules.filter((r) => r.remaining > 0);
    return out;
  }
}
