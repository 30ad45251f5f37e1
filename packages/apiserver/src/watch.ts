/**
 * Watch streams: newline-delimited JSON events over a chunked HTTP response.
 *
 * An event's wire line is built once (per event type and representation) and written to every
 * matching watcher, so fan-out to N watchers costs N socket writes, not N serializations. Writes
 * honour backpressure: when the socket buffer is full the watcher queues lines and flushes them
 * on `drain`; a watcher that falls too far behind is closed, as the real server closes slow
 * watchers, and its client must re-watch.
 *
 * Every byte of a watch stream goes through one guarded writer ({@link Watcher}): once the stream
 * is ending (ERROR sent, timeout, `closeWatches`) nothing more is accepted, so a change committed in
 * the same tick as the end can never turn into a write after end.
 */
import type { ServerResponse } from 'node:http';
import type { KubeObject, Status } from '@kubecache/cache';
import { INITIAL_EVENTS_END_ANNOTATION } from '@kubecache/cache';
import type { FieldMatcher, LabelMatcher, StorageEvent, StoredObject } from './storage.js';

/** How event objects are represented on one watch. */
export type Representation = 'full' | 'metadata';

/** Options of one watch connection. */
export interface WatcherOptions {
  readonly resourceKey: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly label?: LabelMatcher;
  readonly field?: FieldMatcher;
  readonly representation: Representation;
  readonly bookmarks: boolean;
  /**
   * The resourceVersion the watch started from when the server had not reached it yet: events
   * and bookmarks up to it are withheld, as the real server's cache watcher does.
   */
  readonly after?: number;
  /** Destroy the connection after this many events (fault injection). */
  readonly cutAfterEvents?: number;
  /** Destroy the connection after this many bytes, possibly mid-line (fault injection). */
  readonly cutAfterBytes?: number;
  /** Renders event objects itself (kubectl's Table output) instead of the shared cached lines. */
  readonly render?: (obj: StoredObject) => string;
  /** Renders a BOOKMARK's object from its metadata (kubectl's Table output) when set. */
  readonly renderBookmark?: (metadata: Record<string, unknown>) => string;
  /** Close the watch when this many bytes are queued behind a slow reader. */
  readonly maxQueuedBytes?: number;
}

const METADATA_API_VERSION = 'meta.k8s.io/v1';

/** Lazily builds and caches the PartialObjectMetadata JSON of a stored object. */
const metadataJsonCache = new WeakMap<StoredObject, string>();

/** A DaemonSet's `spec.templateGeneration`, which apps/v1 carries as this annotation. */
const TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

/**
 * An object's metadata as the real server's internal version has it, which is what it puts in
 * PartialObjectMetadata: a DaemonSet's template-generation annotation exists only in apps/v1 (its
 * conversion writes it from a spec field), so it is left out there.
 */
function internalMetadata(obj: StoredObject): object {
  const metadata = obj.obj.metadata ?? {};
  const annotations = metadata.annotations;
  if (obj.obj.kind !== 'DaemonSet' || annotations?.[TEMPLATE_GENERATION] === undefined) {
    return metadata;
  }
  const { [TEMPLATE_GENERATION]: _converted, ...rest } = annotations;
  const { annotations: _all, ...others } = metadata;
  // Keep the key order of the stored metadata.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(metadata)) {
    if (key !== 'annotations') out[key] = others[key as keyof typeof others];
    else if (Object.keys(rest).length > 0) out[key] = rest;
  }
  return out;
}

/** `{"apiVersion":"meta.k8s.io/v1","kind":"PartialObjectMetadata","metadata":…}` for an object. */
export function metadataJson(obj: StoredObject): string {
  let json = metadataJsonCache.get(obj);
  if (json === undefined) {
    json = `{"kind":"PartialObjectMetadata","apiVersion":"${METADATA_API_VERSION}","metadata":${JSON.stringify(internalMetadata(obj))}}`;
    metadataJsonCache.set(obj, json);
  }
  return json;
}

/** The JSON of an object in the given representation. */
export function objectJson(obj: StoredObject, representation: Representation): string {
  return representation === 'metadata' ? metadataJson(obj) : obj.json;
}

/** One wire line of a watch event. */
export function eventLine(type: string, objectJson: string): string {
  return `{"type":"${type}","object":${objectJson}}\n`;
}

/**
 * The event's wire bytes for one type and representation, encoded once and shared by every
 * watcher that receives it (fan-out costs a memcpy per watcher, not a serialization).
 */
