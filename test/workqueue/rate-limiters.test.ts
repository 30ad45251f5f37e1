import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '@kubecache/cache';
import {
  BucketRateLimiter,
  InMemoryQueueMetrics,
  ItemExponentialFailureRateLimiter,
  ItemFastSlowRateLimiter,
  MaxOfRateLimiter,
  RateLimitingQueue,
  defaultControllerRateLimiter,
} from '@kubecache/workqueue';

describe('rate limiters (client-go default_rate_limiters cases)', () => {
  it('(TestItemExponentialFailureRateLimiter) doubles per item from the base to the cap; forget resets', () => {
    const l = new ItemExponentialFailureRateLimiter<string>({ baseDelayMs: 1, maxDelayMs: 1000 });
    assert.deepEqual(
      Array.from({ length: 5 }, () => l.when('one')),
      [1, 2, 4, 8, 16],
    );
    assert.equal(l.numRequeues('one'), 5);
    assert.deepEqual([l.when('two'), l.when('two')], [1, 2]);
    assert.equal(l.numRequeues('two'), 2);
    l.forget('one');
    assert.equal(l.numRequeues('one'), 0);
    assert.equal(l.when('one'), 1);
    for (let i = 0; i < 20; i++) l.when('cap');
    assert.equal(l.when('cap'), 1000);
  });

  it('(TestItemExponentialFailureRateLimiterOverFlow) never overflows past the cap', () => {
    const l = new ItemExponentialFailureRateLimiter<string>({ baseDelayMs: 1, maxDelayMs: 1000 });
    for (let i = 0; i < 5; i++) l.when('one');
    assert.equal(l.when('one'), 32);
    for (let i = 0; i < 1100; i++) l.when('overflow');
    assert.equal(l.when('overflow'), 1000);
    const d = new ItemExponentialFailureRateLimiter<string>();
    assert.equal(d.baseDelayMs, 5);
    assert.equal(d.maxDelayMs, 1_000_000);
  });

  it('(TestItemFastSlowRateLimiter) fast delays first, then slow; forget resets', () => {
    const l = new ItemFastSlowRateLimiter<string>({
      fastDelayMs: 5,
      slowDelayMs: 10_000,
      maxFastAttempts: 3,
    });
    assert.deepEqual(
      [l.when('one'), l.when('one'), l.when('one'), l.when('one')],
      [5, 5, 5, 10_000],
    );
    assert.equal(l.numRequeues('one'), 4);
    l.forget('one');
    assert.equal(l.when('one'), 5);
  });

  it('bucket: burst without delay, then paced at qps for all items together; refills with time', async () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter<string>({ qps: 10, burst: 3, clock });
    assert.deepEqual([l.when('a'), l.when('b'), l.when('c')], [0, 0, 0]);
    assert.equal(l.when('d'), 100);
    assert.equal(l.when('e'), 200);
    assert.equal(l.numRequeues('a'), 0);
    await clock.advance(1000);
    assert.equal(l.when('f'), 0, 'refilled');
    const defaults = new BucketRateLimiter<string>({ clock });
    assert.deepEqual([defaults.qps, defaults.burst], [10, 100]);
  });

  it('(TestMaxOfRateLimiter) the largest delay of its limiters', () => {
    const l = new MaxOfRateLimiter<string>(
      new ItemFastSlowRateLimiter<string>({
        fastDelayMs: 5,
        slowDelayMs: 3000,
        maxFastAttempts: 3,
      }),
      new ItemExponentialFailureRateLimiter<string>({ baseDelayMs: 1, maxDelayMs: 1000 }),
    );
    assert.deepEqual(
      Array.from({ length: 5 }, () => l.when('one')),
      [5, 5, 5, 3000, 3000],
    );
    assert.equal(l.numRequeues('one'), 5);
    l.forget('one');
    assert.equal(l.numRequeues('one'), 0);
    assert.equal(l.when('one'), 5);
  });

  it('the default controller limiter is max(exponential 5 ms…1000 s, bucket 10 qps burst 100)', () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter<string>(clock);
    assert.deepEqual([l.when('a'), l.when('a'), l.when('a')], [5, 10, 20]);
    for (let i = 0; i < 97; i++) l.when(`other-${i}`); // the burst of 100 is now used up
    assert.equal(l.when('fresh'), 100, 'the bucket paces once the burst is spent');
  });
});

describe('RateLimitingQueue', () => {
  it('(TestRateLimitingQueue) addRateLimited waits the limiter delay, forget resets, retries are counted', async () => {
    const clock = new FakeClock();
    const metrics = new InMemoryQueueMetrics();
    const q = new RateLimitingQueue<string>({
      clock,
      name: 'rl',
      metricsProvider: metrics,
      rateLimiter: new ItemExponentialFailureRateLimiter<string>({
        baseDelayMs: 1,
        maxDelayMs: 1000,
      }),
    });
    q.addRateLimited('one');
    q.addRateLimited('one'); // second failure: 2 ms, but the 1 ms entry is earlier and wins
    assert.equal(q.delayedCount(), 1);
    assert.equal(q.numRequeues('one'), 2);
    await clock.advance(1);
    assert.equal(q.len(), 1);
    q.addRateLimited('two');
    q.addRateLimited('two');
    q.forget('one');
    assert.equal(q.numRequeues('one'), 0);
    q.addRateLimited('one');
    assert.equal(q.numRequeues('one'), 1);
    assert.equal(metrics.get('rl').retries, 5);
    q.shutDown();
  });

  it('uses client-go defaults when no limiter is given', () => {
    const q = new RateLimitingQueue<string>({ clock: new FakeClock() });
    assert.ok(q.rateLimiter instanceof MaxOfRateLimiter);
    q.shutDown();
  });
});
