import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import {
  DeletedFinalStateUnknown,
  FakeClock,
  InformerStateError,
  SharedIndexInformer,
  stripManagedFields,
  type InformerEvent,
  type KubeObject,
  seededRandom,
} from '@kubecache/cache';
import { KubeListerWatcher } from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const SEED = Number(process.env.KUBECACHE_TEST_SEED ?? Date.now() % 100_000);
async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cm = (namespace: string, name: string, data: Record<string, string> = {}): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace, name },
  data,
});

describe('SharedIndexInformer over HTTP (embedded API server)', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  let nsCounter = 0;
  const aborts: AbortController[] = [];

  before(async () => {
    server = await startApiServer({ bookmarkIntervalMs: 0 });
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
  });
  after(async () => {
    for (const a of aborts) a.abort();
    await server.close();
  });

  /** A fresh namespace and an informer over its configmaps. */
  function informerIn(
    seedCount: number,
    options: Partial<ConstructorParameters<typeof SharedIndexInformer<ConfigMap>>[0]> = {},
  ): { ns: string; informer: SharedIndexInformer<ConfigMap>; start: () => AbortController } {
    const ns = `t${++nsCounter}`;
    for (let i = 0; i < seedCount; i++) server.create(cm(ns, `cm-${i}`, { v: '0' }));
    const informer = new SharedIndexInformer<ConfigMap>({
      listerWatcher: new KubeListerWatcher<ConfigMap>(kc, {
        resource: { group: '', version: 'v1', resource: 'configmaps' },
        namespace: ns,
      }),
      reflector: { backoff: { initialMs: 10, maxMs: 50 } },
      ...options,
    });
    return {
      ns,
      informer,
      start: () => {
        const ac = new AbortController();
        aborts.push(ac);
        void informer.run(ac.signal);
        return ac;
      },
    };
  }

  const label = (o: ConfigMap | DeletedFinalStateUnknown<ConfigMap>): string =>
    o instanceof DeletedFinalStateUnknown
      ? `tombstone ${o.key}`
      : `${o.metadata?.name}=${o.data?.['v'] ?? ''}`;

  it('lists, watches and delivers add/update/delete in order; registration syncs', async () => {
    const { ns, informer, start } = informerIn(3);
    const log: string[] = [];
    const reg = informer.addEventHandler({
      onAdd: (o, initial) => void log.push(`add ${label(o)}${initial ? ' initial' : ''}`),
      onUpdate: (a, b) => void log.push(`update ${label(a)} -> ${label(b)}`),
      onDelete: (o) => void log.push(`delete ${label(o)}`),
    });
    assert.equal(reg.hasSynced(), false);
    const ac = start();
    assert.equal(await informer.waitForSync(AbortSignal.timeout(5000)), true);
    await until(() => reg.hasSynced(), 'registration sync');
    assert.notEqual(informer.lastSyncResourceVersion(), '');
    assert.deepEqual(log.sort(), [
      'add cm-0=0 initial',
      'add cm-1=0 initial',
      'add cm-2=0 initial',
    ]);
    log.length = 0;
    server.create(cm(ns, 'new', { v: '1' }));
    server.update(cm(ns, 'new', { v: '2' }));
    server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'new' });
    await until(() => log.length === 3, 'three live events');
    assert.deepEqual(log, ['add new=1', 'update new=1 -> new=2', 'delete new=2']);
    assert.equal(informer.getStore().size, 3);
    assert.deepEqual(
      informer
        .getIndexer()
        .byIndex('namespace', ns)
        .map((o) => o.metadata?.name)
        .sort(),
      ['cm-0', 'cm-1', 'cm-2'],
    );
    ac.abort();
  });

  it('a slow handler does not delay the others, and each handler sees its events in order', async () => {
    const { ns, informer, start } = informerIn(0);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: string[] = [];
    const fast: string[] = [];
    const random = seededRandom(SEED);
    let inFlight = 0;
    let maxInFlight = 0;
    const jittery: string[] = [];
    informer.addEventHandler({
      onUpdate: async (_a, b) => {
        slow.push(label(b));
        await gate;
      },
    });
    informer.addEventHandler({ onUpdate: (_a, b) => void fast.push(label(b)) });
    informer.addEventHandler({
      onUpdate: async (_a, b) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, Math.floor(random() * 3)));
        jittery.push(label(b));
        inFlight--;
      },
    });
    server.create(cm(ns, 'x', { v: '0' }));
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    for (let v = 1; v <= 20; v++) server.update(cm(ns, 'x', { v: String(v) }));
    const want = Array.from({ length: 20 }, (_, i) => `x=${i + 1}`);
    await until(() => fast.length === 20, 'fast handler');
    assert.deepEqual(fast, want);
    assert.deepEqual(slow, ['x=1'], 'the slow handler is still on its first event');
    await until(() => jittery.length === 20, `jittery handler (seed ${SEED})`);
    assert.deepEqual(jittery, want, `seed ${SEED}`);
    assert.equal(maxInFlight, 1, 'an async handler never runs two events at once');
    release();
    await until(() => slow.length === 20, 'slow handler after release');
    assert.deepEqual(slow, want);
    ac.abort();
  });

  it('a late registration gets the cache as initial adds, then live events, no gap or duplicate', async () => {
    const { ns, informer, start } = informerIn(5);
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    server.update(cm(ns, 'cm-0', { v: '1' }));
    await until(
      () => informer.getStore().getByKey(`${ns}/cm-0`)?.data?.['v'] === '1',
      'update seen',
    );
    const view = new Map<string, string>();
    const events: string[] = [];
    // Writes keep flowing while the handler registers.
    const writer = (async () => {
      for (let i = 0; i < 20; i++) {
        server.update(cm(ns, `cm-${i % 5}`, { v: String(100 + i) }));
        if (i % 4 === 0) server.create(cm(ns, `extra-${i}`, { v: '0' }));
        await new Promise((r) => setImmediate(r));
      }
    })();
    await new Promise((r) => setTimeout(r, 2));
    const reg = informer.addEventHandler({
      onAdd: (o, initial) => {
        const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
        assert.ok(!view.has(key), `duplicate add for ${key}`);
        view.set(key, o.metadata?.resourceVersion ?? '');
        events.push(`add ${initial}`);
      },
      onUpdate: (a, b) => {
        const key = `${b.metadata?.namespace}/${b.metadata?.name}`;
        assert.equal(
          view.get(key),
          a.metadata?.resourceVersion,
          `update continues what ${key} was`,
        );
        view.set(key, b.metadata?.resourceVersion ?? '');
      },
    });
    await writer;
    await until(() => reg.hasSynced(), 'late registration synced');
    const last = server.resourceVersion();
    await until(() => informer.lastSyncResourceVersion() === last, 'informer caught up');
    await informer.drained();
    const store = new Map(
      informer
        .getStore()
        .list()
        .map((o) => [
          `${o.metadata?.namespace}/${o.metadata?.name}`,
          o.metadata?.resourceVersion ?? '',
        ]),
    );
    assert.deepEqual(view, store);
    assert.ok(events[0] === 'add true', 'initial adds come first');
    ac.abort();
  });

  it('a handler removed during delivery gets nothing more; the others continue', async () => {
    const { ns, informer, start } = informerIn(0);
    const seen: string[] = [];
    const other: string[] = [];
    const reg = informer.addEventHandler({
      onAdd: (o) => {
        seen.push(o.metadata?.name ?? '');
        if (seen.length === 2) reg.remove();
      },
    });
    informer.addEventHandler({ onAdd: (o) => void other.push(o.metadata?.name ?? '') });
    for (let i = 0; i < 6; i++) server.create(cm(ns, `c${i}`));
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    server.create(cm(ns, 'later'));
    await until(() => other.length === 7, 'other handler');
    assert.equal(seen.length, 2);
    assert.equal(reg.removed, true);
    ac.abort();
  });

  it('a stuck handler with a small buffer gets the coalesced net changes, ending at the store state', async () => {
    const { ns, informer, start } = informerIn(4);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const view = new Map<string, string>();
    let deliveries = 0;
    const reg = informer.addEventHandler(
      {
        onAdd: async (o) => {
          deliveries++;
          view.set(o.metadata?.name ?? '', o.data?.['v'] ?? '');
          await gate;
        },
        onUpdate: (_a, b) => {
          deliveries++;
          view.set(b.metadata?.name ?? '', b.data?.['v'] ?? '');
        },
        onDelete: (o) => {
          deliveries++;
          view.delete(
            o instanceof DeletedFinalStateUnknown ? o.key.split('/')[1]! : (o.metadata?.name ?? ''),
          );
        },
      },
      { bufferCapacity: 8 },
    );
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    for (let v = 1; v <= 200; v++) server.update(cm(ns, `cm-${v % 4}`, { v: String(v) }));
    server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm-3' });
    const last = server.resourceVersion();
    await until(() => informer.lastSyncResourceVersion() === last, 'informer caught up');
    assert.ok(reg.pending <= 16, `buffer stayed bounded (${reg.pending} pending)`);
    release();
    await informer.drained();
    assert.ok(deliveries < 60, `coalesced: ${deliveries} deliveries for 205 changes`);
    const store = new Map(
      informer
        .getStore()
        .list()
        .map((o) => [o.metadata?.name ?? '', o.data?.['v'] ?? '']),
    );
    assert.deepEqual(view, store);
    assert.equal(view.has('cm-3'), false);
    ac.abort();
  });

  it('handler exceptions and rejections go to the error hook; delivery continues', async () => {
    const errors: { message: string; source: string }[] = [];
    const { ns, informer, start } = informerIn(0, {
      onError: (err, ctx) => errors.push({ message: (err as Error).message, source: ctx.source }),
    });
    const seen: string[] = [];
    informer.addEventHandler({
      onAdd: (o) => {
        seen.push(o.metadata?.name ?? '');
        if (o.metadata?.name === 'throw') throw new Error('thrown');
        if (o.metadata?.name === 'reject') return Promise.reject(new Error('rejected'));
        return undefined;
      },
    });
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    for (const n of ['throw', 'reject', 'fine']) server.create(cm(ns, n));
    await until(() => seen.length === 3, 'all three adds');
    await informer.drained();
    assert.deepEqual(seen, ['throw', 'reject', 'fine']);
    assert.deepEqual(errors, [
      { message: 'thrown', source: 'handler' },
      { message: 'rejected', source: 'handler' },
    ]);
    ac.abort();
  });

  it('resyncs per handler on the informer clock (minimum 1 s)', async () => {
    const clock = new FakeClock();
    const { informer, start } = informerIn(3, { clock, resyncPeriodMs: 2000 });
    const counts = { oneSecond: 0, threeSeconds: 0, clamped: 0, defaulted: 0 };
    const count = (k: keyof typeof counts) => ({
      onUpdate: (a: ConfigMap, b: ConfigMap) => {
        assert.equal(a, b, 'a resync delivers the same object twice');
        counts[k]++;
      },
    });
    informer.addEventHandler(count('oneSecond'), { resyncPeriodMs: 1000 });
    informer.addEventHandler(count('threeSeconds'), { resyncPeriodMs: 3000 });
    informer.addEventHandler(count('clamped'), { resyncPeriodMs: 10 });
    informer.addEventHandler(count('defaulted'));
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    for (let t = 0; t < 6; t++) await clock.advance(500);
    await informer.drained();
    assert.deepEqual(counts, { oneSecond: 9, threeSeconds: 3, clamped: 9, defaulted: 3 });
    ac.abort();
  });

  it('a relist after missed deletes delivers tombstones with the last known state', async () => {
    const watchErrors: unknown[] = [];
    const { ns, informer, start } = informerIn(3, {
      onError: (err, ctx) => ctx.source === 'watch' && watchErrors.push(err),
    });
    const deletes: (ConfigMap | DeletedFinalStateUnknown<ConfigMap>)[] = [];
    const adds: string[] = [];
    informer.addEventHandler({
      onAdd: (o, initial) => void adds.push(`${o.metadata?.name}${initial ? ' initial' : ''}`),
      onDelete: (o) => void deletes.push(o),
    });
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    await server.faults.pause();
    server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm-1' });
    server.create(cm(ns, 'while-away'));
    server.faults.compactHistory();
    await server.faults.resume();
    await until(() => deletes.length === 1 && adds.length === 4, 'relist');
    const [d] = deletes;
    assert.ok(d instanceof DeletedFinalStateUnknown);
    assert.equal(d.key, `${ns}/cm-1`);
    assert.equal(d.obj?.metadata?.name, 'cm-1');
    assert.equal(adds.at(-1), 'while-away', 'adds after the first sync are not initial');
    assert.ok(watchErrors.length >= 1, 'the broken watch was reported to the error hook');
    ac.abort();
  });

  it('events() yields the same stream as an async iterator and ends on abort', async () => {
    const { ns, informer, start } = informerIn(1);
    const ac = start();
    const stop = new AbortController();
    const seen: InformerEvent<ConfigMap>['type'][] = [];
    const loop = (async () => {
      for await (const ev of informer.events({ signal: stop.signal })) {
        seen.push(ev.type);
        if (ev.type === 'added' && ev.object.metadata?.name === 'cm-0') {
          assert.equal(ev.isInInitialList, true);
          server.update(cm(ns, 'cm-0', { v: 'x' }));
        }
        if (ev.type === 'updated')
          server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm-0' });
        if (ev.type === 'deleted') stop.abort();
      }
    })();
    await loop;
    assert.deepEqual(seen, ['added', 'updated', 'deleted']);
    ac.abort();
  });

  it('breaking out of events() removes its registration (nothing stays parked)', async () => {
    const { ns, informer, start } = informerIn(3);
    const ac = start();
    let first: InformerEvent<ConfigMap> | undefined;
    for await (const ev of informer.events()) {
      first = ev;
      break;
    }
    assert.equal(first?.type, 'added');
    server.create(cm(ns, 'after-break'));
    const last = server.resourceVersion();
    await until(() => informer.lastSyncResourceVersion() === last, 'informer caught up');
    await Promise.race([
      informer.drained(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('a removed iterator still holds events')), 2000),
      ),
    ]);
    ac.abort();
  });

  it('applies the transform before storing; it cannot change after start', async () => {
    const { ns, informer, start } = informerIn(0);
    server.create({
      ...cm(ns, 'managed'),
      metadata: { namespace: ns, name: 'managed', managedFields: [{ manager: 'kubectl' }] },
    } as ConfigMap);
    informer.setTransform(stripManagedFields);
    const ac = start();
    await informer.waitForSync(AbortSignal.timeout(5000));
    const stored = informer.getStore().getByKey(`${ns}/managed`);
    assert.equal(stored?.metadata?.name, 'managed');
    assert.equal(stored?.metadata?.managedFields, undefined);
    assert.throws(() => informer.setTransform((o) => o), InformerStateError);
    await assert.rejects(informer.run(ac.signal), InformerStateError);
    ac.abort();
  });
});
