// Scenario 7: the work queue and the controller runner, against the floors they stand on.
//
// - Queue alone: add → get → done cycles of kubecache's WorkQueue (dirty/processing sets,
//   priorities) against a bare FIFO with a dedup set, the least any work queue must do.
// - Runner: empty reconciles through the whole Controller (queue, p-queue pool, result handling)
//   against p-queue alone running the same empty tasks at the same concurrency.
// - Latency: informer event → reconcile start at a steady 1k events/s, through the informer's
//   processor and the controller, against an event → p-queue task start floor.
import { SharedIndexInformer, type KubeObject, type ListerWatcher } from '@kubecache/cache';
import { Controller, WorkQueue, type ControllerSource } from '@kubecache/workqueue';
import PQueue from 'p-queue';

const keysOf = (n: number): string[] => Array.from({ length: n }, (_, i) => `default/obj-${i}`);

/** kubecache's queue: cycles per second of add, await get, done (keys from a pool of 1,000). */
export async function queueCycles(cycles: number): Promise<number> {
  const keys = keysOf(1000);
  const q = new WorkQueue<string>();
  const t0 = performance.now();
  for (let i = 0; i < cycles; i++) {
    q.add(keys[i % 1000]!);
    const r = await q.get();
    q.done(r.item!);
  }
  const ms = performance.now() - t0;
  q.shutDown();
  return cycles / (ms / 1000);
}

/** The floor: an array FIFO with a dedup set, same loop. */
export async function floorQueueCycles(cycles: number): Promise<number> {
  const keys = keysOf(1000);
  const fifo: string[] = [];
  let head = 0;
  const queued = new Set<string>();
  const get = (): Promise<string> => {
    const item = fifo[head++]!;
    if (head === fifo.length) {
      fifo.length = 0;
      head = 0;
    }
    queued.delete(item);
    return Promise.resolve(item);
  };
  const t0 = performance.now();
  for (let i = 0; i < cycles; i++) {
    const k = keys[i % 1000]!;
    if (!queued.has(k)) {
      queued.add(k);
      fifo.push(k);
    }
    await get();
  }
  return cycles / ((performance.now() - t0) / 1000);
}

/** A primary source with nothing in it, synced at once: the bench feeds the queue directly. */
function emptySource(): ControllerSource<KubeObject> {
  return {
    name: 'bench',
    addEventHandler: () => ({
      name: 'bench',
      hasSynced: () => true,
      remove: () => {},
      removed: false,
      pending: 0,
      drained: () => Promise.resolve(),
    }),
    waitForSync: () => Promise.resolve(true),
    getStore: () => ({ list: () => [] }),
  };
}

/** The whole runner: empty reconciles per second, `tasks` distinct keys, `workers` at once. */
export async function runnerTasks(tasks: number, workers: number): Promise<number> {
  const keys = keysOf(tasks);
  let done = 0;
  let finish: () => void = () => {};
  const all = new Promise<void>((r) => (finish = r));
  const controller = new Controller({
    workers,
    reconcile: () => {
      if (++done === tasks) finish();
    },
  }).for(emptySource());
  const ac = new AbortController();
  const running = controller.run(ac.signal);
  await new Promise((r) => setImmediate(r));
  const t0 = performance.now();
  for (const k of keys) controller.queue.add(k);
  await all;
  const ms = performance.now() - t0;
  ac.abort();
  await running;
  return tasks / (ms / 1000);
}

/** The floor: p-queue alone running the same empty tasks. */
export async function pQueueTasks(tasks: number, workers: number): Promise<number> {
  const pool = new PQueue({ concurrency: workers });
  const t0 = performance.now();
  for (let i = 0; i < tasks; i++) void pool.add(() => {});
  await pool.onIdle();
  return tasks / ((performance.now() - t0) / 1000);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** A never-used lister-watcher: the bench writes into the informer's sink itself. */
const idleListerWatcher: ListerWatcher<KubeObject> = {
  list: () => Promise.reject(new Error('not used: the bench never runs the informer')),
  watch: () => ({
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('not used')) }),
  }),
};

/**
 * Event → reconcile-start latency at `rate` events/s over `events` events: each event is an
 * informer update (store write, processor, handler, queue) and the reconcile records when it
 * starts. Returns [p50, p99] in ms.
 */
export async function reconcileLatency(events: number, rate: number): Promise<[number, number]> {
  const informer = new SharedIndexInformer<KubeObject>({ listerWatcher: idleListerWatcher });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let finish: () => void = () => {};
  const all = new Promise<void>((r) => (finish = r));
  const controller = new Controller({
    workers: 4,
    reconcile: ({ key }) => {
      const t = sentAt.get(key);
      if (t !== undefined) latencies.push(performance.now() - t);
      if (latencies.length === events) finish();
    },
  }).for(informer);
  const ac = new AbortController();
  const running = controller.run(ac.signal);
  informer.sink.replace([], '1');
  await new Promise((r) => setTimeout(r, 5));
  await paced(events, rate, (i) => {
    const key = `obj-${i % 100}`;
    sentAt.set(`default/${key}`, performance.now());
    informer.sink.update({
      metadata: { namespace: 'default', name: key, resourceVersion: String(i + 2) },
    });
  });
  await all;
  ac.abort();
  await running;
  return [quantile(latencies, 0.5), quantile(latencies, 0.99)];
}

/** The floor: the same paced events straight into a p-queue task. */
export async function pQueueLatency(events: number, rate: number): Promise<[number, number]> {
  const pool = new PQueue({ concurrency: 4 });
  const latencies: number[] = [];
  await paced(events, rate, () => {
    const t = performance.now();
    void pool.add(() => void latencies.push(performance.now() - t));
  });
  await pool.onIdle();
  return [quantile(latencies, 0.5), quantile(latencies, 0.99)];
}

/** Calls `emit` `events` times at `rate` per second, in 1 ms ticks (timers are ~1 ms grained). */
async function paced(events: number, rate: number, emit: (i: number) => void): Promise<void> {
  const t0 = performance.now();
  let sent = 0;
  while (sent < events) {
    const due = Math.min(events, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (sent < due) emit(sent++);
    await new Promise((r) => setTimeout(r, 1));
  }
}
