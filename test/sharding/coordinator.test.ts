/**
 * Sharded controllers: replicas of one controller, coordinated by membership Leases on the
 * embedded API server over real HTTP, on a shared FakeClock (see harness.ts). What is asserted,
 * from a log of every reconcile's start and end (global sequence numbers) and of every change of
 * what each replica processes:
 *
 * - no key is ever reconciled by two replicas at once, and no hash is processed by two;
 * - no replica reconciles a key outside its shard, and each caches exactly its shard;
 * - every existing key's last reconcile saw its final state;
 * - a killed replica's range is taken over once its Lease can have expired, and within about
 *   one lease duration; a graceful stop hands over within a period; a replica cut off from the
 *   API stops before anyone takes its range.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { seededRandom, type ShardField, type ShardRange } from '@kubecache/cache';
import {
  SHARD_GROUP_LABEL,
  SHARD_OWNED_ANNOTATION,
  ShardCoordinator,
  ShardingConfigError,
  ShardWorkEndedError,
  type ShardLeaseApi,
} from '@kubecache/leaderelection';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  coverageOf,
  D,
  GROUP,
  LEASE_NAMESPACE,
  MAX_RECONCILE_MS,
  overlappingProcessing,
  overlappingReconciles,
  P,
  R,
  shardHarness,
  staleKeys,
  type Replica,
  type ShardHarness,
} from './harness.ts';

/** Every running replica's cache is exactly the server's objects of its shard. */
function assertCachesAreShards(h: ShardHarness): void {
  for (const r of h.replicas) {
    const w = r.work;
    if (w === undefined || w.signal.aborted) continue;
    const cached = w.informer.getStore().list();
    for (const o of cached) {
      const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
      assert.ok(w.shard.matches(h.hashable(key)), `${r.identity} caches ${key} outside its shard`);
    }
    const expected = [...h.keys].filter(
      ([key, k]) => k.rv !== undefined && w.shard.matches(h.hashable(key)),
    ).length;
    assert.equal(cached.length, expected, `${r.identity} caches its whole shard`);
    assert.deepEqual(w.shard.ranges, r.coordinator.processing());
  }
}

/** Whether `ranges` lies within the union of what the live replicas process (or publish). */
function covered(
  h: ShardHarness,
  ranges: readonly ShardRange[],
  of: (r: Replica) => readonly ShardRange[] = (r) => r.coordinator.processing(),
): boolean {
  const live = h.replicas.filter((r) => !r.stop.signal.aborted).flatMap(of);
  return ranges.every((x) =>
    // Contiguous cover of x by live ranges.
    (() => {
      let at = x.start;
      for (const y of [...live].sort((a, b) => (a.start < b.start ? -1 : 1))) {
        if (y.start <= at && y.end > at) at = y.end;
      }
      return at >= x.end;
    })(),
  );
}

function assertSafe(h: ShardHarness): void {
  assert.deepEqual(overlappingReconciles(h.log), [], 'no key reconciled by two replicas at once');
  assert.deepEqual(overlappingProcessing(h.intervals), [], 'no hash processed by two replicas');
  assert.deepEqual(h.violations, [], 'no key reconciled outside its shard');
}

