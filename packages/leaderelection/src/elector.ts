/**
 * Leader election over a Lease, with client-go's semantics (`tools/leaderelection`):
 *
 * - **Acquire**: every `retryPeriodMs` (jittered up to × 2.2, client-go's `JitterFactor` 1.2),
 *   read the Lease; create it when missing; take it over when nobody holds it or its record has
 *   not changed for its `leaseDurationSeconds` on *this* replica's clock; the update carries the
 *   resourceVersion read, so of several candidates racing for it exactly one wins and the others
 *   get 409 Conflict (not an error: someone else wrote, try again next period).
 * - **Renew**: the leader rewrites its record every `retryPeriodMs` (one optimistic update with
 *   the resourceVersion of its last write; on any failure a read, then an update).
 * - **Stop leading before anyone can take over**: the leader stops (aborting the signal its work
 *   was given) `renewDeadlineMs` after it *sent* its last successful renewal, whatever is in
 *   flight. Others cannot take over until `leaseDuration` after they *saw* that renewal, which
 *   was written after it was sent; as `renewDeadlineMs < leaseDurationMs`, a leader cut off
 *   from the API server stops at least `leaseDurationMs − renewDeadlineMs` before another
 *   replica can start (clocks running at the same rate; their offsets do not matter). client-go
 *   counts its deadline from the start of the failing retries instead, which can be up to a
 *   retry period later.
 * - **Clock skew**: no decision reads `renewTime` or `acquireTime`; expiry runs from the local
 *   time at which a record change was observed (`LeaseLock`).
 * - **Release** (`releaseOnCancel`): when leading ends (`run`'s signal aborted, or leadership
 *   lost while the Lease still names this replica), once the work started by `onStartedLeading`
 *   has settled, the replica writes an empty holder with a 1 s duration, so another replica
 *   takes over at its next retry instead of waiting out the lease.
 *
 * Like client-go, this is not fencing: a leader whose process is frozen (a long GC pause, a
 * stopped VM) past its deadline may act after another started. Keep the work's side effects
 * idempotent, as controllers' are.
 *
 * @module
 */
import {
  consoleLogger,
  describeError,
  sleep,
  type Clock,
  type Logger,
  type TimerHandle,
} from '@kubecache/cache';
import { isConflict, retryOnConflict } from '@kubecache/client';
import { LeaderElectionConfigError, LeaderRenewOverdueError } from './errors.js';
import { LeaseLock, type LeaseLockOptions } from './lease-lock.js';
import { microTime, type LeaseRecord } from './record.js';

/**
 * client-go's `JitterFactor`: an acquire retry waits `retryPeriod × (1 + random × 1.2)`, and
 * `renewDeadline` must exceed `1.2 × retryPeriod`.
 *
 * @example
 * ```ts
 * const longestAcquireWait = DEFAULT_RETRY_PERIOD_MS * (1 + JITTER_FACTOR); // 4.4 s
 * const renewDeadlineMustExceed = DEFAULT_RETRY_PERIOD_MS * JITTER_FACTOR; // 2.4 s
 * ```
 */
export const JITTER_FACTOR = 1.2;

/**
 * client-go's default lease duration for core components, 15 s.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 *   leaseDurationMs: 2 * DEFAULT_LEASE_DURATION_MS,
 *   renewDeadlineMs: 20_000,
 * });
 * ```
 */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
/**
 * client-go's default renew deadline for core components, 10 s.
 *
 * @example
 * ```ts
 * const margin = DEFAULT_LEASE_DURATION_MS - DEFAULT_RENEW_DEADLINE_MS; // 5 s to stop the work
 * ```
 */
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
/**
 * client-go's default retry period for core components, 2 s.
 *
 * @example
 * ```ts
 * const renewalsPerMinute = 60_000 / DEFAULT_RETRY_PERIOD_MS; // 30 writes a minute by the leader
 * ```
 */
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

/**
 * A change of this replica's leadership, for metrics (`kubecache_leader_is_leader{lease}`) and
 * logs.
 *
 * @example
 * ```ts
 * const leader = createLeaderMetric(); // kubecache_leader_is_leader{lease}
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 *   onLeadershipChange: ({ lease, leading }) => leader.set(lease, leading),
 * });
 * ```
 */
