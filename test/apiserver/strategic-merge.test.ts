/**
 * Strategic merge patch over HTTP with the kinds' merge keys and strategies (the golden transcript
 * `golden/strategic-merge.json` compares whole bodies and managedFields with a real v1.23 server;
 * these pin the rules one by one, as a real server answered them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { MYAPP_CRD, json, setup } from './helpers.ts';

const DEP = '/apis/apps/v1/namespaces/smp/deployments';
const CM = '/api/v1/namespaces/smp/configmaps';
const SMP = { 'Content-Type': 'application/strategic-merge-patch+json' };

interface Container {
  name: string;
  image?: string;
  args?: string[];
  ports?: { containerPort: number; protocol?: string }[];
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  tolerations?: unknown[];
  volumes?: Record<string, unknown>[];
}

describe('strategic merge patch', () => {
  let server: ApiServer;
  let n = 0;
  const patch = async (path: string, body: unknown) => {
    const r = await json(server, path, {
      method: 'PATCH',
      headers: SMP,
      body: JSON.stringify(body),
    });
    return r;
  };
  /** A fresh Deployment with the given pod spec; returns its path. */
  const deployment = (spec: PodSpec): string => {
    const name = `d${++n}`;
    server.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'smp' },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec },
      },
    });
    return `${DEP}/${name}`;
  };
  const podSpec = (body: Record<string, unknown>): PodSpec =>
    (body['spec'] as { template: { spec: PodSpec } }).template.spec;
  const podPatch = (spec: Record<string, unknown>) => ({ spec: { template: { spec } } });

  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'smp' } });
  });
  after(() => server.close());

  it('merges containers by name (new ones first), ports by containerPort, env by name', async () => {
    const path = deployment({
      containers: [
        {
          name: 'a',
          image: 'i',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          env: [{ name: 'X', value: '1' }],
        },
        { name: 'b', image: 'i' },
      ],
    });
    const r = await patch(
      path,
      podPatch({
        containers: [
          { name: 'new', image: 'n' },
          {
            name: 'b',
            image: 'j',
            ports: [{ containerPort: 81 }],
            env: [{ name: 'Y', value: '2' }],
          },
          { name: 'a', env: [{ name: 'X', value: '9' }] },
        ],
      }),
    );
    assert.equal(r.status, 200);
    const spec = podSpec(r.body);
    // Patch order (new, b, a); the live order a < b yields to it as the patch lists b first.
    assert.deepEqual(
      spec.containers.map((c) => [c.name, c.image]),
      [
        ['new', 'n'],
        ['b', 'j'],
        ['a', 'i'],
      ],
    );
    assert.deepEqual(spec.containers[2]!.env, [{ name: 'X', value: '9' }]);
    assert.deepEqual(spec.containers[2]!.ports, [{ containerPort: 80, protocol: 'TCP' }]);
    const again = await patch(
      path,
      podPatch({ containers: [{ name: 'a', ports: [{ containerPort: 82 }] }] }),
    );
    // The new port's protocol is defaulted, as on the real server.
    assert.deepEqual(podSpec(again.body).containers[2]!.ports, [
      { containerPort: 82, protocol: 'TCP' },
      { containerPort: 80, protocol: 'TCP' },
    ]);
  });

  it('lists without a merge strategy are replaced (args, tolerations); volumes merge by name', async () => {
    const path = deployment({
      containers: [
        {
          name: 'c',
          image: 'i',
          args: ['a', 'b'],
          volumeMounts: [{ name: 'v1', mountPath: '/a' }],
        },
      ],
      tolerations: [{ key: 'k1', operator: 'Exists' }],
      volumes: [{ name: 'v1', emptyDir: {} }],
    });
    const r = await patch(
      path,
      podPatch({
        containers: [{ name: 'c', args: ['z'], volumeMounts: [{ name: 'v2', mountPath: '/b' }] }],
        tolerations: [{ key: 'k2', operator: 'Exists' }],
        volumes: [
          { name: 'v2', configMap: { name: 'x' } },
          { name: 'v1', $retainKeys: ['name', 'secret'], secret: { secretName: 's' } },
        ],
      }),
    );
    const spec = podSpec(r.body);
    assert.deepEqual(spec.containers[0]!.args, ['z']);
    assert.deepEqual(spec.containers[0]!.volumeMounts, [
      { name: 'v2', mountPath: '/b' },
      { name: 'v1', mountPath: '/a' },
    ]);
    assert.deepEqual(spec.tolerations, [{ key: 'k2', operator: 'Exists' }]);
    // $retainKeys drops the volume's emptyDir source for the secret one.
    // (defaultMode is the real server's default.)
    assert.deepEqual(spec.volumes, [
      { name: 'v2', configMap: { name: 'x', defaultMode: 420 } },
      { name: 'v1', secret: { secretName: 's', defaultMode: 420 } },
    ]);
  });

  it('$patch: delete and replace, $setElementOrder', async () => {
    const path = deployment({
      containers: [
        { name: 'a', image: 'i' },
        { name: 'b', image: 'i' },
        { name: 'c', image: 'i' },
      ],
    });
    const del = await patch(path, podPatch({ containers: [{ name: 'b', $patch: 'delete' }] }));
    assert.deepEqual(
      podSpec(del.body).containers.map((c) => c.name),
      ['a', 'c'],
    );
    const ordered = await patch(
      path,
      podPatch({
        '$setElementOrder/containers': [{ name: 'c' }, { name: 'd' }, { name: 'a' }],
        containers: [{ name: 'd', image: 'd' }],
      }),
    );
    assert.deepEqual(
      podSpec(ordered.body).containers.map((c) => c.name),
      ['c', 'd', 'a'],
    );
    const replaced = await patch(
      path,
      podPatch({ containers: [{ name: 'only', image: 'o' }, { $patch: 'replace' }] }),
    );
    assert.deepEqual(podSpec(replaced.body).containers, [
      {
        name: 'only',
        image: 'o',
        resources: {},
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'Always',
      },
    ]);
    // (The selector's label stays: validation wants the template to match it.)
    const app = path.split('/').pop()!;
    await patch(path, { spec: { template: { metadata: { labels: { old: 'x' } } } } });
    const mapReplace = await patch(path, {
      spec: { template: { metadata: { labels: { $patch: 'replace', app, fresh: 'yes' } } } },
    });
    assert.deepEqual(
      (mapReplace.body['spec'] as { template: { metadata: { labels: unknown } } }).template.metadata
        .labels,
      { app, fresh: 'yes' },
    );
  });

  it('finalizers merge as a set (new first), $deleteFromPrimitiveList, null deletes', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'fin',
        namespace: 'smp',
        finalizers: ['a.io/x', 'b.io/y'],
        labels: { l: '1' },
      },
      data: { k: 'v' },
    });
    const meta = (r: { body: Record<string, unknown> }) =>
      r.body['metadata'] as Record<string, unknown>;
    const added = await patch(`${CM}/fin`, { metadata: { finalizers: ['c.io/z', 'a.io/x'] } });
    assert.deepEqual(meta(added)['finalizers'], ['c.io/z', 'a.io/x', 'b.io/y']);
    const removed = await patch(`${CM}/fin`, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['a.io/x'], labels: { l: null } },
      data: { k: null, n: '1' },
    });
    assert.deepEqual(meta(removed)['finalizers'], ['c.io/z', 'b.io/y']);
    assert.deepEqual(meta(removed)['labels'], {});
    assert.deepEqual(removed.body['data'], { n: '1' });
    const emptied = await patch(`${CM}/fin`, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['c.io/z', 'b.io/y'] },
    });
    assert.equal(meta(emptied)['finalizers'], undefined, 'an emptied list is omitted');
  });

  it('bad directives are the real 500s; custom resources refuse strategic merge (415)', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bad', namespace: 'smp' },
    });
    const bogus = await patch(`${CM}/bad`, { metadata: { $patch: 'bogus' } });
    assert.equal(bogus.status, 500);
    assert.deepEqual(bogus.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'unknown patch type: bogus in map: map[$patch:bogus]',
      code: 500,
    });
    await patch(`${CM}/bad`, { metadata: { finalizers: ['x/y'] } });
    const mixed = await patch(`${CM}/bad`, { metadata: { finalizers: [{ $patch: 'delete' }] } });
    assert.equal(mixed.status, 500);
    assert.equal(
      mixed.body['message'],
      'list element types are not identical: [[x/y] [map[$patch:delete]]]',
    );
    server.create(MYAPP_CRD as never);
    server.create({
      apiVersion: 'my.domain/v1',
      kind: 'MyApp',
      metadata: { name: 'm', namespace: 'smp' },
    });
    const cr = await patch('/apis/my.domain/v1/namespaces/smp/myapps/m', { spec: {} });
    assert.equal(cr.status, 415);
  });
});
