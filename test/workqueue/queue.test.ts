import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, seededRandom } from '@kubecache/cache';
import { InMemoryQueueMetrics, Priority, WorkQueue } from '@kubecache/workqueue';

async function take<T>(queue: WorkQueue<T>): Promise<T> {
  const r = await queue.get();
  assert.equal(r.shutdown, false);
  return r.item as T;
}

describe('WorkQueue (client-go queue semantics)', () => {
  it('hands items out in FIFO order and collapses duplicates while waiting', async () => {
    const q = new WorkQueue<string>();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    assert.equal(q.len(), 3);
    assert.deepEqual([await take(q), await take(q), await take(q)], ['a', 'b', 'c']);
    assert.equal(q.len(), 0);
    assert.equal(q.processingCount(), 3);
  });

  it('never hands an item to two workers at once; an add while processing requeues it after done', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    const first = await take(q);
    q.add('a'); // changed while a worker holds it
    q.add('a');
    assert.equal(q.len(), 0, 'not handed out again while processing');
    assert.equal(q.tryGet(), undefined);
    assert.equal(q.isDirty('a'), true);
    q.done(first);
    assert.equal(q.len(), 1, 'queued again once, after done');
    assert.equal(await take(q), 'a');
    q.done('a');
    assert.equal(q.len(), 0);
    assert.equal(q.isDirty('a'), false);
  });

  it('a parked get() receives the next add directly', async () => {
    const q = new WorkQueue<string>();
    const pending = q.get();
    q.add('x');
    assert.deepEqual(await pending, { item: 'x', shutdown: false });
    assert.equal(q.processingCount(), 1);
  });

  it('(client-go TestBasic) many producers and consumers: every item processed, none twice at once', async () => {
    const seed = Number(process.env['KUBECACHE_SEED'] ?? Date.now());
    const random = seededRandom(seed);
    const q = new WorkQueue<number>();
    const inFlight = new Set<number>();
    const processed = new Map<number, number>();
    let violations = 0;
    const consumers = Array.from({ length: 10 }, async () => {
      for (;;) {
        const r = await q.get();
        if (r.shutdown) return;
        if (inFlight.has(r.item)) violations++;
        inFlight.add(r.item);
        if (random() < 0.3) await new Promise((res) => setImmediate(res));
        inFlight.delete(r.item);
        processed.set(r.item, (processed.get(r.item) ?? 0) + 1);
        q.done(r.item);
      }
    });
    for (let p = 0; p < 50; p++) {
      for (let i = 0; i < 50; i++) {
        q.add(Math.floor(random() * 40));
        if (random() < 0.1) await new Promise((res) => setImmediate(res));
      }
    }
    assert.equal(await q.shutDownWithDrain(), true);
    await Promise.all(consumers);
    assert.equal(violations, 0, `seed ${seed}: an item was handed out twice at once`);
    assert.equal(q.len(), 0, `seed ${seed}`);
    assert.ok(processed.size > 0 && processed.size <= 40, `seed ${seed}`);
  });

  it('(client-go TestLen / TestReinsert) len counts waiting items only', async () => {
    const q = new WorkQueue<string>();
    q.add('foo');
    assert.equal(q.len(), 1);
    const item = await take(q);
    assert.equal(q.len(), 0);
    q.add(item);
    q.done(item);
    assert.equal(q.len(), 1);
  });

  it('shutDown: adds are ignored, waiting items are still handed out, then get resolves shutdown', async () => {
    const q = new WorkQueue<string>();
    const parked = new WorkQueue<string>();
    const parkedGet = parked.get();
    parked.shutDown();
    assert.deepEqual(await parkedGet, { item: undefined, shutdown: true });

    q.add('a');
    q.shutDown();
    assert.equal(q.shuttingDown(), true);
    q.add('b');
    assert.equal(q.len(), 1);
    assert.equal(await take(q), 'a');
    assert.deepEqual(await q.get(), { item: undefined, shutdown: true });
  });

  it('shutDownWithDrain waits until every handed-out item is done; a signal stops the wait', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    const a = await take(q);
    const b = await take(q);
    let drained = false;
    const d = q.shutDownWithDrain().then((ok) => (drained = ok));
    await new Promise((res) => setImmediate(res));
    assert.equal(drained, false);
    q.done(a);
    await new Promise((res) => setImmediate(res));
    assert.equal(drained, false, 'b still processing');
    q.done(b);
    await d;
    assert.equal(drained, true);

    const q2 = new WorkQueue<string>();
    q2.add('x');
    await take(q2);
    const ac = new AbortController();
    const waiting = q2.shutDownWithDrain(ac.signal);
    ac.abort();
    assert.equal(await waiting, false);
  });

  it('done of an item never handed out is a no-op', () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.done('a');
    assert.equal(q.len(), 1);
  });

  it('priorities: higher first, FIFO within one, an add raises a waiting item but never lowers it', async () => {
    const q = new WorkQueue<string>();
    q.add('low1', { priority: Priority.Low });
    q.add('low2', { priority: Priority.Low });
    q.add('n1');
    q.add('low3', { priority: Priority.Low });
    q.add('n2');
    q.add('low2'); // raised to Normal: now behind n1, n2
    q.add('n1', { priority: Priority.Low }); // not lowered
    q.add('urgent', { priority: 10 });
    assert.equal(q.len(), 6);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push(await take(q));
    assert.deepEqual(order, ['urgent', 'n1', 'n2', 'low2', 'low1', 'low3']);
    assert.equal(q.tryGet(), undefined, 'the stale low entry of low2 is skipped');
  });

  it('an item re-added while processing keeps the highest priority asked for', async () => {
    const q = new WorkQueue<string>();
    q.add('a', { priority: Priority.Low });
    const a = await take(q);
    q.add('a', { priority: Priority.Low });
    q.add('a', { priority: 5 });
    q.add('b');
    q.done(a);
    assert.equal(await take(q), 'a', 'a went back at priority 5, ahead of b');
  });

  it('feeds its metrics: depth, adds, latency, work duration, unfinished work, longest running', async () => {
    const clock = new FakeClock();
    const metrics = new InMemoryQueueMetrics();
    const q = new WorkQueue<string>({ name: 'm', clock, metricsProvider: metrics });
    q.add('a');
    q.add('b');
    q.add('a');
    const m = metrics.get('m');
    assert.equal(m.adds, 2);
    assert.equal(m.depth, 2);
    await clock.advance(1500);
    const a = await take(q);
    assert.equal(m.depth, 1);
    assert.equal(m.latency.count, 1);
    assert.equal(m.latency.max, 1.5);
    await clock.advance(1000);
    assert.equal(m.unfinishedWorkSeconds, 1);
    assert.equal(m.longestRunningProcessorSeconds, 1);
    q.done(a);
    assert.equal(m.workDuration.count, 1);
    assert.equal(m.workDuration.sum, 1);
    assert.deepEqual(metrics.names(), ['m']);
    q.shutDown();
    assert.equal(clock.pendingTimers(), 0, 'the unfinished-work timer stops at shutdown');
  });
});
