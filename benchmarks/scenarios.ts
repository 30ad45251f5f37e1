// The six benchmark scenarios of the suite. Each returns its figures as `Result`s; `run.ts`
// turns them into the table, the chart and the JSON.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fanout, fanoutData } from './fanout.ts';
import type { FixtureKind } from './fixtures.ts';
import type { HeapJob, HeapReport } from './heap-child.ts';
import type { RelistJob, RelistReport } from './relist-child.ts';
import { type Adapter, adapters, type Impl, type SyncRequest } from './impls.ts';
import { median, progress, type Result, settle } from './measure.ts';
import {
  floorQueueCycles,
  pQueueLatency,
  pQueueTasks,
  queueCycles,
  reconcileLatency,
  runnerTasks,
} from './workqueue.ts';
import type { Source } from './source.ts';

/** Settings shared by every scenario. */
export interface ScenarioContext {
  /** The replay server (scenarios 2, 3, 6). */
  source: Source;
  /** The server of the initial-sync scenario (the embedded API server when available). */
  syncSource: Source;
  quick: boolean;
  /** Overrides every scenario's repeat count. */
  repeats?: number;
}

/** A scenario of the suite. */
export interface Scenario {
  /** 1..6, also the prefix of its result names. */
  id: number;
  /** Short name for `--only`. */
  name: string;
  run(ctx: ScenarioContext): Promise<Result[]>;
}

function k(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);
}

const KIND_NAME: Record<FixtureKind, string> = { configmaps: 'ConfigMaps', pods: 'Pods' };

function repeatsOf(ctx: ScenarioContext, full: number): number {
  return ctx.repeats ?? (ctx.quick ? 1 : full);
}

// 1 ---------------------------------------------------------------------------------------------

async function syncScenario(ctx: ScenarioContext): Promise<Result[]> {
  const sizes: { resource: FixtureKind; count: number; repeats: number; warmup: boolean }[] =
    ctx.quick
      ? [
          { resource: 'configmaps', count: 1000, repeats: 1, warmup: false },
          { resource: 'pods', count: 500, repeats: 1, warmup: false },
        ]
      : [
          { resource: 'configmaps', count: 10_000, repeats: 5, warmup: true },
          { resource: 'configmaps', count: 100_000, repeats: 3, warmup: false },
          { resource: 'pods', count: 10_000, repeats: 5, warmup: true },
          ...(process.env.KUBECACHE_BENCH_SKIP_100K_PODS
            ? []
            : [{ resource: 'pods' as const, count: 100_000, repeats: 3, warmup: false }]),
        ];
  const results: Result[] = [];
  const list = adapters();
  for (const size of sizes) {
    const scenario = `1 sync: ${k(size.count)} ${KIND_NAME[size.resource]}`;
    progress(`${scenario}: loading data set`);
    const src = ctx.syncSource;
    const info = await src.load({ resource: size.resource, count: size.count });
    progress(
      `${scenario}: ${(info.listBytes / 2 ** 20).toFixed(0)} MiB of items, served by the ${src.kind} server (${src.mode})`,
    );
    const req: SyncRequest = { url: src.url, resource: size.resource, count: size.count };
    const times = new Map<Impl, number[]>(list.map((a) => [a.impl, []]));
    const rounds = repeatsOf(ctx, size.repeats) + (size.warmup && !ctx.quick ? 1 : 0);
    for (let r = 0; r < rounds; r++) {
      const counted = !(size.warmup && !ctx.quick && r === 0);
      // Interleaved: A B C A B C ..., each on a clean heap.
      for (const a of list) {
        await settle();
        const synced = await a.sync(req);
        await synced.stop();
        if (synced.size() !== size.count)
          throw new Error(`${a.impl} cached ${synced.size()} of ${size.count}`);
        if (counted) times.get(a.impl)?.push(synced.elapsedMs);
        progress(
          `${scenario}: ${a.impl} ${counted ? `repeat ${r + 1}` : 'warm-up'}: ${synced.elapsedMs.toFixed(0)} ms`,
        );
      }
    }
    for (const a of list)
      results.push({
        scenario,
        impl: a.impl,
        metric: 'time to synced',
        value: median(times.get(a.impl) ?? []),
        unit: 'ms',
      });
    await src.unload(size.resource);
  }
  return results;
}

