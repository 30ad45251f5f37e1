/**
 * The subresources besides scale and status, beyond what the golden transcript
 * `golden/subresources.json` (recorded from a real v1.23 server) asserts: the watch events of a
 * binding and an eviction, the claims of a service-account token, `namespaces/finalize` completing
 * a deletion, ephemeral containers, a node with an address, and 405 for every method a listed
 * subresource does not take (never a 404 page).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { openWatch, setup } from './helpers.ts';
import { at, textAt } from './json-at.ts';

const PODS = '/api/v1/namespaces/default/pods';

function pod(name: string, nodeName?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...(nodeName ? { nodeName } : {}) },
  };
}

describe('pod, node, service, service-account and namespace subresources', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ namespaceDeletionDelayMs: Infinity }));
  });
  after(() => server.close());

  const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(server.url + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': type },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  const getPod = (name: string) =>
    server.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name });

  it('a binding is one write of spec.nodeName and the PodScheduled condition (one MODIFIED)', async () => {
    server.create(pod('b1'));
    const rv = textAt(getPod('b1'), 'metadata', 'resourceVersion');
    const watch = await openWatch(server, `${PODS}?watch=true&resourceVersion=${rv}`);
    try {
      const res = await call('POST', `${PODS}/b1/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'b1' },
        target: { kind: 'Node', name: 'node-1' },
      });
      assert.deepEqual(res.body, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        code: 201,
      });
      const stored = getPod('b1');
      assert.equal(at(stored, 'spec', 'nodeName'), 'node-1');
      assert.equal(at(stored, 'status', 'conditions', 0, 'type'), 'PodScheduled');
      server.create(pod('marker'));
      const events = await watch.next(2);
      assert.deepEqual(
        events.map((e) => [e.type, e.object.metadata?.name]),
        [
          ['MODIFIED', 'b1'],
          ['ADDED', 'marker'],
        ],
      );
      assert.equal(at(events[0]!.object, 'spec', 'nodeName'), 'node-1');
      // A binding with a name that is not the URL's.
      const mismatch = await call('POST', `${PODS}/marker/binding`, {
        metadata: { name: 'other' },
        target: { kind: 'Node', name: 'node-1' },
      });
      assert.equal(mismatch.status, 400);
    } finally {
      watch.close();
    }
  });

  it('eviction deletes an unbound pod at once and a bound one gracefully, as DELETE would', async () => {
    server.create(pod('e1'));
    server.create(pod('e2', 'node-1'));
    const evict = (name: string, deleteOptions?: unknown) =>
      call('POST', `${PODS}/${name}/eviction`, {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name },
        ...(deleteOptions !== undefined ? { deleteOptions } : {}),
      });
    assert.equal((await evict('e1')).status, 201);
    assert.equal(getPod('e1'), undefined);
    assert.equal((await evict('e2')).status, 201);
    const graceful = getPod('e2');
    assert.equal(at(graceful, 'metadata', 'deletionGracePeriodSeconds'), 30);
    assert.ok(at(graceful, 'metadata', 'deletionTimestamp'));
    assert.equal((await evict('e2', { gracePeriodSeconds: 0 })).status, 201);
    assert.equal(getPod('e2'), undefined);
  });

  it('serviceaccounts/token issues a signed JWT with the service account claims', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'sa', namespace: 'default' },
    });
    const sa = server.get({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      namespace: 'default',
      name: 'sa',
    });
    const before = Math.floor(Date.now() / 1000);
    const res = await call('POST', '/api/v1/namespaces/default/serviceaccounts/sa/token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {},
    });
    assert.equal(res.status, 201);
    assert.deepEqual(at(res.body, 'spec'), {
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      expirationSeconds: 3600,
      boundObjectRef: null,
    });
    const [header, payload, signature] = textAt(res.body, 'status', 'token').split('.');
    assert.equal(JSON.parse(Buffer.from(header!, 'base64url').toString()).alg, 'RS256');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    assert.equal(claims.sub, 'system:serviceaccount:default:sa');
    assert.deepEqual(claims['kubernetes.io'], {
      namespace: 'default',
      serviceaccount: { name: 'sa', uid: at(sa, 'metadata', 'uid') },
    });
    assert.ok(claims.iat >= before && claims.exp === claims.iat + 3600);
    assert.equal(
      at(res.body, 'status', 'expirationTimestamp'),
      new Date(claims.exp * 1000).toISOString().replace('.000', ''),
    );
    assert.ok(signature!.length > 300, 'an RSA-2048 signature');
  });

  it('namespaces/finalize clears spec.finalizers, which completes the deletion of a terminating namespace', async () => {
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fin' } });
    assert.equal((await call('DELETE', '/api/v1/namespaces/fin')).status, 200);
    const ns = server.get({ apiVersion: 'v1', kind: 'Namespace', name: 'fin' });
    assert.equal(at(ns, 'status', 'phase'), 'Terminating');
    const res = await call('PUT', '/api/v1/namespaces/fin/finalize', {
      ...ns,
      spec: { finalizers: [] },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(at(res.body, 'spec'), {});
    assert.equal(server.get({ apiVersion: 'v1', kind: 'Namespace', name: 'fin' }), undefined);
  });

  it('ephemeralcontainers: GET is the pod; a PATCH changes only spec.ephemeralContainers', async () => {
    server.create(pod('eph'));
    const got = await call('GET', `${PODS}/eph/ephemeralcontainers`);
    assert.equal(at(got.body, 'kind'), 'Pod');
    const debug = [{ name: 'debug', image: 'busybox', targetContainerName: 'c' }];
    const res = await call(
      'PATCH',
      `${PODS}/eph/ephemeralcontainers`,
      { spec: { ephemeralContainers: debug, containers: [{ name: 'x', image: 'y' }] } },
      'application/strategic-merge-patch+json',
    );
    assert.equal(res.status, 200);
    const stored = getPod('eph');
    // Both defaulted as the real server does (ephemeral containers get the container defaults).
    const defaulted = {
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'Always',
    };
    assert.deepEqual(at(stored, 'spec', 'ephemeralContainers'), [{ ...debug[0], ...defaulted }]);
    assert.deepEqual(at(stored, 'spec', 'containers'), [
      { name: 'c', image: 'nginx', ...defaulted },
    ]);
  });

  it('log and exec of a pod on a node with an address fail as a kubelet that does not answer', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-2' },
      status: { addresses: [{ type: 'InternalIP', address: '10.1.2.3' }] },
    });
    server.create(pod('onnode', 'node-2'));
    for (const sub of ['log', 'exec', 'attach', 'portforward']) {
      const res = await call('GET', `${PODS}/onnode/${sub}`);
      assert.equal(res.status, 500, sub);
      assert.equal(
        at(res.body, 'message'),
        'error dialing backend: dial tcp 10.1.2.3:10250: connect: connection refused',
      );
    }
    const proxy = await call('GET', '/api/v1/nodes/node-2/proxy/stats');
    assert.equal(proxy.status, 500);
  });

  it('a pod with several containers needs ?container= for its log', async () => {
    server.create({
      ...pod('two'),
      spec: {
        containers: [
          { name: 'a', image: 'x' },
          { name: 'b', image: 'x' },
        ],
      },
    });
    const res = await call('GET', `${PODS}/two/log`);
    assert.equal(res.status, 400);
    assert.equal(
      at(res.body, 'message'),
      'a container name must be specified for pod two, choose one of: [a b]',
    );
    assert.equal((await call('GET', `${PODS}/two/log?container=b`)).status, 204);
  });

  it('every method a listed subresource does not take is 405 MethodNotAllowed', async () => {
    server.create(pod('m'));
    server.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    });
    const cases: [string, string][] = [
      ['PUT', `${PODS}/m/log`],
      ['POST', `${PODS}/m/log`],
      ['GET', `${PODS}/m/binding`],
      ['GET', `${PODS}/m/eviction`],
      ['DELETE', `${PODS}/m/exec`],
      ['DELETE', `${PODS}/m/ephemeralcontainers`],
      ['GET', '/api/v1/namespaces/default/serviceaccounts/x/token'],
      ['GET', '/api/v1/namespaces/default/finalize'],
      ['DELETE', '/apis/apps/v1/namespaces/default/deployments/d/scale'],
      ['POST', '/apis/apps/v1/namespaces/default/deployments/d/scale'],
      ['GET', '/api/v1/namespaces/default/bindings'],
      ['GET', '/api/v1/namespaces/default/bindings/x'],
    ];
    for (const [method, path] of cases) {
      const res = await call(
        method,
        path,
        method === 'GET' || method === 'DELETE' ? undefined : {},
      );
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.deepEqual(
        res.body,
        {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'the server does not allow this method on the requested resource',
          reason: 'MethodNotAllowed',
          details: {},
          code: 405,
        },
        `${method} ${path}`,
      );
    }
  });
});
