// Replicas of a sharded controller against the embedded API server over real HTTP, on one shared
// FakeClock. Fake time moves only when the system is quiet: no Lease request in flight, every
// running replica's informer synced and equal to the server's objects of its shard, every event
// delivered to the controller, every free worker busy if keys wait. So each fake instant's work
// (HTTP included) finishes before time moves on, and the assertions never depend on real time.
import {
  FakeClock,
  seededRandom,
  silentLogger,
  sleep,
  type KubeObject,
  type Logger,
  type SharedIndexInformer,
  type ShardField,
  type ShardRange,
} from '@kubecache/cache';
import type { ApiServer } from '@kubecache/apiserver';
import { resources, SharedInformerFactory, type ConfigMap } from '@kubecache/client';
import {
  ShardCoordinator,
  type Shard,
  type ShardChange,
  type ShardCoordinatorOptions,
  type ShardLeaseApi,
} from '@kubecache/leaderelection';
import { Controller } from '@kubecache/workqueue';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { setup } from '../apiserver/helpers.ts';
import { advanceFakeTime, advanceFakeTimeUntil } from '../leaderelection/harness.ts';

/** Timings: 3 s lease, 2 s renew deadline, 0.5 s period. */
export const D = 3000;
export const R = 2000;
export const P = 500;
export const LEASE_NAMESPACE = 'default';
export const GROUP = 'cm-controller';
export const WORKERS = 4;
/** The longest reconcile (fake ms); a Controller drains for up to 950 ms (< D − R). */
export const MAX_RECONCILE_MS = 900;

/** One reconcile, by sequence number (a total order over every replica). */
export interface ReconcileEntry {
  readonly replica: string;
  readonly key: string;
  readonly start: number;
  readonly startAt: number;
  end: number | undefined;
  /** The resourceVersion the reconcile read from its cache, undefined when the object was absent. */
  readonly sawRv: string | undefined;
}

/** What one replica processed (its coordinator's `processing()`), from `from` to `to` (seq). */
export interface ProcessingInterval {
  readonly replica: string;
  readonly ranges: readonly ShardRange[];
  readonly from: number;
  readonly fromAt: number;
  to: number | undefined;
}

/** The server's state of one key, as the test wrote it. */
export interface KeyState {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  rv: string | undefined; // undefined once deleted
  /** Sequence number of its last change. */
  changedAt: number;
}

export interface RunningWork {
  readonly shard: Shard;
  readonly factory: SharedInformerFactory;
  readonly informer: SharedIndexInformer<ConfigMap>;
  readonly controller: Controller;
  readonly signal: AbortSignal;
}

export interface Replica {
  readonly identity: string;
  readonly coordinator: ShardCoordinator;
  readonly stop: AbortController;
  readonly warnings: string[];
  /** Claims it withdrew because another member claimed the same hashes. */
  readonly collisions: { count: number };
  /** Every work this replica ran, in order. */
  readonly works: RunningWork[];
  work: RunningWork | undefined;
  running: Promise<void> | undefined;
  /** Its Lease API calls fail (a network cut between it and the API server). */
  cutOff: boolean;
  /** Its Lease lists whose 0-based index is in here fail. */
  readonly failLists: Set<number>;
  /**
   * Its next `lists` Lease lists leave out these Leases: a view of the group that has not caught
   * up. Set it only for a tick's list (the protocol's check after a claim assumes a consistent
   * read, as a LIST without resourceVersion is).
   */
  stale: { lists: number; hide: readonly string[] };
  start(): void;
}

export interface ShardHarness {
  readonly server: ApiServer;
  readonly clock: FakeClock;
  readonly field: ShardField;
  readonly keys: Map<string, KeyState>;
  readonly log: ReconcileEntry[];
  readonly intervals: ProcessingInterval[];
  /** Reconciles of a key outside the replica's shard (must stay empty). */
  readonly violations: string[];
  readonly replicas: Replica[];
  /** Works stopped (range change, stop, loss) while reconciles were in flight: drains. */
  readonly stats: { drains: number };
  seq(): number;
  replica(identity: string, options?: Partial<ShardCoordinatorOptions>): Replica;
  /** Seeded writes: patches, creates and deletes of random keys. */
  mutate(count: number): void;
  settle(): Promise<void>;
  advance(ms: number): Promise<void>;
  advanceUntil(cond: () => boolean, limitMs: number, step?: number): Promise<number>;
  /** The object as the shard hashes it (by key, also for deleted keys). */
  hashable(key: string): KubeObject;
  close(): Promise<void>;
}

export interface ShardHarnessOptions {
  readonly mode: 'honour' | 'ignore';
  readonly field?: ShardField;
  readonly objects?: number;
  readonly namespaces?: number;
  readonly seed?: number;
}

