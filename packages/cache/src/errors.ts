import type { Status } from './types.js';

/**
 * Base class of every error kubecache throws or reports. `code` is stable across releases and is
 * what callers should branch on; the message is for humans.
 *
 * @example
 * ```ts
 * try { parseLabelSelector('a in (b'); } catch (err) {
 *   if (err instanceof KubecacheError && err.code === 'SelectorParseError') console.error(err.message);
 * }
 * ```
 */
export class KubecacheError extends Error {
  /** Stable machine-readable identifier of the failure. */
  readonly code: string;
  /** What an operator can do about it, when there is something to say (one sentence). */
  readonly hint: string | undefined;

  constructor(code: string, message: string, options?: KubecacheErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = options?.hint;
  }
}

/**
 * Options of {@link KubecacheError}: the standard `cause` plus an operator `hint`.
 *
 * @example
 * ```ts
 * new KubecacheError('KubeconfigMissing', 'no kubeconfig found', { hint: 'set KUBECONFIG' });
 * ```
 */
export interface KubecacheErrorOptions extends ErrorOptions {
  readonly hint?: string;
}

/**
 * An API server answered with an error status (or a watch delivered an ERROR event). Carries the
 * HTTP status code and the decoded `Status` body so callers can branch on 410 Gone, 429 Too Many
 * Requests, 403 Forbidden and so on.
 */
export class ApiStatusError extends KubecacheError {
  /** HTTP status code (for a watch ERROR event: `Status.code`). */
  readonly statusCode: number;
  /** `Status.reason`, e.g. `Expired`, `Gone`, `Forbidden`, `TooManyRequests`; may be empty. */
  readonly reason: string;
  /** The decoded `Status` body when the server sent one. */
  readonly status: Status | undefined;
  /** Seconds from a `Retry-After` header or `Status.details.retryAfterSeconds`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    statusCode: number,
    message: string,
    init: {
      status?: Status;
      reason?: string;
      retryAfterSeconds?: number;
      cause?: unknown;
      hint?: string;
    } = {},
  ) {
    super('ApiStatusError', message, {
      cause: init.cause,
      ...(init.hint === undefined ? {} : { hint: init.hint }),
    });
    this.statusCode = statusCode;
    this.status = init.status;
    this.reason = init.reason ?? init.status?.reason ?? '';
    this.retryAfterSeconds = init.retryAfterSeconds ?? init.status?.details?.retryAfterSeconds;
  }

  /** 410 Gone / reason Expired or Gone: the resourceVersion is too old; relist. */
  isGone(): boolean {
    return this.statusCode === 410 || this.reason === 'Expired' || this.reason === 'Gone';
  }
}
