/**
 * The client side of KEP-5866's `shardSelector`: a lister-watcher, an informer and a factory
 * asking for a shard get the same objects and the same watch events whether the server applies
 * the selector (`metadata.shardInfo` echoed) or ignores it (an older server): then the
 * lister-watcher filters with the same hash, and says which path it took.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import {
  formatShardSelector,
  matchesShard,
  parseShardSelector,
  shardSelectorFor,
  ShardSelectorParseError,
  type KubeObject,
  type ShardSelector,
  type WatchEvent,
} from '@kubecache/cache';
import {
  KubeListerWatcher,
  resources,
  SharedInformerFactory,
  type ConfigMap,
} from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';

// Names that differ before their last two characters: FNV-1a leaves the top bits of names that
// differ only at the end alike (`ns-0` … `ns-39` all hash into one quarter of the space).
const NAMESPACES = Array.from({ length: 12 }, (_, i) => `team-${i}-apps`);
const PER_NAMESPACE = 25;

const SELECTORS: readonly ShardSelector[] = [
  shardSelectorFor(0, 3),
  shardSelectorFor(2, 3),
  shardSelectorFor(1, 2, 'metadata.namespace'),
  // Two ranges OR-ed, as a member that owns two pieces of the space asks.
  {
    field: 'metadata.uid',
    ranges: [shardSelectorFor(0, 4).ranges[0]!, shardSelectorFor(3, 4).ranges[0]!],
  },
];

const keyOf = (o: KubeObject): string => `${o.metadata?.namespace}/${o.metadata?.name}`;
const keys = (items: readonly KubeObject[]): string[] => items.map(keyOf).sort();

function kubeConfig(server: ApiServer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfigYaml);
  return kc;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('shardSelector on the client (server-side and client-side filtering)', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  let all: ConfigMap[];

  before(async () => {
    server = await startApiServer({ bookmarkIntervalMs: 0 });
    kc = kubeConfig(server);
    for (const ns of NAMESPACES) {
      for (let i = 0; i < PER_NAMESPACE; i++) {
        server.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}`, namespace: ns },
          data: { i: String(i) },
        });
      }
    }
    all = server.list<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap' });
  });
  after(() => server.close());

  const lw = (): KubeListerWatcher<ConfigMap> =>
    new KubeListerWatcher<ConfigMap>(kc, {
      resource: { group: '', version: 'v1', resource: 'configmaps' },
    });

  it('a LIST returns the same objects either way; the lister-watcher records which path it took', async () => {
    for (const sel of SELECTORS) {
      const text = formatShardSelector(sel);
      const expected = keys(all.filter((o) => matchesShard(o, sel)));
      assert.ok(expected.length > 0 && expected.length < all.length, `${text} is a proper part`);

      server.shardSelector = 'honour';
      const honoured = lw();
      const a = await honoured.list({ shardSelector: text, signal: AbortSignal.timeout(5000) });
      assert.deepEqual(keys(a.items), expected);
      assert.equal(honoured.serverSideSharding, true);
      assert.equal(honoured.shardFilteredOut, 0);

      server.shardSelector = 'ignore';
      const ignored = lw();
      const b = await ignored.list({ shardSelector: text, signal: AbortSignal.timeout(5000) });
      assert.deepEqual(keys(b.items), expected, 'filtered on the client with the same hash');
      assert.equal(ignored.serverSideSharding, false);
      assert.equal(ignored.shardFilteredOut, all.length - expected.length);
      assert.equal(b.remainingItemCount, undefined);
    }
    server.shardSelector = 'honour';
  });

  it('paged LISTs: the pages together are the shard, in both modes', async () => {
    const sel = SELECTORS[0]!;
    const text = formatShardSelector(sel);
    const expected = keys(all.filter((o) => matchesShard(o, sel)));
    for (const mode of ['honour', 'ignore'] as const) {
      server.shardSelector = mode;
      const l = lw();
      const got: ConfigMap[] = [];
      let cont: string | undefined;
      let pages = 0;
      do {
        const page = await l.list({
          shardSelector: text,
          limit: 40,
          ...(cont === undefined ? {} : { continue: cont }),
          signal: AbortSignal.timeout(5000),
        });
        got.push(...page.items);
        cont = page.continue;
        pages++;
      } while (cont !== undefined);
      assert.ok(pages > 1, `${mode}: paged`);
      assert.deepEqual(keys(got), expected, mode);
      assert.equal(l.serverSideSharding, mode === 'honour');
    }
    server.shardSelector = 'honour';
  });

  it('WATCH: the same events reach a shard whether the server or the client filters them', async () => {
    const sel = SELECTORS[1]!;
    const text = formatShardSelector(sel);
    const from = server.resourceVersion();
    const streams: { lw: KubeListerWatcher<ConfigMap>; events: WatchEvent<ConfigMap>[] }[] = [];
    const ac = new AbortController();
    for (const mode of ['honour', 'ignore'] as const) {
      // An open watch keeps the mode it began with.
      server.shardSelector = mode;
      const l = lw();
      const events: WatchEvent<ConfigMap>[] = [];
      let opened = false;
      const iterable = l.watch({
        resourceVersion: from,
        shardSelector: text,
        signal: ac.signal,
        onOpen: () => (opened = true),
      });
      void (async () => {
        try {
          for await (const e of iterable) events.push(e);
        } catch {
          // aborted at the end
        }
      })();
      await until(`${mode} watch open`, () => opened);
      streams.push({ lw: l, events });
    }
    server.shardSelector = 'honour';

    const ns = 'watch-ns';
    const uids = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const cm = server.create<ConfigMap>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `w-${i}`, namespace: ns },
      });
      uids.set(`w-${i}`, cm.metadata!.uid!);
    }
    for (let i = 0; i < 40; i += 2) {
      server.patch(
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: `w-${i}` },
        { data: { v: '1' } },
      );
    }
    for (let i = 0; i < 40; i += 4) {
      server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: `w-${i}` });
    }
    const mine = [...uids]
      .filter(([, uid]) => matchesShard({ metadata: { uid } }, sel))
      .map(([n]) => n);
    const index = (n: string): number => Number(n.slice(2));
    // Each of the shard's objects: created; patched when even; deleted when a multiple of 4.
    const expected =
      mine.length +
      mine.filter((n) => index(n) % 2 === 0).length +
      mine.filter((n) => index(n) % 4 === 0).length;
    assert.ok(mine.length > 0 && mine.length < 40);
    const line = (e: WatchEvent<ConfigMap>): string =>
      `${e.type} ${e.type === 'BOOKMARK' || e.type === 'ERROR' ? '' : `${keyOf(e.object)}@${e.object.metadata?.resourceVersion}`}`;
    await until('every event', () => streams.every((s) => s.events.length >= expected));
    await new Promise((resolve) => setTimeout(resolve, 50)); // nothing more arrives
    ac.abort();
    const [serverSide, clientSide] = streams;
    assert.equal(serverSide!.events.length, expected);
    assert.deepEqual(clientSide!.events.map(line), serverSide!.events.map(line));
    assert.equal(serverSide!.lw.shardFilteredOut, 0, 'nothing to drop when the server filtered');
    assert.equal(clientSide!.lw.shardFilteredOut, 40 + 20 + 10 - expected);
  });

  it('informers from a factory cache the same shard in both modes, and the factory says which path', async () => {
    const sel = SELECTORS[2]!; // by namespace
    const expected = keys(all.filter((o) => matchesShard(o, sel)));
    for (const mode of ['honour', 'ignore'] as const) {
      server.shardSelector = mode;
      const factory = new SharedInformerFactory(kc, { shardSelector: sel });
      const informer = factory.informerFor(resources.configmaps);
      const ac = new AbortController();
      factory.start(ac.signal);
      assert.deepEqual(await factory.waitForCacheSync(ac.signal), {
        [factory.informers()[0]!.id]: true,
      });
      const cached = informer
        .getStore()
        .list()
        .filter((o) => o.metadata?.namespace !== 'watch-ns');
      assert.deepEqual(keys(cached as KubeObject[]), expected, mode);
      const [entry] = factory.informers();
      assert.equal(entry!.serverSideSharding, mode === 'honour');
      assert.match(entry!.id, /\[shard=shardRange\(object\.metadata\.namespace, /);
      await factory.shutdown();
    }
    server.shardSelector = 'honour';
  });

  it('the selector is part of an informer identity; given as text it is validated at once', () => {
    const factory = new SharedInformerFactory(kc);
    const a = factory.informerFor(resources.configmaps, { shardSelector: SELECTORS[0]! });
    const b = factory.informerFor(resources.configmaps, {
      shardSelector: formatShardSelector(SELECTORS[0]!),
    });
    const c = factory.informerFor(resources.configmaps, { shardSelector: SELECTORS[1]! });
    const d = factory.informerFor(resources.configmaps);
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.notEqual(a, d);
    assert.equal(factory.informers().find((i) => i.informer === d)!.serverSideSharding, undefined);
    assert.throws(
      () =>
        factory.informerFor(resources.configmaps, {
          shardSelector: "shardRange(object.metadata.uid, '0x0', '0x8')",
        }),
      (err: unknown) =>
        err instanceof ShardSelectorParseError && err.code === 'ShardSelectorParseError',
    );
  });

  it('without a selector nothing changes: no parameter sent, nothing filtered, no path recorded', async () => {
    const l = lw();
    const before = server.stats.log.length;
    const page = await l.list({ signal: AbortSignal.timeout(5000) });
    assert.equal(page.items.length, server.list({ apiVersion: 'v1', kind: 'ConfigMap' }).length);
    const urls = server.stats.log.slice(before).map((r) => r.url);
    assert.ok(urls.length > 0 && urls.every((u) => !u.includes('shardSelector')), urls.join(' '));
    assert.equal(l.serverSideSharding, undefined);
    assert.equal(l.shardFilteredOut, 0);
    // And a selector travels as the query parameter, as sent.
    const text = formatShardSelector(SELECTORS[3]!);
    await l.list({ shardSelector: text, signal: AbortSignal.timeout(5000) });
    const sent = new URL(server.stats.log.at(-1)!.url, server.url).searchParams.get(
      'shardSelector',
    );
    assert.equal(sent, text);
    assert.deepEqual(parseShardSelector(sent!), SELECTORS[3]);
  });
});
