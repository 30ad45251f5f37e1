import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '@kubecache/cache';

describe('seededRandom', () => {
  it('replays the same sequence for the same seed and differs across seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = Array.from({ length: 20 }, a);
    assert.deepEqual(Array.from({ length: 20 }, b), seqA);
    assert.notDeepEqual(Array.from({ length: 20 }, c), seqA);
  });

  it('stays in [0, 1) and spreads over the range', () => {
    const next = seededRandom(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const x = next();
      assert.ok(x >= 0 && x < 1, `out of range: ${x}`);
      buckets[Math.floor(x * 10)]!++;
    }
    // Each tenth of the range gets roughly a tenth of the draws.
    for (const count of buckets) assert.ok(count > 800 && count < 1200, `skewed: ${buckets}`);
  });
});
