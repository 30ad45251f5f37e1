/**
 * Errors the config sources report. Shared by the ConfigMap source and the mounted-volume source,
 * so a program branches on one `code` whichever source feeds its {@link ConfigHolder}.
 *
 * @module
 */
import { KubecacheError } from '@kubecache/cache';

/**
 * A config update could not be parsed; the source kept the last good config. `code` is
 * `'ConfigParse'`.
 *
 * @example
 * ```ts
 * new MountedConfigSource({
 *   dir: '/etc/config',
 *   file: 'config.yaml',
 *   onError: (err) => {
 *     if (err instanceof ConfigParseError) log.warn({ source: err.source, line: err.line }, 'bad config; keeping the last good one');
 *   },
 * });
 * ```
 */
export class ConfigParseError extends KubecacheError {
  /** Where the bad config came from: a file path, or `namespace/name` of a ConfigMap. */
  readonly source: string;
  /** The ConfigMap data key (or file name) that failed to parse, when there is one. */
  readonly key: string | undefined;
  /** 1-based line of the first error, when the parser knows it. */
  readonly line: number | undefined;

  constructor(init: {
    readonly source: string;
    readonly key?: string;
    readonly line?: number;
    readonly message?: string;
    readonly cause?: unknown;
  }) {
    const where =
      (init.key === undefined ? init.source : `${init.source} (${init.key})`) +
      (init.line === undefined ? '' : ` line ${init.line}`);
    const detail =
      init.message ??
      // Parsers (yaml) append a code excerpt after the first line; the message stays one line.
      (init.cause instanceof Error ? init.cause.message : String(init.cause))
        .split('\n')[0]!
        .replace(/:$/, '');
    super('ConfigParse', `cannot parse config ${where}: ${detail}`, { cause: init.cause });
    this.source = init.source;
    this.key = init.key;
    this.line = init.line;
  }
}

/**
 * The mounted config volume (its directory, or its `..data` link) is gone — e.g. the pod's
 * volume was unmounted. The last good config is kept. `code` is `'ConfigVolumeGone'`.
 *
 * @example
 * ```ts
 * if (err instanceof ConfigVolumeGoneError) log.error({ dir: err.dir }, 'config volume disappeared');
 * ```
 */
export class ConfigVolumeGoneError extends KubecacheError {
  /** The directory that was watched. */
  readonly dir: string;

  constructor(dir: string, options?: ErrorOptions) {
    super('ConfigVolumeGone', `config volume ${dir} is gone`, options);
    this.dir = dir;
  }
}

/**
 * The mounted config volume is there but holds no `file` (e.g. the ConfigMap has no such key).
 * The last good config is kept. `code` is `'ConfigFileMissing'`.
 *
 * @example
 * ```ts
 * if (err instanceof ConfigFileMissingError) log.error({ path: err.path }, 'no such file in the config volume');
 * ```
 */
export class ConfigFileMissingError extends KubecacheError {
  /** The user-visible path that is missing. */
  readonly path: string;

  constructor(path: string, options?: ErrorOptions) {
    super('ConfigFileMissing', `config file ${path} does not exist`, options);
    this.path = path;
  }
}
