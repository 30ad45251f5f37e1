/**
 * The embedded API server: its public shape ({@link ApiServer}, {@link startApiServer}), how its
 * parts are assembled, and its life — TLS, listening, the pause/resume/restart faults and close.
 *
 * The parts, one concept per module:
 *
 * | module                | holds                                                              |
 * | --------------------- | ------------------------------------------------------------------ |
 * | `request.ts`          | every request's entry: counters, auth, injected faults, errors     |
 * | `routing.ts`          | URL → {@link Route}, and method → handler                          |
 * | `discovery.ts`        | `/version`, health, `/api`, `/apis…` (`openapi.ts`: OpenAPI v2/v3) |
 * | `subresources.ts`     | scale and the other subresources (and the modules serving them)    |
 * | `field-validation.ts` | `fieldValidation`: unknown fields against the OpenAPI schemas      |
 * | `crud.ts`             | get, create, update, patch, delete, deletecollection               |
 * | `list.ts`             | LIST, streamed from cached bytes                                   |
 * | `watch-request.ts`    | WATCH requests: parameters, initial events, history replay         |
 * | `watch.ts`            | watch streams: the guarded writer, fan-out, bookmarks              |
 * | `selectors.ts`        | label and field selectors from the query                           |
 * | `field-labels.ts`     | each kind's field labels and their values                          |
 * | `freshness.ts`        | waiting for a resourceVersion the storage has not reached          |
 * | `encoding.ts`         | objects on the wire (items, metadata, versions), byte caches       |
 * | `table.ts`            | kubectl's Table output (`printers.ts`: cells, `table-columns.ts`)  |
 * | `body.ts`             | request bodies: size limit, JSON/YAML decoding                     |
 * | `response.ts`         | JSON and `Status` responses, backpressured list bodies             |
 * | `patching.ts`         | patch types, patching a stored object, server-side apply           |
 * | `patch.ts`            | merge, JSON and strategic merge patch algorithms                   |
 * | `managed-fields.ts`   | managedFields, apply merge/prune/conflicts (sets: `fieldset.ts`)   |
 * | `schema.ts`           | list and map semantics of the kinds (`schema-table.ts`, generated) |
 * | `crd.ts`              | CRD validation, and serving the resources of stored CRDs           |
 * | `object-store.ts`     | the in-process helpers (`server.create`…)                          |
 * | `storage.ts`          | the objects, resourceVersions and history                          |
 *
 * The server class itself only wires them: the storage's events feed the watch hub and the CRD
 * registry, the request handler gets a {@link ServerContext}, and the fault injector gets the
 * lifecycle operations it needs (pause, resume, restart) as callbacks.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '@kubecache/cache';
import type { TokenUser } from './auth.js';
import { Authorizer } from './authorization.js';
import type { AuthorizationRule } from './authorization.js';
import { isLoopbackHost, NonLoopbackBindError } from './bind.js';
import { DEFAULT_MAX_BODY_BYTES } from './body.js';
import type { ServerContext } from './context.js';
import { serveCustomResources } from './crd.js';
import { FaultInjector } from './faults.js';
import { DEFAULT_TOO_LARGE_RESOURCE_VERSION_WAIT_MS, Freshness } from './freshness.js';
import { buildKubeConfig } from './kubeconfig.js';
import type { KubeConfigObject } from './kubeconfig.js';
import { DEFAULT_NAMESPACE_DELETION_DELAY_MS, NamespaceController } from './namespaces.js';
import { InProcessObjectStore } from './object-store.js';
import type { ObjectStore } from './object-store.js';
import { handleRequest } from './request.js';
import { ResourceRegistry } from './resources.js';
import { sendStatus } from './response.js';
import type { ShardSelectorMode } from './selectors.js';
import { createStats } from './stats.js';
import type { ServerStats } from './stats.js';
import { toStatusError } from './status.js';
import { Storage } from './storage.js';
import { selfSignedCertificate } from './tls.js';
import type { TlsCredentials } from './tls.js';
import { DEFAULT_BOOKMARK_INTERVAL_MS, WatchHub } from './watch.js';

/** Options of {@link startApiServer}.
 *
 * @example
 * ```ts
 * const server = await startApiServer({ port: 0, tls: true, bookmarkIntervalMs: 1000, historySize: 500 });
 * ```
 */
