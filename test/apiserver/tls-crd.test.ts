import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
} from '@kubernetes/client-node';
import type { ApiServer } from '@kubecache/apiserver';
import { MYAPP_CRD, json, openWatch, setup } from './helpers.ts';

function httpsGet(
  server: ApiServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { ca: server.caPem, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('apiserver TLS and bearer tokens', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ tls: true, token: 's3cret' }));
  });
  after(() => server.close());

  it('serves HTTPS with a self-signed certificate trusted through the kubeconfig', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.kubeconfig.clusters[0]!.cluster['certificate-authority-data']);
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    const list = await kc.makeApiClient(CoreV1Api).listNamespace();
    assert.ok(list.items.some((n) => n.metadata?.name === 'default'));
  });

  it('answers 401 Unauthorized without the right token', async () => {
    const none = await httpsGet(server, '/api/v1/namespaces');
    assert.equal(none.status, 401);
    assert.equal((JSON.parse(none.body) as { reason: string }).reason, 'Unauthorized');
    const wrong = await httpsGet(server, '/api/v1/namespaces', { Authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    const right = await httpsGet(server, '/api/v1/namespaces', { Authorization: 'Bearer s3cret' });
    assert.equal(right.status, 200);
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml.replace('s3cret', 'bad'));
    await assert.rejects(
      kc.makeApiClient(CoreV1Api).listNamespace(),
      (err) => (err as { code: number }).code === 401,
    );
  });

  it('generates a token when TLS is on and none is given', async () => {
    const { server: s2 } = await setup({ tls: true });
    try {
      assert.ok(s2.token !== undefined && s2.token.length >= 16);
      assert.equal((await httpsGet(s2, '/version')).status, 401);
    } finally {
      await s2.close();
    }
  });
});

describe('apiserver CustomResourceDefinitions', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  before(async () => {
    ({ server, kc } = await setup({ bookmarkIntervalMs: 0 }));
  });
  after(() => server.close());

  it('serves myapps.my.domain end to end once the CRD is created', async () => {
    const before = await json(server, '/apis/my.domain/v1/namespaces/default/myapps');
    assert.equal(before.status, 404);
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    const crd = await ext.createCustomResourceDefinition({ body: MYAPP_CRD });
    assert.ok(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
    const groups = await json(server, '/apis');
    assert.ok((groups.body['groups'] as { name: string }[]).some((g) => g.name === 'my.domain'));
    const disc = await json(server, '/apis/my.domain/v1');
    const res = (
      disc.body['resources'] as {
        name: string;
        kind: string;
        namespaced: boolean;
        shortNames?: string[];
      }[]
    ).find((r) => r.name === 'myapps');
    assert.equal(res?.kind, 'MyApp');
    assert.equal(res?.namespaced, true);
    assert.deepEqual(res?.shortNames, ['ma']);

    const custom = kc.makeApiClient(CustomObjectsApi);
    const w = await openWatch(server, '/apis/my.domain/v1/namespaces/default/myapps?watch=true');
    const created = (await custom.createNamespacedCustomObject({
      group: 'my.domain',
      version: 'v1',
      namespace: 'default',
      plural: 'myapps',
      body: {
        apiVersion: 'my.domain/v1',
        kind: 'MyApp',
        metadata: { name: 'app1' },
        spec: { appName: 'hello', version: '1' },
      },
    })) as { metadata: { generation: number; resourceVersion: string } };
    assert.equal(created.metadata.generation, 1);
    const list = (await custom.listNamespacedCustomObject({
      group: 'my.domain',
      version: 'v1',
      namespace: 'default',
      plural: 'myapps',
    })) as {
      kind: string;
      items: { kind: string; apiVersion: string }[];
    };
    assert.equal(list.kind, 'MyAppList');
    assert.equal(list.items[0]?.kind, 'MyApp', 'custom resource list items keep their type');
    const got = (await custom.getNamespacedCustomObject({
      group: 'my.domain',
      version: 'v1',
      namespace: 'default',
      plural: 'myapps',
      name: 'app1',
    })) as {
      spec: { appName: string };
      metadata: Record<string, unknown>;
    };
    assert.equal(got.spec.appName, 'hello');
    const replaced = (await custom.replaceNamespacedCustomObject({
      group: 'my.domain',
      version: 'v1',
      namespace: 'default',
      plural: 'myapps',
      name: 'app1',
      body: { ...got, spec: { appName: 'hello', version: '2' } },
    })) as { metadata: { generation: number } };
    assert.equal(replaced.metadata.generation, 2);
    const wrongKind = await json(server, '/apis/my.domain/v1/namespaces/default/myapps', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'my.domain/v1', kind: 'Other', metadata: { name: 'x' } }),
    });
    assert.equal(wrongKind.status, 400);
    await custom.deleteNamespacedCustomObject({
      group: 'my.domain',
      version: 'v1',
      namespace: 'default',
      plural: 'myapps',
      name: 'app1',
    });
    const events = await w.next(3);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    assert.equal(events[0]!.object.kind, 'MyApp');
    w.close();
  });

  it('rejects invalid CRDs and stops serving a deleted CRD', async () => {
    const bad = await json(server, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...MYAPP_CRD, metadata: { name: 'wrong.name' } }),
    });
    assert.equal(bad.status, 422);
    server.create({
      apiVersion: 'my.domain/v1',
      kind: 'MyApp',
      metadata: { name: 'doomed', namespace: 'default' },
    });
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    await ext.deleteCustomResourceDefinition({ name: 'myapps.my.domain' });
    const after = await json(server, '/apis/my.domain/v1/namespaces/default/myapps');
    assert.equal(after.status, 404);
    const groups = await json(server, '/apis');
    assert.ok(!(groups.body['groups'] as { name: string }[]).some((g) => g.name === 'my.domain'));
    // recreating it starts empty
    await ext.createCustomResourceDefinition({ body: MYAPP_CRD });
    const empty = await json(server, '/apis/my.domain/v1/myapps');
    assert.deepEqual(empty.body['items'], []);
  });
});
