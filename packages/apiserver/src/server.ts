/**
 * The embedded API server: HTTP(S) routing, discovery, the REST verbs, LIST and WATCH, auth and
 * fault injection, over the in-memory {@link Storage}.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { ApiStatusError } from '@kubecache/cache';
import type { KubeObject, Status } from '@kubecache/cache';
import { crdResources, establishCrd, validateCrd } from './crd.js';
import { FaultInjector, reasonForCode } from './faults.js';
import type { FaultRequest } from './faults.js';
import { buildKubeConfig } from './kubeconfig.js';
import type { KubeConfigObject } from './kubeconfig.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { boolParam, parseListQuery } from './query.js';
import type { ListQuery } from './query.js';
import { ResourceRegistry, apiVersionOf, groupResourceKey } from './resources.js';
import type { ResourceInfo } from './resources.js';
import { fieldMatcher, labelMatcher } from './selectors.js';
import {
  badRequest,
  failureStatus,
  methodNotAllowed,
  notFound,
  statusError,
  toStatusError,
} from './status.js';
import { Storage } from './storage.js';
import type { StoredObject } from './storage.js';
import { DEFAULT_BOOKMARK_INTERVAL_MS, Watcher, WatchHub, metadataJson } from './watch.js';
import type { Representation } from './watch.js';

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
  /** Interface to bind (default `127.0.0.1`). */
  readonly host?: string;
  /** Serve HTTPS with a fresh self-signed certificate for 127.0.0.1/localhost. */
  readonly tls?: boolean;
  /** Require `Authorization: Bearer <token>` (401 otherwise). With `tls` and no token, one is generated. */
  readonly token?: string;
  /**
   * Interval of periodic BOOKMARK events on watches that allow them, per watch from its start
   * (default 60000, the real server's one minute). Such a watch with `timeoutSeconds` also gets a
   * BOOKMARK 2 s before its deadline, as on the real server. 0 disables both.
   */
  readonly bookmarkIntervalMs?: number;
  /** Number of change events kept for watch resumption (default 100000). */
  readonly historySize?: number;
  /** Request body limit in bytes (default 3 MiB, like the real server); larger bodies get 413. */
  readonly maxBodyBytes?: number;
  /** Objects to create at start (namespaces are created on demand). */
  readonly objects?: readonly KubeObject[];
  /** Creating a namespaced object over HTTP in a missing namespace is 404 (default true, as on the real server). */
  readonly strictNamespaces?: boolean;
  /** Closes the server when aborted. */
  readonly signal?: AbortSignal;
}

/** Identifies one object for the in-process helpers.
 *
 * @example
 * ```ts
 * server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' });
 * ```
 */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** Selects objects of one kind for {@link ObjectStore.list}.
 *
 * @example
 * ```ts
 * server.list({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', labelSelector: 'app=web' });
 * ```
 */
export interface ListRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/**
 * Direct, in-process access to the server's objects for test setup. Every call goes through the
 * same code path as the REST API (validation, resourceVersion, history, watch fan-out), so open
 * watches see the changes. Returned objects are the stored ones: treat them as read-only.
 *
 * @example
 * ```ts
 * server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' }, data: { k: 'v' } });
 * server.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' }, { data: { k: 'w' } });
 * ```
 */
export interface ObjectStore {
  /** Creates an object (its namespace is created if missing). Throws ApiStatusError like the API. */
  create<T extends KubeObject>(obj: T): T;
  /** Replaces an object (PUT semantics; a set resourceVersion is a precondition). */
  update<T extends KubeObject>(obj: T): T;
  /** Writes the status of an object through its status subresource (or the object if it has none). */
  updateStatus<T extends KubeObject>(obj: T): T;
  /** Creates the object, or replaces it (ignoring its resourceVersion) when it exists. */
  apply<T extends KubeObject>(obj: T): T;
  /** Patches an object (merge patch by default). */
  patch<T extends KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    type?: 'merge' | 'json' | 'strategic',
  ): T;
  /** Deletes an object; with finalizers it only gets a deletionTimestamp. Returns the final object. */
  delete<T extends KubeObject>(ref: ObjectRef): T;
  /** The stored object, or undefined. */
  get<T extends KubeObject>(ref: ObjectRef): T | undefined;
  /** Objects of one kind, sorted by namespace/name. */
  list<T extends KubeObject>(ref: ListRef): T[];
  /** The current resourceVersion. */
  resourceVersion(): string;
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
  /** The in-process object helpers (also available directly on the server). */
  readonly storage: ObjectStore;
  /** Request counters, handy for asserting what a client did. */
  readonly stats: ServerStats;
  /** Stops the server, dropping every connection. */
  close(): Promise<void>;
}

/** Request counters.
 *
 * @example
 * ```ts
 * const before = server.stats.lists;
 * await informer.run(signal);
 * assert.equal(server.stats.lists, before + 1);
 * ```
 */
export interface ServerStats {
  requests: number;
  lists: number;
  watches: number;
  gets: number;
  writes: number;
  /** Open watch connections. */
  readonly activeWatches: number;
  /** The last requests (method and URL), newest last, at most 500. */
  readonly log: { method: string; url: string }[];
}

