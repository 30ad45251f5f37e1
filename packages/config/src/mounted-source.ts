/**
 * A config source that follows a file in a mounted ConfigMap volume.
 *
 * The kubelet updates such a volume atomically (its AtomicWriter): the data lives in a hidden
 * timestamped directory, `..data` is a symlink to it, and every user-visible file is a symlink
 * through `..data`. An update writes a new timestamped directory, points a `..data_tmp` symlink at
 * it, renames `..data_tmp` over `..data` (the atomic step) and then removes the old directory.
 * Watching the file itself misses that (its inode never changes), so this source watches the
 * directory, waits for the burst of one update to end, resolves `..data` once and reads the file
 * from the directory it resolved to — one consistent version, even if another swap happens while
 * it reads.
 *
 * @module
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, readlink, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { KubecacheError, realClock, type Clock, type TimerHandle } from '@kubecache/cache';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigHolder, type ConfigSource } from './holder.js';
import { ConfigFileMissingError, ConfigParseError, ConfigVolumeGoneError } from './errors.js';

/** The AtomicWriter's symlink to the current timestamped data directory. */
const DATA_LINK = '..data';

/** Options of {@link MountedConfigSource}. */
export interface MountedConfigSourceOptions<T> {
  /** The volume's mount directory, e.g. `/etc/config`. */
  readonly dir: string;
  /** The user-visible file in it (the ConfigMap key), e.g. `config.yaml`. */
  readonly file: string;
  /**
   * Turns the file's text into a config; throw (ideally a {@link ConfigParseError} with a line)
   * to reject it. May be async. Default: {@link parseConfigText} by the file's extension — its
   * result is not checked against `T`, so pass your own to validate.
   */
  readonly parse?: (text: string, path: string) => T | Promise<T>;
  /** The holder to keep current; default a new one (with `fallback`). */
  readonly holder?: ConfigHolder<T>;
  /** Fallback of the holder this source creates; not allowed together with `holder`. */
  readonly fallback?: T;
  /** Quiet time that ends a burst of directory events before reloading. Default 100 ms. */
  readonly debounceMs?: number;
  /** Longest wait from a burst's first event to its reload, so a steady stream still reloads. Default 1000 ms. */
  readonly maxDelayMs?: number;
  /** How often to look for a volume that has gone away to come back. Default 1000 ms. */
  readonly recheckMs?: number;
  /** Clock of the debounce and recheck timers. Default the real clock. */
  readonly clock?: Clock;
  /**
   * A reload failed; the last good config stays. Receives {@link ConfigParseError},
   * {@link ConfigFileMissingError}, {@link ConfigVolumeGoneError}, or a `KubecacheError` with code
   * `'ConfigRead'` for other I/O failures. Default `console.error`.
   */
  readonly onError?: (error: KubecacheError) => void;
}

/**
 * Keeps a {@link ConfigHolder} current from a file in a mounted ConfigMap volume, reloading once
 * per kubelet update (see the module comment for how the volume is written).
 *
 * A bad update keeps the last good config and is reported through `onError`; so is the volume
 * disappearing, after which the source looks for it every `recheckMs` and resumes when it is back.
 * A directory without `..data` (a plain directory, e.g. in development) works too: the file is
 * then read directly, and reloaded when its text changes.
 *
 * @example
 * ```ts
 * interface Settings { readonly endpoint: string }
 * const source = new MountedConfigSource<Settings>({ dir: '/etc/config', file: 'config.yaml' });
 * source.holder.onChange(({ previous, current }) => log.info({ previous, current }, 'config changed'));
 * await source.start(signal); // initial load done (or its failure reported)
 * source.holder.get().endpoint;
 * ```
 */
export class MountedConfigSource<T> implements ConfigSource<T> {
  readonly holder: ConfigHolder<T>;
  /** The watched directory. */
  readonly dir: string;
  /** The user-visible file path (`dir`/`file`), the `origin` of the holder's changes. */
  readonly path: string;

  readonly #file: string;
  readonly #parse: (text: string, path: string) => T | Promise<T>;
  readonly #debounceMs: number;
  readonly #maxDelayMs: number;
  readonly #recheckMs: number;
  readonly #clock: Clock;
  readonly #onError: (error: KubecacheError) => void;

