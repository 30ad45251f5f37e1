import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { realClock, type KubeObject } from '@kubecache/cache';
import { resources, SharedInformerFactory } from '@kubecache/client';
import { runWhileLeading, type RunWhileLeadingResult } from '@kubecache/leaderelection';
import { Controller } from '@kubecache/workqueue';
import { KubeConfig } from '@kubernetes/client-node';
import { D, harness, overlaps, R, type Harness } from './harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

/** Work that logs its start and end on the fake clock and runs until its signal aborts. */
function work(log: string[], who: string) {
  return async (signal: AbortSignal): Promise<void> => {
    log.push(`${who} start ${h.clock.now()}`);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    log.push(`${who} end ${h.clock.now()}`);
  };
}

/** Polls (real time) until `cond` holds. */
async function until(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('runWhileLeading', () => {
  it('runs the work only while leading: it starts on acquisition and its signal aborts on loss', async () => {
    const log: string[] = [];
    const a = h.candidate('a');
    const result = runWhileLeading({
      elector: a.elector,
      signal: a.stop.signal,
      run: work(log, 'a'),
    });
    await h.advance(2 * D);
    const start = h.intervals[0]!.start;
    assert.deepEqual(log, [`a start ${start}`]);

    await h.server.faults.pause();
    await h.advance(R);
    assert.equal(a.elector.isLeader(), false);
    const end = h.intervals[0]!.end!;
    assert.deepEqual(log, [`a start ${start}`, `a end ${end}`], 'the work ends with leadership');
    assert.deepEqual(await result, { outcome: 'lost', terms: 1 } satisfies RunWhileLeadingResult);
    await h.server.faults.resume();
  });

  it('reelect: after a loss it campaigns again and runs a fresh term', async () => {
    const log: string[] = [];
    const a = h.candidate('a');
    const result = runWhileLeading({
      elector: a.elector,
      signal: a.stop.signal,
      run: work(log, 'a'),
      reelect: true,
    });
    await h.settle();
    await h.server.faults.pause();
    await h.advance(R);
    assert.equal(a.elector.isLeader(), false);
    await h.server.faults.resume();
    // Nobody else took it: a reads its own (expired) record and takes it back.
    await h.advanceUntil(() => a.elector.isLeader(), 2 * D);
    assert.equal(log.length, 3);
    a.stop.abort();
    assert.deepEqual(await result, { outcome: 'stopped', terms: 2 });
    assert.equal(log.length, 4);
  });

  it('a failing work stops the election, releases the Lease and rejects with its error', async () => {
    const a = h.candidate('a', { releaseOnCancel: true });
    const b = h.candidate('b');
    const failure = new Error('controller misconfigured');
    const result = runWhileLeading({
      elector: a.elector,
      signal: a.stop.signal,
      run: () => Promise.reject(failure),
    });
    await assert.rejects(result, failure);
    assert.equal(h.lease()?.holder, '', 'released');
    void b.start();
    await h.settle();
    assert.deepEqual(h.leaders(), ['b'], 'the standby takes over at once');
  });

  it('work that finishes by itself ends the term', async () => {
    const a = h.candidate('a', { releaseOnCancel: true });
    const result = await runWhileLeading({
      elector: a.elector,
      signal: a.stop.signal,
      run: () => {},
    });
    assert.deepEqual(result, { outcome: 'finished', terms: 1 });
    assert.equal(h.lease()?.holder, '');
  });

  it('two replicas of a Controller with warm informers: the standby reconciles everything at once after fail-over, never both at once', async () => {
    const reconciles: { who: string; key: string; at: number }[] = [];
    const replicas = ['a', 'b'].map((id) => {
      const kc = new KubeConfig();
      kc.loadFromString(h.server.kubeconfigYaml);
      const stop = h.candidate(id);
      const factory = new SharedInformerFactory(kc);
      const configMaps = factory.informerFor(resources.configmaps, { labelSelector: 'app=le' });
      factory.start(stop.stop.signal); // warm up before leading
      const result = runWhileLeading({
        elector: stop.elector,
        signal: stop.stop.signal,
        run: (signal) =>
          new Controller({
            name: `cm-${id}`,
            clock: realClock,
            reconcile: ({ key }) => {
              reconciles.push({ who: id, key, at: h.clock.now() });
            },
          })
            .for(configMaps)
            .run(signal),
      });
      return { id, candidate: stop, factory, result };
    });
    const cm = (name: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'default', labels: { app: 'le' } },
    });
    h.server.create(cm('one'));
    h.server.create(cm('two'));
    await h.settle();
    const [first, second] = h.leaders()[0] === 'a' ? replicas : [...replicas].reverse();
    await until('the leader reconciled both', () => reconciles.length === 2);
    assert.ok(reconciles.every((r) => r.who === first!.id));

    first!.candidate.stop.abort(); // killed, no release
    assert.deepEqual(await first!.result, { outcome: 'stopped', terms: 1 });
    h.server.create(cm('three'));
    await h.advanceUntil(() => second!.candidate.elector.isLeader(), 3 * D);
    await until(
      'the new leader reconciled all three',
      () => reconciles.filter((r) => r.who === second!.id).length === 3,
    );
    const takeover = h.intervals.find((i) => i.identity === second!.id)!.start;
    assert.ok(reconciles.filter((r) => r.who === second!.id).every((r) => r.at >= takeover));
    assert.equal(overlaps(h.intervals), undefined);

    second!.candidate.stop.abort();
    await second!.result;
    for (const r of replicas) await r.factory.shutdown();
  });
});