const CRD_KEY = groupResourceKey('apiextensions.k8s.io', 'customresourcedefinitions');
const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-kubecache',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};
const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const CHUNK = 1 << 20;

interface Route {
  readonly info: ResourceInfo;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
  readonly watch: boolean;
}

const COMMA = Buffer.from(',');

/**
 * Writes a list body: a head, then items separated by commas, then a tail, as ~1 MiB chunks
 * concatenated from the items' cached bytes, waiting for `drain` when the socket is full.
 */
async function writeListBody(
  res: ServerResponse,
  head: string,
  items: readonly Buffer[],
  tail: string,
): Promise<void> {
  let parts: Buffer[] = [Buffer.from(head)];
  let size = parts[0]!.length;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) {
      parts.push(COMMA);
      size++;
    }
    const item = items[i]!;
    parts.push(item);
    size += item.length;
    if (size >= CHUNK) {
      if (!res.write(Buffer.concat(parts, size))) await waitDrain(res);
      if (res.destroyed) return;
      parts = [];
      size = 0;
    }
  }
  parts.push(Buffer.from(tail));
  res.end(Buffer.concat(parts));
}

/** The UTF-8 bytes of list items, cached per stored version and representation (built lazily). */
const itemBytesCache = new WeakMap<StoredObject, Buffer>();
const metadataBytesCache = new WeakMap<StoredObject, Buffer>();
/** The UTF-8 bytes of whole objects (watch events carry apiVersion/kind), cached likewise. */
const objectBytesCache = new WeakMap<StoredObject, Buffer>();
const ADDED_PREFIX = Buffer.from('{"type":"ADDED","object":');
const EVENT_SUFFIX = Buffer.from('}\n');

function waitDrain(res: ServerResponse): Promise<void> {
  // A response already gone emits neither `drain` nor `close` again: do not wait forever.
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function sendJson(
  res: ServerResponse,
  code: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    ...headers,
  });
  res.end(body);
}

function sendStatus(
  res: ServerResponse,
  err: ApiStatusError,
  headers: Record<string, string> = {},
): void {
  const status = err.status ?? failureStatus(err.statusCode, '', err.message);
  const extra = { ...headers };
  if (err.retryAfterSeconds !== undefined) extra['Retry-After'] = String(err.retryAfterSeconds);
  sendJson(res, err.statusCode, JSON.stringify(status), extra);
}

/**
 * The storage rewrites only top-level fields and metadata of its input before serializing it, so
 * a copy of those two levels protects the caller's object; with `copy: true` the storage then
 * stores a private parse of the serialized JSON, so later changes to the caller's nested objects
 * cannot reach the stored one.
 */
function shallowCopy<T extends KubeObject>(obj: T): T {
  return { ...obj, metadata: { ...obj.metadata } };
}

