// Sharding figures (npm run bench:sharding): N replicas × M ConfigMaps (~1 KB each,
// benchmarks/fixtures.ts) on the embedded API server, each replica an informer in a process of its
// own, in three modes:
//
//   server   the API server applies shardSelector (KEP-5866): each replica lists and watches its
//            shard only
//   client   the API server ignores it (an older server): each replica receives everything and
//            keeps its shard (KubeListerWatcher filters with the same hash)
//   none     no sharding: every replica caches everything
//
// Per replica: objects cached, heap held by the cache (heapUsed after sync minus before, after
// full GCs), how far the process's peak RSS rose over its RSS before the sync (the transient peak
// of parsing a whole LIST), bytes of its LIST, bytes its watch received while the parent patched
// K random objects, and CPU time for the sync and for the churn. Also how evenly uid and namespace
// hashing split the objects (the fixtures' namespaces are team-00 … team-49).
//
//   npm run bench:sharding -- [--replicas 4] [--objects 20000] [--churn 10000] [--seed 1]
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startApiServer } from '@kubecache/apiserver';
import {
  formatShardSelector,
  matchesShard,
  seededRandom,
  shardSelectorFor,
  SharedIndexInformer,
  silentLogger,
  type KubeObject,
  type ListerWatcher,
  type ListOptions,
  type ListPage,
  type WatchEvent,
  type WatchOptions,
} from '@kubecache/cache';
import { KubeListerWatcher } from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';
import { makeObject } from './fixtures.ts';

type Mode = 'server' | 'client' | 'none';

/** Parent → replica. */
type ToReplica =
  | { op: 'sync'; kubeconfigYaml: string; selector: string | undefined }
  | { op: 'expect'; events: number };
/** Replica → parent. */
type FromReplica =
  | { op: 'ready' }
  | {
      op: 'synced';
      cached: number;
      heapBytes: number;
      /** Peak resident set size during the sync over the process's before it (the transient peak). */
      peakRssBytes: number;
      cpuMs: number;
      serverSide: boolean | undefined;
    }
  | { op: 'churned'; watchBytes: number; events: number; cpuMs: number };

const gc = (globalThis as { gc?: () => void }).gc;

