// Bad-input catalog, part 1: byte-level garbage on the wire. A tiny node:http server answers
// with exactly the bytes of each case (the embedded API server never sends them); the real
// KubeListerWatcher and SharedIndexInformer consume them. Each case checks the typed error
// (class, code, message, hint) and that the informer recovers: re-watches from the last good
// resourceVersion, applies nothing after the bad bytes, and ends equal to the server.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import {
  ApiStatusError,
  InvalidResourceVersionError,
  ListWithoutResourceVersionError,
  MalformedListError,
  MalformedWatchLineError,
  type ReflectorError,
  TruncatedWatchStreamError,
  WatchLineTooLongError,
} from '@kubecache/cache';
import { DEFAULT_MAX_LINE_BYTES, JsonLinesDecoder } from '@kubecache/client';
import {
  assertReflectorReports,
  cacheOf,
  cleanUp,
  cmJson,
  event,
  fakeApiServer,
  listJson,
  reported,
  runInformer,
  until,
  writeWithBackpressure,
} from './helpers.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * The shape shared by the watch-line cases: LIST a@10; the first watch sends a good MODIFIED
 * a@11, then `bad` (the bytes under test), then an ADDED that must never be applied; the second
 * watch must resume from 11 and sends ADDED b@13. `end` closes the first watch after the bad
 * bytes (a truncated line needs it).
 */
async function watchLineCase(
  bad: (res: ServerResponse) => void | Promise<void>,
  options: { end?: boolean } = {},
) {
  const server = await fakeApiServer((_req, res, q, n) => {
    res.writeHead(200, JSON_HEADERS);
    if (q.get('watch') === null) {
      res.end(listJson(10, ['a']));
      return;
    }
    if (n.watch === 1) {
      res.write(event('MODIFIED', 'a', 11));
      void (async () => {
        await bad(res);
        if (res.destroyed) return;
        if (options.end) res.end();
        else res.write(event('ADDED', 'never', 12));
      })();
      return;
    }
    res.write(event('ADDED', 'b', 13));
  });
  const run = runInformer(server.kubeConfig());
  const added: string[] = [];
  run.informer.addEventHandler({ onAdd: (o) => added.push(o.metadata?.name ?? '') });
  await until(() => run.informer.getStore().list().length === 2, 'the second watch', run.clock);
  await run.informer.drained();
  return {
    server,
    run,
    added,
    async finish() {
      assert.deepEqual(cacheOf(run.informer), ['a@11', 'b@13']);
      assert.deepEqual(added, ['a', 'b'], 'nothing after the bad bytes reached a handler');
      assert.equal(server.requests.at(-1)!.get('resourceVersion'), '11', 're-watched from 11');
      assert.equal(server.counts.list, 1, 'no relist was needed');
      assert.equal(run.outcome.settled, false, 'the informer is still running');
      assertReflectorReports(run.reports);
      await run.stop();
      await server.close();
    },
  };
}

