import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '@kubecache/cache';
import { DelayingQueue, Priority } from '@kubecache/workqueue';

function drainNow(q: DelayingQueue<string>): string[] {
  const out: string[] = [];
  for (;;) {
    const r = q.tryGet();
    if (r === undefined || r.shutdown) return out;
    out.push(r.item);
    q.done(r.item);
  }
}

describe('DelayingQueue (client-go delaying_queue cases on a FakeClock)', () => {
  it('(TestSimpleQueue) an item appears only once its delay has passed', async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue<string>({ clock });
    q.addAfter('foo', 50);
    assert.equal(q.len(), 0);
    assert.equal(q.delayedCount(), 1);
    await clock.advance(49);
    assert.equal(q.len(), 0);
    await clock.advance(1);
    assert.equal(q.len(), 1);
    assert.deepEqual(drainNow(q), ['foo']);
    assert.equal(q.delayedCount(), 0);
  });

  it('(TestDeduping) the earlier ready time wins for an item already waiting', async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue<string>({ clock });
    q.addAfter('foo', 50);
    q.addAfter('foo', 70); // later: ignored
    await clock.advance(60);
    assert.deepEqual(drainNow(q), ['foo']);
    await clock.advance(20);
    assert.equal(q.len(), 0, 'the superseded entry does not fire');

    q.addAfter('foo', 70);
    q.addAfter('foo', 50); // earlier: wins
    await clock.advance(60);
    assert.deepEqual(drainNow(q), ['foo']);
    await clock.advance(20);
    assert.equal(q.len(), 0);
  });

  it('(TestAddTwoFireEarly / TestCopyShifting) items fire in ready-time order', async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue<string>({ clock });
    q.addAfter('c', 3000);
    q.addAfter('b', 2000);
    q.addAfter('a', 1000);
    q.addAfter('a2', 1000);
    await clock.advance(1000);
    assert.deepEqual(drainNow(q), ['a', 'a2']);
    await clock.advance(2000);
    assert.deepEqual(drainNow(q), ['b', 'c']);
  });

  it('a zero or negative delay adds at once; an item added meanwhile is handed out once', async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue<string>({ clock });
    q.addAfter('now', 0);
    q.addAfter('neg', -5);
    assert.deepEqual(drainNow(q), ['now', 'neg']);
    q.addAfter('x', 100);
    q.add('x');
    assert.deepEqual(drainNow(q), ['x']);
    await clock.advance(100);
    assert.deepEqual(drainNow(q), ['x'], 'the delayed add still lands (it asked for another pass)');
  });

  it('keeps the priority of a delayed add', async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue<string>({ clock });
    q.add('low', { priority: Priority.Low });
    q.addAfter('retry', 10, { priority: 5 });
    await clock.advance(10);
    assert.deepEqual(drainNow(q), ['retry', 'low']);
  });

  it('drops delayed items and its timer at shutdown', async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue<string>({ clock });
    q.addAfter('a', 100);
    q.shutDown();
    assert.equal(clock.pendingTimers(), 0);
    q.addAfter('b', 10);
    await clock.advance(200);
    assert.equal(q.len(), 0);
    assert.deepEqual(await q.get(), { item: undefined, shutdown: true });
  });
});
