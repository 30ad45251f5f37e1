/**
 * Discovery and OpenAPI: the embedded server's `/api`, `/api/v1` and `/apis/{g}/{v}` documents
 * against a real v1.23 server's (`golden/discovery/*.json`, recorded by
 * `golden/record-discovery.ts`), restricted to the resources the embedded server models; the
 * `storageVersionHash` rule; `/openapi/v2` and `/openapi/v3` with real schemas; and server-side
 * field validation, which kubectl relies on once it finds `fieldValidation` in those documents.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiServer } from '@kubecache/apiserver';
import { setup } from './helpers.ts';
import { at, textAt } from './json-at.ts';
import { WIDGET_CRD } from './golden/discovery-crd.ts';
import type { DiscoveryGolden } from './golden/discovery-crd.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden', 'discovery');
const GOLDENS: DiscoveryGolden[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as DiscoveryGolden);

interface ApiResource {
  name: string;
  singularName: string;
  kind: string;
  verbs: string[];
  [key: string]: unknown;
}
interface ResourceList {
  groupVersion: string;
  resources: ApiResource[];
}

async function getJson(
  server: ApiServer,
  path: string,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(server.url + path);
  return { status: res.status, body: (await res.json()) as unknown };
}

describe('discovery documents, compared with a real v1.23 server', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup());
    server.create(WIDGET_CRD);
  });
  after(() => server.close());

  for (const golden of GOLDENS.filter((g) => g.path !== '/api')) {
    it(`${golden.path}: the modelled resources, listed as the real server lists them`, async () => {
      const { status, body } = await getJson(server, golden.path);
      assert.equal(status, 200);
      const mine = body as ResourceList;
      const real = golden.body as ResourceList;
      assert.equal(mine.groupVersion, real.groupVersion);
      const served = new Set(mine.resources.map((r) => r.name.split('/')[0]));
      const expected = real.resources.filter((r) => served.has(r.name.split('/')[0]));
      const custom = golden.path.startsWith('/apis/golden.example.com/');
      // v1.23 leaves singularName empty for built-ins; newer servers (and this one, which reports
      // v1.32) fill it in. Everything else must match, order included.
      const comparable = (r: ApiResource): ApiResource =>
        custom || r.name.includes('/') ? r : { ...r, singularName: '' };
      assert.deepEqual(mine.resources.map(comparable), expected);
      // Nothing listed that the real server does not list.
      assert.deepEqual(
        mine.resources.map((r) => r.name),
        expected.map((r) => r.name),
      );
    });
  }

  it('built-in singular names are the lowercase kinds, as newer servers report them', async () => {
    const { body } = await getJson(server, '/apis/apps/v1');
    const deployments = (body as ResourceList).resources.find((r) => r.name === 'deployments');
    assert.equal(deployments?.singularName, 'deployment');
  });

  it('/api is the real document but for the address', async () => {
    const real = GOLDENS.find((g) => g.path === '/api')!.body as Record<string, unknown>;
    const { body } = await getJson(server, '/api');
    assert.deepEqual(
      { ...(body as Record<string, unknown>), serverAddressByClientCIDRs: [] },
      { ...real, serverAddressByClientCIDRs: [] },
    );
  });

  it('kubectl get all: the categories of the modelled resources', async () => {
    const all: string[] = [];
    for (const path of ['/api/v1', '/apis/apps/v1', '/apis/golden.example.com/v1']) {
      const { body } = await getJson(server, path);
      for (const r of (body as ResourceList).resources)
        if ((r['categories'] as string[] | undefined)?.includes('all')) all.push(r.name);
    }
    assert.deepEqual(all, [
      'pods',
      'services',
      'daemonsets',
      'deployments',
      'replicasets',
      'statefulsets',
      'widgets',
    ]);
  });

  it('a CRD without categories has none (no longer "all" for every custom resource)', async () => {
    server.create({
      ...WIDGET_CRD,
      metadata: { name: 'gadgets.golden.example.com' },
      spec: {
        ...WIDGET_CRD.spec,
        names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
        versions: [{ ...WIDGET_CRD.spec.versions[1]!, subresources: undefined }],
      },
    });
    const { body } = await getJson(server, '/apis/golden.example.com/v1');
    const gadgets = (body as ResourceList).resources.find((r) => r.name === 'gadgets');
    assert.equal(gadgets?.['categories'], undefined);
    assert.equal(gadgets?.['storageVersionHash'], storageHash('golden.example.com/v1/Gadget'));
  });
});

function storageHash(gvk: string): string {
  // Independent of the server's code: Node's crypto, the rule as the real server states it.
  return createHash('sha256').update(gvk).digest().subarray(0, 8).toString('base64');
}

describe('storageVersionHash', () => {
  it('is base64 of the first 8 bytes of sha256("group/version/kind") of the storage version', () => {
    // Values from the recorded real documents.
    assert.equal(storageHash('/v1/ConfigMap'), 'qFsyl6wFWjQ=');
    assert.equal(storageHash('apps/v1/Deployment'), '8aSe+NMegvE=');
    // events.k8s.io Events are stored as core Events; CRDs as v1beta1 in v1.23.
    assert.equal(storageHash('/v1/Event'), 'r2yiGXH7wu8=');
    assert.equal(
      storageHash('apiextensions.k8s.io/v1beta1/CustomResourceDefinition'),
      'jfWCUB31mvA=',
    );
  });
});

describe('OpenAPI documents', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup());
    server.create(WIDGET_CRD);
  });
  after(() => server.close());

  it('/openapi/v2 is JSON with the real definitions of the modelled kinds', async () => {
    const res = await fetch(`${server.url}/openapi/v2`, {
      headers: { Accept: 'application/json' },
    });
    assert.equal(res.status, 200);
    const doc = (await res.json()) as unknown;
    assert.equal(at(doc, 'swagger'), '2.0');
    const definitions = at(doc, 'definitions');
    const replicas = at(definitions, 'io.k8s.api.apps.v1.DeploymentSpec', 'properties', 'replicas');
    assert.equal(at(replicas, 'type'), 'integer');
    assert.equal(at(replicas, 'format'), 'int32');
    assert.match(textAt(replicas, 'description'), /^Number of desired pods/);
    assert.deepEqual(
      at(definitions, 'io.k8s.api.core.v1.ConfigMap', 'x-kubernetes-group-version-kind'),
      [{ group: '', kind: 'ConfigMap', version: 'v1' }],
    );
    // Every reference resolves within the document.
    const refs = JSON.stringify(doc).match(/"#\/definitions\/[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      assert.ok(at(definitions, ref.slice(15, -1)) !== undefined, `${ref} resolves`);
    }
    // The custom resource carries its CRD's schema.
    const widget = at(definitions, 'com.example.golden.v1.Widget');
    assert.equal(at(widget, 'properties', 'spec', 'properties', 'replicas', 'type'), 'integer');
  });

  it('/openapi/v2 asked for protobuf only (as kubectl asks) is 406, so the client falls back', async () => {
    const res = await fetch(`${server.url}/openapi/v2`, {
      headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' },
    });
    assert.equal(res.status, 406);
    assert.equal(at(await res.json(), 'reason'), 'NotAcceptable');
  });

  it('/openapi/v3/apis/apps/v1 has the kinds, everything they reference, and PATCH with fieldValidation', async () => {
    const index = (await getJson(server, '/openapi/v3')).body;
    assert.match(
      textAt(index, 'paths', 'apis/apps/v1', 'serverRelativeURL'),
      /^\/openapi\/v3\/apis\/apps\/v1\?hash=/,
    );
    const { status, body: doc } = await getJson(server, '/openapi/v3/apis/apps/v1');
    assert.equal(status, 200);
    const schemas = at(doc, 'components', 'schemas');
    assert.ok(at(schemas, 'io.k8s.api.apps.v1.Deployment'));
    assert.ok(at(schemas, 'io.k8s.api.autoscaling.v1.Scale'), 'the scale subresource kind');
    assert.ok(at(schemas, 'io.k8s.api.core.v1.PodSpec'), 'a referenced schema of another group');
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    assert.ok(refs.length > 0);
    for (const ref of new Set(refs)) {
      assert.ok(at(schemas, ref.slice(22, -1)) !== undefined, `${ref} resolves`);
    }
    const patch = at(
      doc,
      'paths',
      '/apis/apps/v1/namespaces/{namespace}/deployments/{name}',
      'patch',
    );
    assert.equal(at(patch, 'parameters', 0, 'name'), 'fieldValidation');
  });

  it('/openapi/v3 hashes each group version by its content: stable across writes, new on a schema change', async () => {
    const hashes = async () => {
      const index = (await getJson(server, '/openapi/v3')).body;
      const url = (gv: string) => textAt(index, 'paths', gv, 'serverRelativeURL');
      return { apps: url('apis/apps/v1'), widgets: url('apis/golden.example.com/v1') };
    };
    const first = await hashes();
    assert.match(first.apps, /\?hash=[0-9A-F]{128}$/);
    server.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'h', namespace: 'x' } });
    assert.deepEqual(await hashes(), first, 'a write changes no schema');
    const crd = server.get<typeof WIDGET_CRD>({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: WIDGET_CRD.metadata.name,
    })!;
    const schema = crd.spec.versions[1]!.schema.openAPIV3Schema;
    server.update({
      ...crd,
      spec: {
        ...crd.spec,
        versions: [
          crd.spec.versions[0]!,
          {
            ...crd.spec.versions[1]!,
            schema: {
              openAPIV3Schema: {
                ...schema,
                properties: { ...schema.properties, extra: { type: 'string' } },
              },
            },
          },
        ],
      },
    });
    const after = await hashes();
    assert.equal(after.apps, first.apps);
    assert.notEqual(after.widgets, first.widgets);
  });
});

describe('server-side field validation (fieldValidation)', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup());
    server.create(WIDGET_CRD);
  });
  after(() => server.close());

  const deployment = (name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { any: 'label' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'nginx', ...extra }] },
      },
      ...extra,
    },
  });
  const post = (path: string, body: unknown, query = '') =>
    fetch(`${server.url}${path}${query}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const DEPS = '/apis/apps/v1/namespaces/default/deployments';

  it('Strict rejects unknown fields with the real 400, naming each by its path in document order', async () => {
    const res = await post(DEPS, deployment('strict', { bogus: 1 }), '?fieldValidation=Strict');
    assert.equal(res.status, 400);
    const status = (await res.json()) as unknown;
    assert.equal(at(status, 'reason'), 'BadRequest');
    assert.equal(
      at(status, 'message'),
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ' +
        'unknown field "spec.template.spec.containers[0].bogus", unknown field "spec.bogus"',
    );
    assert.equal(
      server.list({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default' }).length,
      0,
    );
  });

  it('Strict accepts every known field (maps, lists, metadata)', async () => {
    const res = await post(DEPS, deployment('known'), '?fieldValidation=Strict');
    assert.equal(res.status, 201);
  });

  it('Warn (the default) accepts, with one Warning header per unknown field', async () => {
    for (const query of ['?fieldValidation=Warn', '']) {
      const name = `warn${query === '' ? '-default' : ''}`;
      const res = await post(DEPS, deployment(name, { bogus: 1 }), query);
      assert.equal(res.status, 201);
      assert.equal(
        res.headers.get('warning'),
        '299 - "unknown field \\"spec.template.spec.containers[0].bogus\\"", 299 - "unknown field \\"spec.bogus\\""',
      );
    }
  });

  it('Ignore accepts silently; an unknown mode is 400', async () => {
    const res = await post(DEPS, deployment('ignore', { bogus: 1 }), '?fieldValidation=Ignore');
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('warning'), null);
    const bad = await post(DEPS, deployment('bad'), '?fieldValidation=Loose');
    assert.equal(bad.status, 400);
  });

  it('merge patches are checked against the schema; strategic directives are not fields', async () => {
    const patch = (body: unknown, type: string) =>
      fetch(`${server.url}${DEPS}/known?fieldValidation=Strict`, {
        method: 'PATCH',
        headers: { 'Content-Type': type },
        body: JSON.stringify(body),
      });
    const bad = await patch({ spec: { replcas: 2 } }, 'application/merge-patch+json');
    assert.equal(bad.status, 400);
    assert.equal(
      at(await bad.json(), 'message'),
      'strict decoding error: unknown field "spec.replcas"',
    );
    const ok = await patch(
      { spec: { template: { spec: { $setElementOrder: { containers: [{ name: 'c' }] } } } } },
      'application/strategic-merge-patch+json',
    );
    assert.equal(ok.status, 200);
  });

  it('a custom resource is checked against its CRD schema', async () => {
    const W = '/apis/golden.example.com/v1/namespaces/default/widgets';
    const widget = (spec: unknown) => ({
      apiVersion: 'golden.example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec,
    });
    const bad = await post(W, widget({ replicas: 1, size: 2 }), '?fieldValidation=Strict');
    assert.equal(bad.status, 400);
    assert.match(textAt(await bad.json(), 'message'), /unknown field "spec\.size"$/);
    assert.equal((await post(W, widget({ replicas: 1 }), '?fieldValidation=Strict')).status, 201);
  });
});
