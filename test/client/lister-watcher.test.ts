import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApiServer, startApiServer } from '@kubecache/apiserver';
import { ApiStatusError, type KubeObject, type WatchEvent } from '@kubecache/cache';
import { KubeListerWatcher } from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';

function kubeConfig(server: ApiServer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfigYaml);
  return kc;
}

const signal = (): AbortSignal => AbortSignal.timeout(5000);

async function until(cond: () => boolean, info: () => string = () => '') {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out ${info()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('KubeListerWatcher (TLS + bearer token, over HTTP)', () => {
  let server: ApiServer;
  let kc: KubeConfig;

  before(async () => {
    server = await startApiServer({ tls: true, bookmarkIntervalMs: 0 });
    kc = kubeConfig(server);
    for (const ns of ['a', 'b']) {
      for (let i = 0; i < 3; i++) {
        server.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: `cm-${i}`,
            namespace: ns,
            labels: { tier: i === 0 ? 'front' : 'back' },
          },
          data: { big: 'x'.repeat(100) },
        } as KubeObject);
      }
    }
    server.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'a' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
        },
      },
    } as KubeObject);
  });
  after(() => server.close());

  it('builds core, group, namespaced, all-namespaces and cluster-scoped paths', () => {
    const path = (o: ConstructorParameters<typeof KubeListerWatcher>[1]) =>
      new KubeListerWatcher(kc, o).path();
    assert.equal(
      path({ resource: { group: '', version: 'v1', resource: 'pods' } }),
      '/api/v1/pods',
    );
    assert.equal(
      path({ resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'kube-system' }),
      '/api/v1/namespaces/kube-system/pods',
    );
    assert.equal(
      path({ resource: { group: 'apps', version: 'v1', resource: 'deployments' }, namespace: 'x' }),
      '/apis/apps/v1/namespaces/x/deployments',
    );
    assert.equal(
      path({
        resource: { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
        namespace: 'x',
      }),
      '/api/v1/namespaces',
    );
  });

  it('lists raw JSON with kind/apiVersion filled in, paged, across namespaces or in one', async () => {
    const all = new KubeListerWatcher<KubeObject>(kc, {
      resource: { group: '', version: 'v1', resource: 'configmaps' },
    });
    const first = await all.list({ limit: 4, signal: signal() });
    assert.equal(first.items.length, 4);
    assert.ok(first.continue);
    assert.ok(Number(first.resourceVersion) > 0);
    assert.equal(first.items[0]!.kind, 'ConfigMap');
    assert.equal(first.items[0]!.apiVersion, 'v1');
    const rest = await all.list({ limit: 4, continue: first.continue, signal: signal() });
    assert.equal(rest.items.length, 2);
    assert.equal(rest.continue, undefined);
    const inB = new KubeListerWatcher<KubeObject>(kc, {
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: 'b',
    });
    const b = await inB.list({ signal: signal() });
    assert.deepEqual(
      b.items.map((o) => o.metadata?.namespace),
      ['b', 'b', 'b'],
    );
    const deploys = new KubeListerWatcher<KubeObject>(kc, {
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    });
    const d = await deploys.list({ signal: signal() });
    assert.equal(d.items[0]!.kind, 'Deployment');
    assert.equal(d.items[0]!.apiVersion, 'apps/v1');
  });

  it('pipelines pages: the next page is requested early and used only by the matching call', async () => {
    const lw = new KubeListerWatcher<KubeObject>(kc, {
      resource: { group: '', version: 'v1', resource: 'configmaps' },
    });
    const pageRequests = (): string[] =>
      server.stats.log
        .filter((r) => r.url.includes('/configmaps?') && r.url.includes('limit=2'))
        .map((r) => r.url);
    const before = pageRequests().length;
    const p1 = await lw.list({ limit: 2, signal: signal() });
    // The second page was requested while the first was read.
    await until(
      () => pageRequests().length - before === 2,
      () => JSON.stringify(server.stats.log.slice(-5)),
    );
    const p2 = await lw.list({ limit: 2, continue: p1.continue, signal: signal() });
    await until(() => pageRequests().length - before === 3); // consuming page 2 prefetched page 3
    assert.notDeepEqual(
      p2.items.map((o) => o.metadata?.name + '/' + o.metadata?.namespace),
      p1.items.map((o) => o.metadata?.name + '/' + o.metadata?.namespace),
    );
    // A different call discards the prefetched page and is answered fresh.
    const other = await lw.list({ limit: 2, labelSelector: 'tier=front', signal: signal() });
    assert.deepEqual(
      other.items.map((o) => o.metadata?.labels?.tier),
      ['front', 'front'],
    );
    const again = await lw.list({ limit: 2, continue: p1.continue, signal: signal() });
    assert.deepEqual(
      again.items.map((o) => o.metadata?.name),
      p2.items.map((o) => o.metadata?.name),
    );
  });

  it('passes label and field selectors', async () => {
    const lw = new KubeListerWatcher<KubeObject>(kc, {
      resource: { group: '', version: 'v1', resource: 'configmaps' },
    });
    const front = await lw.list({ labelSelector: 'tier=front', signal: signal() });
    assert.deepEqual(
      front.items.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`),
      ['a/cm-0', 'b/cm-0'],
    );
    const byName = await lw.list({
      fieldSelector: 'metadata.name=cm-2,metadata.namespace=a',
      signal: signal(),
    });
    assert.deepEqual(
      byName.items.map((o) => o.metadata?.name),
      ['cm-2'],
    );
  });

  it('metadataOnly asks for PartialObjectMetadata lists and watch events', async () => {
    const lw = new KubeListerWatcher<KubeObject>(kc, {
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: 'a',
      metadataOnly: true,
    });
    const page = await lw.list({ signal: signal() });
    assert.equal(page.items.length, 3);
    assert.equal(page.items[0]!.kind, 'PartialObjectMetadata');
    assert.equal(page.items[0]!.apiVersion, 'meta.k8s.io/v1');
    assert.equal((page.items[0] as { data?: unknown }).data, undefined);
    const ac = new AbortController();
    const events: WatchEvent<KubeObject>[] = [];
    const done = (async () => {
      for await (const e of lw.watch({
        resourceVersion: page.resourceVersion,
        signal: ac.signal,
      })) {
        events.push(e);
        ac.abort();
      }
    })().catch(() => {});
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'meta-only', namespace: 'a' },
      data: { k: 'v' },
    } as KubeObject);
    await done;
    assert.equal(events[0]!.type, 'ADDED');
    assert.equal(events[0]!.object.kind, 'PartialObjectMetadata');
    assert.equal((events[0]!.object as { data?: unknown }).data, undefined);
  });

  it('watches typed events with onOpen and onBytes, and stops on abort', async () => {
    const lw = new KubeListerWatcher<KubeObject>(kc, {
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: 'b',
    });
    const { resourceVersion } = await lw.list({ signal: signal() });
    const ac = new AbortController();
    let opened = 0;
    let bytes = 0;
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const e of lw.watch({
        resourceVersion,
        allowWatchBookmarks: true,
        signal: ac.signal,
        onOpen: () => opened++,
        onBytes: (n) => (bytes += n),
      })) {
        seen.push(`${e.type} ${(e.object.metadata as { name?: string } | undefined)?.name ?? ''}`);
        if (seen.length === 3) ac.abort();
      }
    })();
    while (opened === 0) await new Promise((r) => setTimeout(r, 2));
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'w', namespace: 'b' },
    } as KubeObject);
    server.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'b', name: 'w' },
      { data: { x: '1' } },
    );
    server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'b', name: 'w' });
    await assert.rejects(iterating);
    assert.deepEqual(seen, ['ADDED w', 'MODIFIED w', 'DELETED w']);
    assert.equal(opened, 1);
    assert.ok(bytes > 100);
  });

  it('turns HTTP errors into ApiStatusError with the decoded Status and Retry-After', async () => {
    const lw = new KubeListerWatcher<KubeObject>(kc, {
      resource: { group: '', version: 'v1', resource: 'nosuchthings' },
    });
    await assert.rejects(lw.list({ signal: signal() }), (err: unknown) => {
      assert.ok(err instanceof ApiStatusError);
      assert.equal(err.statusCode, 404);
      assert.equal(err.reason, 'NotFound');
      assert.equal(err.status?.kind, 'Status');
      return true;
    });
    server.faults.failNext({ status: 429, retryAfterSeconds: 3, path: '/configmaps' });
    const ok = new KubeListerWatcher<KubeObject>(kc, {
      resource: { group: '', version: 'v1', resource: 'configmaps' },
    });
    await assert.rejects(ok.list({ signal: signal() }), (err: unknown) => {
      assert.ok(err instanceof ApiStatusError);
      assert.equal(err.statusCode, 429);
      assert.equal(err.retryAfterSeconds, 3);
      return true;
    });
    server.faults.failNext({ status: 410, path: '/configmaps', watch: true });
    await assert.rejects(
      async () => {
        for await (const e of ok.watch({ resourceVersion: '1', signal: signal() })) void e;
      },
      (err: unknown) => err instanceof ApiStatusError && err.isGone(),
    );
  });

  it('authenticates with the kubeconfig: a wrong token is 401', async () => {
    const kcBad = kubeConfig(server);
    const user = kcBad.getCurrentUser()!;
    (user as { token?: string }).token = 'wrong';
    const lw = new KubeListerWatcher<KubeObject>(kcBad, {
      resource: { group: '', version: 'v1', resource: 'configmaps' },
    });
    await assert.rejects(
      lw.list({ signal: signal() }),
      (err: unknown) => err instanceof ApiStatusError && err.statusCode === 401,
    );
  });
});
