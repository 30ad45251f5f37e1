import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ApiServer } from '@kubecache/apiserver';
import { cm, json, openWatch, setup } from './helpers.ts';

describe('apiserver fault injection', () => {
  let server: ApiServer;
  let core: CoreV1Api;
  before(async () => {
    const s = await setup({ bookmarkIntervalMs: 0 });
    server = s.server;
    core = s.kc.makeApiClient(CoreV1Api);
  });
  after(() => server.close());

  it('failNext answers matching requests with 429 + Retry-After, 500 or 403, then recovers', async () => {
    server.faults.failNext({ count: 2, path: '/configmaps', status: 429, retryAfterSeconds: 3 });
    const other = await json(server, '/api/v1/namespaces');
    assert.equal(other.status, 200, 'non-matching paths are untouched');
    for (let i = 0; i < 2; i++) {
      const r = await json(server, '/api/v1/namespaces/default/configmaps');
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '3');
      assert.equal(r.body['reason'], 'TooManyRequests');
      assert.equal((r.body['details'] as { retryAfterSeconds: number }).retryAfterSeconds, 3);
    }
    assert.equal((await json(server, '/api/v1/namespaces/default/configmaps')).status, 200);
    server.faults.failNext({ status: 500, path: /configmaps$/, method: 'GET' });
    await assert.rejects(
      core.listNamespacedConfigMap({ namespace: 'default' }),
      (err) => (err as { code: number }).code === 500,
    );
    server.faults.failNext({ status: 403, predicate: (r) => r.watch });
    assert.equal((await json(server, '/api/v1/configmaps')).status, 200);
    const forbidden = await json(server, '/api/v1/configmaps?watch=true');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body['reason'], 'Forbidden');
  });

  it('adds latency', async () => {
    server.faults.setLatency(150);
    const started = Date.now();
    await json(server, '/version');
    assert.ok(Date.now() - started >= 140);
    server.faults.setLatency(0);
  });

  it('cuts the next watch after N events', async () => {
    for (let i = 0; i < 5; i++) server.create(cm(`c${i}`, 'cut'));
    server.faults.cutAfterEvents(3);
    const w = await openWatch(server, '/api/v1/namespaces/cut/configmaps?watch=true');
    const result = await w.done;
    assert.equal(w.events.length, 3);
    assert.equal(result.broken, true, 'the stream breaks instead of ending cleanly');
    const again = await openWatch(server, '/api/v1/namespaces/cut/configmaps?watch=true');
    assert.equal((await again.next(5)).length, 5, 'only the next watch was affected');
    again.close();
  });

  it('cuts the next watch after N bytes, mid-line', async () => {
    server.faults.cutAfterBytes(100);
    const w = await openWatch(server, '/api/v1/namespaces/cut/configmaps?watch=true');
    const result = await w.done;
    assert.equal(result.broken, true);
    assert.ok(w.raw().length <= 100);
  });

  it('injects an ERROR event into open watches', async () => {
    const w = await openWatch(
      server,
      `/api/v1/configmaps?watch=true&resourceVersion=${server.resourceVersion()}`,
    );
    await new Promise((r) => setTimeout(r, 20));
    server.faults.injectWatchError(410);
    const [ev] = await w.next(1);
    assert.equal(ev?.type, 'ERROR');
    assert.equal(ev?.object.code, 410);
    assert.equal(ev?.object.reason, 'Expired');
    assert.deepEqual(await w.done, { broken: false });
  });

  it('closes every open watch cleanly', async () => {
    const a = await openWatch(
      server,
      `/api/v1/configmaps?watch=true&resourceVersion=${server.resourceVersion()}`,
    );
    const b = await openWatch(
      server,
      `/apis/apps/v1/deployments?watch=true&resourceVersion=${server.resourceVersion()}`,
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.stats.activeWatches, 2);
    server.faults.closeWatches();
    assert.deepEqual(await a.done, { broken: false });
    assert.deepEqual(await b.done, { broken: false });
  });

  it('compacts the history so that older watches get 410', async () => {
    const rv = server.resourceVersion();
    server.create(cm('after-compact', 'compact'));
    server.faults.compactHistory();
    const w = await openWatch(server, `/api/v1/configmaps?watch=true&resourceVersion=${rv}`);
    const [ev] = await w.next(1);
    assert.equal(ev?.object.code, 410);
    const fresh = await openWatch(
      server,
      `/api/v1/configmaps?watch=true&resourceVersion=${server.resourceVersion()}`,
    );
    server.create(cm('after-compact-2', 'compact'));
    const [ok] = await fresh.next(1);
    assert.equal(ok?.type, 'ADDED');
    fresh.close();
  });

  it('pause refuses connections until resume; state survives', async () => {
    server.create(cm('survivor', 'outage'));
    const w = await openWatch(
      server,
      `/api/v1/configmaps?watch=true&resourceVersion=${server.resourceVersion()}`,
    );
    await server.faults.pause();
    assert.equal((await w.done).broken, true);
    await assert.rejects(fetch(`${server.url}/version`));
    await server.faults.resume();
    const got = await json(server, '/api/v1/namespaces/outage/configmaps/survivor');
    assert.equal(got.status, 200);
  });

  it('restart drops in-flight watches and keeps state and history', async () => {
    const rv = server.resourceVersion();
    const w = await openWatch(server, `/api/v1/configmaps?watch=true&resourceVersion=${rv}`);
    await new Promise((r) => setTimeout(r, 20));
    await server.faults.restart();
    assert.equal((await w.done).broken, true);
    server.create(cm('post-restart', 'outage'));
    const resumed = await openWatch(server, `/api/v1/configmaps?watch=true&resourceVersion=${rv}`);
    const [ev] = await resumed.next(1);
    assert.equal(ev?.object.metadata?.name, 'post-restart');
    resumed.close();
  });
});
