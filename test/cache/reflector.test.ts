import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApiStatusError,
  createIndexer,
  type KubeObject,
  ReflectorRetryBudgetExhaustedError,
  WatchStalledError,
} from '@kubecache/cache';
import { configMap, nextBackoff, SEED, startHarness, waitFor } from './reflector-helpers.ts';

const many = (n: number, prefix = 'cm'): KubeObject[] =>
  Array.from({ length: n }, (_, i) => configMap(`${prefix}-${String(i).padStart(5, '0')}`));

function query(url: string): URLSearchParams {
  return new URL(url.split(' ')[1]!, 'http://x').searchParams;
}

describe(`Reflector over HTTP (seed ${SEED})`, () => {
  it('lists in pages of 500 with continue, from RV "0", then watches from the list RV with bookmarks', async () => {
    const h = await startHarness({ objects: many(1200) });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      assert.equal(h.store.objects.size, 1200);
      assert.ok(h.reflector.hasSynced());
      const lists = h.requests().filter((r) => !query(r).has('watch'));
      assert.equal(lists.length, 3);
      assert.equal(query(lists[0]!).get('limit'), '500');
      assert.equal(query(lists[0]!).get('resourceVersion'), '0');
      assert.ok(query(lists[1]!).get('continue'));
      assert.equal(query(lists[1]!).get('resourceVersion'), null, 'no RV with continue');
      assert.equal(h.store.replaces.length, 1, 'one replace for all pages');
      const watch = query(h.requests().find((r) => query(r).has('watch'))!);
      assert.equal(watch.get('resourceVersion'), h.store.replaces[0]!.rv);
      assert.equal(watch.get('allowWatchBookmarks'), 'true');
      const timeout = Number(watch.get('timeoutSeconds'));
      assert.ok(timeout >= 300 && timeout < 600, `timeoutSeconds ${timeout}`);
      // Items got kind/apiVersion from the list.
      const first = h.store.objects.get('default/cm-00000')!;
      assert.equal(first.kind, 'ConfigMap');
      assert.equal(first.apiVersion, 'v1');
      // Live events flow into the store and advance the RV.
      h.server.create(configMap('live'));
      await waitFor(() => h.store.objects.has('default/live'), 'live add');
      assert.equal(h.reflector.lastSyncResourceVersion(), h.server.resourceVersion());
      assert.deepEqual(h.errors, []);
    } finally {
      await h.stop();
    }
  });

  it('falls back to one unpaged list when the continue token expires mid-list', async () => {
    const h = await startHarness({
      objects: many(250),
      reflector: { pageSize: 100 },
      start: false,
    });
    let compacted = false;
    h.server.faults.failNext({
      status: 500,
      // Side effect only: before the first continuation, change things and compact the history,
      // so the server itself answers 410 Expired for the stale token.
      predicate: (r) => {
        if (r.query.has('continue') && !compacted) {
          compacted = true;
          h.server.create(configMap('late'));
          h.server.faults.compactHistory();
        }
        return false;
      },
    });
    try {
      await h.start();
      await waitFor(() => h.reflector.hasSynced(), 'synced');
      const lists = h.requests().filter((r) => !query(r).has('watch'));
      assert.equal(lists.length, 3, lists.join('\n'));
      assert.ok(query(lists[1]!).has('continue'));
      const full = query(lists[2]!);
      assert.equal(full.get('limit'), null, 'fallback list is unpaged');
      assert.equal(full.get('continue'), null);
      assert.equal(full.get('resourceVersion'), '0', 'at the originally requested RV');
      assert.equal(h.store.objects.size, 251);
      assert.ok(h.errors.some((e) => e.stage === 'list' && e.apiStatus?.statusCode === 410));
    } finally {
      await h.stop();
    }
  });

  it('relists after 410 through compaction and yields tombstones for objects deleted during the gap', async () => {
    const h = await startHarness({ objects: many(5) });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      const syncedRv = h.reflector.lastSyncResourceVersion();
      // Outage: the watch breaks; meanwhile objects are deleted and history is compacted.
      await h.server.faults.pause();
      await waitFor(() => h.reflector.phase() === 'backoff', 'backoff after the break');
      h.server.delete({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'default',
        name: 'cm-00001',
      });
      h.server.delete({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'default',
        name: 'cm-00003',
      });
      h.server.create(configMap('born-in-gap'));
      h.server.faults.compactHistory();
      await h.server.faults.resume();
      await h.clock.advance(30_000);
      await waitFor(() => h.store.replaces.length === 2 && h.reflector.isWatching(), 'relist');
      assert.deepEqual(h.store.tombstones.sort(), ['default/cm-00001', 'default/cm-00003']);
      assert.deepEqual(h.store.keys(), [
        'default/born-in-gap',
        'default/cm-00000',
        'default/cm-00002',
        'default/cm-00004',
      ]);
      assert.ok(
        h.errors.some((e) => e.stage === 'watch-event' && e.apiStatus?.isGone()),
        'the 410 was reported',
      );
      // As client-go: the relist after a watch 410 asks for the last synced RV ("not older than"),
      // unpaged because the first list fit one page (an RV with a limit would be an exact read).
      const lists = h.requests().filter((r) => !query(r).has('watch'));
      assert.equal(query(lists.at(-1)!).get('resourceVersion'), syncedRv);
      assert.equal(query(lists.at(-1)!).has('limit'), false);
      assert.equal(h.reflector.lastSyncResourceVersion(), h.server.resourceVersion());
    } finally {
      await h.stop();
    }
  });

  it('a relist from an RV pages only when the server paged before; a compacted exact read falls back to ""', async () => {
    const h = await startHarness({ objects: many(5), reflector: { pageSize: 2 } });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      const syncedRv = h.reflector.lastSyncResourceVersion();
      await h.server.faults.pause();
      await waitFor(() => h.reflector.phase() === 'backoff', 'backoff after the break');
      h.server.create(configMap('born-in-gap'));
      h.server.faults.compactHistory();
      await h.server.faults.resume();
      await h.clock.advance(30_000);
      await waitFor(() => h.store.replaces.length === 2 && h.reflector.isWatching(), 'relist');
      const lists = h.requests().filter((r) => !query(r).has('watch') && !query(r).has('continue'));
      const relists = lists.slice(1).map((r) => query(r));
      // The initial list came in pages, so the relist from the synced RV pages too: an exact
      // read, which compaction has made impossible (410), so the reflector lists from "".
      assert.equal(relists[0]?.get('resourceVersion'), syncedRv);
      assert.equal(relists[0]?.get('limit'), '2');
      assert.equal(relists.at(-1)?.get('resourceVersion') ?? '', '', 'a consistent read');
      assert.equal(h.store.keys().length, 6);
    } finally {
      await h.stop();
    }
  });

  it('an ERROR 410 event relists; an ERROR 500 event backs off and re-watches from the last RV', async () => {
    const h = await startHarness({ objects: many(3) });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      const rv = h.reflector.lastSyncResourceVersion();
      h.server.faults.injectWatchError(500);
      const delay = await nextBackoff(h);
      assert.ok(delay >= 600 && delay <= 800, `first backoff ${delay}`);
      assert.equal(h.errors.at(-1)!.stage, 'watch-event');
      assert.equal(h.errors.at(-1)!.apiStatus?.statusCode, 500);
      await h.clock.advance(delay);
      await waitFor(() => h.reflector.isWatching(), 're-watch');
      const watches = h.requests().filter((r) => query(r).has('watch'));
      assert.equal(watches.length, 2);
      assert.equal(
        query(watches[1]!).get('resourceVersion'),
        rv,
        're-watch from the last RV, no relist',
      );
      assert.equal(h.store.replaces.length, 1);

      h.server.faults.injectWatchError({
        kind: 'Status',
        status: 'Failure',
        code: 410,
        reason: 'Expired',
        message: 'too old',
      });
      await waitFor(
        () => h.store.replaces.length === 2 && h.reflector.isWatching(),
        'relist after ERROR 410',
      );
      assert.equal(h.errors.at(-1)!.stage, 'watch-event');
      assert.ok(h.errors.at(-1)!.apiStatus?.isGone());
    } finally {
      await h.stop();
    }
  });

  it('a refused watch request is a watch-start failure: backoff, then watch again from the same RV', async () => {
    const h = await startHarness({ objects: many(2) });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      const rv = h.reflector.lastSyncResourceVersion();
      h.server.faults.failNext({ status: 403, watch: true });
      h.server.faults.breakWatches();
      const afterCut = await nextBackoff(h); // the broken stream: the shortest delay, no escalation
      assert.equal(afterCut, 800);
      await h.clock.advance(afterCut);
      const delay = await nextBackoff(h); // after the 403: the backoff proper, first step
      assert.ok(delay >= 600 && delay <= 800, `first backoff ${delay}`);
      assert.deepEqual(
        h.errors.map((e) => e.stage),
        ['watch-stream', 'watch-start'],
      );
      assert.equal(h.errors[1]!.apiStatus?.statusCode, 403);
      await h.clock.advance(delay);
      await waitFor(() => h.reflector.isWatching(), 'watching again');
      const watches = h.requests().filter((r) => query(r).has('watch'));
      assert.ok(watches.every((w) => query(w).get('resourceVersion') === rv));
      assert.equal(h.store.replaces.length, 1);
    } finally {
      await h.stop();
    }
  });

  it('an idle watch cut again and again (a proxy idle timeout) waits the shortest delay each time, never climbing', async () => {
    const h = await startHarness({ objects: many(1) });
    try {
      for (let i = 0; i < 5; i++) {
        await waitFor(() => h.reflector.isWatching(), `watching (${i})`);
        h.server.faults.breakWatches();
        const d = await nextBackoff(h);
        assert.equal(d, 800, `cut ${i} waited ${d} ms`);
        await h.clock.advance(d);
      }
      await waitFor(() => h.reflector.isWatching(), 'watching at the end');
      h.server.create(configMap('after-cuts'));
      await waitFor(() => h.store.keys().includes('default/after-cuts'), 'the change arrives');
      assert.equal(h.store.replaces.length, 1, 'no relist');
    } finally {
      await h.stop();
    }
  });

  it('a watch that delivered events reconnects at once when cut, cut after cut (no climbing backoff)', async () => {
    const h = await startHarness({ objects: many(2) });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      for (let i = 0; i < 6; i++) {
        h.server.create(configMap(`cut-${i}`));
        await waitFor(() => h.store.keys().includes(`default/cut-${i}`), `event ${i} applied`);
        const watchesBefore = h.requests().filter((r) => query(r).has('watch')).length;
        h.server.faults.breakWatches();
        // No clock advance: the reconnect must not wait for any backoff timer.
        await waitFor(
          () =>
            h.requests().filter((r) => query(r).has('watch')).length === watchesBefore + 1 &&
            h.reflector.isWatching(),
          `reconnected at once after cut ${i}`,
        );
        assert.notEqual(h.reflector.phase(), 'backoff');
      }
      assert.equal(h.errors.length, 6, 'each cut is still reported');
      assert.ok(h.errors.every((e) => e.stage === 'watch-stream'));
      assert.equal(h.store.replaces.length, 1, 'no relist');
    } finally {
      await h.stop();
    }
  });

  it('progress resets the backoff: after events, the next failure waits the shortest delay again', async () => {
    const h = await startHarness({ objects: many(1) });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      // Three refused watch starts climb the backoff: ~800, ~1600, ~3200 ms.
      h.server.faults.failNext({ status: 500, count: 3, watch: true });
      h.server.faults.breakWatches();
      await h.clock.advance(await nextBackoff(h)); // after the break (no events: backs off)
      const delays: number[] = [];
      for (let i = 0; i < 3; i++) {
        const d = await nextBackoff(h);
        delays.push(d);
        await h.clock.advance(d);
      }
      assert.ok(delays[2]! >= 3200 * 0.75 && delays[2]! <= 6400, `climbed: ${delays.join(', ')}`);
      await waitFor(() => h.reflector.isWatching(), 'watching again');
      h.server.create(configMap('progress'));
      await waitFor(() => h.store.keys().includes('default/progress'), 'event applied');
      // A refused start right after progress: back to the first delay.
      h.server.faults.failNext({ status: 500, count: 1, watch: true });
      h.server.faults.closeWatches();
      const after = await nextBackoff(h);
      assert.ok(after >= 600 && after <= 800, `reset to the first delay, got ${after}`);
    } finally {
      await h.stop();
    }
  });

  it('a server answering every watch with 410 gets relists at a climbing backoff, not a LIST every 800 ms', async () => {
    const h = await startHarness({ objects: many(1) });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      h.server.faults.failNext({ status: 410, count: 6, watch: true });
      h.server.faults.breakWatches();
      // The break itself backs off once (no events on the fake clock); the first 410 relists at
      // once; from the second on, each relist waits longer than the one before.
      const delays: number[] = [];
      for (let i = 0; i < 5; i++) {
        const d = await nextBackoff(h);
        delays.push(d);
        await h.clock.advance(d);
      }
      for (let i = 2; i < delays.length; i++) {
        assert.ok(delays[i]! > delays[i - 1]!, `climbing: ${delays.join(', ')} (seed ${SEED})`);
      }
      assert.ok(delays[4]! >= 6400 * 0.75, `reached ${delays[4]} ms (seed ${SEED})`);
      assert.ok(h.store.replaces.length >= 4, 'each 410 still relists');
      await h.clock.advance(await nextBackoff(h));
      await waitFor(() => h.reflector.isWatching(), 'watching once the 410s stop');
      h.server.create(configMap('after-410s'));
      await waitFor(() => h.store.keys().includes('default/after-410s'), 'event applied');
    } finally {
      await h.stop();
    }
  });

  it('stops promptly on abort, while watching or backing off, and run() resolves', async () => {
    const h = await startHarness({ objects: many(1) });
    await waitFor(() => h.reflector.isWatching(), 'watching');
    await h.stop();
    await h.running; // resolves, does not reject
    assert.equal(h.reflector.isWatching(), false);
    assert.equal(h.reflector.phase(), 'stopped');

    const b = await startHarness({ objects: many(1), start: false });
    b.server.faults.failNext({ status: 500, count: 10, watch: false });
    await b.start();
    await nextBackoff(b);
    await b.stop();
    await b.running;
    assert.equal(b.reflector.hasSynced(), false);
    assert.equal(b.clock.pendingTimers(), 0, 'the backoff timer was cleared');
  });

  it('honours Retry-After on 429', async () => {
    const h = await startHarness({ objects: many(2), start: false });
    h.server.faults.failNext({ status: 429, retryAfterSeconds: 7, watch: false });
    try {
      await h.start();
      const delay = await nextBackoff(h);
      assert.equal(delay, 7000);
      assert.equal(h.errors[0]!.stage, 'list');
      assert.equal(h.errors[0]!.apiStatus?.statusCode, 429);
      await h.clock.advance(6999);
      assert.equal(h.reflector.hasSynced(), false);
      await h.clock.advance(1);
      await waitFor(() => h.reflector.hasSynced(), 'synced after Retry-After');
    } finally {
      await h.stop();
    }
  });

  it('lists from "" after the server says the RV is too large', async () => {
    const h = await startHarness({ objects: many(2), start: false });
    h.server.faults.failNext({
      status: 504,
      watch: false,
      message: 'Too large resource version: 99, current: 3',
    });
    try {
      await h.start();
      await waitFor(() => h.reflector.hasSynced(), 'synced');
      const lists = h.requests().filter((r) => !query(r).has('watch'));
      assert.equal(query(lists[0]!).get('resourceVersion'), '0');
      assert.equal(query(lists[1]!).get('resourceVersion'), null, 'then a consistent read');
      assert.equal(h.store.objects.size, 2);
    } finally {
      await h.stop();
    }
  });

  it('backs off exponentially with jitter on 500s (800 ms doubling), then recovers', async () => {
    const h = await startHarness({ objects: many(2), start: false });
    h.server.faults.failNext({ status: 500, count: 6, watch: false });
    try {
      await h.start();
      const delays: number[] = [];
      for (let i = 0; i < 6; i++) {
        const d = await nextBackoff(h);
        delays.push(d);
        await h.clock.advance(d);
      }
      const nominal = [800, 1600, 3200, 6400, 12800, 25600];
      delays.forEach((d, i) => {
        assert.ok(d <= nominal[i]! && d >= nominal[i]! * 0.75, `delay ${i} = ${d} (seed ${SEED})`);
      });
      await waitFor(() => h.reflector.hasSynced(), 'synced');
      assert.equal(h.errors.length, 6);
      assert.ok(h.errors.every((e) => e.stage === 'list' && e.cause instanceof ApiStatusError));
    } finally {
      await h.stop();
    }
  });

  it('gives up with a typed terminal error when the retry budget is spent', async () => {
    const h = await startHarness({ objects: many(1), reflector: { retryBudget: 2 }, start: false });
    h.server.faults.failNext({ status: 503, count: 100, watch: false });
    try {
      await h.start();
      for (let i = 0; i < 2; i++) await h.clock.advance(await nextBackoff(h));
      await assert.rejects(h.running, (err: unknown) => {
        assert.ok(err instanceof ReflectorRetryBudgetExhaustedError);
        assert.equal(err.code, 'ReflectorRetryBudgetExhausted');
        assert.equal(err.failures, 3);
        assert.equal(err.lastError.stage, 'list');
        return true;
      });
      assert.ok(
        h.errors.at(-1) instanceof ReflectorRetryBudgetExhaustedError,
        'the hook saw the terminal error',
      );
    } finally {
      await h.stop();
    }
  });

  it('survives a connection cut in the middle of a line: nothing half-applied, nothing lost', async () => {
    const h = await startHarness({ objects: many(3) });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      h.server.faults.cutAfterBytes(120); // the next watch dies inside its first event line
      h.server.faults.breakWatches();
      await h.clock.advance(await nextBackoff(h));
      await waitFor(() => h.reflector.isWatching(), 'second watch');
      for (let i = 0; i < 3; i++) h.server.create(configMap(`after-cut-${i}`));
      await h.clock.advance(await nextBackoff(h));
      await waitFor(
        () => h.store.objects.size === 6 && h.reflector.isWatching(),
        'all events after the cut',
      );
      assert.equal(h.reflector.lastSyncResourceVersion(), h.server.resourceVersion());
      assert.equal(h.store.replaces.length, 1, 'no relist needed');
      assert.ok(
        h.errors.every((e) => e.stage === 'watch-stream'),
        h.errors.map((e) => e.message).join('\n'),
      );
      assert.equal(h.errors.length, 2);
    } finally {
      await h.stop();
    }
  });

  it('bookmarks advance the resourceVersion', async () => {
    const h = await startHarness({ objects: many(2) });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      // Changes to another resource move the global RV without a configmap event.
      h.server.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's', namespace: 'default' },
      } as KubeObject);
      h.server.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 't', namespace: 'default' },
      } as KubeObject);
      const before = h.reflector.lastSyncResourceVersion();
      assert.notEqual(before, h.server.resourceVersion());
      h.server.faults.sendBookmarks();
      await waitFor(
        () => h.reflector.lastSyncResourceVersion() === h.server.resourceVersion(),
        'bookmark RV',
      );
      assert.equal(
        h.store.calls.at(-1),
        'replace 2 @' + h.store.replaces[0]!.rv,
        'a bookmark touches no object',
      );
    } finally {
      await h.stop();
    }
  });

  it('detects a stalled watch and reconnects; bytes (bookmarks) keep a quiet watch alive', async () => {
    const h = await startHarness({ objects: many(1), reflector: { stallTimeoutMs: 5000 } });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      await h.clock.advance(4000);
      h.server.faults.sendBookmarks();
      await waitFor(
        () => h.reflector.lastSyncResourceVersion() === h.server.resourceVersion(),
        'bookmark',
      );
      await h.clock.advance(4000);
      assert.equal(h.errors.length, 0, 'the bookmark kept it alive');
      assert.ok(h.reflector.isWatching());
      await h.clock.advance(1000);
      await waitFor(() => h.errors.length === 1, 'stall reported');
      assert.equal(h.errors[0]!.stage, 'watch-stream');
      assert.ok(h.errors[0]!.cause instanceof WatchStalledError);
      await waitFor(
        () =>
          h.requests().filter((r) => query(r).has('watch')).length === 2 &&
          h.reflector.isWatching(),
        'reconnect',
      );
      h.server.create(configMap('after-stall'));
      await waitFor(() => h.store.objects.has('default/after-stall'), 'event after reconnect');
    } finally {
      await h.stop();
    }
  });

  it('streaming list: one watch with sendInitialEvents replaces the store at the end bookmark and keeps watching', async () => {
    const h = await startHarness({ objects: many(700), reflector: { streamingList: true } });
    try {
      await waitFor(() => h.reflector.hasSynced() && h.reflector.isWatching(), 'synced');
      assert.equal(h.store.objects.size, 700);
      assert.equal(h.store.replaces.length, 1);
      assert.equal(h.store.replaces[0]!.rv, h.server.resourceVersion());
      const reqs = h.requests();
      assert.equal(reqs.length, 1, reqs.join('\n'));
      const q = query(reqs[0]!);
      assert.equal(q.get('sendInitialEvents'), 'true');
      assert.equal(q.get('resourceVersionMatch'), 'NotOlderThan');
      h.server.create(configMap('live'));
      await waitFor(() => h.store.objects.has('default/live'), 'live event on the same stream');
      assert.equal(h.requests().length, 1);
    } finally {
      await h.stop();
    }
  });

  it('streaming list falls back to LIST when the server refuses it', async () => {
    const h = await startHarness({
      objects: many(3),
      reflector: { streamingList: true },
      start: false,
    });
    h.server.faults.failNext({
      status: 422,
      predicate: (r) => r.query.get('sendInitialEvents') === 'true',
    });
    try {
      await h.start();
      await waitFor(() => h.reflector.hasSynced() && h.reflector.isWatching(), 'synced via LIST');
      assert.equal(h.store.objects.size, 3);
      assert.equal(h.errors[0]!.stage, 'watch-start');
      assert.equal(h.errors[0]!.apiStatus?.statusCode, 422);
      const reqs = h.requests();
      assert.equal(query(reqs[1]!).has('watch'), false, 'then a LIST');
      // Later relists stay on LIST.
      h.server.faults.injectWatchError({
        kind: 'Status',
        status: 'Failure',
        code: 410,
        reason: 'Expired',
      });
      await waitFor(() => h.store.replaces.length === 2, 'relist');
      assert.ok(
        h
          .requests()
          .slice(2)
          .every((r) => query(r).get('sendInitialEvents') === null),
      );
    } finally {
      await h.stop();
    }
  });

  it('objects moving in and out of a label selector arrive and leave', async () => {
    const h = await startHarness({
      objects: [configMap('a', { app: 'web' }), configMap('b', { app: 'db' })],
      reflector: { labelSelector: 'app=web' },
    });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      assert.deepEqual(h.store.keys(), ['default/a']);
      assert.equal(query(h.requests()[0]!).get('labelSelector'), 'app=web');
      const b = h.server.get<KubeObject>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'default',
        name: 'b',
      })!;
      h.server.update({ ...b, metadata: { ...b.metadata, labels: { app: 'web' } } });
      await waitFor(() => h.store.objects.has('default/b'), 'b moved in');
      const a = h.server.get<KubeObject>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'default',
        name: 'a',
      })!;
      h.server.update({ ...a, metadata: { ...a.metadata, labels: { app: 'other' } } });
      await waitFor(() => !h.store.objects.has('default/a'), 'a moved out');
      assert.deepEqual(h.store.calls.slice(1), ['add default/b', 'delete default/a']);
    } finally {
      await h.stop();
    }
  });

  it("feeds the store engineer's indexer: relist replaces its contents", async () => {
    const indexer = createIndexer<KubeObject>();
    const h = await startHarness({ objects: many(4), reflector: { store: indexer } });
    try {
      await waitFor(() => h.reflector.isWatching(), 'watching');
      assert.equal(indexer.size, 4);
      h.server.faults.breakWatches();
      await waitFor(() => h.reflector.phase() === 'backoff', 'backoff');
      h.server.delete({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'default',
        name: 'cm-00000',
      });
      h.server.faults.compactHistory();
      await h.clock.advance(await nextBackoff(h));
      await waitFor(
        () => indexer.size === 3 && h.reflector.isWatching(),
        'relisted into the indexer',
      );
      assert.equal(indexer.getByKey('default/cm-00000'), undefined);
    } finally {
      await h.stop();
    }
  });

  for (const streamingList of [false, true]) {
    it(`a store that rejects a ${streamingList ? 'streamed' : 'paged'} list is reported, then the list is retried after a backoff`, async () => {
      const h = await startHarness({
        objects: many(20),
        reflector: { streamingList },
        start: false,
      });
      const replace = h.store.replace.bind(h.store);
      let rejections = 0;
      h.store.replace = (items, rv) => {
        if (rejections++ === 0) throw new Error('store is full');
        replace(items, rv);
      };
      try {
        await h.start();
        const delay = await nextBackoff(h);
        assert.equal(h.reflector.hasSynced(), false);
        assert.equal(h.errors.length, 1);
        assert.equal(h.errors[0]!.stage, 'list');
        assert.match(h.errors[0]!.message, /store rejected the listed items/);
        assert.match(String((h.errors[0]!.cause as Error).message), /store is full/);
        await h.clock.advance(delay);
        await waitFor(() => h.reflector.isWatching(), 'watching after the retry');
        assert.equal(rejections, 2);
        assert.equal(h.store.objects.size, 20);
        assert.equal(h.reflector.lastSyncResourceVersion(), h.store.replaces[0]!.rv);
      } finally {
        await h.stop();
      }
    });
  }
});
