// A replay API server for the benchmarks: it serves LIST (paged or not, full or metadata-only)
// and WATCH (including the streaming-list initial events) for ConfigMaps and Pods from bytes it
// serialized before the measurement, so the server's own cost during a measurement is a memcpy
// into the socket. That keeps the server from being the bottleneck while the client under test
// parses, which the embedded API server (it serializes on every request) cannot promise at 100k
// objects. The wire format is exactly the API server's: the same JSON per object, the same list
// envelope, one JSON watch event per line.
//
// Run it in-process (`startReplayServer()`) or as a child process
// (`node benchmarks/replay-server.ts` with an IPC channel; see `source.ts`), which keeps the
// server's CPU work off the measured client's thread.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { type DataServer, serveOverIpc } from './ipc.ts';
import {
  type FixtureKind,
  listKind,
  makeObject,
  namespaceOf,
  toPartialObjectMetadata,
} from './fixtures.ts';

/** What to serve for one resource. */
export interface DatasetSpec {
  /** Which resource (`/api/v1/<resource>`). */
  resource: FixtureKind;
  /** Number of objects in the initial state (resourceVersions 1..count). */
  count: number;
  /** Number of MODIFIED events a watch from the list's resourceVersion replays. Default 0. */
  events?: number;
  /** Which views to prepare: full objects, metadata-only (PartialObjectMetadata), or both. Default 'full'. */
  views?: 'full' | 'metadata' | 'both';
  /** Data set seed. Default 1. */
  seed?: number;
  /**
   * End every watch that resumes from a resourceVersion with a 410 Expired ERROR event this long
   * after it opened, so clients relist (the relist scenario). Default: never.
   */
  expireWatchesAfterMs?: number;
}

/** Sizes of a loaded data set. */
export interface DatasetInfo {
  /** Bytes of all items of a full list. */
  listBytes: number;
  /** Bytes of all items of a metadata-only list (0 unless prepared). */
  metadataListBytes: number;
  /** Bytes of the watch events. */
  eventBytes: number;
  /** The list's resourceVersion. */
  resourceVersion: string;
  /** Where the data set is served. */
  url: string;
}

interface View {
  items: Buffer[];
  /** `{"type":"MODIFIED","object":…}\n` lines. */
  events: Buffer[];
}

interface Dataset {
  spec: DatasetSpec;
  full?: View;
  meta?: View;
}

const COMMA = Buffer.from(',');
const NEWLINE_CLOSE = Buffer.from('}\n');
const ADDED_PREFIX = Buffer.from('{"type":"ADDED","object":');
const BATCH_BYTES = 256 * 1024;

function buildDataset(spec: DatasetSpec): Dataset {
  const seed = spec.seed ?? 1;
  const views = spec.views ?? 'full';
  const full: View | undefined = views !== 'metadata' ? { items: [], events: [] } : undefined;
  const meta: View | undefined = views !== 'full' ? { items: [], events: [] } : undefined;
  for (let i = 0; i < spec.count; i++) {
    const obj = makeObject({ kind: spec.resource, index: i, resourceVersion: i + 1, seed });
    full?.items.push(Buffer.from(JSON.stringify(obj)));
    meta?.items.push(Buffer.from(JSON.stringify(toPartialObjectMetadata(obj))));
  }
  const events = spec.events ?? 0;
  for (let j = 0; j < events; j++) {
    const obj = makeObject({
      kind: spec.resource,
      index: j % spec.count,
      resourceVersion: spec.count + 1 + j,
      generation: Math.floor(j / spec.count) + 1,
      seed,
    });
    full?.events.push(Buffer.from(`{"type":"MODIFIED","object":${JSON.stringify(obj)}}\n`));
    meta?.events.push(
      Buffer.from(`{"type":"MODIFIED","object":${JSON.stringify(toPartialObjectMetadata(obj))}}\n`),
    );
  }
  return { spec, full, meta };
}

function byteSum(buffers: readonly Buffer[]): number {
  let n = 0;
  for (const b of buffers) n += b.length;
  return n;
}

/** Resolves on the response's next 'drain' or 'close', leaving no listener behind. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Writes `parts` in batches, honouring backpressure; stops early when the client is gone. */
async function writeAll(res: ServerResponse, parts: Iterable<Buffer>): Promise<boolean> {
  let batch: Buffer[] = [];
  let size = 0;
  const flush = async (): Promise<boolean> => {
    if (batch.length === 0) return !res.destroyed;
    const chunk = Buffer.concat(batch, size);
    batch = [];
    size = 0;
    if (res.destroyed) return false;
    if (!res.write(chunk)) await drained(res);
    return !res.destroyed;
  };
  for (const p of parts) {
    batch.push(p);
    size += p.length;
    if (size >= BATCH_BYTES && !(await flush())) return false;
  }
  return flush();
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    }),
  );
}

function* listParts(
  items: readonly Buffer[],
  from: number,
  to: number,
  head: Buffer,
): Generator<Buffer> {
  yield head;
  for (let i = from; i < to; i++) {
    if (i > from) yield COMMA;
    yield items[i];
  }
  yield Buffer.from(']}');
}

