/**
 * A paged relist is applied page by page (ReflectorStore.beginReplace): the informer never holds
 * the old contents and the whole new list at once. Handlers get updates and adds per page and
 * the tombstones at the end; the cache ends equal to the list.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DeletedFinalStateUnknown,
  type KubeObject,
  type ListerWatcher,
  type ListOptions,
  type ListPage,
  SharedIndexInformer,
  type WatchEvent,
} from '@kubecache/cache';
import { waitFor } from './reflector-helpers.ts';

function cm(name: string, rv: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', resourceVersion: String(rv) },
  } as KubeObject;
}

const GONE = {
  type: 'ERROR',
  object: { apiVersion: 'v1', kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' },
} as unknown as WatchEvent<KubeObject>;

/**
 * Lists in pages of 2: first [a1, b1 | c1], then (the relist) [a2, b1 | d3]. The first watch
 * ends with 410 Gone, the second stays open. The relist's second page waits for `release`.
 */
class TwoLists implements ListerWatcher<KubeObject> {
  lists: string[] = [];
  watches = 0;
  release!: () => void;
  readonly released = new Promise<void>((resolve) => (this.release = resolve));
  readonly #pages = [
    [[cm('a', 1), cm('b', 1)], [cm('c', 1)]],
    [[cm('a', 2), cm('b', 1)], [cm('d', 3)]],
  ];
  async list(options: ListOptions): Promise<ListPage<KubeObject>> {
    this.lists.push(`${options.resourceVersion ?? ''}/${options.continue ?? ''}`);
    const round =
      options.continue === undefined ? (this.lists.length === 1 ? 0 : 1) : Number(options.continue);
    const second = options.continue !== undefined;
    if (round === 1 && second) await this.released;
    const items = this.#pages[round]![second ? 1 : 0]!;
    return second
      ? { items, resourceVersion: round === 0 ? '5' : '9' }
      : { items, resourceVersion: round === 0 ? '5' : '9', continue: String(round) };
  }
  watch(options: { signal: AbortSignal }): AsyncIterable<WatchEvent<KubeObject>> {
    const first = ++this.watches === 1;
    const signal = options.signal;
    return {
      async *[Symbol.asyncIterator]() {
        if (first) {
          yield GONE;
          return;
        }
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
      },
    };
  }
}

describe('informer: paged relist', () => {
  it('applies each page as it arrives and deletes what no page named at the end', async () => {
    const lw = new TwoLists();
    const listed: number[] = [];
    const informer = new SharedIndexInformer<KubeObject>({
      listerWatcher: lw,
      reflector: { pageSize: 2, backoff: { initialMs: 1, maxMs: 1 } },
    });
    informer.observe({ listed: (info) => listed.push(info.items) });
    const seen: string[] = [];
    informer.addEventHandler({
      onAdd: (o, initial) =>
        seen.push(
          `add ${o.metadata?.name}@${o.metadata?.resourceVersion}${initial ? ' initial' : ''}`,
        ),
      onUpdate: (a, b) =>
        seen.push(
          `update ${a.metadata?.name}@${a.metadata?.resourceVersion}->${b.metadata?.resourceVersion}`,
        ),
      onDelete: (o) =>
        seen.push(
          o instanceof DeletedFinalStateUnknown
            ? `tombstone ${o.key}`
            : `delete ${o.metadata?.name}`,
        ),
    });
    const ac = new AbortController();
    const running = informer.run(ac.signal);
    // The relist's first page is applied while its second is still on its way.
    await waitFor(
      () => informer.getStore().getByKey('default/a')?.metadata?.resourceVersion === '2',
      'page 1 of the relist',
    );
    assert.ok(informer.getStore().getByKey('default/c'), 'nothing is deleted before the last page');
    assert.equal(informer.getStore().getByKey('default/d'), undefined);
    lw.release();
    await waitFor(() => informer.getStore().getByKey('default/d') !== undefined, 'the last page');
    await informer.drained();
    assert.deepEqual(informer.getStore().listKeys().sort(), [
      'default/a',
      'default/b',
      'default/d',
    ]);
    assert.deepEqual(seen, [
      'add a@1 initial',
      'add b@1 initial',
      'add c@1 initial',
      'update a@1->2',
      'add d@3',
      'tombstone default/c',
    ]);
    assert.deepEqual(listed, [3, 3], 'the relist counts every page’s items');
    assert.deepEqual(lw.lists, ['0/', '/0', '5/', '/1']);
    ac.abort();
    await running;
  });
});
