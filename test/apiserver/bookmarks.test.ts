import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '@kubecache/cache';
import { cm, openWatch, setup } from './helpers.ts';

describe('apiserver periodic bookmarks', { concurrency: true }, () => {
  it('a watch with allowWatchBookmarks gets a BOOKMARK at the current RV within the interval; one without gets none', async () => {
    const interval = 250;
    const { server } = await setup({ bookmarkIntervalMs: interval });
    try {
      const rv = server.resourceVersion();
      const started = Date.now();
      const allowed = await openWatch(
        server,
        `/api/v1/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`,
      );
      const plain = await openWatch(server, `/api/v1/configmaps?watch=true&resourceVersion=${rv}`);
      const created = server.create<KubeObject>(cm('bm', 'bookmarks'));
      const [added, bookmark] = await allowed.next(2, interval + 2000);
      assert.equal(added?.type, 'ADDED');
      assert.equal(bookmark?.type, 'BOOKMARK');
      assert.equal(
        bookmark?.object.metadata?.resourceVersion,
        created.metadata!.resourceVersion,
        'the bookmark carries the current resourceVersion',
      );
      assert.equal(bookmark?.object.kind, 'ConfigMap');
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= interval - 50, `not before the interval (${elapsed} ms)`);
      assert.ok(elapsed < interval + 1500, `within the interval, give or take (${elapsed} ms)`);
      // Another interval later: another bookmark for one, still nothing but the ADDED for the other.
      const [again] = await allowed.next(1, interval + 2000);
      assert.equal(again?.type, 'BOOKMARK');
      assert.deepEqual(
        plain.events.map((e) => e.type),
        ['ADDED'],
        'no bookmarks without allowWatchBookmarks',
      );
      allowed.close();
      plain.close();
    } finally {
      await server.close();
    }
  });

  it('the interval runs per watch, from its start (a late watch does not wait for a shared tick)', async () => {
    const interval = 400;
    const { server } = await setup({ bookmarkIntervalMs: interval });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const w = await openWatch(
        server,
        `/api/v1/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=${server.resourceVersion()}`,
      );
      const [bookmark] = await w.next(1, interval + 2000);
      assert.equal(bookmark?.type, 'BOOKMARK');
      const elapsed = Date.now() - started;
      assert.ok(
        elapsed >= interval - 50,
        `a full interval after the watch started (${elapsed} ms)`,
      );
      w.close();
    } finally {
      await server.close();
    }
  });

  it('by default, like the real server, a bookmark comes 2 s before the timeoutSeconds deadline', async () => {
    const { server } = await setup();
    try {
      const rv = server.resourceVersion();
      const started = Date.now();
      const allowed = await openWatch(
        server,
        `/api/v1/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=3&resourceVersion=${rv}`,
      );
      const plain = await openWatch(
        server,
        `/api/v1/configmaps?watch=true&timeoutSeconds=3&resourceVersion=${rv}`,
      );
      const created = server.create<KubeObject>(cm('pre-timeout', 'bookmarks'));
      const [added, bookmark] = await allowed.next(2, 3000);
      assert.equal(added?.type, 'ADDED');
      assert.equal(bookmark?.type, 'BOOKMARK');
      assert.equal(bookmark?.object.metadata?.resourceVersion, created.metadata!.resourceVersion);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 900 && elapsed < 2500, `about 1 s in (${elapsed} ms)`);
      // The watch then ends at its deadline, cleanly; the other one saw no bookmark at all.
      assert.deepEqual(await allowed.done, { broken: false });
      assert.deepEqual(await plain.done, { broken: false });
      assert.deepEqual(
        plain.events.map((e) => e.type),
        ['ADDED'],
      );
    } finally {
      await server.close();
    }
  });

  it('bookmarkIntervalMs: 0 turns the timers off', async () => {
    const { server } = await setup({ bookmarkIntervalMs: 0 });
    try {
      const w = await openWatch(
        server,
        `/api/v1/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=3&resourceVersion=${server.resourceVersion()}`,
      );
      assert.deepEqual(await w.next(1, 1200), []);
      server.faults.sendBookmarks();
      const [bookmark] = await w.next(1);
      assert.equal(bookmark?.type, 'BOOKMARK', 'sendBookmarks() still works');
      w.close();
    } finally {
      await server.close();
    }
  });
});
