/**
 * The ConfigMap source: keeps a {@link ConfigHolder} current from one ConfigMap, read through an
 * informer that lists and watches only that object (`fieldSelector: metadata.name=<name>`).
 *
 * The informer does the hard part (reconnects, relists on 410, tombstones for deletions missed
 * while disconnected); the source only turns its events into whole-config swaps: an add or
 * update parses `data` and swaps the result in, a delete (or tombstone) resets the holder so
 * readers get the fallback. A parse failure keeps the last good config and is reported: a bad
 * edit must not take down every reader.
 *
 * The config package does not depend on `@kubecache/client`, so the informer is typed
 * structurally: a `SharedIndexInformer` of ConfigMaps from the factory fits.
 *
 * @module
 */
import {
  DeletedFinalStateUnknown,
  type HandlerOptions,
  type HandlerRegistration,
  type KubeObject,
  type ResourceEventHandler,
} from '@kubecache/cache';
import { ConfigParseError } from './errors.js';
import { ConfigHolder, type ConfigSource } from './holder.js';

/**
 * What the source reads of a ConfigMap (client-node's wire `ConfigMap` fits).
 *
 * @example
 * ```ts
 * const cm: ConfigMapLike = { metadata: { namespace: 'default', name: 'cfg' }, data: { a: '1' } };
 * ```
 */
export interface ConfigMapLike extends KubeObject {
  readonly data?: Readonly<Record<string, string>>;
}

/**
 * The part of a `SharedIndexInformer` the source uses. A `SharedIndexInformer<ConfigMap>` from
 * `@kubecache/client`'s factory satisfies it.
 *
 * @example
 * ```ts
 * const informer: ConfigMapInformer = factory.core.v1.configmaps().informer();
 * ```
 */
export interface ConfigMapInformer {
  addEventHandler(
    handler: ResourceEventHandler<ConfigMapLike>,
    options?: HandlerOptions,
  ): HandlerRegistration;
  /** Whether someone (a factory, or the source itself) already runs it. */
  readonly started: boolean;
  run(signal: AbortSignal): Promise<void>;
  waitForSync(signal?: AbortSignal): Promise<boolean>;
}

/**
 * Options of {@link ConfigMapSource}.
 *
 * @example
 * ```ts
 * const options: ConfigMapSourceOptions<{ port: number }> = {
 *   informer: factory.core.v1.configmaps().informer(), namespace: 'default', name: 'app-config',
 *   parse: (data, origin) => {
 *     const port = Number(data['port']);
 *     if (!Number.isInteger(port)) throw new ConfigParseError({ source: origin, key: 'port', message: 'not an integer' });
 *     return { port };
 *   },
 *   fallback: { port: 8080 },
 *   onError: (err) => console.warn(err.message), // the previous config stays
 * };
 * ```
 */
export interface ConfigMapSourceOptions<T> {
  /** An informer of ConfigMaps; best one listing/watching only this object (field selector). */
  readonly informer: ConfigMapInformer;
  readonly namespace: string;
  readonly name: string;
  /**
   * Builds the whole config from `data` (missing `data` is `{}`). Throw to reject it: a
   * {@link ConfigParseError} (with `source: origin` and the `key` at fault) is reported as is,
   * anything else is wrapped in one.
   */
  readonly parse: (data: Readonly<Record<string, string>>, origin: string) => T;
  /** The holder to keep current (default: a new one with `fallback`). */
  readonly holder?: ConfigHolder<T>;
  /** Fallback of the holder created when `holder` is not given. */
  readonly fallback?: T;
  /** A ConfigMap the source could not parse (the previous config stays). Default `console.error`. */
  readonly onError?: (error: ConfigParseError) => void;
}

