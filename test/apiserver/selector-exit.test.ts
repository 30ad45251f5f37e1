/**
 * What a filtered watch gets when an object leaves or enters its selector: the real server sends
 * DELETED carrying the last state that matched (old labels and data) at the resourceVersion of the
 * write that made it leave, and ADDED carrying the new object.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { cm, openWatch, setup } from './helpers.ts';

const NS = 'exit';
const PATH = `/api/v1/namespaces/${NS}/configmaps`;

describe('apiserver watch selector exit and entry', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
  });
  after(() => server.close());

  it('a label selector: DELETED with the old object at the new RV, ADDED with the new one', async () => {
    server.create(cm('c1', NS, { app: 'x' }, { v: '1' }));
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'c1' };
    const w = await openWatch(
      server,
      `${PATH}?watch=true&labelSelector=app%3Dx&resourceVersion=${server.resourceVersion()}`,
    );
    server.patch(ref, { metadata: { labels: { app: 'y' } }, data: { v: '2' } });
    const leftAt = server.resourceVersion();
    const [gone] = await w.next(1);
    assert.equal(gone?.type, 'DELETED');
    assert.equal(gone.object.metadata?.resourceVersion, leftAt);
    assert.deepEqual(gone.object.metadata?.labels, { app: 'x' });
    assert.deepEqual(gone.object['data'], { v: '1' });
    assert.equal(gone.object.kind, 'ConfigMap');
    assert.equal(gone.object.apiVersion, 'v1');

    server.patch(ref, { metadata: { labels: { app: 'x' } }, data: { v: '3' } });
    const [back] = await w.next(1);
    assert.equal(back?.type, 'ADDED');
    assert.equal(back.object.metadata?.resourceVersion, server.resourceVersion());
    assert.deepEqual(back.object.metadata?.labels, { app: 'x' });
    assert.deepEqual(back.object['data'], { v: '3' });
    w.close();
  });

  it('a field selector, metadata-only watches and replays send the same exit object', async () => {
    server.create(cm('c2', NS, undefined, { v: '1' }));
    const from = server.resourceVersion();
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'c2' };
    const query = `watch=true&fieldSelector=metadata.name%3Dc2,metadata.namespace%3D${NS}&labelSelector=!gone&resourceVersion=${from}`;
    const full = await openWatch(server, `${PATH}?${query}`);
    const meta = await openWatch(server, `${PATH}?${query}`, {
      Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
    });
    server.patch(ref, { metadata: { labels: { gone: 'yes' } }, data: { v: '2' } });
    const leftAt = server.resourceVersion();
    const [f] = await full.next(1);
    const [m] = await meta.next(1);
    assert.equal(f?.type, 'DELETED');
    assert.equal(f.object.metadata?.resourceVersion, leftAt);
    assert.equal(f.object.metadata?.labels, undefined, 'the state before the labels came');
    assert.deepEqual(f.object['data'], { v: '1' });
    assert.equal(m?.type, 'DELETED');
    assert.equal(m.object.kind, 'PartialObjectMetadata');
    assert.equal(m.object.metadata?.resourceVersion, leftAt);
    assert.equal(m.object.metadata?.labels, undefined);
    const replay = await openWatch(server, `${PATH}?${query}`);
    const [r] = await replay.next(1);
    assert.deepEqual(r, f);
    for (const w of [full, meta, replay]) w.close();
  });
});