async function collect(): Promise<void> {
  if (gc === undefined) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

/** A lister-watcher that counts what its watches receive (bytes on the wire, events kept). */
class CountingListerWatcher implements ListerWatcher<KubeObject> {
  watchBytes = 0;
  events = 0;
  readonly inner: KubeListerWatcher<KubeObject>;

  constructor(inner: KubeListerWatcher<KubeObject>) {
    this.inner = inner;
  }

  list(options: ListOptions): Promise<ListPage<KubeObject>> {
    return this.inner.list(options);
  }

  watch(options: WatchOptions): AsyncIterable<WatchEvent<KubeObject>> {
    const inner = this.inner.watch({
      ...options,
      onBytes: (n) => {
        this.watchBytes += n;
        options.onBytes?.(n);
      },
    });
    const count = (): void => {
      this.events++;
    };
    return {
      async *[Symbol.asyncIterator]() {
        for await (const e of inner) {
          if (e.type !== 'BOOKMARK') count();
          yield e;
        }
      },
    };
  }
}

/** A replica: one informer, told what to sync by the parent over IPC. */
async function replica(): Promise<void> {
  const send = (m: FromReplica): void => {
    process.send!(m);
  };
  let lw: CountingListerWatcher | undefined;
  let churnStart: NodeJS.CpuUsage | undefined;
  process.on('message', (msg: ToReplica) => {
    void (async () => {
      if (msg.op === 'sync') {
        const kc = new KubeConfig();
        kc.loadFromString(msg.kubeconfigYaml);
        await collect();
        const heap0 = process.memoryUsage().heapUsed;
        const rss0 = process.memoryUsage().rss;
        const cpu0 = process.cpuUsage();
        const inner = new KubeListerWatcher<KubeObject>(kc, {
          resource: { group: '', version: 'v1', resource: 'configmaps' },
        });
        lw = new CountingListerWatcher(inner);
        const informer = new SharedIndexInformer<KubeObject>({
          listerWatcher: lw,
          logger: silentLogger,
          reflector: msg.selector === undefined ? {} : { shardSelector: msg.selector },
        });
        void informer.run(new AbortController().signal);
        await informer.waitForSync();
        const syncCpu = cpuMs(cpu0);
        await collect();
        const heapBytes = process.memoryUsage().heapUsed - heap0;
        churnStart = process.cpuUsage();
        send({
          op: 'synced',
          cached: informer.getStore().list().length,
          heapBytes,
          peakRssBytes: Math.max(0, process.resourceUsage().maxRSS * 1024 - rss0),
          cpuMs: syncCpu,
          serverSide: inner.serverSideSharding,
        });
        // Keep the informer reachable while the process lives.
        (globalThis as { informer?: unknown }).informer = informer;
      } else {
        let polls = 0;
        while (lw!.events < msg.events) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          // Say so when events do not come (a lost one would hang the run).
          if (++polls % 2000 === 0) {
            process.stderr.write(`[sharding] a replica has ${lw!.events}/${msg.events} events\n`);
          }
        }
        send({
          op: 'churned',
          watchBytes: lw!.watchBytes,
          events: lw!.events,
          cpuMs: cpuMs(churnStart!),
        });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  send({ op: 'ready' });
}

function next<T extends FromReplica['op']>(
  child: ChildProcess,
  op: T,
): Promise<Extract<FromReplica, { op: T }>> {
  return new Promise((resolve) => {
    const on = (m: FromReplica): void => {
      if (m.op !== op) return;
      child.off('message', on);
      resolve(m as Extract<FromReplica, { op: T }>);
    };
    child.on('message', on);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      replicas: { type: 'string', default: '4' },
      objects: { type: 'string', default: '20000' },
      churn: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const n = Number(values.replicas);
  const m = Number(values.objects);
  const churn = Number(values.churn);
  const seed = Number(values.seed);
  const log = (line: string): void => void process.stderr.write(`[sharding] ${line}\n`);

  const objects: KubeObject[] = [];
  for (let i = 0; i < m; i++) {
    const obj = makeObject({ kind: 'configmaps', index: i, resourceVersion: 1, seed });
    delete (obj.metadata as { resourceVersion?: string }).resourceVersion;
    objects.push(obj);
  }
  const server = await startApiServer({ objects, host: '127.0.0.1' });
  const stored = server.list<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap' });
  const selectors = Array.from({ length: n }, (_, i) => shardSelectorFor(i, n));
  const random = seededRandom(seed);
  let patches = 0; // across modes: a value written before would make a patch a no-op

  interface Row {
    mode: Mode;
    cached: number[];
    heapMiB: number[];
    peakRssMiB: number[];
    listMiB: number[];
    watchMiB: number[];
    syncCpuMs: number[];
    churnCpuMs: number[];
    serverSide: (boolean | undefined)[];
  }
  const rows: Row[] = [];
  for (const mode of ['server', 'client', 'none'] as const) {
    server.shardSelector = mode === 'client' ? 'ignore' : 'honour';
    log(`${mode}: ${n} replicas syncing ${m} objects`);
    const children = Array.from({ length: n }, () =>
      fork(fileURLToPath(import.meta.url), ['--replica'], {
        execArgv: ['--expose-gc'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    await Promise.all(children.map((c) => next(c, 'ready')));
    const texts = selectors.map((s) => (mode === 'none' ? undefined : formatShardSelector(s)));
    // One at a time, so each sync has the machine to itself.
    const synced = [];
    for (let i = 0; i < n; i++) {
      const reply = next(children[i]!, 'synced');
      children[i]!.send({
        op: 'sync',
        kubeconfigYaml: server.kubeconfigYaml,
        selector: texts[i],
      } satisfies ToReplica);
      synced.push(await reply);
    }
    const listMiB: number[] = [];
    for (const text of texts) {
      const q = text === undefined ? '' : `?shardSelector=${encodeURIComponent(text)}`;
      const res = await fetch(`${server.url}/api/v1/configmaps${q}`);
      listMiB.push((await res.arrayBuffer()).byteLength / 2 ** 20);
    }
    log(`${mode}: patching ${churn} random objects`);
    const expected = new Array<number>(n).fill(0);
    for (let k = 0; k < churn; k++) {
      const obj = stored[Math.floor(random() * stored.length)]!;
      server.patch(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: obj.metadata!.namespace!,
          name: obj.metadata!.name!,
        },
        { data: { churn: String(++patches) } }, // a key the fixtures lack: a change every time
      );
      for (let i = 0; i < n; i++) {
        if (mode === 'none' || matchesShard(obj, selectors[i]!)) expected[i]!++;
      }
    }
    const churned = await Promise.all(
      children.map((c, i) => {
        const reply = next(c, 'churned');
        c.send({ op: 'expect', events: expected[i]! } satisfies ToReplica);
        return reply;
      }),
    );
    for (const c of children) c.disconnect();
    rows.push({
      mode,
      cached: synced.map((s) => s.cached),
      heapMiB: synced.map((s) => s.heapBytes / 2 ** 20),
      peakRssMiB: synced.map((s) => s.peakRssBytes / 2 ** 20),
      listMiB,
      watchMiB: churned.map((c) => c.watchBytes / 2 ** 20),
      syncCpuMs: synced.map((s) => s.cpuMs),
      churnCpuMs: churned.map((c) => c.cpuMs),
      serverSide: synced.map((s) => s.serverSide),
    });
  }
  await server.close();

  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  const avg = (xs: readonly number[]): number => sum(xs) / xs.length;
  const f1 = (x: number): string => x.toFixed(1);
  const f0 = (x: number): string => x.toFixed(0);
  const label: Record<Mode, string> = {
    server: 'server-side sharding',
    client: 'client-side filtering',
    none: 'no sharding',
  };
  const out: string[] = [];
  out.push(
    `${n} replicas × ${m} ConfigMaps (~${f0(JSON.stringify(stored[0]).length)} B each), ` +
      `${churn} patches of random objects; Node ${process.version}; per replica, mean (min–max):`,
  );
  out.push('');
  out.push(
    '| mode | objects cached | cache heap (MiB) | peak RSS growth (MiB) | LIST received (MiB) | watch received during churn (MiB) | CPU sync (ms) | CPU churn (ms) |',
  );
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const cell = (xs: readonly number[], fmt: (x: number) => string): string =>
    `${fmt(avg(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
  for (const r of rows) {
    out.push(
      `| ${label[r.mode]} | ${cell(r.cached, f0)} | ${cell(r.heapMiB, f1)} | ${cell(r.peakRssMiB, f0)} | ${cell(r.listMiB, f1)} | ${cell(r.watchMiB, f1)} | ${cell(r.syncCpuMs, f0)} | ${cell(r.churnCpuMs, f0)} |`,
    );
  }
  out.push('');
  out.push(
    'Totals over the replicas: ' +
      rows
        .map(
          (r) =>
            `${label[r.mode]} ${f0(sum(r.cached))} objects, ${f1(sum(r.heapMiB))} MiB heap, ` +
            `${f1(sum(r.listMiB) + sum(r.watchMiB))} MiB received`,
        )
        .join('; ') +
      '.',
  );
  out.push(
    `serverSideSharding as recorded by the replicas: ${rows
      .map((r) => `${r.mode} ${JSON.stringify([...new Set(r.serverSide)])}`)
      .join(', ')}.`,
  );
  const spread = (field: 'metadata.uid' | 'metadata.namespace'): string =>
    Array.from(
      { length: n },
      (_, i) => stored.filter((o) => matchesShard(o, shardSelectorFor(i, n, field))).length,
    ).join(' / ');
  out.push(
    `Objects per shard by uid: ${spread('metadata.uid')}; by namespace (team-00 … team-49): ${spread('metadata.namespace')}.`,
  );
  process.stdout.write(out.join('\n') + '\n');
}

if (process.argv.includes('--replica')) await replica();
else await main();
