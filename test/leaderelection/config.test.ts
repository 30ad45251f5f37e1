import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, KubecacheError } from '@kubecache/cache';
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  LeaderElectionConfigError,
  LeaderElector,
  LeaseLock,
  validateTimings,
  type LeaderElectorOptions,
} from '@kubecache/leaderelection';
import { KubeConfig } from '@kubernetes/client-node';

const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'c', server: 'http://127.0.0.1:1' }],
  users: [{ name: 'u' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});
const lock = { kubeConfig: kc, namespace: 'default', name: 'l', identity: 'a' };

function rejects(options: Partial<LeaderElectorOptions>, field: string, pattern: RegExp): void {
  assert.throws(
    () => new LeaderElector({ lock, ...options }),
    (err: unknown) => {
      assert.ok(err instanceof LeaderElectionConfigError, String(err));
      assert.ok(err instanceof KubecacheError);
      assert.equal(err.code, 'LeaderElectionConfig');
      assert.equal(err.field, field);
      assert.match(err.message, pattern);
      assert.ok(err.hint !== undefined && err.hint.length > 0, 'an operator hint');
      return true;
    },
  );
}

describe('leader election timings (client-go rules)', () => {
  it("defaults to client-go's 15 s / 10 s / 2 s", () => {
    const e = new LeaderElector({ lock });
    assert.equal(e.leaseDurationMs, DEFAULT_LEASE_DURATION_MS);
    assert.equal(e.renewDeadlineMs, DEFAULT_RENEW_DEADLINE_MS);
    assert.equal(e.retryPeriodMs, DEFAULT_RETRY_PERIOD_MS);
    assert.deepEqual(
      [DEFAULT_LEASE_DURATION_MS, DEFAULT_RENEW_DEADLINE_MS, DEFAULT_RETRY_PERIOD_MS],
      [15_000, 10_000, 2_000],
    );
  });

  it('leaseDuration must exceed renewDeadline', () => {
    rejects(
      { leaseDurationMs: 10_000, renewDeadlineMs: 10_000 },
      'leaseDurationMs',
      /greater than renewDeadlineMs/,
    );
    rejects(
      { leaseDurationMs: 5_000, renewDeadlineMs: 10_000 },
      'leaseDurationMs',
      /greater than renewDeadlineMs/,
    );
  });

  it('renewDeadline must exceed 1.2 × retryPeriod (JitterFactor)', () => {
    rejects(
      { renewDeadlineMs: 2_400, retryPeriodMs: 2_000 },
      'renewDeadlineMs',
      /retryPeriodMs × 1\.2 \(2400\)/,
    );
    rejects(
      { renewDeadlineMs: 1_000, retryPeriodMs: 2_000 },
      'renewDeadlineMs',
      /retryPeriodMs × 1\.2/,
    );
    // Just over the line is fine.
    assert.equal(
      new LeaderElector({ lock, renewDeadlineMs: 2_401, retryPeriodMs: 2_000 }).renewDeadlineMs,
      2_401,
    );
  });

  it('every duration must be a positive number', () => {
    for (const field of ['leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs'] as const) {
      for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        rejects({ [field]: value }, field, /greater than zero/);
      }
    }
  });

  it('leaseDuration must be at least one second (a Lease stores whole seconds)', () => {
    rejects(
      { leaseDurationMs: 900, renewDeadlineMs: 600, retryPeriodMs: 100 },
      'leaseDurationMs',
      /at least 1000/,
    );
    const e = new LeaderElector({
      lock,
      leaseDurationMs: 1_000,
      renewDeadlineMs: 600,
      retryPeriodMs: 100,
    });
    assert.equal(e.leaseDurationMs, 1_000);
  });

  it('validateTimings applies the same rules on its own', () => {
    assert.deepEqual(
      validateTimings({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 }),
      {
        leaseDurationMs: 4_000,
        renewDeadlineMs: 3_000,
        retryPeriodMs: 500,
      },
    );
    assert.throws(
      () => validateTimings({ leaseDurationMs: 3_000, renewDeadlineMs: 3_000 }),
      LeaderElectionConfigError,
    );
  });
});

describe('leader election lock options', () => {
  it('identity, namespace and name must not be empty', () => {
    for (const field of ['identity', 'namespace', 'name'] as const) {
      assert.throws(
        () => new LeaderElector({ lock: { ...lock, [field]: '' } }),
        (err: unknown) => err instanceof LeaderElectionConfigError && err.field === field,
      );
    }
  });

  it('a KubeConfig or an API client is required', () => {
    assert.throws(
      () => new LeaseLock({ namespace: 'default', name: 'l', identity: 'a' }),
      (err: unknown) =>
        err instanceof LeaderElectionConfigError &&
        err.field === 'kubeConfig' &&
        err.hint !== undefined,
    );
  });

  it('the clock: given to the elector it times the lock too; a different one from a given lock is refused', () => {
    const clock = new FakeClock();
    assert.equal(new LeaderElector({ lock, clock }).lock.clock, clock);
    const withClock = new LeaseLock({ ...lock, clock });
    assert.equal(new LeaderElector({ lock: withClock, clock }).lock.clock, clock);
    assert.throws(
      () => new LeaderElector({ lock: withClock, clock: new FakeClock() }),
      (err: unknown) => err instanceof LeaderElectionConfigError && err.field === 'clock',
    );
  });

  it('run refuses to run twice at once', async () => {
    const e = new LeaderElector({ lock, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    const stop = new AbortController();
    const first = e.run(stop.signal);
    await assert.rejects(
      e.run(stop.signal),
      (err: unknown) => err instanceof LeaderElectionConfigError && err.field === 'run',
    );
    stop.abort();
    assert.equal(await first, 'stopped');
  });
});
