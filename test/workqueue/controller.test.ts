import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import { FakeClock, seededRandom, type KubeObject } from '@kubecache/cache';
import {
  SharedInformerFactory,
  deepCopy,
  isConflict,
  toClientModel,
  type ConfigMap,
  type Deployment,
  type DynamicObject,
} from '@kubecache/client';
import {
  Controller,
  ItemExponentialFailureRateLimiter,
  generationChanged,
  type ReconcileRequest,
} from '@kubecache/workqueue';
import type { KubeConfig } from '@kubernetes/client-node';
import { AppsV1Api, CoreV1Api, type V1ConfigMap, type V1Deployment } from '@kubernetes/client-node';
import { MYAPP_CRD, setup as startServerWithKubeConfig } from '../apiserver/helpers.ts';

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Starts the factory and the controller, runs `body`, then stops both and waits for them. */
async function whileRunning(
  factory: SharedInformerFactory,
  controller: Controller,
  body: () => Promise<void>,
): Promise<void> {
  const ac = new AbortController();
  factory.start(ac.signal);
  const running = controller.run(ac.signal);
  try {
    await body();
  } finally {
    ac.abort();
    await running;
    await factory.shutdown();
  }
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

function configMap(namespace: string, name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data } as KubeObject;
}

function myApp(namespace: string, name: string, version: string): KubeObject {
  return {
    apiVersion: 'my.domain/v1',
    kind: 'MyApp',
    metadata: { namespace, name },
    spec: { appName: name, version },
  } as KubeObject;
}

const MYAPPS = { group: 'my.domain', version: 'v1', resource: 'myapps', kind: 'MyApp' };

