/**
 * The chaos scenario, shared by the chaos test (`chaos.test.ts`) and the soak run (`soak.ts`):
 * one implementation, two durations.
 *
 * A writer creates, updates and deletes ConfigMaps over many keys in several namespaces while
 * the client's connections are abused, either by the embedded API server's fault injection
 * (`mode: 'server'`: cut and broken watches, 410 through compaction, ERROR events, bursts of 429
 * and 500, a 403 window, latency, pauses, restarts) or by a TCP proxy that cuts every connection
 * after a short random lifetime (`mode: 'proxy'`: real half-closes and resets). Throughout, three
 * informers (full, label-selected, metadata-only) feed handlers (slow, throwing, async) and a
 * controller whose reconciler records what the lister showed it. When the writer stops, the run
 * measures how long each view takes to equal the server and reports what still differs.
 *
 * The writer uses the server's in-process store: every write still goes through the server's
 * storage and watch fan-out (real watch events on the wire), its resourceVersion is known
 * exactly, and no write is ever ambiguous, so "reconciled after its last change" is checkable;
 * HTTP writes would also be subject to the injected faults and could not reach 10,000 in the
 * time budget on a shared 2-core machine.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildKubeConfig, startApiServer } from '@kubecache/apiserver';
import type { ApiServer } from '@kubecache/apiserver';
import {
  DeletedFinalStateUnknown,
  ReflectorError,
  metaNamespaceKeyFunc,
  seededRandom,
  type HandlerRegistration,
  type KubeObject,
  type ResourceEventHandler,
  type SharedIndexInformer,
} from '@kubecache/cache';
import { SharedInformerFactory, type ResourceRef } from '@kubecache/client';
import { Controller } from '@kubecache/workqueue';
import { KubeConfig } from '@kubernetes/client-node';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  readonly seed: number;
  /** `server`: the API server injects faults; `proxy`: a TCP proxy cuts every connection. */
  readonly mode: 'server' | 'proxy';
  /** Writes at least this many (default 10,000)… */
  readonly minWrites?: number;
  /** …and for at least this long, ms (default 0). */
  readonly minWriterMs?: number;
  /** Target write rate, writes/s (default 1,000). */
  readonly writeRate?: number;
  /** Distinct keys (default 1,200). */
  readonly keys?: number;
  /** Namespaces the keys are spread over (default 4). */
  readonly namespaces?: number;
  /** Proxy mode: mean connection lifetime, ms (default 300). */
  readonly proxyMeanLifeMs?: number;
  /** Serve HTTPS (default: true in proxy mode, false in server mode). */
  readonly tls?: boolean;
  /** Give up waiting for convergence after this long, ms (default 20,000). */
  readonly convergeTimeoutMs?: number;
  /**
   * After convergence, stay idle this long (cuts and bookmarks go on), then make one change and
   * measure how long each informer takes to see it (default 0: no probe). Under frequent cuts an
   * idle watch makes no progress, so its reconnect backoff grows while nothing happens.
   */
  readonly idleProbeMs?: number;
  /** Progress lines; default none. */
  readonly log?: (line: string) => void;
  /** Also log every injected fault and every informer failure, with its time (needs `log`). */
  readonly trace?: boolean;
}

/** Differences between a view and what it should hold (key → resourceVersion). */
export interface Diff {
  /** Keys it should have and lacks. */
  missing: number;
  /** Keys it has and should not. */
  phantom: number;
  /** Keys it has with another resourceVersion. */
  stale: number;
}

/** One view (an informer's cache, or a handler's view rebuilt from its events). */
export interface ViewReport extends Diff {
  readonly name: string;
  /** Keys in the view at the end. */
  size: number;
  /** ms after the writer stopped when the view first matched (undefined: never). */
  convergedMs: number | undefined;
}

/** An informer's cache. */
export interface InformerReport extends ViewReport {
  /** Cached objects that carry `data` (none in a metadata-only cache, all in the others). */
  withData: number;
  /** Idle probe: ms until the informer saw the change made after the idle period. */
  idleProbeSeenMs?: number | undefined;
}

/** A handler's view. */
export interface HandlerReport extends ViewReport {
  /** Notifications received. */
  events: number;
  /** Deletes delivered as DeletedFinalStateUnknown. */
  tombstones: number;
  /** Out-of-order notifications: add of a known key, update of an unknown key or from another RV than last seen, delete of an unknown key. */
  anomalies: number;
  /** Throws (or rejections) of this handler. */
  thrown: number;
  /** Notifications still buffered at the end. */
  pending: number;
}

