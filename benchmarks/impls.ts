// The three implementations every scenario measures, behind one small interface:
// - kubecache: SharedIndexInformer over KubeListerWatcher (what a user of this project writes);
// - client-node: `makeInformer` from @kubernetes/client-node with a generated-API list function
//   (what a user of the incumbent writes);
// - floor: the least any informer can do with the same bytes: one HTTP request (undici's
//   `request`, the fastest client Node offers; kubecache uses it too, `fetch` is ~1.5x slower
//   here), JSON.parse, a Map insert by key (and, for watches, splitting the stream into lines and
//   calling the handlers).
import {
  type KubeObject,
  SharedIndexInformer,
  stripManagedFields as kubecacheStripManagedFields,
  internStrings,
} from '@kubecache/cache';
import { KubeListerWatcher } from '@kubecache/client';
import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';
import { request } from 'undici';
import type { FixtureKind } from './fixtures.ts';
import { kubeConfigFor } from './source.ts';

/** The implementations compared. */
export type Impl = 'kubecache' | 'client-node' | 'floor';

/** The Accept header of metadata-only lists and watches. */
export const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/** What to sync. */
export interface SyncRequest {
  url: string;
  resource: FixtureKind;
  /** Objects the server holds; the sync is complete when all are cached. */
  count: number;
  /** Cache PartialObjectMetadata instead of full objects. */
  metadataOnly?: boolean;
  /** Drop `metadata.managedFields` before caching. */
  stripManagedFields?: boolean;
  /** kubecache only: intern repeated strings and share empty objects (`internStrings()`). */
  internStrings?: boolean;
  /**
   * Floor only: list in pages of this size (0/undefined: one request). Needed past ~500 MB of
   * JSON, which no single string can hold (V8's limit is 2^29 - 24 characters).
   */
  floorPageSize?: number;
}

/** A completed initial sync. */
export interface Synced {
  /** From start to "all objects cached". */
  elapsedMs: number;
  /** Objects in the cache. */
  size(): number;
  /** Stops the informer (the cache stays reachable through the returned handle). */
  stop(): Promise<void>;
}

/** What to watch. */
export interface WatchRequest extends SyncRequest {
  /** MODIFIED events the server streams after the list. */
  events: number;
  /** Handler registrations. */
  handlers: number;
}

/** A completed watch measurement. */
export interface Watched {
  /** From the first to the last handler delivery. */
  elapsedMs: number;
  /** Handler invocations counted (events x handlers). */
  deliveries: number;
}

/** One implementation. */
export interface Adapter {
  readonly impl: Impl;
  sync(req: SyncRequest): Promise<Synced>;
  watch(req: WatchRequest): Promise<Watched>;
}

/** Removes `metadata.managedFields` in place (it is the last field, so V8 keeps the fast shape). */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as { managedFields?: unknown } | undefined;
  if (meta && meta.managedFields !== undefined) delete meta.managedFields;
  return obj;
}

/** Longest a single sync or watch measurement may take before the run fails loudly. */
const MEASUREMENT_TIMEOUT_MS = 10 * 60_000;

/** A promise to resolve by hand, which rejects if nobody does within the measurement timeout. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(
    () => reject(new Error('measurement timed out (the cache never reached the expected count)')),
    MEASUREMENT_TIMEOUT_MS,
  );
  timer.unref();
  return {
    promise,
    resolve: (v) => {
      clearTimeout(timer);
      resolve(v);
    },
    reject: (e) => {
      clearTimeout(timer);
      reject(e);
    },
  };
}

/**
 * Counts handler deliveries; resolves when `target` deliveries have been seen, with the time
 * between the first and the last one.
 */
function deliveryCounter(target: number): {
  hit: () => void;
  done: Promise<Watched>;
} {
  const d = deferred<Watched>();
  let n = 0;
  let first = 0;
  return {
    hit() {
      if (n === 0) first = performance.now();
      if (++n === target) d.resolve({ elapsedMs: performance.now() - first, deliveries: n });
    },
    done: d.promise,
  };
}

// ---------------------------------------------------------------------------------------------
// floor

