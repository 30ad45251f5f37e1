/**
 * Watch streams in batches (`ListerWatcher.watchBatches`): the reflector prefers them, applies a
 * batch in one synchronous loop, keeps what follows a streaming list's end bookmark in the same
 * batch, and stops at an ERROR event inside a batch after the events before it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FakeClock,
  INITIAL_EVENTS_END_ANNOTATION,
  type KubeObject,
  type ListerWatcher,
  type ListPage,
  Reflector,
  type WatchEvent,
} from '@kubecache/cache';
import { configMap, RecordingStore, waitFor } from './reflector-helpers.ts';

function cm(name: string, rv: number): KubeObject {
  const o = configMap(name);
  return { ...o, metadata: { ...o.metadata, resourceVersion: String(rv) } } as KubeObject;
}

/** Serves one LIST and then the given watch batches, once; later watches stay open and empty. */
class ScriptedBatches implements ListerWatcher<KubeObject> {
  lists = 0;
  watches: string[] = [];
  perEventWatches = 0;
  readonly #listed: KubeObject[];
  readonly #batches: WatchEvent<KubeObject>[][];
  constructor(listed: KubeObject[], batches: WatchEvent<KubeObject>[][]) {
    this.#listed = listed;
    this.#batches = batches;
  }
  list(): Promise<ListPage<KubeObject>> {
    this.lists++;
    return Promise.resolve({ items: this.#listed, resourceVersion: '10' });
  }
  watch(): AsyncIterable<WatchEvent<KubeObject>> {
    this.perEventWatches++;
    throw new Error('the reflector should prefer watchBatches');
  }
  watchBatches(options: {
    resourceVersion?: string;
    sendInitialEvents?: boolean;
    signal: AbortSignal;
  }): AsyncIterable<readonly WatchEvent<KubeObject>[]> {
    this.watches.push(
      `${options.resourceVersion ?? ''}${options.sendInitialEvents ? ' streaming' : ''}`,
    );
    const batches = this.watches.length === 1 ? this.#batches : [];
    const signal = options.signal;
    return {
      async *[Symbol.asyncIterator]() {
        for (const b of batches) yield b;
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
      },
    };
  }
}

async function run(
  lw: ScriptedBatches,
  store: RecordingStore,
  until: () => boolean,
  streamingList = false,
): Promise<Reflector<KubeObject>> {
  const reflector = new Reflector<KubeObject>({
    listerWatcher: lw,
    store,
    clock: new FakeClock(1_000_000),
    random: () => 0.5,
    streamingList,
  });
  const ac = new AbortController();
  const running = reflector.run(ac.signal);
  await waitFor(until, 'the scripted events to be applied');
  ac.abort();
  await running;
  return reflector;
}

describe('reflector: watch batches', () => {
  it('applies every event of a batch in order and moves the RV to the batch’s last', async () => {
    const lw = new ScriptedBatches(
      [cm('a', 5)],
      [
        [
          { type: 'MODIFIED', object: cm('a', 11) },
          { type: 'ADDED', object: cm('b', 12) },
        ],
        [
          { type: 'DELETED', object: cm('a', 13) },
          { type: 'BOOKMARK', object: { metadata: { resourceVersion: '14' } } },
        ],
      ],
    );
    const store = new RecordingStore();
    const reflector = await run(lw, store, () => store.calls.length === 4);
    assert.deepEqual(store.calls, [
      'replace 1 @10',
      'update default/a',
      'add default/b',
      'delete default/a',
    ]);
    assert.equal(reflector.lastSyncResourceVersion(), '14');
    assert.equal(lw.perEventWatches, 0);
  });

  it('an ERROR event inside a batch: the events before it are applied, the rest is not, and it relists', async () => {
    const lw = new ScriptedBatches(
      [cm('a', 5)],
      [
        [
          { type: 'ADDED', object: cm('b', 11) },
          {
            type: 'ERROR',
            object: {
              apiVersion: 'v1',
              kind: 'Status',
              status: 'Failure',
              code: 410,
              reason: 'Expired',
              message: 'too old',
            } as never,
          },
          { type: 'ADDED', object: cm('c', 12) },
        ],
      ],
    );
    const store = new RecordingStore();
    await run(lw, store, () => lw.lists === 2 && store.replaces.length === 2);
    assert.deepEqual(store.calls.slice(0, 2), ['replace 1 @10', 'add default/b']);
    assert.ok(!store.calls.includes('add default/c'), 'nothing after the ERROR event is applied');
  });

  it('streaming list: what follows the end bookmark in the same batch is applied as the first watch events', async () => {
    const end = {
      type: 'BOOKMARK' as const,
      object: {
        metadata: {
          resourceVersion: '20',
          annotations: { [INITIAL_EVENTS_END_ANNOTATION]: 'true' },
        },
      },
    };
    const lw = new ScriptedBatches(
      [],
      [
        [
          { type: 'ADDED', object: cm('a', 18) },
          { type: 'ADDED', object: cm('b', 19) },
          end,
          { type: 'MODIFIED', object: cm('a', 21) },
          { type: 'ADDED', object: cm('c', 22) },
        ],
      ],
    );
    const store = new RecordingStore();
    const reflector = await run(lw, store, () => store.calls.length === 3, true);
    assert.deepEqual(store.calls, ['replace 2 @20', 'update default/a', 'add default/c']);
    assert.equal(reflector.lastSyncResourceVersion(), '22');
    assert.equal(lw.lists, 0, 'no LIST: the streaming list was served');
    assert.deepEqual(lw.watches, [' streaming']);
  });
});