/** Result of {@link runChaos}. */
export interface ChaosReport {
  readonly seed: number;
  readonly mode: 'server' | 'proxy';
  writes: { creates: number; updates: number; deletes: number; total: number };
  keysTouched: number;
  writerMs: number;
  /** Faults injected, by kind (server mode), or connections cut by the proxy (proxy mode). */
  faults: Record<string, number>;
  /** Failures the informers reported, by stage (`handler` for handler errors). */
  clientErrors: Record<string, number>;
  informers: InformerReport[];
  handlers: HandlerReport[];
  reconciler: {
    reconciles: number;
    failures: number;
    /** Touched keys whose last reconcile predates their last change (or that never reconciled). */
    unreconciled: number;
    /** A reconcile saw an older resourceVersion of a key than an earlier reconcile did. */
    regressions: number;
    /** A few unreconciled keys with what the writer, the cache and the reconciler last saw. */
    samples: string[];
    /** Keys waiting in the work queue, and being processed, at the end. */
    queued: number;
    processing: number;
    convergedMs: number | undefined;
  };
  /** The idle probe's idle period, ms (0: no probe). */
  idleProbeMs: number;
  /** Every view converged before the deadline. */
  converged: boolean;
  /** ms from the writer's stop until every view matched. */
  allConvergedMs: number | undefined;
  /** Registrations still busy (not drained) 5 s after convergence. */
  stuckHandlers: string[];
  unhandledRejections: string[];
  /** Heap after convergence and a full GC, informers still running, MB. */
  heapUsedMb: number;
  /** Largest heap sampled while the writer ran, MB. */
  peakHeapUsedMb: number;
  wallMs: number;
}

const CM = { apiVersion: 'v1', kind: 'ConfigMap' } as const;
const LABEL_SELECTOR = 'tier=gold';
/** ConfigMaps as plain KubeObjects: the checks need only metadata. */
const CONFIGMAPS: ResourceRef = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A full GC, also without `--expose-gc` (the test runner does not pass it). */
function collectGarbage(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

function diff(expected: ReadonlyMap<string, string>, actual: ReadonlyMap<string, string>): Diff {
  const d: Diff = { missing: 0, phantom: 0, stale: 0 };
  for (const [key, rv] of expected) {
    const got = actual.get(key);
    if (got === undefined) d.missing++;
    else if (got !== rv) d.stale++;
  }
  for (const key of actual.keys()) if (!expected.has(key)) d.phantom++;
  return d;
}

const clean = (d: Diff): boolean => d.missing === 0 && d.phantom === 0 && d.stale === 0;

function rvOf(obj: KubeObject | undefined): string {
  return obj?.metadata?.resourceVersion ?? '';
}

function rvMap(objects: readonly KubeObject[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of objects) m.set(metaNamespaceKeyFunc(o), rvOf(o));
  return m;
}

/** A handler's view of its informer, rebuilt from the notifications it got. */
class View {
  readonly keys = new Map<string, string>();
  /** Per key, the newest resourceVersion any notification carried (deletes included). */
  readonly newest = new Map<string, number>();
  events = 0;
  tombstones = 0;
  anomalies = 0;
  thrown = 0;

  #saw(key: string, obj: KubeObject | undefined): void {
    const rv = Number(rvOf(obj));
    if (rv > (this.newest.get(key) ?? 0)) this.newest.set(key, rv);
  }

  add(obj: KubeObject): void {
    this.events++;
    const key = metaNamespaceKeyFunc(obj);
    if (this.keys.has(key)) this.anomalies++;
    this.keys.set(key, rvOf(obj));
    this.#saw(key, obj);
  }

  update(oldObj: KubeObject, newObj: KubeObject): void {
    this.events++;
    const key = metaNamespaceKeyFunc(newObj);
    if (this.keys.get(key) !== rvOf(oldObj)) this.anomalies++;
    this.keys.set(key, rvOf(newObj));
    this.#saw(key, newObj);
  }

  delete(obj: KubeObject | DeletedFinalStateUnknown<KubeObject>): void {
    this.events++;
    let key: string;
    if (obj instanceof DeletedFinalStateUnknown) {
      this.tombstones++;
      key = obj.key;
      this.#saw(key, obj.obj);
    } else {
      key = metaNamespaceKeyFunc(obj);
      this.#saw(key, obj);
    }
    if (!this.keys.delete(key)) this.anomalies++;
  }
}

type HandlerKind = 'slow' | 'throwing' | 'async';

