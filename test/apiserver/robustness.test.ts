// The server must survive any interleaving of faults, client aborts and writes. The fuzz test is
// seeded: set KUBECACHE_SEED=<int> to explore, and use the seed printed on failure to replay.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@kubecache/cache';
import type { KubeObject } from '@kubecache/cache';
import type { ApiServer } from '@kubecache/apiserver';
import { cm, json, openWatch, setup } from './helpers.ts';
import type { WireEvent } from './helpers.ts';

const SEED = Number(process.env['KUBECACHE_SEED'] ?? Date.now() % 2147483647);

/** Collects what would have crashed the process (or been lost) while a test runs. */
function trapProcessErrors(): { errors: unknown[]; stop: () => void } {
  const errors: unknown[] = [];
  const onError = (err: unknown): void => {
    errors.push(err);
  };
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return {
    errors,
    stop: () => {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('apiserver never crashes', () => {
  let server: ApiServer;
  let trap: ReturnType<typeof trapProcessErrors>;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
  });
  after(() => server.close());
  beforeEach(() => {
    trap = trapProcessErrors();
  });
  afterEach(() => trap.stop());

  for (const [name, end] of [
    ['injectWatchError', (s: ApiServer) => s.faults.injectWatchError(410)],
    ['closeWatches', (s: ApiServer) => s.faults.closeWatches()],
  ] as const) {
    it(`${name} followed in the same tick by a change (no write after end)`, async () => {
      const rv = server.resourceVersion();
      const w = await openWatch(
        server,
        `/api/v1/namespaces/crash/configmaps?watch=true&resourceVersion=${rv}`,
      );
      const withBookmarks = await openWatch(
        server,
        `/api/v1/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`,
      );
      end(server);
      server.create(cm(`after-${name.toLowerCase()}`, 'crash'));
      server.faults.sendBookmarks();
      assert.deepEqual(await w.done, { broken: false }, 'the stream ended cleanly');
      await withBookmarks.done;
      await sleep(20);
      const types = w.events.map((e) => e.type);
      assert.deepEqual(
        types,
        name === 'injectWatchError' ? ['ERROR'] : [],
        'nothing after the end',
      );
      const list = await json(server, '/api/v1/namespaces/crash/configmaps');
      assert.equal(list.status, 200, 'the server is alive');
      assert.ok(
        (list.body['items'] as { metadata: { name: string } }[]).some(
          (i) => i.metadata.name === `after-${name.toLowerCase()}`,
        ),
      );
      assert.deepEqual(trap.errors, []);
    });
  }

  it(`survives random faults, aborts and writes (seed ${SEED}; set KUBECACHE_SEED to replay)`, async () => {
    try {
      await fuzz(server, seededRandom(SEED));
      assert.deepEqual(trap.errors, [], 'no uncaught exception or unhandled rejection');
    } catch (err) {
      throw new Error(`apiserver fuzz failed; replay with KUBECACHE_SEED=${SEED}`, { cause: err });
    }
  });
});

type Watch = Awaited<ReturnType<typeof openWatch>>;

/** Events of a watch from a resourceVersion come in resourceVersion order; bookmarks never go back. */
function assertOrdered(events: readonly WireEvent[]): void {
  let last = 0;
  for (const ev of events) {
    if (ev.type === 'ERROR') continue;
    const rv = Number(ev.object.metadata?.resourceVersion);
    if (ev.type === 'BOOKMARK') assert.ok(rv >= last, `bookmark ${rv} after ${last}`);
    else assert.ok(rv > last, `${ev.type} ${rv} after ${last}`);
    last = rv;
  }
}

async function fuzz(server: ApiServer, random: () => number): Promise<void> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  // A LIST of ~4 MB: several 1 MiB chunks, so a client can leave in the middle of it.
  const filler = 'x'.repeat(1000);
  for (let i = 0; i < 4000; i++) server.create(cm(`big-${i}`, 'fuzz-big', undefined, { filler }));
  const ordered: Watch[] = [];
  const all: Watch[] = [];
  const pending: Promise<unknown>[] = [];
  let names = 0;
  const write = (): void => {
    const ref = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'fuzz',
      name: `o${Math.floor(random() * 8)}`,
    };
    try {
      const r = random();
      if (server.get(ref) === undefined)
        server.create(cm(ref.name, 'fuzz', { n: String(names++) }));
      else if (r < 0.6) server.patch(ref, { data: { v: String(Math.floor(random() * 3)) } });
      else if (r < 0.8) server.patch(ref, { metadata: { labels: { n: String(names++) } } });
      else server.delete(ref);
    } catch (err) {
      assert.ok((err as { statusCode?: number }).statusCode !== undefined, String(err));
    }
  };
  const writeLater = (): void => {
    const when = random();
    if (when < 0.33) process.nextTick(write);
    else if (when < 0.66) setImmediate(write);
    else setTimeout(write, Math.floor(random() * 5));
  };
  const faults: (() => void)[] = [
    () => server.faults.injectWatchError(pick([410, 500, 503])),
    () => server.faults.closeWatches(),
    () => server.faults.breakWatches(),
    () => server.faults.failNext({ status: pick([429, 500, 410]), path: '/configmaps' }),
    () => server.faults.compactHistory(),
    () => server.faults.sendBookmarks(),
  ];
  const openOne = async (): Promise<void> => {
    const rv = server.resourceVersion();
    const fromRv = random() < 0.7;
    const path = pick(['/api/v1/namespaces/fuzz/configmaps', '/api/v1/configmaps']);
    const query = fromRv ? `watch=1&resourceVersion=${rv}` : 'watch=true';
    const w = await openWatch(
      server,
      `${path}?${query}${random() < 0.5 ? '&allowWatchBookmarks=true' : ''}`,
    );
    all.push(w);
    if (fromRv && w.status === 200) ordered.push(w);
  };
  const listAndLeave = async (): Promise<void> => {
    const controller = new AbortController();
    try {
      const res = await fetch(`${server.url}/api/v1/namespaces/fuzz-big/configmaps`, {
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      const chunks = Math.floor(random() * 3);
      for (let i = 0; i < chunks; i++) await reader.read();
    } catch {
      // A failNext rule may have answered instead; either way the client goes away.
    } finally {
      controller.abort();
    }
  };

  const started = Date.now();
  for (let round = 0; round < 300 && Date.now() - started < 3000; round++) {
    const r = random();
    if (r < 0.2) await openOne();
    else if (r < 0.3 && all.length > 0) pick(all).close();
    else if (r < 0.4) pending.push(listAndLeave());
    else if (r < 0.65) {
      // A fault and a write in the same tick: the case that used to crash the process.
      pick(faults)();
      if (random() < 0.5) write();
      writeLater();
    } else if (r < 0.9) {
      for (let i = Math.floor(random() * 4); i >= 0; i--) write();
    } else {
      writeLater();
    }
    if (random() < 0.5) await tick();
    else if (random() < 0.2) await sleep(Math.floor(random() * 10));
  }
  await Promise.all(pending);
  await sleep(20);
  server.faults.reset();
  for (const w of all) w.close();
  await Promise.all(all.map((w) => w.done));
  for (const w of ordered) assertOrdered(w.events);

  // The server still answers a LIST correctly…
  const expected = server.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'fuzz' });
  const list = await json(server, '/api/v1/namespaces/fuzz/configmaps');
  assert.equal(list.status, 200);
  const items = list.body['items'] as { metadata: { name: string; resourceVersion: string } }[];
  assert.deepEqual(
    items.map((i) => [i.metadata.name, i.metadata.resourceVersion]),
    expected.map((i) => [i.metadata!.name, i.metadata!.resourceVersion]),
  );
  const big = await json(server, '/api/v1/namespaces/fuzz-big/configmaps');
  assert.equal((big.body['items'] as unknown[]).length, 4000);
  // …and a watch.
  const rv = server.resourceVersion();
  const w = await openWatch(
    server,
    `/api/v1/namespaces/fuzz/configmaps?watch=true&resourceVersion=${rv}`,
  );
  const created = server.create<KubeObject>(cm('final', 'fuzz'));
  const [ev] = await w.next(1);
  assert.equal(ev?.type, 'ADDED');
  assert.equal(ev?.object.metadata?.name, 'final');
  assert.equal(ev?.object.metadata?.resourceVersion, created.metadata!.resourceVersion);
  w.close();
}
