// Store benchmark: the indexer at 100k realistic objects (~1 KB ConfigMap-like objects with
// labels, a namespace and owner references), with two indexers (namespace + one label key).
//
//   npm run bench:store                 # 100k objects, 5 repeats, markdown table on stdout
//   node --expose-gc benchmarks/store.bench.ts --objects 20000 --quick --only add,update --wall
//
// Time is main-thread CPU time by default (--wall for wall-clock time): these machines are
// shared, and a descheduled benchmark would otherwise report the neighbours' load.
//
// Compared against @kubernetes/client-node's own cache map (`addOrUpdateObject` /
// `deleteObject`, which keeps no indexes; a label query there is a filter over everything) and a
// floor: a bare `Map.set`/`Map.delete` under the same key, the least any keyed cache can do.
// Each figure is the median of several repeats; nothing here asserts on speed.
import { pathToFileURL } from 'node:url';
import type { Result } from './measure.ts';
import {
  createIndexer,
  type Indexer,
  type KubeObject,
  type LabelSelector,
  labelIndexFunc,
  labelIndexName,
  metaNamespaceKeyFunc,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  parseLabelSelector,
} from '@kubecache/cache';
import {
  addOrUpdateObject,
  type CacheMap,
  deleteItems,
  deleteObject,
  type KubernetesObject,
} from '@kubernetes/client-node';

export type { Result };

/** Options of {@link runStoreBench}. */
export interface StoreBenchOptions {
  /** Number of objects in the store. */
  objects: number;
  /** Fewer repeats (3 instead of 5), for smoke runs. */
  quick?: boolean;
  /** Scenario groups to run (`add`, `update`, `delete`, `read`); default all. */
  only?: readonly string[];
  /** Clock for elapsed time; default `cpu` (main-thread CPU time). */
  clock?: BenchClock;
}

interface ConfigMap extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: boolean;
    }[];
  };
  data: Record<string, string>;
}

const NAMESPACES = 50;
const APPS = 1000;
const TIERS = ['frontend', 'backend', 'cache', 'batch'];
const APP_LABEL = 'app.kubernetes.io/name';
const APP_INDEX = labelIndexName(APP_LABEL);

/** Deterministic pseudo-random hex, so every run builds the same objects. */
function hex(seed: number, length: number): string {
  let x = seed * 2654435761 + 1013904223;
  let out = '';
  while (out.length < length) {
    x = (x ^ (x >>> 13)) * 1274126177;
    x ^= x >>> 16;
    out += (x >>> 0).toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

function makeObject(i: number, rv: number, appOffset = 0): ConfigMap {
  const app = `app-${(i + appOffset) % APPS}`;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `config-${i}-${hex(i, 6)}`,
      namespace: `namespace-${i % NAMESPACES}`,
      uid: `${hex(i, 8)}-${hex(i + 1, 4)}-${hex(i + 2, 4)}-${hex(i + 3, 4)}-${hex(i + 4, 12)}`,
      resourceVersion: String(rv),
      creationTimestamp: '2026-05-01T12:00:00Z',
      labels: {
        [APP_LABEL]: app,
        'app.kubernetes.io/part-of': `system-${i % 20}`,
        tier: TIERS[i % TIERS.length],
        'pod-template-hash': hex(i * 7, 10),
      },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration-hash': hex(i * 3, 40),
        'example.com/owner-team': `team-${i % 30}`,
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: app,
          uid: `${hex(i % 5000, 8)}-0000-4000-8000-${hex(i % 5000, 12)}`,
          controller: true,
        },
      ],
    },
    data: {
      'application.properties': `server.port=8080\nlogging.level=info\nfeature.flags=${hex(i, 64)}\n`,
      'settings.json': `{"replicas":3,"timeoutSeconds":30,"endpoint":"https://svc-${i % 997}.internal:8443","token":"${hex(i * 11, 96)}"}`,
      'extra.txt': hex(i * 13, 200),
    },
  };
}

/** `app.kubernetes.io/name=<app>,tier=<tier>`. */
function selector(app: string, tier: string): LabelSelector {
  return parseLabelSelector(`${APP_LABEL}=${app},tier=${tier}`);
}

