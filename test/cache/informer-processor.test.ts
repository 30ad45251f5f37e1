import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DeletedFinalStateUnknown,
  Listener,
  Processor,
  type Notification,
  type ResourceEventHandler,
} from '@kubecache/cache';

interface Obj {
  metadata: { name: string; resourceVersion: string };
}
const obj = (name: string, rv: number): Obj => ({
  metadata: { name, resourceVersion: String(rv) },
});
const add = (o: Obj, initial = false): Notification<Obj> => ({
  kind: 'add',
  key: o.metadata.name,
  obj: o,
  isInInitialList: initial,
});
const upd = (a: Obj, b: Obj): Notification<Obj> => ({
  kind: 'update',
  key: b.metadata.name,
  oldObj: a,
  newObj: b,
});
const del = (o: Obj): Notification<Obj> => ({ kind: 'delete', key: o.metadata.name, obj: o });

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A handler recording `kind name@rv` lines, optionally blocked on a gate. */
function recorder(gate?: { promise: Promise<void> }): {
  log: string[];
  handler: ResourceEventHandler<Obj>;
} {
  const log: string[] = [];
  const label = (o: Obj | DeletedFinalStateUnknown<Obj>): string =>
    o instanceof DeletedFinalStateUnknown
      ? `tombstone:${o.key}`
      : `${o.metadata.name}@${o.metadata.resourceVersion}`;
  const wait = async (): Promise<void> => {
    if (gate) await gate.promise;
  };
  return {
    log,
    handler: {
      onAdd: (o, initial) => {
        log.push(`add ${label(o)}${initial ? ' initial' : ''}`);
        return gate ? wait() : undefined;
      },
      onUpdate: (a, b) => {
        log.push(`update ${label(a)}->${label(b)}`);
        return gate ? wait() : undefined;
      },
      onDelete: (o) => {
        log.push(`delete ${label(o)}`);
        return gate ? wait() : undefined;
      },
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('processor: per-registration buffers', () => {
  it('delivers to every listener in order, sync handlers back to back', async () => {
    const p = new Processor<Obj>();
    const a = recorder();
    const b = recorder();
    const errors: unknown[] = [];
    p.add(
      new Listener(
        a.handler,
        { name: 'a' },
        (e) => errors.push(e),
        () => true,
      ),
    );
    p.add(
      new Listener(
        b.handler,
        { name: 'b' },
        (e) => errors.push(e),
        () => true,
      ),
    );
    p.distribute(add(obj('x', 1)));
    p.distribute(upd(obj('x', 1), obj('x', 2)));
    p.distribute(del(obj('x', 2)));
    assert.deepEqual(a.log, [], 'nothing is delivered inside distribute');
    await p.drained();
    const want = ['add x@1', 'update x@1->x@2', 'delete x@2'];
    assert.deepEqual(a.log, want);
    assert.deepEqual(b.log, want);
    assert.deepEqual(errors, []);
  });

  it('an async handler is awaited between its events and does not hold up others', async () => {
    const p = new Processor<Obj>();
    const gate = deferred();
    const slow = recorder(gate);
    const fast = recorder();
    p.add(
      new Listener(
        slow.handler,
        { name: 'slow' },
        () => {},
        () => true,
      ),
    );
    p.add(
      new Listener(
        fast.handler,
        { name: 'fast' },
        () => {},
        () => true,
      ),
    );
    for (let i = 1; i <= 5; i++) p.distribute(add(obj(`o${i}`, i)));
    await tick();
    assert.equal(fast.log.length, 5);
    assert.deepEqual(slow.log, ['add o1@1'], 'the slow handler waits for its first promise');
    gate.resolve();
    await p.drained();
    assert.deepEqual(slow.log, fast.log);
  });

  it('reports throwing and rejecting handlers and keeps delivering', async () => {
    const p = new Processor<Obj>();
    const errors: { err: unknown; registration: string; event: string }[] = [];
    let n = 0;
    const l = new Listener<Obj>(
      {
        onAdd: () => {
          n++;
          if (n === 1) throw new Error('sync boom');
          if (n === 2) return Promise.reject(new Error('async boom'));
          return undefined;
        },
      },
      { name: 'bad' },
      (err, ctx) => errors.push({ err, ...ctx }),
      () => true,
    );
    p.add(l);
    for (let i = 0; i < 4; i++) p.distribute(add(obj(`o${i}`, i)));
    await p.drained();
    assert.equal(n, 4);
    assert.deepEqual(
      errors.map((e) => [(e.err as Error).message, e.registration, e.event]),
      [
        ['sync boom', 'bad', 'add'],
        ['async boom', 'bad', 'add'],
      ],
    );
  });

  it('remove() during delivery stops delivery at once', async () => {
    const p = new Processor<Obj>();
    const seen: string[] = [];
    const other = recorder();
    const reg: Listener<Obj> = new Listener<Obj>(
      {
        onAdd: (o) => {
          seen.push(o.metadata.name);
          if (seen.length === 3) reg.remove();
        },
      },
      { name: 'self-removing' },
      () => {},
      () => true,
    );
    p.add(reg);
    p.add(
      new Listener(
        other.handler,
        { name: 'other' },
        () => {},
        () => true,
      ),
    );
    for (let i = 0; i < 10; i++) p.distribute(add(obj(`o${i}`, i)));
    await p.drained();
    assert.deepEqual(seen, ['o0', 'o1', 'o2']);
    assert.equal(other.log.length, 10);
    assert.equal(reg.removed, true);
    assert.equal(p.listeners.length, 1);
    p.distribute(add(obj('late', 99)));
    await p.drained();
    assert.deepEqual(seen, ['o0', 'o1', 'o2']);
  });

  it('hasSynced waits until the initial-list notifications were processed', async () => {
    const p = new Processor<Obj>();
    const gate = deferred();
    const slow = recorder(gate);
    let informerSynced = false;
    const l = new Listener(
      slow.handler,
      { name: 's' },
      () => {},
      () => informerSynced,
    );
    p.add(l);
    assert.equal(l.hasSynced(), false);
    p.distribute(add(obj('a', 1), true));
    p.distribute(add(obj('b', 2), true));
    informerSynced = true;
    assert.equal(l.hasSynced(), false);
    gate.resolve();
    await p.drained();
    assert.equal(l.hasSynced(), true);
  });
});

describe('processor: bounded buffers coalesce per key', () => {
  /**
   * Blocks the listener on its first event, pushes `events` (filling the buffer exactly to its
   * capacity) and one more event for key `z` (which triggers the compaction), then releases the
   * handler and returns what it saw after the first event.
   */
  async function coalesced(
    events: Notification<Obj>[],
    capacity = events.length,
  ): Promise<string[]> {
    const p = new Processor<Obj>();
    const gate = deferred();
    const r = recorder(gate);
    const l = new Listener(
      r.handler,
      { name: 'c', bufferCapacity: capacity },
      () => {},
      () => true,
    );
    p.add(l);
    p.distribute(add(obj('first', 0)));
    await tick();
    for (const e of events) p.distribute(e);
    p.distribute(add(obj('z', 0)));
    gate.resolve();
    await p.drained();
    assert.equal(r.log[0], 'add first@0');
    assert.equal(r.log.at(-1), 'add z@0');
    return r.log.slice(1, -1);
  }

  it('add+updates -> add(newest); update+update -> update(oldest old, newest new)', async () => {
    const log = await coalesced([
      add(obj('a', 1)),
      upd(obj('b', 1), obj('b', 2)),
      upd(obj('a', 1), obj('a', 2)),
      upd(obj('b', 2), obj('b', 3)),
      upd(obj('a', 2), obj('a', 3)),
      upd(obj('b', 3), obj('b', 4)),
    ]);
    assert.deepEqual(log, ['add a@3', 'update b@1->b@4']);
  });

  it('add+delete vanishes; update+delete -> delete; delete+add keeps both in order', async () => {
    const log = await coalesced([
      add(obj('a', 1)),
      upd(obj('b', 1), obj('b', 2)),
      del(obj('c', 1)),
      del(obj('a', 1)),
      del(obj('b', 2)),
      add(obj('c', 5)),
      upd(obj('c', 5), obj('c', 6)),
    ]);
    assert.deepEqual(log, ['delete b@2', 'delete c@1', 'add c@6']);
  });

  it('keeps keys in first-arrival order and never exceeds twice the distinct keys', async () => {
    const p = new Processor<Obj>();
    const gate = deferred();
    const r = recorder(gate);
    const l = new Listener(
      r.handler,
      { name: 'c', bufferCapacity: 8 },
      () => {},
      () => true,
    );
    p.add(l);
    p.distribute(add(obj('first', 0)));
    await tick();
    const keys = ['k0', 'k1', 'k2', 'k3'];
    let maxPending = 0;
    for (let rv = 1; rv <= 1000; rv++) {
      const k = keys[rv % 4]!;
      p.distribute(upd(obj(k, rv - 4), obj(k, rv)));
      maxPending = Math.max(maxPending, l.pending);
    }
    assert.ok(maxPending <= 8, `pending stayed bounded (max ${maxPending})`);
    gate.resolve();
    await p.drained();
    const log = r.log.slice(1);
    assert.ok(log.length <= 8, `at most 8 deliveries for 1000 updates (got ${log.length})`);
    // Per key: a continuous chain old->new from the first old to the newest state, in order.
    const last = new Map<string, number>(keys.map((k, i) => [k, i === 0 ? 0 : i - 4]));
    for (const line of log) {
      const m = /^update (k\d)@(-?\d+)->k\d@(\d+)$/.exec(line);
      assert.ok(m, line);
      assert.equal(Number(m[2]), last.get(m[1]!), `chain continues for ${line}`);
      last.set(m[1]!, Number(m[3]));
    }
    assert.deepEqual([...last.values()], [1000, 997, 998, 999]);
    // Keys keep their first-arrival order (k1 first, then k2, k3, k0).
    assert.deepEqual(
      log.slice(0, 4).map((l) => l.slice(7, 9)),
      ['k1', 'k2', 'k3', 'k0'],
    );
  });

  it('grows past capacity when distinct keys exceed it, losing nothing', async () => {
    const events: Notification<Obj>[] = [];
    for (let i = 0; i < 20; i++) events.push(add(obj(`n${i}`, i)));
    const log = await coalesced(events, 4);
    assert.deepEqual(
      log,
      events.map((_, i) => `add n${i}@${i}`),
    );
  });

  it('leaves the buffer alone below capacity', async () => {
    const log = await coalesced([add(obj('a', 1)), upd(obj('a', 1), obj('a', 2))], 10);
    assert.deepEqual(log, ['add a@1', 'update a@1->a@2']);
  });

  it('keeps isInInitialList and hasSynced accounting through compaction', async () => {
    const p = new Processor<Obj>();
    const gate = deferred();
    const r = recorder(gate);
    const l = new Listener(
      r.handler,
      { name: 'c', bufferCapacity: 4 },
      () => {},
      () => true,
    );
    p.add(l);
    p.distribute(add(obj('first', 0)));
    await tick();
    p.distribute(add(obj('a', 1), true));
    p.distribute(add(obj('b', 1), true));
    p.distribute(upd(obj('a', 1), obj('a', 2)));
    p.distribute(del(obj('b', 1)));
    p.distribute(add(obj('z', 0)));
    assert.equal(l.pending, 2, 'compacted to add a@2 + add z');
    assert.equal(l.hasSynced(), false);
    gate.resolve();
    await p.drained();
    assert.deepEqual(r.log.slice(1), ['add a@2 initial', 'add z@0']);
    assert.equal(l.hasSynced(), true);
  });
});

describe('processor: one shared log, a cursor per registration', () => {
  it('keeps one log entry per change whatever the number of registrations, and trims what all have read', async () => {
    const p = new Processor<Obj>();
    const recorders = Array.from({ length: 100 }, () => recorder());
    recorders.forEach((r, i) =>
      p.add(
        new Listener(
          r.handler,
          { name: `r${i}` },
          () => {},
          () => true,
        ),
      ),
    );
    for (let i = 0; i < 50; i++) p.distribute(add(obj(`o${i}`, i)));
    assert.equal(p.retained, 50, 'one entry per change, not one per change and registration');
    assert.equal(recorders[0]!.log.length, 0, 'nothing is delivered inside distribute');
    await p.drained();
    for (const r of recorders) assert.equal(r.log.length, 50);
    assert.deepEqual(recorders[99]!.log, recorders[0]!.log);
    assert.equal(p.retained, 0, 'read by all: dropped');
  });

  it('an idle registration holds no buffer, whatever it buffered before; the log shrinks back', async () => {
    const p = new Processor<Obj>();
    const gate = deferred();
    const slow = recorder(gate);
    const fast = recorder();
    const slowListener = new Listener(
      slow.handler,
      { name: 'slow', bufferCapacity: 64 },
      () => {},
      () => true,
    );
    p.add(slowListener);
    p.add(
      new Listener(
        fast.handler,
        { name: 'fast' },
        () => {},
        () => true,
      ),
    );
    // The slow handler blocks on its first event while 12k changes to 3k keys arrive (fewer than
    // the fast one's capacity, so it sees every one).
    for (let i = 0; i < 12_000; i++)
      p.distribute(upd(obj(`k${i % 3000}`, i), obj(`k${i % 3000}`, i + 1)));
    await tick();
    assert.ok(
      slowListener.bufferSlots > 0,
      'the blocked registration compacted into its own buffer',
    );
    assert.ok(
      slowListener.pending <= 2 * 3000 + 64,
      `bounded by the keys (${slowListener.pending})`,
    );
    gate.resolve();
    await p.drained();
    assert.equal(fast.log.length, 12_000);
    assert.equal(slowListener.pending, 0);
    assert.equal(slowListener.bufferSlots, 0, 'drained: the private buffer is released');
    assert.equal(p.retained, 0);
    assert.ok(p.logSlots <= 256, `the log gave its memory back (${p.logSlots} slots)`);
  });

  it('notifications for one registration (resync, late snapshot) come after what it has not read yet', async () => {
    const p = new Processor<Obj>();
    const gate = deferred();
    const r = recorder(gate);
    const l = new Listener(
      r.handler,
      { name: 'r' },
      () => {},
      () => true,
    );
    p.add(l);
    p.distribute(add(obj('a', 1)));
    await tick();
    p.distribute(upd(obj('a', 1), obj('a', 2)));
    p.deliverTo(l, upd(obj('a', 2), obj('a', 2)));
    p.distribute(upd(obj('a', 2), obj('a', 3)));
    gate.resolve();
    await p.drained();
    assert.deepEqual(r.log, ['add a@1', 'update a@1->a@2', 'update a@2->a@2', 'update a@2->a@3']);
  });
});