export interface ApiServerOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /**
   * Interface to bind (default `127.0.0.1`). Only loopback addresses are accepted unless
   * `allowNonLoopback` is set ({@link NonLoopbackBindError} otherwise).
   */
  readonly host?: string;
  /** Allow binding a non-loopback interface (the server is then reachable from the network). */
  readonly allowNonLoopback?: boolean;
  /** Serve HTTPS with a fresh self-signed certificate for 127.0.0.1/localhost. */
  readonly tls?: boolean;
  /** Require `Authorization: Bearer <token>` (401 otherwise). With `tls` and no token, one is generated. */
  readonly token?: string;
  /**
   * Users and what they may do. `tokens` map bearer tokens to users and groups (an unknown token is
   * 401); `rules` are allow rules checked per request (403 otherwise), changeable at run time
   * through `server.auth`. Without rules every request is allowed; the server's own `token` is
   * an admin (`system:masters`); a request without a token is `system:anonymous`.
   *
   * @example
   * ```ts
   * startApiServer({ auth: { tokens: { t1: { user: 'alice', groups: ['dev'] } },
   *   rules: [{ groups: ['dev'], verbs: ['get', 'list', 'watch'], resources: ['pods'], namespaces: ['default'] }] } });
   * ```
   */
  readonly auth?: {
    readonly tokens?: Readonly<Record<string, TokenUser>>;
    readonly rules?: readonly AuthorizationRule[];
  };
  /**
   * Interval of periodic BOOKMARK events on watches that allow them, per watch from its start
   * (default 60000, the real server's one minute). Such a watch with `timeoutSeconds` also gets a
   * BOOKMARK 2 s before its deadline, as on the real server. 0 disables both.
   */
  readonly bookmarkIntervalMs?: number;
  /**
   * How long a LIST or GET at a resourceVersion the server has not reached waits for it before
   * answering 504 "Too large resource version" (default 3000, the real server's wait). Tests
   * usually set it low.
   */
  readonly tooLargeResourceVersionWaitMs?: number;
  /**
   * Delay before the emulated namespace controller empties and removes a deleted (Terminating)
   * namespace (default 100 ms; a real one takes seconds). `Infinity` keeps namespaces
   * Terminating, as an envtest without controllers does.
   */
  readonly namespaceDeletionDelayMs?: number;
  /** Number of change events kept for watch resumption (default 100000). */
  readonly historySize?: number;
  /** Request body limit in bytes (default 3 MiB, like the real server); larger bodies get 413. */
  readonly maxBodyBytes?: number;
  /**
   * Objects to create at start (namespaces are created on demand). Any fields beyond
   * `apiVersion`, `kind` and `metadata` (`spec`, `data`, …) are welcome, so fixture literals
   * type-check as they are.
   */
  readonly objects?: readonly (KubeObject | (KubeObject & { readonly [field: string]: unknown }))[];
  /** Creating a namespaced object over HTTP in a missing namespace is 404 (default true, as on the real server). */
  readonly strictNamespaces?: boolean;
  /**
   * What LIST and WATCH do with KEP-5866's `shardSelector` parameter (default `honour`): filter
   * by it and echo it in the list's `metadata.shardInfo`, or `ignore` it entirely (no parsing, no
   * `shardInfo`) as a server before v1.36 or with the `ShardedListAndWatch` gate off does. The
   * server's `shardSelector` property changes it at run time.
   */
  readonly shardSelector?: ShardSelectorMode;
  /** Closes the server when aborted. */
  readonly signal?: AbortSignal;
}

/** A running embedded API server.
 *
 * @example
 * ```ts
 * const server = await startApiServer();
 * writeFileSync('kubeconfig', server.kubeconfigYaml);
 * await server.close();
 * ```
 */
export interface ApiServer extends ObjectStore {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** The kubeconfig of this server (cluster, bearer token, CA). */
  readonly kubeconfig: KubeConfigObject;
  /** The same kubeconfig as YAML; `KubeConfig.loadFromString` accepts it. */
  readonly kubeconfigYaml: string;
  /** The bearer token, when auth is on. */
  readonly token: string | undefined;
  /** The self-signed certificate (PEM), when TLS is on. */
  readonly caPem: string | undefined;
  readonly faults: FaultInjector;
  /** The authorization rules in force: `auth.setRules(rules)`, `auth.addRule(rule)`. */
  readonly auth: Authorizer;
  /** The in-process object helpers (also available directly on the server). */
  readonly storage: ObjectStore;
  /** Request counters, handy for asserting what a client did. */
  readonly stats: ServerStats;
  /**
   * Whether `shardSelector` is honoured or ignored (see {@link ApiServerOptions.shardSelector});
   * assignable, taking effect for the next LIST or WATCH (open watches keep what they began with).
   */
  shardSelector: ShardSelectorMode;
  /** Stops the server, dropping every connection. */
  close(): Promise<void>;
}

/** Namespaces every cluster starts with. */
const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** The host part of the server's URL: a wildcard bind is reached on loopback, IPv6 in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

class EmbeddedApiServer extends InProcessObjectStore implements ApiServer {
  readonly hub: WatchHub;
  readonly auth: Authorizer;
  readonly #namespaceController: NamespaceController;
  readonly freshness: Freshness;
  readonly faults: FaultInjector;
  readonly stats: ServerStats;
  readonly storage: ObjectStore = this;
  shardSelector: ShardSelectorMode;
  readonly #options: ApiServerOptions;
  readonly #context: ServerContext;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #paused = false;
  #closed = false;
  url = '';
  port = 0;
  kubeconfig!: KubeConfigObject;
  kubeconfigYaml = '';
  token: string | undefined;
  caPem: string | undefined;
  #tls: TlsCredentials | undefined;

