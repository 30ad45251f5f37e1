// The factory's lifecycle: a terminal failure settles waitForCacheSync with the reason (reported
// once), health() for readiness probes, and informers() for exporters.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import { ReflectorRetryBudgetExhaustedError } from '@kubecache/cache';
import { CacheSyncError, SharedInformerFactory, resources } from '@kubecache/client';
import type { KubeConfig } from '@kubernetes/client-node';
import { setup } from '../apiserver/helpers.ts';

describe('SharedInformerFactory lifecycle', () => {
  let server: ApiServer;
  let kc: KubeConfig;

  before(async () => {
    ({ server, kc } = await setup({ bookmarkIntervalMs: 0 }));
    server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'a', name: 'x' } });
  });
  after(() => server.close());

  it('waitForCacheSync rejects with the reason when an informer stops for good; the terminal error is reported once', async () => {
    const reports: { error: unknown; informer: string; terminal: boolean }[] = [];
    const factory = new SharedInformerFactory(kc, {
      reflector: { retryBudget: 1, backoff: { initialMs: 1, maxMs: 2 } },
      onError: (error, ctx) =>
        reports.push({
          error,
          informer: ctx.informer,
          terminal: (ctx.source === 'list' || ctx.source === 'watch') && ctx.terminal,
        }),
    });
    const secrets = factory.core.v1.secrets();
    const configmaps = factory.core.v1.configmaps();
    server.faults.failNext({ status: 500, count: 2, path: '/secrets' });
    const ac = new AbortController();
    factory.start(ac.signal);
    try {
      await assert.rejects(
        factory.waitForCacheSync(AbortSignal.timeout(10_000)),
        (err: unknown) => {
          assert.ok(err instanceof CacheSyncError, String(err));
          assert.equal(err.code, 'CacheSyncFailed');
          assert.deepEqual(
            err.failures.map((f) => f.informer),
            ['core/v1/secrets'],
          );
          assert.ok(err.failures[0]!.error instanceof ReflectorRetryBudgetExhaustedError);
          assert.match(err.message, /core\/v1\/secrets/);
          assert.match(err.message, /500/);
          assert.equal(err.synced['core/v1/configmaps'], true);
          assert.equal(err.synced['core/v1/secrets'], false);
          return true;
        },
      );
      const terminal = reports.filter((r) => r.terminal);
      assert.equal(terminal.length, 1, 'one terminal report');
      assert.equal(terminal[0]!.informer, 'core/v1/secrets');
      assert.equal(
        reports.filter((r) => r.error instanceof ReflectorRetryBudgetExhaustedError).length,
        1,
      );
      const health = factory.health();
      assert.equal(health.ready, false);
      assert.equal(health.informers['core/v1/secrets']!.stopped, true);
      assert.equal(health.informers['core/v1/configmaps']!.ready, true);
      assert.equal(health.informers['core/v1/configmaps']!.storeSize, 1);
      assert.ok(secrets.informer().isStopped());
      assert.ok(!configmaps.informer().isStopped());
      assert.deepEqual(
        factory.informers().map((i) => i.id),
        ['core/v1/secrets', 'core/v1/configmaps'],
      );
    } finally {
      ac.abort();
      await factory.shutdown();
    }
  });

  it('health is ready once every started informer synced; informers() lists late ones too', async () => {
    const factory = new SharedInformerFactory(kc, { logger: undefined });
    factory.core.v1.configmaps();
    assert.equal(factory.health().ready, false, 'not ready before start');
    const ac = new AbortController();
    factory.start(ac.signal);
    assert.equal(factory.health().ready, false, 'started, not synced');
    assert.deepEqual(await factory.waitForCacheSync(AbortSignal.timeout(5000)), {
      'core/v1/configmaps': true,
    });
    assert.equal(factory.health().ready, true);
    factory.informerFor(resources.secrets, { namespace: 'a' });
    assert.equal(factory.informers().length, 2);
    await factory.waitForCacheSync(AbortSignal.timeout(5000));
    assert.equal(factory.health().ready, true);
    ac.abort();
    await factory.shutdown();
    assert.equal(factory.health().ready, false, 'stopped informers are not ready');
  });
});