const gc = (globalThis as { gc?: () => void }).gc;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * How elapsed time is taken. `cpu`: CPU time of the main thread (`process.threadCpuUsage`),
 * which time spent descheduled on a busy shared machine does not inflate; memory stalls and GC
 * pauses on the main thread still count. `wall`: `performance.now()`.
 */
export type BenchClock = 'cpu' | 'wall';

let clock: BenchClock = 'cpu';

/** Current time on the selected clock, in milliseconds. */
function now(): number {
  if (clock === 'wall') return performance.now();
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

/** Runs `body` `repeats` times (each after `setup`), returns the median of ops / elapsed. */
function measure<S>(
  repeats: number,
  ops: number,
  setup: () => S,
  body: (state: S) => void,
): number {
  // One full collection per scenario, so garbage from the previous one is not billed here, then
  // a warm-up repeat (not counted) so the loops run optimised. No collection is forced between
  // repeats: right after a compacting GC every object has moved and the first pass over 100k of
  // them runs cold, which would measure the collector rather than the store.
  gc?.();
  const rates: number[] = [];
  for (let r = -1; r < repeats; r++) {
    const state = setup();
    const start = now();
    body(state);
    const elapsed = now() - start;
    if (r >= 0) rates.push(ops / (elapsed / 1000));
  }
  return median(rates);
}

function newIndexer(withAppIndex = true): Indexer<ConfigMap> {
  return createIndexer<ConfigMap>({
    indexers: withAppIndex
      ? { [NAMESPACE_INDEX]: namespaceIndexFunc, [APP_INDEX]: labelIndexFunc(APP_LABEL) }
      : { [NAMESPACE_INDEX]: namespaceIndexFunc },
  });
}

function filled(objects: readonly ConfigMap[], withAppIndex = true): Indexer<ConfigMap> {
  const indexer = newIndexer(withAppIndex);
  indexer.replace(objects, '1');
  return indexer;
}

/** One store implementation under test, with its loops inlined so each call site stays monomorphic. */
interface Adapter<S> {
  impl: Result['impl'];
  create(): S;
  fill(store: S, objs: readonly ConfigMap[]): void;
  /** A relist: the store's contents become `objs`; returns the (possibly new) store. */
  replaceAll(store: S, objs: readonly ConfigMap[]): S;
  addAll(store: S, objs: readonly ConfigMap[]): void;
  updateAll(store: S, objs: readonly ConfigMap[]): void;
  deleteAll(store: S, objs: readonly ConfigMap[]): void;
}

const kubecache: Adapter<Indexer<ConfigMap>> = {
  impl: 'kubecache',
  create: () => newIndexer(),
  fill: (s, objs) => s.replace(objs, '1'),
  replaceAll: (s, objs) => {
    s.replace(objs, '2');
    return s;
  },
  addAll: (s, objs) => {
    for (let i = 0; i < objs.length; i++) s.add(objs[i]);
  },
  updateAll: (s, objs) => {
    for (let i = 0; i < objs.length; i++) s.update(objs[i]);
  },
  deleteAll: (s, objs) => {
    for (let i = 0; i < objs.length; i++) s.delete(objs[i]);
  },
};

/** kubecache with the informer's default indexes only (namespace), as client-node keeps. */
const kubecacheNamespaceOnly: Adapter<Indexer<ConfigMap>> = {
  ...kubecache,
  create: () => newIndexer(false),
};

// client-node types objects with its generated models (Date timestamps); ours are plain JSON.
const asCn = (objs: readonly ConfigMap[]) => objs as unknown as readonly KubernetesObject[];

const clientNode: Adapter<CacheMap<KubernetesObject>> = {
  impl: 'client-node',
  create: () => new Map(),
  fill: (s, objs) => {
    for (const obj of asCn(objs)) addOrUpdateObject(s, obj);
  },
  // What client-node's ListWatch does on a relist.
  replaceAll: (s, objs) => {
    const xs = asCn(objs);
    const next = deleteItems(s, xs as KubernetesObject[]);
    for (let i = 0; i < xs.length; i++) addOrUpdateObject(next, xs[i]);
    return next;
  },
  addAll: (s, objs) => {
    const xs = asCn(objs);
    for (let i = 0; i < xs.length; i++) addOrUpdateObject(s, xs[i]);
  },
  updateAll: (s, objs) => {
    const xs = asCn(objs);
    for (let i = 0; i < xs.length; i++) addOrUpdateObject(s, xs[i]);
  },
  deleteAll: (s, objs) => {
    const xs = asCn(objs);
    for (let i = 0; i < xs.length; i++) deleteObject(s, xs[i]);
  },
};

const floor: Adapter<Map<string, ConfigMap>> = {
  impl: 'floor',
  create: () => new Map(),
  fill: (s, objs) => {
    for (const obj of objs) s.set(metaNamespaceKeyFunc(obj), obj);
  },
  replaceAll: (_s, objs) => {
    const next = new Map<string, ConfigMap>();
    for (let i = 0; i < objs.length; i++) next.set(metaNamespaceKeyFunc(objs[i]), objs[i]);
    return next;
  },
  addAll: (s, objs) => {
    for (let i = 0; i < objs.length; i++) s.set(metaNamespaceKeyFunc(objs[i]), objs[i]);
  },
  updateAll: (s, objs) => {
    for (let i = 0; i < objs.length; i++) s.set(metaNamespaceKeyFunc(objs[i]), objs[i]);
  },
  deleteAll: (s, objs) => {
    for (let i = 0; i < objs.length; i++) s.delete(metaNamespaceKeyFunc(objs[i]));
  },
};

/** Object generations for the write scenarios. */
interface Workload {
  n: number;
  repeats: number;
  /** Fresh objects (new metadata strings, as a watch decodes them), alternating resourceVersions. */
  fresh(): ConfigMap[];
  /** Fresh objects whose indexed label moved to another value. */
  moved(): ConfigMap[];
}

function makeWorkload(n: number, repeats: number): Workload {
  const base = Array.from({ length: n }, (_, i) => makeObject(i, 1));
  // Writes are fed fresh objects: every repeat parses new metadata (names, namespaces, labels are
  // new strings whose hashes V8 has yet to compute), sharing the bulky `data`, which no store
  // reads. Two alternating generations make every update a real change of resourceVersion
  // (client-node skips same-version updates).
  const metaJson = (rvBase: number, app?: (i: number) => string) =>
    JSON.stringify(
      base.map((o, i) => ({
        ...o.metadata,
        resourceVersion: String(rvBase + i),
        labels: app ? { ...o.metadata.labels, [APP_LABEL]: app(i) } : o.metadata.labels,
      })),
    );
  const generations = [
    metaJson(1),
    metaJson(n + 1),
    metaJson(2 * n + 1, (i) => `app-${(i + 1) % APPS}`),
  ];
  let round = 0;
  const parse = (json: string): ConfigMap[] =>
    (JSON.parse(json) as ConfigMap['metadata'][]).map((metadata, i) => ({ ...base[i], metadata }));
  return {
    n,
    repeats,
    fresh: () => parse(generations[round++ % 2]),
    moved: () => parse(generations[round++ % 2 === 0 ? 2 : 0]),
  };
}

function addScenario<S>(w: Workload, a: Adapter<S>): number {
  return measure(
    w.repeats,
    w.n,
    () => ({ s: a.create(), xs: w.fresh() }),
    ({ s, xs }) => a.addAll(s, xs),
  );
}

function replaceScenario<S>(w: Workload, a: Adapter<S>): number {
  let store = a.create();
  a.fill(store, w.fresh());
  return measure(w.repeats, w.n, w.fresh, (xs) => {
    store = a.replaceAll(store, xs);
  });
}

function updateScenario<S>(w: Workload, a: Adapter<S>, next: () => ConfigMap[] = w.fresh): number {
  const store = a.create();
  a.fill(store, w.fresh());
  return measure(w.repeats, w.n, next, (xs) => a.updateAll(store, xs));
}

/** Updates of objects already seen (strings hashed, recently touched): the store's own cost. */
function hotUpdateScenario<S>(w: Workload, a: Adapter<S>): number {
  const store = a.create();
  const gens = [w.fresh(), w.fresh()];
  a.fill(store, gens[0]);
  a.updateAll(store, gens[1]);
  let r = 0;
  return measure(
    w.repeats,
    w.n,
    () => gens[r++ % 2],
    (xs) => a.updateAll(store, xs),
  );
}

function deleteScenario<S>(w: Workload, a: Adapter<S>): number {
  return measure(
    w.repeats,
    w.n,
    () => {
      const s = a.create();
      a.fill(s, w.fresh());
      return { s, xs: w.fresh() };
    },
    ({ s, xs }) => a.deleteAll(s, xs),
  );
}

let sink = 0;

function readScenarios(
  w: Workload,
  push: (scenario: string, impl: Result['impl'], value: number) => void,
): number {
  const reader = filled(w.fresh());
  const lookups = 20_000;
  push(
    `byIndex (label, ${Math.round(w.n / APPS)} objects/bucket)`,
    'kubecache',
    measure(
      w.repeats,
      lookups,
      () => undefined,
      () => {
        for (let i = 0; i < lookups; i++)
          sink += reader.byIndex(APP_INDEX, `app-${i % APPS}`).length;
      },
    ),
  );
  push(
    `byIndex (namespace, ${Math.round(w.n / NAMESPACES)} objects/bucket)`,
    'kubecache',
    measure(
      w.repeats,
      2_000,
      () => undefined,
      () => {
        for (let i = 0; i < 2_000; i++)
          sink += reader.byIndex(NAMESPACE_INDEX, `namespace-${i % NAMESPACES}`).length;
      },
    ),
  );

  // app=<x>,tier=<y>: indexed, vs a full scan by the same indexer without the label index.
  const selectors = Array.from({ length: 64 }, (_, i) =>
    selector(`app-${i * 7}`, TIERS[(i * 7) % TIERS.length]),
  );
  const indexedQueries = 20_000;
  const indexed = measure(
    w.repeats,
    indexedQueries,
    () => undefined,
    () => {
      for (let i = 0; i < indexedQueries; i++)
        sink += reader.listBySelector(selectors[i % 64]).length;
    },
  );
  const scanQueries = Math.max(3, Math.round(1_000_000 / w.n));
  // Both scans read the very same objects: where objects sit in memory changes a full scan's
  // speed by 2-4x on its own (whichever set was allocated first scans slower here), so separate
  // object sets would measure allocation history, not the stores.
  const scanned = w.fresh();
  const scanner = filled(scanned, false);
  const scan = measure(
    w.repeats,
    scanQueries,
    () => undefined,
    () => {
      for (let i = 0; i < scanQueries; i++)
        sink += scanner.listBySelector(selectors[i % 64]).length;
    },
  );
  const cnList: CacheMap<KubernetesObject> = new Map();
  clientNode.fill(cnList, scanned);
  const cnScan = measure(
    w.repeats,
    scanQueries,
    () => undefined,
    () => {
      for (let i = 0; i < scanQueries; i++) {
        const sel = selectors[i % 64];
        for (const byName of cnList.values())
          for (const o of byName.values()) if (sel.matches(o.metadata?.labels)) sink++;
      }
    },
  );
  push('label selector list, indexed', 'kubecache', indexed);
  push('label selector list, full scan', 'kubecache', scan);
  push('label selector list, full scan', 'client-node', cnScan);
  return indexed / scan;
}

/**
 * Runs the store benchmark and returns its figures (the main bench suite reuses it).
 *
 * @example
 * ```ts
 * const results = await runStoreBench({ objects: 100_000 });
 * ```
 */
export async function runStoreBench(options: StoreBenchOptions): Promise<Result[]> {
  clock = options.clock ?? 'cpu';
  const w = makeWorkload(options.objects, options.quick ? 3 : 5);
  const results: Result[] = [];
  const push = (scenario: string, impl: Result['impl'], value: number) =>
    results.push({
      scenario,
      impl,
      metric: clock === 'cpu' ? 'throughput per main-thread CPU second' : 'throughput',
      value,
      unit: 'ops/s',
    });
  const adapters = [kubecache, clientNode, floor] as const;
  // Side by side with client-node: kubecache with the default (namespace) index only. The extra
  // label index's cost shows in the kubecache-only "namespace + label index" rows.
  const defaults = [kubecacheNamespaceOnly, clientNode, floor] as const;

  // A throwaway round first: right after the workload is built the heap is still growing, and
  // whichever scenario ran first paid for it (measured: about half its throughput).
  const warmup: Workload = { ...w, repeats: 1 };
  for (const a of [...adapters, kubecacheNamespaceOnly]) addScenario(warmup, a as Adapter<unknown>);

  // Each scenario builds its stores inside its own function so they are garbage afterwards.
  const run = (group: string) => options.only === undefined || options.only.includes(group);
  if (run('add')) {
    for (const a of defaults)
      push('add (namespace index)', a.impl, addScenario(w, a as Adapter<unknown>));
    push('add (namespace + label index)', 'kubecache', addScenario(w, kubecache));
    for (const a of defaults) {
      const rate = replaceScenario(w, a as Adapter<unknown>);
      push('replace / relist, objects/s (namespace index)', a.impl, rate);
    }
    push(
      'replace / relist, objects/s (namespace + label index)',
      'kubecache',
      replaceScenario(w, kubecache),
    );
  }
  if (run('update')) {
    for (const a of defaults) {
      push('update (namespace index)', a.impl, updateScenario(w, a as Adapter<unknown>));
    }
    push('update (namespace + label index)', 'kubecache', updateScenario(w, kubecache));
    push('update, indexed label changes', 'kubecache', updateScenario(w, kubecache, w.moved));
    for (const a of defaults) {
      const rate = hotUpdateScenario(w, a as Adapter<unknown>);
      push('update, hot objects (store cost only)', a.impl, rate);
    }
  }
  if (run('delete')) {
    for (const a of defaults) {
      push('delete (namespace index)', a.impl, deleteScenario(w, a as Adapter<unknown>));
    }
    push('delete (namespace + label index)', 'kubecache', deleteScenario(w, kubecache));
  }
  if (run('read')) {
    const ratio = readScenarios(w, push);
    results.push({
      scenario: 'label selector list, indexed / full scan',
      impl: 'kubecache',
      metric: 'speedup',
      value: ratio,
      unit: 'x',
    });
  }
  if (sink < 0) console.log(sink); // keep the reads observable
  return results;
}

function formatValue(r: Result): string {
  if (r.unit === 'x') return `${r.value.toFixed(0)}x`;
  return `${Math.round(r.value).toLocaleString('en-US')} ${r.unit}`;
}

/** The results as a markdown table, one row per scenario, one column per implementation. */
export function storeBenchTable(results: readonly Result[], objects: number): string {
  const impls: Result['impl'][] = ['kubecache', 'client-node', 'floor'];
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const lines = [
    `Store benchmark, ${objects.toLocaleString('en-US')} objects, Node ${process.version}, ` +
      `ops per second of ${clock === 'cpu' ? 'main-thread CPU time' : 'wall time'}, median of repeats`,
    '',
    `| scenario | ${impls.join(' | ')} |`,
    `| --- | ${impls.map(() => '---:').join(' | ')} |`,
  ];
  for (const scenario of scenarios) {
    const cells = impls.map((impl) => {
      const r = results.find((x) => x.scenario === scenario && x.impl === impl);
      return r ? formatValue(r) : '';
    });
    lines.push(`| ${scenario} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const objects = Number(argValue('--objects') ?? 100_000);
  const only = argValue('--only')?.split(',');
  const wall = process.argv.includes('--wall');
  const results = await runStoreBench({
    objects,
    quick: process.argv.includes('--quick'),
    only,
    clock: wall ? 'wall' : 'cpu',
  });
  console.log(storeBenchTable(results, objects));
}