  constructor(options: ApiServerOptions) {
    super(new ResourceRegistry(), new Storage({ historySize: options.historySize }));
    this.#options = options;
    this.shardSelector = options.shardSelector ?? 'honour';
    this.auth = new Authorizer(options.auth?.rules);
    this.hub = new WatchHub({
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
      currentRv: () => this.db.resourceVersion,
    });
    this.db.onEvent((ev) => this.hub.dispatch(ev));
    this.freshness = new Freshness(
      this.db,
      options.tooLargeResourceVersionWaitMs ?? DEFAULT_TOO_LARGE_RESOURCE_VERSION_WAIT_MS,
    );
    serveCustomResources(this.db, this.registry);
    this.#namespaceController = new NamespaceController(
      this.db,
      this.registry,
      options.namespaceDeletionDelayMs ?? DEFAULT_NAMESPACE_DELETION_DELAY_MS,
    );
    this.stats = createStats(this.hub);
    this.faults = new FaultInjector({
      compactHistory: () => this.db.compact(),
      closeWatches: () => this.hub.closeAll(),
      cutWatches: () => this.hub.cutAll(),
      errorWatches: (status) => this.hub.errorAll(status),
      bookmarkNow: () => this.hub.bookmarkNow(),
      pause: () => this.#pause(),
      resume: () => this.#resume(),
      restart: () => this.#restart(),
    });
    this.#context = this.#createContext();
    for (const ns of DEFAULT_NAMESPACES) {
      this.db.create(this.registry.get('', 'v1', 'namespaces')!, { metadata: { name: ns } });
    }
    for (const obj of options.objects ?? []) this.create(obj);
  }

  /** The request handlers' view of this server; token and address are read per request. */
  #createContext(): ServerContext {
    const options = this.#options;
    const token = (): string | undefined => this.token;
    const port = (): number => this.port;
    const shardSelector = (): ShardSelectorMode => this.shardSelector;
    return {
      registry: this.registry,
      db: this.db,
      hub: this.hub,
      freshness: this.freshness,
      faults: this.faults,
      stats: this.stats,
      get token() {
        return token();
      },
      tokens: options.auth?.tokens,
      authorizer: this.auth,
      get maxBodyBytes() {
        return options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
      },
      get strictNamespaces() {
        return options.strictNamespaces ?? true;
      },
      get serverAddress() {
        return `${options.host ?? '127.0.0.1'}:${port()}`;
      },
      get shardSelector() {
        return shardSelector();
      },
    };
  }

  async start(): Promise<void> {
    const options = this.#options;
    const host = options.host ?? '127.0.0.1';
    if (!isLoopbackHost(host) && options.allowNonLoopback !== true) {
      throw new NonLoopbackBindError(host);
    }
    this.token =
      options.token ?? (options.tls === true ? randomBytes(16).toString('hex') : undefined);
    if (options.tls === true) {
      this.#tls = await selfSignedCertificate(host);
      this.caPem = this.#tls.cert;
    }
    this.#server = this.#createServer();
    await this.#listen(options.port ?? 0, host);
    const address = this.#server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    this.url = `${options.tls === true ? 'https' : 'http'}://${urlHost(host)}:${this.port}`;
    const kc = buildKubeConfig({ url: this.url, caPem: this.caPem, token: this.token });
    this.kubeconfig = kc.object;
    this.kubeconfigYaml = kc.yaml;
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  #createServer(): Server {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      handleRequest(this.#context, req, res).catch((err: unknown) => {
        try {
          sendStatus(res, toStatusError(err));
        } catch {
          res.destroy();
        }
      });
    };
    const server: Server =
      this.#tls !== undefined ? createHttpsServer(this.#tls, handler) : createHttpServer(handler);
    server.keepAliveTimeout = 30_000;
    server.requestTimeout = 0;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    server.on('clientError', (_err, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    return server;
  }

  #listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = this.#server!;
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
  }

  #dropConnections(): void {
    this.hub.cutAll();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  async #pause(): Promise<void> {
    if (this.#paused || this.#closed) return;
    this.#paused = true;
    const server = this.#server!;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.#dropConnections();
    await closed;
  }

  async #resume(): Promise<void> {
    if (!this.#paused || this.#closed) return;
    this.#server = this.#createServer();
    await this.#listen(this.port, this.#options.host ?? '127.0.0.1');
    this.#paused = false;
  }

  async #restart(): Promise<void> {
    this.#dropConnections();
    await Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.hub.stop();
    this.#namespaceController.stop();
    const server = this.#server;
    if (server === undefined || this.#paused) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.#dropConnections();
    server.closeAllConnections();
    await closed;
  }
}

/**
 * Starts an embedded, in-memory Kubernetes API server on 127.0.0.1 (a free port by default).
 *
 * @example
 * ```ts
 * const server = await startApiServer();
 * const kc = new KubeConfig();
 * kc.loadFromString(server.kubeconfigYaml);
 * server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } });
 * await server.close();
 * ```
 */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const server = new EmbeddedApiServer(options);
  await server.start();
  return server;
}
