/**
 * Throughput of the embedded API server (a measurement, not a test):
 *   npx tsc -b && node test/apiserver/perf.ts [objects=100000]
 * Prints load time, LIST MB/s (unpaged and paged) and WATCH events/s (initial synthetic events and
 * live updates), each measured by a plain fetch client reading the whole response.
 */
import { startApiServer } from '@kubecache/apiserver';

const N = Number(process.argv[2] ?? 100_000);
const server = await startApiServer({ bookmarkIntervalMs: 0, historySize: N * 2 });

function configMap(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `cm-${i}`,
      namespace: `ns-${i % 10}`,
      labels: { app: `app-${i % 100}`, tier: i % 2 === 0 ? 'front' : 'back' },
    },
    data: { key: `value-${i}`, config: 'x'.repeat(200) },
  };
}

const t = performance.now();
for (let i = 0; i < N; i++) server.create(configMap(i));
const loadMs = performance.now() - t;
console.log(
  `load: ${N} objects in ${loadMs.toFixed(0)} ms (${((N / loadMs) * 1000).toFixed(0)} creates/s)`,
);

async function timedList(path: string): Promise<{ ms: number; bytes: number; items: number }> {
  const start = performance.now();
  let bytes = 0;
  let items = 0;
  let cont = '';
  do {
    const res = await fetch(server.url + path + (cont !== '' ? `&continue=${cont}` : ''));
    // Count bytes only: parsing 45 MB in this same process would measure the client, not the server.
    const buf = Buffer.from(await res.arrayBuffer());
    bytes += buf.byteLength;
    const head = buf.subarray(0, 2000).toString('utf8');
    cont = /"continue":"([^"]+)"/.exec(head)?.[1] ?? '';
    items += path.includes('limit=') ? Number(/limit=(\d+)/.exec(path)![1]) : N;
  } while (cont !== '');
  return { ms: performance.now() - start, bytes, items };
}

for (let round = 0; round < 2; round++) {
  const full = await timedList('/api/v1/configmaps?x=1');
  console.log(
    `list unpaged: ${full.items} items, ${(full.bytes / 1e6).toFixed(1)} MB in ${full.ms.toFixed(0)} ms = ${(full.bytes / 1e6 / (full.ms / 1000)).toFixed(0)} MB/s (bytes read by a fetch client in the same process)`,
  );
}
const paged = await timedList('/api/v1/configmaps?limit=500');
console.log(
  `list paged (500): ${Math.min(paged.items, N)} items in ${paged.ms.toFixed(0)} ms = ${(paged.bytes / 1e6 / (paged.ms / 1000)).toFixed(0)} MB/s`,
);

async function countEvents(
  path: string,
  expected: number,
  produce: () => void,
  watchers = 1,
): Promise<{ ms: number; bytes: number }> {
  const controllers = [...Array(watchers).keys()].map(() => new AbortController());
  const responses = await Promise.all(
    controllers.map((c) => fetch(server.url + path, { signal: c.signal })),
  );
  const start = performance.now();
  produce();
  let bytes = 0;
  await Promise.all(
    responses.map(async (res) => {
      let lines = 0;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
        if (lines >= expected) break;
      }
    }),
  );
  const ms = performance.now() - start;
  for (const c of controllers) c.abort();
  return { ms, bytes };
}

const initial = await countEvents('/api/v1/configmaps?watch=true', N, () => {});
console.log(
  `watch initial events: ${N} in ${initial.ms.toFixed(0)} ms = ${((N / initial.ms) * 1000).toFixed(0)} events/s (${(initial.bytes / 1e6 / (initial.ms / 1000)).toFixed(0)} MB/s)`,
);

const updates = N;
// Pre-build the updated objects so the measurement is the server's write + fan-out path.
const next = [...Array(updates).keys()].map((i) =>
  server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: `ns-${i % 10}`, name: `cm-${i}` })!,
);
let round = 0;
for (const watchers of [1, 10]) {
  round++;
  const live = await countEvents(
    `/api/v1/configmaps?watch=true&resourceVersion=${server.resourceVersion()}`,
    updates,
    () => {
      // Writes happen in batches between event-loop turns, as a busy controller's would.
      let i = 0;
      const batch = (): void => {
        const end = Math.min(updates, i + 5000);
        for (; i < end; i++) {
          const obj = next[i]!;
          server.update({
            ...obj,
            metadata: { ...obj.metadata, resourceVersion: undefined },
            data: { key: `v${round}-${i}` },
          } as typeof obj);
        }
        if (i < updates) setImmediate(batch);
      };
      batch();
    },
    watchers,
  );
  console.log(
    `watch live updates: ${updates} updates x ${watchers} watcher(s) in ${live.ms.toFixed(0)} ms = ${(((updates * watchers) / live.ms) * 1000).toFixed(0)} delivered events/s, ${((updates / live.ms) * 1000).toFixed(0)} writes/s`,
  );
}

await server.close();