  #started = false;
  #stopped = false;
  #watcher: FSWatcher | undefined;
  /** Inode of the watched directory: a different one means it was replaced and needs a new watch. */
  #watchedIno: number | undefined;
  #timer: TimerHandle | undefined;
  #burstStart: number | undefined;
  #recheckTimer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #gone = false;
  /** The data directory last read: a reload that resolves `..data` to it again is a no-op. */
  #lastDataDir: string | undefined;
  /** Without `..data`: the text last read (or null: file missing), for the same no-op check. */
  #lastPlain: string | null | undefined;
  #loadedFrom: string | undefined;

  constructor(options: MountedConfigSourceOptions<T>) {
    if (options.holder !== undefined && options.fallback !== undefined) {
      throw new KubecacheError(
        'InvalidArgument',
        'MountedConfigSource: pass fallback to the holder you pass, not to the source',
      );
    }
    this.dir = resolve(options.dir);
    this.#file = options.file;
    this.path = join(this.dir, options.file);
    this.holder =
      options.holder ??
      new ConfigHolder<T>(options.fallback === undefined ? {} : { fallback: options.fallback });
    // The default parser's result is not checked against T: documented on `parse`.
    this.#parse =
      options.parse ?? ((text: string, path: string) => parseConfigText(text, path) as T);
    if (options.parse === undefined) formatOf(options.file); // fail fast on an unknown extension
    this.#debounceMs = options.debounceMs ?? 100;
    this.#maxDelayMs = Math.max(options.maxDelayMs ?? 1000, this.#debounceMs);
    this.#recheckMs = options.recheckMs ?? 1000;
    this.#clock = options.clock ?? realClock;
    this.#onError = options.onError ?? ((err) => console.error(err));
  }

  /**
   * The name `..data` pointed to when the current config was read (e.g.
   * `..2026_11_22_10_00_00.123456789`), or undefined (nothing loaded, or a plain directory).
   */
  get loadedFrom(): string | undefined {
    return this.#loadedFrom;
  }