async function scenario(
  t: TestContext,
  mode: 'honour' | 'ignore',
  field: ShardField,
  seed: number,
): Promise<void> {
  const h = await shardHarness({ mode, field, objects: 1000, namespaces: 40, seed });
  try {
    const [r0, r1, r2] = ['r0', 'r1', 'r2'].map((id) => h.replica(id));
    r0!.start();
    r1!.start();
    r2!.start();
    await h.advanceUntil(() => coverageOf(h.replicas).exact, 5 * D);
    assertCachesAreShards(h);
    for (const r of [r0!, r1!, r2!]) {
      const sharding = r.work!.factory.informers()[0]!.serverSideSharding;
      assert.equal(sharding, mode === 'honour', `${r.identity}: server-side sharding`);
    }

    // Writes while the three run.
    for (let i = 0; i < 10; i++) {
      h.mutate(20);
      await h.advance(100);
    }
    assertCachesAreShards(h);

    // Kill r1: its work stops, its Lease is left to expire (no release).
    const dead = r1!.coordinator.processing();
    assert.ok(dead.length > 0);
    r1!.stop.abort();
    const killedAt = h.clock.now();
    let claimedAt: number | undefined;
    while (!covered(h, dead, (r) => r.coordinator.processing())) {
      assert.ok(h.clock.now() - killedAt <= D + 2 * P + MAX_RECONCILE_MS, 'taken over');
      if (claimedAt === undefined && covered(h, dead, (r) => r.coordinator.published())) {
        claimedAt = h.clock.now() - killedAt;
      }
      h.mutate(5);
      await h.advance(50);
    }
    const pickedUp = h.clock.now() - killedAt;
    claimedAt ??= pickedUp;
    // Claimed not before its Lease could have expired (its last renewal was at most a period
    // before the kill), and within one lease duration of that plus a period to notice; processed
    // once the taker's reconciles in flight finished (its work restarts with the bigger range).
    assert.ok(claimedAt >= D - P, `claimed after ${claimedAt} ms, not before the lease expired`);
    assert.ok(claimedAt <= D + 2 * P, `claimed after ${claimedAt} ms`);
    assert.ok(
      pickedUp - claimedAt <= MAX_RECONCILE_MS,
      `processed ${pickedUp - claimedAt} ms later`,
    );
    await r1!.running;

    // Add r3 while writes continue.
    const r3 = h.replica('r3');
    r3.start();
    for (let i = 0; i < 20; i++) {
      h.mutate(10);
      await h.advance(100);
    }
    await h.advanceUntil(
      () => coverageOf(h.replicas).exact && r3.coordinator.processing().length > 0,
      10 * D,
    );
    await h.advanceUntil(() => staleKeys(h).length === 0, 10 * D, 100);
    assertCachesAreShards(h);
    assertSafe(h);
    assert.deepEqual(staleKeys(h), [], 'every key reconciled after its last change');
    for (const r of [r0!, r2!, r3]) {
      assert.deepEqual(r.warnings, [], `${r.identity}: no warnings`);
      for (const w of r.works) {
        const sharding = w.factory.informers()[0]!.serverSideSharding;
        assert.ok(sharding === (mode === 'honour') || sharding === undefined);
      }
    }
    assert.ok(h.stats.drains > 0, 'some hand-overs drained reconciles in flight');
    t.diagnostic(
      `${h.log.length} reconciles, ${h.replicas.reduce((n, r) => n + r.works.length, 0)} works ` +
        `(${h.stats.drains} stopped with reconciles in flight), ${h.intervals.length} processing ` +
        `intervals; dead range claimed ${claimedAt} ms and processed ${pickedUp} ms after the kill; ${h.clock.now() - 1_000_000} ms of fake time`,
    );
    const members = r0!.coordinator.members();
    assert.deepEqual(
      members.filter((m) => m.live).map((m) => m.identity),
      ['r0', 'r2', 'r3'],
    );
  } finally {
    await h.close();
  }
}

describe('ShardCoordinator: three replicas over 1,000 objects, one killed and one added', () => {
  it('server-side filtering (the API server applies shardSelector), by uid', (t) =>
    scenario(t, 'honour', 'metadata.uid', 1));
  it('client-side filtering (the API server ignores shardSelector), by uid', (t) =>
    scenario(t, 'ignore', 'metadata.uid', 2));
  it('by namespace, server-side filtering', (t) => scenario(t, 'honour', 'metadata.namespace', 3));
});