function keyOf(obj: KubeObject): string {
  const m = obj.metadata as { namespace?: string; name?: string };
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

async function floorList(req: SyncRequest, map: Map<string, KubeObject>): Promise<string> {
  let cont = '';
  for (;;) {
    const query = req.floorPageSize
      ? `?limit=${req.floorPageSize}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`
      : '';
    const res = await request(`${req.url}/api/v1/${req.resource}${query}`, {
      headers: { accept: req.metadataOnly ? METADATA_ACCEPT : 'application/json' },
    });
    const list = JSON.parse(await res.body.text()) as {
      metadata: { resourceVersion: string; continue?: string };
      items: KubeObject[];
    };
    const items = list.items;
    if (req.stripManagedFields) for (let i = 0; i < items.length; i++) stripManagedFields(items[i]);
    for (let i = 0; i < items.length; i++) map.set(keyOf(items[i]), items[i]);
    cont = list.metadata.continue ?? '';
    if (!cont) return list.metadata.resourceVersion;
  }
}

const floor: Adapter = {
  impl: 'floor',
  async sync(req) {
    const map = new Map<string, KubeObject>();
    const start = performance.now();
    await floorList(req, map);
    const elapsedMs = performance.now() - start;
    if (map.size !== req.count) throw new Error(`floor cached ${map.size} of ${req.count}`);
    return { elapsedMs, size: () => map.size, stop: async () => {} };
  },
  async watch(req) {
    const map = new Map<string, KubeObject>();
    const rv = await floorList(req, map);
    const handlers: ((obj: KubeObject) => void)[] = [];
    const counter = deliveryCounter(req.events * req.handlers);
    for (let h = 0; h < req.handlers; h++) handlers.push(() => counter.hit());
    const ac = new AbortController();
    const res = await request(
      `${req.url}/api/v1/${req.resource}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`,
      {
        headers: { accept: req.metadataOnly ? METADATA_ACCEPT : 'application/json' },
        signal: ac.signal,
      },
    );
    const decoder = new TextDecoder();
    let buffer = '';
    let seen = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let start = 0;
      let nl: number;
      while ((nl = buffer.indexOf('\n', start)) >= 0) {
        const event = JSON.parse(buffer.slice(start, nl)) as { type: string; object: KubeObject };
        start = nl + 1;
        const obj = event.object;
        if (req.stripManagedFields) stripManagedFields(obj);
        map.set(keyOf(obj), obj);
        for (let h = 0; h < handlers.length; h++) handlers[h](obj);
        seen++;
      }
      buffer = buffer.slice(start);
      if (seen >= req.events) break;
    }
    const result = await counter.done;
    ac.abort();
    res.body.destroy();
    return result;
  },
};

// ---------------------------------------------------------------------------------------------
// client-node

function clientNodeInformer(req: SyncRequest, kc: KubeConfig) {
  const path = `/api/v1/${req.resource}`;
  if (req.metadataOnly) {
    // client-node has no metadata-only informer; the closest a user can get is a hand-written
    // list function asking for PartialObjectMetadataList (its watch would still stream full
    // objects). Used only for the initial sync figures.
    return makeInformer<KubernetesObject>(kc, path, async () => {
      const res = await fetch(`${req.url}${path}`, { headers: { accept: METADATA_ACCEPT } });
      return JSON.parse(await res.text()) as { items: KubernetesObject[]; metadata: object };
    });
  }
  const api = kc.makeApiClient(CoreV1Api);
  const listFn =
    req.resource === 'pods'
      ? () => api.listPodForAllNamespaces()
      : () => api.listConfigMapForAllNamespaces();
  return makeInformer<KubernetesObject>(
    kc,
    path,
    listFn as () => Promise<{ items: KubernetesObject[] }>,
  );
}

