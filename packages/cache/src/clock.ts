/**
 * Time as kubecache sees it. Everything that waits (backoff, resync, stall detection, rate
 * limiters) takes a `Clock`, so tests drive time with {@link FakeClock} instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since an arbitrary epoch; only differences are meaningful. */
  now(): number;
  /** Runs `callback` after `delayMs`; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** An opaque timer handle. */
export interface TimerHandle {
  readonly id: number;
}

/** The real clock: `performance.now()` and the event loop's timers. */
export class RealClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, ReturnType<typeof globalThis.setTimeout>>();

  now(): number {
    return performance.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    const timer = globalThis.setTimeout(() => {
      this.timers.delete(id);
      callback();
    }, delayMs);
    this.timers.set(id, timer);
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = this.timers.get(handle.id);
    if (timer !== undefined) {
      globalThis.clearTimeout(timer);
      this.timers.delete(handle.id);
    }
  }
}

/** The process-wide real clock. */
export const realClock: Clock = new RealClock();

/**
 * Resolves after `delayMs` on `clock`, or rejects with the signal's reason when `signal` aborts.
 *
 * @example
 * ```ts
 * await sleep(realClock, 800, signal);
 * ```
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly seq: number;
  readonly callback: () => void;
}

/**
 * A manually driven clock for deterministic tests. Time moves only through {@link FakeClock.advance};
 * due timers fire in order of due time, then of creation.
 *
 * @example
 * ```ts
 * const clock = new FakeClock();
 * const done = sleep(clock, 1000);
 * await clock.advance(1000); // `done` resolves
 * ```
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private seq = 0;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, {
      id,
      due: this.current + Math.max(0, delayMs),
      seq: this.seq++,
      callback,
    });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Number of timers waiting to fire. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** Due time of the earliest pending timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const t of this.timers.values()) if (min === undefined || t.due < min) min = t.due;
    return min;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order. Between
   * timers it yields to the event loop so promise continuations (and the timers they set) run
   * before time moves on, as they would in real time.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.due > target) break;
      this.timers.delete(next.id);
      this.current = Math.max(this.current, next.due);
      next.callback();
      await flushMicrotasks();
    }
    this.current = target;
    await flushMicrotasks();
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers.values()) {
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) {
        best = t;
      }
    }
    return best;
  }
}

/** Lets pending promise continuations and I/O callbacks queued so far run. */
async function flushMicrotasks(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}
