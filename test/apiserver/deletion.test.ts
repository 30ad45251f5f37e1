// The deletion lifecycle over HTTP, as a real kube-apiserver runs it: graceful pod deletion,
// propagation-policy finalizers, finalizer removal, and terminating namespaces.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { cm, json, openWatch, setup } from './helpers.ts';

const NS = 'del';
const PODS = `/api/v1/namespaces/${NS}/pods`;
const CMS = `/api/v1/namespaces/${NS}/configmaps`;

interface Meta {
  name: string;
  resourceVersion: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
}

function pod(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
  };
}

const meta = (body: Record<string, unknown>): Meta => body['metadata'] as Meta;

async function del(server: ApiServer, path: string, body?: unknown) {
  return json(server, path, {
    method: 'DELETE',
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
}

async function mergePatch(server: ApiServer, path: string, patch: unknown) {
  return json(server, path, {
    method: 'PATCH',
    body: JSON.stringify(patch),
    headers: { 'Content-Type': 'application/merge-patch+json' },
  });
}

async function eventually(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('apiserver deletion lifecycle', () => {
  let server: ApiServer;
  beforeEach(async () => {
    ({ server } = await setup());
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });
  afterEach(() => server.close());

  it('deletes a pod bound to a node gracefully; grace 0 then removes it; an unbound pod goes at once', async () => {
    const rv = server.resourceVersion();
    server.create(pod('bound', { nodeName: 'node-1', terminationGracePeriodSeconds: 45 }));
    server.create(pod('unbound'));
    const watch = await openWatch(server, `${PODS}?watch=true&resourceVersion=${rv}`);
    try {
      const before = Date.now();
      const graceful = await del(server, `${PODS}/bound`);
      assert.equal(graceful.status, 200);
      assert.equal(graceful.body['kind'], 'Pod');
      const m = meta(graceful.body);
      assert.equal(m.deletionGracePeriodSeconds, 45, "the pod's terminationGracePeriodSeconds");
      const due = Date.parse(m.deletionTimestamp!);
      assert.ok(due >= Math.floor(before / 1000) * 1000 + 44_000, m.deletionTimestamp);
      assert.equal((await json(server, `${PODS}/bound`)).status, 200, 'still there');
      // Another DELETE without a shorter grace period changes nothing.
      const again = await del(server, `${PODS}/bound`);
      assert.equal(meta(again.body).resourceVersion, m.resourceVersion);

      const unbound = await del(server, `${PODS}/unbound`);
      assert.equal(unbound.status, 200);
      assert.equal(meta(unbound.body).deletionGracePeriodSeconds, 0);
      assert.equal((await json(server, `${PODS}/unbound`)).status, 404);

      const force = await del(server, `${PODS}/bound?gracePeriodSeconds=0`);
      assert.equal(force.status, 200);
      assert.equal(meta(force.body).deletionGracePeriodSeconds, 0);
      assert.equal((await json(server, `${PODS}/bound`)).status, 404);

      const events = await watch.next(7);
      assert.deepEqual(
        events.map((e) => `${e.type} ${e.object.metadata?.name}`),
        [
          'ADDED bound',
          'ADDED unbound',
          'MODIFIED bound',
          'MODIFIED unbound',
          'DELETED unbound',
          'MODIFIED bound',
          'DELETED bound',
        ],
      );
      // The response of a removal is the last stored version; DELETED comes at a new RV.
      assert.equal(events[3]!.object.metadata?.resourceVersion, meta(unbound.body).resourceVersion);
      assert.ok(
        Number(events[4]!.object.metadata?.resourceVersion) >
          Number(meta(unbound.body).resourceVersion),
      );
    } finally {
      watch.close();
    }
  });

  it('shortens a pending grace period with a smaller gracePeriodSeconds in the body', async () => {
    server.create(pod('slow', { nodeName: 'node-1' }));
    const first = await del(server, `${PODS}/slow`);
    assert.equal(meta(first.body).deletionGracePeriodSeconds, 30, 'the default');
    const shorter = await del(server, `${PODS}/slow`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: 10,
    });
    const m = meta(shorter.body);
    assert.equal(m.deletionGracePeriodSeconds, 10);
    assert.equal(
      Date.parse(m.deletionTimestamp!) - Date.parse(meta(first.body).deletionTimestamp!),
      -20_000,
    );
  });

  it('Orphan and Foreground add their finalizer and keep the object; Background deletes', async () => {
    for (const name of ['orphan', 'fg', 'bg']) server.create(cm(name, NS));
    const orphan = await del(server, `${CMS}/orphan?propagationPolicy=Orphan`);
    assert.equal(orphan.status, 200);
    assert.equal(orphan.body['kind'], 'ConfigMap');
    assert.deepEqual(meta(orphan.body).finalizers, ['orphan']);
    assert.equal(meta(orphan.body).deletionGracePeriodSeconds, 0);
    assert.ok(meta(orphan.body).deletionTimestamp);
    const fg = await del(server, `${CMS}/fg`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Foreground',
    });
    assert.deepEqual(meta(fg.body).finalizers, ['foregroundDeletion']);
    assert.equal((await json(server, `${CMS}/fg`)).status, 200, 'kept: no garbage collector');
    const bg = await del(server, `${CMS}/bg?propagationPolicy=Background`);
    assert.equal(bg.body['kind'], 'Status');
    assert.deepEqual(bg.body['details'], {
      name: 'bg',
      kind: 'configmaps',
      uid: (bg.body['details'] as { uid: string }).uid,
    });
    assert.equal((await json(server, `${CMS}/bg`)).status, 404);
    const bad = await del(server, `${CMS}/fg?propagationPolicy=Sideways`);
    assert.equal(bad.status, 400);
  });

  it('the final DELETED after the last finalizer is removed carries the stored object at a new RV', async () => {
    server.create({
      ...cm('held', NS),
      metadata: { name: 'held', namespace: NS, finalizers: ['example.com/hold'] },
    });
    const marked = await del(server, `${CMS}/held`);
    const markedRv = meta(marked.body).resourceVersion;
    assert.deepEqual(meta(marked.body).finalizers, ['example.com/hold']);
    const watch = await openWatch(server, `${CMS}?watch=true&resourceVersion=${markedRv}`);
    try {
      const patched = await mergePatch(server, `${CMS}/held`, { metadata: { finalizers: null } });
      assert.equal(patched.status, 200);
      // The caller gets its update (no finalizers) at the old RV …
      assert.equal(meta(patched.body).finalizers, undefined);
      assert.equal(meta(patched.body).resourceVersion, markedRv);
      assert.equal((await json(server, `${CMS}/held`)).status, 404);
      // … watchers get the stored object, finalizers and all, at the deletion's RV.
      const [ev] = await watch.next(1);
      assert.equal(ev!.type, 'DELETED');
      const m = ev!.object.metadata as Meta;
      assert.deepEqual(m.finalizers, ['example.com/hold']);
      assert.ok(m.deletionTimestamp);
      assert.equal(m.resourceVersion, server.resourceVersion());
      assert.ok(Number(m.resourceVersion) > Number(markedRv));
    } finally {
      watch.close();
    }
  });

  it('a deleted namespace is Terminating, refuses creates with NamespaceTerminating, then is emptied and removed', async () => {
    const created = await json(server, '/api/v1/namespaces', {
      method: 'POST',
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'term' } }),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.deepEqual(created.body['spec'], { finalizers: ['kubernetes'] });
    assert.deepEqual(created.body['status'], { phase: 'Active' });
    assert.deepEqual(meta(created.body) as unknown as { labels: unknown }, {
      ...meta(created.body),
      labels: { 'kubernetes.io/metadata.name': 'term' },
    });
    server.create(cm('before', 'term'));
    server.create({
      ...pod('runner', { nodeName: 'node-1' }),
      metadata: { name: 'runner', namespace: 'term' },
    });
    const gone = await json(server, '/api/v1/namespaces/term', { method: 'DELETE' });
    assert.equal(gone.status, 200);
    assert.equal(gone.body['kind'], 'Namespace');
    assert.equal((gone.body['status'] as { phase: string }).phase, 'Terminating');
    assert.ok(meta(gone.body).deletionTimestamp);
    assert.deepEqual(gone.body['spec'], { finalizers: ['kubernetes'] });

    const refused = await json(server, '/api/v1/namespaces/term/configmaps', {
      method: 'POST',
      body: JSON.stringify(cm('after', 'term')),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body['reason'], 'Forbidden');
    assert.equal(
      refused.body['message'],
      'configmaps "after" is forbidden: unable to create new content in namespace term because it is being terminated',
    );
    assert.deepEqual(refused.body['details'], {
      name: 'after',
      kind: 'configmaps',
      causes: [
        {
          reason: 'NamespaceTerminating',
          message: 'namespace term is being terminated',
          field: 'metadata.namespace',
        },
      ],
    });
    const second = await json(server, '/api/v1/namespaces/term', { method: 'DELETE' });
    assert.equal(second.status, 409);
    // `default`, `kube-system` and `kube-public` may not be deleted; namespaces have no
    // deletecollection.
    const immortal = await json(server, '/api/v1/namespaces/default', { method: 'DELETE' });
    assert.equal(immortal.status, 403);
    assert.equal(
      immortal.body['message'],
      'namespaces "default" is forbidden: this namespace may not be deleted',
    );
    assert.equal((await json(server, '/api/v1/namespaces', { method: 'DELETE' })).status, 405);

    await eventually(
      () => server.get({ apiVersion: 'v1', kind: 'Namespace', name: 'term' }) === undefined,
      'the namespace to be removed',
    );
    assert.equal(
      server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'term', name: 'before' }),
      undefined,
    );
    assert.equal(
      server.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'term', name: 'runner' }),
      undefined,
    );
  });

  it('waits for objects kept by finalizers; namespaceDeletionDelayMs: Infinity keeps it Terminating', async () => {
    server.create({
      ...cm('held', NS),
      metadata: { name: 'held', namespace: NS, finalizers: ['example.com/hold'] },
    });
    await json(server, `/api/v1/namespaces/${NS}`, { method: 'DELETE' });
    await eventually(
      () =>
        server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'held' })?.metadata
          ?.deletionTimestamp !== undefined,
      'the held object to be marked',
    );
    await new Promise((r) => setTimeout(r, 250));
    assert.ok(server.get({ apiVersion: 'v1', kind: 'Namespace', name: NS }), 'still terminating');
    await mergePatch(server, `${CMS}/held`, { metadata: { finalizers: null } });
    await eventually(
      () => server.get({ apiVersion: 'v1', kind: 'Namespace', name: NS }) === undefined,
      'the namespace to be removed',
    );

    const { server: still } = await setup({ namespaceDeletionDelayMs: Infinity });
    try {
      still.create(cm('x', 'stay'));
      await json(still, '/api/v1/namespaces/stay', { method: 'DELETE' });
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(still.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'stay', name: 'x' }));
    } finally {
      await still.close();
    }
  });
});