function age(timestamp: string | undefined): string {
  if (timestamp === undefined) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function jsonPathValue(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (part === '') continue;
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

class EmbeddedApiServer implements ApiServer {
  readonly registry = new ResourceRegistry();
  readonly db: Storage;
  readonly hub: WatchHub;
  readonly faults: FaultInjector;
  readonly stats: ServerStats;
  readonly storage: ObjectStore = this;
  readonly #options: ApiServerOptions;
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
  #tls: { key: string; cert: string } | undefined;

  constructor(options: ApiServerOptions) {
    this.#options = options;
    this.db = new Storage({ historySize: options.historySize });
    this.hub = new WatchHub({
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
      currentRv: () => this.db.resourceVersion,
    });
    this.db.onEvent((ev) => this.hub.dispatch(ev));
    this.db.onEvent((ev) => {
      if (ev.resourceKey === CRD_KEY) this.#crdChanged(ev.type, ev.object, ev.prev);
    });
    const hub = this.hub;
    const log: { method: string; url: string }[] = [];
    this.stats = {
      requests: 0,
      lists: 0,
      watches: 0,
      gets: 0,
      writes: 0,
      get activeWatches() {
        return hub.size;
      },
      log,
    };
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
    for (const ns of DEFAULT_NAMESPACES) {
      this.db.create(this.registry.get('', 'v1', 'namespaces')!, { metadata: { name: ns } });
    }
    for (const obj of options.objects ?? []) this.create(obj);
  }

  async start(): Promise<void> {
    const options = this.#options;
    const host = options.host ?? '127.0.0.1';
    this.token =
      options.token ?? (options.tls === true ? randomBytes(16).toString('hex') : undefined);
    if (options.tls === true) {
      const selfsigned = await import('selfsigned');
      const pems = await selfsigned.generate(
        [{ name: 'commonName', value: 'kubecache-apiserver' }],
        {
          keySize: 2048,
          algorithm: 'sha256',
          extensions: [
            { name: 'basicConstraints', cA: true },
            { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
            { name: 'extKeyUsage', serverAuth: true },
            {
              name: 'subjectAltName',
              altNames: [
                { type: 2, value: 'localhost' },
                { type: 7, ip: '127.0.0.1' },
                ...(host !== '127.0.0.1' && host !== 'localhost' && /^[\d.]+$/.test(host)
                  ? [{ type: 7 as const, ip: host }]
                  : []),
              ],
            },
          ],
        },
      );
      this.#tls = { key: pems.private, cert: pems.cert };
      this.caPem = pems.cert;
    }
    this.#server = this.#createServer();
    await this.#listen(options.port ?? 0, host);
    const address = this.#server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    const urlHost =
      host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    this.url = `${options.tls === true ? 'https' : 'http'}://${urlHost}:${this.port}`;
    const kc = buildKubeConfig({ url: this.url, caPem: this.caPem, token: this.token });
    this.kubeconfig = kc.object;
    this.kubeconfigYaml = kc.yaml;
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  #createServer(): Server {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.#handle(req, res).catch((err: unknown) => {
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
    const server = this.#server;
    if (server === undefined || this.#paused) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.#dropConnections();
    server.closeAllConnections();
    await closed;
  }

  // ---- CRDs -------------------------------------------------------------------------------

  #crdChanged(type: string, obj: StoredObject, prev: StoredObject | undefined): void {
    if (prev !== undefined) {
      for (const info of crdResources(prev.obj)) this.registry.remove(info);
    }
    if (type === 'DELETED') {
      const infos = crdResources(obj.obj);
      if (infos[0] !== undefined) this.db.deleteAll(infos[0]);
      return;
    }
    const infos = crdResources(obj.obj);
    for (const info of infos) this.registry.add(info);
    if (infos[0] !== undefined) this.db.store(infos[0]).info = infos[0];
  }

  // ---- in-process helpers -------------------------------------------------------------------

  #infoOf(apiVersion: string | undefined, kind: string | undefined): ResourceInfo {
    const info = this.registry.byKind(apiVersion ?? '', kind ?? '');
    if (info === undefined) {
      throw statusError(
        404,
        'NotFound',
        `no resource is served for apiVersion ${apiVersion ?? ''}, kind ${kind ?? ''}`,
      );
    }
    return info;
  }

  #ensureNamespace(namespace: string | undefined): void {
    if (namespace === undefined || namespace === '') return;
    const nsInfo = this.registry.get('', 'v1', 'namespaces')!;
    if (this.db.tryGet(nsInfo, undefined, namespace) === undefined) {
      this.db.create(nsInfo, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace },
      });
    }
  }

  #prepareCreate(info: ResourceInfo, obj: KubeObject): void {
    if (info.resource === 'customresourcedefinitions' && info.group === 'apiextensions.k8s.io') {
      validateCrd(obj);
      establishCrd(obj);
    }
  }

  create<T extends KubeObject>(obj: T): T {
    const info = this.#infoOf(obj.apiVersion, obj.kind);
    const copy = shallowCopy(obj);
    if (info.namespaced) {
      const ns = copy.metadata?.namespace ?? 'default';
      this.#ensureNamespace(ns);
      copy.metadata = { ...copy.metadata, namespace: ns };
    }
    this.#prepareCreate(info, copy);
    return this.db.create(info, copy, { copy: true }).obj as T;
  }

  update<T extends KubeObject>(obj: T): T {
    const info = this.#infoOf(obj.apiVersion, obj.kind);
    return this.db.update(info, shallowCopy(obj), { copy: true, namespace: this.#nsOf(info, obj) })
      .obj as T;
  }

  /** The namespace of an in-process write: the object's, or `default` for namespaced kinds. */
  #nsOf(info: ResourceInfo, obj: KubeObject): string | undefined {
    return info.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined;
  }

  updateStatus<T extends KubeObject>(obj: T): T {
    const info = this.#infoOf(obj.apiVersion, obj.kind);
    const sub = info.subresources.includes('status') ? 'status' : undefined;
    return this.db.update(info, shallowCopy(obj), {
      subresource: sub,
      copy: true,
      namespace: this.#nsOf(info, obj),
    }).obj as T;
  }

  apply<T extends KubeObject>(obj: T): T {
    const info = this.#infoOf(obj.apiVersion, obj.kind);
    const existing = this.db.tryGet(info, this.#nsOf(info, obj), obj.metadata?.name ?? '');
    if (existing === undefined) return this.create(obj);
    const copy = shallowCopy(obj);
    copy.metadata = { ...copy.metadata, resourceVersion: undefined };
    return this.db.update(info, copy, { copy: true, namespace: this.#nsOf(info, obj) }).obj as T;
  }

  patch<T extends KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    type: 'merge' | 'json' | 'strategic' = 'merge',
  ): T {
    const info = this.#infoOf(ref.apiVersion, ref.kind);
    return this.#applyPatch(
      info,
      ref.namespace ?? (info.namespaced ? 'default' : undefined),
      ref.name,
      patch,
      type,
      undefined,
    ).obj as T;
  }

  delete<T extends KubeObject>(ref: ObjectRef): T {
    const info = this.#infoOf(ref.apiVersion, ref.kind);
    return this.db.delete(
      info,
      ref.namespace ?? (info.namespaced ? 'default' : undefined),
      ref.name,
    ).object.obj as T;
  }

  get<T extends KubeObject>(ref: ObjectRef): T | undefined {
    const info = this.#infoOf(ref.apiVersion, ref.kind);
    return this.db.tryGet(
      info,
      ref.namespace ?? (info.namespaced ? 'default' : undefined),
      ref.name,
    )?.obj as T | undefined;
  }

  list<T extends KubeObject>(ref: ListRef): T[] {
    const info = this.#infoOf(ref.apiVersion, ref.kind);
    return this.db
      .list(info, {
        namespace: ref.namespace,
        label: labelMatcher(ref.labelSelector ?? null),
        field: fieldMatcher(ref.fieldSelector ?? null),
      })
      .items.map((i) => i.obj as T);
  }

  resourceVersion(): string {
    return String(this.db.resourceVersion);
  }

  #applyPatch(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: 'merge' | 'json' | 'strategic',
    subresource: 'status' | undefined,
    dryRun = false,
  ): StoredObject {
    const current = this.db.get(info, namespace, name);
    // Stored objects are immutable and the patch functions never mutate their input (merge and
    // strategic patches copy along the changed paths; the JSON patch library clones), so the
    // stored object is patched directly instead of a fresh parse of its JSON.
    const base: unknown = current.obj;
    const patched =
      type === 'json'
        ? jsonPatch(base, patch)
        : type === 'strategic'
          ? strategicMergePatch(base, patch)
          : mergePatch(base, patch);
    if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
      throw badRequest('the patch did not produce an object');
    }
    const obj = patched as KubeObject & { metadata?: { resourceVersion?: string; name?: string } };
    // A patch is conditional only when it sets metadata.resourceVersion itself.
    const patchRv =
      typeof patch === 'object' && patch !== null && !Array.isArray(patch)
        ? ((patch as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion ??
          undefined)
        : undefined;
    obj.metadata = {
      ...obj.metadata,
      resourceVersion: typeof patchRv === 'string' ? patchRv : String(current.rv),
    };
    if (obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    return this.db.update(info, obj, { namespace, name, subresource, dryRun });
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const stats = this.stats;
    stats.requests++;
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://x');
    stats.log.push({ method, url: req.url ?? '/' });
    if (stats.log.length > 500) stats.log.splice(0, stats.log.length - 500);
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const query = url.searchParams;

    if (this.token !== undefined && !['/healthz', '/livez', '/readyz'].includes(path)) {
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        req.resume();
        sendStatus(res, statusError(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
    }
    const faultReq: FaultRequest = {
      method,
      path,
      query,
      watch: boolParam(query, 'watch') || path.includes('/watch/'),
    };
    const failure = this.faults.takeFailure(faultReq);
    if (failure !== undefined) {
      req.resume();
      const code = failure.status;
      const retry = failure.retryAfterSeconds ?? (code === 429 ? 1 : undefined);
      const status = failureStatus(
        code,
        reasonForCode(code) as never,
        failure.message ?? `injected failure ${code}`,
      );
      if (retry !== undefined) status.details = { retryAfterSeconds: retry };
      sendJson(
        res,
        code,
        JSON.stringify(status),
        retry !== undefined ? { 'Retry-After': String(retry) } : {},
      );
      return;
    }
    if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));

    try {
      await this.#route(req, res, method, path, query, faultReq.watch);
    } catch (err) {
      req.resume();
      sendStatus(res, toStatusError(err));
    }
  }

  async #route(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    query: URLSearchParams,
    watch: boolean,
  ): Promise<void> {
    let parts: string[];
    try {
      parts = path
        .split('/')
        .filter((p) => p !== '')
        .map((p) => decodeURIComponent(p));
    } catch {
      req.resume();
      throw badRequest(`malformed path ${path}`);
    }
    if (method === 'GET' && this.#discovery(res, path, parts)) return;
    const route = this.#resolve(parts, watch);
    if (route === undefined) {
      req.resume();
      throw statusError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const accept = req.headers.accept ?? '';
    const representation: Representation = accept.includes('as=PartialObjectMetadata')
      ? 'metadata'
      : 'full';
    const table = accept.includes('as=Table');
    const { info, namespace, name, subresource } = route;
    if (subresource !== undefined && !info.subresources.includes(subresource)) {
      throw statusError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const dryRun = query.get('dryRun') === 'All';
    switch (method) {
      case 'GET': {
        req.resume();
        if (route.watch) {
          this.stats.watches++;
          this.#watch(res, route, parseListQuery(query), representation, table, path);
          return;
        }
        if (name === undefined) {
          this.stats.lists++;
          await this.#list(res, route, parseListQuery(query), representation, table);
          return;
        }
        this.stats.gets++;
        const obj = this.db.get(info, namespace, name);
        this.#sendObject(res, 200, obj, info, representation, table);
        return;
      }
      case 'POST': {
        if (name !== undefined) throw methodNotAllowed();
        const body = await this.#readJson(req);
        this.stats.writes++;
        if (
          info.namespaced &&
          (this.#options.strictNamespaces ?? true) &&
          namespace !== undefined
        ) {
          const nsInfo = this.registry.get('', 'v1', 'namespaces')!;
          if (this.db.tryGet(nsInfo, undefined, namespace) === undefined)
            throw notFound('', 'namespaces', namespace);
        }
        if (info.namespaced && namespace === undefined) {
          throw methodNotAllowed();
        }
        this.#prepareCreate(info, body);
        const created = this.db.create(info, body, { namespace, dryRun });
        this.#sendObject(res, 201, created, info, representation, false);
        return;
      }
      case 'PUT': {
        if (name === undefined) throw methodNotAllowed();
        const body = await this.#readJson(req);
        this.stats.writes++;
        const updated = this.db.update(info, body, {
          namespace,
          name,
          subresource: subresource === 'status' ? 'status' : undefined,
          dryRun,
        });
        this.#sendObject(res, 200, updated, info, representation, false);
        return;
      }
      case 'PATCH': {
        if (name === undefined) throw methodNotAllowed();
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const text = await this.#readBody(req);
        this.stats.writes++;
        const sub = subresource === 'status' ? 'status' : undefined;
        let result: StoredObject;
        let code = 200;
        if (contentType === 'application/apply-patch+yaml') {
          // Server-side apply, simplified: create when missing, else a merge of the applied config.
          const applied = this.#parse(text, true);
          const existing = this.db.tryGet(info, namespace, name);
          if (existing === undefined) {
            const meta = (applied.metadata ?? {}) as { name?: unknown };
            if (meta.name !== undefined && meta.name !== name) {
              throw badRequest(
                `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
              );
            }
            applied.metadata = { ...applied.metadata, name };
            this.#prepareCreate(info, applied);
            result = this.db.create(info, applied, { namespace, dryRun });
            code = 201;
          } else {
            result = this.#applyPatch(info, namespace, name, applied, 'merge', sub, dryRun);
          }
        } else {
          const type =
            contentType === 'application/merge-patch+json'
              ? 'merge'
              : contentType === 'application/json-patch+json'
                ? 'json'
                : contentType === 'application/strategic-merge-patch+json'
                  ? 'strategic'
                  : undefined;
          if (type === undefined) {
            throw statusError(
              415,
              'UnsupportedMediaType',
              `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
            );
          }
          if (type === 'strategic' && info.custom) {
            throw statusError(
              415,
              'UnsupportedMediaType',
              'strategic merge patch is not supported for custom resources',
            );
          }
          result = this.#applyPatch(
            info,
            namespace,
            name,
            this.#parse(text, false),
            type,
            sub,
            dryRun,
          );
        }
        this.#sendObject(res, code, result, info, representation, false);
        return;
      }
      case 'DELETE': {
        const text = await this.#readBody(req);
        this.stats.writes++;
        let preconditions: { uid?: string; resourceVersion?: string } | undefined;
        let bodyDryRun = false;
        if (text.trim() !== '') {
          const opts = this.#parse(text, false) as {
            preconditions?: { uid?: string; resourceVersion?: string };
            dryRun?: string[];
          };
          preconditions = opts.preconditions;
          bodyDryRun = Array.isArray(opts.dryRun) && opts.dryRun.includes('All');
        }
        if (name === undefined) {
          this.#deleteCollection(res, route, query, info, dryRun || bodyDryRun);
          return;
        }
        const { object, deleted } = this.db.delete(info, namespace, name, {
          preconditions,
          dryRun: dryRun || bodyDryRun,
        });
        if (!deleted || info.resource === 'pods' || info.custom) {
          // Objects kept by finalizers (and pods, custom resources) come back as the object.
          this.#sendObject(res, 200, object, info, representation, false);
        } else {
          const status: Status = {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: {
              name,
              group: info.group,
              kind: info.resource,
              uid: object.obj.metadata?.uid,
            },
          };
          sendJson(res, 200, JSON.stringify(status));
        }
        return;
      }
      default:
        req.resume();
        throw methodNotAllowed();
    }
  }

  #deleteCollection(
    res: ServerResponse,
    route: Route,
    query: URLSearchParams,
    info: ResourceInfo,
    dryRun: boolean,
  ): void {
    const found = this.db.list(info, {
      namespace: route.namespace,
      label: labelMatcher(query.get('labelSelector')),
      field: fieldMatcher(query.get('fieldSelector')),
    });
    const items: string[] = [];
    for (const item of found.items) {
      const { object } = this.db.delete(
        info,
        item.namespace === '' ? undefined : item.namespace,
        item.name,
        { dryRun },
      );
      items.push(this.#itemJson(object, info, 'full'));
    }
    sendJson(
      res,
      200,
      `{"kind":"${info.listKind}","apiVersion":"${apiVersionOf(info)}","metadata":{"resourceVersion":"${this.db.resourceVersion}"},"items":[${items.join(',')}]}`,
    );
  }

  #resolve(parts: string[], watchParam: boolean): Route | undefined {
    let group: string;
    let version: string | undefined;
    let rest: string[];
    if (parts[0] === 'api') {
      group = '';
      version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      group = parts[1] ?? '';
      version = parts[2];
      rest = parts.slice(3);
    } else {
      return undefined;
    }
    if (version === undefined || rest.length === 0) return undefined;
    let watch = watchParam;
    if (rest[0] === 'watch') {
      watch = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    if (
      rest[0] === 'namespaces' &&
      rest.length >= 3 &&
      !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))
    ) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    if (rest.length === 0 || rest.length > 3) return undefined;
    const info = this.registry.get(group, version, rest[0]!);
    if (info === undefined) return undefined;
    if (!info.namespaced && namespace !== undefined) return undefined;
    return { info, namespace, name: rest[1], subresource: rest[2], watch };
  }

  // ---- discovery ----------------------------------------------------------------------------

  #discovery(res: ServerResponse, path: string, parts: string[]): boolean {
    if (path === '/version' || path === '/version/') {
      sendJson(res, 200, JSON.stringify(SERVER_VERSION));
      return true;
    }
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return true;
    }
    if (path === '/openapi/v3' || path.startsWith('/openapi/v3/')) return this.#openapi(res, path);
    if (path === '/api') {
      sendJson(
        res,
        200,
        JSON.stringify({
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [
            {
              clientCIDR: '0.0.0.0/0',
              serverAddress: `${this.#options.host ?? '127.0.0.1'}:${this.port}`,
            },
          ],
        }),
      );
      return true;
    }
    if (path === '/apis') {
      const groups = [...this.registry.groups()].map(([name, versions]) =>
        this.#groupDoc(name, versions),
      );
      sendJson(res, 200, JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups }));
      return true;
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const versions = this.registry.groups().get(parts[1]!);
      if (versions === undefined) return false;
      sendJson(
        res,
        200,
        JSON.stringify({
          kind: 'APIGroup',
          apiVersion: 'v1',
          ...this.#groupDoc(parts[1]!, versions),
        }),
      );
      return true;
    }
    const gv =
      parts[0] === 'api' && parts.length === 2
        ? { group: '', version: parts[1]! }
        : parts[0] === 'apis' && parts.length === 3
          ? { group: parts[1]!, version: parts[2]! }
          : undefined;
    if (gv !== undefined) {
      const infos = this.registry.forGroupVersion(gv.group, gv.version);
      if (infos.length === 0) return false;
      const resources: Record<string, unknown>[] = [];
      for (const info of infos) {
        const doc: Record<string, unknown> = {
          name: info.resource,
          singularName: info.singular,
          namespaced: info.namespaced,
          kind: info.kind,
          verbs: info.verbs,
        };
        if (info.shortNames.length > 0) doc['shortNames'] = info.shortNames;
        if (info.custom) doc['categories'] = ['all'];
        resources.push(doc);
        for (const sub of info.subresources) {
          resources.push({
            name: `${info.resource}/${sub}`,
            singularName: '',
            namespaced: info.namespaced,
            kind: info.kind,
            verbs: ['get', 'patch', 'update'],
          });
        }
      }
      sendJson(
        res,
        200,
        JSON.stringify({
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: apiVersionOf(gv),
          resources,
        }),
      );
      return true;
    }
    return false;
  }

  /**
   * A minimal OpenAPI v3 surface so that kubectl's validation (and apply) runs the way users run
   * it: every kind gets a permissive schema tagged with its group/version/kind.
   */
  #openapi(res: ServerResponse, path: string): boolean {
    const gvs = new Map<string, ResourceInfo[]>();
    for (const info of this.registry.all()) {
      const key = info.group === '' ? `api/${info.version}` : `apis/${info.group}/${info.version}`;
      const list = gvs.get(key) ?? [];
      list.push(info);
      gvs.set(key, list);
    }
    if (path === '/openapi/v3') {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const key of gvs.keys())
        paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${this.db.resourceVersion}` };
      sendJson(res, 200, JSON.stringify({ paths }));
      return true;
    }
    const infos = gvs.get(path.slice('/openapi/v3/'.length));
    if (infos === undefined) return false;
    const schemas: Record<string, unknown> = {};
    const paths: Record<string, unknown> = {};
    for (const info of infos) {
      const gvk = { group: info.group, version: info.version, kind: info.kind };
      // kubectl looks for a PATCH operation of the kind that accepts `fieldValidation`; finding it,
      // it leaves validation to the server (which accepts any fields: we have no schemas).
      const base =
        info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
      const ns = info.namespaced ? '/namespaces/{namespace}' : '';
      paths[`${base}${ns}/${info.resource}/{name}`] = {
        patch: {
          'x-kubernetes-group-version-kind': gvk,
          parameters: [
            { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
          ],
          responses: { '200': { description: 'OK' } },
        },
      };
      const prefix = info.group === '' ? 'io.k8s.api.core' : info.group;
      schemas[`${prefix}.${info.version}.${info.kind}`] = {
        type: 'object',
        'x-kubernetes-group-version-kind': [gvk],
        'x-kubernetes-preserve-unknown-fields': true,
      };
    }
    sendJson(
      res,
      200,
      JSON.stringify({
        openapi: '3.0.0',
        info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion },
        paths,
        components: { schemas },
      }),
    );
    return true;
  }

  #groupDoc(name: string, versions: string[]): Record<string, unknown> {
    const docs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
    return { name, versions: docs, preferredVersion: docs[0] };
  }

  // ---- bodies -------------------------------------------------------------------------------

  async #readBody(req: IncomingMessage): Promise<string> {
    const limit = this.#options.maxBodyBytes ?? 3 * 1024 * 1024;
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      throw statusError(
        413,
        'RequestEntityTooLarge',
        'Request entity too large: limit is 3145728'.replace('3145728', String(limit)),
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        req.resume();
        throw statusError(
          413,
          'RequestEntityTooLarge',
          `Request entity too large: limit is ${limit}`,
        );
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  #parse(text: string, yaml: boolean): KubeObject {
    let value: unknown;
    try {
      value = yaml ? parseYaml(text) : JSON.parse(text);
    } catch (err) {
      throw badRequest(
        `couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (typeof value !== 'object' || value === null) {
      throw badRequest('the body of the request must be a JSON object or array');
    }
    return value as KubeObject;
  }

  async #readJson(req: IncomingMessage): Promise<KubeObject> {
    const value = this.#parse(await this.#readBody(req), false);
    if (Array.isArray(value))
      throw badRequest("couldn't get version/kind; json parse error: expected an object");
    return value;
  }

  // ---- representations ----------------------------------------------------------------------

  /** An item of a list: built-in items drop apiVersion/kind (as the real server's typed lists do). */
  #itemJson(obj: StoredObject, info: ResourceInfo, representation: Representation): string {
    if (representation === 'metadata') return metadataJson(obj);
    if (!info.custom) return `{${obj.json.slice(obj.typePrefixLength)}`;
    return this.#objectJson(obj, info);
  }

  /** {@link #itemJson} as UTF-8 bytes, encoded once per stored version and reused by every LIST. */
  #itemBytes(obj: StoredObject, info: ResourceInfo, representation: Representation): Buffer {
    const cache = representation === 'metadata' ? metadataBytesCache : itemBytesCache;
    const rewrites = info.custom && obj.obj.apiVersion !== apiVersionOf(info);
    let bytes = rewrites ? undefined : cache.get(obj);
    if (bytes === undefined) {
      bytes = Buffer.from(this.#itemJson(obj, info, representation));
      if (!rewrites) cache.set(obj, bytes);
    }
    return bytes;
  }

  /** The whole object (or its metadata) as UTF-8 bytes, encoded once per stored version. */
  #objectBytes(obj: StoredObject, info: ResourceInfo, representation: Representation): Buffer {
    const cache = representation === 'metadata' ? metadataBytesCache : objectBytesCache;
    const rewrites =
      representation === 'full' && info.custom && obj.obj.apiVersion !== apiVersionOf(info);
    let bytes = rewrites ? undefined : cache.get(obj);
    if (bytes === undefined) {
      bytes = Buffer.from(
        representation === 'metadata' ? metadataJson(obj) : this.#objectJson(obj, info),
      );
      if (!rewrites) cache.set(obj, bytes);
    }
    return bytes;
  }

  /** The object as served at the requested version (custom resources share storage across versions). */
  #objectJson(obj: StoredObject, info: ResourceInfo): string {
    const apiVersion = apiVersionOf(info);
    if (!info.custom || obj.obj.apiVersion === apiVersion) return obj.json;
    return `{"apiVersion":${JSON.stringify(apiVersion)},"kind":${JSON.stringify(info.kind)},${obj.json.slice(obj.typePrefixLength)}`;
  }

  #sendObject(
    res: ServerResponse,
    code: number,
    obj: StoredObject,
    info: ResourceInfo,
    representation: Representation,
    table: boolean,
  ): void {
    if (table) {
      sendJson(res, code, this.#table([obj], info, undefined, true));
      return;
    }
    sendJson(
      res,
      code,
      representation === 'metadata' ? metadataJson(obj) : this.#objectJson(obj, info),
    );
  }

  /** A meta.k8s.io/v1 Table (what kubectl get asks for) with NAME, AGE and CRD printer columns. */
  #table(
    items: readonly StoredObject[],
    info: ResourceInfo,
    listMeta: string | undefined,
    columns: boolean,
  ): string {
    const printer = info.printerColumns ?? [];
    const defs = [
      {
        name: 'Name',
        type: 'string',
        format: 'name',
        description: 'Name must be unique within a namespace.',
        priority: 0,
      },
      ...printer
        .filter((c) => c.name.toLowerCase() !== 'age')
        .map((c) => ({
          name: c.name,
          type: c.type,
          format: c.format ?? '',
          description: c.description ?? '',
          priority: c.priority ?? 0,
        })),
      { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp', priority: 0 },
    ];
    const rows = items.map((item) => {
      const cells: unknown[] = [item.name];
      for (const c of printer) {
        if (c.name.toLowerCase() === 'age') continue;
        const value = jsonPathValue(item.obj, c.jsonPath);
        cells.push(value === undefined ? null : value);
      }
      cells.push(age(item.obj.metadata?.creationTimestamp));
      return `{"cells":${JSON.stringify(cells)},"object":${metadataJson(item)}}`;
    });
    return `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":${listMeta ?? '{}'}${columns ? `,"columnDefinitions":${JSON.stringify(defs)}` : ''},"rows":[${rows.join(',')}]}`;
  }

  // ---- LIST ---------------------------------------------------------------------------------

  async #list(
    res: ServerResponse,
    route: Route,
    query: ListQuery,
    representation: Representation,
    table: boolean,
  ): Promise<void> {
    const info = route.info;
    const result = this.db.list(info, {
      namespace: route.namespace,
      label: labelMatcher(query.labelSelector),
      field: fieldMatcher(query.fieldSelector),
      limit: query.limit,
      continueToken: query.continueToken,
      resourceVersion: query.resourceVersion,
      resourceVersionMatch: query.resourceVersionMatch,
    });
    let meta = `{"resourceVersion":"${result.resourceVersion}"`;
    if (result.continue !== undefined) meta += `,"continue":"${result.continue}"`;
    if (result.remainingItemCount !== undefined)
      meta += `,"remainingItemCount":${result.remainingItemCount}`;
    meta += '}';
    if (table) {
      sendJson(res, 200, this.#table(result.items, info, meta, true));
      return;
    }
    const head =
      representation === 'metadata'
        ? `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":${meta},"items":[`
        : `{"kind":"${info.listKind}","apiVersion":"${apiVersionOf(info)}","metadata":${meta},"items":[`;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
    });
    const items = new Array<Buffer>(result.items.length);
    for (let i = 0; i < items.length; i++)
      items[i] = this.#itemBytes(result.items[i]!, info, representation);
    await writeListBody(res, head, items, ']}');
  }

  // ---- WATCH --------------------------------------------------------------------------------

  #watch(
    res: ServerResponse,
    route: Route,
    query: ListQuery,
    representation: Representation,
    table: boolean,
    path: string,
  ): void {
    const info = route.info;
    const rvText = query.resourceVersion;
    const rvMatch = query.resourceVersionMatch;
    const bookmarks = query.allowWatchBookmarks;
    const sendInitial = query.sendInitialEvents === true;
    if (query.sendInitialEvents !== undefined) {
      if (rvMatch !== 'NotOlderThan') {
        throw statusError(
          422,
          'Invalid',
          'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
        );
      }
      if (sendInitial && !bookmarks) {
        throw statusError(
          422,
          'Invalid',
          'allowWatchBookmarks: Forbidden: sendInitialEvents requires allowWatchBookmarks=true',
        );
      }
    } else if (rvMatch !== '') {
      throw statusError(
        422,
        'Invalid',
        'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
      );
    }
    if (rvText !== '' && !/^\d+$/.test(rvText))
      throw badRequest(`invalid resource version "${rvText}"`);
    let field = fieldMatcher(query.fieldSelector);
    if (route.name !== undefined) {
      // Legacy /watch/.../{name}: a watch of one object.
      field = fieldMatcher(`metadata.name=${route.name}`);
    }
    const label = labelMatcher(query.labelSelector);

    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    const cut = this.faults.takeCut(path);
    const watcher = new Watcher(res, {
      resourceKey: groupResourceKey(info.group, info.resource),
      apiVersion: apiVersionOf(info),
      kind: info.kind,
      namespace: route.namespace,
      label,
      field,
      representation,
      bookmarks,
      ...cut,
      // kubectl get -w asks for Tables: each event's object is a one-row Table.
      ...(table
        ? { render: (obj: StoredObject) => this.#table([obj], info, undefined, true) }
        : {}),
    });
    const current = this.db.resourceVersion;
    const synthetic =
      sendInitial || (query.sendInitialEvents === undefined && (rvText === '' || rvText === '0'));
    if (synthetic) {
      const store = this.db.store(info);
      // Each synthetic ADDED is three byte pieces: a shared prefix, the object's cached bytes and
      // a shared suffix; they are concatenated into large chunks, never re-serialized.
      const objects: Buffer[] = [];
      for (const key of store.sortedKeys()) {
        const obj = store.items.get(key)!;
        if (!watcher.matches(obj)) continue;
        objects.push(
          table
            ? Buffer.from(this.#table([obj], info, undefined, true))
            : this.#objectBytes(obj, info, representation),
        );
      }
      this.#sendAdded(watcher, objects);
      if (sendInitial) watcher.sendBookmark(current, true);
    } else {
      const from = Number(rvText);
      if (from < this.db.compactedResourceVersion) {
        watcher.sendError(
          failureStatus(
            410,
            'Expired',
            `too old resource version: ${from} (${this.db.compactedResourceVersion})`,
          ),
        );
        return;
      }
      for (const ev of this.db.eventsAfter(from, watcher.options.resourceKey)) watcher.deliver(ev);
    }
    if (!watcher.open) return;
    this.hub.add(watcher, query.timeoutMs);
  }

  /** Sends synthetic ADDED events, coalesced into large writes unless a per-event fault is armed. */
  #sendAdded(watcher: Watcher, objects: readonly Buffer[]): void {
    if (
      watcher.options.cutAfterEvents !== undefined ||
      watcher.options.cutAfterBytes !== undefined
    ) {
      for (const obj of objects)
        watcher.sendEvent(Buffer.concat([ADDED_PREFIX, obj, EVENT_SUFFIX]));
      return;
    }
    let parts: Buffer[] = [];
    let size = 0;
    for (const obj of objects) {
      parts.push(ADDED_PREFIX, obj, EVENT_SUFFIX);
      size += ADDED_PREFIX.length + obj.length + EVENT_SUFFIX.length;
      if (size >= CHUNK) {
        watcher.write(Buffer.concat(parts, size));
        parts = [];
        size = 0;
      }
    }
    if (size > 0) watcher.write(Buffer.concat(parts, size));
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
