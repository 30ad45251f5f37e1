// Randomized model test: long random sequences of writes against the indexer and a naive
// reference model (a plain Map, indexes recomputed from scratch), comparing contents and every
// index after each step. The seed is fixed so runs are reproducible; override it with
// KUBECACHE_SEED=<int> to explore, and use the seed printed on failure to replay.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createIndexer,
  type IndexFunc,
  type Indexer,
  IndexerConflictError,
  type KubeObject,
  LABELS_INDEX,
  metaNamespaceKeyFunc,
  labelIndexFunc,
  labelIndexName,
  labelsIndexFunc,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  OWNER_UID_INDEX,
  ownerUidIndexFunc,
} from '@kubecache/cache';
import fc from 'fast-check';
import { type Op as SelectorOp, selector } from './store-helpers.ts';

const SEED = process.env.KUBECACHE_SEED ? Number(process.env.KUBECACHE_SEED) : 20260509;

interface Obj extends KubeObject {
  spec: { values: string[] };
}

/** Every index the test can register, by name. `values` returns duplicates on purpose. */
const CATALOG: Record<string, IndexFunc<Obj>> = {
  [NAMESPACE_INDEX]: namespaceIndexFunc,
  [labelIndexName('app')]: labelIndexFunc('app'),
  [labelIndexName('tier')]: labelIndexFunc('tier'),
  [LABELS_INDEX]: labelsIndexFunc,
  [OWNER_UID_INDEX]: ownerUidIndexFunc,
  values: (o) => o.spec.values,
};
const CATALOG_NAMES = Object.keys(CATALOG);

interface ObjSpec {
  ns: string;
  name: string;
  app: string | null;
  tier: string | null;
  owners: string[];
  values: string[];
}

type Op =
  | { op: 'add' | 'update'; obj: ObjSpec }
  | { op: 'delete'; obj: ObjSpec }
  | { op: 'deleteByKey'; ns: string; name: string }
  | { op: 'replace'; objs: ObjSpec[] }
  | { op: 'addIndexer'; name: string };

