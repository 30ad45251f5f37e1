// Electors on a shared FakeClock against the embedded API server over real HTTP. Fake time only
// moves when nothing is in flight, so every request an elector sends at a fake instant is
// answered at that instant, and a run is deterministic for given seeds.
import { FakeClock, seededRandom, silentLogger, type Logger } from '@kubecache/cache';
import type { ApiServer } from '@kubecache/apiserver';
import {
  LeaderElector,
  LeaseLock,
  type LeaderElectorOptions,
  type LeaseApi,
} from '@kubecache/leaderelection';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { setup } from '../apiserver/helpers.ts';

/**
 * Moves fake time forward by `ms`, firing each timer due on the way, and lets the real I/O that
 * timers start (HTTP requests to the embedded server) finish (`settle`) before time moves again.
 */
export async function advanceFakeTime(
  clock: FakeClock,
  settle: () => Promise<void>,
  ms: number,
): Promise<void> {
  const target = clock.now() + ms;
  for (;;) {
    await settle();
    const due = clock.nextDue();
    if (due === undefined || due > target) break;
    await clock.advance(Math.max(0, due - clock.now()));
  }
  await clock.advance(target - clock.now());
  await settle();
}

/**
 * Moves fake time forward in `step`s until `cond()` holds; returns the fake time then. Throws when
 * `limitMs` passes first.
 */
export async function advanceFakeTimeUntil(
  clock: FakeClock,
  settle: () => Promise<void>,
  cond: () => boolean,
  limitMs: number,
  step: number,
): Promise<number> {
  const limit = clock.now() + limitMs;
  await settle();
  while (!cond()) {
    if (clock.now() >= limit) throw new Error(`condition not met within ${limitMs} ms`);
    await advanceFakeTime(clock, settle, step);
  }
  return clock.now();
}

export const NAMESPACE = 'default';
export const LEASE = 'le-test';
/** Timings of most tests: 3 s lease, 2 s renew deadline, 0.5 s retry period. */
export const D = 3000;
export const R = 2000;
export const P = 500;

/** One leadership term on the fake clock; `end` undefined while it lasts. */
export interface Interval {
  readonly identity: string;
  readonly start: number;
  end: number | undefined;
}

/** What went over the wire, for assertions. */
export interface Traffic {
  inFlight: number;
  reads: number;
  writes: number;
  conflicts: number;
  /** Holder of each successful write, in order (`''` for a release). */
  readonly written: string[];
  /** Ordered notes from tests and from the wire ("write a", "release a", …). */
  readonly events: string[];
  /** When set, reads are answered only once this many are waiting (forces a race). */
  barrier: { size: number; waiting: (() => void)[] } | undefined;
}

export interface Candidate {
  readonly identity: string;
  readonly elector: LeaderElector;
  readonly stop: AbortController;
  readonly newLeaders: string[];
  readonly warnings: string[];
  /** The promise of `elector.run`, once started. */
  running: Promise<string> | undefined;
  start(): Promise<string>;
}

export interface Harness {
  readonly server: ApiServer;
  readonly clock: FakeClock;
  readonly traffic: Traffic;
  readonly intervals: Interval[];
  /** An API client of its own (own KubeConfig), counted in `traffic`. */
  api(): LeaseApi;
  candidate(identity: string, options?: Partial<LeaderElectorOptions>): Candidate;
  /** Waits (real time) until no request is in flight. */
  settle(): Promise<void>;
  /** Moves fake time forward by `ms`, one timer at a time, settling in between. */
  advance(ms: number): Promise<void>;
  /** Advances in `step` ms steps until `cond` holds (at most `limitMs`); returns the fake time. */
  advanceUntil(cond: () => boolean, limitMs: number, step?: number): Promise<number>;
  leaders(): string[];
  lease(): { holder: string; transitions: number; durationSeconds: number } | undefined;
  close(): Promise<void>;
}

const realTick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function tracked(api: CoordinationV1Api, traffic: Traffic): LeaseApi {
  async function track<R>(kind: 'read' | 'write', call: () => Promise<R>): Promise<R> {
    traffic.inFlight++;
    if (kind === 'read') traffic.reads++;
    else traffic.writes++;
    try {
      let result: R;
      try {
        result = await call();
      } catch (err) {
        if ((err as { code?: unknown }).code === 409) traffic.conflicts++;
        if (kind === 'read') await arrive();
        throw err;
      }
      if (kind === 'read') await arrive();
      return result;
    } finally {
      traffic.inFlight--;
    }
  }
  function arrive(): Promise<void> {
    const barrier = traffic.barrier;
    if (barrier === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      barrier.waiting.push(resolve);
      if (barrier.waiting.length >= barrier.size) {
        traffic.barrier = undefined;
        for (const release of barrier.waiting) release();
      }
    });
  }
  const note = (holder: string | undefined): void => {
    traffic.written.push(holder ?? '');
    traffic.events.push(holder === '' ? 'release' : `write ${holder}`);
  };
  return {
    readNamespacedLease: (param, options) =>
      track('read', () => api.readNamespacedLease(param, options)),
    createNamespacedLease: (param, options) =>
      track('write', async () => {
        const lease = await api.createNamespacedLease(param, options);
        note(lease.spec?.holderIdentity);
        return lease;
      }),
    replaceNamespacedLease: (param, options) =>
      track('write', async () => {
        const lease = await api.replaceNamespacedLease(param, options);
        note(lease.spec?.holderIdentity);
        return lease;
      }),
  };
}

