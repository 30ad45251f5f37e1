// Bad-input catalog, part 4: input that reaches the informer itself. Objects it cannot store (no
// name, a transform that throws, an index function that throws), handlers that throw or reject,
// the same handler registered twice, a registration after stop, and a clock that jumps (a
// suspended process resuming). The informer reports each with a typed error (or the handler's
// own error with its registration), skips only what cannot be stored, and keeps serving.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import { startApiServer } from '@kubecache/apiserver';
import {
  DEFAULT_STALL_TIMEOUT_MS,
  InformerStoppedError,
  KeyError,
  KubecacheError,
  type KubeObject,
  type ReflectorError,
  TransformError,
  WatchStalledError,
} from '@kubecache/cache';
import {
  cacheOf,
  causeOf,
  cleanUp,
  cmJson,
  event,
  fakeApiServer,
  JumpClock,
  kubeConfigOf,
  reported,
  runInformer,
  serverState,
  track,
  until,
} from './helpers.ts';

async function server(): Promise<ApiServer> {
  const s = await startApiServer({ bookmarkIntervalMs: 0 });
  track(() => s.close());
  return s;
}

function cm(name: string, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
    data: { v: name },
  } as KubeObject;
}

const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name });

function configMaps(s: ApiServer): string[] {
  return serverState(s.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default' }));
}

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('bad input reaching the informer', () => {
  afterEach(cleanUp);

  it('objects without metadata or name (listed and watched): KeyError each, skipped; the rest is stored and the watch goes on', async () => {
    const noMetadata = '{"apiVersion":"v1","kind":"ConfigMap","data":{"x":"1"}}';
    const noName = '{"metadata":{"namespace":"default","resourceVersion":"10"}}';
    const fake = await fakeApiServer((_req, res, q) => {
      res.writeHead(200, JSON_HEADERS);
      if (q.get('watch') === null) {
        res.end(
          `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"10"},` +
            `"items":[${cmJson('a', 10)},${noMetadata},${noName}]}`,
        );
        return;
      }
      res.write(
        '{"type":"ADDED","object":{"metadata":{"namespace":"default","resourceVersion":"11"}}}\n',
      );
      res.write(event('ADDED', 'b', 12));
    });
    const run = runInformer(fake.kubeConfig());
    await until(() => cacheOf(run.informer).length === 2, 'a and b', run.clock);
    assert.deepEqual(cacheOf(run.informer), ['a@10', 'b@12']);
    const errs = reported(run.reports, KeyError);
    assert.equal(errs.length, 3);
    for (const e of errs) {
      assert.equal(e.code, 'KeyError');
      assert.match(e.message, /^cannot compute a store key: object has no metadata(\.name)?$/);
    }
    assert.deepEqual(
      run.reports.map((r) => r.context),
      [
        { source: 'store', key: '(no name)' },
        { source: 'store', key: 'default/(no name)' },
        { source: 'store', key: 'default/(no name)' },
      ],
    );
    assert.equal(fake.counts.watch, 1, 'the watch went on past the bad event');
    assert.equal(run.informer.lastSyncResourceVersion(), '12');
    assert.equal(run.informer.health().ready, true);
  });

  it('a transform that throws: TransformFailed naming the object, skipped; stored at its next change', async () => {
    const s = await server();
    s.create(cm('a'));
    s.create(cm('b', { format: 'v0' }));
    const run = runInformer(kubeConfigOf(s), {
      lw: { namespace: 'default' },
      informer: {
        transform: (o: KubeObject) => {
          if (o.metadata?.labels?.['format'] === 'v0') throw new Error('cannot convert format v0');
          return o;
        },
      },
    });
    await until(() => run.informer.hasSynced(), 'the sync', run.clock);
    assert.deepEqual(
      cacheOf(run.informer).map((k) => k.split('@')[0]),
      ['a'],
    );
    s.create(cm('c', { format: 'v0' }));
    s.patch(ref('b'), { metadata: { labels: { format: 'v1' } } });
    await until(() => cacheOf(run.informer).length === 2, 'b once convertible', run.clock);
    const errs = reported(run.reports, TransformError);
    assert.deepEqual(
      errs.map((e) => e.key),
      ['default/b', 'default/c'],
    );
    assert.equal(errs[0]!.code, 'TransformFailed');
    assert.equal(
      errs[0]!.message,
      'transform failed on default/b, object skipped: cannot convert format v0',
    );
    assert.match(errs[0]!.hint!, /fix the transform/);
    assert.equal((errs[0]!.cause as Error).message, 'cannot convert format v0');
    assert.deepEqual(
      run.reports.map((r) => r.context),
      [
        { source: 'transform', key: 'default/b' },
        { source: 'transform', key: 'default/c' },
      ],
    );
    assert.deepEqual(
      cacheOf(run.informer).map((k) => k.split('@')[0]),
      ['a', 'b'],
    );
    assert.equal(run.outcome.settled, false);
  });

  it('a store that rejects an object (an index function throws): that object is skipped and reported, the rest is stored', async () => {
    const s = await server();
    s.create(cm('a', { owner: 'team-a' }));
    s.create(cm('b', { owner: 'corrupt' }));
    const byOwner = (o: KubeObject): string[] => {
      const owner = o.metadata?.labels?.['owner'];
      if (owner === 'corrupt') throw new Error('owner label cannot be indexed');
      return owner === undefined ? [] : [owner];
    };
    const run = runInformer(kubeConfigOf(s), {
      lw: { namespace: 'default' },
      informer: { indexers: { byOwner } },
    });
    await until(
      () => run.informer.hasSynced() || run.reports.length >= 3,
      'the sync (or repeated failures)',
      run.clock,
    );
    assert.equal(
      run.informer.hasSynced(),
      true,
      `the list should be stored without b; reported: ${run.reports.map((r) => String(r.error)).join(' | ')}`,
    );
    assert.deepEqual(
      cacheOf(run.informer).map((k) => k.split('@')[0]),
      ['a'],
    );
    s.create(cm('c', { owner: 'corrupt' }));
    s.create(cm('d', { owner: 'team-d' }));
    await until(() => cacheOf(run.informer).length === 2, 'd past c', run.clock);
    assert.deepEqual(run.informer.getIndexer().byIndex('byOwner', 'team-d').length, 1);
    const rejected = run.reports.filter((r) =>
      causeOf(r.error, Error)?.message.includes('owner label cannot be indexed'),
    );
    assert.equal(rejected.length, 2, 'b (listed) and c (watched) reported once each');
    for (const [r, key] of [
      [rejected[0]!, 'default/b'],
      [rejected[1]!, 'default/c'],
    ] as const) {
      assert.ok(r.error instanceof KubecacheError, `typed: ${String(r.error)}`);
      assert.match(r.error.message, new RegExp(key), 'names the object');
      const chain: unknown[] = [];
      for (let e: unknown = r.error; e instanceof Error; e = e.cause) chain.push(e);
      assert.ok(
        chain.some((e) => (e as Error).message === 'owner label cannot be indexed'),
        'the index function error is the cause',
      );
    }
    assert.equal(run.outcome.settled, false, 'still running');
  });

  it('a handler that throws: reported with its registration and event; it and the others keep receiving', async () => {
    const s = await server();
    s.create(cm('a'));
    s.create(cm('b'));
    const run = runInformer(kubeConfigOf(s), { lw: { namespace: 'default' } });
    const auditSeen: string[] = [];
    const otherSeen: string[] = [];
    run.informer.addEventHandler(
      {
        onAdd: (o) => {
          auditSeen.push(`add ${o.metadata?.name}`);
          if (o.metadata?.name === 'b') throw new Error('audit sink is full');
        },
        onDelete: (o) => auditSeen.push(`delete ${'obj' in o ? o.key : o.metadata?.name}`),
      },
      { name: 'audit' },
    );
    run.informer.addEventHandler({
      onAdd: (o) => otherSeen.push(`add ${o.metadata?.name}`),
      onDelete: (o) => otherSeen.push(`delete ${'obj' in o ? o.key : o.metadata?.name}`),
    });
    await until(() => run.informer.hasSynced(), 'the sync', run.clock);
    s.create(cm('c'));
    s.delete(ref('a'));
    await until(() => otherSeen.length === 4, 'c and the delete', run.clock);
    await run.informer.drained();
    assert.deepEqual(auditSeen, ['add a', 'add b', 'add c', 'delete a']);
    assert.deepEqual(otherSeen, ['add a', 'add b', 'add c', 'delete a']);
    assert.equal(run.reports.length, 1);
    assert.deepEqual(run.reports[0]!.context, {
      source: 'handler',
      registration: 'audit',
      event: 'add',
    });
    assert.equal((run.reports[0]!.error as Error).message, 'audit sink is full');
    assert.deepEqual(cacheOf(run.informer), configMaps(s));
    const audit = run.informer.health().handlers.find((h) => h.name === 'audit')!;
    assert.equal(audit.backlog, 0);
  });

  it('an async handler that rejects: reported once, no unhandled rejection, later events still delivered in order', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const s = await server();
      s.create(cm('a'));
      s.create(cm('b'));
      const run = runInformer(kubeConfigOf(s), { lw: { namespace: 'default' } });
      const seen: string[] = [];
      run.informer.addEventHandler(
        {
          onAdd: async (o) => {
            await new Promise((r) => setTimeout(r, 1));
            seen.push(`add ${o.metadata?.name}`);
            if (o.metadata?.name === 'b') throw new Error('remote webhook answered 503');
          },
          onUpdate: async (_old, o) => {
            await new Promise((r) => setTimeout(r, 1));
            seen.push(`update ${o.metadata?.name}`);
          },
        },
        { name: 'notifier' },
      );
      await until(() => run.informer.hasSynced(), 'the sync', run.clock);
      s.patch(ref('b'), { data: { v: 'b2' } });
      s.create(cm('c'));
      await until(() => seen.length === 4, 'the later events', run.clock);
      await run.informer.drained();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(seen, ['add a', 'add b', 'update b', 'add c']);
      assert.equal(run.reports.length, 1);
      assert.deepEqual(run.reports[0]!.context, {
        source: 'handler',
        registration: 'notifier',
        event: 'add',
      });
      assert.equal((run.reports[0]!.error as Error).message, 'remote webhook answered 503');
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('the same handler registered twice: two independent registrations (as client-go), each removable', async () => {
    const s = await server();
    s.create(cm('a'));
    const run = runInformer(kubeConfigOf(s), { lw: { namespace: 'default' } });
    const calls: string[] = [];
    const handler = {
      onAdd: (o: { metadata?: { name?: string } }) => void calls.push(o.metadata?.name ?? ''),
    };
    const first = run.informer.addEventHandler(handler);
    const second = run.informer.addEventHandler(handler);
    assert.notEqual(first, second);
    await until(() => run.informer.hasSynced(), 'the sync', run.clock);
    await run.informer.drained();
    assert.deepEqual(calls, ['a', 'a'], 'delivered once per registration');
    assert.deepEqual(
      run.informer.health().handlers.map((h) => h.name),
      [first.name, second.name],
    );
    assert.notEqual(first.name, second.name, 'each has its own name in reports and health');
    first.remove();
    s.create(cm('b'));
    await until(() => cacheOf(run.informer).length === 2, 'b', run.clock);
    await run.informer.drained();
    assert.deepEqual(calls, ['a', 'a', 'b'], 'the remaining registration still delivers');
    assert.equal(run.reports.length, 0);
  });

  it('a handler registered after the informer stopped: InformerStopped, instead of a frozen cache replayed as adds', async () => {
    const s = await server();
    s.create(cm('a'));
    const run = runInformer(kubeConfigOf(s), { lw: { namespace: 'default' } });
    await until(() => run.informer.hasSynced(), 'the sync', run.clock);
    await run.stop();
    assert.equal(run.informer.isStopped(), true);
    assert.throws(
      () => run.informer.addEventHandler({ onAdd: () => {} }),
      (err: unknown) => {
        assert.ok(err instanceof InformerStoppedError);
        assert.equal(err.code, 'InformerStopped');
        assert.match(err.message, /has stopped; it accepts no new handlers/);
        assert.match(err.hint!, /register handlers before stopping/);
        return true;
      },
    );
  });

  it('a clock jump (the process was suspended for an hour): one resync, the stale watch replaced from the last RV, nothing lost', async () => {
    const s = await server();
    s.create(cm('a'));
    s.create(cm('b'));
    const clock = new JumpClock();
    const run = runInformer(kubeConfigOf(s), {
      clock,
      lw: { namespace: 'default' },
      informer: { reflector: { stallTimeoutMs: DEFAULT_STALL_TIMEOUT_MS } },
    });
    let resyncs = 0;
    let updates = 0;
    run.informer.addEventHandler(
      {
        onUpdate: (oldObj, newObj) => {
          if (oldObj === newObj) resyncs++;
          else updates++;
        },
      },
      { resyncPeriodMs: 60_000 },
    );
    // Real time only here: moving this clock would be a jump of its own.
    await until(() => run.informer.hasSynced() && run.informer.health().watching, 'watching');
    const watchesBefore = s.stats.log.filter((r) => r.url.includes('watch')).length;
    s.patch(ref('a'), { data: { v: 'a2' } });
    await until(() => updates === 1, 'the update');
    const rvBefore = run.informer.lastSyncResourceVersion();
    await clock.jump(3_600_000);
    await until(() => run.informer.health().watching, 'watching again');
    await run.informer.drained();
    assert.equal(resyncs, 2, 'one resync round (2 objects), not one per missed minute');
    const stalls = reported(run.reports, WatchStalledError);
    assert.equal(stalls.length, 1);
    assert.equal(stalls[0]!.code, 'WatchStalled');
    assert.ok(stalls[0]!.idleMs >= 3_600_000);
    assert.equal((run.reports[0]!.error as ReflectorError).stage, 'watch-stream');
    const watches = s.stats.log.filter((r) => r.url.includes('watch'));
    assert.equal(watches.length, watchesBefore + 1, 'one new watch');
    assert.match(watches.at(-1)!.url, new RegExp(`resourceVersion=${rvBefore}(&|$)`));
    s.create(cm('c'));
    await until(() => cacheOf(run.informer).length === 3, 'c');
    assert.deepEqual(cacheOf(run.informer), configMaps(s));
    assert.equal(run.informer.stats().relists, 0, 'no relist was needed');
  });
});