const objSpec = fc.record({
  ns: fc.constantFrom('', 'a', 'b'),
  name: fc.constantFrom('v', 'w', 'x', 'y', 'z'),
  app: fc.option(fc.constantFrom('1', '2', '3')),
  tier: fc.option(fc.constantFrom('fe', 'be')),
  owners: fc.array(fc.constantFrom('u1', 'u2', 'u3'), { maxLength: 3 }),
  values: fc.array(fc.constantFrom('p', 'q', 'r', 's'), { maxLength: 4 }),
});

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: objSpec.map((obj) => ({ op: 'add' as const, obj })) },
  { weight: 5, arbitrary: objSpec.map((obj) => ({ op: 'update' as const, obj })) },
  { weight: 3, arbitrary: objSpec.map((obj) => ({ op: 'delete' as const, obj })) },
  {
    weight: 1,
    arbitrary: objSpec.map((o) => ({ op: 'deleteByKey' as const, ns: o.ns, name: o.name })),
  },
  {
    weight: 1,
    arbitrary: fc.array(objSpec, { maxLength: 12 }).map((objs) => ({
      op: 'replace' as const,
      objs,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...CATALOG_NAMES).map((name) => ({
      op: 'addIndexer' as const,
      name,
    })),
  },
);

function build(spec: ObjSpec, version: number): Obj {
  const labels: Record<string, string> = {};
  if (spec.app !== null) labels.app = spec.app;
  if (spec.tier !== null) labels.tier = spec.tier;
  return {
    metadata: {
      namespace: spec.ns || undefined,
      name: spec.name,
      resourceVersion: String(version),
      labels,
      ownerReferences: spec.owners.map((uid) => ({ apiVersion: 'v1', kind: 'K', name: uid, uid })),
    },
    spec: { values: [...spec.values] },
  };
}

const keyOf = (ns: string, name: string): string => (ns ? `${ns}/${name}` : name);
const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/** Label queries checked after every step, through whichever indexes the run registered. */
const QUERIES: [string, SelectorOp, ...string[]][][] = [
  [],
  [['app', '=', '1']],
  [['app', 'in', '1', '2']],
  [
    ['app', '=', '1'],
    ['tier', '=', 'fe'],
  ],
  [
    ['tier', 'in', 'be', 'fe'],
    ['app', '=', '3'],
  ],
  [['tier', '!=', 'fe']],
  [['app', 'notin', '1']],
  [['app', '!']],
  [
    ['app', 'exists'],
    ['tier', '=', 'be'],
  ],
];

function check(indexer: Indexer<Obj>, model: Map<string, Obj>, indexNames: string[]): void {
  assert.equal(indexer.size, model.size);
  assert.deepEqual(sorted(indexer.listKeys()), sorted(model.keys()));
  const listed = new Set(indexer.list());
  assert.equal(listed.size, model.size);
  for (const [key, obj] of model) {
    assert.equal(indexer.getByKey(key), obj, `getByKey(${key})`);
    assert.ok(listed.has(obj));
  }
  assert.deepEqual(Object.keys(indexer.getIndexers()).sort(), [...indexNames].sort());
  for (const reqs of QUERIES) {
    for (const ns of [undefined, 'a', '']) {
      const sel = selector(...reqs);
      const want = [...model.entries()]
        .filter(([, o]) => !ns || o.metadata?.namespace === ns)
        .filter(([, o]) => sel.matches(o.metadata?.labels))
        .map(([k]) => k);
      const got = indexer
        .listBySelector(sel, ns)
        .map((o) => keyOf(o.metadata?.namespace ?? '', o.metadata!.name!));
      assert.deepEqual(sorted(got), sorted(want), `listBySelector ${JSON.stringify(reqs)} ${ns}`);
    }
  }
  for (const name of indexNames) {
    const expected = new Map<string, Set<string>>();
    for (const [key, obj] of model) {
      for (const value of CATALOG[name](obj)) {
        const keys = expected.get(value);
        if (keys === undefined) expected.set(value, new Set([key]));
        else keys.add(key);
      }
    }
    assert.deepEqual(
      sorted(indexer.listIndexFuncValues(name)),
      sorted(expected.keys()),
      `values of index ${name}`,
    );
    for (const [value, keys] of expected) {
      assert.deepEqual(sorted(indexer.indexKeys(name, value)), sorted(keys), `${name}=${value}`);
      const objs = indexer.byIndex(name, value);
      assert.equal(objs.length, keys.size);
      for (const o of objs)
        assert.ok(keys.has(keyOf(o.metadata?.namespace ?? '', o.metadata!.name!)));
    }
    // index(name, obj) for one stored object: the union of its values' buckets.
    const probe = model.values().next().value;
    if (probe !== undefined) {
      const union = new Set<string>();
      for (const value of CATALOG[name](probe))
        for (const k of expected.get(value) ?? []) union.add(k);
      const got = indexer
        .index(name, probe)
        .map((o) => keyOf(o.metadata?.namespace ?? '', o.metadata!.name!));
      assert.equal(got.length, union.size, 'index() deduplicates');
      assert.deepEqual(sorted(got), sorted(union));
    }
  }
}

describe('Indexer against a reference model', () => {
  it('agrees after every step of random operation sequences', () => {
    let steps = 0;
    try {
      fc.assert(
        fc.property(
          fc.subarray(CATALOG_NAMES),
          fc.boolean(),
          fc.boolean(),
          fc.array(op, { minLength: 1, maxLength: 150 }),
          (initial, freeze, customKey, ops) => {
            const indexers: Record<string, IndexFunc<Obj>> = {};
            for (const name of initial) indexers[name] = CATALOG[name];
            // A custom key function (equal keys) exercises the flat key map instead of the
            // namespace/name one the default key function gets.
            const keyFunc = customKey ? (o: Obj) => metaNamespaceKeyFunc(o) : undefined;
            const indexer = createIndexer<Obj>({ indexers, freeze, keyFunc });
            const indexNames = [...initial];
            const model = new Map<string, Obj>();
            let version = 0;
            for (const step of ops) {
              steps++;
              switch (step.op) {
                case 'add':
                case 'update': {
                  const obj = build(step.obj, ++version);
                  indexer[step.op](obj);
                  model.set(keyOf(step.obj.ns, step.obj.name), obj);
                  break;
                }
                case 'delete':
                  indexer.delete(build(step.obj, ++version));
                  model.delete(keyOf(step.obj.ns, step.obj.name));
                  break;
                case 'deleteByKey': {
                  const key = keyOf(step.ns, step.name);
                  assert.equal(indexer.deleteByKey(key), model.get(key));
                  model.delete(key);
                  break;
                }
                case 'replace': {
                  const objs = step.objs.map((s) => build(s, ++version));
                  indexer.replace(objs, String(version));
                  model.clear();
                  for (const o of objs)
                    model.set(keyOf(o.metadata?.namespace ?? '', o.metadata!.name!), o);
                  break;
                }
                case 'addIndexer':
                  if (indexNames.includes(step.name)) {
                    assert.throws(
                      () => indexer.addIndexers({ [step.name]: CATALOG[step.name] }),
                      IndexerConflictError,
                    );
                  } else {
                    indexer.addIndexers({ [step.name]: CATALOG[step.name] });
                    indexNames.push(step.name);
                  }
                  break;
              }
              check(indexer, model, indexNames);
            }
          },
        ),
        { seed: SEED, numRuns: 400 },
      );
    } catch (err) {
      throw new Error(`model test failed; replay with KUBECACHE_SEED=${SEED}`, { cause: err });
    }
    assert.ok(steps > 1000, `ran ${steps} steps`);
  });
});
