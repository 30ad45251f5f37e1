/**
 * A {@link ListerWatcher} over the Kubernetes HTTP API, authenticated exactly as client-node
 * authenticates (KubeConfig → `applySecurityAuthentication`: bearer tokens, basic auth, client
 * certificates, exec and OIDC plugins, custom CAs, proxies through its undici dispatcher).
 *
 * Bodies are read as raw JSON: a list is one `JSON.parse` of the body, a watch one `JSON.parse`
 * per line; client-node's ObjectSerializer (which walks and copies every object) is never run.
 */
import type {
  KubecacheErrorOptions,
  KubeObject,
  ListerWatcher,
  ListOptions,
  ListPage,
  WatchEvent,
  WatchOptions,
} from '@kubecache/cache';
import {
  compileShardSelector,
  ListWithoutResourceVersionError,
  MalformedListError,
  MalformedWatchLineError,
  parseShardSelector,
} from '@kubecache/cache';
import { HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { type Dispatcher, request } from 'undici';
import { type ApiRequestDescription, apiStatusErrorFrom } from './api-errors.js';
import { connectionErrorFrom } from './connection-errors.js';
import { htmlHint, looksLikeHtml, malformedLineHint, textPreview } from './hints.js';
import { JsonLinesDecoder } from './json-lines.js';
import { KubeconfigInvalidError, plainHttpError } from './kubeconfig.js';

/** Which resource to list and watch. `group` "" is the core API (`/api/v1`). */
export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  /** Plural resource name, e.g. `deployments`. */
  readonly resource: string;
  /** Default true. */
  readonly namespaced?: boolean;
  /** Kind of the objects, when known (otherwise taken from the list's kind). */
  readonly kind?: string;
}

/** Options of a {@link KubeListerWatcher}. */
export interface KubeListerWatcherOptions {
  readonly resource: ResourceRef;
  /** Only this namespace (namespaced resources); default all namespaces. */
  readonly namespace?: string;
  /** Ask for `PartialObjectMetadata` (apiVersion, kind, metadata) instead of full objects. */
  readonly metadataOnly?: boolean;
  /**
   * Longest watch line (one event) accepted, in bytes; default `DEFAULT_MAX_LINE_BYTES` (8 MiB).
   * A longer line fails the watch with a `WatchLineTooLongError` without being buffered whole.
   */
  readonly maxLineBytes?: number;
}

/** Accept headers of metadata-only lists and watches (with a plain JSON fallback). */
export const METADATA_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_WATCH_ACCEPT =
  'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

const EVENT_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/**
 * One undici dispatcher per (KubeConfig, cluster, user): client-node builds a fresh one on every
 * `applySecurityAuthentication`, which would cost a new TLS connection per request (per page).
 */
const dispatchers = new WeakMap<KubeConfig, Map<string, Dispatcher>>();

function shareDispatcher(kc: KubeConfig, fresh: Dispatcher | undefined): Dispatcher | undefined {
  if (fresh === undefined) return undefined;
  const key = JSON.stringify([kc.getCurrentCluster()?.name ?? '', kc.getCurrentUser()?.name ?? '']);
  let byKey = dispatchers.get(kc);
  if (byKey === undefined) dispatchers.set(kc, (byKey = new Map()));
  const shared = byKey.get(key);
  if (shared === undefined) {
    byKey.set(key, fresh);
    return fresh;
  }
  if (shared !== fresh) void fresh.close().catch(() => {});
  return shared;
}

interface ListBody<T> {
  kind?: string;
  apiVersion?: string;
  metadata?: {
    resourceVersion?: string;
    continue?: string;
    remainingItemCount?: number;
    shardInfo?: { selector?: unknown };
  };
  items?: T[] | null;
}

/** A shard selector as sent, and its compiled test for filtering on the client. */
interface ShardFilter {
  readonly text: string;
  readonly matches: (obj: KubeObject) => boolean;
}

/**
 * Whether a list's `metadata.shardInfo` says the server applied `sent`: the selector echoed as
 * sent, or one with the same field and ranges (a server may print it canonically).
 */