describe('ShardCoordinator hand-over', () => {
  it('a graceful stop with releaseOnCancel hands the range over a period after its drain', async () => {
    const h = await shardHarness({ mode: 'honour', objects: 200 });
    try {
      const a = h.replica('a');
      const b = h.replica('b', { releaseOnCancel: true });
      a.start();
      b.start();
      await h.advanceUntil(() => coverageOf(h.replicas).exact, 5 * D);
      h.mutate(30);
      await h.advance(200);
      b.stop.abort();
      const stoppedAt = h.clock.now();
      let releasedAt: number | undefined;
      void b.running!.then(() => (releasedAt = h.clock.now()));
      await h.advanceUntil(() => coverageOf(h.replicas).exact, D, 10);
      // The release is written once b's reconciles in flight finished; a sees it at its next tick.
      assert.ok(
        releasedAt !== undefined && releasedAt - stoppedAt <= 950,
        'released after the drain',
      );
      const took = h.clock.now() - releasedAt;
      assert.ok(took <= P, `handed over ${took} ms after the release, not after lease expiry`);
      await h.advanceUntil(() => staleKeys(h).length === 0, 5 * D, 100);
      assertSafe(h);
      const lease = h.server.get<{
        apiVersion: string;
        kind: string;
        metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> };
        spec?: { holderIdentity?: string };
      }>({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        namespace: LEASE_NAMESPACE,
        name: `${GROUP}-b`,
      });
      assert.equal(lease?.spec?.holderIdentity, '');
      assert.equal(lease?.metadata?.annotations?.[SHARD_OWNED_ANNOTATION], '');
      assert.equal(lease?.metadata?.labels?.[SHARD_GROUP_LABEL], GROUP);
    } finally {
      await h.close();
    }
  });

  it('a replica cut off from the API stops processing before another may take its range, then rejoins', async () => {
    const h = await shardHarness({ mode: 'honour', objects: 200 });
    try {
      const [a, b, c] = ['a', 'b', 'c'].map((id) => h.replica(id));
      for (const r of [a!, b!, c!]) r.start();
      await h.advanceUntil(() => coverageOf(h.replicas).exact, 5 * D);
      const cut = b!.coordinator.processing();
      b!.cutOff = true;
      const cutAt = h.clock.now();
      await h.advanceUntil(() => b!.coordinator.processing().length === 0, 2 * D);
      const stoppedAfter = h.clock.now() - cutAt;
      assert.ok(stoppedAfter <= R, `stopped ${stoppedAfter} ms after the cut`);
      while (!covered(h, cut)) {
        assert.ok(h.clock.now() - cutAt <= D + 3 * P);
        h.mutate(3);
        await h.advance(50);
      }
      const takenAfter = h.clock.now() - cutAt;
      assert.ok(takenAfter >= D - P && takenAfter > stoppedAfter, `taken after ${takenAfter} ms`);
      assert.ok(b!.warnings.some((w) => w.includes('not renewed within the renew deadline')));

      // Reconnected: it rejoins owning nothing, and gets a third of the space back.
      b!.cutOff = false;
      await h.advanceUntil(
        () => coverageOf(h.replicas).exact && b!.coordinator.processing().length > 0,
        5 * D,
      );
      await h.advanceUntil(() => staleKeys(h).length === 0, 5 * D, 100);
      assertSafe(h);
      assertCachesAreShards(h);
    } finally {
      await h.close();
    }
  });

  it('two members claiming the same free range (diverging views) never both process it', async () => {
    const h = await shardHarness({ mode: 'honour', objects: 200 });
    try {
      const a = h.replica('a');
      const b = h.replica('b');
      // b's first view misses a's Lease: b believes it is alone and claims the whole space,
      // while a claims the lower half. Each checks after its claim; the overlap is withdrawn.
      b.stale = { lists: 1, hide: [`${GROUP}-a`] };
      a.start();
      b.start();
      await h.advanceUntil(() => coverageOf(h.replicas).exact, 5 * D);
      assert.ok(a.collisions.count + b.collisions.count > 0, 'the claims collided');
      await h.advanceUntil(() => staleKeys(h).length === 0, 5 * D, 100);
      assertSafe(h);
      assert.deepEqual(
        a.coordinator.processing().map((r) => r.end),
        [1n << 63n],
        'a got the lower half in the end',
      );
    } finally {
      await h.close();
    }
  });
  it('a claim is processed only after a read that follows it: no read, no processing', async () => {
    const h = await shardHarness({ mode: 'honour', objects: 50 });
    try {
      const a = h.replica('a');
      a.failLists.add(1); // the read after its first claim
      a.start();
      await h.settle();
      assert.deepEqual(a.coordinator.processing(), [], 'unconfirmed claim not processed');
      assert.equal(a.coordinator.published().length, 0, 'and withdrawn');
      assert.ok(a.warnings.some((w) => w.includes('shard lease list failed')));
      await h.advance(P);
      assert.equal(coverageOf(h.replicas).exact, true, 'confirmed at the next tick');
    } finally {
      await h.close();
    }
  });
});