function eventLineCached(ev: StorageEvent, type: string, representation: Representation): Buffer {
  const cacheKey = representation === 'full' ? type : `${type}:m`;
  ev.lines ??= new Map();
  let line = ev.lines.get(cacheKey);
  if (line === undefined) {
    line = Buffer.from(eventLine(type, objectJson(ev.object, representation)));
    ev.lines.set(cacheKey, line);
  }
  return line;
}

/**
 * The object a watch that an object leaves gets in its DELETED event: the last version that
 * matched (the previous one) at the resourceVersion of the write that made it leave, as the real
 * server's cache watcher sends it. Built once per event and shared by every watcher it leaves.
 */
const exitObjects = new WeakMap<StorageEvent, StoredObject>();

function exitObject(ev: StorageEvent, prev: StoredObject): StoredObject {
  let obj = exitObjects.get(ev);
  if (obj === undefined) {
    const parsed = JSON.parse(prev.json) as KubeObject;
    parsed.metadata = { ...parsed.metadata, resourceVersion: String(ev.rv) };
    // Same key order as the stored JSON, so the type prefix has the same length.
    obj = { ...prev, rv: ev.rv, obj: parsed, json: JSON.stringify(parsed) };
    exitObjects.set(ev, obj);
  }
  return obj;
}

/**
 * How often a bookmark-enabled watch gets a periodic BOOKMARK by default: the real server's
 * `bookmarkFrequency` (one minute, k8s.io/apiserver cacher).
 */
export const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000;

/** The real server also sends a BOOKMARK this long before a watch's `timeoutSeconds` deadline. */
export const PRE_TIMEOUT_BOOKMARK_MS = 2_000;

/** setTimeout's largest delay; longer timeouts are treated as none (they would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The life of a watch stream: `open` accepts events; `ending` flushes what is queued and then
 * ends the response, accepting nothing more; `closed` is after the connection went away.
 */
type WatcherState = 'open' | 'ending' | 'closed';

/** One open watch connection. */
export class Watcher {
  readonly options: WatcherOptions;
  readonly res: ServerResponse;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #blocked = false;
  #state: WatcherState = 'open';
  #events = 0;
  #bytes = 0;
  #onClose: (() => void)[] = [];

