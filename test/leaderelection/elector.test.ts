import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { KubecacheError } from '@kubecache/cache';
import {
  JITTER_FACTOR,
  LeaderHealthCheck,
  LeaderRenewOverdueError,
  microTime,
} from '@kubecache/leaderelection';
import { D, harness, LEASE, NAMESPACE, overlaps, P, R, type Harness } from './harness.ts';

/** Longest wait between two acquire attempts. */
const MAX_RETRY = P * (1 + JITTER_FACTOR);

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('LeaderElector: acquire and renew', () => {
  it('acquires a missing Lease at once, then renews it every retry period', async () => {
    const a = h.candidate('a');
    void a.start();
    await h.settle();
    assert.deepEqual(h.leaders(), ['a']);
    assert.deepEqual(h.lease(), { holder: 'a', transitions: 0, durationSeconds: D / 1000 });
    assert.deepEqual(a.newLeaders, ['a']);
    assert.equal(a.elector.getLeader(), 'a');

    const writes = h.traffic.writes;
    await h.advance(10 * P);
    assert.equal(h.traffic.writes - writes, 10, 'one renewal per retry period');
    assert.equal(h.traffic.reads, 1, 'renewals take the fast path: no read');
    assert.deepEqual(h.leaders(), ['a']);
    assert.deepEqual(a.warnings, []);
  });

  it('a second candidate stands by while the leader renews', async () => {
    const a = h.candidate('a');
    const b = h.candidate('b');
    void a.start();
    await h.settle();
    void b.start();
    await h.advance(10 * D);
    assert.deepEqual(h.leaders(), ['a']);
    assert.deepEqual(b.newLeaders, ['a']);
    assert.equal(b.elector.getLeader(), 'a');
    assert.equal(h.lease()?.transitions, 0);
    assert.equal(overlaps(h.intervals), undefined);
  });
});