/** Collects warn/error lines instead of printing them. */
function collectingLogger(into: string[]): Logger {
  return {
    ...silentLogger,
    warn: (fields, message) => into.push(`${message} ${JSON.stringify(fields)}`),
    error: (fields, message) => into.push(`${message} ${JSON.stringify(fields)}`),
  };
}

export async function harness(): Promise<Harness> {
  const { server } = await setup();
  const clock = new FakeClock(1_000_000);
  const traffic: Traffic = {
    inFlight: 0,
    reads: 0,
    writes: 0,
    conflicts: 0,
    written: [],
    events: [],
    barrier: undefined,
  };
  const intervals: Interval[] = [];
  const candidates: Candidate[] = [];

  const api = (): LeaseApi => {
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    return tracked(kc.makeApiClient(CoordinationV1Api), traffic);
  };

  async function settle(): Promise<void> {
    for (;;) {
      await turn();
      if (traffic.inFlight === 0) {
        await turn();
        if (traffic.inFlight === 0) return;
      }
      await realTick();
    }
  }

  const advance = (ms: number): Promise<void> => advanceFakeTime(clock, settle, ms);

  const h: Harness = {
    server,
    clock,
    traffic,
    intervals,
    api,
    settle,
    advance,
    advanceUntil: (cond, limitMs, step = 50) =>
      advanceFakeTimeUntil(clock, settle, cond, limitMs, step),
    candidate(identity, options = {}) {
      const newLeaders: string[] = [];
      const warnings: string[] = [];
      const lock = new LeaseLock({
        api: api(),
        namespace: NAMESPACE,
        name: LEASE,
        identity,
        clock,
      });
      const elector = new LeaderElector({
        lock,
        leaseDurationMs: D,
        renewDeadlineMs: R,
        retryPeriodMs: P,
        random: seededRandom(identity.charCodeAt(0)),
        wallClock: () => clock.now(),
        logger: collectingLogger(warnings),
        ...options,
      });
      elector.subscribe({
        onNewLeader: (id) => newLeaders.push(id),
        onLeadershipChange: ({ leading, at }) => {
          if (leading) intervals.push({ identity, start: at, end: undefined });
          else {
            const open = intervals.find((i) => i.identity === identity && i.end === undefined);
            if (open !== undefined) open.end = at;
          }
        },
      });
      const stop = new AbortController();
      const candidate: Candidate = {
        identity,
        elector,
        stop,
        newLeaders,
        warnings,
        running: undefined,
        start() {
          candidate.running = elector.run(stop.signal);
          return candidate.running;
        },
      };
      candidates.push(candidate);
      return candidate;
    },
    leaders: () => candidates.filter((c) => c.elector.isLeader()).map((c) => c.identity),
    lease() {
      const lease = server.get<{
        apiVersion: string;
        kind: string;
        spec?: {
          holderIdentity?: string;
          leaseTransitions?: number;
          leaseDurationSeconds?: number;
        };
      }>({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        namespace: NAMESPACE,
        name: LEASE,
      });
      if (lease === undefined) return undefined;
      return {
        holder: lease.spec?.holderIdentity ?? '',
        transitions: lease.spec?.leaseTransitions ?? 0,
        durationSeconds: lease.spec?.leaseDurationSeconds ?? 0,
      };
    },
    async close() {
      for (const c of candidates) c.stop.abort();
      let done = false;
      const all = Promise.allSettled(candidates.map((c) => c.running)).then(() => {
        done = true;
      });
      // Stopping electors may still release the Lease, on fake time.
      for (let i = 0; i < 100 && !done; i++) await advance(R / 10);
      if (done) await all;
      await server.close();
    },
  };
  return h;
}

/** Asserts that no two leadership intervals overlap on the fake clock. */
export function overlaps(intervals: readonly Interval[]): string | undefined {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const next = sorted[i]!;
    if (prev.end === undefined || prev.end > next.start) {
      return `${prev.identity} [${prev.start}, ${prev.end ?? '…'}) overlaps ${next.identity} [${next.start}, ${next.end ?? '…'})`;
    }
  }
  return undefined;
}
