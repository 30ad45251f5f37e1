/**
 * API discovery: what kind and scope a resource has, read from the server's discovery documents
 * (`/api/v1`, `/apis/<group>/<version>`) through client-node, for resources known only by name
 * (a CRD, or a built-in asked for as `{ group, version, resource }`).
 *
 * Answers are cached per KubeConfig and group version. A miss (the group version or the resource
 * is not served) is never cached: the next attempt asks again, so a CRD installed later is found
 * without a restart.
 */
import {
  KubecacheError,
  type KubeObject,
  type ListerWatcher,
  type ListOptions,
  type ListPage,
  type WatchEvent,
  type WatchOptions,
} from '@kubecache/cache';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1APIResourceList,
} from '@kubernetes/client-node';
import { KubeListerWatcher, type ResourceRef } from './kube-lister-watcher.js';
import { statusCodeOf } from './write.js';

/**
 * The server does not serve this resource (its group version is unknown, or the version lists no
 * such resource). Usually a CRD that is not installed (yet). `code` is `'ResourceNotServed'`.
 *
 * @example
 * ```ts
 * new SharedInformerFactory(kc, {
 *   onError: (err) => { if (err instanceof ReflectorError && err.cause instanceof ResourceNotServedError) console.warn(err.cause.message); },
 * });
 * ```
 */
export class ResourceNotServedError extends KubecacheError {
  readonly group: string;
  readonly version: string;
  readonly resource: string;

  constructor(ref: Pick<ResourceRef, 'group' | 'version' | 'resource'>, detail: string) {
    const gv = ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
    super('ResourceNotServed', `the server does not serve ${ref.resource} in ${gv}: ${detail}`, {
      hint:
        ref.group === ''
          ? `check the resource name (kubectl api-resources --api-group='')`
          : `is the CRD installed? (kubectl get crd ${ref.resource}.${ref.group}); kubecache keeps retrying and syncs once it is`,
    });
    this.group = ref.group;
    this.version = ref.version;
    this.resource = ref.resource;
  }
}

/**
 * What discovery says about one resource.
 *
 * @example
 * ```ts
 * const discovery = new ApiDiscovery(kc);
 * const { kind, namespaced } = await discovery.resource({ group: 'my.domain', version: 'v1', resource: 'myapps' });
 * ```
 */
export interface DiscoveredResource {
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

const caches = new WeakMap<KubeConfig, Map<string, Promise<V1APIResourceList>>>();

/**
 * Discovery over one KubeConfig, cached.
 *
 * @example
 * ```ts
 * const discovery = new ApiDiscovery(kc);
 * const nodes = await discovery.resource({ group: '', version: 'v1', resource: 'nodes' }); // namespaced: false
 * ```
 */
export class ApiDiscovery {
  readonly #kc: KubeConfig;
  readonly #cache: Map<string, Promise<V1APIResourceList>>;

  constructor(kubeConfig: KubeConfig) {
    this.#kc = kubeConfig;
    let cache = caches.get(kubeConfig);
    if (cache === undefined) caches.set(kubeConfig, (cache = new Map()));
    this.#cache = cache;
  }

  /**
   * Kind, scope and verbs of `ref`; rejects with {@link ResourceNotServedError} when the server
   * does not serve it (not cached: the next call asks the server again).
   */
  async resource(
    ref: Pick<ResourceRef, 'group' | 'version' | 'resource'>,
  ): Promise<DiscoveredResource> {
    const gv = ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
    let list = this.#cache.get(gv);
    if (list === undefined) {
      list =
        ref.group === ''
          ? this.#kc.makeApiClient(CoreV1Api).getAPIResources()
          : this.#kc
              .makeApiClient(CustomObjectsApi)
              .getAPIResources({ group: ref.group, version: ref.version });
      this.#cache.set(gv, list);
    }
    let resources: V1APIResourceList;
    try {
      resources = await list;
    } catch (err) {
      this.#cache.delete(gv);
      if (statusCodeOf(err) === 404) throw new ResourceNotServedError(ref, `${gv} is not served`);
      throw err;
    }
    const found = resources.resources.find((r) => r.name === ref.resource);
    if (found === undefined) {
      this.#cache.delete(gv);
      throw new ResourceNotServedError(
        ref,
        `${gv} has no resource ${JSON.stringify(ref.resource)}`,
      );
    }
    return { kind: found.kind, namespaced: found.namespaced, verbs: found.verbs };
  }
}

/**
 * A ListerWatcher for a resource whose scope is not known up front: the first list (or watch)
 * asks discovery for kind and scope, then delegates to a {@link KubeListerWatcher} with the
 * namespace kept for a namespaced resource and dropped for a cluster-scoped one. Until the
 * resource is served, every attempt fails with {@link ResourceNotServedError} (the reflector
 * retries with backoff, so an informer for a CRD installed later syncs without a restart).
 *
 * @example
 * ```ts
 * const lw = new DiscoveringListerWatcher(kc, { group: 'my.domain', version: 'v1', resource: 'myapps' }, { namespace: 'default' });
 * ```
 */
export class DiscoveringListerWatcher<T extends KubeObject> implements ListerWatcher<T> {
  readonly #kc: KubeConfig;
  readonly #ref: ResourceRef;
  readonly #namespace: string | undefined;
  readonly #metadataOnly: boolean;
  readonly #discovery: ApiDiscovery;
  #inner: KubeListerWatcher<T> | undefined;

  constructor(
    kubeConfig: KubeConfig,
    ref: ResourceRef,
    options: { readonly namespace?: string; readonly metadataOnly?: boolean } = {},
  ) {
    this.#kc = kubeConfig;
    this.#ref = ref;
    this.#namespace = options.namespace;
    this.#metadataOnly = options.metadataOnly ?? false;
    this.#discovery = new ApiDiscovery(kubeConfig);
  }

  /** The resolved lister-watcher, once discovery answered. */
  get resolved(): KubeListerWatcher<T> | undefined {
    return this.#inner;
  }

  async #resolve(): Promise<KubeListerWatcher<T>> {
    if (this.#inner !== undefined) return this.#inner;
    const found = await this.#discovery.resource(this.#ref);
    const namespace = found.namespaced ? this.#namespace : undefined;
    this.#inner = new KubeListerWatcher<T>(this.#kc, {
      resource: { ...this.#ref, kind: this.#ref.kind ?? found.kind, namespaced: found.namespaced },
      ...(namespace === undefined || namespace === '' ? {} : { namespace }),
      metadataOnly: this.#metadataOnly,
    });
    return this.#inner;
  }

  async list(options: ListOptions): Promise<ListPage<T>> {
    return (await this.#resolve()).list(options);
  }

  watch(options: WatchOptions): AsyncIterable<WatchEvent<T>> {
    // Normally the list resolved it already: hand out the real stream, no extra layer per event.
    if (this.#inner !== undefined) return this.#inner.watch(options);
    const resolve = (): Promise<KubeListerWatcher<T>> => this.#resolve();
    return {
      async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent<T>, void, undefined> {
        yield* (await resolve()).watch(options);
      },
    };
  }
}