describe('LeaderElector: fail-over', () => {
  it('a killed leader (no release) is replaced within the lease duration, with no overlap', async () => {
    const a = h.candidate('a');
    const b = h.candidate('b');
    void a.start();
    await h.settle();
    void b.start();
    await h.advance(5 * P + 130); // kill between two renewals

    const killedAt = h.clock.now();
    a.stop.abort(); // no releaseOnCancel: the Lease has to expire
    assert.equal(a.elector.isLeader(), false, 'stops leading the moment its signal aborts');
    assert.equal(await a.running, 'stopped');
    assert.equal(h.lease()?.holder, 'a', 'not released');

    const tookOver = await h.advanceUntil(() => b.elector.isLeader(), 3 * D);
    const failover = tookOver - killedAt;
    // b waits a whole lease duration from the last change it saw (at most one retry period
    // before the kill), and notices expiry at its next jittered retry.
    assert.ok(failover >= D - P, `fail-over after ${failover} ms, before the lease expired`);
    assert.ok(failover <= D + 2 * MAX_RETRY, `fail-over after ${failover} ms`);
    assert.deepEqual(h.leaders(), ['b']);
    assert.deepEqual(h.lease(), { holder: 'b', transitions: 1, durationSeconds: D / 1000 });
    assert.deepEqual(b.newLeaders, ['a', 'b']);
    assert.equal(overlaps(h.intervals), undefined);
    assert.equal(h.intervals.length, 2);
  });

  it('releaseOnCancel: a stopped leader releases after its work settled, and the other takes over at its next retry', async () => {
    const work: string[] = [];
    const a = h.candidate('a', {
      releaseOnCancel: true,
      onStartedLeading: async (signal) => {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        await Promise.resolve(); // the work winds down after the signal
        h.traffic.events.push('work of a done');
        work.push('done');
      },
    });
    const b = h.candidate('b');
    void a.start();
    await h.settle();
    void b.start();
    await h.advance(4 * P);

    const stoppedAt = h.clock.now();
    a.stop.abort();
    assert.equal(await a.running, 'stopped');
    assert.deepEqual(work, ['done']);
    assert.deepEqual(h.lease(), { holder: '', transitions: 0, durationSeconds: 1 });
    const done = h.traffic.events.indexOf('work of a done');
    const release = h.traffic.events.indexOf('release');
    assert.ok(done >= 0 && release > done, `work settles before the release: ${h.traffic.events}`);
    assert.equal(a.elector.getLeader(), '');
    assert.equal(a.elector.check(0), undefined, 'a released leader is healthy');

    const tookOver = await h.advanceUntil(() => b.elector.isLeader(), 3 * D, 10);
    assert.ok(tookOver - stoppedAt <= MAX_RETRY, `took over after ${tookOver - stoppedAt} ms`);
    assert.deepEqual(h.lease(), { holder: 'b', transitions: 1, durationSeconds: D / 1000 });
    assert.equal(overlaps(h.intervals), undefined);
  });

  it('releaseOnCancel with the API unreachable: run still ends, the failed release is reported, the Lease expires', async () => {
    const a = h.candidate('a', { releaseOnCancel: true });
    void a.start();
    await h.settle();
    await h.server.faults.pause();
    a.stop.abort();
    assert.equal(await a.running, 'stopped');
    assert.ok(
      a.warnings.some((w) => w.startsWith('could not release the leader lease')),
      String(a.warnings),
    );
    await h.server.faults.resume();
    assert.equal(h.lease()?.holder, 'a');
  });

  it('a leader cut off from the API (server paused) stops leading before another starts', async () => {
    const a = h.candidate('a');
    const b = h.candidate('b');
    void a.start();
    await h.settle();
    void b.start();
    await h.advance(4 * P + 70);

    const pausedAt = h.clock.now();
    await h.server.faults.pause();
    const lostAt = await h.advanceUntil(() => !a.elector.isLeader(), 2 * R, 10);
    assert.ok(lostAt - pausedAt <= R, `stopped ${lostAt - pausedAt} ms after the cut`);
    assert.equal(await a.running, 'lost');
    assert.deepEqual(h.leaders(), []);
    assert.ok(a.warnings.some((w) => w.includes('leader election attempt failed')));

    await h.server.faults.resume();
    const tookOver = await h.advanceUntil(() => b.elector.isLeader(), 3 * D, 10);
    const a0 = h.intervals.find((i) => i.identity === 'a')!;
    // b waits out the lease from the last renewal it saw; a stopped renewDeadline after it sent
    // that renewal: the gap is at least leaseDuration - renewDeadline.
    assert.ok(tookOver - a0.end! >= D - R, `gap ${tookOver - a0.end!} ms`);
    assert.equal(overlaps(h.intervals), undefined);
  });

  it('a leader whose renewal hangs stops at its deadline without waiting for the answer', async () => {
    const a = h.candidate('a');
    void a.start();
    await h.settle();
    const acquiredAt = h.clock.now();
    h.server.faults.setLatency(300); // real milliseconds: the renewal is still in flight below
    await h.clock.advance(P); // the first renewal is sent, and hangs
    assert.equal(h.traffic.inFlight, 1);
    await h.clock.advance(R - P);
    assert.equal(a.elector.isLeader(), false, 'stopped at acquisition + renewDeadline');
    assert.equal(h.intervals[0]?.end, acquiredAt + R);
    assert.equal(await a.running, 'lost');
    h.server.faults.setLatency(0);
    assert.deepEqual(a.warnings, [], 'the aborted request is not reported as a failure');
  });

  it('a leader whose lease writes fail (503 on PUT) stops before the reader that still sees its Lease takes over', async () => {
    const a = h.candidate('a');
    const b = h.candidate('b');
    void a.start();
    await h.settle();
    void b.start();
    await h.advance(4 * P + 70);

    let cut = true;
    h.server.faults.failNext({
      count: 1_000_000,
      status: 503,
      method: 'PUT',
      path: `/namespaces/${NAMESPACE}/leases/${LEASE}`,
      predicate: () => cut,
    });
    const cutAt = h.clock.now();
    const lostAt = await h.advanceUntil(() => !a.elector.isLeader(), 2 * R, 10);
    assert.ok(lostAt - cutAt <= R);
    assert.equal(await a.running, 'lost');
    cut = false;

    const tookOver = await h.advanceUntil(() => b.elector.isLeader(), 3 * D, 10);
    const a0 = h.intervals.find((i) => i.identity === 'a')!;
    assert.ok(tookOver - a0.end! >= D - R, `gap ${tookOver - a0.end!} ms`);
    assert.equal(overlaps(h.intervals), undefined);
    assert.deepEqual(h.lease(), { holder: 'b', transitions: 1, durationSeconds: D / 1000 });
  });

  it('a leader that sees another holder stops at once', async () => {
    const a = h.candidate('a');
    void a.start();
    await h.settle();
    // Someone else overwrites the Lease (an operator, a misconfigured replica).
    h.server.patch(
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: NAMESPACE, name: LEASE },
      { spec: { holderIdentity: 'intruder' } },
    );
    await h.advance(P); // the fast-path renewal gets 409, the read shows the intruder
    assert.equal(a.elector.isLeader(), false);
    assert.equal(await a.running, 'lost');
    assert.deepEqual(a.newLeaders, ['a', 'intruder']);
  });
});