/** The three handler behaviours the issue asks for, each rebuilding a {@link View}. */
function makeHandler(
  kind: HandlerKind,
  view: View,
  random: () => number,
): ResourceEventHandler<KubeObject> {
  switch (kind) {
    case 'slow': {
      // Waits a little on about one event in four, so its buffer backs up and gets compacted.
      const pause = async (): Promise<void> => {
        if (random() < 0.25) await sleep(1);
        else await new Promise<void>((r) => setImmediate(r));
      };
      return {
        onAdd: async (obj) => {
          await pause();
          view.add(obj);
        },
        onUpdate: async (oldObj, newObj) => {
          await pause();
          view.update(oldObj, newObj);
        },
        onDelete: async (obj) => {
          await pause();
          view.delete(obj);
        },
      };
    }
    case 'throwing': {
      // Records the event, then fails now and then: a buggy side effect after the bookkeeping.
      const maybeThrow = (): void => {
        if (random() < 0.02) {
          view.thrown++;
          throw new Error('chaos: handler failure');
        }
      };
      return {
        onAdd: (obj) => {
          view.add(obj);
          maybeThrow();
        },
        onUpdate: (oldObj, newObj) => {
          view.update(oldObj, newObj);
          maybeThrow();
        },
        onDelete: (obj) => {
          view.delete(obj);
          maybeThrow();
        },
      };
    }
    case 'async':
      return {
        onAdd: async (obj) => {
          await null;
          view.add(obj);
        },
        onUpdate: async (oldObj, newObj) => {
          await null;
          view.update(oldObj, newObj);
        },
        onDelete: async (obj) => {
          await null;
          view.delete(obj);
        },
      };
  }
}

/** What the writer knows of one key. */
interface KeyState {
  readonly namespace: string;
  readonly name: string;
  exists: boolean;
  gold: boolean;
  /** resourceVersion of the key's last change: its create/update, or the server's RV right after its delete. */
  lastRv: number;
  touched: boolean;
}

/** What the reconciler saw last for one key. */
interface Reconciled {
  /** The object's resourceVersion, or undefined when the lister had no such object. */
  readonly rv: number | undefined;
  /** The cache's last synced resourceVersion when it looked. */
  readonly cacheRv: number;
}

/** The writer: paced creates/updates/deletes through the server's in-process store. */
class Writer {
  readonly keys: KeyState[] = [];
  creates = 0;
  updates = 0;
  deletes = 0;
  #serial = 0;
  readonly #server: ApiServer;
  readonly #random: () => number;

  constructor(server: ApiServer, random: () => number, keys: number, namespaces: number) {
    this.#server = server;
    this.#random = random;
    for (let i = 0; i < keys; i++) {
      this.keys.push({
        namespace: `chaos-${i % namespaces}`,
        name: `cm-${i}`,
        exists: false,
        gold: false,
        lastRv: 0,
        touched: false,
      });
    }
  }

  get total(): number {
    return this.creates + this.updates + this.deletes;
  }

