/**
 * The scale subresource over HTTP, beyond what the golden transcript `golden/scale.json` (recorded
 * from a real v1.23 server) already asserts: the parent's resourceVersion, generation and watch
 * events, no-op scales, what kubectl sends (a merge patch; GET then PUT with
 * `--current-replicas`), and the scale subresource of a custom resource.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { openWatch, setup } from './helpers.ts';
import { at } from './json-at.ts';
import { WIDGET_CRD } from './golden/discovery-crd.ts';

const DEPS = '/apis/apps/v1/namespaces/default/deployments';

function deployment(name: string, replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
    },
  };
}

interface Scale {
  kind: string;
  metadata: { name: string; resourceVersion: string; uid: string };
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

describe('scale subresource', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup());
  });
  after(() => server.close());

  const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(server.url + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': type },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const stored = (name: string) =>
    server.get<
      ReturnType<typeof deployment> & { metadata: { resourceVersion: string; generation: number } }
    >({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'default',
      name,
    })!;

  it('a scale write is an update of the parent: new RV, generation bumped, one MODIFIED event', async () => {
    server.create(deployment('web', 1));
    const old = stored('web');
    const watch = await openWatch(
      server,
      `${DEPS}?watch=true&resourceVersion=${old.metadata.resourceVersion}`,
    );
    try {
      const { status, body } = await call(
        'PATCH',
        `${DEPS}/web/scale`,
        { spec: { replicas: 3 } },
        'application/merge-patch+json',
      );
      assert.equal(status, 200);
      const scale = body as Scale;
      const now = stored('web');
      assert.equal(scale.metadata.resourceVersion, now.metadata.resourceVersion);
      assert.notEqual(now.metadata.resourceVersion, old.metadata.resourceVersion);
      assert.equal(now.metadata.generation, old.metadata.generation + 1);
      assert.equal(now.spec.replicas, 3);
      assert.equal(scale.metadata.uid, (now.metadata as { uid?: string }).uid);
      const [event] = await watch.next(1);
      assert.equal(event!.type, 'MODIFIED');
      assert.equal(at(event!.object, 'spec', 'replicas'), 3);
      assert.equal(event!.object.metadata?.resourceVersion, now.metadata.resourceVersion);
    } finally {
      watch.close();
    }
  });

  it('scaling to the current replicas is a no-op: same RV, no event', async () => {
    server.create(deployment('same', 2));
    const rv = stored('same').metadata.resourceVersion;
    const watch = await openWatch(server, `${DEPS}?watch=true&resourceVersion=${rv}`);
    try {
      const { body } = await call('PUT', `${DEPS}/same/scale`, {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name: 'same', namespace: 'default' },
        spec: { replicas: 2 },
      });
      assert.equal((body as Scale).metadata.resourceVersion, rv);
      server.create(deployment('marker', 1));
      const [event] = await watch.next(1);
      assert.equal(event!.object.metadata?.name, 'marker', 'the no-op sent no event');
    } finally {
      watch.close();
    }
  });

  it('kubectl scale --current-replicas: GET the Scale, then PUT it back with its RV (409 when stale)', async () => {
    server.create(deployment('cur', 1));
    const got = (await call('GET', `${DEPS}/cur/scale`)).body as Scale;
    const put = await call('PUT', `${DEPS}/cur/scale`, { ...got, spec: { replicas: 4 } });
    assert.equal(put.status, 200);
    assert.equal(stored('cur').spec.replicas, 4);
    const stale = await call('PUT', `${DEPS}/cur/scale`, { ...got, spec: { replicas: 5 } });
    assert.equal(stale.status, 409);
    assert.equal(
      at(stale.body, 'message'),
      'Operation cannot be fulfilled on deployments.apps "cur": the object has been modified; please apply your changes to the latest version and try again',
    );
    assert.equal(stored('cur').spec.replicas, 4);
  });

  it('status.selector is the label selector as text, matchExpressions included', async () => {
    server.create({
      ...deployment('sel', 1),
      spec: {
        ...deployment('sel', 1).spec,
        selector: {
          matchLabels: { app: 'sel' },
          matchExpressions: [
            { key: 'tier', operator: 'NotIn', values: ['b', 'a'] },
            { key: 'track', operator: 'Exists' },
          ],
        },
        template: {
          ...deployment('sel', 1).spec.template,
          metadata: { labels: { app: 'sel', track: 'stable' } },
        },
      },
    });
    const { body } = await call('GET', `${DEPS}/sel/scale`);
    assert.equal((body as Scale).status.selector, 'app=sel,tier notin (a,b),track');
  });

  it('the scale subresource of a custom resource follows its CRD paths', async () => {
    server.create(WIDGET_CRD);
    const W = '/apis/golden.example.com/v1/namespaces/default/widgets';
    server.create({
      apiVersion: 'golden.example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'default' },
      spec: { replicas: 2 },
    });
    server.updateStatus({
      apiVersion: 'golden.example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'default' },
      status: { replicas: 1, selector: 'app=w' },
    });
    const got = await call('GET', `${W}/w/scale`);
    assert.equal(got.status, 200);
    assert.deepEqual(
      [at(got.body, 'spec'), at(got.body, 'status')],
      [{ replicas: 2 }, { replicas: 1, selector: 'app=w' }],
    );
    const patched = await call(
      'PATCH',
      `${W}/w/scale`,
      { spec: { replicas: 6 } },
      'application/merge-patch+json',
    );
    assert.equal(at(patched.body, 'spec', 'replicas'), 6);
    const widget = server.get<{ metadata?: object; spec: { replicas: number } }>({
      apiVersion: 'golden.example.com/v1',
      kind: 'Widget',
      namespace: 'default',
      name: 'w',
    })!;
    assert.equal(widget.spec.replicas, 6);
    const missing = await call('GET', `${W}/nope/scale`);
    assert.equal(missing.status, 404);
    assert.equal(at(missing.body, 'message'), 'widgets.golden.example.com "nope" not found');
    // No number at specReplicasPath: the real server's 500.
    server.create({
      apiVersion: 'golden.example.com/v1',
      kind: 'Widget',
      metadata: { name: 'empty', namespace: 'default' },
      spec: {},
    });
    const empty = await call('GET', `${W}/empty/scale`);
    assert.equal(empty.status, 500);
    assert.equal(
      at(empty.body, 'message'),
      'Internal error occurred: the spec replicas field ".spec.replicas" does not exist',
    );
  });

  it('daemonsets have no scale subresource (404, as on the real server)', async () => {
    const res = await call('GET', '/apis/apps/v1/namespaces/default/daemonsets/x/scale');
    assert.equal(res.status, 404);
    assert.equal(at(res.body, 'message'), 'the server could not find the requested resource');
  });
});
