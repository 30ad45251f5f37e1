/**
 * Deterministic randomness for tests, benchmarks and reproducible jitter. The reflector and the
 * backoff take a `random: () => number` option; pass one of these, print the seed, and a failing
 * run can be replayed exactly.
 */

/**
 * A seeded pseudo-random generator (mulberry32) returning numbers in [0, 1), like
 * `Math.random`. Fast and small, not cryptographic.
 *
 * @example
 * ```ts
 * const seed = Number(process.env.KUBECACHE_SEED ?? Date.now());
 * const reflector = new Reflector({ listerWatcher, store: createIndexer<Pod>(), random: seededRandom(seed) });
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
