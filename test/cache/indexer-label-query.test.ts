import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createIndexer,
  type IndexableLabelSelector,
  type Indexers,
  type KubeObject,
  LABELS_INDEX,
  labelIndexFunc,
  labelIndexName,
  labelsIndexFunc,
  metaNamespaceKeyFunc,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  everything,
  type LabelSelector,
  labelSelectorFromObject,
  nothing,
  parseLabelSelector,
} from '@kubecache/cache';
import { type Op, selector } from './store-helpers.ts';

const TIERS = ['fe', 'be', 'db'];

/** 300 objects: 3 namespaces, app a0..a9, tier fe/be/db (db rare), some without labels. */
function objects(): KubeObject[] {
  const out: KubeObject[] = [];
  for (let i = 0; i < 300; i++) {
    const labels: Record<string, string> = { app: `a${i % 10}` };
    labels.tier = i % 50 === 0 ? 'db' : TIERS[i % 2];
    out.push({
      metadata: {
        namespace: `ns${i % 3}`,
        name: `o${i}`,
        labels: i % 7 === 6 ? undefined : labels,
      },
    });
  }
  out.push({ metadata: { name: 'cluster-scoped', labels: { app: 'a1', tier: 'fe' } } });
  return out;
}

function expected(
  objs: readonly KubeObject[],
  sel: IndexableLabelSelector,
  namespace?: string,
): string[] {
  return objs
    .filter((o) => !namespace || o.metadata?.namespace === namespace)
    .filter((o) => sel.matches(o.metadata?.labels))
    .map((o) => metaNamespaceKeyFunc(o))
    .sort();
}

const keysOf = (objs: readonly KubeObject[]): string[] =>
  objs.map((o) => metaNamespaceKeyFunc(o)).sort();

function build(indexers: Indexers<KubeObject>, custom = false) {
  const indexer = createIndexer<KubeObject>({
    indexers,
    keyFunc: custom ? (o) => metaNamespaceKeyFunc(o) : undefined,
  });
  const objs = objects();
  indexer.replace(objs, '1');
  return { indexer, objs };
}

const SELECTORS: [string, Op, ...string[]][][] = [
  [['app', '=', 'a1']],
  [
    ['app', '=', 'a1'],
    ['tier', '=', 'fe'],
  ],
  [['app', 'in', 'a1', 'a2', 'a1']],
  [
    ['app', '=', 'a3'],
    ['tier', '!=', 'fe'],
  ],
  [['tier', 'notin', 'fe', 'be']],
  [
    ['app', 'exists'],
    ['tier', '=', 'db'],
  ],
  [['app', '!']],
  [['app', '=', 'nope']],
  [],
];

