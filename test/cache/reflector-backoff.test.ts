import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, DEFAULT_BACKOFF, FakeClock } from '@kubecache/cache';

describe('Backoff', () => {
  it('doubles from 800 ms to a 30 s cap with downward jitter', () => {
    const clock = new FakeClock();
    const noJitter = new Backoff({ clock, random: () => 0 });
    const full = new Backoff({ clock, random: () => 0.999999 });
    const nominal = [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000];
    for (const n of nominal) {
      assert.equal(noJitter.next(), n);
      const j = full.next();
      assert.ok(j >= n * (1 - DEFAULT_BACKOFF.jitter) && j <= n, `${j} within jitter of ${n}`);
    }
  });

  it('starts over after 2 minutes without failures', async () => {
    const clock = new FakeClock();
    const b = new Backoff({ clock, random: () => 0 });
    assert.equal(b.next(), 800);
    await clock.advance(10_000);
    assert.equal(b.next(), 1600);
    await clock.advance(119_999);
    assert.equal(b.next(), 3200);
    await clock.advance(120_000);
    assert.equal(b.next(), 800);
    assert.equal(b.attempt, 1);
  });

  it('honours custom options and reset()', () => {
    const b = new Backoff({
      options: { initialMs: 10, maxMs: 35, factor: 3, jitter: 0 },
      clock: new FakeClock(),
    });
    assert.deepEqual([b.next(), b.next(), b.next()], [10, 30, 35]);
    b.reset();
    assert.equal(b.next(), 10);
  });
});