describe('LeaderElector: 409 races', () => {
  it('three candidates creating the Lease at once: one creates it, two get 409, one leader', async () => {
    h.traffic.barrier = { size: 3, waiting: [] }; // all three read 404 before anyone creates
    const cs = ['a', 'b', 'c'].map((id) => h.candidate(id));
    for (const c of cs) void c.start();
    await h.settle();
    assert.equal(h.traffic.conflicts, 2);
    assert.equal(h.leaders().length, 1);
    await h.advance(5 * D);
    assert.equal(h.leaders().length, 1);
    const leader = h.leaders()[0]!;
    assert.equal(h.lease()?.holder, leader);
    for (const c of cs) assert.equal(c.newLeaders.at(-1), leader);
    assert.equal(overlaps(h.intervals), undefined);
    for (const c of cs) assert.deepEqual(c.warnings, [], 'a conflict is not a failure');
  });

  it('three candidates taking over an expired Lease at once: one update wins, two get 409', async () => {
    h.server.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: LEASE, namespace: NAMESPACE },
      spec: {
        holderIdentity: 'gone',
        leaseDurationSeconds: D / 1000,
        leaseTransitions: 4,
        renewTime: microTime(0),
        acquireTime: microTime(0),
      },
    });
    // Same seed for all: their jittered retries fall due together, so they race.
    const cs = ['a', 'b', 'c'].map((id) => h.candidate(id, { random: () => 0.25 }));
    for (const c of cs) void c.start();
    // Retries every 650 ms (jitter 0.25): none up to D finds the Lease expired; the one at 3250 ms races.
    await h.advance(D);
    assert.deepEqual(h.leaders(), []);
    const conflicts = h.traffic.conflicts;
    h.traffic.barrier = { size: 3, waiting: [] }; // the three reads of that round all answer alike
    await h.advanceUntil(() => h.leaders().length > 0, 2 * D, 10);
    assert.equal(h.leaders().length, 1);
    assert.equal(h.traffic.conflicts - conflicts, 2);
    assert.equal(h.lease()?.transitions, 5, 'one transition for the one winner');
    await h.advance(5 * D);
    assert.equal(h.leaders().length, 1);
    assert.equal(overlaps(h.intervals), undefined);
  });
});

describe('LeaderElector: clock skew', () => {
  async function staleLease(renewTime: string, seconds = D / 1000): Promise<void> {
    h.server.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: LEASE, namespace: NAMESPACE },
      spec: {
        holderIdentity: 'other',
        leaseDurationSeconds: seconds,
        leaseTransitions: 0,
        renewTime,
        acquireTime: renewTime,
      },
    });
  }

  for (const [what, renewTime] of [
    ['far in the future', '2100-01-01T00:00:00.000000Z'],
    ['far in the past', '1970-01-01T00:00:00.000000Z'],
    ['current', microTime(Date.now())],
  ] as const) {
    it(`another replica's renewTime ${what} changes nothing: takeover one lease duration after the record was seen`, async () => {
      await staleLease(renewTime);
      const a = h.candidate('a', { random: () => 0.5 });
      const startedAt = h.clock.now();
      void a.start();
      await h.settle();
      assert.equal(a.elector.lock.observed?.observedAt, startedAt);
      await h.advance(D - 1);
      assert.equal(a.elector.isLeader(), false, 'not before the lease duration');
      await h.advanceUntil(() => a.elector.isLeader(), 2 * D, 10);
      // Retries at startedAt + k × 1.6 P (jitter 0.5): the first at or after D takes over.
      const retry = P * (1 + 0.5 * JITTER_FACTOR);
      assert.equal(h.intervals[0]?.start, startedAt + Math.ceil(D / retry) * retry);
    });
  }

  it('a holder that keeps changing its record keeps its lease, whatever its timestamps say', async () => {
    await staleLease('1970-01-01T00:00:00.000000Z');
    const a = h.candidate('a');
    void a.start();
    for (let i = 0; i < 20; i++) {
      await h.advance(1000);
      // Renewals with a clock 50 years behind: still renewals.
      h.server.patch(
        { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: NAMESPACE, name: LEASE },
        { spec: { renewTime: microTime(i * 1000) } },
      );
    }
    assert.equal(a.elector.isLeader(), false);
    assert.deepEqual(a.newLeaders, ['other']);
  });

  it('a leader writing wall-clock times an hour off is renewed and replaced like any other', async () => {
    const a = h.candidate('a', { wallClock: () => h.clock.now() + 3_600_000 });
    const b = h.candidate('b', { wallClock: () => h.clock.now() - 3_600_000 });
    void a.start();
    await h.settle();
    void b.start();
    await h.advance(4 * D);
    assert.deepEqual(h.leaders(), ['a']);
    const killedAt = h.clock.now();
    a.stop.abort();
    const tookOver = await h.advanceUntil(() => b.elector.isLeader(), 3 * D);
    assert.ok(tookOver - killedAt >= D - P && tookOver - killedAt <= D + 2 * MAX_RETRY);
    assert.equal(overlaps(h.intervals), undefined);
  });
});