const realTick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function collectingLogger(into: string[], collisions?: { count: number }): Logger {
  return {
    ...silentLogger,
    debug: (_fields, message) => {
      if (collisions !== undefined && message.includes('collided')) collisions.count++;
    },
    warn: (fields, message) => into.push(`${message} ${JSON.stringify(fields)}`),
    error: (fields, message) => into.push(`${message} ${JSON.stringify(fields)}`),
  };
}

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }): string =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export async function shardHarness(options: ShardHarnessOptions): Promise<ShardHarness> {
  const { server } = await setup({ shardSelector: options.mode, bookmarkIntervalMs: 0 });
  const clock = new FakeClock(1_000_000);
  const field = options.field ?? 'metadata.uid';
  const random = seededRandom(options.seed ?? 1);
  // Not `ns-${i}`: FNV-1a hashes names that differ only in their last two characters close together.
  const namespaces = Array.from({ length: options.namespaces ?? 20 }, (_, i) => `team-${i}-apps`);
  const keys = new Map<string, KeyState>();
  const log: ReconcileEntry[] = [];
  const intervals: ProcessingInterval[] = [];
  const violations: string[] = [];
  const replicas: Replica[] = [];
  const stats = { drains: 0 };
  let counter = 0;
  const seq = (): number => ++counter;
  let inFlight = 0;
  let writeGen = 0;
  let nextName = 0;
  /** Informers verified equal to the server's shard at a write generation. */
  const verified = new WeakMap<object, number>();

  const record = (obj: ConfigMap): void => {
    const key = keyOf(obj);
    const existing = keys.get(key);
    keys.set(key, {
      namespace: obj.metadata!.namespace!,
      name: obj.metadata!.name!,
      uid: obj.metadata!.uid!,
      rv: obj.metadata!.resourceVersion!,
      changedAt: seq(),
    });
    if (existing !== undefined && existing.uid !== obj.metadata!.uid) {
      throw new Error(`harness: ${key} recreated; use fresh names`);
    }
    writeGen++;
  };
  const create = (): void => {
    const ns = namespaces[Math.floor(random() * namespaces.length)]!;
    const name = `cm-${nextName++}`;
    record(
      server.create<ConfigMap>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: ns },
        data: { v: '0' },
      }),
    );
  };
  for (let i = 0; i < (options.objects ?? 1000); i++) create();

  const hashable = (key: string): KubeObject => {
    const k = keys.get(key)!;
    return { metadata: { name: k.name, namespace: k.namespace, uid: k.uid } };
  };

  const trackedApi = (replica: () => Replica | undefined): ShardLeaseApi => {
    let lists = 0;
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    const api = kc.makeApiClient(CoordinationV1Api);
    const track = async <T>(call: () => Promise<T>): Promise<T> => {
      inFlight++;
      try {
        if (replica()?.cutOff === true) throw new Error('cut off from the API server');
        return await call();
      } finally {
        inFlight--;
      }
    };
    return {
      readNamespacedLease: (p, o) => track(() => api.readNamespacedLease(p, o)),
      createNamespacedLease: (p, o) => track(() => api.createNamespacedLease(p, o)),
      replaceNamespacedLease: (p, o) => track(() => api.replaceNamespacedLease(p, o)),
      listNamespacedLease: (p, o) =>
        track(async () => {
          const index = lists++;
          if (replica()?.failLists.has(index) === true) throw new Error(`list ${index} failed`);
          const list = await api.listNamespacedLease(p, o);
          const stale = replica()?.stale;
          if (stale === undefined || stale.lists === 0) return list;
          stale.lists--;
          list.items = list.items.filter((l) => !stale.hide.includes(l.metadata?.name ?? ''));
          return list;
        }),
    };
  };

  /** Whether `informer`'s cache is exactly the server's objects of `shard`. */
  const cacheIsShard = (informer: SharedIndexInformer<ConfigMap>, shard: Shard): boolean => {
    if (verified.get(informer) === writeGen) return true;
    const cached = new Map<string, string>();
    for (const o of informer.getStore().list()) {
      cached.set(keyOf(o), o.metadata?.resourceVersion ?? '');
    }
    let expected = 0;
    for (const [key, k] of keys) {
      if (k.rv === undefined || !shard.matches(hashable(key))) continue;
      expected++;
      if (cached.get(key) !== k.rv) return false;
    }
    if (expected !== cached.size) return false;
    verified.set(informer, writeGen);
    return true;
  };

  /** Nothing can happen any more without fake time moving. */
  const quiet = (): boolean => {
    if (inFlight > 0) return false;
    for (const r of replicas) {
      const w = r.work;
      if (w === undefined) continue;
      if (w.signal.aborted) {
        // Draining reconciles wait for fake time; with none left it is shutting down (I/O).
        if (w.controller.running === 0) return false;
        continue;
      }
      if (!w.informer.hasSynced()) return false;
      if (!cacheIsShard(w.informer, w.shard)) return false;
      if (w.informer.health().handlers.some((hh) => hh.backlog > 0)) return false;
      if (w.controller.queue.len() > 0 && w.controller.running < WORKERS) return false;
    }
    return true;
  };

  async function settle(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      await turn();
      if (quiet()) {
        await turn();
        await turn();
        if (quiet()) return;
      }
      if (Date.now() > deadline) {
        const state = replicas.map((r) => ({
          id: r.identity,
          work: r.work === undefined ? 'none' : r.work.shard.describe(),
          aborted: r.work?.signal.aborted,
          synced: r.work?.informer.hasSynced(),
          size: r.work?.informer.getStore().list().length,
          running: r.work?.controller.running,
          queued: r.work?.controller.queue.len(),
        }));
        throw new Error(`harness: never settled; in flight ${inFlight}; ${JSON.stringify(state)}`);
      }
      await realTick();
    }
  }

  const advance = (ms: number): Promise<void> => advanceFakeTime(clock, settle, ms);

  const h: ShardHarness = {
    server,
    clock,
    field,
    keys,
    log,
    intervals,
    violations,
    replicas,
    stats,
    seq,
    hashable,
    settle,
    advance,
    advanceUntil: (cond, limitMs, step = 50) =>
      advanceFakeTimeUntil(clock, settle, cond, limitMs, step),
    mutate(count) {
      for (let i = 0; i < count; i++) {
        const roll = random();
        const live = [...keys.entries()].filter(([, k]) => k.rv !== undefined);
        if (roll < 0.15 || live.length === 0) {
          create();
          continue;
        }
        const [, k] = live[Math.floor(random() * live.length)]!;
        const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: k.namespace, name: k.name };
        if (roll < 0.3) {
          server.delete(ref);
          k.rv = undefined;
          k.changedAt = seq();
          writeGen++;
        } else {
          record(server.patch<ConfigMap>(ref, { data: { v: String(seq()) } }));
        }
      }
    },
    replica(identity, overrides = {}) {
      const warnings: string[] = [];
      const collisions = { count: 0 };
      const works: RunningWork[] = [];
      const durations = seededRandom(identity.charCodeAt(identity.length - 1) * 7919);
      const kc = new KubeConfig();
      kc.loadFromString(server.kubeconfigYaml);
      // The replica, once built: its work and its API wrapper refer to it.
      const ref: { self?: Replica } = {};
      const onShardChange = (change: ShardChange): void => {
        const at = seq();
        const open = intervals.find((i) => i.replica === identity && i.to === undefined);
        if (open !== undefined) open.to = at;
        if (change.ranges.length > 0) {
          intervals.push({
            replica: identity,
            ranges: change.ranges,
            from: at,
            fromAt: clock.now(),
            to: undefined,
          });
        }
      };
      const work = async (shard: Shard, signal: AbortSignal): Promise<void> => {
        const factory = new SharedInformerFactory(kc, {
          shardSelector: shard.selector,
          clock,
          logger: collectingLogger(warnings),
          reflector: { stallTimeoutMs: 0 },
        });
        const informer = factory.informerFor(resources.configmaps);
        const lister = factory.listerFor(resources.configmaps);
        const controller = new Controller({
          name: `${GROUP}-${identity}`,
          clock,
          workers: WORKERS,
          // Below leaseDuration − renewDeadline (1000 ms), above the longest reconcile (900 ms).
          drainTimeoutMs: 950,
          onError: (err, key) => warnings.push(`reconcile ${key}: ${String(err)}`),
          reconcile: async ({ key, namespace, name }) => {
            const sawRv = lister.namespace(namespace).tryGet(name)?.metadata?.resourceVersion;
            const entry: ReconcileEntry = {
              replica: identity,
              key,
              start: seq(),
              startAt: clock.now(),
              end: undefined,
              sawRv,
            };
            log.push(entry);
            if (!keys.has(key) || !shard.matches(hashable(key))) {
              violations.push(`${identity} reconciled ${key} outside ${shard.describe()}`);
            }
            // Reconciles take fake time, so hand-overs happen with reconciles in flight; one in
            // ten takes longer than a period, so a range published before its drain ended would
            // be taken while they still run.
            const roll = durations();
            const ms =
              roll < 0.9 ? 5 + Math.floor(roll * 40) : 200 + Math.floor((roll - 0.9) * 7000);
            await sleep(clock, ms).catch(() => {});
            entry.end = seq();
          },
        }).for(shard.source(informer));
        const running: RunningWork = { shard, factory, informer, controller, signal };
        works.push(running);
        ref.self!.work = running;
        signal.addEventListener(
          'abort',
          () => {
            if (controller.running > 0) stats.drains++;
          },
          { once: true },
        );
        try {
          factory.start(signal);
          await controller.run(signal);
        } finally {
          await factory.shutdown();
          if (ref.self!.work === running) ref.self!.work = undefined;
        }
      };
      const coordinator = new ShardCoordinator({
        api: trackedApi(() => ref.self),
        namespace: LEASE_NAMESPACE,
        name: GROUP,
        identity,
        field,
        work,
        leaseDurationMs: D,
        renewDeadlineMs: R,
        retryPeriodMs: P,
        clock,
        wallClock: () => clock.now(),
        logger: collectingLogger(warnings, collisions),
        onShardChange,
        ...overrides,
      });
      const stop = new AbortController();
      const self: Replica = {
        identity,
        coordinator,
        stop,
        warnings,
        collisions,
        works,
        work: undefined,
        running: undefined,
        cutOff: false,
        failLists: new Set(),
        stale: { lists: 0, hide: [] },
        start() {
          self.running = coordinator.run(stop.signal);
        },
      };
      ref.self = self;
      replicas.push(self);
      return self;
    },
    async close() {
      for (const r of replicas) r.stop.abort();
      let done = false;
      const all = Promise.allSettled(replicas.map((r) => r.running)).then(() => {
        done = true;
      });
      for (let i = 0; i < 200 && !done; i++) await advance(100);
      if (done) await all;
      await server.close();
    },
  };
  return h;
}