function serverApplied(shardInfo: { selector?: unknown } | undefined, sent: string): boolean {
  const echoed = shardInfo?.selector;
  if (typeof echoed !== 'string') return false;
  if (echoed === sent) return true;
  try {
    const a = parseShardSelector(echoed);
    const b = parseShardSelector(sent);
    return (
      a.field === b.field &&
      a.ranges.length === b.ranges.length &&
      a.ranges.every((r, i) => r.start === b.ranges[i]!.start && r.end === b.ranges[i]!.end)
    );
  } catch {
    return false;
  }
}

/** A page requested ahead of time. */
interface Prefetch {
  readonly key: string;
  readonly parent: AbortSignal;
  readonly controller: AbortController;
  text: Promise<ListText>;
  /** The continue token of this page, once its first bytes arrived. */
  nextToken: string | undefined;
  /** The list() call that took this page, once one did. */
  consumer: ListOptions | undefined;
}

/** What identifies a page request, for matching a prefetched page. */
function listKey(o: ListOptions): string {
  return JSON.stringify([
    o.continue ?? '',
    o.limit ?? 0,
    o.labelSelector ?? '',
    o.fieldSelector ?? '',
    o.shardSelector ?? '',
    o.resourceVersion ?? '',
  ]);
}

const CONTINUE_RE = /"metadata":\{[^{}]*?"continue":"([^"\\]+)"/;

/** The list's continue token, when the first bytes of the body already show it. */
function sniffContinue(chunk: Buffer): string | undefined {
  const head = chunk.toString('latin1', 0, Math.min(chunk.length, 4096));
  return CONTINUE_RE.exec(head)?.[1];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.slice(0, 160);
}

/** Why a decoded watch line is not a watch event, or undefined when it is one. */
function notAnEvent(value: unknown): string | undefined {
  if (!isObject(value) || Array.isArray(value)) return 'not a JSON object';
  if (typeof value.type !== 'string') return 'event without type';
  if (!EVENT_TYPES.has(value.type)) return `unknown event type ${JSON.stringify(value.type)}`;
  if (!isObject(value.object) || Array.isArray(value.object)) return 'event without object';
  return undefined;
}

/** A LIST body as text, with its content type. */
interface ListText {
  readonly text: string;
  readonly contentType: string | undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Lists (paged) and watches one resource of a Kubernetes API server.
 *
 * @example
 * ```ts
 * const kc = loadKubeConfig();
 * const lw = new KubeListerWatcher<Deployment>(kc, {
 *   resource: { group: 'apps', version: 'v1', resource: 'deployments' },
 *   namespace: 'default',
 * });
 * const page = await lw.list({ limit: 500, signal });
 * for await (const event of lw.watch({ resourceVersion: page.resourceVersion, signal })) console.log(event.type);
 * ```
 */
export class KubeListerWatcher<T extends KubeObject> implements ListerWatcher<T> {
  readonly resource: ResourceRef;
  readonly namespace: string | undefined;
  readonly metadataOnly: boolean;
  readonly #kc: KubeConfig;
  readonly #maxLineBytes: number | undefined;
  /** The last shard selector seen, compiled (informers never change theirs). */
  #shard: ShardFilter | undefined;
  #serverSideSharding: boolean | undefined;
  #shardFilteredOut = 0;

  constructor(kubeConfig: KubeConfig, options: KubeListerWatcherOptions) {
    this.#kc = kubeConfig;
    this.resource = options.resource;
    this.namespace = options.namespace || undefined;
    this.metadataOnly = options.metadataOnly ?? false;
    this.#maxLineBytes = options.maxLineBytes;
  }

  /**
   * How the last LIST with a `shardSelector` was sharded: true when the server applied the
   * selector (its answer carried a matching `metadata.shardInfo`), false when it did not (an
   * older server, or one with the feature off) and this lister-watcher filtered the items on the
   * client; undefined before any such list. Watch events are checked on the client either way
   * (see {@link KubeListerWatcher.watch}).
   */
  get serverSideSharding(): boolean | undefined {
    return this.#serverSideSharding;
  }

  /**
   * Objects outside the shard that this lister-watcher dropped on the client: list items of an
   * answer without a matching `shardInfo`, and watch events. 0 while the server does the sharding.
   */
  get shardFilteredOut(): number {
    return this.#shardFilteredOut;
  }

  /** The compiled filter of `text`; a malformed selector throws `ShardSelectorParseError`. */
  #shardFilter(text: string | undefined): ShardFilter | undefined {
    if (text === undefined || text === '') return undefined;
    if (this.#shard?.text !== text) {
      this.#shard = { text, matches: compileShardSelector(parseShardSelector(text)) };
    }
    return this.#shard;
  }