  constructor(res: ServerResponse, options: WatcherOptions) {
    this.res = res;
    this.options = options;
    res.on('close', () => this.#finish());
    res.on('drain', () => this.#flush());
  }

  /** The connection is gone. */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Events are still accepted (the stream is neither ending nor closed). */
  get open(): boolean {
    return this.#state === 'open';
  }

  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  #finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#queue = [];
    for (const fn of this.#onClose) fn();
  }

  /** Does the object pass this watch's namespace and selectors? */
  matches(obj: StoredObject): boolean {
    const o = this.options;
    if (o.namespace !== undefined && o.namespace !== '' && obj.namespace !== o.namespace)
      return false;
    if (o.label !== undefined && !o.label.matches(obj.obj.metadata?.labels)) return false;
    if (o.field !== undefined && !o.field.matches(obj.obj)) return false;
    return true;
  }

  /**
   * Delivers a storage event, translating it the way the real server does for filtered watches:
   * an object that stops matching is DELETED for this watch, one that starts matching is ADDED.
   */
  deliver(ev: StorageEvent): void {
    if (this.#state !== 'open') return;
    // A watch from a resourceVersion the server had not reached gets nothing up to it.
    if (ev.rv <= (this.options.after ?? 0)) return;
    let type: string = ev.type;
    if (ev.type === 'MODIFIED') {
      const now = this.matches(ev.object);
      const before = ev.prev !== undefined && this.matches(ev.prev);
      if (!now && !before) return;
      if (now && !before) type = 'ADDED';
      else if (!now && before) {
        this.#sendExit(ev, ev.prev!);
        return;
      }
    } else if (!this.matches(ev.object)) {
      return;
    }
    const render = this.options.render;
    this.sendEvent(
      render !== undefined
        ? eventLine(type, render(ev.object))
        : eventLineCached(ev, type, this.options.representation),
    );
  }

  /** DELETED for an object that stops matching, carrying its last matching state. */
  #sendExit(ev: StorageEvent, prev: StoredObject): void {
    const obj = exitObject(ev, prev);
    const render = this.options.render;
    if (render !== undefined) {
      this.sendEvent(eventLine('DELETED', render(obj)));
      return;
    }
    const representation = this.options.representation;
    const cacheKey = representation === 'full' ? 'EXIT' : 'EXIT:m';
    ev.lines ??= new Map();
    let line = ev.lines.get(cacheKey);
    if (line === undefined) {
      line = Buffer.from(eventLine('DELETED', objectJson(obj, representation)));
      ev.lines.set(cacheKey, line);
    }
    this.sendEvent(line);
  }

  /** Sends one pre-built event line (counted against the cut-after-events fault). */
  sendEvent(line: string | Buffer): void {
    if (this.#state !== 'open') return;
    this.#events++;
    this.write(line);
    const cut = this.options.cutAfterEvents;
    if (cut !== undefined && this.#events >= cut) this.cut(true);
  }

  /** A BOOKMARK at `rv`, optionally marking the end of the initial events. */
  sendBookmark(rv: number, initialEventsEnd = false): void {
    const o = this.options;
    if (rv <= (o.after ?? 0)) return;
    const apiVersion = o.representation === 'metadata' ? METADATA_API_VERSION : o.apiVersion;
    const kind = o.representation === 'metadata' ? 'PartialObjectMetadata' : o.kind;
    if (o.renderBookmark !== undefined) {
      const metadata: Record<string, unknown> = {
        resourceVersion: String(rv),
        creationTimestamp: null,
      };
      if (initialEventsEnd) metadata['annotations'] = { [INITIAL_EVENTS_END_ANNOTATION]: 'true' };
      this.sendEvent(eventLine('BOOKMARK', o.renderBookmark(metadata)));
      return;
    }
    const annotations = initialEventsEnd
      ? `,"annotations":{"${INITIAL_EVENTS_END_ANNOTATION}":"true"}`
      : '';
    this.sendEvent(
      eventLine(
        'BOOKMARK',
        `{"kind":"${kind}","apiVersion":"${apiVersion}","metadata":{"resourceVersion":"${rv}","creationTimestamp":null${annotations}}}`,
      ),
    );
  }

  /** An ERROR event carrying `status`, then the end of the stream. */
  sendError(status: Status): void {
    this.write(eventLine('ERROR', JSON.stringify(status)));
    this.end();
  }

  /** Writes raw text, honouring backpressure and the cut-after-bytes fault. */
  write(data: string | Buffer): void {
    if (this.#state !== 'open') return;
    const text = typeof data === 'string' ? Buffer.from(data) : data;
    const cutBytes = this.options.cutAfterBytes;
    if (cutBytes !== undefined) {
      const len = text.length;
      if (this.#bytes + len >= cutBytes) {
        this.#flush();
        const part = text.subarray(0, Math.max(0, cutBytes - this.#bytes));
        this.#bytes = cutBytes;
        if (part.length > 0) this.#emit(part);
        this.cut(true);
        return;
      }
      this.#bytes += len;
    }
    // Lines are queued and written on the next tick, so a burst of events (a batch of writes in
    // one turn of the event loop) becomes one socket write per watcher instead of one per event.
    this.#queue.push(text);
    this.#queuedBytes += text.length;
    if (this.#queuedBytes > (this.options.maxQueuedBytes ?? 512 * 1024 * 1024)) {
      // Too slow a reader: drop it, as the real server drops watchers that cannot keep up.
      this.#queue = [];
      this.#queuedBytes = 0;
      this.end();
      return;
    }
    if (!this.#blocked && !this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(() => {
        this.#scheduled = false;
        if (!this.#blocked) this.#flush();
      });
    }
  }

  #scheduled = false;

  #flush(): void {
    if (this.#state === 'closed') return;
    this.#blocked = false;
    while (this.#queue.length > 0 && !this.#blocked) {
      // Coalesce queued lines into ~1 MiB chunks: fewer, larger socket writes.
      let size = 0;
      let n = 0;
      while (n < this.#queue.length && size < 1 << 20) size += this.#queue[n++]!.length;
      const chunk = n === 1 ? this.#queue[0]! : Buffer.concat(this.#queue.slice(0, n), size);
      if (n === this.#queue.length) this.#queue = [];
      else this.#queue.splice(0, n);
      this.#queuedBytes -= size;
      if (!this.#emit(chunk)) this.#blocked = true;
    }
    if (this.#queue.length === 0) this.#queuedBytes = 0;
    if (!this.#blocked && this.#state === 'ending') this.#endResponse();
  }

  /**
   * The only place a watch stream's bytes reach the response. A response that has ended or been
   * destroyed takes nothing: Node would emit an unhandled ERR_STREAM_WRITE_AFTER_END and kill the
   * process. Returns false when the caller should wait for `drain`.
   */
  #emit(chunk: Buffer): boolean {
    const res = this.res;
    if (res.writableEnded || res.destroyed) return true;
    return res.write(chunk);
  }

  #endResponse(): void {
    if (!this.res.writableEnded && !this.res.destroyed) this.res.end();
  }

  /** Ends the stream gracefully (after queued data); later events are dropped. */
  end(): void {
    if (this.#state !== 'open') return;
    this.#state = 'ending';
    if (!this.#blocked) this.#flush();
  }

  /**
   * Drops the connection without the terminating chunk, so the client sees a broken stream. With
   * `flush`, what was already written still reaches the client first (cut after N events/bytes);
   * without it the socket is destroyed at once (outage, restart).
   */
  cut(flush = false): void {
    if (this.#state === 'closed') return;
    const socket = this.res.socket;
    if (flush && !this.#blocked) this.#flush();
    this.#finish();
    if (flush && socket !== null) {
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    } else {
      socket?.destroy();
      this.res.destroy();
    }
  }
}

/**
 * All open watches, grouped by resource. Each watch has its own timers, as on the real server:
 * its `timeoutSeconds` deadline, a periodic BOOKMARK every `bookmarkIntervalMs` from its start,
 * and one {@link PRE_TIMEOUT_BOOKMARK_MS} before its deadline (so that a client re-watching after
 * the timeout resumes from a recent resourceVersion).
 */
export class WatchHub {
  readonly #byResource = new Map<string, Set<Watcher>>();
  readonly #all = new Set<Watcher>();
  readonly #bookmarkIntervalMs: number;
  readonly #currentRv: () => number;

  constructor(options: { bookmarkIntervalMs: number; currentRv: () => number }) {
    this.#currentRv = options.currentRv;
    this.#bookmarkIntervalMs = options.bookmarkIntervalMs;
  }

  get size(): number {
    return this.#all.size;
  }

  /** Registers a watch for fan-out; with `timeoutMs` it ends (cleanly) after that long. */
  add(watcher: Watcher, timeoutMs?: number): void {
    let set = this.#byResource.get(watcher.options.resourceKey);
    if (set === undefined) {
      set = new Set();
      this.#byResource.set(watcher.options.resourceKey, set);
    }
    set.add(watcher);
    this.#all.add(watcher);
    const timers = this.#startTimers(watcher, timeoutMs);
    watcher.onClose(() => {
      for (const timer of timers) clearTimeout(timer);
      set.delete(watcher);
      this.#all.delete(watcher);
    });
  }

  #startTimers(watcher: Watcher, timeoutMs: number | undefined): NodeJS.Timeout[] {
    const timers: NodeJS.Timeout[] = [];
    const deadline = timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS ? timeoutMs : undefined;
    if (deadline !== undefined) timers.push(setTimeout(() => watcher.end(), deadline));
    const interval = this.#bookmarkIntervalMs;
    if (watcher.options.bookmarks && interval > 0) {
      const bookmark = (): void => watcher.sendBookmark(this.#currentRv());
      timers.push(setInterval(bookmark, Math.min(interval, MAX_TIMER_MS)));
      if (deadline !== undefined && deadline > PRE_TIMEOUT_BOOKMARK_MS)
        timers.push(setTimeout(bookmark, deadline - PRE_TIMEOUT_BOOKMARK_MS));
    }
    for (const timer of timers) timer.unref();
    return timers;
  }

  /** Fans one committed event out to the watches of its resource. */
  dispatch(ev: StorageEvent): void {
    const set = this.#byResource.get(ev.resourceKey);
    if (set === undefined) return;
    for (const watcher of set) watcher.deliver(ev);
  }

  /** Sends a bookmark to every bookmark-enabled watch now (tests need not wait for the timer). */
  bookmarkNow(): void {
    const rv = this.#currentRv();
    for (const watcher of this.#all) if (watcher.options.bookmarks) watcher.sendBookmark(rv);
  }

  /** Ends every open watch gracefully. */
  closeAll(): void {
    for (const watcher of [...this.#all]) watcher.end();
  }

  /** Sends an ERROR event with `status` to every open watch and ends it. */
  errorAll(status: Status): void {
    for (const watcher of [...this.#all]) watcher.sendError(status);
  }

  /** Drops every watch connection abruptly. */
  cutAll(): void {
    for (const watcher of [...this.#all]) watcher.cut();
  }

  stop(): void {
    this.cutAll();
  }
}

/** Type guard used by the server for `KubeObject`-shaped inputs. */
export function isKubeObject(value: unknown): value is KubeObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
