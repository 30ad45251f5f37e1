/**
 * Server-side apply and `metadata.managedFields` over HTTP. The exact bodies of the common paths
 * are compared with a real v1.23 server by the golden transcripts (`golden/server-side-apply.json`);
 * these tests pin each rule on its own, including what the transcripts do not show (keyed lists
 * shared by two appliers, the status subresource, untracked objects, dryRun, custom resources).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { MYAPP_CRD, json, openWatch, setup } from './helpers.ts';

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}
type Obj = Record<string, unknown> & {
  metadata: { resourceVersion: string; managedFields?: Entry[]; [k: string]: unknown };
};

const NS = '/api/v1/namespaces/ssa';
const DEP = '/apis/apps/v1/namespaces/ssa/deployments';
const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };
const MERGE = { 'Content-Type': 'application/merge-patch+json' };

const cfg = (name: string, data: Record<string, string>, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

function byManager(obj: Obj): Record<string, Entry> {
  return Object.fromEntries((obj.metadata.managedFields ?? []).map((e) => [e.manager, e]));
}

describe('server-side apply and managedFields', () => {
  let server: ApiServer;
  const req = async (method: string, path: string, body?: unknown, headers = {}) => {
    const init: RequestInit = { method, headers: { 'User-Agent': 'ssa-test/1.0', ...headers } };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (body !== undefined && !('Content-Type' in headers))
      (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    const r = await json(server, path, init);
    return { status: r.status, body: r.body as Obj };
  };
  const apply = (path: string, body: unknown) => req('PATCH', path, body, APPLY);

  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ssa' } });
  });
  after(() => server.close());

  it('apply creates with an Apply entry, accepts YAML, and an identical apply stores nothing', async () => {
    const yaml =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a1\n  labels: {app: x}\ndata:\n  k: v\n';
    const created = await apply(`${NS}/configmaps/a1?fieldManager=mgr`, yaml);
    assert.equal(created.status, 201);
    const [entry] = created.body.metadata.managedFields!;
    assert.deepEqual(
      { ...entry, time: undefined },
      {
        manager: 'mgr',
        operation: 'Apply',
        apiVersion: 'v1',
        time: undefined,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:k': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } },
      },
    );
    assert.equal(entry!.time, created.body.metadata['creationTimestamp']);
    const w = await openWatch(
      server,
      `${NS}/configmaps?watch=true&resourceVersion=${created.body.metadata.resourceVersion}`,
    );
    const again = await apply(`${NS}/configmaps/a1?fieldManager=mgr`, yaml);
    assert.equal(again.status, 200);
    assert.equal(again.body.metadata.resourceVersion, created.body.metadata.resourceVersion);
    assert.deepEqual(again.body.metadata.managedFields, created.body.metadata.managedFields);
    await apply(`${NS}/configmaps/a1?fieldManager=mgr`, cfg('a1', { k: 'v2' }, { app: 'x' }));
    const events = await w.next(1);
    assert.equal(events.length, 1, 'only the real change is an event');
    w.close();
  });

  it('removes what the manager stopped applying, unless another manager owns it', async () => {
    await apply(
      `${NS}/configmaps/a2?fieldManager=mgr`,
      cfg('a2', { a: '1', b: '2', c: '3' }, { l: 'x' }),
    );
    await apply(`${NS}/configmaps/a2?fieldManager=other`, cfg('a2', { c: '3' }));
    const r = await apply(`${NS}/configmaps/a2?fieldManager=mgr`, cfg('a2', { a: '1' }));
    assert.deepEqual(r.body['data'], { a: '1', c: '3' }, 'b removed, c kept (shared)');
    assert.equal(r.body.metadata['labels'], undefined, 'the emptied labels map is omitted');
    const m = byManager(r.body);
    assert.deepEqual(m['mgr']!.fieldsV1, { 'f:data': { 'f:a': {} } });
    assert.deepEqual(m['other']!.fieldsV1, { 'f:data': { 'f:c': {} } });
  });

  it('conflicts: 409 with one cause per field, grouped by manager; force takes them over', async () => {
    await apply(`${NS}/configmaps/a3?fieldManager=a`, cfg('a3', { x: '1', y: '1' }));
    await req('PATCH', `${NS}/configmaps/a3?fieldManager=b`, { data: { z: '1' } }, MERGE);
    const body = cfg('a3', { x: '2', y: '2', z: '2' });
    const refused = await apply(`${NS}/configmaps/a3?fieldManager=c`, body);
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Apply failed with 3 conflicts: conflicts with "a":\n- .data.x\n- .data.y\nconflicts with "b" using v1:\n- .data.z',
      reason: 'Conflict',
      details: {
        causes: [
          { reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.data.x' },
          { reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.data.y' },
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "b" using v1',
            field: '.data.z',
          },
        ],
      },
      code: 409,
    });
    const forced = await apply(`${NS}/configmaps/a3?fieldManager=c&force=true`, body);
    assert.equal(forced.status, 200);
    assert.deepEqual(forced.body['data'], { x: '2', y: '2', z: '2' });
    assert.deepEqual(
      (forced.body.metadata.managedFields ?? []).map((e) => e.manager),
      ['c'],
      'the losers own nothing left, so their entries go',
    );
    // Applying the value another manager already set is no conflict: ownership is shared.
    const shared = await apply(`${NS}/configmaps/a3?fieldManager=d`, cfg('a3', { x: '2' }));
    assert.equal(shared.status, 200);
    assert.deepEqual(byManager(shared.body)['d']!.fieldsV1, { 'f:data': { 'f:x': {} } });
  });

  it('validates fieldManager and force as PatchOptions/CreateOptions (422)', async () => {
    const missing = await apply(`${NS}/configmaps/a4`, cfg('a4', {}));
    assert.equal(missing.status, 422);
    assert.equal(
      missing.body['message'],
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    assert.deepEqual(missing.body['details'], {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [
        {
          reason: 'FieldValueRequired',
          message: 'Required value: is required for apply patch',
          field: 'fieldManager',
        },
      ],
    });
    await req('POST', `${NS}/configmaps`, cfg('a4', {}));
    const force = await req('PATCH', `${NS}/configmaps/a4?force=true`, {}, MERGE);
    assert.equal(force.status, 422);
    assert.match(
      String(force.body['message']),
      /force: Forbidden: may not be specified for non-apply patch/,
    );
    const long = await req(
      'POST',
      `${NS}/configmaps?fieldManager=${'m'.repeat(129)}`,
      cfg('a5', {}),
    );
    assert.equal(long.status, 422);
    assert.equal(
      long.body['message'],
      'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: must have at most 128 bytes',
    );
  });

  it('ordinary writes are Update entries of the fieldManager or the User-Agent', async () => {
    const created = await req('POST', `${NS}/configmaps`, cfg('u1', { a: '1' }, { l: '1' }));
    assert.deepEqual(
      created.body.metadata.managedFields!.map((e) => [e.manager, e.operation]),
      [['ssa-test', 'Update']],
    );
    assert.deepEqual(created.body.metadata.managedFields![0]!.fieldsV1, {
      'f:data': { '.': {}, 'f:a': {} },
      'f:metadata': { 'f:labels': { '.': {}, 'f:l': {} } },
    });
    const anonymous = await json(server, `${NS}/configmaps`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': '' },
      body: JSON.stringify(cfg('u2', {})),
    });
    assert.equal((anonymous.body as Obj).metadata.managedFields?.[0]?.manager, 'unknown');
    // Another manager changes a: it owns it now; removing l takes it from everyone.
    const patched = await req(
      'PATCH',
      `${NS}/configmaps/u1?fieldManager=editor`,
      { data: { a: '2' }, metadata: { labels: null } },
      MERGE,
    );
    const m = byManager(patched.body);
    // Still owns the data map itself (a member without children is `{}` in FieldsV1).
    assert.deepEqual(m['ssa-test']!.fieldsV1, { 'f:data': {} });
    assert.deepEqual(m['editor']!.fieldsV1, { 'f:data': { 'f:a': {} } });
    // A PUT without managedFields keeps the stored ones; a no-op keeps everything.
    const { managedFields: _mf, ...meta } = patched.body.metadata;
    const put = await req('PUT', `${NS}/configmaps/u1?fieldManager=editor`, {
      ...patched.body,
      metadata: meta,
    });
    assert.equal(put.body.metadata.resourceVersion, patched.body.metadata.resourceVersion);
    assert.deepEqual(put.body.metadata.managedFields, patched.body.metadata.managedFields);
  });

  it('managedFields: [{}] resets them, and an object without any is not tracked by updates', async () => {
    await req('POST', `${NS}/configmaps?fieldManager=one`, cfg('r1', { a: '1' }));
    const reset = await req(
      'PATCH',
      `${NS}/configmaps/r1?fieldManager=two`,
      { metadata: { managedFields: [{}] }, data: { b: '1' } },
      MERGE,
    );
    assert.equal(reset.body.metadata.managedFields, undefined);
    const next = await req(
      'PATCH',
      `${NS}/configmaps/r1?fieldManager=three`,
      { data: { c: '1' } },
      MERGE,
    );
    assert.equal(next.body.metadata.managedFields, undefined);
    // Objects written in-process carry none either; an apply starts tracking.
    server.create(cfg('r2', { a: '1' }) as never);
    const upd = await req(
      'PATCH',
      `/api/v1/namespaces/default/configmaps/r2?fieldManager=x`,
      { data: { b: '1' } },
      MERGE,
    );
    assert.equal(upd.body.metadata.managedFields, undefined);
    const applied = await apply(
      `/api/v1/namespaces/default/configmaps/r2?fieldManager=x`,
      cfg('r2', { c: '1' }),
    );
    assert.deepEqual(
      applied.body.metadata.managedFields!.map((e) => e.manager),
      ['x'],
    );
  });

  it('keyed lists: two appliers own their own containers, and dropping one removes only it', async () => {
    const dep = (containers: { name: string; image: string }[]) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'kl' },
      spec: {
        selector: { matchLabels: { app: 'kl' } },
        template: { metadata: { labels: { app: 'kl' } }, spec: { containers } },
      },
    });
    const first = await apply(`${DEP}/kl?fieldManager=base`, dep([{ name: 'main', image: 'a' }]));
    assert.equal(first.status, 201);
    await apply(`${DEP}/kl?fieldManager=sidecar`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'kl' },
      spec: { template: { spec: { containers: [{ name: 'side', image: 'b' }] } } },
    });
    const both = await req('GET', `${DEP}/kl`);
    const names = (o: Obj) =>
      (
        o['spec'] as { template: { spec: { containers: { name: string }[] } } }
      ).template.spec.containers.map((c) => c.name);
    assert.deepEqual(names(both.body), ['main', 'side']);
    assert.deepEqual(byManager(both.body)['sidecar']!.fieldsV1, {
      'f:spec': {
        'f:template': {
          'f:spec': {
            'f:containers': { 'k:{"name":"side"}': { '.': {}, 'f:image': {}, 'f:name': {} } },
          },
        },
      },
    });
    // The selector is an atomic struct: owned as a whole.
    assert.deepEqual(
      (byManager(both.body)['base']!.fieldsV1['f:spec'] as Record<string, unknown>)['f:selector'],
      {},
    );
    const dropped = await apply(`${DEP}/kl?fieldManager=sidecar`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'kl' },
    });
    assert.deepEqual(names(dropped.body), ['main']);
    assert.equal(byManager(dropped.body)['sidecar'], undefined);
  });

  it('status writes are entries of their own; main writes do not track the status', async () => {
    const created = await req('POST', `${DEP}?fieldManager=c`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'st' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
      status: { replicas: 5 },
    });
    assert.equal(JSON.stringify(created.body.metadata.managedFields).includes('f:status'), false);
    const put = await req('PUT', `${DEP}/st/status?fieldManager=ctl`, {
      ...created.body,
      status: { replicas: 2, observedGeneration: 1 },
    });
    const entry = byManager(put.body)['ctl']!;
    assert.equal(entry.subresource, 'status');
    assert.deepEqual(entry.fieldsV1, {
      'f:status': { 'f:observedGeneration': {}, 'f:replicas': {} },
    });
  });

  it('dryRun applies validate and answer without storing', async () => {
    const r = await apply(`${NS}/configmaps/dry?fieldManager=m&dryRun=All`, cfg('dry', { a: '1' }));
    assert.equal(r.status, 201);
    assert.equal(r.body.metadata.managedFields?.[0]?.manager, 'm');
    assert.equal((await req('GET', `${NS}/configmaps/dry`)).status, 404);
  });

  it('custom resources: maps merge per key, lists are atomic', async () => {
    server.create(MYAPP_CRD as never);
    const path = '/apis/my.domain/v1/namespaces/ssa/myapps/m1';
    const app = (spec: Record<string, unknown>) => ({
      apiVersion: 'my.domain/v1',
      kind: 'MyApp',
      metadata: { name: 'm1' },
      spec,
    });
    const created = await apply(
      `${path}?fieldManager=a`,
      app({ appName: 'x', tags: ['t1', 't2'] }),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.metadata.managedFields![0]!.fieldsV1, {
      'f:spec': { 'f:appName': {}, 'f:tags': {} },
    });
    await apply(`${path}?fieldManager=b`, app({ version: '2' }));
    const both = await req('GET', path);
    assert.deepEqual(both.body['spec'], { appName: 'x', tags: ['t1', 't2'], version: '2' });
    const conflict = await apply(`${path}?fieldManager=b`, app({ version: '2', tags: ['t3'] }));
    assert.equal(conflict.status, 409);
    assert.equal(
      conflict.body['message'],
      'Apply failed with 1 conflict: conflict with "a": .spec.tags',
    );
  });
});
