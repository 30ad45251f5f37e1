// The raw watcher over real HTTP against the embedded API server, on a FakeClock: every event
// type, resumption without gaps or duplicates, 410 relists, backoff, bookmarks, abort, pace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ApiServer, startApiServer } from '@kubecache/apiserver';
import {
  FakeClock,
  type KubeObject,
  type ListerWatcher,
  type WatchEvent,
  type Watcher,
  type WatcherEvent,
  type WatcherOptions,
  seededRandom,
  watch,
  WatchStalledError,
} from '@kubecache/cache';
import { KubeListerWatcher } from '@kubecache/client';
import { CONFIGMAPS, configMap, kubeConfigOf, SEED, waitFor } from './reflector-helpers.ts';

const many = (n: number): KubeObject[] => Array.from({ length: n }, (_, i) => configMap(`cm-${i}`));
const CM = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default' } as const;

function query(url: string): URLSearchParams {
  return new URL(url.split(' ')[1]!, 'http://x').searchParams;
}

/** A watcher over HTTP, pulled one event at a time by the test. */
interface Setup {
  readonly server: ApiServer;
  readonly clock: FakeClock;
  readonly watcher: Watcher<KubeObject>;
  readonly abort: AbortController;
  /** The next event (fails after 5 s of real time). */
  next(what?: string): Promise<WatcherEvent<KubeObject>>;
  /** Starts pulling; the promise settles with the next event or the end. */
  pull(): Promise<IteratorResult<WatcherEvent<KubeObject>>>;
  /** Configmap requests: `LIST …` / `WATCH …` URLs in order. */
  lists(): string[];
  watches(): string[];
  close(): Promise<void>;
}

async function setup(
  options: {
    objects?: KubeObject[];
    watcher?: Partial<WatcherOptions>;
    namespace?: string;
  } = {},
): Promise<Setup> {
  const server = await startApiServer({ bookmarkIntervalMs: 0, objects: options.objects });
  const clock = new FakeClock(1_000_000);
  const abort = new AbortController();
  const lw = new KubeListerWatcher<KubeObject>(kubeConfigOf(server), {
    resource: CONFIGMAPS,
    namespace: options.namespace ?? 'default',
  });
  const watcher = watch(lw, {
    signal: abort.signal,
    clock,
    random: seededRandom(SEED),
    stallTimeoutMs: 0,
    ...options.watcher,
  });
  const it = watcher[Symbol.asyncIterator]();
  const requests = (watching: boolean): string[] =>
    server.stats.log
      .filter(
        (r) => r.url.includes('configmaps') && query(`GET ${r.url}`).has('watch') === watching,
      )
      .map((r) => r.url);
  const pull = (): Promise<IteratorResult<WatcherEvent<KubeObject>>> => it.next();
  return {
    server,
    clock,
    watcher,
    abort,
    pull,
    async next(what = 'an event') {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
      });
      try {
        const r = await Promise.race([pull(), timeout]);
        if (r.done === true) throw new Error(`iteration ended while waiting for ${what}`);
        return r.value;
      } finally {
        clearTimeout(timer);
      }
    },
    lists: () => requests(false),
    watches: () => requests(true),
    async close() {
      abort.abort();
      await it.return?.();
      await server.close();
    },
  };
}

/** A one-line summary of an event, for exact sequence assertions. */
function show(ev: WatcherEvent<KubeObject>): string {
  switch (ev.type) {
    case 'RESTARTED':
      return `RESTARTED ${ev.objects.map((o) => o.metadata?.name).join(',')}`;
    case 'BOOKMARK':
      return 'BOOKMARK';
    case 'ERROR':
      return `ERROR ${ev.error.stage} ${ev.error.apiStatus?.statusCode ?? ev.error.cause} ${ev.recovery}`;
    default:
      return `${ev.type} ${ev.object.metadata?.name}`;
  }
}

function rvOf(ev: WatcherEvent<KubeObject>): number {
  if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') {
    return Number(ev.object.metadata?.resourceVersion);
  }
  return ev.type === 'BOOKMARK' || ev.type === 'RESTARTED' ? Number(ev.resourceVersion) : NaN;
}

/**
 * Waits until the server holds the watcher's watch. The watcher is pull-based: it opens the
 * watch only when pulled after RESTARTED, so a fault injected before that reaches nothing.
 */
function watchOpen(s: Setup): Promise<void> {
  return waitFor(() => s.server.stats.activeWatches === 1, 'an open watch');
}