// ---------------------------------------------------------------------------------------------
// Checks.

/** Pairs of reconciles of one key by two replicas whose [start, end] intervals overlap. */
export function overlappingReconciles(log: readonly ReconcileEntry[]): string[] {
  const byKey = new Map<string, ReconcileEntry[]>();
  for (const e of log) {
    let list = byKey.get(e.key);
    if (list === undefined) byKey.set(e.key, (list = []));
    list.push(e);
  }
  const out: string[] = [];
  for (const [key, entries] of byKey) {
    const sorted = [...entries].sort((a, b) => a.start - b.start);
    // Sweep: the latest-ending interval so far, of any replica.
    let open: ReconcileEntry | undefined;
    for (const e of sorted) {
      if (open !== undefined && (open.end ?? Infinity) > e.start && open.replica !== e.replica) {
        out.push(
          `${key}: ${open.replica} [${open.start}, ${open.end ?? '…'}] and ${e.replica} [${e.start}, ${e.end ?? '…'}]`,
        );
      }
      if (open === undefined || (e.end ?? Infinity) > (open.end ?? Infinity)) open = e;
    }
  }
  return out;
}

/** Pairs of processing intervals of two replicas that overlap both in hash and in time. */
export function overlappingProcessing(intervals: readonly ProcessingInterval[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      const a = intervals[i]!;
      const b = intervals[j]!;
      if (a.replica === b.replica) continue;
      const timeOverlap = a.from < (b.to ?? Infinity) && b.from < (a.to ?? Infinity);
      if (!timeOverlap) continue;
      const hashOverlap = a.ranges.some((x) =>
        b.ranges.some((y) => x.start < y.end && y.start < x.end),
      );
      if (hashOverlap) out.push(`${a.replica} and ${b.replica} both processed overlapping ranges`);
    }
  }
  return out;
}

