/**
 * Rate limiters: how long an item waits before it is retried. The same four as client-go's
 * `workqueue`, with its defaults, on an injectable {@link Clock}:
 *
 * | limiter                              | delay of the n-th failure (n from 0)              |
 * | ------------------------------------ | ------------------------------------------------- |
 * | {@link ItemExponentialFailureRateLimiter} | `base × 2^n`, capped (5 ms → 1000 s)         |
 * | {@link BucketRateLimiter}            | 0 while the bucket has tokens (burst 100), then paced at 10/s, for all items together |
 * | {@link ItemFastSlowRateLimiter}      | `fast` for the first `maxFastAttempts`, then `slow` |
 * | {@link MaxOfRateLimiter}             | the largest of its limiters' delays               |
 *
 * {@link defaultControllerRateLimiter} is max(exponential 5 ms → 1000 s, bucket 10 qps / 100):
 * per-item backoff for one broken object, and an overall cap so a thousand failing objects do not
 * retry in a thundering herd.
 *
 * @module
 */
import { realClock, type Clock } from '@kubecache/cache';

/**
 * Decides retry delays per item.
 *
 * @example
 * ```ts
 * const limiter: RateLimiter<string> = new ItemExponentialFailureRateLimiter({ baseDelayMs: 5 });
 * limiter.when('a'); // 5, then 10, 20, ...
 * limiter.forget('a'); // back to 5
 * ```
 */
export interface RateLimiter<T> {
  /** Records a failure of `item` and returns how long it should wait, ms. */
  when(item: T): number;
  /** Forgets `item`'s failures (after it succeeded). */
  forget(item: T): void;
  /** Failures recorded for `item` since it was last forgotten. */
  numRequeues(item: T): number;
}

/** Per-item exponential backoff: `baseDelayMs × 2^failures`, at most `maxDelayMs`. */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly #failures = new Map<T, number>();

  /** Defaults: 5 ms base, 1000 s cap (client-go's). */
  constructor(options: { readonly baseDelayMs?: number; readonly maxDelayMs?: number } = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 1_000_000;
  }

  when(item: T): number {
    const n = this.#failures.get(item) ?? 0;
    this.#failures.set(item, n + 1);
    // 2^n overflows to Infinity long before n is large; the cap then applies.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n);
  }

  forget(item: T): void {
    this.#failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.#failures.get(item) ?? 0;
  }
}

/**
 * A token bucket shared by all items: `burst` retries at once, then `qps` per second. Each call
 * reserves a token (possibly in the future) and returns the wait until it is due, like
 * `rate.Limiter.Reserve().Delay()`.
 */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  readonly qps: number;
  readonly burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  /** Defaults: 10 qps, burst 100 (client-go's). */
  constructor(
    options: { readonly qps?: number; readonly burst?: number; readonly clock?: Clock } = {},
  ) {
    this.qps = options.qps ?? 10;
    this.burst = options.burst ?? 100;
    this.#clock = options.clock ?? realClock;
    this.#tokens = this.burst;
    this.#last = this.#clock.now();
  }

  when(_item: T): number {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.qps);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.qps) * 1000;
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

/** `fastDelayMs` for the first `maxFastAttempts` failures of an item, `slowDelayMs` after. */
export class ItemFastSlowRateLimiter<T> implements RateLimiter<T> {
  readonly fastDelayMs: number;
  readonly slowDelayMs: number;
  readonly maxFastAttempts: number;
  readonly #failures = new Map<T, number>();

  constructor(options: {
    readonly fastDelayMs: number;
    readonly slowDelayMs: number;
    readonly maxFastAttempts: number;
  }) {
    this.fastDelayMs = options.fastDelayMs;
    this.slowDelayMs = options.slowDelayMs;
    this.maxFastAttempts = options.maxFastAttempts;
  }

  when(item: T): number {
    const n = (this.#failures.get(item) ?? 0) + 1;
    this.#failures.set(item, n);
    return n <= this.maxFastAttempts ? this.fastDelayMs : this.slowDelayMs;
  }

  forget(item: T): void {
    this.#failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.#failures.get(item) ?? 0;
  }
}

/** The largest delay of several limiters (every one records the failure). */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  readonly limiters: readonly RateLimiter<T>[];

  constructor(...limiters: RateLimiter<T>[]) {
    this.limiters = limiters;
  }

  when(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }

  forget(item: T): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/**
 * client-go's default controller limiter: max(exponential 5 ms → 1000 s, bucket 10 qps burst 100).
 *
 * @example
 * ```ts
 * new RateLimitingQueue<string>({ rateLimiter: defaultControllerRateLimiter(clock), clock });
 * ```
 */
export function defaultControllerRateLimiter<T>(clock: Clock = realClock): RateLimiter<T> {
  return new MaxOfRateLimiter<T>(
    new ItemExponentialFailureRateLimiter<T>({ baseDelayMs: 5, maxDelayMs: 1_000_000 }),
    new BucketRateLimiter<T>({ qps: 10, burst: 100, clock }),
  );
}