  /** The collection path, e.g. `/apis/apps/v1/namespaces/default/deployments`. */
  path(): string {
    const { group, version, resource } = this.resource;
    const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    const namespaced = this.resource.namespaced ?? true;
    if (namespaced && this.namespace !== undefined) {
      return `${base}/namespaces/${encodeURIComponent(this.namespace)}/${resource}`;
    }
    return `${base}/${resource}`;
  }

  #url(params: Record<string, string | number | boolean | undefined>): URL {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) {
      const context = this.#kc.getCurrentContext();
      throw new KubeconfigInvalidError(
        'KubeConfig object',
        context
          ? `current-context ${JSON.stringify(context)} names no cluster that exists`
          : 'no current context (nothing was loaded?)',
        {
          hint:
            'load a kubeconfig before creating informers: loadKubeConfig() finds it as kubectl ' +
            'does and says what is wrong with it',
        },
      );
    }
    let url: URL;
    try {
      url = new URL(cluster.server.replace(/\/+$/, '') + this.path());
    } catch (err) {
      throw new KubeconfigInvalidError(
        'KubeConfig object',
        `cluster ${JSON.stringify(cluster.name)} has server ${JSON.stringify(cluster.server)}, which is not a URL`,
        { hint: 'the server must be a URL such as https://10.0.0.1:6443', cause: err },
      );
    }
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** What a request of this lister-watcher does, for the hints of its errors. */
  #describe(
    verb: 'list' | 'watch',
    options: { labelSelector?: string; fieldSelector?: string },
  ): ApiRequestDescription {
    const { group, version, resource } = this.resource;
    const namespaced = this.resource.namespaced ?? true;
    return {
      verb,
      group,
      version,
      resource,
      ...(namespaced && this.namespace !== undefined ? { namespace: this.namespace } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
      ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
    };
  }

  async #get(
    url: URL,
    accept: string,
    signal: AbortSignal,
    described: ApiRequestDescription,
  ): Promise<Dispatcher.ResponseData> {
    const watch = described.verb === 'watch';
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    try {
      await this.#kc.applySecurityAuthentication(ctx);
    } catch (err) {
      const cluster = this.#kc.getCurrentCluster();
      if (
        cluster !== null &&
        err instanceof Error &&
        /HTTP protocol is not allowed/.test(err.message)
      ) {
        throw plainHttpError('KubeConfig object', cluster);
      }
      throw err;
    }
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept };
    const dispatcher = shareDispatcher(this.#kc, ctx.getDispatcher());
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: 'GET',
        headers,
        signal,
        ...(dispatcher !== undefined ? { dispatcher } : {}),
        // A watch may legitimately be quiet for minutes; the reflector's stall detection owns that.
        ...(watch ? { bodyTimeout: 0 } : {}),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw connectionErrorFrom(err, url.origin) ?? err;
    }
    if (res.statusCode !== 200) {
      let body = '';
      try {
        body = await res.body.text();
      } catch {
        // The status code alone still tells the story.
      }
      throw apiStatusErrorFrom(res.statusCode, res.headers, body, `GET ${url.pathname}`, described);
    }
    return res;
  }

  /**
   * One LIST page. Items get `kind`/`apiVersion` from the list when they lack them.
   *
   * Paged lists are pipelined: as soon as the first bytes of a page reveal its `continue` token
   * (list metadata precedes the items on the wire), the next page is requested, so the server
   * produces and sends page N+1 while page N is still arriving and being parsed. The prefetched
   * page is used only by a call asking for exactly that token (and the same limit and
   * selectors); anything else discards it.
   */
  async list(options: ListOptions): Promise<ListPage<T>> {
    // Parsed before the request: a malformed selector fails the same way whatever the server.
    const shard = this.#shardFilter(options.shardSelector);
    const key = listKey(options);
    const prefetched = this.#prefetched;
    this.#prefetched = undefined;
    let text: ListText;
    if (prefetched !== undefined && prefetched.key === key && !options.signal.aborted) {
      // Keep the pipeline going: the page after this one is fetched as soon as its token is known.
      prefetched.consumer = options;
      if (prefetched.nextToken !== undefined) this.#prefetchAfter(options, prefetched.nextToken);
      const signal = options.signal;
      const onAbort = (): void => prefetched.controller.abort(signal.reason);
      if (signal !== prefetched.parent) signal.addEventListener('abort', onAbort, { once: true });
      try {
        text = await prefetched.text;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } else {
      prefetched?.controller.abort();
      text = await this.#fetchList(options, options.signal, (token) =>
        this.#prefetchAfter(options, token),
      );
    }
    const body = this.#parseList(text);
    let items = body.items ?? [];
    const meta = body.metadata ?? {};
    let remainingItemCount = meta.remainingItemCount;
    if (shard !== undefined) {
      const applied = serverApplied(meta.shardInfo, shard.text);
      this.#serverSideSharding = applied;
      if (!applied) {
        // The server ignored the selector: keep what a sharding server would have sent.
        const all = items;
        items = all.filter(shard.matches);
        this.#shardFilteredOut += all.length - items.length;
        remainingItemCount = undefined; // it counts objects of every shard
      }
    }
    const listKind = body.kind ?? '';
    const kind = listKind.endsWith('List') ? listKind.slice(0, -4) : this.resource.kind;
    const apiVersion = body.apiVersion;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (item.kind === undefined) item.kind = kind;
      if (item.apiVersion === undefined) item.apiVersion = apiVersion;
    }
    if (typeof meta.resourceVersion !== 'string' || meta.resourceVersion === '') {
      throw new ListWithoutResourceVersionError(`GET ${this.path()}`, body.kind);
    }
    return {
      items,
      resourceVersion: meta.resourceVersion,
      continue: meta.continue || undefined,
      remainingItemCount,
    };
  }

  /** The next page, requested ahead of time (see {@link KubeListerWatcher.list}). */
  #prefetched: Prefetch | undefined;

  /** Parses a LIST body; anything but a JSON list is a {@link MalformedListError}. */
  #parseList({ text, contentType }: ListText): ListBody<T> {
    const what = `GET ${this.path()}`;
    const malformed = (reason: string, cause?: unknown): MalformedListError => {
      const html = looksLikeHtml(text);
      return new MalformedListError(what, {
        preview: html ? textPreview(text) : text.slice(0, 160),
        byteLength: Buffer.byteLength(text),
        reason: html ? 'an HTML page' : reason,
        contentType,
        cause,
        ...(html ? { hint: htmlHint } : {}),
      });
    };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw malformed(text.trim() === '' ? 'an empty body' : 'not JSON', err);
    }
    if (!isObject(value) || Array.isArray(value)) throw malformed('not a JSON object');
    const body = value as ListBody<T> & { message?: unknown };
    if (body.kind === 'Status') {
      throw malformed(`a Status answered with 200: ${String(body.message ?? '')}`);
    }
    if (body.items !== undefined && body.items !== null && !Array.isArray(body.items)) {
      throw malformed('items is not an array');
    }
    if (body.items === undefined && !(body.kind ?? '').endsWith('List')) {
      throw malformed('no items and no list kind');
    }
    return body;
  }

  /** GETs one page and returns its body text; reports its continue token as soon as it shows. */
  async #fetchList(
    options: ListOptions,
    signal: AbortSignal,
    onToken: (token: string) => void,
  ): Promise<ListText> {
    const url = this.#url({
      resourceVersion: options.resourceVersion,
      resourceVersionMatch: options.resourceVersion ? options.resourceVersionMatch : undefined,
      limit: options.limit && options.limit > 0 ? options.limit : undefined,
      continue: options.continue,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      shardSelector: options.shardSelector,
    });
    const res = await this.#get(
      url,
      this.metadataOnly ? METADATA_LIST_ACCEPT : 'application/json',
      signal,
      this.#describe('list', options),
    );
    const contentType = headerValue(res.headers['content-type']);
    const paged = options.limit !== undefined && options.limit > 0;
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (chunks.length === 0 && paged) {
        const token = sniffContinue(chunk);
        if (token !== undefined) onToken(token);
      }
      chunks.push(chunk);
      bytes += chunk.length;
    }
    const text =
      chunks.length === 1
        ? chunks[0]!.toString('utf8')
        : Buffer.concat(chunks, bytes).toString('utf8');
    return { text, contentType };
  }

  /** Requests the page after `token` ahead of time, unless a prefetch is already pending. */
  #prefetchAfter(current: ListOptions, token: string): void {
    if (this.#prefetched !== undefined) return;
    const parent = current.signal;
    if (parent.aborted) return;
    const options: ListOptions = { ...current, continue: token, resourceVersion: undefined };
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    const record: Prefetch = {
      key: listKey(options),
      parent,
      controller,
      text: Promise.resolve({ text: '', contentType: undefined }),
      nextToken: undefined,
      consumer: undefined,
    };
    // A speculative page does not chain further on its own; once consumed it does.
    record.text = this.#fetchList(options, controller.signal, (next) => {
      record.nextToken = next;
      if (record.consumer !== undefined) this.#prefetchAfter(record.consumer, next);
    });
    const detach = (): void => parent.removeEventListener('abort', onAbort);
    // Errors surface (if ever) through the list() call that consumes this page.
    record.text.then(detach, detach);
    this.#prefetched = record;
  }

  /**
   * A WATCH stream; the request is sent when iteration starts.
   *
   * With a `shardSelector`, events of objects outside the shard are dropped on the client even
   * when the last list was sharded by the server: a watch may reach another (older) API server
   * than the list did, and the check is one hash of a short string per event. An object's uid and
   * namespace never change, so an object never moves between shards and dropping its events
   * whole is exact. Bookmarks and errors always pass.
   */
  watch(options: WatchOptions): AsyncIterable<WatchEvent<T>> {
    return { [Symbol.asyncIterator]: () => this.#events(options) };
  }

  /**
   * The WATCH stream in batches: the events decoded from each received chunk. A reflector applies
   * a batch in one synchronous loop (see `ListerWatcher.watchBatches`).
   */
  watchBatches(options: WatchOptions): AsyncIterable<readonly WatchEvent<T>[]> {
    return { [Symbol.asyncIterator]: () => this.#batches(options) };
  }

  async *#events(options: WatchOptions): AsyncGenerator<WatchEvent<T>, void, undefined> {
    for await (const batch of this.#batches(options)) yield* batch;
  }

  async *#batches(options: WatchOptions): AsyncGenerator<WatchEvent<T>[], void, undefined> {
    const url = this.#url({
      watch: 1,
      resourceVersion: options.resourceVersion,
      resourceVersionMatch: options.resourceVersionMatch,
      allowWatchBookmarks: options.allowWatchBookmarks,
      sendInitialEvents: options.sendInitialEvents,
      timeoutSeconds: options.timeoutSeconds,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      shardSelector: options.shardSelector,
    });
    const shard = this.#shardFilter(options.shardSelector);
    const res = await this.#get(
      url,
      this.metadataOnly ? METADATA_WATCH_ACCEPT : 'application/json',
      options.signal,
      this.#describe('watch', options),
    );
    options.onOpen?.();
    const onBytes = options.onBytes;
    const decoder = new JsonLinesDecoder(
      this.#maxLineBytes === undefined ? {} : { maxLineBytes: this.#maxLineBytes },
    );
    let finished = false;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        onBytes?.(chunk.length);
        // A fresh array per chunk: the consumer keeps the batch; values are replaced by events
        // in place (they are the same objects, checked).
        const out: unknown[] = [];
        let failure: unknown;
        try {
          decoder.write(chunk, out);
        } catch (err) {
          failure = err;
        }
        let kept = 0;
        for (let i = 0; i < out.length; i++) {
          const value = out[i];
          const problem = notAnEvent(value);
          if (problem !== undefined) {
            const text = preview(value);
            const errorOptions: KubecacheErrorOptions = { hint: malformedLineHint(text) };
            // The events before the bad line are delivered first, as a per-event stream would.
            if (kept > 0) yield out.slice(0, kept) as WatchEvent<T>[];
            throw new MalformedWatchLineError(
              text,
              Buffer.byteLength(JSON.stringify(value) ?? ''),
              problem,
              errorOptions,
            );
          }
          const event = value as unknown as WatchEvent<T>;
          if (
            shard !== undefined &&
            event.type !== 'BOOKMARK' &&
            event.type !== 'ERROR' &&
            !shard.matches(event.object)
          ) {
            this.#shardFilteredOut++;
            continue;
          }
          out[kept++] = event;
        }
        out.length = kept;
        if (kept > 0) yield out as WatchEvent<T>[];
        if (failure !== undefined) throw failure;
      }
      finished = true;
      decoder.end();
    } finally {
      if (!finished) res.body.destroy();
    }
  }
}
