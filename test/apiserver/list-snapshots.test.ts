// Paged lists are snapshots, as on a real server reading etcd at the first page's revision:
// later pages (continue tokens) and exact-RV lists show the state at that RV, whatever happened
// since; a token or RV older than the history is 410 Expired.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { cm, json, setup } from './helpers.ts';

const NS = 'snap';
const PATH = `/api/v1/namespaces/${NS}/configmaps`;

interface ListBody {
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: { metadata: { name: string; resourceVersion: string }; data?: Record<string, string> }[];
}

async function list(server: ApiServer, query: string): Promise<ListBody> {
  const { status, body } = await json(server, `${PATH}?${query}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body as unknown as ListBody;
}

/** Every page from `first` on, following continue tokens. */
async function rest(server: ApiServer, first: ListBody, limit: number): Promise<ListBody[]> {
  const pages: ListBody[] = [];
  let token = first.metadata.continue;
  while (token !== undefined) {
    const page = await list(server, `limit=${limit}&continue=${encodeURIComponent(token)}`);
    pages.push(page);
    token = page.metadata.continue;
  }
  return pages;
}

const names = (pages: ListBody[]): string[] =>
  pages.flatMap((p) => p.items.map((i) => i.metadata.name));

/** Changes after the first page: an update, a delete and a create, all in the unread part. */
function writeBetweenPages(server: ApiServer): void {
  server.patch(
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'p4' },
    {
      data: { k: 'changed' },
    },
  );
  server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'p3' });
  server.create(cm('p6', NS, undefined, { k: 'v' }));
  server.create(cm('p0', 'elsewhere', undefined, { k: 'v' })); // another namespace moves the RV too
}

describe('apiserver list snapshots', () => {
  let server: ApiServer;
  beforeEach(async () => {
    ({ server } = await setup());
    for (let i = 1; i <= 5; i++) server.create(cm(`p${i}`, NS, undefined, { k: 'v' }));
  });
  afterEach(() => server.close());

  it('serves every continue page from the first page’s snapshot, with its resourceVersion', async () => {
    const first = await list(server, 'limit=2');
    const rv = first.metadata.resourceVersion;
    const p4Before = server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'p4' })!
      .metadata!.resourceVersion;
    writeBetweenPages(server);
    const pages = await rest(server, first, 2);
    assert.deepEqual(names([first, ...pages]), ['p1', 'p2', 'p3', 'p4', 'p5']);
    for (const page of pages) assert.equal(page.metadata.resourceVersion, rv);
    const p4 = pages.flatMap((p) => p.items).find((i) => i.metadata.name === 'p4')!;
    assert.deepEqual(p4.data, { k: 'v' }, 'the version of the snapshot, not the update');
    assert.equal(p4.metadata.resourceVersion, p4Before);
    assert.equal(pages[0]!.metadata.remainingItemCount, 1);
    // A fresh list sees the writes.
    const fresh = await list(server, '');
    assert.deepEqual(names([fresh]), ['p1', 'p2', 'p4', 'p5', 'p6']);
    assert.equal(fresh.metadata.resourceVersion, server.resourceVersion());
  });

  it('answers an exact-RV paged relist (and a paged list at an RV with no match) with that snapshot', async () => {
    const rv = (await list(server, '')).metadata.resourceVersion;
    writeBetweenPages(server);
    for (const query of [
      `resourceVersion=${rv}&resourceVersionMatch=Exact&limit=3`,
      `resourceVersion=${rv}&limit=3`,
    ]) {
      const first = await list(server, query);
      assert.equal(first.metadata.resourceVersion, rv, query);
      assert.equal(first.metadata.remainingItemCount, 2, query);
      const pages = await rest(server, first, 3);
      assert.deepEqual(names([first, ...pages]), ['p1', 'p2', 'p3', 'p4', 'p5'], query);
      for (const page of pages) assert.equal(page.metadata.resourceVersion, rv, query);
    }
    const whole = await list(server, `resourceVersion=${rv}&resourceVersionMatch=Exact`);
    assert.deepEqual(names([whole]), ['p1', 'p2', 'p3', 'p4', 'p5']);
    // Without a limit, an RV with no match is "not older than": the current state.
    const current = await list(server, `resourceVersion=${rv}`);
    assert.deepEqual(names([current]), ['p1', 'p2', 'p4', 'p5', 'p6']);
    assert.equal(current.metadata.resourceVersion, server.resourceVersion());
  });

  it('answers 410 with a fresh continue token when the snapshot is compacted away', async () => {
    const first = await list(server, 'limit=2');
    writeBetweenPages(server);
    server.faults.compactHistory();
    const { status, body } = await json(
      server,
      `${PATH}?limit=2&continue=${encodeURIComponent(first.metadata.continue!)}`,
    );
    assert.equal(status, 410);
    assert.equal(body['reason'], 'Expired');
    assert.equal(
      body['message'],
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    );
    const token = (body['metadata'] as { continue?: string }).continue;
    assert.ok(token, 'the Status carries a continue token');
    // It resumes after the same key, at the latest state and resourceVersion.
    const resumed = await list(server, `limit=2&continue=${encodeURIComponent(token)}`);
    assert.equal(resumed.metadata.resourceVersion, server.resourceVersion());
    const pages = [resumed, ...(await rest(server, resumed, 2))];
    assert.deepEqual(names(pages), ['p4', 'p5', 'p6']);
    assert.deepEqual(pages[0]!.items[0]!.data, { k: 'changed' });
    // An exact RV from before the compaction is gone too.
    const exact = await json(
      server,
      `${PATH}?resourceVersion=${first.metadata.resourceVersion}&resourceVersionMatch=Exact&limit=2`,
    );
    assert.equal(exact.status, 410);
    assert.equal(exact.body['message'], 'The resourceVersion for the provided list is too old.');
  });

  it('rejects a continue token with no valid resourceVersion', async () => {
    const bad = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 0, start: 'x' })).toString(
      'base64url',
    );
    const { status } = await json(server, `${PATH}?limit=2&continue=${bad}`);
    assert.equal(status, 400);
  });
});