describe('Controller over HTTP (embedded API server)', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  let core: CoreV1Api;

  before(async () => {
    ({ server, kc } = await startServerWithKubeConfig({ bookmarkIntervalMs: 0 }));
    server.create(MYAPP_CRD as KubeObject);
    core = kc.makeApiClient(CoreV1Api);
  });
  after(() => server.close());

  it('reconciles each MyApp into an owned ConfigMap; owns() re-triggers the owner when the child is deleted', async () => {
    const ns = 'owns';
    server.create(myApp(ns, 'alpha', '1.0'));
    server.create(myApp(ns, 'beta', '2.0'));
    const factory = new SharedInformerFactory(kc, { namespace: ns });
    const apps = factory.forResource<DynamicObject>(MYAPPS);
    const cms = factory.core.v1.configmaps();
    const reconciled: string[] = [];
    const controller = new Controller({
      name: 'myapps',
      workers: 2,
      reconcile: async ({ namespace, name, key }) => {
        reconciled.push(key);
        const app = apps.lister().namespace(namespace).tryGet(name);
        if (app === undefined) return;
        const spec = app['spec'] as { version: string };
        const cmName = `${name}-config`;
        if (cms.lister().namespace(namespace).tryGet(cmName) !== undefined) return;
        const body: ConfigMap = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: cmName,
            namespace,
            ownerReferences: [
              {
                apiVersion: 'my.domain/v1',
                kind: 'MyApp',
                name,
                uid: app.metadata?.uid ?? '',
                controller: true,
              },
            ],
          },
          data: { version: spec.version },
        };
        try {
          await core.createNamespacedConfigMap({
            namespace,
            body: toClientModel<V1ConfigMap>(body),
          });
        } catch (err) {
          if (!isConflict(err) && (err as { code?: number }).code !== 409) throw err;
        }
      },
    })
      .for(apps.informer())
      .owns(cms.informer());
    await whileRunning(factory, controller, async () => {
      await until(
        () =>
          server.get({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            namespace: ns,
            name: 'alpha-config',
          }) !== undefined &&
          server.get({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            namespace: ns,
            name: 'beta-config',
          }) !== undefined,
        'owned ConfigMaps created',
      );
      const alphaCm = server.get<ConfigMap>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: ns,
        name: 'alpha-config',
      });
      assert.deepEqual(alphaCm?.data, { version: '1.0' });
      assert.equal(alphaCm?.metadata?.ownerReferences?.[0]?.kind, 'MyApp');

      // Deleting the child queues its owner (learned from the primary objects' kind) again.
      await until(() => cms.lister().list().length === 2, 'children cached');
      const before = reconciled.filter((k) => k === `${ns}/alpha`).length;
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'alpha-config' });
      await until(
        () => reconciled.filter((k) => k === `${ns}/alpha`).length > before,
        'owner reconciled after child deletion',
      );
      await until(
        () =>
          server.get({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            namespace: ns,
            name: 'alpha-config',
          }) !== undefined,
        'child recreated',
      );
    });
  });

  it('retries a failing reconcile with the rate limiter delays, on the controller clock; a throw never kills a worker', async () => {
    const ns = 'backoff';
    server.create(configMap(ns, 'flaky', { a: '1' }));
    server.create(configMap(ns, 'fine', { a: '1' }));
    const clock = new FakeClock();
    const factory = new SharedInformerFactory(kc, { namespace: ns });
    const cms = factory.core.v1.configmaps();
    const attempts: { key: string; at: number; retries: number }[] = [];
    const errors: string[] = [];
    const controller = new Controller({
      name: 'flaky',
      clock,
      rateLimiter: new ItemExponentialFailureRateLimiter<string>({
        baseDelayMs: 100,
        maxDelayMs: 10_000,
      }),
      onError: (_err, key) => errors.push(key),
      reconcile: ({ key, retries }) => {
        attempts.push({ key, at: clock.now(), retries });
        if (key.endsWith('/flaky') && retries < 3) throw new Error('not yet');
      },
    }).for(cms.informer());
    await whileRunning(factory, controller, async () => {
      const flaky = (): { at: number; retries: number }[] =>
        attempts.filter((a) => a.key === `${ns}/flaky`);
      await until(() => flaky().length === 1 && attempts.length === 2, 'first attempts');
      for (const [delay, expectedAttempts] of [
        [100, 2],
        [200, 3],
        [400, 4],
      ] as const) {
        await clock.advance(delay - 1);
        await tick(5);
        assert.equal(flaky().length, expectedAttempts - 1, `not before ${delay} ms`);
        await clock.advance(1);
        await until(() => flaky().length === expectedAttempts, `retry after ${delay} ms`);
      }
      assert.deepEqual(
        flaky().map((a) => a.retries),
        [0, 1, 2, 3],
      );
      assert.deepEqual(errors, [`${ns}/flaky`, `${ns}/flaky`, `${ns}/flaky`]);
      assert.equal(controller.queue.numRequeues(`${ns}/flaky`), 0, 'forgotten after success');
      // The worker survived the throws: a new change is still reconciled.
      server.update(configMap(ns, 'fine', { a: '2' }));
      await until(() => attempts.filter((a) => a.key === `${ns}/fine`).length === 2, 'fine again');
    });
  });

  it('requeueAfterMs queues the key again after that delay; requeue: true uses the limiter', async () => {
    const ns = 'requeue';
    server.create(configMap(ns, 'poll', {}));
    const clock = new FakeClock();
    const factory = new SharedInformerFactory(kc, { namespace: ns });
    const cms = factory.core.v1.configmaps();
    const at: number[] = [];
    const controller = new Controller({
      clock,
      rateLimiter: new ItemExponentialFailureRateLimiter<string>({
        baseDelayMs: 7,
        maxDelayMs: 100,
      }),
      reconcile: () => {
        at.push(clock.now());
        return at.length === 1
          ? { requeueAfterMs: 5000 }
          : at.length === 2
            ? { requeue: true }
            : undefined;
      },
    }).for(cms.informer());
    await whileRunning(factory, controller, async () => {
      await until(() => at.length === 1, 'first reconcile');
      await clock.advance(4999);
      await tick(5);
      assert.equal(at.length, 1);
      await clock.advance(1);
      await until(() => at.length === 2, 'requeued after 5 s');
      await clock.advance(7);
      await until(() => at.length === 3, 'requeued by the limiter');
      assert.deepEqual(at, [0, 5000, 5007]);
    });
  });

  it('never reconciles one key twice at once under 8 workers and a randomized event storm; ends at the final state', async () => {
    const seed = Number(process.env['KUBECACHE_SEED'] ?? Date.now());
    const random = seededRandom(seed);
    const ns = 'storm';
    const names = Array.from({ length: 12 }, (_, i) => `cm-${i}`);
    for (const n of names) server.create(configMap(ns, n, { v: '0' }));
    const factory = new SharedInformerFactory(kc, { namespace: ns });
    const cms = factory.core.v1.configmaps();
    const inFlight = new Set<string>();
    let overlaps = 0;
    let maxConcurrent = 0;
    const lastSeen = new Map<string, string | undefined>();
    const controller = new Controller({
      workers: 8,
      reconcile: async ({ key, namespace, name }) => {
        if (inFlight.has(key)) overlaps++;
        inFlight.add(key);
        maxConcurrent = Math.max(maxConcurrent, inFlight.size);
        await tick(Math.floor(random() * 4));
        lastSeen.set(key, cms.lister().namespace(namespace).tryGet(name)?.data?.['v']);
        inFlight.delete(key);
      },
    }).for(cms.informer());
    await whileRunning(factory, controller, async () => {
      const finalValue = new Map<string, string>();
      for (let i = 1; i <= 300; i++) {
        const name = names[Math.floor(random() * names.length)]!;
        server.update(configMap(ns, name, { v: String(i) }));
        finalValue.set(`${ns}/${name}`, String(i));
        if (random() < 0.2) await tick(1);
      }
      await until(
        () =>
          [...finalValue].every(([k, v]) => lastSeen.get(k) === v) &&
          controller.running === 0 &&
          controller.queue.len() === 0,
        `seed ${seed}: every key reconciled at its final state`,
        10_000,
      );
      assert.equal(overlaps, 0, `seed ${seed}: a key was reconciled twice at once`);
      assert.ok(maxConcurrent > 1, `seed ${seed}: workers ran in parallel (max ${maxConcurrent})`);
      assert.ok(maxConcurrent <= 8, `seed ${seed}: at most 8 workers (max ${maxConcurrent})`);
    });
  });

  it('a user change is reconciled before the rest of a large initial list (low priority for the initial list)', async () => {
    const ns = 'priority';
    for (let i = 0; i < 200; i++)
      server.create(configMap(ns, `bulk-${String(i).padStart(3, '0')}`, {}));
    const factory = new SharedInformerFactory(kc, { namespace: ns });
    const cms = factory.core.v1.configmaps();
    const order: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const controller = new Controller({
      workers: 1,
      reconcile: async ({ name }) => {
        order.push(name);
        if (order.length === 1) await gate; // hold the only worker while the list is queued
      },
    }).for(cms.informer());
    await whileRunning(factory, controller, async () => {
      await until(
        () => order.length === 1 && controller.queue.len() === 199,
        'initial list queued',
      );
      server.update(configMap(ns, 'bulk-150', { changed: 'yes' }));
      await until(
        () => controller.queue.len() === 199 && controller.queue.isDirty(`${ns}/bulk-150`),
        'change seen',
      );
      await tick(20);
      release();
      await until(() => order.length === 200, 'all reconciled');
      assert.equal(
        order[1],
        'bulk-150',
        `the changed object went first, order: ${order.slice(0, 4).join(',')}`,
      );
    });
  });

  it('a controller writing status on every reconcile settles (the server is silent on no-op writes)', async () => {
    const ns = 'settle';
    const apps = kc.makeApiClient(AppsV1Api);
    server.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { namespace: ns, name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'web:1' }] },
        },
      },
    } as KubeObject);
    const factory = new SharedInformerFactory(kc, { namespace: ns });
    const deployments = factory.apps.v1.deployments();
    let reconciles = 0;
    const controller = new Controller({
      reconcile: async ({ namespace, name }) => {
        reconciles++;
        const d = deployments.lister().namespace(namespace).tryGet(name);
        if (d === undefined) return;
        // Always write the status we computed, as naive controllers do.
        const copy = deepCopy(d);
        copy.status = {
          observedGeneration: d.metadata?.generation ?? 0,
          replicas: d.spec?.replicas ?? 0,
        };
        await apps.replaceNamespacedDeploymentStatus({
          namespace,
          name,
          body: toClientModel<V1Deployment>(copy),
        });
      },
    }).for(deployments.informer());
    await whileRunning(factory, controller, async () => {
      await until(() => reconciles >= 2, 'status written and seen');
      await tick(300);
      const settled = reconciles;
      await tick(300);
      assert.equal(reconciles, settled, 'no more reconciles once the status is unchanged');
      assert.ok(settled <= 3, `settled after ${settled} reconciles`);
      const d = server.get<Deployment>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: ns,
        name: 'web',
      });
      assert.equal(d?.status?.replicas, 2);
    });
  });

  it('generationChanged skips status-only updates and resyncs', async () => {
    const ns = 'predicates';
    const deployment = (replicas: number): KubeObject =>
      ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { namespace: ns, name: 'api' },
        spec: {
          replicas,
          selector: { matchLabels: { app: 'api' } },
          template: {
            metadata: { labels: { app: 'api' } },
            spec: { containers: [{ name: 'api', image: 'example.com/api:1' }] },
          },
        },
      }) as KubeObject;
    server.create(deployment(1));
    const factory = new SharedInformerFactory(kc, { namespace: ns });
    const deployments = factory.apps.v1.deployments();
    const seen: (number | undefined)[] = [];
    const controller = new Controller({
      reconcile: ({ namespace, name }) => {
        seen.push(deployments.lister().namespace(namespace).tryGet(name)?.metadata?.generation);
      },
    }).for(deployments.informer(), { predicates: [generationChanged] });
    await whileRunning(factory, controller, async () => {
      await until(() => seen.length === 1, 'initial reconcile');
      const current = server.get<Deployment>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: ns,
        name: 'api',
      })!;
      server.updateStatus({ ...current, status: { replicas: 1 } } as KubeObject);
      await until(
        () => deployments.lister().namespace(ns).tryGet('api')?.status?.replicas === 1,
        'status update cached',
      );
      await tick(50);
      assert.equal(seen.length, 1, 'status-only update skipped');
      server.update(deployment(3));
      await until(() => seen.length === 2, 'spec change reconciled');
      assert.equal(seen[1], 2);
    });
  });

  it('watches() maps any source to primary keys', async () => {
    const ns = 'watches';
    server.create(configMap(ns, 'target', {}));
    const factory = new SharedInformerFactory(kc, { namespace: ns });
    const cms = factory.core.v1.configmaps();
    const secrets = factory.core.v1.secrets();
    const keys: string[] = [];
    const controller = new Controller({ reconcile: ({ key }) => void keys.push(key) })
      .for(cms.informer())
      .watches(secrets.informer(), (s) => {
        const target = ('key' in s ? s.obj : s)?.metadata?.labels?.['target'];
        return target === undefined ? undefined : `${ns}/${target}`;
      });
    await whileRunning(factory, controller, async () => {
      await until(() => keys.length === 1, 'initial');
      server.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { namespace: ns, name: 's', labels: { target: 'target' } },
      } as KubeObject);
      await until(() => keys.length === 2, 'secret mapped to its target');
      assert.deepEqual(keys, [`${ns}/target`, `${ns}/target`]);
    });
  });

  it('graceful stop: no new reconcile after abort, running ones finish; the drain timeout aborts their signal', async () => {
    const ns = 'drain';
    for (const name of ['a-slow', 'b-stuck', 'c-later']) server.create(configMap(ns, name, {}));
    const clock = new FakeClock();
    const factory = new SharedInformerFactory(kc, { namespace: ns });
    const cms = factory.core.v1.configmaps();
    const started: string[] = [];
    const finished: string[] = [];
    let finishSlow: () => void = () => {};
    let stuckSignal: AbortSignal | undefined;
    const controller = new Controller({
      workers: 2,
      clock,
      drainTimeoutMs: 10_000,
      reconcile: async ({ name, signal }: ReconcileRequest) => {
        started.push(name);
        if (name === 'a-slow') await new Promise<void>((r) => (finishSlow = r));
        if (name === 'b-stuck') {
          stuckSignal = signal;
          await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
        }
        finished.push(name);
      },
    }).for(cms.informer());
    const ac = new AbortController();
    factory.start(ac.signal);
    let resolved = false;
    const running = controller.run(ac.signal).then(() => (resolved = true));
    try {
      await until(() => started.length === 2, 'both workers busy');
      assert.deepEqual(started, ['a-slow', 'b-stuck']);
      ac.abort();
      finishSlow();
      await tick(20);
      assert.deepEqual(started, ['a-slow', 'b-stuck'], 'c-later does not start after abort');
      assert.deepEqual(finished, ['a-slow'], 'the running reconcile finished');
      assert.equal(resolved, false, 'run waits for b-stuck');
      assert.equal(stuckSignal?.aborted, false);
      await clock.advance(10_000);
      await until(() => resolved, 'run resolves after the drain timeout');
      assert.equal(stuckSignal?.aborted, true);
    } finally {
      ac.abort();
      await running;
      await factory.shutdown();
    }
  });
});
