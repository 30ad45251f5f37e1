/**
 * KEP-5866 `shardSelector` over HTTP: complementary ranges split LISTs and WATCHes into disjoint
 * parts whose union is everything; `metadata.shardInfo` echoes the applied selector; a malformed
 * selector is a 400 BadRequest Status; and a server told to ignore the parameter (an older server,
 * or the feature gate off) returns everything without `shardInfo`, which a client filtering with
 * the same hash turns into the same result.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import {
  formatShardSelector,
  matchesShard,
  parseShardSelector,
  shardSelectorFor,
} from '@kubecache/cache';
import type { KubeObject } from '@kubecache/cache';
import { cm, json, openWatch, setup } from './helpers.ts';
import type { WireEvent } from './helpers.ts';

const LOWER = "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')";
const UPPER = "shardRange(object.metadata.uid, '0x8000000000000000', '0x10000000000000000')";
const NAMESPACES = ['shard-a', 'shard-b', 'shard-c', 'shard-d', 'shard-e', 'shard-f'];
const ALL = '/api/v1/configmaps';
const META_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const META_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

interface ListBody {
  kind: string;
  metadata: {
    resourceVersion: string;
    continue?: string;
    remainingItemCount?: number;
    shardInfo?: { selector: string };
  };
  items: { metadata: { name: string; namespace: string; uid: string } }[];
}

/** A LIST (asserting 200) with an optional shard selector and more query. */
async function list(
  server: ApiServer,
  path: string,
  selector?: string,
  extra = '',
  headers: Record<string, string> = {},
): Promise<ListBody> {
  const params = new URLSearchParams(extra);
  if (selector !== undefined) params.set('shardSelector', selector);
  const q = params.toString();
  const res = await json(server, q === '' ? path : `${path}?${q}`, { headers });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as unknown as ListBody;
}

const keyOf = (i: { metadata: { name: string; namespace: string } }): string =>
  `${i.metadata.namespace}/${i.metadata.name}`;

const keysOf = (body: ListBody): string[] => body.items.map(keyOf);

