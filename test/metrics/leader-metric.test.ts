import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLeaderMetric } from '@kubecache/metrics';
import { Registry } from 'prom-client';
import { samples, value } from './scrape.ts';

describe('createLeaderMetric (kubecache_leader_is_leader)', () => {
  it('is 1 while leader, 0 after losing the lease, gone after remove()', async () => {
    const registry = new Registry();
    const leader = createLeaderMetric({ registry });
    const lease = { lease: 'kube-system/my-controller' };
    assert.deepEqual(samples(await registry.metrics(), 'kubecache_leader_is_leader'), []);

    leader.set(lease.lease, true);
    assert.equal(value(await registry.metrics(), 'kubecache_leader_is_leader', lease), 1);
    leader.set(lease.lease, false);
    assert.equal(value(await registry.metrics(), 'kubecache_leader_is_leader', lease), 0);
    leader.set('default/other', true);
    assert.equal(samples(await registry.metrics(), 'kubecache_leader_is_leader').length, 2);

    leader.remove(lease.lease);
    assert.deepEqual(
      samples(await registry.metrics(), 'kubecache_leader_is_leader').map((s) => s.labels),
      [{ lease: 'default/other' }],
    );

    leader.unregister();
    assert.equal(registry.getSingleMetric('kubecache_leader_is_leader'), undefined);
  });

  it('refuses a second leader metric in the same registry', () => {
    const registry = new Registry();
    const leader = createLeaderMetric({ registry });
    assert.throws(() => createLeaderMetric({ registry }), /already registered/);
    leader.unregister();
  });
});
