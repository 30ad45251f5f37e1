// The built-in resource table is client-node's list of stable resources (group, version, plural,
// scope, kind), the factory's accessors are derived from it with names that survive into
// declarations, and scope is right on the wire (a cluster-scoped informer on a namespaced factory).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ApiServer } from '@kubecache/apiserver';
import {
  builtinResources,
  resources,
  SharedInformerFactory,
  type Job,
  type Node,
  type Pod,
  type TypedResource,
} from '@kubecache/client';
import type { KubeConfig } from '@kubernetes/client-node';
import type { DeepReadonly, KubeObject } from '@kubecache/cache';
import { setup } from '../apiserver/helpers.ts';

const require = createRequire(import.meta.url);

/** `group/version/plural kind scope` of every stable list endpoint in client-node's generated APIs. */
function clientNodeResources(): string[] {
  const dist = dirname(require.resolve('@kubernetes/client-node'));
  const apis = join(dist, 'gen', 'apis');
  const found = new Map<string, { kind: string; namespaced: boolean }>();
  for (const file of readdirSync(apis).filter((f) => /^[A-Za-z]+V\d+Api\.js$/.test(f))) {
    const source = readFileSync(join(apis, file), 'utf8');
    const methods = source.matchAll(/async (list\w+)\([^)]*\) \{[\s\S]*?localVarPath = '([^']+)'/g);
    for (const [, method, path] of methods) {
      const m = /^\/(?:api|apis\/([^/]+))\/(v\d+)\/(?:namespaces\/\{namespace\}\/)?([a-z]+)$/.exec(
        path!,
      );
      if (m === null) continue; // e.g. a subresource or a non-resource path
      const [, group = '', version, plural] = m;
      const namespaced = path!.includes('/namespaces/{namespace}/');
      const kind = method!.replace(/^list(Namespaced)?/, '').replace(/ForAllNamespaces$/, '');
      const key = `${group}/${version}/${plural}`;
      const prev = found.get(key);
      found.set(key, { kind, namespaced: namespaced || (prev?.namespaced ?? false) });
    }
  }
  return [...found].map(
    ([key, v]) => `${key} ${v.kind} ${v.namespaced ? 'namespaced' : 'cluster'}`,
  );
}

function tableResources(): string[] {
  const out: string[] = [];
  for (const versions of Object.values(builtinResources)) {
    for (const byPlural of Object.values(
      versions as Record<string, Record<string, TypedResource<KubeObject>>>,
    )) {
      for (const [plural, r] of Object.entries(byPlural)) {
        assert.equal(plural, r.resource, 'keyed by plural');
        out.push(
          `${r.group}/${r.version}/${r.resource} ${r.kind} ${r.namespaced ? 'namespaced' : 'cluster'}`,
        );
      }
    }
  }
  return out;
}

describe('built-in resources', () => {
  it("is exactly client-node's set of stable list endpoints, with kind and scope", () => {
    const expected = clientNodeResources().sort();
    assert.ok(expected.length > 50, `client-node has ${expected.length} stable resources`);
    assert.deepEqual(tableResources().sort(), expected);
  });

  it('the flat map takes the preferred version of each plural', () => {
    assert.equal(resources.events.group, '');
    assert.equal(resources.horizontalpodautoscalers.version, 'v2');
    assert.equal(resources.nodes.namespaced, false);
    assert.equal(resources.jobs, builtinResources.batch.v1.jobs);
    assert.ok(Object.isFrozen(builtinResources.core.v1.pods));
  });

  it('declarations name the types (Pod, not its whole structure), so they stay small', () => {
    const dist = dirname(require.resolve('@kubecache/client'));
    const factory = readFileSync(join(dist, 'factory.d.ts'), 'utf8');
    const table = readFileSync(join(dist, 'resources.d.ts'), 'utf8');
    assert.ok(
      factory.split('\n').length < 600,
      `factory.d.ts: ${factory.split('\n').length} lines`,
    );
    assert.ok(table.split('\n').length < 1000, `resources.d.ts: ${table.split('\n').length} lines`);
    assert.match(table, /pods: TypedResource<Pod>;/);
    assert.doesNotMatch(table, /containerStatuses/, 'no expanded Pod structure');
  });
});

describe('typed accessors over HTTP', () => {
  let server: ApiServer;
  let kc: KubeConfig;

  before(async () => {
    ({ server, kc } = await setup({ bookmarkIntervalMs: 0 }));
    server.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
    server.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: 'default', name: 'web' },
      spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx' }] },
    } as KubeObject);
  });
  after(() => server.close());

  it('a cluster-scoped resource on a namespaced factory lists cluster-wide (no 404)', async () => {
    const factory = new SharedInformerFactory(kc, { namespace: 'default' });
    const nodes = factory.core.v1.nodes();
    const pods = factory.core.v1.pods();
    const ac = new AbortController();
    factory.start(ac.signal);
    try {
      assert.deepEqual(await factory.waitForCacheSync(AbortSignal.timeout(5000)), {
        'core/v1/nodes': true,
        'core/v1/pods[ns=default]': true,
      });
      const node: DeepReadonly<Node> = nodes.lister().get('node-1');
      const pod: DeepReadonly<Pod> = pods.lister().namespace('default').get('web');
      assert.equal(node.metadata?.name, 'node-1');
      assert.equal(pod.spec?.nodeName, node.metadata?.name);
      // The accessor's element type is the named wire type (a compile-time check).
      const jobs: () => readonly DeepReadonly<Job>[] = () =>
        factory.batch.v1.jobs().lister().list();
      assert.equal(typeof jobs, 'function');
    } finally {
      ac.abort();
      await factory.shutdown();
    }
  });
});