// 2 ---------------------------------------------------------------------------------------------

/**
 * The physical limit of a watch: `JSON.parse` of the very event lines the server sends, already
 * in memory as strings (no socket, no UTF-8 decoding, no store). Events per second, median of 3.
 */
async function parseLimit(url: string, resource: FixtureKind, count: number, events: number) {
  const res = await fetch(`${url}/api/v1/${resource}?watch=1&resourceVersion=${count}`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let lines = 0;
  while (lines < events) {
    const { value, done } = await reader.read();
    if (done) break;
    const chunk = decoder.decode(value, { stream: true });
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) lines++;
    text += chunk;
  }
  await reader.cancel();
  const strings = text.split('\n').slice(0, events);
  const rates: number[] = [];
  for (let r = 0; r < 3; r++) {
    await settle();
    const start = performance.now();
    for (let i = 0; i < strings.length; i++) JSON.parse(strings[i]!);
    rates.push(strings.length / ((performance.now() - start) / 1000));
  }
  return median(rates);
}

async function watchScenario(ctx: ScenarioContext): Promise<Result[]> {
  const results: Result[] = [];
  const cases = [
    {
      resource: 'configmaps',
      noun: 'ConfigMaps',
      count: 10_000,
      events: 100_000,
      handlers: [1, 100],
    },
    { resource: 'pods', noun: 'Pods', count: 5_000, events: 20_000, handlers: [1] },
  ] as const;
  for (const c of cases) {
    const count = ctx.quick ? 200 : c.count;
    const events = ctx.quick ? 600 : c.events;
    progress(`2 watch: ${k(events)} MODIFIED ${c.noun}: loading data set`);
    await ctx.source.load({ resource: c.resource, count, events });
    const limit = await parseLimit(ctx.source.url, c.resource, count, events);
    progress(
      `2 watch: ${c.noun}: JSON.parse of the same lines from memory: ${Math.round(limit)} events/s`,
    );
    results.push({
      scenario: `2 watch: ${k(events)} MODIFIED ${c.noun}, JSON.parse of the lines from memory (reference)`,
      impl: 'floor',
      metric: 'throughput',
      value: limit,
      unit: 'events/s',
    });
    for (const handlers of c.handlers) {
      const scenario = `2 watch: ${k(events)} MODIFIED ${c.noun}, ${handlers} handler${handlers > 1 ? 's' : ''}`;
      const list = adapters();
      const rates = new Map<Impl, number[]>(list.map((a) => [a.impl, []]));
      // Round 0 warms the JIT up (the first pass through a decoder runs unoptimized code) and is
      // not counted.
      const rounds = repeatsOf(ctx, 3) + (ctx.quick ? 0 : 1);
      for (let r = 0; r < rounds; r++) {
        const counted = ctx.quick || r > 0;
        for (const a of list) {
          await settle();
          const w = await a.watch({
            url: ctx.source.url,
            resource: c.resource,
            count,
            events,
            handlers,
          });
          const rate = w.deliveries / (w.elapsedMs / 1000);
          if (counted) rates.get(a.impl)?.push(rate);
          progress(
            `${scenario}: ${a.impl} ${counted ? `repeat ${r + 1}` : 'warm-up'}: ${Math.round(rate)} ${handlers > 1 ? 'deliveries' : 'events'}/s`,
          );
        }
      }
      for (const a of list)
        results.push({
          scenario,
          impl: a.impl,
          metric: 'throughput',
          value: median(rates.get(a.impl) ?? []),
          unit: handlers > 1 ? 'deliveries/s' : 'events/s',
        });
    }
    await ctx.source.unload(c.resource);
  }
  return results;
}

// 3 and 6: child processes ----------------------------------------------------------------------

