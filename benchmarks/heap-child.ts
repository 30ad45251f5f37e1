// Retained-heap measurement of one implementation, in a fresh process so nothing else lives on
// its heap: sync once to warm the code up, drop that cache, then for each variant collect, take
// the baseline, sync (timed), collect, and report (heapUsed after - before) / objects while the
// cache is still alive; stop and drop it before the next variant. Started by `scenarios.ts` with
// `--expose-gc`; prints one JSON line per variant on stdout.
import { adapterOf, type Impl, type SyncRequest } from './impls.ts';
import { settle } from './measure.ts';

/** The job of one heap child (passed as JSON in argv[2]). */
export interface HeapJob {
  impl: Impl;
  url: string;
  resource: SyncRequest['resource'];
  count: number;
  /** Measured one after the other, each from its own baseline. */
  variants: Pick<
    SyncRequest,
    'metadataOnly' | 'stripManagedFields' | 'internStrings' | 'floorPageSize'
  >[];
  /** Sync once before measuring, to compile the hot code first. */
  warmup: boolean;
}

/** What a heap child prints, one line per variant. */
export interface HeapReport {
  variant: number;
  syncMs: number;
  bytesPerObject: number;
  objects: number;
  heapUsedMiB: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as HeapJob;
const adapter = adapterOf(job.impl);
const base = { url: job.url, resource: job.resource, count: job.count };
if (job.warmup) {
  const warm = await adapter.sync({ ...base, ...job.variants[0] });
  await warm.stop();
}
/** Measures one variant; its cache becomes garbage when this returns. */
async function measure(v: number): Promise<HeapReport> {
  await settle();
  const before = process.memoryUsage().heapUsed;
  const synced = await adapter.sync({ ...base, ...job.variants[v] });
  await settle();
  const after = process.memoryUsage().heapUsed;
  const objects = synced.size();
  await synced.stop();
  return {
    variant: v,
    syncMs: synced.elapsedMs,
    bytesPerObject: (after - before) / objects,
    objects,
    heapUsedMiB: after / 2 ** 20,
  };
}

try {
  for (let v = 0; v < job.variants.length; v++) {
    process.stdout.write(`${JSON.stringify(await measure(v))}\n`);
  }
} catch (error) {
  process.stdout.write(`${String(error)}\n`);
  process.exit(1);
}
process.exit(0);
