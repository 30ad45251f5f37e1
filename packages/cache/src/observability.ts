/**
 * What kubecache tells operators: a {@link Logger} interface (pino and console both satisfy it),
 * the default one-line console logger, one-line error descriptions, and the health and counter
 * snapshots of informers ({@link InformerHealth}, {@link InformerStats}) that readiness probes and
 * metrics exporters read.
 *
 * Everything here is pull-based or rare: nothing is computed per watch event beyond an integer
 * increment, so observability costs nothing on the hot path.
 *
 * @module
 */
import { KubecacheError } from './errors.js';

/** Structured fields of one log record. */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * Where kubecache writes what it has to say. The signature is pino's (`logger.warn(fields, msg)`),
 * so a pino logger (or a child of one) can be passed as it is; `console` also fits.
 *
 * Levels: `error` for terminal failures (an informer stopped for good), `warn` for each failure
 * that is being retried (one line: stage, resource, status, attempt, next retry), `debug` for the
 * same with the full error and its stack, `info` only for rare lifecycle news. Nothing is
 * logged per event.
 *
 * @example
 * ```ts
 * new SharedInformerFactory(kc, { logger: consoleLogger({ level: 'debug' }) });
 * new SharedInformerFactory(kc, { logger: console }); // a pino logger fits too: { logger: pino() }
 * ```
 */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

/** Log levels, most verbose first; `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** Options of {@link consoleLogger}. */
export interface ConsoleLoggerOptions {
  /** Lowest level written (default `info`, or `KUBECACHE_LOG_LEVEL` when set to a level). */
  readonly level?: LogLevel;
  /** Where lines go (default `process.stderr`). */
  readonly write?: (line: string) => void;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[\w./:@-]*$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Error) return JSON.stringify(value.stack ?? value.message);
  return JSON.stringify(value) ?? String(value);
}

function envLevel(): LogLevel | undefined {
  const v = process.env['KUBECACHE_LOG_LEVEL'];
  return v !== undefined && v in LEVEL_RANK ? (v as LogLevel) : undefined;
}

/**
 * The default logger: one line per record on stderr, `kubecache <level> <message> key=value …`.
 *
 * @example
 * ```ts
 * const logger = consoleLogger({ level: 'warn' });
 * logger.warn({ informer: 'core/v1/pods', attempt: 2 }, 'watch failed');
 * // kubecache warn watch failed informer=core/v1/pods attempt=2
 * ```
 */
export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const min = LEVEL_RANK[options.level ?? envLevel() ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const at =
    (level: Exclude<LogLevel, 'silent'>) =>
    (fields: LogFields, message: string): void => {
      if (LEVEL_RANK[level] < min) return;
      let line = `kubecache ${level} ${message}`;
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
      }
      write(line);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * A logger that drops everything.
 *
 * @example
 * ```ts
 * new SharedIndexInformer({ listerWatcher, logger: silentLogger });
 * ```
 */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/**
 * One line describing `error`: its message, then its hint when it has one. Causes are not
 * expanded (kubecache's messages already name the underlying failure) and stacks never appear.
 *
 * @example
 * ```ts
 * describeError(err); // "reflector core/v1/pods: list failed: GET /api/v1/pods: 403 … (hint: …)"
 * ```
 */
export function describeError(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(
    /\s*\n\s*/g,
    ' ',
  );
  const hint = errorHint(error);
  return hint === undefined ? message : `${message} (hint: ${hint})`;
}

/**
 * The first hint found on `error` or its chain of causes.
 *
 * @example
 * ```ts
 * errorHint(new KubecacheError('X', 'x', { hint: 'do y' })); // 'do y'
 * ```
 */
export function errorHint(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== undefined && e !== null; depth++) {
    if (e instanceof KubecacheError && e.hint !== undefined) return e.hint;
    e = e instanceof Error ? e.cause : undefined;
  }
  return undefined;
}

/**
 * The stable `code` of `error` (the outermost {@link KubecacheError} in its chain), or `'Error'`.
 *
 * @example
 * ```ts
 * errorCode(new ReflectorError('list', 'm', { reflector: 'r', resourceVersion: '' })); // 'ReflectorError'
 * ```
 */
export function errorCode(error: unknown): string {
  return error instanceof KubecacheError ? error.code : 'Error';
}

/**
 * One registration's delivery state.
 *
 * @example
 * ```ts
 * informer.health().handlers.filter((h) => h.backlog > 1000);
 * ```
 */