  /**
   * Starts watching `dir` and loads the file; resolves once that first load is done — loaded, or
   * its failure reported to `onError` (the holder then answers the fallback). Aborting `signal`
   * closes the watcher and the timers.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new KubecacheError('AlreadyStarted', `${this.path}: already started`);
    this.#started = true;
    if (signal.aborted) {
      this.#stopped = true;
      return;
    }
    signal.addEventListener('abort', () => this.#stop(), { once: true });
    await this.#reload();
  }

  /** Resolves when no reload is running (tests: after a debounce timer fired). */
  async whenIdle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  #stop(): void {
    this.#stopped = true;
    this.#closeWatcher();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    if (this.#recheckTimer !== undefined) this.#clock.clearTimeout(this.#recheckTimer);
    this.#timer = this.#recheckTimer = undefined;
  }

  #onEvent(filename: string | null): void {
    // The timestamped directories and `..data_tmp` come and go in every update; only the swap of
    // `..data` itself (or a plain file's change, or the directory's own removal) matters.
    if (filename !== null && filename.startsWith('..') && filename !== DATA_LINK) return;
    if (this.#stopped) return;
    const now = this.#clock.now();
    this.#burstStart ??= now;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    const delay = Math.max(
      0,
      Math.min(this.#debounceMs, this.#burstStart + this.#maxDelayMs - now),
    );
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = this.#burstStart = undefined;
      void this.#reload();
    }, delay);
  }

  /** Runs reloads one at a time; a reload asked for while one runs makes it go round again. */
  #reload(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#again = false;
          try {
            await this.#reloadOnce();
          } catch (err) {
            this.#report(readError(this.path, err));
          }
        } while (this.#again && !this.#stopped);
      } finally {
        this.#running = undefined;
      }
    };
    this.#running = run();
    return this.#running;
  }

  async #reloadOnce(): Promise<void> {
    if (this.#stopped) return;
    if (!(await this.#ensureWatching())) return;
    let target: string | undefined;
    try {
      target = await readlink(join(this.dir, DATA_LINK));
    } catch (err) {
      // No `..data` (ENOENT), or not a symlink (EINVAL): not an AtomicWriter volume.
      if (!hasCode(err, 'ENOENT', 'EINVAL')) throw err;
    }
    if (target === undefined) return this.#reloadPlain();

    const dataDir = resolve(this.dir, target);
    if (dataDir === this.#lastDataDir) return; // no-op event: the same version
    let text: string;
    try {
      // Read from the resolved directory, not through `..data`: whatever swaps happen meanwhile,
      // this is one version's file.
      text = await readFile(join(dataDir, this.#file), 'utf8');
    } catch (err) {
      if (!hasCode(err, 'ENOENT', 'ENOTDIR')) throw err;
      // The kubelet may have swapped and removed `dataDir` since we resolved it: go again.
      if (await this.#linkMoved(target)) return this.#goAgain();
      this.#lastDataDir = dataDir;
      this.#report(new ConfigFileMissingError(this.path, { cause: err }));
      return;
    }
    const result = await this.#tryParse(text);
    if (this.#stopped) return;
    // A swap during the read or parse: what we have is whole but stale; load the newer one.
    if (await this.#linkMoved(target)) return this.#goAgain();
    this.#lastDataDir = dataDir;
    if (!result.ok) return this.#report(result.error);
    this.#loadedFrom = target;
    this.holder.set(result.value, this.path);
  }

  /** A directory without `..data`: read the file itself, reload when its text changes. */
  async #reloadPlain(): Promise<void> {
    this.#lastDataDir = undefined;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (!hasCode(err, 'ENOENT', 'ENOTDIR')) throw err;
      if (!(await this.#ensureWatching())) return; // the whole volume went away
      if (this.#lastPlain === null) return;
      this.#lastPlain = null;
      this.#report(new ConfigFileMissingError(this.path, { cause: err }));
      return;
    }
    if (text === this.#lastPlain) return;
    const result = await this.#tryParse(text);
    if (this.#stopped) return;
    this.#lastPlain = text;
    if (!result.ok) return this.#report(result.error);
    this.#loadedFrom = undefined;
    this.holder.set(result.value, this.path);
  }

  /**
   * Makes sure the directory exists and is watched (again, if it was replaced); false when it is
   * gone — reported once, then looked for every `recheckMs`.
   */
  async #ensureWatching(): Promise<boolean> {
    let ino: number;
    try {
      ino = (await stat(this.dir)).ino;
    } catch (err) {
      if (!hasCode(err, 'ENOENT', 'ENOTDIR')) throw err;
      this.#volumeGone(err);
      return false;
    }
    if (this.#stopped) return false;
    this.#gone = false;
    if (this.#watcher === undefined || this.#watchedIno !== ino) {
      this.#closeWatcher();
      try {
        // Watch before reading, so an update that lands during the read is not missed.
        const watcher = watch(this.dir, (_event, filename) => this.#onEvent(filename));
        // A watcher error (e.g. the directory vanished under it): reload, which finds out.
        watcher.on('error', () => {
          if (this.#watcher === watcher) this.#closeWatcher();
          this.#onEvent(null);
        });
        this.#watcher = watcher;
        this.#watchedIno = ino;
      } catch (err) {
        if (!hasCode(err, 'ENOENT', 'ENOTDIR')) throw err;
        this.#volumeGone(err);
        return false;
      }
    }
    return true;
  }

  #volumeGone(cause: unknown): void {
    this.#closeWatcher();
    // Whatever comes back is new: load it even if it reuses a name.
    this.#lastDataDir = this.#lastPlain = undefined;
    if (!this.#gone) {
      this.#gone = true;
      this.#report(new ConfigVolumeGoneError(this.dir, { cause }));
    }
    if (this.#recheckTimer === undefined && !this.#stopped) {
      this.#recheckTimer = this.#clock.setTimeout(() => {
        this.#recheckTimer = undefined;
        void this.#reload();
      }, this.#recheckMs);
    }
  }

  #closeWatcher(): void {
    this.#watcher?.close();
    this.#watcher = this.#watchedIno = undefined;
  }

  async #linkMoved(target: string): Promise<boolean> {
    try {
      return (await readlink(join(this.dir, DATA_LINK))) !== target;
    } catch {
      return true; // gone or replaced: the next round finds out which
    }
  }

  #goAgain(): void {
    this.#again = true;
  }

  async #tryParse(
    text: string,
  ): Promise<{ ok: true; value: T } | { ok: false; error: ConfigParseError }> {
    try {
      const value = await this.#parse(text, this.path);
      if (value === undefined || value === null) {
        return {
          ok: false,
          error: new ConfigParseError({ source: this.path, message: 'the config is empty' }),
        };
      }
      return { ok: true, value };
    } catch (err) {
      const error =
        err instanceof ConfigParseError
          ? err
          : new ConfigParseError({ source: this.path, cause: err });
      return { ok: false, error };
    }
  }

  #report(error: KubecacheError): void {
    if (this.#stopped) return;
    try {
      this.#onError(error);
    } catch (err) {
      console.error('config onError handler failed', err);
    }
  }
}

type Format = 'yaml' | 'json' | 'properties';

/** The extension, or the whole name of a dotfile such as `.env` (which `extname` answers as ''). */
function extensionOf(path: string): string {
  const name = basename(path).toLowerCase();
  return extname(name) || (name.startsWith('.') ? name : '');
}

function formatOf(path: string): Format {
  switch (extensionOf(path)) {
    case '.yaml':
    case '.yml':
      return 'yaml';
    case '.json':
      return 'json';
    case '.properties':
    case '.env':
    case '.conf':
      return 'properties';
    default:
      throw new KubecacheError(
        'InvalidArgument',
        `no default parser for ${basename(path)} (.yaml, .yml, .json, .properties, .env, .conf); pass parse`,
      );
  }
}

/**
 * Parses config text by the extension of `path`: `.yaml`/`.yml` as YAML, `.json` as JSON,
 * `.properties`/`.env`/`.conf` as `key=value` lines (blank lines and `#` comments skipped, keys and
 * values trimmed; `.env` also takes an `export ` prefix and quoted values) into a string record.
 * Throws {@link ConfigParseError} naming `path` and, where known, the line.
 *
 * @example
 * ```ts
 * parseConfigText('qps: 5\n', 'config.yaml'); // { qps: 5 }
 * parseConfigText('qps=5\n', 'app.properties'); // { qps: '5' }
 * ```
 */
export function parseConfigText(text: string, path: string): unknown {
  switch (formatOf(path)) {
    case 'yaml':
      try {
        return parseYaml(text);
      } catch (err) {
        const line = err instanceof YAMLParseError ? err.linePos?.[0].line : undefined;
        throw new ConfigParseError({
          source: path,
          cause: err,
          ...(line === undefined ? {} : { line }),
        });
      }
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new ConfigParseError({ source: path, cause: err, line: jsonErrorLine(err, text) });
      }
    case 'properties':
      return parseProperties(text, path, extensionOf(path) === '.env');
  }
}

/** V8 names the line (newer) or the offset (older); "Unexpected end" means the last line. */
function jsonErrorLine(err: unknown, text: string): number {
  const message = err instanceof Error ? err.message : '';
  const line = /\(line (\d+) column \d+\)/.exec(message)?.[1];
  if (line !== undefined) return Number(line);
  const position = /at position (\d+)/.exec(message)?.[1];
  const upTo = position === undefined ? text.length : Number(position);
  return text.slice(0, upTo).split('\n').length;
}

function parseProperties(text: string, path: string, env: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (env && line.startsWith('export ')) line = line.slice('export '.length).trimStart();
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(0, eq).trim();
    if (key === '') {
      throw new ConfigParseError({
        source: path,
        line: i + 1,
        message: `expected key=value, got ${JSON.stringify(raw)}`,
      });
    }
    let value = line.slice(eq + 1).trim();
    if (env && value.length >= 2 && /^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    out[key] = value;
  }
  return out;
}

function hasCode(err: unknown, ...codes: string[]): boolean {
  return (
    err instanceof Error &&
    'code' in err &&
    typeof err.code === 'string' &&
    codes.includes(err.code)
  );
}

function readError(path: string, err: unknown): KubecacheError {
  if (err instanceof KubecacheError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new KubecacheError('ConfigRead', `cannot read config ${path}: ${detail}`, { cause: err });
}
