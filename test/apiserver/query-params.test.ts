import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { cm, json, openWatch, setup } from './helpers.ts';

const CMS = '/api/v1/namespaces/qp/configmaps';

/** The first line of a response body (a watch event, or a whole LIST), then the request is dropped. */
async function firstLine(server: ApiServer, pathAndQuery: string): Promise<string> {
  const controller = new AbortController();
  const res = await fetch(server.url + pathAndQuery, { signal: controller.signal });
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes('\n')) break;
    }
  } finally {
    controller.abort();
  }
  return text.split('\n')[0]!;
}

describe('apiserver query parameters', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    for (let i = 0; i < 3; i++) server.create(cm(`q${i}`, 'qp'));
  });
  after(() => server.close());

  it('watch is true for every value but false and 0, including True, 1, yes and empty', async () => {
    for (const q of ['watch=true', 'watch=True', 'watch=1', 'watch=yes', 'watch=', 'watch']) {
      const line = await firstLine(server, `${CMS}?${q}`);
      assert.match(line, /^\{"type":"ADDED"/, `?${q} is a watch`);
    }
    for (const q of ['watch=false', 'watch=False', 'watch=FALSE', 'watch=0']) {
      const line = await firstLine(server, `${CMS}?${q}`);
      assert.equal((JSON.parse(line) as { kind: string }).kind, 'ConfigMapList', `?${q} is a LIST`);
    }
  });

  it('allowWatchBookmarks follows the same rule', async () => {
    const rv = server.resourceVersion();
    const base = `${CMS}?watch&resourceVersion=${rv}`;
    const cases: [string, boolean][] = [
      ['&allowWatchBookmarks=True', true],
      ['&allowWatchBookmarks=1', true],
      ['&allowWatchBookmarks=yes', true],
      ['&allowWatchBookmarks=', true],
      ['&allowWatchBookmarks', true],
      ['&allowWatchBookmarks=false', false],
      ['&allowWatchBookmarks=FALSE', false],
      ['&allowWatchBookmarks=0', false],
      ['', false],
    ];
    // A watch is registered before its response headers go out, so all of them see this.
    const watches = await Promise.all(cases.map(([q]) => openWatch(server, base + q)));
    server.faults.sendBookmarks();
    for (const [i, [q, allowed]] of cases.entries()) {
      const events = await watches[i]!.next(1, allowed ? 3000 : 100);
      if (allowed) {
        assert.equal(events[0]?.type, 'BOOKMARK', `${q} allows bookmarks`);
        assert.equal(events[0]?.object.metadata?.resourceVersion, rv);
      } else {
        assert.deepEqual(events, [], `${q || 'no parameter'} does not`);
      }
      watches[i]!.close();
    }
  });

  it('sendInitialEvents follows the same rule', async () => {
    const streamed = await openWatch(
      server,
      `${CMS}?watch=1&sendInitialEvents=True&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=yes`,
    );
    const events = await streamed.next(4);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'ADDED', 'ADDED', 'BOOKMARK'],
    );
    assert.equal(events[3]?.object.metadata?.annotations?.['k8s.io/initial-events-end'], 'true');
    streamed.close();
    // sendInitialEvents=0 is the legacy watch from the resourceVersion: no initial events.
    const rv = server.resourceVersion();
    const legacy = await openWatch(
      server,
      `${CMS}?watch=1&sendInitialEvents=0&resourceVersionMatch=NotOlderThan&resourceVersion=${rv}`,
    );
    server.create(cm('q-after', 'qp'));
    const [ev] = await legacy.next(1);
    assert.equal(ev?.type, 'ADDED');
    assert.equal(ev?.object.metadata?.name, 'q-after');
    legacy.close();
    // Present and empty is true, and true requires allowWatchBookmarks, as on the real server.
    const noBookmarks = await json(
      server,
      `${CMS}?watch=1&sendInitialEvents&resourceVersionMatch=NotOlderThan`,
    );
    assert.equal(noBookmarks.status, 422);
  });

  it('a malformed timeoutSeconds or limit is a 400 BadRequest Status, on LIST and WATCH', async () => {
    for (const q of [
      'timeoutSeconds=abc',
      'watch=true&timeoutSeconds=abc',
      'watch=true&timeoutSeconds=1.5',
      'limit=abc',
      'limit=1.5',
      'limit=',
      'limit=99999999999999999999',
    ]) {
      const res = await json(server, `${CMS}?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.body['kind'], 'Status', q);
      assert.equal(res.body['reason'], 'BadRequest', q);
      assert.equal(res.body['code'], 400, q);
      assert.match(String(res.body['message']), /strconv\.ParseInt/, q);
    }
  });

  it('limit 0 or negative means no paging', async () => {
    for (const limit of ['-1', '0', '-100']) {
      const res = await json(server, `${CMS}?limit=${limit}`);
      assert.equal(res.status, 200, `limit=${limit}`);
      const items = res.body['items'] as unknown[];
      assert.equal(
        items.length,
        server.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'qp' }).length,
      );
      assert.equal((res.body['metadata'] as { continue?: string }).continue, undefined);
    }
    const paged = await json(server, `${CMS}?limit=%2B2`);
    assert.equal((paged.body['items'] as unknown[]).length, 2, 'Go accepts a sign');
  });

  it('timeoutSeconds 0 or negative means no timeout', async () => {
    const w = await openWatch(
      server,
      `${CMS}?watch=true&timeoutSeconds=-1&resourceVersion=${server.resourceVersion()}`,
    );
    await new Promise((r) => setTimeout(r, 50));
    server.create(cm('q-late', 'qp'));
    const [ev] = await w.next(1);
    assert.equal(ev?.object.metadata?.name, 'q-late', 'the watch is still open');
    w.close();
  });
});
