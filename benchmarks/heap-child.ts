// Retained-heap measurement of one implementation, in a fresh process so nothing else lives on
// its heap: sync once to warm the code up, drop that cache, collect, take the baseline, sync
// again (timed), collect, and report (heapUsed after - before) / objects while the cache is
// still alive. Started by `run.ts` with `--expose-gc`; prints one JSON line on stdout.
import { adapterOf, type Impl, type SyncRequest } from './impls.ts';
import { settle } from './measure.ts';

/** The job of one heap child (passed as JSON in argv[2]). */
export interface HeapJob extends SyncRequest {
  impl: Impl;
  /** Skip the warm-up sync (for the largest data sets, where it would double the run time). */
  noWarmup?: boolean;
}

/** What a heap child prints. */
export interface HeapReport {
  syncMs: number;
  bytesPerObject: number;
  objects: number;
  heapUsedMiB: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as HeapJob;
const adapter = adapterOf(job.impl);
if (!job.noWarmup) {
  const warm = await adapter.sync(job);
  await warm.stop();
}
await settle();
const before = process.memoryUsage().heapUsed;
const synced = await adapter.sync(job);
await settle();
const after = process.memoryUsage().heapUsed;
const objects = synced.size();
const report: HeapReport = {
  syncMs: synced.elapsedMs,
  bytesPerObject: (after - before) / objects,
  objects,
  heapUsedMiB: after / 2 ** 20,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
await synced.stop();
process.exit(0);