export interface LeadershipChange {
  /** The Lease, `namespace/name`. */
  readonly lease: string;
  readonly identity: string;
  readonly leading: boolean;
  /** Local clock time of the change (`Clock.now()`). */
  readonly at: number;
}

/**
 * What an elector tells its users. Every callback is optional; exceptions thrown by them are
 * logged, never propagated into the election.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 * });
 * elector.subscribe({
 *   onStartedLeading: (signal) => controller.run(signal),
 *   onNewLeader: (identity) => console.log('leader is now', identity),
 * });
 * ```
 */
export interface LeaderCallbacks {
  /**
   * This replica became the leader. `signal` aborts the moment leadership ends (lost, or `run`'s
   * signal aborted). Return a promise to make `run` wait for the work to settle before it
   * releases the Lease and resolves.
   */
  readonly onStartedLeading?: (signal: AbortSignal) => void | Promise<void>;
  /**
   * `run` is ending (after the work settled and the Lease was released when asked). As in
   * client-go, called whenever `run` ends, also when this replica never led.
   */
  readonly onStoppedLeading?: () => void;
  /** A different holder was observed (also this replica; also the first one seen). */
  readonly onNewLeader?: (identity: string) => void;
  /**
   * This replica started or stopped leading. Called once with `leading: false` when `run`
   * starts, so a gauge starts at 0.
   */
  readonly onLeadershipChange?: (change: LeadershipChange) => void;
}

/**
 * Options of {@link LeaderElector}: the Lease, the timings and the callbacks.
 *
 * Rules (client-go's, checked by the constructor, {@link LeaderElectionConfigError} otherwise):
 * every duration > 0; `leaseDurationMs > renewDeadlineMs`; `renewDeadlineMs > 1.2 ×
 * retryPeriodMs`; and `leaseDurationMs ≥ 1000`, since a Lease stores whole seconds (a
 * fractional duration is written rounded up).
 *
 * @example
 * ```ts
 * const options: LeaderElectorOptions = {
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 *   leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000,
 *   releaseOnCancel: true,
 * };
 * ```
 */
export interface LeaderElectorOptions extends LeaderCallbacks {
  /** The Lease to lead: a {@link LeaseLock}, or the options to make one. */
  readonly lock: LeaseLock | LeaseLockOptions;
  /**
   * How long others wait, from when they last saw the record change, before taking over; and
   * the duration this replica writes into the Lease. Default 15 000.
   */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renewal. Default 10 000. */
  readonly renewDeadlineMs?: number;
  /** Time between attempts (acquire attempts jittered up to × 2.2). Default 2 000. */
  readonly retryPeriodMs?: number;
  /**
   * When `run`'s signal aborts, release the Lease (once the leading work settled) so another
   * replica takes over at once. Default false (the Lease expires after `leaseDurationMs`).
   */
  readonly releaseOnCancel?: boolean;
  /**
   * The local clock every decision is timed on (`FakeClock` in tests). Default the lock's clock
   * (the real clock unless the lock was given one); when both are given they must be the same.
   */
  readonly clock?: Clock;
  /** Random numbers in [0, 1) for the jitter; pass `seededRandom(seed)` for reproducible runs. */
  readonly random?: () => number;
  /** Wall-clock milliseconds for the informational `acquireTime`/`renewTime`. Default `Date.now`. */
  readonly wallClock?: () => number;
  /** Default `consoleLogger()`. Acquisitions and losses at info, failed attempts at warn. */
  readonly logger?: Logger;
}

/**
 * Why `run` ended: its signal aborted (`'stopped'`), or leadership was lost (`'lost'`: the renew
 * deadline passed, or another replica holds the Lease).
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 * });
 * if ((await elector.run(signal)) === 'lost') process.exit(1); // restart clean, as client-go advises
 * ```
 */
export type LeaderElectionOutcome = 'stopped' | 'lost';

type Attempt = 'ok' | 'held' | 'failed';

/**
 * Validates the timings; returns them with defaults applied.
 *
 * @example
 * ```ts
 * validateTimings({ leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 });
 * ```
 */
