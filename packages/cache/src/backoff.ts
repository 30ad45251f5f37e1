/**
 * Exponential backoff with jitter, driven by a {@link Clock}: 800 ms doubling to 30 s by default,
 * and back to the start once the caller has been healthy (no failure) for 2 minutes, like
 * client-go's reflector backoff manager and kube-rs' reset-timer backoff.
 */
import type { Clock } from './clock.js';
import { realClock } from './clock.js';

/** Tuning of {@link Backoff}. */
export interface BackoffOptions {
  /** First delay (nominal), ms. Default 800. */
  initialMs: number;
  /** Largest nominal delay, ms. Default 30 000. */
  maxMs: number;
  /** Growth factor per consecutive failure. Default 2. */
  factor: number;
  /**
   * Jitter, a fraction in [0, 1]: each delay is the nominal one minus up to this fraction of it,
   * so concurrent clients spread out and no delay exceeds `maxMs`. Default 0.25.
   */
  jitter: number;
  /** A failure this long after the previous one starts again from `initialMs`. Default 120 000. */
  resetAfterMs: number;
}

/** The defaults of {@link BackoffOptions}. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialMs: 800,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.25,
  resetAfterMs: 120_000,
});

/**
 * Computes successive retry delays.
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ clock, random: Math.random });
 * await sleep(clock, backoff.next(), signal); // ~800 ms, then ~1.6 s, ~3.2 s … 30 s
 * ```
 */
export class Backoff {
  readonly options: Readonly<BackoffOptions>;
  readonly #clock: Clock;
  readonly #random: () => number;
  #attempt = 0;
  #lastFailureAt: number | undefined;

  constructor(
    init: { options?: Partial<BackoffOptions>; clock?: Clock; random?: () => number } = {},
  ) {
    this.options = { ...DEFAULT_BACKOFF, ...init.options };
    this.#clock = init.clock ?? realClock;
    this.#random = init.random ?? Math.random;
  }

  /** Consecutive failures counted since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Nominal (un-jittered) delay of failure number `attempt` (0-based). */
  nominal(attempt: number): number {
    const { initialMs, maxMs, factor } = this.options;
    return Math.min(maxMs, initialMs * factor ** Math.min(attempt, 64));
  }

  /** Records a failure now and returns how long to wait before retrying. */
  next(): number {
    const now = this.#clock.now();
    if (
      this.#lastFailureAt !== undefined &&
      now - this.#lastFailureAt >= this.options.resetAfterMs
    ) {
      this.#attempt = 0;
    }
    this.#lastFailureAt = now;
    const nominal = this.nominal(this.#attempt++);
    return Math.round(nominal * (1 - this.options.jitter * this.#random()));
  }

  /** Forgets past failures. */
  reset(): void {
    this.#attempt = 0;
    this.#lastFailureAt = undefined;
  }
}
