import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeClock, KubecacheError } from '@kubecache/cache';
import { isConflict } from '@kubecache/client';
import type { ApiServer } from '@kubecache/apiserver';
import {
  LeaseLock,
  LeaseNotLoadedError,
  microTime,
  type LeaseRecord,
} from '@kubecache/leaderelection';
import type { KubeConfig } from '@kubernetes/client-node';
import { setup } from '../apiserver/helpers.ts';

const ref = (name: string) =>
  ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'default', name }) as const;

function record(holder: string, transitions = 0): LeaseRecord {
  const now = microTime(Date.UTC(2030, 0, 1));
  return {
    holderIdentity: holder,
    leaseDurationSeconds: 10,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: transitions,
  };
}

let server: ApiServer;
let kc: KubeConfig;
let clock: FakeClock;
beforeEach(async () => {
  ({ server, kc } = await setup());
  clock = new FakeClock(5_000);
});
afterEach(async () => {
  await server.close();
});

const lockFor = (identity: string, name = 'member-a', labels?: Record<string, string>) =>
  new LeaseLock({ kubeConfig: kc, namespace: 'default', name, identity, clock, labels });

describe('LeaseLock', () => {
  it('get is undefined for a missing Lease; create writes the record, with labels', async () => {
    const lock = lockFor('a', 'member-a', { 'kubecache.io/role': 'member' });
    assert.equal(await lock.get(), undefined);
    assert.equal(lock.observed, undefined);
    assert.equal(lock.isExpired(), true, 'nothing observed: expired');

    const seen = await lock.create(record('a'));
    assert.deepEqual(seen.record, record('a'));
    assert.equal(seen.observedAt, 5_000);
    assert.equal(lock.describe(), 'default/member-a');
    const stored = server.get<{
      metadata?: { labels?: Record<string, string>; resourceVersion?: string };
      spec?: Record<string, unknown>;
    }>(ref('member-a'));
    assert.equal(stored?.metadata?.resourceVersion, seen.resourceVersion);
    assert.deepEqual(stored?.metadata?.labels, { 'kubecache.io/role': 'member' });
    assert.equal(
      stored?.spec?.['renewTime'],
      '2030-01-01T00:00:00.000000Z',
      'MicroTime on the wire',
    );
    assert.equal(stored?.spec?.['holderIdentity'], 'a');
  });

  it('observation time: kept while the record does not change, reset when it (or its resourceVersion) does', async () => {
    const writer = lockFor('a');
    await writer.create(record('a'));
    const reader = lockFor('b');
    const first = await reader.get();
    assert.equal(first?.observedAt, 5_000);
    assert.equal(
      reader.expiresAt(),
      15_000,
      'observedAt + leaseDurationSeconds, on the local clock',
    );

    await clock.advance(4_000);
    assert.equal((await reader.get())?.observedAt, 5_000, 'unchanged record: same observation');
    assert.equal(reader.isExpired(14_999), false);
    assert.equal(reader.isExpired(15_000), true);

    // A renewal whose renewTime goes backwards is still a change.
    await writer.update({ ...record('a'), renewTime: microTime(0) });
    assert.equal((await reader.get())?.observedAt, 9_000);

    // So is a change the record does not show (a label): only "nothing changed" keeps the time.
    server.patch(ref('member-a'), { metadata: { labels: { touched: 'yes' } } });
    await clock.advance(1_000);
    assert.equal((await reader.get())?.observedAt, 10_000);
  });

  it('update is conditional on the resourceVersion read: a stale writer gets 409', async () => {
    const a = lockFor('a', 'contended');
    const b = lockFor('b', 'contended');
    await a.create(record('a'));
    await b.get();
    // a renews (a write that changes nothing is a no-op for the API server, so the time moves).
    await a.update({ ...record('a'), renewTime: microTime(1) });
    await assert.rejects(b.update(record('b', 1)), (err: unknown) => isConflict(err));
    await b.get();
    const seen = await b.update(record('b', 1));
    assert.equal(seen.record.holderIdentity, 'b');
    await assert.rejects(a.update(record('a')), (err: unknown) => isConflict(err));
  });

  it('create of an existing Lease is a 409 too', async () => {
    await lockFor('a', 'twice').create(record('a'));
    await assert.rejects(lockFor('b', 'twice').create(record('b')), (err: unknown) =>
      isConflict(err),
    );
  });

  it('update keeps what else the Lease carries and merges the lock labels', async () => {
    server.create({
      ...ref('annotated'),
      metadata: {
        name: 'annotated',
        namespace: 'default',
        annotations: { note: 'keep' },
        labels: { team: 'x' },
      },
      spec: { holderIdentity: 'z', leaseDurationSeconds: 5 },
    });
    const lock = lockFor('a', 'annotated', { role: 'member' });
    await lock.get();
    await lock.update(record('a'));
    const stored = server.get<{
      metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> };
    }>(ref('annotated'));
    assert.deepEqual(stored?.metadata?.annotations, { note: 'keep' });
    assert.deepEqual(stored?.metadata?.labels, { team: 'x', role: 'member' });
  });

  it('update before get or create is refused with a typed error', async () => {
    await assert.rejects(lockFor('a').update(record('a')), (err: unknown) => {
      assert.ok(err instanceof LeaseNotLoadedError);
      assert.ok(err instanceof KubecacheError);
      assert.equal(err.code, 'LeaseNotLoaded');
      return true;
    });
  });

  it('a request is abandoned when its signal aborts', async () => {
    await lockFor('a', 'slow').create(record('a'));
    server.faults.setLatency(400); // long enough to abort first, short enough not to keep the server busy
    const abort = new AbortController();
    const pending = lockFor('b', 'slow').get(abort.signal);
    setTimeout(() => abort.abort(new Error('give up')), 10);
    await assert.rejects(pending);
    server.faults.setLatency(0);
  });

  it('one lock per Lease name: membership Leases of several replicas', async () => {
    for (const id of ['r1', 'r2', 'r3']) await lockFor(id, `member-${id}`).create(record(id));
    const watcher = lockFor('r1', 'member-r2');
    const seen = await watcher.get();
    assert.equal(seen?.record.holderIdentity, 'r2');
    assert.equal(watcher.isExpired(), false);
  });
});
