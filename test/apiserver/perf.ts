/**
 * Throughput of the embedded API server (a measurement, not a test):
 *
 *   npx tsc -b && node test/apiserver/perf.ts [objects=100000]
 *
 * The server runs in a child process and this process is the client, so the figures are the
 * server's (plus the loopback), not the client's JSON work. Prints the load time, LIST MB/s
 * (unpaged and paged, bytes read without parsing) and WATCH events/s (initial synthetic events,
 * live updates to 1 and 10 watchers). Numbers on a shared or busy machine vary a lot: compare
 * runs on the same idle machine.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? 100_000);

type Msg =
  | { type: 'ready'; url: string; loadMs: number; rv: string }
  | { type: 'updated'; ms: number }
  | { type: 'rv'; rv: string };

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

async function serve(): Promise<void> {
  const { startApiServer } = await import('@kubecache/apiserver');
  const server = await startApiServer({ bookmarkIntervalMs: 0, historySize: N * 3 });
  const t = performance.now();
  for (let i = 0; i < N; i++) server.create(configMap(i));
  const loadMs = performance.now() - t;
  process.send!({
    type: 'ready',
    url: server.url,
    loadMs,
    rv: server.resourceVersion(),
  } satisfies Msg);
  let round = 0;
  process.on('message', (m: { type: string }) => {
    if (m.type === 'rv') process.send!({ type: 'rv', rv: server.resourceVersion() } satisfies Msg);
    if (m.type !== 'update') return;
    round++;
    const start = performance.now();
    let i = 0;
    // Writes in batches between event-loop turns, as a busy controller's would arrive.
    const batch = (): void => {
      const end = Math.min(N, i + 5000);
      for (; i < end; i++) {
        server.patch(
          { apiVersion: 'v1', kind: 'ConfigMap', namespace: `ns-${i % 10}`, name: `cm-${i}` },
          { data: { key: `v${round}-${i}` } },
        );
      }
      if (i < N) setImmediate(batch);
      else process.send!({ type: 'updated', ms: performance.now() - start } satisfies Msg);
    };
    batch();
  });
}

function next(child: ChildProcess, type: Msg['type']): Promise<Msg> {
  return new Promise((resolve) => {
    const on = (m: Msg): void => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
  });
}

async function timedList(url: string, path: string): Promise<{ ms: number; bytes: number }> {
  const start = performance.now();
  let bytes = 0;
  let cont = '';
  do {
    const res = await fetch(url + path + (cont !== '' ? `&continue=${cont}` : ''));
    const buf = Buffer.from(await res.arrayBuffer());
    bytes += buf.byteLength;
    cont = /"continue":"([^"]+)"/.exec(buf.subarray(0, 2000).toString('utf8'))?.[1] ?? '';
  } while (cont !== '');
  return { ms: performance.now() - start, bytes };
}

async function countEvents(
  url: string,
  path: string,
  expected: number,
  watchers: number,
  produce: () => void,
): Promise<{ ms: number; bytes: number }> {
  const controllers = [...Array(watchers).keys()].map(() => new AbortController());
  const responses = await Promise.all(
    controllers.map((c) => fetch(url + path, { signal: c.signal })),
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

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), [String(N), '--serve'], { stdio: 'inherit' });
  try {
    const ready = (await next(child, 'ready')) as Extract<Msg, { type: 'ready' }>;
    const url = ready.url;
    console.log(
      `load: ${N} objects in ${ready.loadMs.toFixed(0)} ms (${((N / ready.loadMs) * 1000).toFixed(0)} creates/s, in-process helpers)`,
    );
    const mbps = (bytes: number, ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(0);
    for (let round = 0; round < 3; round++) {
      const full = await timedList(url, '/api/v1/configmaps?x=1');
      console.log(
        `list unpaged: ${N} items, ${(full.bytes / 1e6).toFixed(1)} MB in ${full.ms.toFixed(0)} ms = ${mbps(full.bytes, full.ms)} MB/s`,
      );
    }
    const paged = await timedList(url, '/api/v1/configmaps?limit=500');
    console.log(
      `list paged (limit 500): ${(paged.bytes / 1e6).toFixed(1)} MB in ${paged.ms.toFixed(0)} ms = ${mbps(paged.bytes, paged.ms)} MB/s`,
    );
    const initial = await countEvents(url, '/api/v1/configmaps?watch=true', N, 1, () => {});
    console.log(
      `watch initial events: ${N} in ${initial.ms.toFixed(0)} ms = ${((N / initial.ms) * 1000).toFixed(0)} events/s (${mbps(initial.bytes, initial.ms)} MB/s)`,
    );
    for (const watchers of [1, 10]) {
      child.send({ type: 'rv' });
      const { rv } = (await next(child, 'rv')) as Extract<Msg, { type: 'rv' }>;
      let writeMs = 0;
      const live = await countEvents(
        url,
        `/api/v1/configmaps?watch=true&resourceVersion=${rv}`,
        N,
        watchers,
        () => {
          child.send({ type: 'update' });
          void next(child, 'updated').then(
            (m) => (writeMs = (m as Extract<Msg, { type: 'updated' }>).ms),
          );
        },
      );
      console.log(
        `watch live updates to ${watchers} watcher(s): ${N * watchers} events delivered in ${live.ms.toFixed(0)} ms = ${(((N * watchers) / live.ms) * 1000).toFixed(0)} events/s (server wrote ${N} patches in ${writeMs.toFixed(0)} ms)`,
      );
    }
  } finally {
    child.kill();
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
