/**
 * Typed errors of the reflector and of watch decoding. A reflector reports every failure as a
 * {@link ReflectorError} whose `stage` says where it happened (kube-rs style), with the underlying
 * error as `cause`.
 */
import { ApiStatusError, KubecacheError } from './errors.js';

/** Where a reflector failure happened. */
export type ReflectorStage = 'list' | 'watch-start' | 'watch-event' | 'watch-stream' | 'decode';

/**
 * One failure of a reflector, reported through `onWatchError`. The reflector recovers from it
 * (relist, or backoff and re-watch) unless it is a {@link ReflectorRetryBudgetExhaustedError}.
 *
 * @example
 * ```ts
 * new Reflector({ ..., onWatchError: (err) => console.warn(err.stage, err.code, err.cause) });
 * ```
 */
export class ReflectorError extends KubecacheError {
  /** Where it failed. */
  readonly stage: ReflectorStage;
  /** The reflector's name (for logs). */
  readonly reflector: string;
  /** The last synced resourceVersion when it failed. */
  readonly resourceVersion: string;

  constructor(
    stage: ReflectorStage,
    message: string,
    init: { reflector: string; resourceVersion: string; cause?: unknown; code?: string },
  ) {
    super(init.code ?? 'ReflectorError', message, { cause: init.cause });
    this.stage = stage;
    this.reflector = init.reflector;
    this.resourceVersion = init.resourceVersion;
  }

  /** The HTTP/Status error behind this failure, when there is one. */
  get apiStatus(): ApiStatusError | undefined {
    return this.cause instanceof ApiStatusError ? this.cause : undefined;
  }
}

/**
 * Terminal: the reflector failed more than `retryBudget` times in a row and stopped; `run()`
 * rejects with it. `lastError` is the failure that exhausted the budget.
 *
 * @example
 * ```ts
 * try { await reflector.run(signal); } catch (err) {
 *   if (err instanceof ReflectorRetryBudgetExhaustedError) process.exitCode = 1;
 * }
 * ```
 */
export class ReflectorRetryBudgetExhaustedError extends ReflectorError {
  /** The failure that used up the budget. */
  readonly lastError: ReflectorError;
  /** Consecutive failures seen. */
  readonly failures: number;

  constructor(lastError: ReflectorError, failures: number) {
    super(
      lastError.stage,
      `reflector ${lastError.reflector}: retry budget exhausted after ${failures} failures: ${lastError.message}`,
      {
        reflector: lastError.reflector,
        resourceVersion: lastError.resourceVersion,
        cause: lastError,
        code: 'ReflectorRetryBudgetExhausted',
      },
    );
    this.lastError = lastError;
    this.failures = failures;
  }
}

/**
 * A watch line that is not a JSON watch event. Carries a short preview of the line; the
 * reflector reports it (stage `decode`) and re-watches from the last good resourceVersion.
 *
 * @example
 * ```ts
 * if (err instanceof MalformedWatchLineError) console.warn(err.preview);
 * ```
 */
export class MalformedWatchLineError extends KubecacheError {
  /** The first characters of the offending line. */
  readonly preview: string;
  /** The line's length in bytes. */
  readonly byteLength: number;

  constructor(preview: string, byteLength: number, reason: string, options?: ErrorOptions) {
    super(
      'MalformedWatchLine',
      `malformed watch line (${reason}): ${JSON.stringify(preview)}`,
      options,
    );
    this.preview = preview;
    this.byteLength = byteLength;
  }
}

/**
 * The watch stream ended in the middle of a line (connection cut). Nothing after the last
 * complete line was applied; the reflector re-watches from the last good resourceVersion.
 *
 * @example
 * ```ts
 * if (err instanceof TruncatedWatchStreamError) console.warn(err.pendingBytes);
 * ```
 */
export class TruncatedWatchStreamError extends KubecacheError {
  /** Bytes of the incomplete last line that were dropped. */
  readonly pendingBytes: number;

  constructor(pendingBytes: number) {
    super(
      'TruncatedWatchStream',
      `watch stream ended inside a line (${pendingBytes} bytes dropped)`,
    );
    this.pendingBytes = pendingBytes;
  }
}

/**
 * No bytes arrived on a watch for `stallTimeoutMs`: the reflector aborted it and reconnects.
 *
 * @example
 * ```ts
 * if (err.cause instanceof WatchStalledError) metrics.stalls.inc();
 * ```
 */
export class WatchStalledError extends KubecacheError {
  /** How long the watch was silent. */
  readonly idleMs: number;

  constructor(idleMs: number) {
    super('WatchStalled', `watch stalled: no bytes for ${idleMs} ms`);
    this.idleMs = idleMs;
  }
}
