// forResource without a scope asks discovery: cluster-scoped resources work on a namespaced
// factory, and a CRD that is not installed yet is a typed, hinted failure that resolves by itself
// (the informer syncs once the CRD appears, without a restart).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import { errorHint, ReflectorError, type KubeObject } from '@kubecache/cache';
import { ApiDiscovery, ResourceNotServedError, SharedInformerFactory } from '@kubecache/client';
import type { KubeConfig } from '@kubernetes/client-node';
import { MYAPP_CRD, setup } from '../apiserver/helpers.ts';

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const CLUSTER_CRD = {
  ...MYAPP_CRD,
  metadata: { name: 'widgets.example.com' },
  spec: {
    ...MYAPP_CRD.spec,
    group: 'example.com',
    names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
    scope: 'Cluster',
  },
} as unknown as KubeObject;

describe('discovery for forResource', () => {
  let server: ApiServer;
  let kc: KubeConfig;

  before(async () => {
    ({ server, kc } = await setup({ bookmarkIntervalMs: 0 }));
    server.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
  });
  after(() => server.close());

  it('answers kind and scope of built-ins and says clearly what is not served', async () => {
    const discovery = new ApiDiscovery(kc);
    assert.deepEqual(
      { ...(await discovery.resource({ group: '', version: 'v1', resource: 'nodes' })), verbs: [] },
      { kind: 'Node', namespaced: false, verbs: [] },
    );
    assert.equal(
      (await discovery.resource({ group: 'apps', version: 'v1', resource: 'deployments' }))
        .namespaced,
      true,
    );
    await assert.rejects(
      discovery.resource({ group: 'nope.example.com', version: 'v1', resource: 'things' }),
      (err: unknown) =>
        err instanceof ResourceNotServedError &&
        err.code === 'ResourceNotServed' &&
        /things/.test(err.message) &&
        /kubectl get crd things\.nope\.example\.com/.test(err.hint ?? ''),
    );
    await assert.rejects(
      discovery.resource({ group: '', version: 'v1', resource: 'nodez' }),
      (err: unknown) => err instanceof ResourceNotServedError && /nodez/.test(err.message),
    );
  });

  it('a cluster-scoped resource named by hand on a namespaced factory lists cluster-wide', async () => {
    const factory = new SharedInformerFactory(kc, { namespace: 'default' });
    const nodes = factory.forResource({ group: '', version: 'v1', resource: 'nodes' });
    const ac = new AbortController();
    factory.start(ac.signal);
    try {
      assert.equal(await nodes.informer().waitForSync(AbortSignal.timeout(5000)), true);
      assert.deepEqual(
        nodes
          .lister()
          .list()
          .map((n) => [n.kind, n.metadata?.name]),
        [['Node', 'node-a']],
      );
    } finally {
      ac.abort();
      await factory.shutdown();
    }
  });

  it('a CRD installed after the informer started: typed hinted failures, then a sync without restart', async () => {
    const errors: unknown[] = [];
    const factory = new SharedInformerFactory(kc, {
      namespace: 'default',
      reflector: { backoff: { initialMs: 5, maxMs: 20 } },
      onError: (err) => errors.push(err),
    });
    const widgets = factory.forResource({
      group: 'example.com',
      version: 'v1',
      resource: 'widgets',
    });
    const ac = new AbortController();
    factory.start(ac.signal);
    try {
      await until(() => errors.length >= 2, 'failures while the CRD is missing');
      const first = errors[0];
      assert.ok(first instanceof ReflectorError && first.stage === 'list');
      assert.ok(first.cause instanceof ResourceNotServedError);
      assert.match(errorHint(first) ?? '', /is the CRD installed\?/);
      assert.equal(widgets.informer().hasSynced(), false);
      server.create(CLUSTER_CRD);
      server.create({
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w1' },
      });
      assert.equal(await widgets.informer().waitForSync(AbortSignal.timeout(5000)), true);
      assert.deepEqual(
        widgets
          .lister()
          .list()
          .map((w) => w.metadata?.name),
        ['w1'],
      );
      assert.equal(widgets.lister().get('w1').kind, 'Widget');
    } finally {
      ac.abort();
      await factory.shutdown();
    }
  });
});
