// Lifecycle and observability of the informer: failures reported once with what happens next,
// one-line logs, terminal stops that settle every waiter, refusal after stop, health, counters,
// observers, and objects that cannot be stored (skipped, reported, the rest goes on).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import {
  consoleLogger,
  FakeClock,
  InformerStoppedError,
  KeyError,
  ReflectorRetryBudgetExhaustedError,
  SharedIndexInformer,
  TransformError,
  type InformerErrorContext,
  type KubeObject,
  type ListerWatcher,
  type ListPage,
  type WatchEvent,
} from '@kubecache/cache';
import { KubeListerWatcher } from '@kubecache/client';
import type { KubeConfig } from '@kubernetes/client-node';
import { setup } from '../apiserver/helpers.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const cm = (namespace: string, name: string, v = '0'): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace, name },
  data: { v },
});

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Waits until the fake clock has a timer pending (the reflector is in a backoff). */
async function untilTimer(clock: FakeClock): Promise<number> {
  await until(() => clock.nextDue() !== undefined, 'a pending backoff timer');
  return clock.nextDue()! - clock.now();
}

describe('SharedIndexInformer lifecycle and observability', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  let nsCounter = 0;
  const aborts: AbortController[] = [];

  before(async () => {
    ({ server, kc } = await setup({ bookmarkIntervalMs: 0 }));
  });
  after(async () => {
    for (const a of aborts) a.abort();
    await server.close();
  });

  function informerIn(
    seed: number,
    options: Partial<ConstructorParameters<typeof SharedIndexInformer<ConfigMap>>[0]> = {},
  ): { ns: string; informer: SharedIndexInformer<ConfigMap>; start: () => AbortController } {
    const ns = `life${++nsCounter}`;
    for (let i = 0; i < seed; i++) server.create(cm(ns, `cm-${i}`));
    const informer = new SharedIndexInformer<ConfigMap>({
      name: `configmaps-${ns}`,
      listerWatcher: new KubeListerWatcher<ConfigMap>(kc, {
        resource: { group: '', version: 'v1', resource: 'configmaps' },
        namespace: ns,
      }),
      ...options,
    });
    return {
      ns,
      informer,
      start: () => {
        const ac = new AbortController();
        aborts.push(ac);
        informer.run(ac.signal).catch(() => {});
        return ac;
      },
    };
  }

  it('reports each failure once with stage, attempt and next retry; the terminal one once; waitForSync settles false', async () => {
    const clock = new FakeClock(1_000_000);
    const reports: { error: unknown; context: InformerErrorContext }[] = [];
    const { ns, informer } = informerIn(1, {
      clock,
      reflector: { retryBudget: 2, random: () => 0.5 },
      onError: (error, context) => reports.push({ error, context }),
    });
    server.faults.failNext({ status: 503, count: 10, path: `/namespaces/${ns}/` });
    const ac = new AbortController();
    aborts.push(ac);
    const running = informer.run(ac.signal);
    const synced = informer.waitForSync();
    for (let i = 0; i < 2; i++) await clock.advance(await untilTimer(clock));
    await assert.rejects(running, ReflectorRetryBudgetExhaustedError);
    assert.equal(await synced, false, 'a waiter for a sync that cannot come resolves false');
    assert.equal(await informer.waitForSync(), false, 'and so does a later one');
    const contexts = reports.map((r) => r.context);
    assert.equal(contexts.length, 3, JSON.stringify(contexts));
    for (const [i, c] of contexts.entries()) {
      assert.equal(c.source, 'list');
      assert.ok(c.source === 'list' && c.stage === 'list');
      assert.equal(c.source === 'list' && c.attempt, i + 1);
    }
    const [first, second, last] = contexts;
    assert.ok(first?.source === 'list' && first.retryInMs !== undefined && first.retryInMs > 0);
    assert.ok(second?.source === 'list' && second.retryInMs! > first.retryInMs!, 'backoff grows');
    assert.ok(last?.source === 'list' && last.terminal && last.retryInMs === undefined);
    assert.equal(
      reports.filter((r) => r.error instanceof ReflectorRetryBudgetExhaustedError).length,
      1,
      'the terminal error is reported exactly once',
    );
    assert.ok(informer.isStopped());
    const health = informer.health();
    assert.equal(health.ready, false);
    assert.equal(health.stopped, true);
    assert.equal(health.terminalError?.code, 'ReflectorRetryBudgetExhausted');
    assert.match(health.terminalError?.message ?? '', /503/);
  });

  it('logs one line per failure by default: stage, status, attempt, next retry; stacks only at debug', async () => {
    const clock = new FakeClock(1_000_000);
    const lines: string[] = [];
    const { ns, informer, start } = informerIn(1, {
      clock,
      reflector: { random: () => 0.5 },
      logger: consoleLogger({ level: 'info', write: (l) => lines.push(l) }),
    });
    server.faults.failNext({ status: 403, count: 2, path: `/namespaces/${ns}/` });
    const ac = start();
    await clock.advance(await untilTimer(clock));
    await clock.advance(await untilTimer(clock));
    assert.equal(await informer.waitForSync(AbortSignal.timeout(5000)), true);
    ac.abort();
    assert.equal(lines.length, 2, lines.join('\n'));
    for (const [i, line] of lines.entries()) {
      assert.equal(line.split('\n').length, 1, 'one line');
      assert.match(line, /^kubecache warn list failed, retrying /);
      assert.match(line, new RegExp(`informer=configmaps-${ns}`));
      assert.match(line, /stage=list status=403/);
      assert.match(line, new RegExp(`attempt=${i + 1} retryIn=(\\d+ms|\\d+\\.\\ds)`));
      assert.doesNotMatch(line, /\n| {4}at /, 'no stack at info');
    }
    const debug: string[] = [];
    const verbose = informerIn(1, {
      clock,
      reflector: { random: () => 0.5 },
      logger: consoleLogger({ level: 'debug', write: (l) => debug.push(l) }),
    });
    server.faults.failNext({ status: 500, count: 1, path: `/namespaces/${verbose.ns}/` });
    const ac2 = verbose.start();
    await clock.advance(await untilTimer(clock));
    assert.equal(await verbose.informer.waitForSync(AbortSignal.timeout(5000)), true);
    ac2.abort();
    assert.ok(
      debug.some((l) => l.startsWith('kubecache debug') && l.includes('at ')),
      'the stack is logged at debug',
    );
  });

  it('is stopped after abort, refuses new handlers with a typed error, and its health says so', async () => {
    const { informer, start } = informerIn(2);
    assert.equal(informer.isStopped(), false);
    assert.equal(informer.health().started, false);
    const ac = start();
    assert.equal(await informer.waitForSync(AbortSignal.timeout(5000)), true);
    await until(() => informer.health().watching, 'watching');
    const live = informer.health();
    assert.equal(live.ready, true);
    assert.equal(live.storeSize, 2);
    assert.ok(live.watchingSince !== undefined && !Number.isNaN(Date.parse(live.watchingSince)));
    assert.ok(live.lastEventAt !== undefined);
    assert.equal(live.consecutiveFailures, 0);
    ac.abort();
    await until(() => informer.isStopped(), 'stopped');
    assert.throws(
      () => informer.addEventHandler({ onAdd: () => {} }),
      (err: unknown) =>
        err instanceof InformerStoppedError &&
        err.code === 'InformerStopped' &&
        err.message.includes(informer.name) &&
        err.hint !== undefined,
    );
    const stopped = informer.health();
    assert.equal(stopped.ready, false);
    assert.equal(stopped.stopped, true);
    assert.equal(stopped.watching, false);
  });

  it('health shows a failing list (failures, next retry, last error) and a blocked handler (backlog, lag)', async () => {
    const clock = new FakeClock(1_000_000);
    const { ns, informer, start } = informerIn(3, {
      clock,
      reflector: { random: () => 0.5 },
      onError: () => {},
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    informer.addEventHandler({ onAdd: () => gate }, { name: 'blocked' });
    server.faults.failNext({
      status: 429,
      count: 1,
      retryAfterSeconds: 7,
      path: `/namespaces/${ns}/`,
    });
    const ac = start();
    const delay = await untilTimer(clock);
    assert.equal(delay, 7000, 'Retry-After is honoured');
    const failing = informer.health();
    assert.equal(failing.consecutiveFailures, 1);
    assert.equal(failing.lastError?.stage, 'list');
    assert.equal(failing.lastError?.code, 'ReflectorError');
    assert.match(failing.lastError?.message ?? '', /429/);
    assert.ok(failing.nextRetryAt !== undefined);
    await clock.advance(delay);
    assert.equal(await informer.waitForSync(AbortSignal.timeout(5000)), true);
    await until(
      () => informer.health().handlers[0]!.backlog === 2,
      'one add in flight, two queued',
    );
    await clock.advance(250);
    const blocked = informer.health().handlers[0]!;
    assert.equal(blocked.name, 'blocked');
    assert.ok(blocked.lagMs >= 250, `lag ${blocked.lagMs}`);
    assert.equal(blocked.synced, false);
    assert.equal(informer.health().consecutiveFailures, 0, 'the list reset the failure count');
    release();
    await informer.drained();
    const done = informer.health().handlers[0]!;
    assert.deepEqual([done.backlog, done.lagMs, done.synced], [0, 0, true]);
    ac.abort();
  });

  it('counts lists, relists, watches and events, and tells observers about lists and watch ends', async () => {
    const { ns, informer, start } = informerIn(2, { onError: () => {} });
    assert.equal(informer.stats().lists, 0);
    const listed: { items: number; relist: boolean }[] = [];
    const watchEnds: number[] = [];
    const stop = informer.observe({
      listed: ({ items, relist }) => listed.push({ items, relist }),
      watchEnded: ({ events }) => watchEnds.push(events),
    });
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    await until(() => informer.health().watching, 'watching');
    server.create(cm(ns, 'new'));
    server.update(cm(ns, 'new', '1'));
    server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm-0' });
    await until(() => informer.stats().events.DELETED === 1, 'three events');
    const before = informer.stats();
    assert.deepEqual(
      [before.events.ADDED, before.events.MODIFIED, before.events.DELETED],
      [1, 1, 1],
    );
    assert.deepEqual([before.lists, before.relists, before.watches], [1, 0, 1]);
    server.faults.injectWatchError(410);
    await until(() => informer.stats().relists === 1, 'a relist after the 410');
    await until(() => informer.health().watching, 'watching again');
    const afterCut = informer.stats();
    assert.ok(afterCut.watches >= 2 && afterCut.watchRestarts >= 1);
    assert.ok(afterCut.failures >= 1);
    assert.equal(afterCut.events.ERROR, 1);
    assert.deepEqual(listed, [
      { items: 2, relist: false },
      { items: 2, relist: true },
    ]);
    assert.ok(watchEnds.length >= 1 && watchEnds[0] === 3, `watch ends ${watchEnds.join()}`);
    stop();
    ac.abort();
  });

  it('skips an object its transform throws on, reports it, and stores it once the transform accepts it', async () => {
    const reports: { error: unknown; context: InformerErrorContext }[] = [];
    const { ns, informer, start } = informerIn(0, {
      transform: (o) => {
        if (o.data?.['v'] === 'poison') throw new Error('cannot transform');
        return o;
      },
      onError: (error, context) => reports.push({ error, context }),
    });
    server.create(cm(ns, 'listed-bad', 'poison'));
    server.create(cm(ns, 'listed-good'));
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    assert.deepEqual(informer.getStore().listKeys().sort(), [`${ns}/listed-good`]);
    server.create(cm(ns, 'watched-bad', 'poison'));
    server.create(cm(ns, 'watched-good'));
    await until(() => informer.getStore().listKeys().length === 2, 'the good watched object');
    server.update(cm(ns, 'watched-bad', 'fine'));
    await until(() => informer.getStore().listKeys().length === 3, 'the fixed object');
    assert.equal(informer.health().ready, true);
    const transformReports = reports.filter((r) => r.context.source === 'transform');
    assert.deepEqual(
      transformReports.map((r) => r.context.source === 'transform' && r.context.key),
      [`${ns}/listed-bad`, `${ns}/watched-bad`],
    );
    for (const r of transformReports) {
      assert.ok(r.error instanceof TransformError);
      assert.equal(r.error.code, 'TransformFailed');
      assert.match(r.error.message, /cannot transform/);
    }
    ac.abort();
  });

  it('skips objects without a name (listed or watched), reports a KeyError, stores the rest', async () => {
    const good = (name: string, rv: string): KubeObject => ({
      metadata: { namespace: 'x', name, resourceVersion: rv },
    });
    const nameless: KubeObject = { metadata: { namespace: 'x', resourceVersion: '3' } };
    const noMetadata = { kind: 'ConfigMap' } as unknown as KubeObject;
    let watchStarted = 0;
    const lw: ListerWatcher<KubeObject> = {
      list: (): Promise<ListPage<KubeObject>> =>
        Promise.resolve({
          items: [good('a', '1'), nameless, good('b', '2')],
          resourceVersion: '3',
        }),
      watch: (options) => ({
        async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent<KubeObject>> {
          watchStarted++;
          yield { type: 'ADDED', object: noMetadata };
          yield { type: 'ADDED', object: good('c', '5') };
          await new Promise((r) => options.signal.addEventListener('abort', r, { once: true }));
        },
      }),
    };
    const reports: InformerErrorContext[] = [];
    const errors: unknown[] = [];
    const informer = new SharedIndexInformer<KubeObject>({
      listerWatcher: lw,
      onError: (error, context) => {
        errors.push(error);
        reports.push(context);
      },
    });
    const ac = new AbortController();
    aborts.push(ac);
    void informer.run(ac.signal);
    await until(() => informer.getStore().listKeys().length === 3, 'a, b and c');
    assert.deepEqual(informer.getStore().listKeys().sort(), ['x/a', 'x/b', 'x/c']);
    assert.equal(watchStarted, 1, 'the watch went on past the bad object: no re-watch');
    assert.deepEqual(
      reports.map((c) => c.source),
      ['store', 'store'],
    );
    assert.ok(errors.every((e) => e instanceof KeyError));
    assert.equal(informer.lastSyncResourceVersion(), '5');
    ac.abort();
  });

  it('a handler with resyncPeriodMs 0 gets no resync even when the informer has a default', async () => {
    const clock = new FakeClock();
    const { informer, start } = informerIn(2, { clock, resyncPeriodMs: 1000 });
    let none = 0;
    let defaulted = 0;
    informer.addEventHandler({ onUpdate: () => void none++ }, { resyncPeriodMs: 0 });
    informer.addEventHandler({ onUpdate: () => void defaulted++ });
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    for (let t = 0; t < 3; t++) await clock.advance(1000);
    await informer.drained();
    assert.equal(none, 0);
    assert.equal(defaulted, 6);
    ac.abort();
  });
});
