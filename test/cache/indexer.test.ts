import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createIndexer,
  describeIndexFunc,
  type IndexFunc,
  IndexerConflictError,
  IndexNotFoundError,
  type KubeObject,
  LABELS_INDEX,
  labelIndexFunc,
  labelIndexName,
  labelsIndexFunc,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  OWNER_UID_INDEX,
  ownerUidIndexFunc,
  ReentrantWriteError,
} from '@kubecache/cache';

interface Obj extends KubeObject {
  spec?: { values?: string[] };
}

function obj(
  namespace: string,
  name: string,
  init: { labels?: Record<string, string>; owners?: string[]; values?: string[] } = {},
): Obj {
  return {
    metadata: {
      namespace: namespace || undefined,
      name,
      labels: init.labels,
      ownerReferences: init.owners?.map((uid) => ({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: `rs-${uid}`,
        uid,
      })),
    },
    spec: { values: init.values },
  };
}

/** A multi-valued index over spec.values, as in the kubernetes #109115 report. */
const valuesIndex: IndexFunc<Obj> = (o) => o.spec?.values ?? [];

const sorted = (xs: readonly string[]): string[] => [...xs].sort();
const namesOf = (xs: readonly KubeObject[]): string[] =>
  sorted(xs.map((x) => x.metadata?.name ?? ''));

function isIndexNotFound(name: string) {
  return (err: unknown) =>
    err instanceof IndexNotFoundError && err.code === 'IndexNotFound' && err.indexName === name;
}

describe('index functions', () => {
  it('namespaceIndexFunc indexes cluster-scoped objects under the empty string', () => {
    assert.deepEqual(namespaceIndexFunc(obj('ns', 'a')), ['ns']);
    assert.deepEqual(namespaceIndexFunc(obj('', 'a')), ['']);
  });

  it('labelIndexFunc gives the label value or nothing, one function per key', () => {
    const app = labelIndexFunc('app');
    assert.deepEqual(app(obj('ns', 'a', { labels: { app: 'web' } })), ['web']);
    assert.deepEqual(app(obj('ns', 'a', { labels: { app: '' } })), ['']);
    assert.deepEqual(app(obj('ns', 'a', { labels: { tier: 'fe' } })), []);
    assert.deepEqual(app(obj('ns', 'a')), []);
    assert.equal(labelIndexFunc('app'), app);
    assert.equal(labelIndexName('app'), 'label:app');
    assert.deepEqual(describeIndexFunc(app), { kind: 'label', labelKey: 'app' });
  });

  it('labelsIndexFunc gives key=value pairs; ownerUidIndexFunc every owner uid', () => {
    assert.deepEqual(
      sorted(labelsIndexFunc(obj('ns', 'a', { labels: { app: 'web', tier: 'fe' } }))),
      ['app=web', 'tier=fe'],
    );
    assert.deepEqual(labelsIndexFunc(obj('ns', 'a')), []);
    assert.deepEqual(ownerUidIndexFunc(obj('ns', 'a', { owners: ['u1', 'u2'] })), ['u1', 'u2']);
    assert.deepEqual(ownerUidIndexFunc(obj('ns', 'a')), []);
    assert.deepEqual(describeIndexFunc(namespaceIndexFunc), { kind: 'namespace' });
    assert.equal(describeIndexFunc(valuesIndex), undefined);
  });
});

