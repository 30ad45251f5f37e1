import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import {
  NotFoundError,
  type DeepReadonly,
  labelIndexFunc,
  labelIndexName,
  parseLabelSelector,
  stripManagedFields,
  type KubeObject,
} from '@kubecache/cache';
import {
  SharedInformerFactory,
  resources,
  type ConfigMap,
  type Deployment,
  type DynamicObject,
  type Lease,
  type PartialObjectMetadata,
  type Pod,
} from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';
import { MYAPP_CRD } from '../apiserver/helpers.ts';

const deployment = (namespace: string, name: string, labels: Record<string, string>): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace, name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
      },
    },
  }) as KubeObject;

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SharedInformerFactory over HTTP (embedded API server)', () => {
  let server: ApiServer;
  let kc: KubeConfig;

  before(async () => {
    server = await startApiServer({
      bookmarkIntervalMs: 0,
      objects: [
        deployment('default', 'web', { app: 'web', tier: 'frontend' }),
        deployment('default', 'api', { app: 'api', tier: 'backend' }),
        deployment('other', 'web', { app: 'web', tier: 'frontend' }),
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            namespace: 'default',
            name: 'settings',
            managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
          },
          data: { a: '1' },
        } as KubeObject,
      ],
    });
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
  });
  after(() => server.close());

  it('dedups informers by resource and options', () => {
    const factory = new SharedInformerFactory(kc);
    const a = factory.apps.v1.deployments().informer();
    assert.equal(factory.apps.v1.deployments().informer(), a);
    assert.equal(factory.informerFor(resources.deployments), a);
    assert.equal(
      factory.informerFor({ group: 'apps', version: 'v1', resource: 'deployments' }),
      a,
      'a plain ResourceRef finds the same informer',
    );
    assert.notEqual(factory.informerFor(resources.deployments, { namespace: 'default' }), a);
    assert.notEqual(factory.informerFor(resources.deployments, { labelSelector: 'app=web' }), a);
    assert.equal(
      factory.informerFor(resources.deployments, { labelSelector: 'app=web' }),
      factory.informerFor(resources.deployments, { labelSelector: 'app=web' }),
    );
    assert.notEqual(factory.metadataFor(resources.deployments).informer(), a);
    assert.notEqual(
      factory.informerFor(resources.deployments, { transform: stripManagedFields }),
      a,
    );
    assert.equal(
      factory.informerFor(resources.deployments, { transform: stripManagedFields }),
      factory.informerFor(resources.deployments, { transform: stripManagedFields }),
    );
  });

  it('typed accessors sync, and listers answer from the cache (selectors, namespaces, NotFound)', async () => {
    const factory = new SharedInformerFactory(kc, { resyncPeriodMs: 60_000 });
    const deployments = factory.apps.v1.deployments();
    const configmaps = factory.core.v1.configmaps();
    const leases = factory.coordination.v1.leases();
    const ac = new AbortController();
    factory.start(ac.signal);
    const synced = await factory.waitForCacheSync(AbortSignal.timeout(5000));
    assert.deepEqual(synced, {
      'apps/v1/deployments[resync=60000]': true,
      'core/v1/configmaps[resync=60000]': true,
      'coordination.k8s.io/v1/leases[resync=60000]': true,
    });
    // The types are client-node's models with wire (string) timestamps.
    const web: DeepReadonly<Deployment> = deployments.lister().namespace('default').get('web');
    const created: string | undefined = web.metadata?.creationTimestamp;
    assert.equal(typeof created, 'string');
    assert.equal(web.spec?.replicas, 1);
    const cms: readonly DeepReadonly<ConfigMap>[] = configmaps.lister().list();
    assert.equal(cms[0]?.data?.['a'], '1');
    const noLeases: readonly DeepReadonly<Lease>[] = leases.lister().list();
    assert.equal(noLeases.length, 0);

    const lister = deployments.lister();
    const names = (xs: readonly DeepReadonly<Deployment>[]): string[] =>
      xs.map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`).sort();
    assert.deepEqual(names(lister.list()), ['default/api', 'default/web', 'other/web']);
    assert.deepEqual(names(lister.list('tier=frontend')), ['default/web', 'other/web']);
    assert.deepEqual(names(lister.list(parseLabelSelector('tier!=frontend'))), ['default/api']);
    assert.deepEqual(names(lister.namespace('default').list()), ['default/api', 'default/web']);
    assert.deepEqual(names(lister.namespace('other').list('app in (web,api)')), ['other/web']);
    assert.equal(lister.get('other/web').metadata?.namespace, 'other');
    assert.equal(lister.namespace('default').tryGet('nope'), undefined);
    assert.throws(
      () => lister.namespace('default').get('nope'),
      (err: unknown) =>
        err instanceof NotFoundError &&
        err.code === 'NotFound' &&
        err.key === 'default/nope' &&
        err.resource === 'deployments.apps',
    );
    assert.throws(() => lister.get('missing'), NotFoundError);

    // Index-backed label queries: add a label index, answers stay the same.
    deployments.informer().addIndexers({ [labelIndexName('tier')]: labelIndexFunc('tier') });
    assert.deepEqual(names(lister.list('tier=frontend')), ['default/web', 'other/web']);

    // Informers requested after start() start at once.
    const pods: readonly DeepReadonly<Pod>[] = factory.core.v1.pods().lister().list();
    assert.equal(pods.length, 0);
    const late = await factory.waitForCacheSync(AbortSignal.timeout(5000));
    assert.equal(late['core/v1/pods[resync=60000]'], true);
    ac.abort();
    await factory.shutdown();
  });

  it('every typed accessor lists and watches its built-in resource', async () => {
    const factory = new SharedInformerFactory(kc);
    const pairs = [
      factory.apps.v1.deployments(),
      factory.apps.v1.replicasets(),
      factory.apps.v1.statefulsets(),
      factory.apps.v1.daemonsets(),
      factory.core.v1.pods(),
      factory.core.v1.configmaps(),
      factory.core.v1.secrets(),
      factory.core.v1.services(),
      factory.core.v1.namespaces(),
      factory.core.v1.events(),
      factory.coordination.v1.leases(),
    ];
    factory.start();
    const synced = await factory.waitForCacheSync(AbortSignal.timeout(5000));
    assert.deepEqual(Object.keys(synced).sort(), [
      'apps/v1/daemonsets',
      'apps/v1/deployments',
      'apps/v1/replicasets',
      'apps/v1/statefulsets',
      'coordination.k8s.io/v1/leases',
      'core/v1/configmaps',
      'core/v1/events',
      'core/v1/namespaces',
      'core/v1/pods',
      'core/v1/secrets',
      'core/v1/services',
    ]);
    assert.ok(Object.values(synced).every(Boolean));
    assert.equal(pairs.length, 11);
    // Cluster-scoped: namespaces are keyed by name.
    assert.equal(factory.core.v1.namespaces().lister().get('default').metadata?.name, 'default');
    server.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: 'default', name: 'leader' },
      spec: { holderIdentity: 'me' },
    } as KubeObject);
    await until(
      () =>
        factory.coordination.v1.leases().lister().namespace('default').tryGet('leader') !==
        undefined,
      'lease',
    );
    assert.equal(
      factory.coordination.v1.leases().lister().namespace('default').get('leader').spec
        ?.holderIdentity,
      'me',
    );
    await factory.shutdown();
  });

  it('a field selector narrows the list and watch on the server', async () => {
    const factory = new SharedInformerFactory(kc, { fieldSelector: 'metadata.name=web' });
    const deployments = factory.apps.v1.deployments();
    factory.start();
    await factory.waitForCacheSync(AbortSignal.timeout(5000));
    assert.deepEqual(
      deployments
        .lister()
        .list()
        .map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`)
        .sort(),
      ['default/web', 'other/web'],
    );
    await factory.shutdown();
  });

  it('factory options: namespace, label selector and transform reach the informers', async () => {
    const factory = new SharedInformerFactory(kc, {
      namespace: 'default',
      labelSelector: 'tier=frontend',
      transform: stripManagedFields,
    });
    const deployments = factory.apps.v1.deployments();
    const configmaps = factory.informerFor(resources.configmaps, { labelSelector: '' });
    factory.start();
    const synced = await factory.waitForCacheSync(AbortSignal.timeout(5000));
    assert.ok(Object.values(synced).every(Boolean), JSON.stringify(synced));
    assert.deepEqual(
      deployments
        .lister()
        .list()
        .map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`),
      ['default/web'],
    );
    const settings = configmaps.getStore().getByKey('default/settings');
    assert.equal(settings?.data?.['a'], '1');
    assert.equal(settings?.metadata?.managedFields, undefined, 'managedFields stripped');
    await factory.shutdown();
  });

  it('dynamic informers watch a CRD (MyApp) and metadata informers cache PartialObjectMetadata', async () => {
    server.create(MYAPP_CRD as KubeObject);
    server.create({
      apiVersion: 'my.domain/v1',
      kind: 'MyApp',
      metadata: { namespace: 'default', name: 'shop' },
      spec: { appName: 'shop', version: '1.0' },
    } as KubeObject);
    const factory = new SharedInformerFactory(kc);
    const myapps = factory.forResource({ group: 'my.domain', version: 'v1', resource: 'myapps' });
    const seen: string[] = [];
    myapps.informer().addEventHandler({
      onAdd: (o: DynamicObject) =>
        void seen.push(`add ${(o['spec'] as { version: string }).version}`),
      onUpdate: (_a, b: DynamicObject) =>
        void seen.push(`update ${(b['spec'] as { version: string }).version}`),
      onDelete: () => void seen.push('delete'),
    });
    const meta = factory.metadataFor(resources.deployments);
    factory.start();
    await factory.waitForCacheSync(AbortSignal.timeout(5000));
    const shop = myapps.lister().namespace('default').get('shop');
    assert.equal(shop.kind, 'MyApp');
    server.patch(
      { apiVersion: 'my.domain/v1', kind: 'MyApp', namespace: 'default', name: 'shop' },
      {
        spec: { version: '2.0' },
      },
    );
    server.delete({
      apiVersion: 'my.domain/v1',
      kind: 'MyApp',
      namespace: 'default',
      name: 'shop',
    });
    await until(() => seen.length === 3, 'MyApp events');
    assert.deepEqual(seen, ['add 1.0', 'update 2.0', 'delete']);

    const partial: DeepReadonly<PartialObjectMetadata> = meta
      .lister()
      .namespace('default')
      .get('web');
    assert.equal(partial.kind, 'PartialObjectMetadata');
    assert.equal(partial.apiVersion, 'meta.k8s.io/v1');
    assert.equal(
      (partial as Record<string, unknown>)['spec'],
      undefined,
      'no spec in metadata-only objects',
    );
    assert.equal(partial.metadata?.labels?.['tier'], 'frontend');
    await factory.shutdown();
  });

  it('waitForCacheSync reports false for informers that cannot sync when the signal aborts', async () => {
    const factory = new SharedInformerFactory(kc, {
      reflector: { backoff: { initialMs: 10, maxMs: 20 } },
      onError: () => {},
    });
    factory.apps.v1.deployments();
    factory.forResource({ group: 'nothing.example', version: 'v1', resource: 'ghosts' });
    factory.start();
    const ac = new AbortController();
    const pending = factory.waitForCacheSync(ac.signal);
    await until(() => factory.apps.v1.deployments().informer().hasSynced(), 'deployments sync');
    ac.abort();
    assert.deepEqual(await pending, {
      'apps/v1/deployments': true,
      'nothing.example/v1/ghosts': false,
    });
    await factory.shutdown();
  });

  it('shutdown() stops the informers and waits for handlers to drain', async () => {
    const factory = new SharedInformerFactory(kc);
    const done: string[] = [];
    factory.apps.v1
      .deployments()
      .informer()
      .addEventHandler({
        onAdd: async (d) => {
          await new Promise((r) => setTimeout(r, 5));
          done.push(d.metadata?.name ?? '');
        },
      });
    factory.start();
    await factory.waitForCacheSync(AbortSignal.timeout(5000));
    await factory.shutdown();
    assert.equal(done.length, 3, 'every buffered add was handled before shutdown resolved');
    const watchesBefore = server.stats.watches;
    server.create(deployment('default', 'after-shutdown', { app: 'x' }));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done.length, 3, 'nothing is delivered after shutdown');
    assert.equal(server.stats.watches, watchesBefore);
  });

  it('shutdown({ signal }) stops waiting for a handler that never settles', async () => {
    const factory = new SharedInformerFactory(kc);
    let calls = 0;
    factory.apps.v1
      .deployments()
      .informer()
      .addEventHandler({
        onAdd: () => {
          calls++;
          return new Promise<void>(() => {});
        },
      });
    factory.start();
    await factory.waitForCacheSync(AbortSignal.timeout(5000));
    await until(() => calls === 1, 'first add');
    const ac = new AbortController();
    const stopped = factory.shutdown({ signal: ac.signal });
    let resolved = false;
    void stopped.then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(resolved, false, 'still waiting for the stuck handler');
    ac.abort();
    await stopped;
    assert.equal(calls, 1);
  });
});
