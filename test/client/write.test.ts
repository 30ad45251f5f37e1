import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import { ApiStatusError, DeletedFinalStateUnknown, type KubeObject } from '@kubecache/cache';
import {
  SharedInformerFactory,
  deepCopy,
  fromClientModel,
  isConflict,
  retryOnConflict,
  toClientModel,
  type ConfigMap,
  type Deployment,
} from '@kubecache/client';
import { RateLimitingQueue, enqueueKeys } from '@kubecache/workqueue';
import type { KubeConfig } from '@kubernetes/client-node';
import { AppsV1Api, CoreV1Api, type V1ConfigMap, type V1Deployment } from '@kubernetes/client-node';
import { setup as startServerWithKubeConfig } from '../apiserver/helpers.ts';

describe('the typed write path over HTTP', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  let factory: SharedInformerFactory;
  const ac = new AbortController();

  before(async () => {
    ({ server, kc } = await startServerWithKubeConfig({ bookmarkIntervalMs: 0 }));
    server.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { namespace: 'w', name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'web:1' }] },
        },
      },
    } as KubeObject);
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: 'w', name: 'counter' },
      data: { n: '0' },
    } as KubeObject);
    factory = new SharedInformerFactory(kc, { namespace: 'w' });
    factory.apps.v1.deployments();
    factory.core.v1.configmaps();
    factory.start(ac.signal);
    await factory.waitForCacheSync(ac.signal);
  });
  after(async () => {
    ac.abort();
    await factory.shutdown();
    await server.close();
  });

  it('deepCopy gives a mutable copy; the cached object is untouched', () => {
    const cached = factory.apps.v1.deployments().lister().namespace('w').get('web');
    const copy = deepCopy(cached);
    copy.spec!.replicas = 5;
    copy.metadata!.labels!['touched'] = 'yes';
    assert.equal(cached.spec?.replicas, 1);
    assert.equal(cached.metadata?.labels?.['touched'], undefined);
    const frozen: { readonly metadata: { readonly name: string } } = Object.freeze({
      metadata: Object.freeze({ name: 'f' }),
    });
    const unfrozen = deepCopy(frozen);
    unfrozen.metadata.name = 'g';
    assert.equal(unfrozen.metadata.name, 'g');
  });

  it('a cached object, copied and changed, goes through client-node unchanged apart from the change (string timestamps pass through)', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const cached = factory.apps.v1.deployments().lister().namespace('w').get('web');
    const created = cached.metadata?.creationTimestamp;
    assert.equal(typeof created, 'string');
    const copy = deepCopy(cached);
    copy.spec!.replicas = 3;
    const written = await apps.replaceNamespacedDeployment({
      namespace: 'w',
      name: 'web',
      body: toClientModel<V1Deployment>(copy),
    });
    assert.equal(written.spec?.replicas, 3);
    const stored = server.get<Deployment>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'w',
      name: 'web',
    });
    assert.equal(stored?.spec?.replicas, 3);
    assert.equal(
      stored?.metadata?.creationTimestamp,
      created,
      'the timestamp string went out as it came in',
    );
    // What client-node returns has Dates; fromClientModel gives the wire form back.
    assert.ok(written.metadata?.creationTimestamp instanceof Date);
    const wire = fromClientModel(written);
    assert.equal(wire.metadata?.creationTimestamp, created);
    assert.equal(wire.spec?.replicas, 3);
  });

  it('fromClientModel turns every Date into RFC 3339 (second precision when whole), deeply', () => {
    const model = {
      metadata: { creationTimestamp: new Date('2024-05-01T10:00:00Z') },
      status: {
        conditions: [{ lastTransitionTime: new Date('2024-05-01T10:00:00.250Z'), type: 'Ready' }],
      },
      spec: { nothing: undefined },
    };
    assert.deepEqual(fromClientModel(model), {
      metadata: { creationTimestamp: '2024-05-01T10:00:00Z' },
      status: { conditions: [{ lastTransitionTime: '2024-05-01T10:00:00.250Z', type: 'Ready' }] },
      spec: {},
    });
  });

  it('retryOnConflict re-reads and retries on a real 409, and succeeds', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const lister = factory.core.v1.configmaps().lister();
    let attempts = 0;
    const result = await retryOnConflict(async () => {
      attempts++;
      // Re-read each attempt (a GET here, so the retry sees the competing write at once).
      const current = fromClientModel(
        await core.readNamespacedConfigMap({ namespace: 'w', name: 'counter' }),
      );
      const copy = deepCopy(current);
      copy.data = { n: String(Number(current.data?.['n']) + 1) };
      if (attempts === 1) {
        // Someone else writes between our read and our write.
        server.update({ ...current, data: { n: '10' } } as KubeObject);
      }
      return core.replaceNamespacedConfigMap({
        namespace: 'w',
        name: 'counter',
        body: toClientModel<V1ConfigMap>(copy),
      });
    });
    assert.equal(attempts, 2);
    assert.deepEqual(result.data, { n: '11' });
    assert.ok(lister !== undefined);
  });

  it('retryOnConflict throws other errors at once and the last conflict after its steps', async () => {
    let calls = 0;
    await assert.rejects(
      retryOnConflict(() => {
        calls++;
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(
      retryOnConflict(
        () => {
          calls++;
          throw new ApiStatusError(409, 'conflict', { reason: 'Conflict' });
        },
        { steps: 3, durationMs: 1 },
      ),
      (err: unknown) => isConflict(err),
    );
    assert.equal(calls, 3);
  });

  it('isConflict recognises client-node ApiException 409s from the server', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const stale = deepCopy(factory.core.v1.configmaps().lister().namespace('w').get('counter'));
    stale.metadata!.resourceVersion = '1';
    const err = await core
      .replaceNamespacedConfigMap({
        namespace: 'w',
        name: 'counter',
        body: toClientModel<V1ConfigMap>(stale),
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.equal(isConflict(err), true);
    assert.equal(isConflict(new Error('x')), false);
    assert.equal(isConflict({ body: '{"kind":"Status","code":409}' }), true);
  });

  it('handlers may return any value, and enqueueKeys queues keys of objects and tombstones', () => {
    const queue = new RateLimitingQueue<string>();
    const keys: string[] = [];
    const informer = factory.core.v1.configmaps().informer();
    // `push` returns a number: this must type-check.
    const reg = informer.addEventHandler({
      onAdd: (c: ConfigMap) => keys.push(c.metadata?.name ?? ''),
    });
    reg.remove();
    const h = enqueueKeys<ConfigMap>(queue);
    const obj = { metadata: { namespace: 'w', name: 'a' } } as ConfigMap;
    h.onAdd?.(obj, false);
    h.onDelete?.(new DeletedFinalStateUnknown<ConfigMap>('w/gone', undefined));
    assert.equal(queue.len(), 2);
    assert.equal(queue.isDirty('w/a'), true);
    assert.equal(queue.isDirty('w/gone'), true);
    queue.shutDown();
  });
});