const layouts: [string, Indexers<KubeObject>, boolean][] = [
  ['no indexes', {}, false],
  ['no indexes, custom key function', {}, true],
  ['namespace index', { [NAMESPACE_INDEX]: namespaceIndexFunc }, false],
  [
    'label indexes',
    { [labelIndexName('app')]: labelIndexFunc('app'), tier: labelIndexFunc('tier') },
    false,
  ],
  ['key=value index', { [LABELS_INDEX]: labelsIndexFunc }, true],
  [
    'all',
    {
      [NAMESPACE_INDEX]: namespaceIndexFunc,
      [labelIndexName('app')]: labelIndexFunc('app'),
      [LABELS_INDEX]: labelsIndexFunc,
    },
    false,
  ],
];
describe('Indexer.listBySelector', () => {
  for (const [layout, indexers, custom] of layouts) {
    it(`agrees with a filter over everything (${layout})`, () => {
      const { indexer, objs } = build(indexers, custom);
      for (const reqs of SELECTORS) {
        for (const ns of [undefined, '', 'ns1', 'missing']) {
          const sel = selector(...reqs);
          const want = expected(objs, sel, ns);
          const got = indexer.listBySelector(sel, ns);
          assert.deepEqual(keysOf(got), want, `${JSON.stringify(reqs)} in ${ns}`);
          for (const o of got) assert.equal(indexer.getByKey(metaNamespaceKeyFunc(o)), o);
        }
      }
    });
  }

  it('answers parsed label selectors like a filter, through every index layout', () => {
    const texts = [
      'app=a1',
      'app==a3,tier!=fe',
      'app in (a1,a2),tier=fe',
      'tier notin (fe,be)',
      '!app',
      'app,tier=db',
      'app=nope',
      '',
    ];
    const parsed: LabelSelector[] = [
      ...texts.map((t) => parseLabelSelector(t)),
      labelSelectorFromObject({
        matchLabels: { app: 'a1' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe', 'db'] }],
      }),
      everything,
      nothing,
    ];
    for (const [, indexers, custom] of layouts) {
      const { indexer, objs } = build(indexers, custom);
      for (const sel of parsed) {
        for (const ns of [undefined, 'ns0']) {
          assert.deepEqual(
            keysOf(indexer.listBySelector(sel, ns)),
            expected(objs, sel, ns),
            `${sel.toString()} in ${ns}`,
          );
        }
      }
    }
  });

  it('checks only the candidates of the smallest indexed requirement', () => {
    const { indexer } = build({
      [labelIndexName('app')]: labelIndexFunc('app'),
      [labelIndexName('tier')]: labelIndexFunc('tier'),
    });
    const appOnly = selector(['app', '=', 'a1']);
    indexer.listBySelector(appOnly);
    assert.equal(appOnly.calls, indexer.byIndex(labelIndexName('app'), 'a1').length);
    // tier=db has 6 objects (4 labelled), app=a0 about 26: the db bucket is walked.
    const both = selector(['app', '=', 'a0'], ['tier', '=', 'db']);
    const got = indexer.listBySelector(both);
    assert.equal(both.calls, indexer.byIndex(labelIndexName('tier'), 'db').length);
    assert.ok(got.length > 0);
    // Reversed order of requirements: same choice.
    const reversed = selector(['tier', '=', 'db'], ['app', '=', 'a0']);
    indexer.listBySelector(reversed);
    assert.equal(reversed.calls, both.calls);
  });

  it('unions the buckets of an `in` requirement', () => {
    const { indexer } = build({ [labelIndexName('app')]: labelIndexFunc('app') });
    const sel = selector(['app', 'in', 'a1', 'a2']);
    indexer.listBySelector(sel);
    const candidates =
      indexer.byIndex(labelIndexName('app'), 'a1').length +
      indexer.byIndex(labelIndexName('app'), 'a2').length;
    assert.equal(sel.calls, candidates);
  });

  it('uses a key=value index when no single-label index exists', () => {
    const { indexer } = build({ [LABELS_INDEX]: labelsIndexFunc });
    const sel = selector(['tier', '=', 'db']);
    indexer.listBySelector(sel);
    assert.equal(sel.calls, indexer.byIndex(LABELS_INDEX, 'tier=db').length);
  });

  it('answers an empty indexed bucket without checking anything', () => {
    const { indexer } = build({ [labelIndexName('app')]: labelIndexFunc('app') });
    const sel = selector(['app', '=', 'nope'], ['tier', 'exists']);
    assert.deepEqual(indexer.listBySelector(sel), []);
    assert.equal(sel.calls, 0);
  });

  it('walks only the namespace when that is the smallest candidate set', () => {
    const { indexer } = build({
      [NAMESPACE_INDEX]: namespaceIndexFunc,
      [labelIndexName('tier')]: labelIndexFunc('tier'),
    });
    const sel = selector(['tier', '=', 'fe']);
    indexer.listBySelector(sel, 'ns2');
    assert.equal(sel.calls, indexer.byIndex(NAMESPACE_INDEX, 'ns2').length);
    // Without a namespace index the namespace/name addressing still narrows the walk.
    const plain = build({}).indexer;
    const sel2 = selector(['tier', '=', 'fe']);
    plain.listBySelector(sel2, 'ns2');
    assert.equal(sel2.calls, 100);
  });

  it('scans everything without usable indexes', () => {
    const { indexer, objs } = build({ [labelIndexName('app')]: labelIndexFunc('app') });
    const sel = selector(['tier', '=', 'fe'], ['app', '!=', 'a1']);
    indexer.listBySelector(sel);
    assert.equal(sel.calls, objs.length);
  });

  it('handles nothing and everything selectors', () => {
    const { indexer, objs } = build({ [NAMESPACE_INDEX]: namespaceIndexFunc });
    assert.deepEqual(indexer.listBySelector(nothing), []);
    assert.equal(indexer.listBySelector(selector()).length, objs.length);
    assert.equal(indexer.listBySelector(selector(), 'ns0').length, 100);
  });

  it('sees writes immediately, including label changes', () => {
    const { indexer } = build({ [labelIndexName('app')]: labelIndexFunc('app') });
    const before = indexer.listBySelector(selector(['app', '=', 'a1'])).length;
    indexer.update({ metadata: { namespace: 'ns0', name: 'o0', labels: { app: 'a1' } } });
    assert.equal(indexer.listBySelector(selector(['app', '=', 'a1'])).length, before + 1);
    assert.equal(
      indexer.listBySelector(selector(['app', '=', 'a0'])).some((o) => o.metadata?.name === 'o0'),
      false,
    );
  });
});