export interface HandlerHealth {
  readonly name: string;
  /** Notifications waiting for this handler. */
  readonly backlog: number;
  /**
   * How far this handler is behind the store, in ms: the age of its oldest undelivered
   * notification, measured from when its buffer last became non-empty (an upper bound). 0 when
   * nothing is pending.
   */
  readonly lagMs: number;
  /** The handler has processed the initial list. */
  readonly synced: boolean;
}

/**
 * The last failure an informer saw.
 *
 * @example
 * ```ts
 * const { lastError } = informer.health(); if (lastError) console.log(lastError.code, lastError.message);
 * ```
 */
export interface FailureSummary {
  readonly code: string;
  /** One line ({@link describeError}). */
  readonly message: string;
  /** Where it happened: `list`, `watch-start`, `watch-event`, `watch-stream`, `decode`, `handler`, `transform`, `store`. */
  readonly stage: string;
  /** Wall-clock time (ISO 8601). */
  readonly at: string;
}

/**
 * A snapshot of one informer, for readiness probes and dashboards. Times are ISO 8601 strings.
 * `ready` is what a readiness probe should answer: synced and not stopped.
 *
 * @example
 * ```ts
 * http.createServer((_req, res) => res.writeHead(informer.health().ready ? 200 : 503).end()).listen(8081); // /readyz
 * ```
 */
export interface InformerHealth {
  readonly name: string;
  readonly ready: boolean;
  readonly started: boolean;
  readonly synced: boolean;
  readonly stopped: boolean;
  /** A watch stream is open. */
  readonly watching: boolean;
  /** When the current watch opened (undefined when not watching). */
  readonly watchingSince: string | undefined;
  /** When the last list, event or bookmark was applied. */
  readonly lastEventAt: string | undefined;
  readonly lastSyncResourceVersion: string;
  readonly lastError: FailureSummary | undefined;
  /** Failures in a row with no progress in between (resets on the next list or event). */
  readonly consecutiveFailures: number;
  /** When the next attempt is due, while waiting out a backoff or Retry-After. */
  readonly nextRetryAt: string | undefined;
  /** Why the informer stopped for good (a spent retry budget); undefined otherwise. */
  readonly terminalError: FailureSummary | undefined;
  /** Objects in the cache. */
  readonly storeSize: number;
  readonly handlers: readonly HandlerHealth[];
}

/**
 * Watch event counts by type.
 *
 * @example
 * ```ts
 * const { ADDED, MODIFIED, DELETED } = informer.stats().events;
 * ```
 */
export interface WatchEventCounts {
  ADDED: number;
  MODIFIED: number;
  DELETED: number;
  BOOKMARK: number;
  ERROR: number;
}

/**
 * Monotonic counters of one reflector/informer since it was created (for metrics exporters,
 * which turn them into Prometheus counters at scrape time).
 *
 * @example
 * ```ts
 * const before = informer.stats().relists; server.faults.compactHistory(); // … later: relists grew
 * ```
 */
export interface InformerStats {
  /** Completed lists (the initial one and every relist). */
  readonly lists: number;
  /** Completed lists after the first. */
  readonly relists: number;
  /** Watch requests opened. */
  readonly watches: number;
  /** Watches opened again after one ended or broke. */
  readonly watchRestarts: number;
  /** Failures reported (all stages). */
  readonly failures: number;
  /** Events received, by type. */
  readonly events: Readonly<WatchEventCounts>;
  /** Total time watches were open, ms (closed watches plus the current one). */
  readonly watchMsTotal: number;
}

/**
 * All-zero {@link InformerStats}: an informer's counters before it ran (a fresh object each call).
 *
 * @example
 * ```ts
 * let last = emptyInformerStats(); // the baseline an exporter adds deltas from
 * ```
 */
export function emptyInformerStats(): InformerStats {
  return {
    lists: 0,
    relists: 0,
    watches: 0,
    watchRestarts: 0,
    failures: 0,
    events: { ADDED: 0, MODIFIED: 0, DELETED: 0, BOOKMARK: 0, ERROR: 0 },
    watchMsTotal: 0,
  };
}

/**
 * Rare lifecycle events of an informer, for exporters that need distributions (watch durations,
 * list sizes). Called synchronously; must not throw (a throw is swallowed).
 *
 * @example
 * ```ts
 * const watchSeconds: number[] = []; // or a histogram's observe(), e.g. prom-client's
 * informer.observe({ watchEnded: ({ durationMs }) => watchSeconds.push(durationMs / 1000) });
 * ```
 */
export interface InformerObserver {
  /** A list completed and was stored. */
  listed?(info: {
    readonly items: number;
    readonly durationMs: number;
    readonly relist: boolean;
  }): void;
  /** A watch ended (cleanly, broken or aborted). */
  watchEnded?(info: { readonly durationMs: number; readonly events: number }): void;
}