export function validateTimings(options: {
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
}): { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number } {
  const leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
  const renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
  const retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
  const defaults =
    "client-go's defaults are leaseDurationMs 15000, renewDeadlineMs 10000, retryPeriodMs 2000";
  for (const [field, value] of [
    ['leaseDurationMs', leaseDurationMs],
    ['renewDeadlineMs', renewDeadlineMs],
    ['retryPeriodMs', retryPeriodMs],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new LeaderElectionConfigError(
        field,
        `${field} must be greater than zero (got ${value})`,
        defaults,
      );
    }
  }
  if (leaseDurationMs <= renewDeadlineMs) {
    throw new LeaderElectionConfigError(
      'leaseDurationMs',
      `leaseDurationMs (${leaseDurationMs}) must be greater than renewDeadlineMs (${renewDeadlineMs})`,
      'the difference is the time a leader that cannot renew has to stop before another replica may take over',
    );
  }
  if (renewDeadlineMs <= JITTER_FACTOR * retryPeriodMs) {
    throw new LeaderElectionConfigError(
      'renewDeadlineMs',
      `renewDeadlineMs (${renewDeadlineMs}) must be greater than retryPeriodMs × ${JITTER_FACTOR} (${JITTER_FACTOR * retryPeriodMs})`,
      'the leader must get more than one jittered retry period to renew before its deadline',
    );
  }
  if (leaseDurationMs < 1000) {
    throw new LeaderElectionConfigError(
      'leaseDurationMs',
      `leaseDurationMs (${leaseDurationMs}) must be at least 1000: a Lease stores whole seconds`,
      defaults,
    );
  }
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/**
 * Elects one leader among the replicas that run an elector on the same Lease.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 *   releaseOnCancel: true,
 *   onStartedLeading: (signal) => controller.run(signal),
 *   onNewLeader: (id) => console.log('leader:', id),
 * });
 * const outcome = await elector.run(signal); // 'lost' → exit, and let the pod restart
 * ```
 */
export class LeaderElector {
  readonly lock: LeaseLock;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly releaseOnCancel: boolean;
  readonly #random: () => number;
  readonly #wallClock: () => number;
  readonly #logger: Logger;
  readonly #subscribers = new Set<LeaderCallbacks>();
  #running = false;
  #leading = false;
  #reportedLeader = '';
  #lastWallMs = Number.NEGATIVE_INFINITY;

  constructor(options: LeaderElectorOptions) {
    const timings = validateTimings(options);
    this.leaseDurationMs = timings.leaseDurationMs;
    this.renewDeadlineMs = timings.renewDeadlineMs;
    this.retryPeriodMs = timings.retryPeriodMs;
    if (options.lock === undefined || options.lock === null) {
      throw new LeaderElectionConfigError('lock', 'lock must be given');
    }
    if (options.lock instanceof LeaseLock) {
      if (options.clock !== undefined && options.clock !== options.lock.clock) {
        throw new LeaderElectionConfigError(
          'clock',
          `leader election ${options.lock.describe()}: the elector's clock is not its lock's`,
          'give the clock to the LeaseLock only (or to both): observation times and decisions must use one clock',
        );
      }
      this.lock = options.lock;
    } else {
      this.lock = new LeaseLock({
        ...options.lock,
        ...(options.clock !== undefined ? { clock: options.clock } : {}),
      });
    }
    this.releaseOnCancel = options.releaseOnCancel ?? false;
    this.#random = options.random ?? Math.random;
    this.#wallClock = options.wallClock ?? Date.now;
    this.#logger = options.logger ?? consoleLogger();
    this.#subscribers.add(options);
  }

  /** The Lease, `namespace/name`. */
  get lease(): string {
    return this.lock.describe();
  }

  /** This replica's identity. */
  get identity(): string {
    return this.lock.identity;
  }

  /**
   * Whether this replica leads now: true from the successful acquisition until leadership ends
   * (the same moment the `onStartedLeading` signal aborts).
   */
  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder of the last record observed (`''` when none, or released). Informational. */
  getLeader(): string {
    return this.lock.observed?.record.holderIdentity ?? '';
  }

  /**
   * Adds callbacks (in addition to those of the options); returns the function that removes
   * them.
   *
   * @example
   * ```ts
   * const elector = new LeaderElector({
   *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
   * });
   * const leader = createLeaderMetric();
   * const off = elector.subscribe({
   *   onLeadershipChange: ({ lease, leading }) => leader.set(lease, leading),
   * });
   * off(); // the metric no longer follows the elector
   * ```
   */
  subscribe(callbacks: LeaderCallbacks): () => void {
    const entry = { ...callbacks };
    this.#subscribers.add(entry);
    return () => {
      this.#subscribers.delete(entry);
    };
  }

  /**
   * client-go's health check: an error when the last record observed names this replica as
   * holder but was observed more than `leaseDurationMs + toleranceMs` ago (it believes it leads,
   * or led and never saw otherwise, but has not renewed). Undefined when healthy; a hot standby
   * is always healthy.
   *
   * @example
   * ```ts
   * const elector = new LeaderElector({
   *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
   * });
   * http.createServer((req, res) => {
   *   const err = elector.check(2_000);
   *   res.writeHead(err === undefined ? 200 : 500).end(err?.message ?? 'ok');
   * });
   * ```
   */
  check(toleranceMs = 0): LeaderRenewOverdueError | undefined {
    const seen = this.lock.observed;
    if (seen === undefined || seen.record.holderIdentity !== this.identity) return undefined;
    const since = this.lock.clock.now() - seen.observedAt;
    const limit = this.leaseDurationMs + toleranceMs;
    return since > limit ? new LeaderRenewOverdueError(this.lease, since, limit) : undefined;
  }

  /**
   * Campaigns until this replica leads, leads until leadership is lost or `signal` aborts, then
   * waits for the leading work to settle, releases the Lease when `releaseOnCancel`, and
   * resolves: `'lost'` (renew deadline passed, or another replica holds the Lease; client-go's
   * advice is to exit) or `'stopped'`. May be called again once it resolved.
   */
  async run(signal: AbortSignal): Promise<LeaderElectionOutcome> {
    if (this.#running) {
      throw new LeaderElectionConfigError(
        'run',
        `leader election ${this.lease} is already running`,
      );
    }
    this.#running = true;
    try {
      this.#setLeading(false);
      const acquiredAt = await this.#acquire(signal);
      if (acquiredAt === undefined) return 'stopped';
      return await this.#lead(signal, acquiredAt);
    } finally {
      this.#running = false;
      for (const cb of [...this.#subscribers]) {
        this.#call('onStoppedLeading', () => cb.onStoppedLeading?.());
      }
    }
  }

  /** Tries until acquired (resolves with the attempt's start time) or `signal` aborts. */
  async #acquire(signal: AbortSignal): Promise<number | undefined> {
    const clock = this.lock.clock;
    this.#logger.info(
      { lease: this.lease, identity: this.identity },
      'attempting to acquire leader lease',
    );
    for (;;) {
      if (signal.aborted) return undefined;
      const attemptAt = clock.now();
      const result = await this.#withRequestSignal(signal, (req) => this.#tryAcquireOrRenew(req));
      this.#reportNewLeader();
      if (result === 'ok') {
        if (!signal.aborted) return attemptAt;
        // Acquired just as we were told to stop: hand it straight back when asked to.
        if (this.releaseOnCancel) await this.#release();
        return undefined;
      }
      const delay = this.retryPeriodMs * (1 + this.#random() * JITTER_FACTOR);
      try {
        await sleep(clock, delay, signal);
      } catch {
        return undefined;
      }
    }
  }

  /** Leads from an acquisition sent at `acquiredAt` until lost or stopped. */
  async #lead(signal: AbortSignal, acquiredAt: number): Promise<LeaderElectionOutcome> {
    const clock = this.lock.clock;
    const term = new AbortController();
    let lost: string | undefined;
    const end = (reason: string, isLoss: boolean): void => {
      if (term.signal.aborted) return;
      if (isLoss) lost = reason;
      this.#setLeading(false);
      term.abort(new Error(`leadership of ${this.lease} ended: ${reason}`));
      this.#logger.info(
        { lease: this.lease, identity: this.identity, reason },
        isLoss ? 'lost leader lease' : 'stopped leading',
      );
    };
    let deadline: TimerHandle | undefined;
    const arm = (sentAt: number): void => {
      if (deadline !== undefined) clock.clearTimeout(deadline);
      const remaining = sentAt + this.renewDeadlineMs - clock.now();
      deadline = clock.setTimeout(
        () => end(`not renewed within renewDeadline (${this.renewDeadlineMs} ms)`, true),
        remaining,
      );
    };
    const onStop = (): void => end('stopped', false);

    this.#setLeading(true);
    this.#logger.info({ lease: this.lease, identity: this.identity }, 'acquired leader lease');
    arm(acquiredAt);
    signal.addEventListener('abort', onStop, { once: true });
    if (signal.aborted) onStop();
    const work = term.signal.aborted ? Promise.resolve() : this.#startWork(term.signal);
    try {
      while (!term.signal.aborted) {
        try {
          await sleep(clock, this.retryPeriodMs, term.signal);
        } catch {
          break;
        }
        const attemptAt = clock.now();
        const result = await this.#withRequestSignal(term.signal, (req) =>
          this.#tryAcquireOrRenew(req),
        );
        this.#reportNewLeader();
        if (term.signal.aborted) break; // a renewal that lands after the deadline does not count
        if (result === 'ok') arm(attemptAt);
        else if (result === 'held') end(`taken over by ${this.getLeader()}`, true);
      }
    } finally {
      if (deadline !== undefined) clock.clearTimeout(deadline);
      signal.removeEventListener('abort', onStop);
    }
    await work;
    if (this.releaseOnCancel) await this.#release();
    return lost === undefined ? 'stopped' : 'lost';
  }

  /**
   * One attempt (client-go's `tryAcquireOrRenew`): `ok` when this replica now holds the Lease,
   * `held` when another replica holds it and it has not expired, `failed` otherwise (a conflict,
   * an error).
   */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const lock = this.lock;
    const now = lock.clock.now();
    const wall = this.#timestamp();
    const mine: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: wall,
      renewTime: wall,
      leaseTransitions: 0,
    };

    // 1. The leader's fast path: update on the resourceVersion of its last write.
    const seen = lock.observed;
    if (
      seen !== undefined &&
      seen.record.holderIdentity === this.identity &&
      !lock.isExpired(now)
    ) {
      try {
        await lock.update(this.#renewal(mine, seen.record), signal);
        return 'ok';
      } catch (err) {
        if (signal.aborted) return 'failed';
        this.#attemptFailed('renew (fast path)', err, signal);
      }
    }

    // 2. Read the Lease, or create it.
    let current;
    try {
      current = await lock.get(signal);
    } catch (err) {
      this.#attemptFailed('get', err, signal);
      return 'failed';
    }
    if (current === undefined) {
      try {
        await lock.create(mine, signal);
        return 'ok';
      } catch (err) {
        this.#attemptFailed('create', err, signal);
        return 'failed';
      }
    }

    // 3. Held by another replica, and seen to change within its lease duration: wait.
    const record = current.record;
    if (
      record.holderIdentity !== '' &&
      record.holderIdentity !== this.identity &&
      !lock.isExpired(now)
    ) {
      return 'held';
    }

    // 4. Ours to renew, released, or expired: write it, conditional on what was read.
    const next =
      record.holderIdentity === this.identity
        ? this.#renewal(mine, record)
        : { ...mine, leaseTransitions: record.leaseTransitions + 1 };
    try {
      await lock.update(next, signal);
      return 'ok';
    } catch (err) {
      this.#attemptFailed('update', err, signal);
      return 'failed';
    }
  }

  /** A renewal keeps the acquisition time, the transition count and the coordinated fields. */
  #renewal(mine: LeaseRecord, previous: LeaseRecord): LeaseRecord {
    return {
      ...mine,
      acquireTime: previous.acquireTime,
      leaseTransitions: previous.leaseTransitions,
      ...(previous.strategy !== undefined ? { strategy: previous.strategy } : {}),
      ...(previous.preferredHolder !== undefined
        ? { preferredHolder: previous.preferredHolder }
        : {}),
    };
  }

  /**
   * Gives the Lease up (client-go's `release`): read it, and when it still names this replica,
   * write an empty holder with a 1 s duration; a conflict means a racing write, so read again.
   * Bounded by `renewDeadlineMs`.
   */
  async #release(): Promise<void> {
    const clock = this.lock.clock;
    const timeout = new AbortController();
    const timer = clock.setTimeout(
      () => timeout.abort(new Error(`release timed out after ${this.renewDeadlineMs} ms`)),
      this.renewDeadlineMs,
    );
    try {
      // A conflict means a write raced ours (say, a renewal that landed after all): read again.
      const released = await retryOnConflict(
        async () => {
          const current = await this.lock.get(timeout.signal);
          if (current === undefined || current.record.holderIdentity !== this.identity) {
            return false; // not ours (any more): nothing to give up
          }
          const wall = this.#timestamp();
          await this.lock.update(
            {
              holderIdentity: '',
              leaseDurationSeconds: 1,
              acquireTime: wall,
              renewTime: wall,
              leaseTransitions: current.record.leaseTransitions,
            },
            timeout.signal,
          );
          return true;
        },
        { clock, random: this.#random, signal: timeout.signal },
      );
      if (released) {
        this.#logger.info({ lease: this.lease, identity: this.identity }, 'released leader lease');
      }
    } catch (err) {
      this.#logger.warn(
        {
          lease: this.lease,
          identity: this.identity,
          error: describeError(timeout.signal.aborted ? timeout.signal.reason : err),
        },
        'could not release the leader lease; it will expire instead',
      );
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /**
   * The wall-clock time for a record, strictly after the previous one written: a write equal to
   * the stored Lease is a no-op for the API server (no new resourceVersion), which readers would
   * take for a missed renewal.
   */
  #timestamp(): string {
    this.#lastWallMs = Math.max(this.#wallClock(), this.#lastWallMs + 1);
    return microTime(this.#lastWallMs);
  }

  /** Starts every `onStartedLeading`; resolves once all the work they returned has settled. */
  #startWork(signal: AbortSignal): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const cb of [...this.#subscribers]) {
      if (cb.onStartedLeading === undefined) continue;
      const started = this.#call('onStartedLeading', () => cb.onStartedLeading?.(signal));
      if (started !== undefined) {
        pending.push(
          Promise.resolve(started).then(
            () => {},
            (err: unknown) => this.#callbackFailed('onStartedLeading', err),
          ),
        );
      }
    }
    return Promise.all(pending).then(() => {});
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    const change: LeadershipChange = {
      lease: this.lease,
      identity: this.identity,
      leading,
      at: this.lock.clock.now(),
    };
    for (const cb of [...this.#subscribers]) {
      this.#call('onLeadershipChange', () => cb.onLeadershipChange?.(change));
    }
  }

  #reportNewLeader(): void {
    const holder = this.getLeader();
    if (holder === '' || holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    this.#logger.info(
      { lease: this.lease, identity: this.identity, leader: holder },
      'new leader observed',
    );
    for (const cb of [...this.#subscribers])
      this.#call('onNewLeader', () => cb.onNewLeader?.(holder));
  }

  /** Runs `fn` with a signal that aborts with `parent` or after `renewDeadlineMs`. */
  async #withRequestSignal<R>(
    parent: AbortSignal,
    fn: (signal: AbortSignal) => Promise<R>,
  ): Promise<R> {
    const clock = this.lock.clock;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    if (parent.aborted) onAbort();
    // A hung request must not hold up the loop past the point where it could still matter.
    const timer = clock.setTimeout(
      () => controller.abort(new Error(`lease request timed out after ${this.renewDeadlineMs} ms`)),
      this.renewDeadlineMs,
    );
    try {
      return await fn(controller.signal);
    } finally {
      clock.clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    }
  }

  #attemptFailed(operation: string, error: unknown, signal: AbortSignal): void {
    if (signal.aborted) {
      // Stopped, or the renew deadline passed, while the request was in flight: said elsewhere.
      this.#logger.debug(
        { lease: this.lease, identity: this.identity, operation },
        'lease request aborted',
      );
      return;
    }
    if (isConflict(error)) {
      // Another replica wrote first: the normal outcome of a race, retried next period.
      this.#logger.debug(
        { lease: this.lease, identity: this.identity, operation },
        'lease conflict',
      );
      return;
    }
    this.#logger.warn(
      { lease: this.lease, identity: this.identity, operation, error: describeError(error) },
      'leader election attempt failed',
    );
  }

  #call<R>(name: string, fn: () => R): R | undefined {
    try {
      return fn();
    } catch (err) {
      this.#callbackFailed(name, err);
      return undefined;
    }
  }

  #callbackFailed(name: string, error: unknown): void {
    this.#logger.error(
      { lease: this.lease, identity: this.identity, callback: name, error: describeError(error) },
      'leader election callback failed',
    );
  }
}