describe('Indexer', () => {
  function fixture() {
    const indexer = createIndexer<Obj>({
      indexers: {
        [NAMESPACE_INDEX]: namespaceIndexFunc,
        [OWNER_UID_INDEX]: ownerUidIndexFunc,
      },
    });
    indexer.add(obj('ns1', 'a', { owners: ['u1'] }));
    indexer.add(obj('ns1', 'b', { owners: ['u1', 'u2'] }));
    indexer.add(obj('ns2', 'c', { owners: ['u2'] }));
    indexer.add(obj('', 'node'));
    return indexer;
  }

  it('byIndex and indexKeys return the objects and keys of one value', () => {
    const indexer = fixture();
    assert.deepEqual(namesOf(indexer.byIndex(NAMESPACE_INDEX, 'ns1')), ['a', 'b']);
    assert.deepEqual(namesOf(indexer.byIndex(NAMESPACE_INDEX, '')), ['node']);
    assert.deepEqual(indexer.byIndex(NAMESPACE_INDEX, 'nope'), []);
    assert.deepEqual(sorted(indexer.indexKeys(OWNER_UID_INDEX, 'u2')), ['ns1/b', 'ns2/c']);
    assert.deepEqual(indexer.indexKeys(OWNER_UID_INDEX, 'zz'), []);
    const a = indexer.getByKey('ns1/a');
    assert.ok(indexer.byIndex(OWNER_UID_INDEX, 'u1').includes(a!), 'byIndex shares objects');
  });

  it('index(name, obj) returns the objects sharing any value, without duplicates', () => {
    const indexer = fixture();
    assert.deepEqual(namesOf(indexer.index(NAMESPACE_INDEX, obj('ns2', 'zzz'))), ['c']);
    assert.deepEqual(
      namesOf(indexer.index(OWNER_UID_INDEX, obj('x', 'q', { owners: ['u1', 'u2'] }))),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(indexer.index(OWNER_UID_INDEX, obj('x', 'q')), []);
  });

  it('listIndexFuncValues names exactly the values that have objects', () => {
    const indexer = fixture();
    assert.deepEqual(sorted(indexer.listIndexFuncValues(NAMESPACE_INDEX)), ['', 'ns1', 'ns2']);
    assert.deepEqual(sorted(indexer.listIndexFuncValues(OWNER_UID_INDEX)), ['u1', 'u2']);
  });

  it('removes empty buckets on delete, update and replace', () => {
    const indexer = fixture();
    indexer.delete(obj('ns2', 'c'));
    assert.deepEqual(sorted(indexer.listIndexFuncValues(NAMESPACE_INDEX)), ['', 'ns1']);
    indexer.update(obj('ns1', 'b', { owners: ['u3'] }));
    assert.deepEqual(sorted(indexer.listIndexFuncValues(OWNER_UID_INDEX)), ['u1', 'u3']);
    assert.deepEqual(indexer.indexKeys(OWNER_UID_INDEX, 'u2'), []);
    indexer.deleteByKey('node');
    assert.deepEqual(sorted(indexer.listIndexFuncValues(NAMESPACE_INDEX)), ['ns1']);
    indexer.replace([obj('ns9', 'z')], '5');
    assert.deepEqual(indexer.listIndexFuncValues(NAMESPACE_INDEX), ['ns9']);
    assert.deepEqual(indexer.listIndexFuncValues(OWNER_UID_INDEX), []);
  });

  it('throws a typed IndexNotFound error for unknown index names', () => {
    const indexer = fixture();
    assert.throws(() => indexer.byIndex('nope', 'x'), isIndexNotFound('nope'));
    assert.throws(() => indexer.indexKeys('nope', 'x'), isIndexNotFound('nope'));
    assert.throws(() => indexer.index('nope', obj('a', 'b')), isIndexNotFound('nope'));
    assert.throws(() => indexer.listIndexFuncValues('nope'), isIndexNotFound('nope'));
  });

  it('replace rebuilds every index', () => {
    const indexer = fixture();
    indexer.replace([obj('ns3', 'x', { owners: ['u9'] }), obj('ns3', 'y')], '10');
    assert.deepEqual(namesOf(indexer.byIndex(NAMESPACE_INDEX, 'ns3')), ['x', 'y']);
    assert.deepEqual(indexer.byIndex(NAMESPACE_INDEX, 'ns1'), []);
    assert.deepEqual(indexer.indexKeys(OWNER_UID_INDEX, 'u9'), ['ns3/x']);
    assert.deepEqual(indexer.indexKeys(OWNER_UID_INDEX, 'u1'), []);
  });

  it('replace with duplicate keys indexes only the last one', () => {
    const indexer = createIndexer<Obj>({ indexers: { v: valuesIndex } });
    indexer.replace([obj('ns', 'a', { values: ['x'] }), obj('ns', 'a', { values: ['y'] })], '1');
    assert.deepEqual(indexer.listIndexFuncValues('v'), ['y']);
    assert.deepEqual(indexer.indexKeys('v', 'y'), ['ns/a']);
  });

  it('a failing index function leaves store and indexes untouched (add, update, replace)', () => {
    const fail = new Set<string>();
    const indexer = createIndexer<Obj>({
      indexers: {
        v: valuesIndex,
        boom: (o) => {
          if (fail.has(o.metadata?.name ?? '')) throw new Error('boom');
          return [];
        },
      },
    });
    const a = obj('ns', 'a', { values: ['x'] });
    indexer.add(a);
    fail.add('a');
    fail.add('b');
    assert.throws(() => indexer.update(obj('ns', 'a', { values: ['y'] })), /boom/);
    assert.throws(() => indexer.add(obj('ns', 'b', { values: ['y'] })), /boom/);
    assert.throws(() => indexer.replace([obj('ns', 'b', { values: ['z'] })], '2'), /boom/);
    assert.equal(indexer.getByKey('ns/a'), a);
    assert.equal(indexer.size, 1);
    assert.deepEqual(indexer.listIndexFuncValues('v'), ['x']);
    assert.deepEqual(indexer.byIndex('v', 'x'), [a]);
  });

  it('refuses writes from inside an index function', () => {
    const indexer = createIndexer<Obj>({
      indexers: {
        evil: (o) => {
          if (o.metadata?.name === 'evil') indexer.deleteByKey('ns/a');
          return [];
        },
      },
    });
    indexer.add(obj('ns', 'a'));
    assert.throws(() => indexer.add(obj('ns', 'evil')), ReentrantWriteError);
    assert.deepEqual(indexer.listKeys(), ['ns/a']);
  });
});

describe('Indexer update regression (kubernetes #109115)', () => {
  // In client-go 1.23 an update that changed the *number* of values an index function returned
  // left the object in buckets it no longer belonged to. Every shape of change is covered here.
  const cases: [string, string[], string[]][] = [
    ['two values -> one', ['a', 'b'], ['a']],
    ['one value -> two', ['a'], ['a', 'b']],
    ['one value -> another', ['a'], ['b']],
    ['two values -> two others', ['a', 'b'], ['c', 'd']],
    ['two values -> one other', ['a', 'b'], ['c']],
    ['values -> none', ['a', 'b'], []],
    ['none -> values', [], ['a', 'b']],
    ['duplicates -> one', ['a', 'a', 'b'], ['a']],
    ['reordered', ['a', 'b'], ['b', 'a']],
    [
      'many -> many (set diff path)',
      Array.from({ length: 12 }, (_, i) => `v${i}`),
      Array.from({ length: 12 }, (_, i) => `v${i + 6}`),
    ],
  ];

  for (const [title, before, after] of cases) {
    it(`${title}: the object is exactly in the buckets of its new values`, () => {
      const indexer = createIndexer<Obj>({ indexers: { v: valuesIndex } });
      indexer.add(obj('ns', 'other', { values: ['a'] }));
      indexer.add(obj('ns', 'x', { values: before }));
      const updated = obj('ns', 'x', { values: after });
      indexer.update(updated);
      const expected = new Set(after);
      for (const value of new Set([...before, ...after, 'a'])) {
        const keys = indexer.indexKeys('v', value);
        assert.equal(keys.includes('ns/x'), expected.has(value), `bucket ${value}: ${keys}`);
        if (expected.has(value)) assert.ok(indexer.byIndex('v', value).includes(updated));
      }
      assert.deepEqual(indexer.indexKeys('v', 'a').includes('ns/other'), true);
      assert.deepEqual(
        sorted(indexer.listIndexFuncValues('v')),
        sorted([...new Set([...after, 'a'])]),
      );
      indexer.delete(updated);
      assert.deepEqual(indexer.listIndexFuncValues('v'), ['a']);
    });
  }

  it('an object mutated in place before its update still leaves its old buckets', () => {
    const indexer = createIndexer<Obj>({ indexers: { v: valuesIndex } });
    const x = obj('ns', 'x', { values: ['a', 'b'] });
    indexer.add(x);
    x.spec!.values = ['c']; // a consumer breaking the read-only contract
    indexer.update(obj('ns', 'x', { values: ['d'] }));
    assert.deepEqual(indexer.listIndexFuncValues('v'), ['d']);
  });
});

describe('addIndexers', () => {
  it('indexes objects already in the store', () => {
    const indexer = createIndexer<Obj>();
    indexer.add(obj('ns1', 'a', { labels: { app: 'web' } }));
    indexer.add(obj('ns2', 'b', { labels: { app: 'db' } }));
    indexer.addIndexers({
      [NAMESPACE_INDEX]: namespaceIndexFunc,
      [labelIndexName('app')]: labelIndexFunc('app'),
    });
    assert.deepEqual(namesOf(indexer.byIndex(NAMESPACE_INDEX, 'ns1')), ['a']);
    assert.deepEqual(namesOf(indexer.byIndex(labelIndexName('app'), 'db')), ['b']);
    // Later writes maintain old and new indexes alike.
    indexer.addIndexers({ [LABELS_INDEX]: labelsIndexFunc });
    indexer.update(obj('ns2', 'b', { labels: { app: 'web' } }));
    assert.deepEqual(namesOf(indexer.byIndex(labelIndexName('app'), 'web')), ['a', 'b']);
    assert.deepEqual(indexer.listIndexFuncValues(labelIndexName('app')), ['web']);
    assert.deepEqual(namesOf(indexer.byIndex(LABELS_INDEX, 'app=web')), ['a', 'b']);
    indexer.delete(obj('ns1', 'a'));
    assert.deepEqual(sorted(indexer.listIndexFuncValues(NAMESPACE_INDEX)), ['ns2']);
  });

  it('rejects names already registered, adding none of the batch', () => {
    const indexer = createIndexer<Obj>({ indexers: { [NAMESPACE_INDEX]: namespaceIndexFunc } });
    indexer.add(obj('ns', 'a', { owners: ['u1'] }));
    assert.throws(
      () =>
        indexer.addIndexers({
          [OWNER_UID_INDEX]: ownerUidIndexFunc,
          [NAMESPACE_INDEX]: namespaceIndexFunc,
        }),
      (err: unknown) =>
        err instanceof IndexerConflictError &&
        err.code === 'IndexerConflict' &&
        err.indexNames.join() === NAMESPACE_INDEX,
    );
    assert.deepEqual(Object.keys(indexer.getIndexers()), [NAMESPACE_INDEX]);
    assert.throws(() => indexer.byIndex(OWNER_UID_INDEX, 'u1'), IndexNotFoundError);
  });

  it('a failing index function adds nothing', () => {
    const indexer = createIndexer<Obj>();
    indexer.add(obj('ns', 'a'));
    assert.throws(() =>
      indexer.addIndexers({
        good: namespaceIndexFunc,
        bad: () => {
          throw new Error('bad index');
        },
      }),
    );
    assert.deepEqual(Object.keys(indexer.getIndexers()), []);
    indexer.addIndexers({ good: namespaceIndexFunc });
    assert.deepEqual(indexer.listIndexFuncValues('good'), ['ns']);
  });

  it('getIndexers returns a frozen snapshot of the registered functions', () => {
    const indexer = createIndexer<Obj>({ indexers: { [NAMESPACE_INDEX]: namespaceIndexFunc } });
    const indexers = indexer.getIndexers();
    assert.equal(indexers[NAMESPACE_INDEX], namespaceIndexFunc);
    assert.ok(Object.isFrozen(indexers));
    indexer.addIndexers({ v: valuesIndex });
    assert.deepEqual(Object.keys(indexers), [NAMESPACE_INDEX]);
    assert.deepEqual(Object.keys(indexer.getIndexers()), [NAMESPACE_INDEX, 'v']);
  });
});
