// Peak heap during a relist (410 Expired -> LIST -> replace), in a fresh process: sync a kubecache
// informer, take the steady heap after full GCs, wait for the replay server to expire the watch,
// and sample the live heap (a full GC before each sample: every `sampleMs`, and from the transform
// every page of objects) until the relist is stored. Prints one JSON line. Started by
// `scenarios.ts` with `--expose-gc`.
import { type KubeObject, SharedIndexInformer } from '@kubecache/cache';
import { KubeListerWatcher } from '@kubecache/client';
import { settle } from './measure.ts';
import { kubeConfigFor } from './source.ts';

/** The job of one relist child (passed as JSON in argv[2]). */
export interface RelistJob {
  url: string;
  resource: 'configmaps' | 'pods';
  count: number;
  /** LIST page size; 0 lists in one request (the relist then replaces in one step). */
  pageSize: number;
  sampleMs: number;
}

/** What a relist child prints. */
export interface RelistReport {
  steadyMiB: number;
  peakMiB: number;
  afterMiB: number;
  samples: number;
  relistMs: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as RelistJob;
const gc = (globalThis as { gc?: () => void }).gc!;
let peak = 0;
let samples = 0;
let relistStart = 0;
function sample(): void {
  gc();
  samples++;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
}

// The transform sees every listed object just before it is stored: sampling there (every
// `sampleEvery` objects and at the last one of a list) catches the peak of a replace done in one
// synchronous step, which a timer never sees.
let relisting = false;
let transformed = 0;
const sampleEvery = job.pageSize > 0 ? job.pageSize : 10_000;
const informer = new SharedIndexInformer<KubeObject>({
  listerWatcher: new KubeListerWatcher<KubeObject>(kubeConfigFor(job.url), {
    resource: { group: '', version: 'v1', resource: job.resource },
  }),
  reflector: { pageSize: job.pageSize },
  transform: (obj) => {
    if (relisting && ++transformed % sampleEvery === 0) sample();
    return obj;
  },
});
let relisted!: () => void;
const relist = new Promise<void>((resolve) => (relisted = resolve));
informer.observe({
  listed: (info) => {
    if (info.relist) relisted();
  },
});
const ac = new AbortController();
const running = informer.run(ac.signal);
await informer.waitForSync();
while (!informer.health().watching) await new Promise((resolve) => setTimeout(resolve, 10));
await settle();
const steady = process.memoryUsage().heapUsed;
relisting = true;
peak = steady;
// Sample from the moment the watch is cut (the replay server expires it) until the relist ends.
const timer = setInterval(() => {
  if (!informer.health().watching) {
    if (relistStart === 0) relistStart = performance.now();
    sample();
  }
}, job.sampleMs);
await relist;
clearInterval(timer);
const relistMs = relistStart === 0 ? 0 : performance.now() - relistStart;
sample();
await settle();
const after = process.memoryUsage().heapUsed;
if (informer.getStore().size !== job.count) throw new Error(`cached ${informer.getStore().size}`);
const MiB = 2 ** 20;
const report: RelistReport = {
  steadyMiB: steady / MiB,
  peakMiB: peak / MiB,
  afterMiB: after / MiB,
  samples,
  relistMs,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
ac.abort();
await running;
process.exit(0);