/**
 * Keeps a {@link ConfigHolder} current from one ConfigMap through an informer.
 *
 * `start(signal)` registers with the informer, runs it unless it already runs (a started
 * factory runs its informers), and resolves once the informer synced: the ConfigMap is loaded or
 * known to be absent. It also resolves if `signal` aborts first (`synced` stays false).
 *
 * @example
 * ```ts
 * const factory = new SharedInformerFactory(kc, { namespace: 'default', fieldSelector: 'metadata.name=app-config' });
 * factory.start(signal);
 * const source = new ConfigMapSource({
 *   informer: factory.core.v1.configmaps().informer(),
 *   namespace: 'default',
 *   name: 'app-config',
 *   parse: (data) => ({ endpoint: data['endpoint'] ?? 'https://default' }),
 *   fallback: { endpoint: 'https://default' },
 * });
 * await source.start(signal);
 * source.holder.get().endpoint;
 * ```
 */
export class ConfigMapSource<T> implements ConfigSource<T> {
  readonly holder: ConfigHolder<T>;
  readonly #informer: ConfigMapInformer;
  readonly #key: string;
  readonly #parse: (data: Readonly<Record<string, string>>, origin: string) => T;
  readonly #onError: (error: ConfigParseError) => void;
  #started: Promise<void> | undefined;
  #synced = false;
  /** resourceVersion of the last version handled: resyncs re-deliver it and need no re-parse. */
  #lastRv: string | undefined;

  constructor(options: ConfigMapSourceOptions<T>) {
    this.#informer = options.informer;
    this.#key = `${options.namespace}/${options.name}`;
    this.#parse = options.parse;
    this.holder =
      options.holder ??
      new ConfigHolder<T>(options.fallback === undefined ? {} : { fallback: options.fallback });
    this.#onError = options.onError ?? ((err) => console.error(err));
  }

  /** `namespace/name` of the ConfigMap; the `origin` of every change this source makes. */
  get origin(): string {
    return this.#key;
  }

  /** True once the informer synced and the source applied what it found. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Starts following the ConfigMap until `signal` aborts; see the class comment. Idempotent. */
  start(signal: AbortSignal): Promise<void> {
    this.#started ??= this.#start(signal);
    return this.#started;
  }

  async #start(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const registration = this.#informer.addEventHandler(
      {
        onAdd: (cm) => this.#apply(cm),
        onUpdate: (_old, cm) => this.#apply(cm),
        onDelete: (cm) => this.#remove(cm),
      },
      { name: `config ${this.#key}` },
    );
    signal.addEventListener('abort', () => registration.remove(), { once: true });
    if (!this.#informer.started) {
      // Nobody runs it (no factory): the source does, for as long as the signal allows.
      this.#informer.run(signal).catch((err: unknown) => {
        console.error(`config source ${this.#key}: informer stopped`, err);
      });
    }
    if (!(await this.#informer.waitForSync(signal))) return;
    // The initial list is in the cache; wait until our handler has applied it too.
    await registration.drained();
    if (!signal.aborted) this.#synced = true;
  }

  #apply(cm: ConfigMapLike): void {
    if (keyOf(cm) !== this.#key) return;
    const rv = cm.metadata?.resourceVersion;
    if (rv !== undefined && rv === this.#lastRv) return;
    this.#lastRv = rv;
    let next: T;
    try {
      next = this.#parse(cm.data ?? {}, this.#key);
    } catch (err) {
      this.#onError(
        err instanceof ConfigParseError
          ? err
          : new ConfigParseError({ source: this.#key, cause: err }),
      );
      return;
    }
    this.holder.set(next, this.#key);
  }

  #remove(cm: ConfigMapLike | DeletedFinalStateUnknown<ConfigMapLike>): void {
    const key = cm instanceof DeletedFinalStateUnknown ? cm.key : keyOf(cm);
    if (key !== this.#key) return;
    this.#lastRv = undefined;
    this.holder.reset(this.#key);
  }
}

function keyOf(cm: ConfigMapLike): string {
  return `${cm.metadata?.namespace ?? ''}/${cm.metadata?.name ?? ''}`;
}