  #body(k: KeyState): KubeObject {
    return {
      ...CM,
      metadata: {
        namespace: k.namespace,
        name: k.name,
        labels: { app: 'chaos', tier: k.gold ? 'gold' : 'silver' },
      },
      data: { serial: String(++this.#serial) },
    } as KubeObject;
  }

  /** One write on a random key: create when absent; else update (3 in 4) or delete. */
  step(): void {
    const r = this.#random;
    const k = this.keys[Math.floor(r() * this.keys.length)]!;
    k.touched = true;
    if (!k.exists) {
      k.gold = r() < 0.5;
      k.lastRv = Number(rvOf(this.#server.create(this.#body(k))));
      k.exists = true;
      this.creates++;
      return;
    }
    const u = r();
    if (u < 0.25) {
      this.#server.delete({ ...CM, namespace: k.namespace, name: k.name });
      // The in-process store is synchronous: the server's RV now is the delete's.
      k.lastRv = Number(this.#server.resourceVersion());
      k.exists = false;
      this.deletes++;
      return;
    }
    // A third of the updates move the object in or out of the label selection.
    if (r() < 0.3) k.gold = !k.gold;
    let written: KubeObject;
    if (u < 0.6) {
      written = this.#server.update(this.#body(k));
    } else {
      written = this.#server.patch(
        { ...CM, namespace: k.namespace, name: k.name },
        {
          metadata: { labels: { tier: k.gold ? 'gold' : 'silver' } },
          data: { serial: String(++this.#serial) },
        },
      );
    }
    k.lastRv = Number(rvOf(written));
    this.updates++;
  }

  /**
   * One update that every informer sees: a gold object stays gold, so the label-selected watch
   * gets it too (it is created gold if no gold one exists). Returns its resourceVersion.
   */
  probe(): string {
    let k = this.keys.find((key) => key.exists && key.gold);
    if (k === undefined) {
      k = this.keys.find((key) => !key.exists)!;
      k.gold = true;
      k.exists = true;
      k.touched = true;
      k.lastRv = Number(rvOf(this.#server.create(this.#body(k))));
      this.creates++;
    } else {
      k.lastRv = Number(rvOf(this.#server.update(this.#body(k))));
      this.updates++;
    }
    return String(k.lastRv);
  }

  /** Writes at `rate`/s until `minWrites` and `minMs` are both reached (or `signal` aborts). */
  async run(rate: number, minWrites: number, minMs: number, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    let done = 0;
    while (!signal.aborted) {
      const elapsed = performance.now() - started;
      if (done >= minWrites && elapsed >= minMs) return;
      // Catch up with the schedule in bounded batches, so watches see a steady stream.
      const due = Math.min(200, Math.floor((elapsed / 1000) * rate) - done);
      for (let i = 0; i < due; i++) this.step();
      done += Math.max(0, due);
      await sleep(5);
    }
  }
}

type FaultKind =
  | 'break-watches'
  | 'cut-after-events'
  | 'cut-after-bytes'
  | 'close-watches'
  | 'compact-410'
  | 'watch-error'
  | 'burst-429'
  | 'burst-500'
  | 'window-403'
  | 'latency'
  | 'pause'
  | 'restart';

/** Every kind of server fault; each run injects each at least once. */
export const FAULT_KINDS: readonly FaultKind[] = [
  'break-watches',
  'cut-after-events',
  'cut-after-bytes',
  'close-watches',
  'compact-410',
  'watch-error',
  'burst-429',
  'burst-500',
  'window-403',
  'latency',
  'pause',
  'restart',
];

/** Injects random server faults on a seeded schedule until stopped; every kind at least once. */
class FaultSchedule {
  readonly counts: Record<string, number> = {};
  readonly #server: ApiServer;
  readonly #random: () => number;
  readonly #onFault: (kind: FaultKind) => void;
  #latencyUntil = 0;

  constructor(server: ApiServer, random: () => number, onFault: (kind: FaultKind) => void) {
    this.#server = server;
    this.#random = random;
    this.#onFault = onFault;
  }

  #int(min: number, max: number): number {
    return min + Math.floor(this.#random() * (max - min + 1));
  }

  async run(signal: AbortSignal): Promise<void> {
    // A seeded shuffle of every kind first, so even a short run covers them all; then random.
    const first = [...FAULT_KINDS];
    for (let i = first.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [first[i], first[j]] = [first[j]!, first[i]!];
    }
    while (!signal.aborted) {
      await sleep(this.#int(150, 600));
      if (signal.aborted) break;
      const kind = first.shift() ?? FAULT_KINDS[Math.floor(this.#random() * FAULT_KINDS.length)]!;
      this.counts[kind] = (this.counts[kind] ?? 0) + 1;
      this.#onFault(kind);
      await this.#inject(kind);
      if (this.#latencyUntil !== 0 && performance.now() >= this.#latencyUntil) {
        this.#server.faults.setLatency(0);
        this.#latencyUntil = 0;
      }
    }
  }

  async #inject(kind: FaultKind): Promise<void> {
    const faults = this.#server.faults;
    switch (kind) {
      case 'break-watches':
        faults.breakWatches();
        break;
      case 'cut-after-events':
        faults.cutAfterEvents(this.#int(1, 50), { times: this.#int(1, 3) });
        break;
      case 'cut-after-bytes':
        faults.cutAfterBytes(this.#int(100, 8000), { times: this.#int(1, 3) });
        break;
      case 'close-watches':
        faults.closeWatches();
        break;
      case 'compact-410':
        // Resuming watches now get 410 Gone; cutting them too forces the resume at once.
        faults.compactHistory();
        if (this.#random() < 0.5) faults.breakWatches();
        break;
      case 'watch-error':
        faults.injectWatchError(this.#random() < 0.5 ? 500 : 410);
        break;
      case 'burst-429':
        this.#window(429, this.#int(100, 500), { retryAfterSeconds: 1 });
        break;
      case 'burst-500':
        this.#window(500, this.#int(100, 500));
        break;
      case 'window-403':
        this.#window(403, this.#int(300, 1500));
        break;
      case 'latency':
        faults.setLatency(this.#int(10, 150));
        this.#latencyUntil = performance.now() + this.#int(300, 1500);
        break;
      case 'pause':
        await faults.pause();
        await sleep(this.#int(100, 1200));
        await faults.resume();
        break;
      case 'restart':
        await faults.restart();
        break;
    }
  }

  /**
   * Every GET fails with `status` for `ms` (at most 20 of them): a burst is a period of
   * trouble, not a number of failures lying in wait for the informers' next attempts.
   */
  #window(status: number, ms: number, extra: { retryAfterSeconds?: number } = {}): void {
    const until = performance.now() + ms;
    this.#server.faults.failNext({
      count: 20,
      status,
      method: 'GET',
      predicate: () => performance.now() < until,
      ...extra,
    });
  }

  /** Ends every fault still in force. */
  clear(): void {
    this.#server.faults.reset();
  }
}

/** Runs the scenario once (see the module comment) and reports what it measured. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const wallStart = performance.now();
  const seed = options.seed >>> 0;
  const mode = options.mode;
  const log = options.log ?? ((): void => {});
  const elapsed = (): number => Math.round(performance.now() - wallStart);
  const trace =
    options.trace === true ? (line: string): void => log(`${elapsed()} ms ${line}`) : undefined;
  const keys = options.keys ?? 1200;
  const namespaces = options.namespaces ?? 4;
  const writeRate = options.writeRate ?? 1000;
  const minWrites = options.minWrites ?? 10_000;
  const convergeTimeoutMs = options.convergeTimeoutMs ?? 20_000;
  const tls = options.tls ?? mode === 'proxy';
  // Independent streams per concern, so adding a draw in one does not shift the others.
  const stream = (n: number): (() => number) => seededRandom((seed + n * 0x9e3779b9) >>> 0);

  const unhandled: string[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason instanceof Error ? (reason.stack ?? reason.message) : String(reason));
  };
  process.on('unhandledRejection', onUnhandled);

  const server = await startApiServer({
    tls,
    bookmarkIntervalMs: 1000,
    tooLargeResourceVersionWaitMs: 500,
    // A watch cache's worth of history, so a long soak keeps the server's memory flat.
    historySize: 20_000,
  });
  let proxy: TcpProxy | undefined;
  const stop = new AbortController();
  const factoryStop = new AbortController();
  let controllerRun: Promise<void> | undefined;
  let factory: SharedInformerFactory | undefined;
  let report: ChaosReport;
  try {
    const writer = new Writer(server, stream(1), keys, namespaces);
    // Half the keys exist before the informers start: the initial list is paged and non-trivial.
    while (writer.total < keys / 2) writer.step();

    let url = server.url;
    if (mode === 'proxy') {
      proxy = await startTcpProxy({
        targetHost: '127.0.0.1',
        targetPort: server.port,
        meanLifeMs: options.proxyMeanLifeMs ?? 300,
        random: stream(2),
      });
      url = `${tls ? 'https' : 'http'}://127.0.0.1:${proxy.port}`;
    }
    const kc = new KubeConfig();
    kc.loadFromString(buildKubeConfig({ url, caPem: server.caPem, token: server.token }).yaml);

    const clientErrors: Record<string, number> = {};
    factory = new SharedInformerFactory(kc, {
      reflector: { random: stream(3) },
      onError: (err, ctx) => {
        const stage = err instanceof ReflectorError ? err.stage : ctx.source;
        clientErrors[stage] = (clientErrors[stage] ?? 0) + 1;
        if (stage !== 'handler') trace?.(`${stage}: ${String(err).slice(0, 200)}`);
      },
    });
    const informers: {
      name: string;
      informer: SharedIndexInformer<KubeObject>;
      selector?: string;
    }[] = [
      { name: 'full', informer: factory.informerFor<KubeObject>(CONFIGMAPS) },
      {
        name: 'label',
        informer: factory.informerFor<KubeObject>(CONFIGMAPS, { labelSelector: LABEL_SELECTOR }),
        selector: LABEL_SELECTOR,
      },
      { name: 'metadata', informer: factory.metadataFor(CONFIGMAPS).informer() },
    ];

    const handlers: { name: string; informer: number; view: View; reg: HandlerRegistration }[] = [];
    informers.forEach((inf, i) => {
      for (const kind of ['slow', 'throwing', 'async'] as const) {
        const view = new View();
        const name = `${inf.name}/${kind}`;
        // One stream per handler: its draws do not depend on how deliveries interleave.
        const random = stream(10 + handlers.length);
        const reg = inf.informer.addEventHandler(makeHandler(kind, view, random), {
          name,
          // A small buffer makes the slow handler's backlog compact per key under load.
          ...(kind === 'slow' ? { bufferCapacity: 256 } : {}),
        });
        handlers.push({ name, informer: i, view, reg });
      }
    });

    const full = informers[0]!.informer;
    const lister = factory.listerFor<KubeObject>(CONFIGMAPS);
    const reconciled = new Map<string, Reconciled>();
    const reconcileRandom = stream(4);
    let reconciles = 0;
    let reconcileFailures = 0;
    let regressions = 0;
    const controller = new Controller({
      name: 'chaos',
      workers: 4,
      onError: () => {},
      reconcile: async ({ key, namespace, name }) => {
        // Some I/O now and then, and a failure now and then (retried by the queue).
        if (reconcileRandom() < 0.1) await sleep(1);
        if (reconcileRandom() < 0.01) {
          reconcileFailures++;
          throw new Error('chaos: reconcile failure');
        }
        reconciles++;
        const obj = lister.namespace(namespace).tryGet(name);
        const rv = obj === undefined ? undefined : Number(rvOf(obj));
        const prev = reconciled.get(key);
        if (rv !== undefined && prev?.rv !== undefined && rv < prev.rv) regressions++;
        reconciled.set(key, { rv, cacheRv: Number(full.lastSyncResourceVersion()) });
      },
    }).for(full);

    factory.start(factoryStop.signal);
    controllerRun = controller.run(stop.signal);
    const syncDeadline = AbortSignal.timeout(60_000);
    const synced = await factory.waitForCacheSync(syncDeadline);
    if (!Object.values(synced).every(Boolean)) {
      throw new Error(`chaos seed ${seed}: informers did not sync: ${JSON.stringify(synced)}`);
    }
    log(`synced after ${elapsed()} ms`);

    // Writer and faults run together; faults stop when the writer does.
    const faultStop = new AbortController();
    const schedule =
      mode === 'server'
        ? new FaultSchedule(server, stream(6), (kind) => trace?.(`fault ${kind}`))
        : undefined;
    const faultRun = schedule?.run(faultStop.signal) ?? Promise.resolve();
    let peakHeap = process.memoryUsage().heapUsed;
    const heapSampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 250);
    const progress = setInterval(() => {
      const heap = mb(process.memoryUsage().heapUsed);
      const faults = JSON.stringify(schedule?.counts ?? proxy?.stats);
      log(`${elapsed()} ms: ${writer.total} writes, heap ${heap} MB, faults ${faults}`);
    }, 10_000);
    const writerStart = performance.now();
    try {
      await writer.run(writeRate, minWrites, options.minWriterMs ?? 0, stop.signal);
    } finally {
      clearInterval(heapSampler);
      clearInterval(progress);
      faultStop.abort();
      await faultRun;
      schedule?.clear();
    }
    const writerMs = performance.now() - writerStart;
    const stoppedAt = performance.now();
    log(`writer stopped after ${writer.total} writes in ${Math.round(writerMs)} ms`);

    // Poll until every view matches, noting when each first did.
    const informerConverged: (number | undefined)[] = informers.map(() => undefined);
    const handlerConverged: (number | undefined)[] = handlers.map(() => undefined);
    let reconcilerConverged: number | undefined;
    let allConverged: number | undefined;
    let informerDiffs: Diff[] = [];
    let handlerDiffs: Diff[] = [];
    let unreconciled = 0;
    let samples: string[] = [];
    // What the controller's informer delivered, per key (any of its handlers sees the same).
    const informerSaw = handlers.find((h) => h.name === 'full/throwing')!.view.newest;
    const measure = (): boolean => {
      const now = performance.now() - stoppedAt;
      const truthAll = server.list<KubeObject>({ ...CM });
      const truthLabel = server.list<KubeObject>({ ...CM, labelSelector: LABEL_SELECTOR });
      const truthMap = rvMap(truthAll);
      const labelMap = rvMap(truthLabel);
      const caches = informers.map((inf) => rvMap(inf.informer.getStore().list()));
      informerDiffs = informers.map((inf, i) =>
        diff(inf.selector === undefined ? truthMap : labelMap, caches[i]!),
      );
      informerDiffs.forEach((d, i) => {
        if (clean(d)) informerConverged[i] ??= now;
      });
      handlerDiffs = handlers.map((h) => diff(caches[h.informer]!, h.view.keys));
      handlerDiffs.forEach((d, i) => {
        const h = handlers[i]!;
        if (clean(d) && h.reg.pending === 0 && clean(informerDiffs[h.informer]!)) {
          handlerConverged[i] ??= now;
        }
      });
      unreconciled = 0;
      samples = [];
      for (const k of writer.keys) {
        if (!k.touched) continue;
        const key = `${k.namespace}/${k.name}`;
        const seen = reconciled.get(key);
        // A deleted key must have been reconciled as absent after the newest state the
        // informer ever showed of it (its DELETED event, or a tombstone's last state). An
        // incarnation created and deleted while the informer was relisting is invisible to it
        // and needs no reconcile: level-triggered, the controller's last view (absent) is right.
        const newestSeen = informerSaw.get(key);
        const ok = k.exists
          ? seen?.rv !== undefined && seen.rv >= k.lastRv
          : newestSeen === undefined ||
            (seen !== undefined && seen.rv === undefined && seen.cacheRv >= newestSeen);
        if (!ok && ++unreconciled <= 5) {
          samples.push(
            `${key}: written rv ${k.lastRv} (${k.exists ? 'exists' : 'deleted'}), informer saw rv ${informerSaw.get(key) ?? 'none'}, cached rv ${caches[0]!.get(key) ?? 'none'}, reconciled ${seen === undefined ? 'never' : `rv ${seen.rv ?? 'absent'} at cache rv ${seen.cacheRv}`}, queued ${controller.queue.isDirty(key)}`,
          );
        }
      }
      if (unreconciled === 0) reconcilerConverged ??= now;
      const all =
        informerDiffs.every(clean) &&
        handlerDiffs.every(clean) &&
        handlers.every((h) => h.reg.pending === 0) &&
        unreconciled === 0;
      if (all) allConverged ??= now;
      return all;
    };
    while (!measure() && performance.now() - stoppedAt < convergeTimeoutMs) await sleep(20);
    log(
      allConverged === undefined
        ? `not converged after ${convergeTimeoutMs} ms`
        : `converged ${Math.round(allConverged)} ms after the writer stopped`,
    );

    // No stuck handler: every registration drains (nothing pending, nothing in flight).
    const stuckHandlers: string[] = [];
    await Promise.all(
      handlers.map(async (h) => {
        const drained = await Promise.race([
          h.reg.drained().then(() => true),
          sleep(5000).then(() => false),
        ]);
        if (!drained || h.reg.pending !== 0) stuckHandlers.push(h.name);
      }),
    );

    collectGarbage();
    const heapUsed = process.memoryUsage().heapUsed;

    const idleProbeMs = options.idleProbeMs ?? 0;
    const faults: Record<string, number> = { ...schedule?.counts };
    if (proxy !== undefined) {
      faults['proxy-connections'] = proxy.stats.connections;
      faults['proxy-half-closes'] = proxy.stats.halfCloses;
      faults['proxy-resets'] = proxy.stats.resets;
    }
    report = {
      seed,
      mode,
      writes: {
        creates: writer.creates,
        updates: writer.updates,
        deletes: writer.deletes,
        total: writer.total,
      },
      keysTouched: writer.keys.filter((k) => k.touched).length,
      writerMs: Math.round(writerMs),
      faults,
      clientErrors,
      informers: informers.map((inf, i) => {
        const cached = inf.informer.getStore().list();
        return {
          name: inf.name,
          ...informerDiffs[i]!,
          size: cached.length,
          convergedMs: roundOrUndefined(informerConverged[i]),
          withData: cached.filter((o) => (o as { data?: unknown }).data !== undefined).length,
        };
      }),
      handlers: handlers.map((h, i) => ({
        name: h.name,
        ...handlerDiffs[i]!,
        size: h.view.keys.size,
        convergedMs: roundOrUndefined(handlerConverged[i]),
        events: h.view.events,
        tombstones: h.view.tombstones,
        anomalies: h.view.anomalies,
        thrown: h.view.thrown,
        pending: h.reg.pending,
      })),
      reconciler: {
        reconciles,
        failures: reconcileFailures,
        unreconciled,
        regressions,
        samples,
        queued: controller.queue.len(),
        processing: controller.queue.processingCount(),
        convergedMs: roundOrUndefined(reconcilerConverged),
      },
      idleProbeMs,
      converged: allConverged !== undefined,
      allConvergedMs: roundOrUndefined(allConverged),
      stuckHandlers,
      unhandledRejections: unhandled,
      heapUsedMb: mb(heapUsed),
      peakHeapUsedMb: mb(peakHeap),
      wallMs: 0,
    };
    // The idle probe: one change after a quiet period, timed per informer.
    if (idleProbeMs > 0 && allConverged !== undefined) {
      await sleep(idleProbeMs);
      const rv = writer.probe();
      const at = performance.now();
      await Promise.all(
        informers.map(async (inf, i) => {
          if (await inf.informer.waitForResourceVersion(rv, AbortSignal.timeout(60_000))) {
            report.informers[i]!.idleProbeSeenMs = Math.round(performance.now() - at);
          }
        }),
      );
      log(
        `idle probe after ${idleProbeMs} ms: seen in ${report.informers.map((v) => v.idleProbeSeenMs ?? 'never').join(', ')} ms`,
      );
    }
  } finally {
    stop.abort();
    await controllerRun?.catch(() => {});
    factoryStop.abort();
    // A handler that never settles must not hang the run: the stuck check above reports it.
    await factory?.shutdown({ signal: AbortSignal.timeout(5000) });
    await proxy?.close();
    await server.close();
    process.off('unhandledRejection', onUnhandled);
  }
  report.wallMs = Math.round(performance.now() - wallStart);
  return report;
}

/** Default bound of {@link healthProblems}' heap check, MB. */
export const HEAP_LIMIT_MB = 200;

/**
 * Everything the chaos suite requires of a run, as a list of what went wrong (empty when the
 * run is healthy). `heapLimitMb` bounds the heap after GC, informers still running: the run
 * holds ~1,000 objects in three caches and a bounded server history; leaked buffers, watches or
 * listeners grow far beyond it.
 */
export function healthProblems(r: ChaosReport, heapLimitMb = HEAP_LIMIT_MB): string[] {
  const p: string[] = [];
  const d = (v: Diff): string => `missing ${v.missing}, phantom ${v.phantom}, stale ${v.stale}`;
  const clientFailures = Object.entries(r.clientErrors)
    .filter(([stage]) => stage !== 'handler')
    .reduce((n, [, count]) => n + count, 0);
  if (clientFailures === 0) p.push('the faults never reached the informers');
  if (!r.converged) p.push('the views did not all converge before the deadline');
  for (const v of r.informers) {
    if (!clean(v)) p.push(`informer ${v.name} differs from the server: ${d(v)}`);
  }
  const [full, label, metadata] = r.informers;
  if (full === undefined || label === undefined || metadata === undefined) {
    p.push('an informer is missing from the report');
  } else {
    if (label.size === 0 || label.size >= full.size) {
      p.push(`the label selection (${label.size}) is not a proper subset of ${full.size}`);
    }
    if (full.withData !== full.size || label.withData !== label.size) {
      p.push('a full informer cached objects without their data');
    }
    if (metadata.withData !== 0) p.push('the metadata-only informer cached full objects');
  }
  for (const h of r.handlers) {
    if (!clean(h)) p.push(`handler ${h.name}'s view differs from its informer: ${d(h)}`);
    if (h.anomalies !== 0)
      p.push(`handler ${h.name} got ${h.anomalies} notifications out of order`);
    if (h.pending !== 0) p.push(`handler ${h.name} still has ${h.pending} notifications buffered`);
    if (h.name.endsWith('/throwing') && h.thrown === 0) p.push(`handler ${h.name} never threw`);
  }
  const thrown = r.handlers.reduce((n, h) => n + h.thrown, 0);
  if ((r.clientErrors['handler'] ?? 0) !== thrown) {
    p.push(`handlers threw ${thrown} times, the error hook saw ${r.clientErrors['handler'] ?? 0}`);
  }
  const c = r.reconciler;
  if (c.unreconciled !== 0) p.push(`${c.unreconciled} keys not reconciled after their last change`);
  if (c.regressions !== 0) p.push(`${c.regressions} reconciles saw an older resourceVersion`);
  if (c.failures === 0) p.push('no reconcile failed (so none was retried)');
  if (r.stuckHandlers.length !== 0) p.push(`stuck handlers: ${r.stuckHandlers.join(', ')}`);
  if (r.unhandledRejections.length !== 0) {
    p.push(`unhandled rejections: ${r.unhandledRejections.join(' | ')}`);
  }
  if (r.heapUsedMb >= heapLimitMb) p.push(`heap ${r.heapUsedMb} MB >= ${heapLimitMb} MB`);
  return p;
}

function roundOrUndefined(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms);
}

/** The report as short lines (for `t.diagnostic` and the soak's output). */
export function formatReport(r: ChaosReport): string[] {
  const ms = (v: number | undefined): string => (v === undefined ? 'never' : `${v} ms`);
  const d = (v: Diff): string => `missing ${v.missing}, phantom ${v.phantom}, stale ${v.stale}`;
  const lines = [
    `seed ${r.seed} (CHAOS_SEED=${r.seed} to replay), mode ${r.mode}, wall ${r.wallMs} ms`,
    `writes ${r.writes.total} (creates ${r.writes.creates}, updates ${r.writes.updates}, deletes ${r.writes.deletes}) over ${r.keysTouched} keys in ${r.writerMs} ms`,
    `faults ${JSON.stringify(r.faults)}`,
    `client errors ${JSON.stringify(r.clientErrors)}`,
  ];
  for (const v of r.informers) {
    const probe =
      r.idleProbeMs > 0
        ? `; after ${r.idleProbeMs} ms idle saw a change in ${ms(v.idleProbeSeenMs)}`
        : '';
    lines.push(
      `informer ${v.name}: ${d(v)}; ${v.size} keys (${v.withData} with data); converged ${ms(v.convergedMs)}${probe}`,
    );
  }
  for (const h of r.handlers) {
    lines.push(
      `handler ${h.name}: ${d(h)}; ${h.events} events, ${h.tombstones} tombstones, ${h.anomalies} anomalies, ${h.thrown} thrown, ${h.pending} pending; converged ${ms(h.convergedMs)}`,
    );
  }
  const c = r.reconciler;
  lines.push(
    `reconciler: ${c.reconciles} reconciles, ${c.failures} failures, ${c.unreconciled} unreconciled keys, ${c.regressions} regressions, ${c.queued} queued, ${c.processing} processing; converged ${ms(c.convergedMs)}`,
    ...c.samples.map((s) => `  unreconciled ${s}`),
    `all views converged ${ms(r.allConvergedMs)} after the writer stopped`,
    `stuck handlers ${r.stuckHandlers.length}, unhandled rejections ${r.unhandledRejections.length}`,
    `heap ${r.heapUsedMb} MB after GC (peak ${r.peakHeapUsedMb} MB while writing)`,
  );
  return lines;
}
