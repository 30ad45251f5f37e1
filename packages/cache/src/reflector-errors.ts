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
 * const store = createIndexer<Pod>();
 * new Reflector({ listerWatcher, store, onWatchError: (err) => console.warn(err.stage, err.code, err.cause) });
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
      {
        hint: 'the connection was cut mid-event (a proxy or load balancer timeout?); the watch resumes from the last complete event, nothing is lost',
      },
    );
    this.pendingBytes = pendingBytes;
  }
}

/**
 * No bytes arrived on a watch for `stallTimeoutMs`: the reflector aborted it and reconnects.
 *
 * @example
 * ```ts
 * let stalls = 0;
 * new Reflector({ listerWatcher, store: createIndexer<Pod>(), onWatchError: (err) => {
 *   if (err.cause instanceof WatchStalledError) stalls++;
 * } });
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

/**
 * A watch line (one event) grew past the decoder's `maxLineBytes` before its newline arrived. The
 * decoder stops buffering at the limit (memory stays bounded) and the watch is dropped; the
 * reflector re-watches from the last good resourceVersion. `code` is `'WatchLineTooLong'`.
 *
 * No real object comes near the default limit: etcd refuses writes over 1.5 MiB by default and
 * the API server request bodies over 3 MiB, so such a line comes from something between the
 * client and the API server, or from a cluster whose limits were raised (then raise
 * `maxLineBytes` too).
 *
 * @example
 * ```ts
 * if (err instanceof WatchLineTooLongError) console.warn(err.limitBytes, err.preview);
 * ```
 */
export class WatchLineTooLongError extends KubecacheError {
  /** The limit that was exceeded, in bytes. */
  readonly limitBytes: number;
  /** Bytes of the line received when the decoder gave up (more than `limitBytes`). */
  readonly receivedBytes: number;
  /** The first characters of the line. */
  readonly preview: string;

  constructor(limitBytes: number, receivedBytes: number, preview: string) {
    super(
      'WatchLineTooLong',
      `watch line longer than the ${limitBytes}-byte limit (${receivedBytes} bytes without a newline so far): ${JSON.stringify(preview)}`,
      {
        hint:
          'no Kubernetes object is that large (etcd refuses objects over 1.5 MiB by default): ' +
          'check what sits between the client and the API server; if your objects really are ' +
          'this large, raise maxLineBytes',
      },
    );
    this.limitBytes = limitBytes;
    this.receivedBytes = receivedBytes;
    this.preview = preview;
  }
}

/**
 * A LIST answered 200 with a body that is not a JSON list (an HTML login page, a proxy's
 * "OK" text, a truncated body). `code` is `'MalformedList'`; the reflector retries the list after
 * a backoff.
 *
 * @example
 * ```ts
 * if (err instanceof MalformedListError) console.warn(err.contentType, err.preview);
 * ```
 */
export class MalformedListError extends KubecacheError {
  /** The first characters of the body. */
  readonly preview: string;
  /** The body's length in bytes. */
  readonly byteLength: number;
  /** The response's `Content-Type`, when it had one. */
  readonly contentType: string | undefined;

  constructor(
    what: string,
    init: {
      preview: string;
      byteLength: number;
      reason: string;
      contentType?: string | undefined;
      cause?: unknown;
      hint?: string;
    },
  ) {
    super(
      'MalformedList',
      `${what}: the LIST answer is not a JSON list (${init.reason}; ${init.byteLength} bytes` +
        `${init.contentType ? `, ${init.contentType}` : ''}): ${JSON.stringify(init.preview)}`,
      {
        cause: init.cause,
        hint:
          init.hint ??
          'a proxy or gateway answered instead of the API server? Check the cluster server ' +
            'address in the kubeconfig and any proxy in between',
      },
    );
    this.preview = init.preview;
    this.byteLength = init.byteLength;
    this.contentType = init.contentType;
  }
}

/**
 * A LIST answer had no `metadata.resourceVersion`. Without it a watch could only start from
 * "now", silently missing every change between the list and the watch (an object deleted in
 * that gap would stay cached for good), so the list is refused and retried after a backoff.
 * Every Kubernetes API server sets it: a list without one comes from something else.
 * `code` is `'ListWithoutResourceVersion'`.
 *
 * @example
 * ```ts
 * if (err instanceof ListWithoutResourceVersionError) console.warn(err.message, err.hint);
 * ```
 */
export class ListWithoutResourceVersionError extends KubecacheError {
  constructor(what: string, kind: string | undefined) {
    super(
      'ListWithoutResourceVersion',
      `${what}: the list${kind ? ` (${kind})` : ''} has no metadata.resourceVersion, so no ` +
        'watch can continue from it without missing changes',
      {
        hint:
          'every Kubernetes API server sets it: is the server address a real API server (not a ' +
          'proxy or mock answering its own JSON)?',
      },
    );
  }
}