describe('bad input on the wire', () => {
  afterEach(cleanUp);

  it('a malformed watch line: MalformedWatchLine (invalid JSON), re-watch from the last good RV', async () => {
    const c = await watchLineCase((res) => {
      res.write('{"type":"MODIFIED","object":{this is not json\n');
    });
    const [err, ...more] = reported(c.run.reports, MalformedWatchLineError);
    assert.equal(more.length, 0);
    assert.equal(err!.code, 'MalformedWatchLine');
    assert.match(err!.message, /malformed watch line \(invalid JSON\): .*this is not json/);
    assert.match(err!.hint!, /not a watch event; the informer re-watches/);
    assert.equal((c.run.reports[0]!.error as ReflectorError).stage, 'decode');
    await c.finish();
  });

  it('a truncated line (the stream ends inside a line): TruncatedWatchStream, the half line is dropped', async () => {
    const c = await watchLineCase(
      (res) => {
        res.write('{"type":"ADDED","object":{"metadata":{"name":"half","namespace":"def');
      },
      { end: true },
    );
    const [err] = reported(c.run.reports, TruncatedWatchStreamError);
    assert.ok(err, 'a TruncatedWatchStreamError was reported');
    assert.equal(err.code, 'TruncatedWatchStream');
    assert.equal(err.pendingBytes, 68);
    assert.match(err.message, /watch stream ended inside a line \(68 bytes dropped\)/);
    await c.finish();
  });

  it('an unknown event type: MalformedWatchLine naming the type', async () => {
    const c = await watchLineCase((res) => {
      res.write(`{"type":"UPSERTED","object":${cmJson('x', 12)}}\n`);
    });
    const [err] = reported(c.run.reports, MalformedWatchLineError);
    assert.equal(err!.code, 'MalformedWatchLine');
    assert.match(err!.message, /\(unknown event type "UPSERTED"\)/);
    assert.match(err!.preview, /^\{"type":"UPSERTED"/);
    assert.ok(err!.hint);
    await c.finish();
  });

  it('an event without object: MalformedWatchLine "event without object"', async () => {
    const c = await watchLineCase((res) => {
      res.write('{"type":"ADDED"}\n');
    });
    const errs = reported(c.run.reports, MalformedWatchLineError);
    assert.equal(errs.length, 1);
    assert.match(errs[0]!.message, /\(event without object\): "\{\\"type\\":\\"ADDED\\"\}"/);
    await c.finish();
  });

  it('a watch answered 200 with an HTML page: MalformedWatchLine whose hint says a proxy answered', async () => {
    const c = await watchLineCase((res) => {
      res.write('<!DOCTYPE html><html><body><h1>Session expired</h1></body></html>\n');
    });
    const [err] = reported(c.run.reports, MalformedWatchLineError);
    assert.match(err!.message, /invalid JSON.*Session expired/);
    assert.match(err!.hint!, /HTML page.*a proxy or gateway answered instead of the API server/);
    await c.finish();
  });

  it('a 16 MB line: WatchLineTooLong at the 8 MiB default, without buffering the rest', async () => {
    const total = 16 * 1000 * 1000;
    const c = await watchLineCase(async (res) => {
      const head = '{"type":"ADDED","object":{"metadata":{"name":"huge"},"data":{"x":"';
      res.write(head);
      const chunk = Buffer.alloc(256 * 1024, 'x');
      for (let sent = head.length; sent < total && !res.destroyed; sent += chunk.length) {
        await writeWithBackpressure(res, chunk);
      }
      if (!res.destroyed) res.write('"}}}\n');
    });
    const [err, ...more] = reported(c.run.reports, WatchLineTooLongError);
    assert.equal(more.length, 0);
    assert.equal(err!.code, 'WatchLineTooLong');
    assert.equal(err!.limitBytes, DEFAULT_MAX_LINE_BYTES);
    assert.equal(DEFAULT_MAX_LINE_BYTES, 8 * 1024 * 1024);
    // The decoder gave up at the first chunk past the limit: it held at most one chunk more.
    assert.ok(err!.receivedBytes > err!.limitBytes);
    assert.ok(err!.receivedBytes <= err!.limitBytes + 1024 * 1024, `${err!.receivedBytes}`);
    assert.match(err!.preview, /^\{"type":"ADDED","object":\{"metadata":\{"name":"huge"/);
    assert.match(err!.message, /longer than the 8388608-byte limit/);
    assert.match(err!.hint!, /raise maxLineBytes/);
    await c.finish();
  });

  it('a line that never ends: the client hangs up soon after the limit (memory stays bounded)', async () => {
    let written = 0;
    let closedAt = -1;
    const server = await fakeApiServer((_req, res, q) => {
      res.writeHead(200, JSON_HEADERS);
      if (q.get('watch') === null) {
        res.end(listJson(10, ['a']));
        return;
      }
      res.on('close', () => (closedAt = written));
      const chunk = Buffer.alloc(64 * 1024, 'y');
      void (async () => {
        res.write('{"type":"ADDED","object":"');
        while (!res.destroyed && written < 256 * 1024 * 1024) {
          written += chunk.length;
          await writeWithBackpressure(res, chunk);
        }
      })();
    });
    const run = runInformer(server.kubeConfig(), { lw: { maxLineBytes: 1024 * 1024 } });
    await until(() => closedAt >= 0, 'the client to hang up', run.clock);
    await until(
      () => reported(run.reports, WatchLineTooLongError).length > 0,
      'the report',
      run.clock,
    );
    const [err] = reported(run.reports, WatchLineTooLongError);
    assert.equal(err!.limitBytes, 1024 * 1024);
    // Socket buffers hold a few MB at most: the 256 MB line was never read.
    assert.ok(closedAt < 64 * 1024 * 1024, `server wrote ${closedAt} bytes before the hang-up`);
    assert.deepEqual(cacheOf(run.informer), ['a@10'], 'the cache keeps serving the last state');
    await run.stop();
    await server.close();
  });

  it('an HTML error page from a proxy (502): ApiStatusError with the page text and a proxy hint', async () => {
    const page =
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n' +
      '<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n' +
      '</body>\r\n</html>\r\n';
    const server = await fakeApiServer((_req, res, q, n) => {
      if (q.get('watch') === null && n.list === 1) {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end(page);
        return;
      }
      res.writeHead(200, JSON_HEADERS);
      if (q.get('watch') === null) res.end(listJson(10, ['a']));
    });
    const run = runInformer(server.kubeConfig());
    await until(() => run.informer.hasSynced(), 'the sync after the proxy recovered', run.clock);
    const [err, ...more] = reported(run.reports, ApiStatusError);
    assert.equal(more.length, 0);
    assert.equal(err!.code, 'ApiStatusError');
    assert.equal(err!.statusCode, 502);
    assert.equal(err!.status, undefined, 'no Kubernetes Status in an HTML page');
    assert.equal(
      err!.message,
      'GET /api/v1/configmaps: 502 Bad Gateway (an HTML page, not a Kubernetes Status): ' +
        '"502 Bad Gateway 502 Bad Gateway nginx/1.25.3"',
    );
    assert.match(err!.hint!, /a proxy or gateway answered instead of the API server/);
    assert.match(err!.hint!, /retries with backoff/);
    assert.equal((run.reports[0]!.error as ReflectorError).stage, 'list');
    assert.deepEqual(cacheOf(run.informer), ['a@10']);
    await run.stop();
    await server.close();
  });

  it('a 200 with a non-JSON body on LIST: MalformedList with a preview and a proxy hint', async () => {
    const server = await fakeApiServer((_req, res, q, n) => {
      if (q.get('watch') !== null) {
        res.writeHead(200, JSON_HEADERS);
        return;
      }
      if (n.list === 1) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<html><body><form>Please sign in to continue</form></body></html>');
      } else if (n.list === 2) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('OK');
      } else if (n.list === 3) {
        res.writeHead(200, JSON_HEADERS);
        res.end('{"kind":"ConfigMapList","metadata":{"resourceVersion":"10"},"items":[{"meta');
      } else {
        res.writeHead(200, JSON_HEADERS);
        res.end(listJson(10, ['a', 'b']));
      }
    });
    const run = runInformer(server.kubeConfig());
    await until(() => run.informer.hasSynced(), 'the good list', run.clock);
    const errs = reported(run.reports, MalformedListError);
    assert.equal(errs.length, 3);
    const [html, text, cut] = errs as [MalformedListError, MalformedListError, MalformedListError];
    for (const e of errs) assert.equal(e.code, 'MalformedList');
    assert.equal(html.contentType, 'text/html; charset=utf-8');
    assert.equal(html.preview, 'Please sign in to continue');
    assert.match(
      html.message,
      /^GET \/api\/v1\/configmaps: the LIST answer is not a JSON list \(an HTML page; 65 bytes, text\/html; charset=utf-8\): "Please sign in to continue"$/,
    );
    assert.match(html.hint!, /HTML page.*a proxy or gateway answered instead of the API server/);
    assert.match(text.message, /\(not JSON; 2 bytes, text\/plain\): "OK"$/);
    assert.match(text.hint!, /a proxy or gateway answered instead of the API server\?/);
    assert.match(cut.message, /\(not JSON; 75 bytes, application\/json\)/);
    assert.ok(cut.cause instanceof SyntaxError);
    assert.deepEqual(cacheOf(run.informer), ['a@10', 'b@10']);
    await run.stop();
    await server.close();
  });

  it('a list without resourceVersion: ListWithoutResourceVersion, nothing stored until a real list', async () => {
    const server = await fakeApiServer((_req, res, q, n) => {
      res.writeHead(200, JSON_HEADERS);
      if (q.get('watch') !== null) return;
      if (n.list === 1) {
        res.end(
          `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[${cmJson('a', 10)}]}`,
        );
      } else res.end(listJson(10, ['a']));
    });
    const run = runInformer(server.kubeConfig());
    await until(() => run.reports.length > 0, 'the report', run.clock);
    assert.equal(run.informer.hasSynced(), false, 'a list without RV is not stored');
    await until(() => run.informer.hasSynced(), 'the good list', run.clock);
    const [err, ...more] = reported(run.reports, ListWithoutResourceVersionError);
    assert.equal(more.length, 0);
    assert.equal(err!.code, 'ListWithoutResourceVersion');
    assert.equal(
      err!.message,
      'GET /api/v1/configmaps: the list (ConfigMapList) has no metadata.resourceVersion, so no ' +
        'watch can continue from it without missing changes',
    );
    assert.match(err!.hint!, /is the server address a real API server/);
    await until(() => server.counts.watch > 0, 'the watch', run.clock);
    assert.equal(server.requests.at(-1)!.get('resourceVersion'), '10', 'watching from the list RV');
    await run.stop();
    await server.close();
  });

  it('a non-numeric resourceVersion: cached and resumed from as an opaque string; ordering refuses it with InvalidResourceVersion', async () => {
    const server = await fakeApiServer((_req, res, q, n) => {
      res.writeHead(200, JSON_HEADERS);
      if (q.get('watch') === null) {
        res.end(listJson('etcd-rev-a', ['a']));
        return;
      }
      if (n.watch === 1) {
        res.end(event('MODIFIED', 'a', 'etcd-rev-b'));
        return;
      }
      res.write(event('ADDED', 'b', 'etcd-rev-c'));
    });
    const run = runInformer(server.kubeConfig(), {
      informer: { reflector: { backoff: { initialMs: 1 } } },
    });
    await until(() => run.informer.getStore().list().length === 2, 'b', run.clock);
    assert.deepEqual(cacheOf(run.informer), ['a@etcd-rev-b', 'b@etcd-rev-c']);
    const watches = server.requests.filter((q) => q.get('watch') !== null);
    assert.deepEqual(
      watches.map((q) => q.get('resourceVersion')),
      ['etcd-rev-a', 'etcd-rev-b'],
      'each watch resumed from the last RV, as given',
    );
    assert.equal(run.informer.lastSyncResourceVersion(), 'etcd-rev-c');
    assert.throws(
      () => run.informer.waitForResourceVersion('etcd-rev-c'),
      (err: unknown) => {
        assert.ok(err instanceof InvalidResourceVersionError);
        assert.equal(err.code, 'InvalidResourceVersion');
        assert.match(err.message, /"etcd-rev-c" is not a decimal integer and cannot be ordered/);
        return true;
      },
    );
    assert.equal(run.reports.length, 0, 'nothing failed');
    await run.stop();
    await server.close();
  });

  it('abort during a list: run() resolves promptly, nothing is reported, the connection is closed', async () => {
    let listClosed = false;
    const server = await fakeApiServer((_req, res, q) => {
      if (q.get('watch') !== null) return;
      res.writeHead(200, JSON_HEADERS);
      // Half a list, then silence.
      res.write(
        '{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"10"},"items":[',
      );
      res.write(cmJson('a', 10));
      res.on('close', () => (listClosed = true));
    });
    const run = runInformer(server.kubeConfig());
    await until(() => server.counts.list === 1, 'the list request');
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await run.stop();
    assert.ok(Date.now() - started < 1000, 'run() settled at once');
    assert.equal(run.outcome.error, undefined, 'run() resolved, it did not reject');
    assert.deepEqual(run.reports, [], 'an abort is not a failure');
    assert.equal(run.informer.hasSynced(), false);
    assert.deepEqual(run.informer.getStore().list(), [], 'half a list is never stored');
    await until(() => listClosed, 'the server to see the hang-up');
    await server.close();
  });

  it('the decoder never holds more than the limit plus one chunk (unit)', () => {
    const decoder = new JsonLinesDecoder({ maxLineBytes: 1000 });
    const chunk = Buffer.alloc(300, 'z');
    const out: unknown[] = [];
    decoder.write(Buffer.from('{"ok":1}\n'), out);
    let thrown: unknown;
    for (let i = 0; i < 10 && thrown === undefined; i++) {
      try {
        decoder.write(chunk, out);
        assert.ok(decoder.pendingBytes <= 1000, `${decoder.pendingBytes}`);
      } catch (err) {
        thrown = err;
      }
    }
    assert.deepEqual(out, [{ ok: 1 }]);
    assert.ok(thrown instanceof WatchLineTooLongError);
    assert.equal(thrown.receivedBytes, 1200);
    assert.equal(decoder.pendingBytes, 0, 'the buffered line was dropped');
    // A complete over-long line inside one chunk is refused too, after the lines before it.
    const d2 = new JsonLinesDecoder({ maxLineBytes: 10 });
    const out2: unknown[] = [];
    assert.throws(
      () => d2.write(Buffer.from('[1]\n"0123456789ab"\n[2]\n'), out2),
      WatchLineTooLongError,
    );
    assert.deepEqual(out2, [[1]]);
    assert.throws(() => new JsonLinesDecoder({ maxLineBytes: 0 }), RangeError);
  });
});