async function heapChild(job: HeapJob, maxOldSpaceMiB: number): Promise<HeapReport[]> {
  const script = fileURLToPath(new URL('./heap-child.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--expose-gc', `--max-old-space-size=${maxOldSpaceMiB}`, script, JSON.stringify(job)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const reports = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as HeapReport);
  if (code !== 0 || reports.length !== job.variants.length)
    throw new Error(`heap child ${job.impl} failed (exit ${code}): ${out}`);
  return reports;
}

async function heapScenario(ctx: ScenarioContext): Promise<Result[]> {
  const results: Result[] = [];
  for (const [resource, count, noun] of [
    ['pods', ctx.quick ? 500 : 50_000, 'Pods'],
    ['configmaps', ctx.quick ? 500 : 100_000, 'ConfigMaps'],
  ] as const) {
    results.push(...(await heapOf(ctx, resource, count, noun)));
  }
  return results;
}

async function heapOf(
  ctx: ScenarioContext,
  resource: 'pods' | 'configmaps',
  count: number,
  noun: string,
): Promise<Result[]> {
  const base = `3 heap: ${k(count)} ${noun}`;
  progress(`${base}: loading data set`);
  await ctx.source.load({ resource, count, views: 'both' });
  const variants: { name: string; impls: Impl[]; job: HeapJob['variants'][number] }[] = [
    { name: 'full objects', impls: ['kubecache', 'client-node', 'floor'], job: {} },
    {
      name: 'full objects, strings interned',
      impls: ['kubecache'],
      job: { internStrings: true },
    },
    {
      name: 'managedFields stripped',
      impls: ['kubecache', 'floor'],
      job: { stripManagedFields: true },
    },
    { name: 'metadata-only', impls: ['kubecache', 'floor'], job: { metadataOnly: true } },
  ];
  const samples = new Map<string, number[]>();
  const impls: Impl[] = ['kubecache', 'client-node', 'floor'];
  for (let r = 0; r < repeatsOf(ctx, 1); r++) {
    // One child per implementation measures its variants one after the other.
    for (const impl of impls) {
      const mine = variants.filter((v) => v.impls.includes(impl));
      const reports = await heapChild(
        {
          impl,
          url: ctx.source.url,
          resource,
          count,
          variants: mine.map((v) => v.job),
          warmup: !ctx.quick,
        },
        4096,
      );
      for (const report of reports) {
        const v = mine[report.variant];
        const key = `${v.name}\u0000${impl}`;
        samples.set(key, [...(samples.get(key) ?? []), report.bytesPerObject]);
        progress(`${base}, ${v.name}: ${impl}: ${Math.round(report.bytesPerObject)} bytes/object`);
      }
    }
  }
  const results: Result[] = [];
  for (const v of variants)
    for (const impl of v.impls) {
      const xs = samples.get(`${v.name}\u0000${impl}`);
      if (xs)
        results.push({
          scenario: `${base}, ${v.name}`,
          impl,
          metric: 'retained heap per object',
          value: median(xs),
          unit: 'bytes',
        });
    }
  await ctx.source.unload(resource);
  return results;
}

// 8 ---------------------------------------------------------------------------------------------

async function relistChild(job: RelistJob): Promise<RelistReport> {
  const script = fileURLToPath(new URL('./relist-child.ts', import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', script, JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || line === undefined)
    throw new Error(`relist child failed (exit ${code}): ${out}`);
  return JSON.parse(line) as RelistReport;
}

async function relistScenario(ctx: ScenarioContext): Promise<Result[]> {
  const count = ctx.quick ? 2000 : 100_000;
  progress(`8 relist: ${k(count)} ConfigMaps: loading data set`);
  // Every resumed watch is expired after a while: long enough to sync and settle first.
  await ctx.source.load({
    resource: 'configmaps',
    count,
    expireWatchesAfterMs: ctx.quick ? 1500 : 6000,
  });
  const results: Result[] = [];
  for (const [pageSize, how] of [
    [500, 'paged (500), applied page by page'],
    [0, 'one LIST, replaced at once'],
  ] as const) {
    const scenario = `8 relist: ${k(count)} ConfigMaps (410 -> LIST -> replace), ${how}`;
    const peaks: number[] = [];
    for (let r = 0; r < repeatsOf(ctx, 1); r++) {
      const report = await relistChild({
        url: ctx.source.url,
        resource: 'configmaps',
        count,
        pageSize,
        sampleMs: ctx.quick ? 5 : 100,
      });
      peaks.push(report.peakMiB / report.steadyMiB);
      progress(
        `${scenario}: steady ${report.steadyMiB.toFixed(0)} MiB, peak ${report.peakMiB.toFixed(0)} MiB ` +
          `(${report.samples} samples over ${Math.round(report.relistMs)} ms), after ${report.afterMiB.toFixed(0)} MiB`,
      );
    }
    results.push({
      scenario,
      impl: 'kubecache',
      metric: 'peak live heap / steady heap',
      value: median(peaks),
      unit: 'ratio',
    });
  }
  await ctx.source.unload('configmaps');
  return results;
}

async function millionScenario(ctx: ScenarioContext): Promise<Result[]> {
  const count = ctx.quick ? 10_000 : 1_000_000;
  progress(`6: ${k(count)} ConfigMaps: loading data set (this takes a while at 1M)`);
  await ctx.source.load({ resource: 'configmaps', count, views: 'both' });
  const results: Result[] = [];
  // A 1M-object list body is ~1 GB: more than any JS string holds, so the floor pages.
  const floorPageSize = count > 100_000 ? 10_000 : 0;
  const variants: { name: string; impls: Impl[]; job: HeapJob['variants'][number] }[] = [
    {
      name: 'metadata-only',
      impls: ['kubecache', 'client-node', 'floor'],
      job: { metadataOnly: true, floorPageSize },
    },
    {
      name: 'full objects, managedFields stripped',
      impls: ['kubecache', 'floor'],
      job: { stripManagedFields: true, floorPageSize },
    },
  ];
  for (const v of variants) {
    const scenario = `6 ${v.name}: ${k(count)} ConfigMaps`;
    for (const impl of v.impls) {
      let report: HeapReport;
      try {
        [report] = await heapChild(
          {
            impl,
            url: ctx.source.url,
            resource: 'configmaps',
            count,
            variants: [v.job],
            warmup: false,
          },
          12_288,
        );
      } catch (error) {
        // client-node lists in one request; past V8's string limit it cannot sync at all.
        const note = `${scenario}: ${impl} failed: ${String(error).split('\n')[0].slice(0, 200)}`;
        progress(note);
        SCENARIO_NOTES.push(note);
        continue;
      }
      progress(
        `${scenario}: ${impl}: synced in ${report.syncMs.toFixed(0)} ms, ${Math.round(report.bytesPerObject)} bytes/object, heap ${report.heapUsedMiB.toFixed(0)} MiB`,
      );
      results.push(
        { scenario, impl, metric: 'time to synced', value: report.syncMs, unit: 'ms' },
        {
          scenario,
          impl,
          metric: 'retained heap per object',
          value: report.bytesPerObject,
          unit: 'bytes',
        },
        {
          scenario,
          impl,
          metric: 'retained heap',
          value: (report.bytesPerObject * report.objects) / 2 ** 20,
          unit: 'MiB',
        },
      );
    }
  }
  await ctx.source.unload('configmaps');
  return results;
}

// 4 ---------------------------------------------------------------------------------------------

async function fanoutScenario(ctx: ScenarioContext): Promise<Result[]> {
  const count = ctx.quick ? 1000 : 10_000;
  const events = ctx.quick ? 2000 : 50_000;
  const data = fanoutData(count, events);
  const list: Impl[] = adapters().map((a: Adapter) => a.impl);
  const results: Result[] = [];
  if (!ctx.quick) {
    // Warm-up, not counted: the first pass through each pipeline runs unoptimized code.
    for (const impl of list) await fanout(impl, data, 1);
  }
  for (const handlers of [1, 10, 100]) {
    const scenario = `4 fan-out: ${handlers} handler${handlers > 1 ? 's' : ''}, ${k(events)} events (in memory)`;
    const rates = new Map<Impl, number[]>(list.map((i) => [i, []]));
    for (let r = 0; r < repeatsOf(ctx, 3); r++) {
      for (const impl of list) {
        await settle();
        const rate = await fanout(impl, data, handlers);
        rates.get(impl)?.push(rate);
        progress(`${scenario}: ${impl} repeat ${r + 1}: ${Math.round(rate)} deliveries/s`);
      }
    }
    for (const impl of list)
      results.push({
        scenario,
        impl,
        metric: 'deliveries',
        value: median(rates.get(impl) ?? []),
        unit: 'deliveries/s',
      });
  }
  return results;
}

// 5 ---------------------------------------------------------------------------------------------

async function storeScenario(ctx: ScenarioContext): Promise<Result[]> {
  const objects = ctx.quick ? 2000 : 100_000;
  progress(`5 store: ${k(objects)} objects (runStoreBench)`);
  const { runStoreBench } = await import('./store.bench.ts');
  // Quick runs time with the wall clock: at 2k objects a timed loop can be shorter than the
  // thread CPU clock's granularity, which would read as 0 ms (an infinite rate).
  const results = await runStoreBench({
    objects,
    quick: ctx.quick,
    clock: ctx.quick ? 'wall' : 'cpu',
  });
  return results.map((r) => ({ ...r, scenario: `5 store ${k(objects)}: ${r.scenario}` }));
}

// 7 ---------------------------------------------------------------------------------------------

async function workqueueScenario(ctx: ScenarioContext): Promise<Result[]> {
  const cycles = ctx.quick ? 20_000 : 1_000_000;
  const tasks = ctx.quick ? 5_000 : 200_000;
  const events = ctx.quick ? 300 : 3_000;
  const repeats = repeatsOf(ctx, 5);
  const results: Result[] = [];
  /** Runs each implementation interleaved; each run yields one figure per scenario name. */
  const measure = async (
    scenarios: readonly string[],
    metric: string,
    unit: string,
    impls: readonly (readonly [Impl, () => Promise<readonly number[]>])[],
  ): Promise<void> => {
    const samples = new Map<string, number[]>();
    // One uncounted warm-up round first (the JIT), except in quick runs.
    for (let r = ctx.quick ? 1 : 0; r <= repeats; r++) {
      for (const [impl, run] of impls) {
        await settle();
        const values = await run();
        scenarios.forEach((scenario, i) => {
          const v = values[i] ?? NaN;
          if (r > 0)
            samples.set(`${scenario}\u0000${impl}`, [
              ...(samples.get(`${scenario}\u0000${impl}`) ?? []),
              v,
            ]);
          progress(
            `${scenario}: ${impl} ${r === 0 ? 'warm-up' : `repeat ${r}`}: ${v.toFixed(3)} ${unit}`,
          );
        });
      }
    }
    for (const scenario of scenarios)
      for (const [impl] of impls)
        results.push({
          scenario,
          impl,
          metric,
          value: median(samples.get(`${scenario}\u0000${impl}`) ?? []),
          unit,
        });
  };
  await measure([`7 workqueue: add/get/done, ${k(cycles)} cycles`], 'cycles', 'cycles/s', [
    ['kubecache', async () => [await queueCycles(cycles)]],
    ['floor', async () => [await floorQueueCycles(cycles)]],
  ]);
  for (const workers of [1, 8]) {
    await measure(
      [
        `7 workqueue: runner, ${workers} worker${workers > 1 ? 's' : ''}, ${k(tasks)} empty reconciles`,
      ],
      'reconciles',
      'tasks/s',
      [
        ['kubecache', async () => [await runnerTasks(tasks, workers)]],
        ['floor', async () => [await pQueueTasks(tasks, workers)]],
      ],
    );
  }
  await measure(
    ['p50', 'p99'].map((q) => `7 workqueue: event to reconcile start at 1k events/s, ${q}`),
    'latency',
    'ms',
    [
      ['kubecache', () => reconcileLatency(events, 1000)],
      ['floor', () => pQueueLatency(events, 1000)],
    ],
  );
  return results;
}

/** Remarks collected while running (failures that are results in themselves), for the report. */
export const SCENARIO_NOTES: string[] = [];

/** All scenarios, in run order. */
export const SCENARIOS: readonly Scenario[] = [
  { id: 1, name: 'sync', run: syncScenario },
  { id: 2, name: 'watch', run: watchScenario },
  { id: 3, name: 'heap', run: heapScenario },
  { id: 4, name: 'fanout', run: fanoutScenario },
  { id: 5, name: 'store', run: storeScenario },
  { id: 6, name: 'million', run: millionScenario },
  { id: 7, name: 'workqueue', run: workqueueScenario },
  { id: 8, name: 'relist', run: relistScenario },
];
