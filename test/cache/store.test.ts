import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createIndexer,
  createStore,
  DeletedFinalStateUnknown,
  deletionHandlingKeyFunc,
  KeyError,
  type KeyFunc,
  type KubeObject,
  metaNamespaceKeyFunc,
  ReentrantWriteError,
} from '@kubecache/cache';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

function cm(namespace: string, name: string, rv = '1', labels?: Record<string, string>): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace: namespace || undefined, name, resourceVersion: rv, labels },
    data: { rv },
  };
}

describe('Store', () => {
  it('adds, gets by object and by key, lists, and counts', () => {
    const store = createStore<ConfigMap>();
    const a = cm('default', 'a');
    const b = cm('', 'b');
    store.add(a);
    store.add(b);
    assert.equal(store.size, 2);
    assert.equal(store.getByKey('default/a'), a);
    assert.equal(store.getByKey('b'), b);
    assert.equal(store.get(cm('default', 'a', '99')), a, 'get looks up by key only');
    assert.equal(store.getByKey('default/missing'), undefined);
    assert.equal(store.get(cm('x', 'y')), undefined);
    assert.deepEqual(store.listKeys().sort(), ['b', 'default/a']);
    const listed = store.list();
    assert.equal(listed.length, 2);
    assert.ok(listed.includes(a) && listed.includes(b), 'list returns the shared objects');
  });

  it('add of an existing key replaces it, update of a missing key inserts it', () => {
    const store = createStore<ConfigMap>();
    store.add(cm('ns', 'a', '1'));
    const a2 = cm('ns', 'a', '2');
    store.add(a2);
    assert.equal(store.size, 1);
    assert.equal(store.getByKey('ns/a'), a2);
    const b = cm('ns', 'b', '5');
    store.update(b);
    assert.equal(store.getByKey('ns/b'), b);
    const b2 = cm('ns', 'b', '6');
    store.update(b2);
    assert.equal(store.getByKey('ns/b'), b2);
    assert.equal(store.size, 2);
  });

  it('deletes by key; deleting a missing key is a no-op', () => {
    const store = createStore<ConfigMap>();
    store.add(cm('ns', 'a'));
    store.add(cm('ns', 'b'));
    store.delete(cm('ns', 'a', 'other-version'));
    assert.equal(store.getByKey('ns/a'), undefined);
    assert.equal(store.size, 1);
    store.delete(cm('ns', 'a'));
    store.delete(cm('zz', 'zz'));
    assert.deepEqual(store.listKeys(), ['ns/b']);
    const b = store.getByKey('ns/b');
    assert.equal(store.deleteByKey('ns/b'), b);
    assert.equal(store.deleteByKey('ns/b'), undefined);
    assert.equal(store.size, 0);
    assert.deepEqual(store.list(), []);
  });

  it('delete and get accept a tombstone, using the key it carries', () => {
    for (const keyFunc of [undefined, deletionHandlingKeyFunc<ConfigMap>(metaNamespaceKeyFunc)]) {
      const store = createStore<ConfigMap>({ keyFunc: keyFunc as KeyFunc<ConfigMap> | undefined });
      const a = cm('ns', 'a');
      store.add(a);
      store.add(cm('', 'node'));
      const tombstone = new DeletedFinalStateUnknown('ns/a', undefined) as unknown as ConfigMap;
      assert.equal(store.get(tombstone), a);
      store.delete(tombstone);
      assert.deepEqual(store.listKeys(), ['node']);
      assert.equal(store.getByKey('a/b/c'), undefined, 'malformed keys find nothing');
      assert.equal(store.getByKey(''), undefined);
    }
  });

  it('replace swaps the whole contents; the last duplicate wins', () => {
    const store = createStore<ConfigMap>();
    store.add(cm('ns', 'old'));
    store.add(cm('ns', 'kept', '1'));
    const kept2 = cm('ns', 'kept', '2');
    const dupFirst = cm('ns', 'dup', '1');
    const dupLast = cm('ns', 'dup', '2');
    store.replace([kept2, dupFirst, cm('', 'cluster'), dupLast], '100');
    assert.deepEqual(store.listKeys().sort(), ['cluster', 'ns/dup', 'ns/kept']);
    assert.equal(store.getByKey('ns/kept'), kept2);
    assert.equal(store.getByKey('ns/dup'), dupLast);
    assert.equal(store.getByKey('ns/old'), undefined);
    store.replace([], '101');
    assert.equal(store.size, 0);
  });

  it('replace is atomic: a failing key function leaves the previous contents', () => {
    const store = createStore<ConfigMap>();
    const a = cm('ns', 'a');
    store.add(a);
    assert.throws(
      () => store.replace([cm('ns', 'b'), { metadata: {} }], '2'),
      (err: unknown) => err instanceof KeyError,
    );
    assert.deepEqual(store.list(), [a]);
  });

  it('rejects objects without a key and stays unchanged', () => {
    const store = createStore<ConfigMap>();
    assert.throws(
      () => store.add({ kind: 'ConfigMap' }),
      (err: unknown) => err instanceof KeyError,
    );
    assert.equal(store.size, 0);
  });

  it('resync is a no-op', () => {
    const store = createStore<ConfigMap>();
    const a = cm('ns', 'a');
    store.add(a);
    store.resync();
    assert.deepEqual(store.list(), [a]);
  });

  it('honours a custom key function', () => {
    const store = createStore<ConfigMap>({ keyFunc: (o) => o.metadata?.uid ?? '' });
    const a: ConfigMap = { metadata: { name: 'a', uid: 'u1' } };
    store.add(a);
    assert.deepEqual(store.listKeys(), ['u1']);
    assert.equal(store.getByKey('u1'), a);
  });

  it('never copies: stored objects are the added ones', () => {
    const store = createStore<ConfigMap>();
    const a = cm('ns', 'a');
    store.add(a);
    assert.equal(store.getByKey('ns/a'), a);
    assert.equal(Object.isFrozen(a), false, 'without freeze, objects are left as they are');
  });

  it('refuses writes from inside its own key function', () => {
    const store = createStore<ConfigMap>({
      keyFunc: (o) => {
        if (o.metadata?.name === 'evil') store.delete(cm('ns', 'a'));
        return `${o.metadata?.namespace}/${o.metadata?.name}`;
      },
    });
    store.add(cm('ns', 'a'));
    assert.throws(
      () => store.add(cm('ns', 'evil')),
      (err: unknown) => err instanceof ReentrantWriteError && err.code === 'ReentrantWrite',
    );
    assert.deepEqual(store.listKeys(), ['ns/a']);
    store.add(cm('ns', 'b'));
    assert.equal(store.size, 2, 'the store is usable after a refused write');
  });
});

