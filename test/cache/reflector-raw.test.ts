// Behaviours the embedded API server never produces (a malformed watch line, a server that
// ignores sendInitialEvents), served by a tiny fake API server written for each test.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  FakeClock,
  type KubeObject,
  MalformedWatchLineError,
  Reflector,
  seededRandom,
  type ReflectorError,
} from '@kubecache/cache';
import { KubeListerWatcher } from '@kubecache/client';
import {
  CONFIGMAPS,
  kubeConfigForUrl,
  RecordingStore,
  SEED,
  waitFor,
} from './reflector-helpers.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void;

async function fakeServer(
  handler: Handler,
): Promise<{ url: string; requests: URLSearchParams[]; close(): Promise<void> }> {
  const requests: URLSearchParams[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    requests.push(q);
    open.add(res);
    res.on('close', () => open.delete(res));
    handler(req, res, q);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

const cm = (name: string, rv: number): string =>
  JSON.stringify({
    metadata: { name, namespace: 'default', resourceVersion: String(rv) },
    data: { rv: String(rv) },
  });

function listBody(rv: number, names: string[]): string {
  return `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"${rv}"},"items":[${names.map((n) => cm(n, rv)).join(',')}]}`;
}

function startReflector(url: string, options: { streamingList?: boolean } = {}) {
  const store = new RecordingStore();
  const errors: ReflectorError[] = [];
  const clock = new FakeClock();
  const reflector = new Reflector<KubeObject>({
    listerWatcher: new KubeListerWatcher<KubeObject>(kubeConfigForUrl(url), {
      resource: CONFIGMAPS,
    }),
    store,
    clock,
    random: seededRandom(SEED),
    onWatchError: (e) => errors.push(e),
    ...options,
  });
  const ac = new AbortController();
  const running = reflector.run(ac.signal);
  return { store, errors, clock, reflector, stop: () => (ac.abort(), running) };
}

describe('Reflector against a misbehaving server', () => {
  it('reports a malformed watch line (stage decode) and re-watches from the last good RV', async () => {
    let watches = 0;
    const server = await fakeServer((_req, res, q) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (q.get('watch') !== '1' && q.get('watch') !== 'true') {
        res.end(listBody(10, ['a']));
        return;
      }
      watches++;
      if (watches === 1) {
        res.write(`{"type":"MODIFIED","object":${cm('a', 11)}}\n`);
        res.write('{"type":"MODIFIED","object":{this is not json\n');
        res.write(`{"type":"ADDED","object":${cm('never', 12)}}\n`);
      } else {
        res.write(`{"type":"ADDED","object":${cm('b', 13)}}\n`);
      }
    });
    const r = startReflector(server.url);
    try {
      await waitFor(() => r.errors.length === 1, 'the decode error');
      const err = r.errors[0]!;
      assert.equal(err.stage, 'decode');
      assert.ok(err.cause instanceof MalformedWatchLineError);
      assert.equal(err.cause.code, 'MalformedWatchLine');
      assert.match(err.cause.preview, /this is not json/);
      assert.equal(
        r.reflector.lastSyncResourceVersion(),
        '11',
        'the good line before it was applied',
      );
      assert.equal(
        r.store.objects.has('default/never'),
        false,
        'nothing after the bad line was applied',
      );
      await r.clock.advance(1000);
      await waitFor(() => r.store.objects.has('default/b'), 'the second watch');
      assert.equal(server.requests.at(-1)!.get('resourceVersion'), '11');
      assert.equal(r.store.replaces.length, 1, 'no relist');
    } finally {
      await r.stop();
      await server.close();
    }
  });

  it('a server that ignores sendInitialEvents (no end bookmark) makes the streaming list fall back to LIST', async () => {
    const server = await fakeServer((_req, res, q) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (q.get('watch') === null) {
        res.end(listBody(20, ['x', 'y']));
        return;
      }
      if (q.get('sendInitialEvents') === 'true') {
        // An old server: synthetic ADDEDs, then the stream just ends.
        res.end(`{"type":"ADDED","object":${cm('x', 20)}}\n`);
        return;
      }
      res.write(`{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"21"}}}\n`);
    });
    const r = startReflector(server.url, { streamingList: true });
    try {
      await waitFor(() => r.reflector.lastSyncResourceVersion() === '21', 'watching after LIST');
      assert.deepEqual(r.store.keys(), ['default/x', 'default/y']);
      assert.equal(r.store.replaces.length, 1);
      assert.equal(
        r.errors[0]!.cause instanceof Error && (r.errors[0]!.cause as { code?: string }).code,
        'StreamingListUnsupported',
      );
      assert.equal(server.requests[1]!.get('watch'), null, 'second request is a LIST');
      assert.equal(server.requests[2]!.get('sendInitialEvents'), null);
    } finally {
      await r.stop();
      await server.close();
    }
  });
});