function* initialEvents(
  items: readonly Buffer[],
  namespace: string | undefined,
  rv: string,
  bookmark: boolean,
  metadata: boolean,
): Generator<Buffer> {
  for (let i = 0; i < items.length; i++) {
    if (namespace !== undefined && namespaceOf(i) !== namespace) continue;
    yield ADDED_PREFIX;
    yield items[i];
    yield NEWLINE_CLOSE;
  }
  if (bookmark) {
    const kind = metadata ? 'PartialObjectMetadata' : undefined;
    yield Buffer.from(
      `${JSON.stringify({
        type: 'BOOKMARK',
        object: {
          ...(kind ? { kind, apiVersion: 'meta.k8s.io/v1' } : {}),
          metadata: {
            resourceVersion: rv,
            annotations: { 'k8s.io/initial-events-end': 'true' },
          },
        },
      })}\n`,
    );
  }
}

async function handle(
  datasets: Map<string, Dataset>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://replay');
  const m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/.exec(url.pathname);
  const ds = m ? datasets.get(m[2]) : undefined;
  if (!m || !ds || req.method !== 'GET') {
    status(res, 404, 'NotFound', `the server could not find the requested resource`);
    return;
  }
  const namespace = m[1];
  const accept = req.headers.accept ?? '';
  const metadata = accept.includes('as=PartialObjectMetadata');
  const view = metadata ? ds.meta : ds.full;
  const q = url.searchParams;
  const watch = q.get('watch') === 'true' || q.get('watch') === '1';
  if (!view && watch) {
    // A client that lists metadata-only but watches full objects (client-node with a hand-written
    // list function) gets an idle watch rather than an error loop.
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    return;
  }
  if (!view) {
    status(res, 406, 'NotAcceptable', `${metadata ? 'metadata' : 'full'} view not prepared`);
    return;
  }
  const listRv = String(ds.spec.count);
  if (!watch) {
    if (namespace !== undefined) {
      status(res, 400, 'BadRequest', 'namespaced lists are not supported by the replay server');
      return;
    }
    const limit = Number(q.get('limit') ?? 0);
    const from = Number(q.get('continue') || 0);
    const to = limit > 0 ? Math.min(view.items.length, from + limit) : view.items.length;
    const cont = to < view.items.length ? String(to) : '';
    const envelope = metadata
      ? { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' }
      : { kind: listKind(ds.spec.resource), apiVersion: 'v1' };
    const listMeta: Record<string, unknown> = { resourceVersion: listRv };
    if (cont) {
      listMeta.continue = cont;
      listMeta.remainingItemCount = view.items.length - to;
    }
    const head = Buffer.from(
      `{"kind":"${envelope.kind}","apiVersion":"${envelope.apiVersion}","metadata":${JSON.stringify(listMeta)},"items":[`,
    );
    res.writeHead(200, { 'content-type': 'application/json' });
    if (await writeAll(res, listParts(view.items, from, to, head))) res.end();
    return;
  }
  // WATCH: optional initial state (streaming list, or rv "" / "0"), then the recorded events
  // after the requested resourceVersion, then an idle stream until the client goes away.
  const rvParam = q.get('resourceVersion') ?? '';
  const sendInitial = q.get('sendInitialEvents') === 'true';
  const fromEvent = Math.max(0, Number(rvParam || 0) - ds.spec.count);
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  if (sendInitial || rvParam === '' || rvParam === '0') {
    if (!(await writeAll(res, initialEvents(view.items, namespace, listRv, sendInitial, metadata))))
      return;
  }
  if (fromEvent < view.events.length) {
    if (!(await writeAll(res, view.events.slice(fromEvent)))) return;
  }
  const expireMs = ds.spec.expireWatchesAfterMs;
  if (expireMs !== undefined && !sendInitial && rvParam !== '' && rvParam !== '0') {
    const timer = setTimeout(() => {
      res.end(`${JSON.stringify({ type: 'ERROR', object: EXPIRED })}\n`);
    }, expireMs);
    res.on('close', () => clearTimeout(timer));
  }
  // Keep the stream open (as a real watch does) until the client closes it.
}

const EXPIRED = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'too old resource version',
  reason: 'Expired',
  code: 410,
};

/**
 * Starts a replay server on a free port of 127.0.0.1.
 *
 * @example
 * ```ts
 * const server = await startReplayServer();
 * server.load({ resource: 'configmaps', count: 10_000 });
 * ```
 */
export async function startReplayServer(): Promise<DataServer> {
  const datasets = new Map<string, Dataset>();
  const server = createServer((req, res) => {
    handle(datasets, req, res).catch((error: unknown) => {
      process.stderr.write(`replay server: ${String(error)}\n`);
      res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async load(spec) {
      datasets.delete(spec.resource);
      const ds = buildDataset(spec);
      datasets.set(spec.resource, ds);
      return {
        listBytes: ds.full ? byteSum(ds.full.items) : 0,
        metadataListBytes: ds.meta ? byteSum(ds.meta.items) : 0,
        eventBytes: ds.full ? byteSum(ds.full.events) : 0,
        resourceVersion: String(spec.count),
        url,
      };
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serveOverIpc(await startReplayServer());
}