describe('freeze option', () => {
  it('deep-freezes stored objects so that any consumer mutation throws', () => {
    const store = createStore<ConfigMap>({ freeze: true });
    const a = cm('ns', 'a', '1', { app: 'web' });
    (a.metadata as { finalizers?: string[] }).finalizers = ['x'];
    store.add(a);
    const got = store.getByKey('ns/a')!;
    assert.throws(() => {
      (got as { kind?: string }).kind = 'Secret';
    }, TypeError);
    assert.throws(() => {
      got.data!.rv = 'mutated';
    }, TypeError);
    assert.throws(() => {
      (got.metadata!.labels as Record<string, string>).app = 'db';
    }, TypeError);
    assert.throws(() => {
      (got.metadata!.finalizers as string[]).push('y');
    }, TypeError);
    assert.throws(() => {
      delete (got as { data?: unknown }).data;
    }, TypeError);
    assert.equal(got.metadata!.labels!.app, 'web');
  });

  it('freezes on update and replace too', () => {
    const store = createStore<ConfigMap>({ freeze: true });
    store.add(cm('ns', 'a'));
    const a2 = cm('ns', 'a', '2');
    store.update(a2);
    assert.ok(Object.isFrozen(a2) && Object.isFrozen(a2.metadata) && Object.isFrozen(a2.data));
    const b = cm('ns', 'b');
    store.replace([b], '3');
    assert.ok(Object.isFrozen(b) && Object.isFrozen(b.data));
  });

  it('does not freeze an object whose write failed', () => {
    const indexer = createIndexer<ConfigMap>({
      freeze: true,
      indexers: {
        boom: (o) => {
          if (o.metadata?.name === 'boom') throw new Error('index function failed');
          return [];
        },
      },
    });
    const bad = cm('ns', 'boom');
    assert.throws(() => indexer.add(bad), /index function failed/);
    assert.equal(Object.isFrozen(bad), false);
    assert.equal(indexer.size, 0);
  });
});
