import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startApiServer } from '@kubecache/apiserver';
import { cm, json, openWatch, setup } from './helpers.ts';

describe('apiserver options and less common paths', () => {
  it('seeds objects, creating their namespaces, and closes on abort', async () => {
    const controller = new AbortController();
    const server = await startApiServer({
      objects: [cm('seeded', 'seed-ns', { a: 'b' })],
      signal: controller.signal,
    });
    const got = await json(server, '/api/v1/namespaces/seed-ns/configmaps/seeded');
    assert.equal(got.status, 200);
    assert.equal((await json(server, '/api/v1/namespaces/seed-ns')).status, 200);
    controller.abort();
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(fetch(`${server.url}/version`));
  });

  it('lets strictNamespaces be turned off', async () => {
    const server = await startApiServer({ strictNamespaces: false });
    try {
      const res = await json(server, '/api/v1/namespaces/anywhere/configmaps', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(cm('x', 'anywhere')),
      });
      assert.equal(res.status, 201);
    } finally {
      await server.close();
    }
  });

  it('serves legacy /watch/ paths and server-side apply patches', async () => {
    const { server } = await setup({ bookmarkIntervalMs: 0 });
    try {
      const w = await openWatch(
        server,
        `/api/v1/watch/namespaces/default/configmaps?resourceVersion=${server.resourceVersion()}`,
      );
      const applied = await json(
        server,
        '/api/v1/namespaces/default/configmaps/ssa?fieldManager=test',
        {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/apply-patch+yaml' },
          body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "1"\n',
        },
      );
      assert.equal(applied.status, 201, 'apply creates a missing object');
      assert.deepEqual(applied.body['data'], { a: '1' });
      const again = await json(
        server,
        '/api/v1/namespaces/default/configmaps/ssa?fieldManager=test',
        {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/apply-patch+yaml' },
          body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  b: "2"\n',
        },
      );
      // The same manager no longer applies `a`: the real server removes it.
      assert.deepEqual(again.body['data'], { b: '2' });
      const events = await w.next(2);
      assert.deepEqual(
        events.map((e) => e.type),
        ['ADDED', 'MODIFIED'],
      );
      w.close();
    } finally {
      await server.close();
    }
  });

  it('a watcher that never reads does not hold up the others', async () => {
    const { server } = await setup({ bookmarkIntervalMs: 0 });
    try {
      const rv = server.resourceVersion();
      const url = new URL(server.url);
      // A raw client that sends the request and then never reads the response.
      const stalled = connect(Number(url.port), url.hostname);
      stalled.write(
        `GET /api/v1/namespaces/bp/configmaps?watch=true&resourceVersion=${rv} HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      stalled.pause();
      const reader = await openWatch(
        server,
        `/api/v1/namespaces/bp/configmaps?watch=true&resourceVersion=${rv}`,
      );
      await new Promise((r) => setTimeout(r, 50));
      const big = 'x'.repeat(4096);
      const count = 3000; // ~12 MB: far beyond the socket buffers of the stalled watcher
      for (let i = 0; i < count; i++) server.create(cm(`bp-${i}`, 'bp', undefined, { big }));
      const events = await reader.next(count, 15_000);
      assert.equal(events.length, count);
      assert.equal(events.at(-1)?.object.metadata?.name, `bp-${count - 1}`);
      assert.equal((await json(server, '/version')).status, 200);
      reader.close();
      stalled.destroy();
    } finally {
      await server.close();
    }
  });

  it('a continue token expires once the bounded history has moved past it', async () => {
    const server = await startApiServer({ historySize: 20, bookmarkIntervalMs: 0 });
    try {
      for (let i = 0; i < 5; i++) server.create(cm(`p${i}`, 'ring'));
      const first = await json(server, '/api/v1/namespaces/ring/configmaps?limit=2');
      const token = (first.body['metadata'] as { continue: string }).continue;
      const ok = await json(server, `/api/v1/namespaces/ring/configmaps?limit=2&continue=${token}`);
      assert.equal(ok.status, 200);
      for (let i = 0; i < 25; i++) server.create(cm(`q${i}`, 'ring-other'));
      const gone = await json(
        server,
        `/api/v1/namespaces/ring/configmaps?limit=2&continue=${token}`,
      );
      assert.equal(gone.status, 410);
      assert.equal(gone.body['reason'], 'Expired');
      const watch = await openWatch(
        server,
        `/api/v1/configmaps?watch=true&resourceVersion=${(first.body['metadata'] as { resourceVersion: string }).resourceVersion}`,
      );
      const [ev] = await watch.next(1);
      assert.equal(ev?.type, 'ERROR');
      assert.equal(ev?.object.code, 410);
    } finally {
      await server.close();
    }
  });

  it('answers kubectl-style Table requests', async () => {
    const { server } = await setup();
    try {
      server.create(cm('tbl'));
      const table = await json(server, '/api/v1/namespaces/default/configmaps', {
        headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' },
      });
      assert.equal(table.body['kind'], 'Table');
      const cols = (table.body['columnDefinitions'] as { name: string }[]).map((c) => c.name);
      assert.deepEqual(cols, ['Name', 'Data', 'Age']);
      const rows = table.body['rows'] as { cells: unknown[] }[];
      assert.equal(rows[0]?.cells[0], 'tbl');
    } finally {
      await server.close();
    }
  });
});
