/**
 * The config holder: the one place a program reads its live configuration from. A source (a
 * ConfigMap informer, a mounted ConfigMap volume) parses a complete new config and swaps it in
 * with one assignment, so a reader always gets a whole config — the old one or the new one,
 * never a mix — without locks: in Node a swap runs to completion before any reader runs.
 * Configs are frozen on the way in, so no reader can change what another reads.
 *
 * @module
 */
import { KubecacheError } from '@kubecache/cache';

/** A config change, as {@link ConfigHolder.onChange} listeners receive it. */
export interface ConfigChange<T> {
  /** The config before the change (undefined before the first load). */
  readonly previous: T | undefined;
  readonly current: T;
  /** Where the new config came from (a file path, `namespace/name` of a ConfigMap, ...). */
  readonly origin: string;
}

/**
 * Holds the current config of type `T`; swapped atomically by sources, read by anyone.
 *
 * @example
 * ```ts
 * interface Settings { readonly endpoint: string }
 * const holder = new ConfigHolder<Settings>({ fallback: { endpoint: 'https://default' } });
 * holder.onChange(({ previous, current }) => log.info({ previous, current }, 'config changed'));
 * holder.get().endpoint; // always a whole config
 * ```
 */
export class ConfigHolder<T> {
  #current: T | undefined;
  #version = 0;
  readonly #fallback: T | undefined;
  readonly #listeners = new Set<(change: ConfigChange<T>) => void>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(
    options: {
      /** What `get()` answers before the first load (and what `reset()` goes back to). */
      readonly fallback?: T;
      /** A listener threw; the swap and the other listeners are unaffected. Default `console.error`. */
      readonly onListenerError?: (error: unknown) => void;
    } = {},
  ) {
    this.#fallback = options.fallback === undefined ? undefined : deepFreeze(options.fallback);
    this.#onListenerError =
      options.onListenerError ?? ((err) => console.error('config listener failed', err));
  }

  /** The current config, else the fallback; throws {@link ConfigNotLoadedError} when neither exists. */
  get(): T {
    const c = this.#current ?? this.#fallback;
    if (c === undefined) throw new ConfigNotLoadedError();
    return c;
  }

  /** The current config, else the fallback, else undefined. */
  tryGet(): T | undefined {
    return this.#current ?? this.#fallback;
  }

  /** Whether a source has loaded a config (the fallback does not count). */
  get loaded(): boolean {
    return this.#current !== undefined;
  }

  /** Incremented on every swap: lets a reader notice that the config changed between two reads. */
  get version(): number {
    return this.#version;
  }

  /** Swaps in `next` (deep-frozen) and tells the listeners. Used by sources. */
  set(next: T, origin: string): void {
    const previous = this.#current ?? this.#fallback;
    const current = deepFreeze(next);
    this.#current = current;
    this.#version++;
    this.#emit({ previous, current, origin });
  }

  /** Drops the loaded config: readers get the fallback again (e.g. the ConfigMap was deleted). */
  reset(origin: string): void {
    if (this.#current === undefined) return;
    const previous = this.#current;
    this.#current = undefined;
    this.#version++;
    if (this.#fallback !== undefined) this.#emit({ previous, current: this.#fallback, origin });
  }

  /** Calls `listener` after every swap; returns a function that unsubscribes it. */
  onChange(listener: (change: ConfigChange<T>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change: ConfigChange<T>): void {
    for (const l of [...this.#listeners]) {
      try {
        l(change);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }
}

/**
 * `get()` before any config was loaded and without a fallback. `code` is `'ConfigNotLoaded'`.
 */
export class ConfigNotLoadedError extends KubecacheError {
  constructor() {
    super('ConfigNotLoaded', 'no config loaded yet and no fallback configured');
  }
}

/**
 * A live config source: keeps a {@link ConfigHolder} current until `signal` aborts. The
 * ConfigMap informer source and the mounted-volume source both implement it, so a program can
 * switch between reading its config from the API and from a mount without changing its readers.
 *
 * @example
 * ```ts
 * interface Settings { readonly endpoint: string }
 * const dir = process.env['CONFIG_DIR']; // the ConfigMap's volume, when it is mounted
 * const source: ConfigSource<Settings> = dir !== undefined
 *   ? new MountedConfigSource<Settings>({ dir, file: 'endpoint', parse: (text) => ({ endpoint: text.trim() }) })
 *   : new ConfigMapSource<Settings>({
 *       informer: factory.core.v1.configmaps().informer(), namespace: 'default', name: 'app-config',
 *       parse: (data) => ({ endpoint: data['endpoint'] ?? 'https://default' }),
 *     });
 * await source.start(signal); // resolves once the first config (or its absence) is known
 * source.holder.get();
 * ```
 */
export interface ConfigSource<T> {
  readonly holder: ConfigHolder<T>;
  /** Starts watching; resolves once the initial state is known (loaded, or known to be absent). */
  start(signal: AbortSignal): Promise<void>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
