/**
 * Reads at a resourceVersion the server has not reached: a LIST or GET waits a while for it (the
 * real server's watch cache blocks up to 3 s), then answers 504 with a ResourceVersionTooLarge
 * cause and `Retry-After: 1`; a WATCH from it sends nothing until the server passes it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { cm, json, openWatch, setup } from './helpers.ts';

const NS = 'future';
const PATH = `/api/v1/namespaces/${NS}/configmaps`;
const WAIT_MS = 300;

describe('apiserver too-new resourceVersion', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0, tooLargeResourceVersionWaitMs: WAIT_MS }));
    server.create(cm('f1', NS));
  });
  after(() => server.close());

  function tooLarge(rv: string | number): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Timeout: Too large resource version: ${rv}, current: ${server.resourceVersion()}`,
      reason: 'Timeout',
      details: {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      },
      code: 504,
    };
  }

  it('a LIST NotOlderThan a far-future RV waits, then is 504 with the real Status', async () => {
    const started = Date.now();
    const res = await json(
      server,
      `${PATH}?resourceVersion=987654321&resourceVersionMatch=NotOlderThan`,
    );
    assert.ok(Date.now() - started >= WAIT_MS - 20, 'waited for the RV first');
    assert.equal(res.status, 504);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.deepEqual(res.body, tooLarge(987654321));
    const plain = await json(server, `${PATH}?resourceVersion=987654321`);
    assert.equal(plain.status, 504);
    assert.deepEqual(plain.body, tooLarge(987654321));
  });

  it('a LIST or GET at an RV that arrives during the wait succeeds', async () => {
    const next = Number(server.resourceVersion()) + 1;
    setTimeout(() => server.create(cm('f2', NS)), 50);
    const list = await json(server, `${PATH}?resourceVersion=${next}`);
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.body['items'] as { metadata: { name: string } }[]).map((i) => i.metadata.name),
      ['f1', 'f2'],
    );
    assert.equal((list.body['metadata'] as { resourceVersion: string }).resourceVersion, `${next}`);
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'f1' };
    setTimeout(() => server.patch(ref, { data: { k: 'v' } }), 50);
    const get = await json(server, `${PATH}/f1?resourceVersion=${next + 1}`);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body['data'], { k: 'v' });
  });

  it('a GET at a future RV is 504; an exact-RV LIST in the future is etcd’s 500', async () => {
    const get = await json(server, `${PATH}/f1?resourceVersion=987654321`);
    assert.equal(get.status, 504);
    assert.equal(get.headers.get('retry-after'), '1');
    assert.deepEqual(get.body, tooLarge(987654321));
    const exact = await json(
      server,
      `${PATH}?resourceVersion=987654321&resourceVersionMatch=Exact`,
    );
    assert.equal(exact.status, 500);
    assert.deepEqual(exact.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'etcdserver: mvcc: required revision is a future revision',
      code: 500,
    });
    // RV 0 and no RV read the latest state at once.
    assert.equal((await json(server, `${PATH}/f1?resourceVersion=0`)).status, 200);
  });

  it('a WATCH from a future RV sends nothing until the server passes it', async () => {
    const target = Number(server.resourceVersion()) + 2;
    const w = await openWatch(
      server,
      `${PATH}?watch=true&allowWatchBookmarks=true&resourceVersion=${target}`,
    );
    assert.equal(w.status, 200);
    server.create(cm('w1', NS)); // target - 1
    server.faults.sendBookmarks(); // a bookmark below the target is withheld too
    server.create(cm('w2', NS)); // target
    assert.deepEqual(await w.next(1, 200), []);
    server.create(cm('w3', NS)); // past the target
    server.faults.sendBookmarks();
    const events = await w.next(2);
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata?.name, e.object.metadata?.resourceVersion]),
      [
        ['ADDED', 'w3', String(target + 1)],
        ['BOOKMARK', undefined, String(target + 1)],
      ],
    );
    w.close();
  });
});