/** Waits until the watcher sits in a backoff timer and returns the delay it chose. */
async function backoffDelay(s: Setup): Promise<number> {
  await waitFor(
    () => s.watcher.phase() === 'backoff' && s.clock.nextDue() !== undefined,
    'a backoff',
  );
  return s.clock.nextDue()! - s.clock.now();
}

describe(`watch() over HTTP (seed ${SEED})`, () => {
  it('lists into one RESTARTED, then yields ADDED, MODIFIED, DELETED and BOOKMARK in order', async () => {
    const s = await setup({ objects: many(3) });
    try {
      const first = await s.next('the initial list');
      assert.equal(show(first), 'RESTARTED cm-0,cm-1,cm-2');
      assert.ok(first.type === 'RESTARTED' && first.initial);
      assert.equal(rvOf(first), Number(s.server.resourceVersion()));
      assert.equal(first.objects[0]?.kind, 'ConfigMap');
      const list = query(`GET ${s.lists()[0]}`);
      assert.equal(list.get('resourceVersion'), '0');
      assert.equal(list.get('limit'), '500');

      const pending = s.next('ADDED live');
      await watchOpen(s);
      s.server.create(configMap('live'));
      s.server.patch({ ...CM, name: 'live' }, { data: { v: 'changed' } }, 'merge');
      s.server.delete({ ...CM, name: 'cm-1' });
      s.server.faults.sendBookmarks();
      const events = [await pending, await s.next(), await s.next(), await s.next()];
      assert.deepEqual(events.map(show), [
        'ADDED live',
        'MODIFIED live',
        'DELETED cm-1',
        'BOOKMARK',
      ]);
      const rvs = events.map(rvOf);
      assert.deepEqual(
        [...rvs].sort((a, b) => a - b),
        rvs,
        'in resourceVersion order',
      );
      assert.equal(rvs[3], Number(s.server.resourceVersion()));
      assert.equal(s.watcher.resourceVersion(), s.server.resourceVersion());

      const w = query(`GET ${s.watches()[0]}`);
      assert.equal(w.get('resourceVersion'), String(rvOf(first)), 'watch from the list RV');
      assert.equal(w.get('allowWatchBookmarks'), 'true');
      const timeout = Number(w.get('timeoutSeconds'));
      assert.ok(timeout >= 300 && timeout < 600, `timeoutSeconds ${timeout}`);
      assert.equal(s.watches().length, 1);
    } finally {
      await s.close();
    }
  });

  it('resumes from the last event RV after closeWatches: no duplicates, no gaps, no relist', async () => {
    const s = await setup({ objects: many(2) });
    try {
      await s.next('RESTARTED');
      s.server.create(configMap('a'));
      const a = await s.next('ADDED a');
      assert.equal(show(a), 'ADDED a');
      // The consumer is not pulling: the server ends the watch and changes happen meanwhile.
      s.server.faults.closeWatches();
      s.server.create(configMap('b'));
      s.server.patch({ ...CM, name: 'a' }, { data: { v: 'a2' } }, 'merge');
      s.server.delete({ ...CM, name: 'cm-0' });
      const gap = [await s.next(), await s.next(), await s.next()];
      assert.deepEqual(gap.map(show), ['ADDED b', 'MODIFIED a', 'DELETED cm-0']);
      assert.ok(rvOf(gap[0]!) > rvOf(a));
      // Nothing more is queued: the next event is the bookmark we ask for now.
      s.server.faults.sendBookmarks();
      assert.equal(show(await s.next()), 'BOOKMARK');
      assert.equal(s.lists().length, 1, 'no relist');
      assert.equal(s.watches().length, 2);
      assert.equal(query(`GET ${s.watches()[1]}`).get('resourceVersion'), String(rvOf(a)));
    } finally {
      await s.close();
    }
  });

  it('resumes from a BOOKMARK resourceVersion after a reconnect', async () => {
    const s = await setup({ objects: many(1) });
    try {
      const listed = await s.next('RESTARTED');
      // A write the namespaced watch does not see moves the server's RV on.
      s.server.create(configMap('elsewhere', undefined, 'other'));
      const pending = s.next('BOOKMARK');
      await watchOpen(s);
      s.server.faults.sendBookmarks();
      const bookmark = await pending;
      assert.equal(bookmark.type, 'BOOKMARK');
      assert.ok(rvOf(bookmark) > rvOf(listed));
      assert.equal(s.watcher.resourceVersion(), String(rvOf(bookmark)));
      s.server.create(configMap('after'));
      // The create went to the open watch; end it and write once more.
      assert.equal(show(await s.next()), 'ADDED after');
      s.server.faults.sendBookmarks();
      const second = await s.next('second BOOKMARK');
      s.server.faults.closeWatches();
      s.server.create(configMap('resumed'));
      assert.equal(show(await s.next()), 'ADDED resumed');
      assert.equal(query(`GET ${s.watches()[1]}`).get('resourceVersion'), String(rvOf(second)));
    } finally {
      await s.close();
    }
  });

  it('410 after compaction and a broken watch: ERROR, backoff, ERROR 410, RESTARTED with the current objects', async () => {
    const s = await setup({ objects: many(3), watcher: { backoff: { jitter: 0 } } });
    try {
      const first = await s.next('RESTARTED');
      const pendingBreak = s.next('the broken watch');
      await watchOpen(s);
      s.server.faults.breakWatches();
      // While disconnected: a delete, a create, then the history is gone.
      s.server.delete({ ...CM, name: 'cm-1' });
      s.server.create(configMap('born-in-gap'));
      s.server.faults.compactHistory();
      const broken = await pendingBreak;
      assert.equal(broken.type, 'ERROR');
      assert.equal(broken.error.stage, 'watch-stream');
      assert.equal(broken.recovery, 'rewatch');
      assert.equal(broken.delayMs, 800);
      assert.equal(broken.error.resourceVersion, String(rvOf(first)));
      const pending = s.next('the 410');
      assert.equal(await backoffDelay(s), 800);
      await s.clock.advance(800);
      const gone = await pending;
      assert.equal(show(gone), 'ERROR watch-event 410 relist');
      assert.ok(gone.type === 'ERROR' && gone.delayMs === 0, 'a first 410 relists at once');
      const restarted = await s.next('RESTARTED');
      assert.equal(show(restarted), 'RESTARTED born-in-gap,cm-0,cm-2');
      assert.ok(restarted.type === 'RESTARTED' && !restarted.initial);
      assert.equal(rvOf(restarted), Number(s.server.resourceVersion()));
      assert.equal(s.lists().length, 2);
      // Watching again from the relist's RV.
      s.server.create(configMap('z'));
      assert.equal(show(await s.next()), 'ADDED z');
      assert.equal(
        query(`GET ${s.watches().at(-1)}`).get('resourceVersion'),
        String(rvOf(restarted)),
      );
    } finally {
      await s.close();
    }
  });

  it('an injected ERROR 410 event relists at once', async () => {
    const s = await setup({ objects: many(1) });
    try {
      await s.next('RESTARTED');
      const pending = s.next('ERROR 410');
      await watchOpen(s);
      s.server.faults.injectWatchError(410);
      assert.equal(show(await pending), 'ERROR watch-event 410 relist');
      assert.equal(show(await s.next()), 'RESTARTED cm-0');
      assert.equal(s.clock.now(), 1_000_000, 'no waiting');
    } finally {
      await s.close();
    }
  });

  it('ERROR event 500: backs off (doubling while failing), resumes from the last RV, resets after events', async () => {
    const s = await setup({ objects: many(1), watcher: { backoff: { jitter: 0 } } });
    try {
      await s.next('RESTARTED');
      s.server.create(configMap('a'));
      const a = await s.next('ADDED a');
      s.server.faults.injectWatchError(500);
      const e1 = await s.next('ERROR 500');
      assert.equal(show(e1), 'ERROR watch-event 500 rewatch');
      assert.ok(e1.type === 'ERROR' && e1.delayMs === 800);
      // The re-watch fails too (HTTP 500): the delay doubles.
      s.server.faults.failNext({ status: 500, watch: true, path: '/configmaps' });
      let pending = s.next('HTTP 500');
      assert.equal(await backoffDelay(s), 800);
      await s.clock.advance(800);
      const e2 = await pending;
      assert.equal(show(e2), 'ERROR watch-start 500 rewatch');
      assert.ok(e2.type === 'ERROR' && e2.delayMs === 1600);
      s.server.create(configMap('during-backoff'));
      pending = s.next('ADDED during-backoff');
      assert.equal(await backoffDelay(s), 1600);
      await s.clock.advance(1600);
      assert.equal(show(await pending), 'ADDED during-backoff');
      const resumed = s.watches().at(-1)!;
      assert.equal(query(`GET ${resumed}`).get('resourceVersion'), String(rvOf(a)));
      // That watch delivered an event: the next failure starts from 800 ms again.
      s.server.faults.injectWatchError(500);
      const e3 = await s.next('ERROR 500 again');
      assert.ok(e3.type === 'ERROR' && e3.delayMs === 800, show(e3));
      assert.equal(s.lists().length, 1, 'never relisted');
    } finally {
      await s.close();
    }
  });

  it('a failed list is retried after a backoff; 429 waits for Retry-After', async () => {
    const s = await setup({ objects: many(1), watcher: { backoff: { jitter: 0 } } });
    s.server.faults.failNext({
      status: 429,
      path: '/configmaps',
      watch: false,
      retryAfterSeconds: 3,
    });
    s.server.faults.failNext({ status: 503, path: '/configmaps', watch: false });
    try {
      const e1 = await s.next('429');
      assert.equal(show(e1), 'ERROR list 429 relist');
      assert.ok(e1.type === 'ERROR' && e1.delayMs === 3000);
      let pending = s.next('503');
      await s.clock.advance(3000);
      const e2 = await pending;
      assert.ok(e2.type === 'ERROR' && e2.delayMs === 800, show(e2));
      pending = s.next('RESTARTED');
      await backoffDelay(s);
      await s.clock.advance(800);
      const restarted = await pending;
      assert.ok(restarted.type === 'RESTARTED' && restarted.initial);
    } finally {
      await s.close();
    }
  });

  it('aborting ends the iteration cleanly: while waiting for an event, during a backoff, before the start', async () => {
    const s = await setup({ objects: many(1) });
    try {
      await s.next('RESTARTED');
      const pending = s.pull();
      await watchOpen(s);
      s.abort.abort();
      assert.deepEqual(await pending, { done: true, value: undefined });
      assert.equal(s.watcher.phase(), 'stopped');
      await waitFor(() => s.server.stats.activeWatches === 0, 'the watch closed');
      assert.deepEqual(await s.pull(), { done: true, value: undefined });
    } finally {
      await s.close();
    }

    const b = await setup({ objects: many(1) });
    try {
      await b.next('RESTARTED');
      const error = b.next('ERROR');
      await watchOpen(b);
      b.server.faults.injectWatchError(500);
      await error;
      const pending = b.pull();
      await backoffDelay(b);
      b.abort.abort();
      assert.deepEqual(await pending, { done: true, value: undefined });
      assert.equal(b.clock.pendingTimers(), 0, 'the backoff timer is cleared');
    } finally {
      await b.close();
    }

    const c = await setup({ objects: many(1) });
    try {
      c.abort.abort();
      assert.deepEqual(await c.pull(), { done: true, value: undefined });
      assert.equal(c.lists().length + c.watches().length, 0, 'no request at all');
    } finally {
      await c.close();
    }
  });

  it('breaking out of for-await closes the watch; the watcher can be iterated again', async () => {
    const server = await startApiServer({ bookmarkIntervalMs: 0, objects: many(2) });
    const lw = new KubeListerWatcher<KubeObject>(kubeConfigOf(server), { resource: CONFIGMAPS });
    const ac = new AbortController();
    const w = watch(lw, { signal: ac.signal, clock: new FakeClock(), random: seededRandom(SEED) });
    try {
      const seen: string[] = [];
      for await (const ev of w) {
        seen.push(show(ev));
        if (ev.type === 'RESTARTED') server.create(configMap('x'));
        else break;
      }
      assert.deepEqual(seen, ['RESTARTED cm-0,cm-1', 'ADDED x']);
      await waitFor(() => server.stats.activeWatches === 0, 'the watch closed');
      // One iteration at a time: a second one is refused while the first runs.
      const one = w[Symbol.asyncIterator]();
      assert.equal((await one.next()).value?.type, 'RESTARTED');
      await assert.rejects(w[Symbol.asyncIterator]().next(), /already iterated/);
      await one.return?.();
      for await (const ev of w) {
        assert.equal(show(ev), 'RESTARTED cm-0,cm-1,x', 'a new iteration lists again');
        break;
      }
    } finally {
      ac.abort();
      await server.close();
    }
  });

  it('starts at a given resourceVersion without listing; a compacted one relists', async () => {
    const server = await startApiServer({ bookmarkIntervalMs: 0, objects: many(1) });
    const lw = new KubeListerWatcher<KubeObject>(kubeConfigOf(server), { resource: CONFIGMAPS });
    const start = server.resourceVersion();
    server.create(configMap('after-start'));
    const ac = new AbortController();
    try {
      const it = watch(lw, { signal: ac.signal, resourceVersion: start })[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(first.done, false);
      assert.equal(show(first.value!), 'ADDED after-start');
      assert.equal(server.stats.lists, 0, 'no list');
      await it.return?.();

      server.faults.compactHistory();
      server.create(configMap('later'));
      const again = watch(lw, { signal: ac.signal, resourceVersion: start })[
        Symbol.asyncIterator
      ]();
      const gone = await again.next();
      assert.equal(show(gone.value!), 'ERROR watch-event 410 relist');
      const restarted = await again.next();
      assert.equal(show(restarted.value!), 'RESTARTED after-start,cm-0,later');
      assert.ok(restarted.value?.type === 'RESTARTED' && !restarted.value.initial);
      await again.return?.();
    } finally {
      ac.abort();
      await server.close();
    }
  });

  it('sendInitialEvents: one RESTARTED from a streaming list, then the same stream, no LIST', async () => {
    const s = await setup({ objects: many(3), watcher: { sendInitialEvents: true } });
    try {
      const first = await s.next('RESTARTED');
      assert.equal(show(first), 'RESTARTED cm-0,cm-1,cm-2');
      assert.ok(first.type === 'RESTARTED' && first.initial);
      s.server.create(configMap('live'));
      assert.equal(show(await s.next()), 'ADDED live');
      assert.equal(s.lists().length, 0);
      assert.equal(s.watches().length, 1);
      assert.equal(query(`GET ${s.watches()[0]}`).get('sendInitialEvents'), 'true');
    } finally {
      await s.close();
    }
  });

  it('collects every page of a paged list into one RESTARTED', async () => {
    const s = await setup({ objects: many(5), watcher: { pageSize: 2 } });
    try {
      const first = await s.next('RESTARTED');
      assert.ok(first.type === 'RESTARTED');
      assert.equal(first.objects.length, 5);
      assert.equal(s.lists().length, 3);
    } finally {
      await s.close();
    }
  });

  it('reconnects a stalled watch, counting only the time spent waiting for the server', async () => {
    const s = await setup({ objects: many(1), watcher: { stallTimeoutMs: 60_000 } });
    try {
      await s.next('RESTARTED');
      s.server.create(configMap('held'));
      const held = await s.next('ADDED held');
      // The consumer holds the event for longer than the window: not a stall.
      await s.clock.advance(120_000);
      s.server.create(configMap('next'));
      assert.equal(show(await s.next()), 'ADDED next');
      // Now the watcher waits on a silent server for the whole window.
      const pending = s.next('the stall');
      await waitFor(() => s.server.stats.activeWatches === 1, 'the watch');
      await new Promise((r) => setTimeout(r, 20));
      await s.clock.advance(60_000);
      const stalled = await pending;
      assert.ok(stalled.type === 'ERROR', show(stalled));
      assert.ok(stalled.error.cause instanceof WatchStalledError);
      assert.equal(stalled.error.stage, 'watch-stream');
      assert.equal(stalled.recovery, 'rewatch');
      assert.equal(stalled.delayMs, 0, 'a dead connection is retried at once');
      s.server.create(configMap('after-stall'));
      assert.equal(show(await s.next()), 'ADDED after-stall');
      assert.ok(rvOf(held) > 0);
      assert.equal(s.watches().length, 2);
    } finally {
      await s.close();
    }
  });
});

describe('watch() pace', () => {
  it('reads the next watch event only when the consumer asks for one', async () => {
    let pulls = 0;
    const events: WatchEvent<KubeObject>[] = [1, 2, 3, 4, 5].map((i) => ({
      type: 'ADDED',
      object: configMap(`e${i}`),
    }));
    const lw: ListerWatcher<KubeObject> = {
      list: async () => ({ items: [], resourceVersion: '1' }),
      watch: () => ({
        async *[Symbol.asyncIterator]() {
          for (const e of events) {
            pulls++;
            yield e;
          }
          await new Promise(() => {}); // then silence
        },
      }),
    };
    const ac = new AbortController();
    const it = watch(lw, { signal: ac.signal, clock: new FakeClock(), stallTimeoutMs: 0 })[
      Symbol.asyncIterator
    ]();
    assert.equal((await it.next()).value?.type, 'RESTARTED');
    assert.equal(pulls, 0, 'nothing read before the consumer asks');
    await it.next();
    await it.next();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(pulls, 2, 'exactly one read per event taken');
    ac.abort();
    await it.return?.();
  });
});