describe('ShardCoordinator under seeded chaos', () => {
  // Random kills (no release), graceful stops (release), additions, and cuts of the Lease API
  // (a replica losing its Lease, then reconnecting), with writes throughout; safety is checked
  // after every step, liveness once the cuts heal.
  for (const seed of [7, 8]) {
    it(`seed ${seed}`, async (t) => {
      const rnd = seededRandom(seed * 101);
      const h = await shardHarness({
        mode: seed % 2 === 0 ? 'ignore' : 'honour',
        field: seed % 3 === 0 ? 'metadata.namespace' : 'metadata.uid',
        objects: 300,
        seed,
      });
      let next = 0;
      const add = (): Replica => {
        const r = h.replica(`r${next++}`, { releaseOnCancel: rnd() < 0.5 });
        r.start();
        return r;
      };
      const actions: string[] = [];
      try {
        for (let i = 0; i < 3; i++) add();
        for (let step = 0; step < 150; step++) {
          const live = h.replicas.filter((r) => !r.stop.signal.aborted);
          const pick = (): Replica => live[Math.floor(rnd() * live.length)]!;
          const roll = rnd();
          if (roll < 0.05 && live.length > 1) {
            const r = pick();
            r.stop.abort();
            actions.push(`${step} stop ${r.identity}`);
          } else if (roll < 0.1 && live.length < 5) {
            actions.push(`${step} add ${add().identity}`);
          } else if (roll < 0.35) {
            const r = pick();
            r.cutOff = !r.cutOff;
            actions.push(`${step} ${r.cutOff ? 'cut' : 'reconnect'} ${r.identity}`);
          }
          h.mutate(Math.floor(rnd() * 8));
          await h.advance(50 + Math.floor(rnd() * 400));
          assertSafe(h);
        }
        for (const r of h.replicas) r.cutOff = false;
        await h.advanceUntil(() => coverageOf(h.replicas).exact, 10 * D, 100);
        await h.advanceUntil(() => staleKeys(h).length === 0, 10 * D, 100);
        assertSafe(h);
        assertCachesAreShards(h);
        t.diagnostic(`${actions.length} actions, ${h.log.length} reconciles`);
      } catch (err) {
        t.diagnostic(actions.join('; '));
        throw err;
      } finally {
        await h.close();
      }
    });
  }
});

describe('ShardCoordinator errors', () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const base = {
    kubeConfig: kc,
    namespace: 'default',
    name: 'ctl',
    identity: 'pod-a',
    work: async () => {},
  };

  it('rejects invalid names, identities and timings with ShardingConfigError', () => {
    const cases: [Partial<typeof base> & Record<string, unknown>, string][] = [
      [{ name: 'Not A Label!' }, 'name'],
      [{ name: 'x'.repeat(64) }, 'name'],
      [{ identity: '' }, 'identity'],
      [{ identity: 'Pod_A' }, 'identity'],
      [{ leaseDurationMs: 1000, renewDeadlineMs: 2000 }, 'leaseDurationMs'],
      [{ renewDeadlineMs: 1000, retryPeriodMs: 1000 }, 'renewDeadlineMs'],
      [{ field: 'metadata.name' }, 'field'],
      [{ kubeConfig: undefined }, 'kubeConfig'],
    ];
    for (const [overrides, field] of cases) {
      assert.throws(
        () =>
          new ShardCoordinator({ ...base, ...overrides } as ConstructorParameters<
            typeof ShardCoordinator
          >[0]),
        (err: unknown) =>
          err instanceof ShardingConfigError &&
          err.code === 'ShardingConfig' &&
          err.field === field &&
          typeof err.hint === 'string',
        JSON.stringify(overrides),
      );
    }
  });

  it('a work that settles by itself stops the replica with ShardWorkEndedError (after releasing)', async () => {
    const h = await shardHarness({ mode: 'honour', objects: 10 });
    try {
      const kc2 = new KubeConfig();
      kc2.loadFromString(h.server.kubeconfigYaml);
      const api: ShardLeaseApi = kc2.makeApiClient(CoordinationV1Api);
      const coordinator = new ShardCoordinator({
        api,
        namespace: LEASE_NAMESPACE,
        name: 'quitter',
        identity: 'q',
        clock: h.clock,
        leaseDurationMs: D,
        renewDeadlineMs: R,
        retryPeriodMs: P,
        releaseOnCancel: true,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        work: async () => {}, // returns at once: nothing would process the range
      });
      const run = coordinator.run(new AbortController().signal);
      const outcome = run.then(
        () => 'resolved',
        (err: unknown) => err,
      );
      for (let i = 0; i < 50; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if ((await Promise.race([outcome, Promise.resolve('pending')])) !== 'pending') break;
      }
      const err = await outcome;
      assert.ok(err instanceof ShardWorkEndedError, String(err));
      assert.equal(err.code, 'ShardWorkEnded');
      assert.deepEqual(coordinator.processing(), []);
      const lease = h.server.get<{
        apiVersion: string;
        kind: string;
        spec?: { holderIdentity?: string };
      }>({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        namespace: LEASE_NAMESPACE,
        name: 'quitter-q',
      });
      assert.equal(lease?.spec?.holderIdentity, '', 'released');
    } finally {
      await h.close();
    }
  });
});