/**
 * Existing keys whose last reconcile did not see their final state: it must have started after
 * their last change and read their final resourceVersion. (Deleted keys are left out: a deletion
 * that lands while a range is between owners is never an event for the next owner, whose
 * informer simply does not list the object, as for any controller that restarts.)
 */
export function staleKeys(h: ShardHarness): string[] {
  const last = new Map<string, ReconcileEntry>();
  for (const e of h.log) {
    const prev = last.get(e.key);
    if (prev === undefined || e.start > prev.start) last.set(e.key, e);
  }
  const out: string[] = [];
  for (const [key, k] of h.keys) {
    if (k.rv === undefined) continue;
    const e = last.get(key);
    if (e === undefined || e.end === undefined || e.start < k.changedAt || e.sawRv !== k.rv) {
      out.push(key);
    }
  }
  return out;
}

/** The replicas' current processing ranges, and whether they cover the space exactly once. */
export function coverageOf(replicas: readonly Replica[]): { ranges: ShardRange[]; exact: boolean } {
  const all = replicas
    .filter((r) => !r.stop.signal.aborted)
    .flatMap((r) => r.coordinator.processing())
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let at = 0n;
  for (const r of all) {
    if (r.start !== at) return { ranges: all, exact: false };
    at = r.end;
  }
  return { ranges: all, exact: at === 1n << 64n };
}