/** The keys of ADDED/MODIFIED/DELETED events (bookmarks and errors left out). */
function eventKeys(events: WireEvent[]): string[] {
  return events
    .filter((e) => e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED')
    .map((e) => {
      const m = e.object.metadata as { name: string; namespace: string };
      return `${e.type} ${m.namespace}/${m.name}`;
    });
}

describe('apiserver shardSelector (KEP-5866)', () => {
  let server: ApiServer;
  let everything: string[];
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    for (const ns of NAMESPACES) {
      for (let i = 0; i < 20; i++) server.create(cm(`c${i}`, ns, { i: String(i % 3) }));
    }
    everything = keysOf(await list(server, ALL));
    assert.equal(everything.length, NAMESPACES.length * 20);
  });
  after(() => server.close());

  it('two complementary ranges return disjoint sets whose union is everything', async () => {
    const lower = await list(server, ALL, LOWER);
    const upper = await list(server, ALL, UPPER);
    const a = keysOf(lower);
    const b = keysOf(upper);
    assert.ok(a.length > 0 && b.length > 0, `both halves non-empty (${a.length}/${b.length})`);
    assert.equal(a.filter((k) => b.includes(k)).length, 0, 'no object is in both shards');
    assert.deepEqual([...a, ...b].sort(), [...everything].sort());
    // The server placed each object by the same hash the cache package computes.
    const lowerSel = parseShardSelector(LOWER);
    for (const item of lower.items) assert.ok(matchesShard(item as KubeObject, lowerSel));
    for (const item of upper.items) assert.ok(!matchesShard(item as KubeObject, lowerSel));
    assert.equal(lower.kind, 'ConfigMapList');
  });

  it('echoes the selector exactly as sent in metadata.shardInfo, after the resourceVersion', async () => {
    const sent = `  ( ${LOWER} )`;
    const res = await fetch(`${server.url}${ALL}?shardSelector=${encodeURIComponent(sent)}`);
    const text = await res.text();
    const body = JSON.parse(text) as ListBody;
    assert.deepEqual(body.metadata.shardInfo, { selector: sent });
    assert.match(
      text,
      /^\{"kind":"ConfigMapList","apiVersion":"v1","metadata":\{"resourceVersion":"\d+","shardInfo":\{"selector":/,
    );
  });

  it('n equal shards (OR-ed ranges too) partition a namespace; shard by namespace keeps namespaces whole', async () => {
    const ns = `/api/v1/namespaces/${NAMESPACES[0]}/configmaps`;
    const whole = keysOf(await list(server, ns));
    const parts: string[][] = [];
    for (let i = 0; i < 4; i++)
      parts.push(keysOf(await list(server, ns, formatShardSelector(shardSelectorFor(i, 4)))));
    assert.deepEqual(parts.flat().sort(), [...whole].sort());
    assert.equal(new Set(parts.flat()).size, whole.length);
    // Shards 0 and 2 as one selector: the union of the two.
    const union =
      formatShardSelector(shardSelectorFor(0, 4)) +
      ' || ' +
      formatShardSelector(shardSelectorFor(2, 4));
    assert.deepEqual(
      keysOf(await list(server, ns, union)).sort(),
      [...parts[0]!, ...parts[2]!].sort(),
    );

    const byNs = [0, 1].map((i) => shardSelectorFor(i, 2, 'metadata.namespace'));
    const halves = await Promise.all(byNs.map((s) => list(server, ALL, formatShardSelector(s))));
    for (const half of halves) {
      const namespaces = new Set(half.items.map((i) => i.metadata.namespace));
      for (const n of namespaces) {
        assert.equal(half.items.filter((i) => i.metadata.namespace === n).length, 20, `${n} whole`);
      }
    }
    assert.equal(halves[0]!.items.length + halves[1]!.items.length, everything.length);
  });

  it('combines with label selectors and paging; remainingItemCount is left unset', async () => {
    const labelled = keysOf(await list(server, ALL, LOWER, 'labelSelector=i%3D1'));
    const expected = keysOf(await list(server, ALL, undefined, 'labelSelector=i%3D1'));
    const lowerAll = new Set(keysOf(await list(server, ALL, LOWER)));
    assert.deepEqual(
      labelled,
      expected.filter((k) => lowerAll.has(k)),
    );

    const paged: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await list(
        server,
        ALL,
        LOWER,
        `limit=7${cont !== undefined ? `&continue=${encodeURIComponent(cont)}` : ''}`,
      );
      assert.deepEqual(
        page.metadata.shardInfo,
        { selector: LOWER },
        'every page says it is sharded',
      );
      assert.equal(page.metadata.remainingItemCount, undefined);
      paged.push(...keysOf(page));
      cont = page.metadata.continue;
      pages++;
    } while (cont !== undefined);
    assert.ok(pages > 1);
    assert.deepEqual(paged, [...lowerAll]);
  });

  it('applies to metadata-only and Table lists, which carry shardInfo too', async () => {
    const full = keysOf(await list(server, ALL, UPPER));
    const meta = await list(server, ALL, UPPER, '', { Accept: META_LIST_ACCEPT });
    assert.equal(meta.kind, 'PartialObjectMetadataList');
    assert.deepEqual(keysOf(meta), full);
    assert.deepEqual(meta.metadata.shardInfo, { selector: UPPER });
    const table = (await list(server, ALL, UPPER, '', { Accept: TABLE_ACCEPT })) as unknown as {
      kind: string;
      metadata: ListBody['metadata'];
      rows: unknown[];
    };
    assert.equal(table.kind, 'Table');
    assert.equal(table.rows.length, full.length);
    assert.deepEqual(table.metadata.shardInfo, { selector: UPPER });
  });

  it('an empty shardSelector is no selector: everything, no shardInfo', async () => {
    const body = await list(server, ALL, '');
    assert.deepEqual(keysOf(body), everything);
    assert.equal(body.metadata.shardInfo, undefined);
  });

  it('filters watch events the same way: each object reaches exactly one of two watches', async () => {
    const ns = 'shard-watch';
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const from = server.resourceVersion();
    const q = (sel: string): string =>
      `${path}?watch=true&resourceVersion=${from}&shardSelector=${encodeURIComponent(sel)}`;
    const lower = await openWatch(server, q(LOWER));
    const upper = await openWatch(server, q(UPPER));
    const meta = await openWatch(server, q(LOWER), { Accept: META_ACCEPT });
    assert.equal(lower.status, 200);
    const names = Array.from({ length: 16 }, (_, i) => `w${i}`);
    for (const name of names) server.create(cm(name, ns));
    for (const name of names) {
      server.patch(
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name },
        { data: { v: '1' } },
      );
    }
    for (const name of names.slice(0, 8)) {
      server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
    }
    const lowerSel = parseShardSelector(LOWER);
    const expectedLower: string[] = [];
    const expectedUpper: string[] = [];
    const uids = new Map<string, string>();
    // Deleted objects are gone from the store; take their uids from the full watch history.
    const full = await openWatch(server, `${path}?watch=true&resourceVersion=${from}`);
    const fullEvents = await full.next(16 * 2 + 8);
    full.close();
    for (const e of fullEvents) {
      const m = e.object.metadata as { name: string; uid: string };
      uids.set(m.name, m.uid);
    }
    for (const e of fullEvents) {
      const m = e.object.metadata as { name: string; namespace: string; uid: string };
      const line = `${e.type} ${ns}/${m.name}`;
      if (matchesShard({ metadata: { uid: uids.get(m.name)! } }, lowerSel))
        expectedLower.push(line);
      else expectedUpper.push(line);
    }
    assert.ok(expectedLower.length > 0 && expectedUpper.length > 0);
    const gotLower = eventKeys(await lower.next(expectedLower.length));
    const gotUpper = eventKeys(await upper.next(expectedUpper.length));
    const gotMeta = await meta.next(expectedLower.length);
    assert.deepEqual(gotLower, expectedLower);
    assert.deepEqual(gotUpper, expectedUpper);
    assert.deepEqual(eventKeys(gotMeta), expectedLower);
    assert.equal(gotMeta[0]?.object.kind, 'PartialObjectMetadata');
    // Nothing else arrives: the other half's events were never sent.
    assert.deepEqual(await lower.next(1, 200), []);
    assert.deepEqual(await upper.next(1, 200), []);
    for (const w of [lower, upper, meta]) w.close();
  });

  it('initial events are filtered; the initial-events-end bookmark reaches every shard', async () => {
    const ns = `/api/v1/namespaces/${NAMESPACES[1]}/configmaps`;
    const whole = keysOf(await list(server, ns));
    const got: string[][] = [];
    for (const sel of [LOWER, UPPER]) {
      const w = await openWatch(
        server,
        `${ns}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&shardSelector=${encodeURIComponent(sel)}`,
      );
      const expected = keysOf(await list(server, ns, sel));
      const events = await w.next(expected.length + 1);
      const bookmark = events.at(-1);
      assert.equal(bookmark?.type, 'BOOKMARK');
      assert.equal(bookmark.object.metadata?.annotations?.['k8s.io/initial-events-end'], 'true');
      const added = events
        .slice(0, -1)
        .map((e) => keyOf(e.object as unknown as ListBody['items'][0]));
      assert.deepEqual(added, expected);
      got.push(added);
      w.close();
    }
    assert.deepEqual(got.flat().sort(), [...whole].sort());
    // Without a resourceVersion the synthetic ADDED events are filtered too.
    const plain = await openWatch(
      server,
      `${ns}?watch=true&shardSelector=${encodeURIComponent(LOWER)}`,
    );
    assert.deepEqual(
      (await plain.next(got[0]!.length)).map((e) =>
        keyOf(e.object as unknown as ListBody['items'][0]),
      ),
      got[0],
    );
    assert.deepEqual(await plain.next(1, 200), []);
    plain.close();
  });

  it('answers a malformed selector with a 400 BadRequest Status, on LIST and WATCH', async () => {
    const bad = "shardRange(object.metadata.uid, '0x0', '0x8000000000000000')";
    for (const path of [ALL, `${ALL}?watch=true`]) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await json(server, `${path}${sep}shardSelector=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400);
      assert.equal(res.body['kind'], 'Status');
      assert.equal(res.body['apiVersion'], 'v1');
      assert.equal(res.body['status'], 'Failure');
      assert.equal(res.body['reason'], 'BadRequest');
      assert.equal(res.body['code'], 400);
      assert.equal(
        res.body['message'],
        `invalid shard selector: hexStart must be '0x' and 16 hex digits, got "0x0" (at position 33)`,
      );
    }
    for (const [text, reason] of [
      ['   ', /empty shard selector/],
      [
        `shardRange(object.metadata.name, '0x0000000000000000', '0x8000000000000000')`,
        /unsupported field path/,
      ],
      [`${LOWER} && ${UPPER}`, /unsupported operator "&&"/],
      [
        `${LOWER} || shardRange(object.metadata.namespace, '0x8000000000000000', '0x10000000000000000')`,
        /same field/,
      ],
    ] as const) {
      const res = await json(server, `${ALL}?shardSelector=${encodeURIComponent(text)}`);
      assert.equal(res.status, 400);
      assert.match(res.body['message'] as string, reason);
    }
  });
});

describe('apiserver shardSelector ignored (an older server)', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0, shardSelector: 'ignore' }));
    for (let i = 0; i < 30; i++) server.create(cm(`c${i}`, 'old'));
  });
  after(() => server.close());

  it('returns everything, without shardInfo, and does not even parse the selector', async () => {
    assert.equal(server.shardSelector, 'ignore');
    const path = '/api/v1/namespaces/old/configmaps';
    const all = await list(server, path);
    const body = await list(server, path, LOWER);
    assert.deepEqual(keysOf(body), keysOf(all));
    assert.equal(body.metadata.shardInfo, undefined);
    assert.equal(JSON.stringify(body.metadata).includes('shard'), false);
    const garbage = await list(server, path, 'not a selector');
    assert.deepEqual(keysOf(garbage), keysOf(all));
  });

  it('a client filtering with the same hash gets what an honouring server sends', async () => {
    const path = '/api/v1/namespaces/old/configmaps';
    const sel = parseShardSelector(UPPER);
    const ignored = await list(server, path, UPPER);
    assert.equal(ignored.metadata.shardInfo, undefined, 'the signal to filter on the client');
    const clientSide = keysOf({
      ...ignored,
      items: ignored.items.filter((i) => matchesShard(i as KubeObject, sel)),
    });
    server.shardSelector = 'honour';
    try {
      const honoured = await list(server, path, UPPER);
      assert.deepEqual(honoured.metadata.shardInfo, { selector: UPPER });
      assert.deepEqual(keysOf(honoured), clientSide);
    } finally {
      server.shardSelector = 'ignore';
    }
  });

  it('watches get every event, and the toggle switches the same server at run time', async () => {
    const path = '/api/v1/namespaces/old/configmaps';
    const from = server.resourceVersion();
    const q = `${path}?watch=true&resourceVersion=${from}&shardSelector=${encodeURIComponent(LOWER)}`;
    const ignoring = await openWatch(server, q);
    server.shardSelector = 'honour';
    const honouring = await openWatch(server, q);
    server.shardSelector = 'ignore';
    const names = Array.from({ length: 10 }, (_, i) => `late${i}`);
    for (const name of names) server.create(cm(name, 'old'));
    const all = eventKeys(await ignoring.next(10));
    assert.deepEqual(
      all,
      names.map((n) => `ADDED old/${n}`),
    );
    const sel = parseShardSelector(LOWER);
    const mine = names.filter((name) =>
      matchesShard(
        server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'old', name })!,
        sel,
      ),
    );
    assert.deepEqual(
      eventKeys(await honouring.next(mine.length)),
      mine.map((n) => `ADDED old/${n}`),
    );
    assert.deepEqual(
      await honouring.next(1, 200),
      [],
      'the open watch kept the mode it began with',
    );
    ignoring.close();
    honouring.close();
  });
});
