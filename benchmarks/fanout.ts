// Fan-out: how fast each implementation delivers events to 1, 10 and 100 handler registrations.
// The events come from memory, already decoded (no network, no JSON), so the figure is the cost
// of the informer machinery itself: store update + per-handler dispatch. They arrive in batches
// of 256 per event-loop turn, as a watch stream's chunks would.
import {
  type KubeObject,
  type ListerWatcher,
  type ListPage,
  SharedIndexInformer,
  type WatchEvent,
} from '@kubecache/cache';
import { type KubernetesObject, ListWatch, type Watch } from '@kubernetes/client-node';
import { makeObject } from './fixtures.ts';
import type { Impl } from './impls.ts';

const BATCH = 256;

/** Pre-built objects and MODIFIED events, shared by every implementation. */
export interface FanoutData {
  items: KubeObject[];
  events: KubeObject[];
}

/**
 * Builds `count` ConfigMaps and `events` modified versions of them.
 *
 * @example
 * ```ts
 * const data = fanoutData(1000, 10_000);
 * ```
 */
export function fanoutData(count: number, events: number): FanoutData {
  const items: KubeObject[] = [];
  for (let i = 0; i < count; i++)
    items.push(makeObject({ kind: 'configmaps', index: i, resourceVersion: i + 1 }));
  const ev: KubeObject[] = [];
  for (let j = 0; j < events; j++)
    ev.push(
      makeObject({
        kind: 'configmaps',
        index: j % count,
        resourceVersion: count + 1 + j,
        generation: Math.floor(j / count) + 1,
      }),
    );
  return { items, events: ev };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A ListerWatcher serving `data` from memory (the watch stays open until aborted). */
class MemoryListerWatcher implements ListerWatcher<KubeObject> {
  readonly #data: FanoutData;
  constructor(data: FanoutData) {
    this.#data = data;
  }
  list(): Promise<ListPage<KubeObject>> {
    return Promise.resolve({
      items: this.#data.items.slice(),
      resourceVersion: String(this.#data.items.length),
    });
  }
  /** As the client's lister-watcher does: the events of one chunk (here: one turn) per batch. */
  watchBatches(options: { signal: AbortSignal }): AsyncIterable<readonly WatchEvent<KubeObject>[]> {
    const events = this.#data.events;
    const signal = options.signal;
    return {
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < events.length; i += BATCH) {
          if (i > 0) await turn();
          const batch: WatchEvent<KubeObject>[] = [];
          for (let j = i; j < Math.min(events.length, i + BATCH); j++)
            batch.push({ type: 'MODIFIED', object: events[j] });
          yield batch;
        }
        // Idle open stream: end only when the consumer aborts.
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
      },
    };
  }
  watch(options: { signal: AbortSignal }): AsyncIterable<WatchEvent<KubeObject>> {
    const events = this.#data.events;
    const signal = options.signal;
    return {
      [Symbol.asyncIterator]() {
        let i = 0;
        return {
          async next(): Promise<IteratorResult<WatchEvent<KubeObject>>> {
            if (i > 0 && i % BATCH === 0) await turn();
            if (i < events.length) return { value: { type: 'MODIFIED', object: events[i++] } };
            // Idle open stream: end only when the consumer aborts.
            await new Promise<void>((resolve) => {
              if (signal.aborted) resolve();
              else signal.addEventListener('abort', () => resolve(), { once: true });
            });
            return { value: undefined, done: true };
          },
          return(): Promise<IteratorResult<WatchEvent<KubeObject>>> {
            i = events.length;
            return Promise.resolve({ value: undefined, done: true });
          },
        };
      },
    };
  }
}

function counter(target: number): { hit: () => void; done: Promise<number> } {
  let resolve!: (ms: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  let n = 0;
  let first = 0;
  return {
    hit() {
      if (n === 0) first = performance.now();
      if (++n === target) resolve(performance.now() - first);
    },
    done,
  };
}

/**
 * Deliveries per second of one implementation with `handlers` registrations.
 *
 * @example
 * ```ts
 * const rate = await fanout('floor', fanoutData(1000, 10_000), 10);
 * ```
 */
export async function fanout(impl: Impl, data: FanoutData, handlers: number): Promise<number> {
  const target = data.events.length * handlers;
  const c = counter(target);
  let elapsed: number;
  if (impl === 'floor') {
    const map = new Map<string, KubeObject>();
    const hs: ((o: KubeObject) => void)[] = [];
    for (let h = 0; h < handlers; h++) hs.push(() => c.hit());
    for (const o of data.items) map.set(`${o.metadata?.namespace}/${o.metadata?.name}`, o);
    const ev = data.events;
    for (let i = 0; i < ev.length; i++) {
      if (i > 0 && i % BATCH === 0) await turn();
      const o = ev[i];
      map.set(`${o.metadata?.namespace}/${o.metadata?.name}`, o);
      for (let h = 0; h < hs.length; h++) hs[h](o);
    }
    elapsed = await c.done;
  } else if (impl === 'client-node') {
    let stopped = false;
    const fakeWatch = {
      async watch(
        _path: string,
        _query: unknown,
        callback: (phase: string, obj: KubeObject) => void,
      ): Promise<{ abort(): void }> {
        void (async () => {
          const ev = data.events;
          for (let i = 0; i < ev.length && !stopped; i++) {
            if (i > 0 && i % BATCH === 0) await turn();
            callback('MODIFIED', ev[i]);
          }
        })();
        return {
          abort() {
            stopped = true;
          },
        };
      },
    };
    const informer = new ListWatch<KubernetesObject>(
      '/api/v1/configmaps',
      fakeWatch as unknown as Watch,
      () =>
        Promise.resolve({
          items: data.items.slice(),
          metadata: { resourceVersion: String(data.items.length) },
        }) as never,
      false,
    );
    for (let h = 0; h < handlers; h++) informer.on('update', () => c.hit());
    await informer.start();
    elapsed = await c.done;
    await informer.stop();
  } else {
    const informer = new SharedIndexInformer<KubeObject>({
      listerWatcher: new MemoryListerWatcher(data),
    });
    for (let h = 0; h < handlers; h++) informer.addEventHandler({ onUpdate: () => c.hit() });
    const ac = new AbortController();
    const running = informer.run(ac.signal);
    elapsed = await c.done;
    ac.abort();
    await running;
  }
  return target / (elapsed / 1000);
}