const clientNode: Adapter = {
  impl: 'client-node',
  async sync(req) {
    const kc = kubeConfigFor(req.url);
    const informer = clientNodeInformer(req, kc);
    // client-node's ListWatch lists, then inserts every item synchronously (firing 'add' per
    // item), then opens the watch. 'connect' fires *before* the list, so the end of the initial
    // list is the count-th 'add'.
    const synced = deferred<number>();
    let adds = 0;
    informer.on('add', () => {
      if (++adds === req.count) synced.resolve(performance.now());
    });
    let stopped = false;
    informer.on('error', (err: unknown) => {
      // Aborting the watch on stop() surfaces as an error; only report real ones.
      if (stopped) return;
      // An error before the initial list completed means it never will (ListWatch stops).
      if (adds < req.count) synced.reject(new Error(`client-node informer: ${String(err)}`));
      else process.stderr.write(`client-node informer error: ${String(err)}\n`);
    });
    const start = performance.now();
    void informer.start();
    const end = await synced.promise;
    return {
      elapsedMs: end - start,
      size: () => informer.list().length,
      stop: () => {
        stopped = true;
        return informer.stop();
      },
    };
  },
  async watch(req) {
    const kc = kubeConfigFor(req.url);
    const informer = clientNodeInformer(req, kc);
    const counter = deliveryCounter(req.events * req.handlers);
    for (let h = 0; h < req.handlers; h++) informer.on('update', () => counter.hit());
    await informer.start();
    const result = await counter.done;
    await informer.stop();
    return result;
  },
};

// ---------------------------------------------------------------------------------------------
// kubecache: its informer over its lister-watcher, as a user would wire them.

function transformOf(req: SyncRequest): ((obj: KubeObject) => KubeObject) | undefined {
  if (!req.internStrings) return req.stripManagedFields ? kubecacheStripManagedFields : undefined;
  const intern = internStrings<KubeObject>();
  return req.stripManagedFields ? (obj) => intern(kubecacheStripManagedFields(obj)) : intern;
}

function kubecacheInformer(req: SyncRequest): SharedIndexInformer<KubeObject> {
  const listerWatcher = new KubeListerWatcher<KubeObject>(kubeConfigFor(req.url), {
    resource: { group: '', version: 'v1', resource: req.resource },
    metadataOnly: req.metadataOnly,
  });
  return new SharedIndexInformer<KubeObject>({
    listerWatcher,
    transform: transformOf(req),
  });
}

/** Resolves once `informer.hasSynced()` (checked on every turn of the event loop). */
function waitSynced(informer: SharedIndexInformer<KubeObject>): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (informer.hasSynced() ? resolve() : setImmediate(check));
    check();
  });
}

const kubecache: Adapter = {
  impl: 'kubecache',
  async sync(req) {
    const informer = kubecacheInformer(req);
    const ac = new AbortController();
    // One handler, as for client-node: synced = hasSynced() and every initial add delivered.
    const delivered = deferred<void>();
    let adds = 0;
    informer.addEventHandler({
      onAdd: () => {
        if (++adds === req.count) delivered.resolve();
      },
    });
    const start = performance.now();
    const running = informer.run(ac.signal);
    await delivered.promise;
    await waitSynced(informer);
    const elapsedMs = performance.now() - start;
    return {
      elapsedMs,
      size: () => informer.getStore().size,
      stop: async () => {
        ac.abort();
        await running;
      },
    };
  },
  async watch(req) {
    const informer = kubecacheInformer(req);
    const ac = new AbortController();
    const counter = deliveryCounter(req.events * req.handlers);
    for (let h = 0; h < req.handlers; h++) informer.addEventHandler({ onUpdate: counter.hit });
    const running = informer.run(ac.signal);
    const result = await counter.done;
    ac.abort();
    await running;
    return result;
  },
};

/**
 * The adapters, in the order runs interleave them.
 *
 * @example
 * ```ts
 * for (const adapter of adapters()) console.log(adapter.impl);
 * ```
 */
export function adapters(): Adapter[] {
  return [kubecache, clientNode, floor];
}

/**
 * The adapter of one implementation.
 *
 * @example
 * ```ts
 * const floorAdapter = adapterOf('floor');
 * ```
 */
export function adapterOf(impl: Impl): Adapter {
  return impl === 'kubecache' ? kubecache : impl === 'client-node' ? clientNode : floor;
}
