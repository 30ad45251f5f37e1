import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, realClock, sleep } from '@kubecache/cache';

describe('FakeClock', () => {
  it('fires timers in due order, then creation order, only when advanced past them', async () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@200'), 200);
    clock.setTimeout(() => fired.push('a@100'), 100);
    clock.setTimeout(() => fired.push('c@200'), 200);
    await clock.advance(99);
    assert.deepEqual(fired, []);
    assert.equal(clock.now(), 1099);
    await clock.advance(101);
    assert.deepEqual(fired, ['a@100', 'b@200', 'c@200']);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('fires timers set by callbacks during the same advance', async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    const tick = (): void => {
      times.push(clock.now());
      if (times.length < 3) clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    await clock.advance(100);
    assert.deepEqual(times, [10, 20, 30]);
  });

  it('sleep resolves on advance and rejects on abort', async () => {
    const clock = new FakeClock();
    let resolved = false;
    const done = sleep(clock, 500).then(() => {
      resolved = true;
    });
    await clock.advance(499);
    assert.equal(resolved, false);
    await clock.advance(1);
    await done;
    assert.equal(resolved, true);

    const controller = new AbortController();
    const aborted = sleep(clock, 500, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('cleared timers never fire', async () => {
    const clock = new FakeClock();
    let fired = false;
    const handle = clock.setTimeout(() => {
      fired = true;
    }, 5);
    clock.clearTimeout(handle);
    await clock.advance(10);
    assert.equal(fired, false);
  });
});

describe('realClock', () => {
  it('sleeps on the event loop and is monotonic', async () => {
    const start = realClock.now();
    await sleep(realClock, 5);
    assert.ok(realClock.now() >= start);
  });
});
