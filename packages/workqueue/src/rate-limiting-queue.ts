/**
 * The rate-limiting queue: what a controller's workers use. A failed item goes back with
 * `addRateLimited` (after the limiter's delay), a successful one is `forget`-ten so its next
 * failure starts from the shortest delay again.
 *
 * @module
 */
import { DelayingQueue } from './delaying-queue.js';
import type { AddOptions, WorkQueueOptions } from './queue.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiters.js';

/** Options of {@link RateLimitingQueue}. */
export interface RateLimitingQueueOptions<T> extends WorkQueueOptions {
  /** Default {@link defaultControllerRateLimiter} on the queue's clock. */
  readonly rateLimiter?: RateLimiter<T>;
}

/**
 * A {@link DelayingQueue} with per-item retry delays.
 *
 * @example
 * ```ts
 * const reconcile = async (key: string): Promise<void> => console.log('reconciling', key);
 * const queue = new RateLimitingQueue<string>({ name: 'deployments' });
 * const { item, shutdown } = await queue.get();
 * if (!shutdown) {
 *   try { await reconcile(item); queue.forget(item); }
 *   catch { queue.addRateLimited(item); }   // 5 ms, 10 ms, 20 ms ... up to 1000 s
 *   finally { queue.done(item); }
 * }
 * ```
 */
export class RateLimitingQueue<T = string> extends DelayingQueue<T> {
  readonly rateLimiter: RateLimiter<T>;

  constructor(options: RateLimitingQueueOptions<T> = {}) {
    super(options);
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<T>(this.clock);
  }

  /** Adds `item` after the delay its rate limiter says (and counts a retry). */
  addRateLimited(item: T, options?: AddOptions): void {
    if (this.shuttingDown()) return;
    this.countRetry();
    this.addAfter(item, this.rateLimiter.when(item), options);
  }

  /** Forgets `item`'s failures: its next `addRateLimited` waits the shortest delay again. */
  forget(item: T): void {
    this.rateLimiter.forget(item);
  }

  /** Failures of `item` since it was last forgotten. */
  numRequeues(item: T): number {
    return this.rateLimiter.numRequeues(item);
  }
}