describe('LeaderElector: health check', () => {
  it('fails once the leader has not renewed for leaseDuration + tolerance, not before', async () => {
    const tolerance = 1000;
    const health = new LeaderHealthCheck({ toleranceMs: tolerance });
    assert.equal(health.check(), undefined, 'healthy before an elector is set');
    const a = h.candidate('a');
    const b = h.candidate('b');
    health.setElector(a.elector);
    void a.start();
    await h.settle();
    void b.start();
    await h.advance(3 * P);
    assert.equal(health.check(), undefined);

    await h.server.faults.pause();
    await h.advance(R); // renewals fail; a stops leading at its deadline
    assert.equal(a.elector.isLeader(), false);
    const lastRenewal = a.elector.lock.observed!.observedAt;
    await h.advance(lastRenewal + D + tolerance - h.clock.now());
    assert.equal(health.check(), undefined, 'within leaseDuration + tolerance');
    await h.advance(1);
    const err = health.check();
    assert.ok(err instanceof LeaderRenewOverdueError);
    assert.ok(err instanceof KubecacheError);
    assert.equal(err.code, 'LeaderRenewOverdue');
    assert.ok(err.hint !== undefined && err.hint.length > 0);
    assert.equal(err.sinceRenewMs, D + tolerance + 1);
    assert.equal(b.elector.check(tolerance), undefined, 'a standby is healthy');
    assert.equal(health.name, 'leaderElection');
    await h.server.faults.resume();
  });
});

describe('LeaderElector: callbacks and metrics', () => {
  it('reports leadership changes for a gauge, and calls onStoppedLeading when run ends', async () => {
    const gauge = new Map<string, boolean>();
    const changes: string[] = [];
    let stopped = 0;
    const a = h.candidate('a', {
      onLeadershipChange: ({ lease, leading }) => {
        gauge.set(lease, leading);
        changes.push(`${lease} ${leading}`);
      },
      onStoppedLeading: () => stopped++,
    });
    void a.start();
    assert.equal(gauge.get(`${NAMESPACE}/${LEASE}`), false, 'starts at 0');
    await h.settle();
    assert.equal(gauge.get(`${NAMESPACE}/${LEASE}`), true);
    a.stop.abort();
    await a.running;
    assert.deepEqual(changes, [
      `${NAMESPACE}/${LEASE} false`,
      `${NAMESPACE}/${LEASE} true`,
      `${NAMESPACE}/${LEASE} false`,
    ]);
    assert.equal(stopped, 1);
  });

  it('a callback that throws is logged and does not stop the election', async () => {
    const a = h.candidate('a', {
      onNewLeader: () => {
        throw new Error('boom');
      },
    });
    void a.start();
    await h.settle();
    await h.advance(2 * P);
    assert.equal(a.elector.isLeader(), true);
    assert.ok(a.warnings.some((w) => w.includes('callback failed') && w.includes('boom')));
  });
});
