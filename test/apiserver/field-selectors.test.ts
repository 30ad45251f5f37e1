/**
 * Field selectors beyond metadata.name/metadata.namespace: each kind's field labels (the real
 * server's field-label conversions and selectable fields), the 400 texts for unsupported labels and
 * malformed selectors, and the same selectors on WATCH with enter/leave transitions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import { MYAPP_CRD, json, openWatch, setup } from './helpers.ts';

const NS = 'fs';

function pod(name: string, spec: Record<string, unknown> = {}, status?: Record<string, unknown>) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
    ...(status ? { status } : {}),
  };
}

/** The names a LIST with this selector returns (asserting a 200). */
async function names(server: ApiServer, path: string, selector: string): Promise<string[]> {
  const sep = path.includes('?') ? '&' : '?';
  const res = await json(server, `${path}${sep}fieldSelector=${encodeURIComponent(selector)}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body['items'] as { metadata: { name: string } }[]).map((i) => i.metadata.name);
}

/** The Status of a refused LIST (asserting the 400 BadRequest). */
async function refused(server: ApiServer, path: string, selector: string): Promise<string> {
  const sep = path.includes('?') ? '&' : '?';
  const res = await json(server, `${path}${sep}fieldSelector=${encodeURIComponent(selector)}`);
  assert.equal(res.status, 400);
  assert.equal(res.body['kind'], 'Status');
  assert.equal(res.body['reason'], 'BadRequest');
  assert.equal(res.body['code'], 400);
  return res.body['message'] as string;
}

describe('apiserver field selectors', () => {
  let server: ApiServer;
  const pods = `/api/v1/namespaces/${NS}/pods`;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    server.create(pod('p1', { nodeName: 'x', restartPolicy: 'Never' }));
    server.create(pod('p2', { nodeName: 'y', serviceAccountName: 'robot' }, { phase: 'Running' }));
    server.create(pod('p3', { schedulerName: 'custom' }, { phase: 'Pending' }));
    server.create(pod('p4', {}, { phase: 'Succeeded', podIPs: [{ ip: '10.0.0.4' }] }));
    server.create(pod('p5', {}, { podIP: '10.0.0.5', nominatedNodeName: 'z' }));
  });
  after(() => server.close());

  it('filters pods by spec and status fields; a missing field is the empty string', async () => {
    assert.deepEqual(await names(server, pods, 'spec.nodeName=x'), ['p1']);
    assert.deepEqual(await names(server, pods, 'spec.nodeName=='), ['p3', 'p4', 'p5']);
    assert.deepEqual(await names(server, pods, 'spec.nodeName!='), ['p1', 'p2']);
    assert.deepEqual(await names(server, pods, 'status.phase!=Running,status.phase!=Succeeded'), [
      'p1',
      'p3',
      'p5',
    ]);
    assert.deepEqual(await names(server, pods, 'spec.restartPolicy=Never'), ['p1']);
    assert.deepEqual(await names(server, pods, 'spec.schedulerName=custom'), ['p3']);
    assert.deepEqual(await names(server, pods, 'spec.serviceAccountName=robot'), ['p2']);
    assert.deepEqual(await names(server, pods, 'status.nominatedNodeName=z'), ['p5']);
    // status.podIP is the first pod IP, whichever field carries it.
    assert.deepEqual(await names(server, pods, 'status.podIP=10.0.0.4'), ['p4']);
    assert.deepEqual(await names(server, pods, 'status.podIP=10.0.0.5'), ['p5']);
    // Old clients' spec.host is spec.nodeName.
    assert.deepEqual(await names(server, pods, 'spec.host=y'), ['p2']);
    assert.deepEqual(await names(server, '/api/v1/pods', 'spec.nodeName=y,metadata.namespace=fs'), [
      'p2',
    ]);
    assert.deepEqual(
      server
        .list({ apiVersion: 'v1', kind: 'Pod', namespace: NS, fieldSelector: 'spec.nodeName=x' })
        .map((p) => p.metadata?.name),
      ['p1'],
    );
  });

  it('filters secrets by type, events by their fields, nodes by unschedulable', async () => {
    const secrets = `/api/v1/namespaces/${NS}/secrets`;
    server.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's1', namespace: NS },
      type: 'Opaque',
    });
    server.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's2', namespace: NS },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': '', 'tls.key': '' },
    });
    assert.deepEqual(await names(server, secrets, 'type=Opaque'), ['s1']);
    assert.deepEqual(await names(server, secrets, 'type!=Opaque'), ['s2']);

    const events = `/api/v1/namespaces/${NS}/events`;
    server.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e1', namespace: NS },
      involvedObject: { kind: 'Pod', name: 'p1', namespace: NS },
      reason: 'Scheduled',
      type: 'Normal',
      source: { component: 'default-scheduler' },
    });
    server.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e2', namespace: NS },
      involvedObject: { kind: 'Pod', name: 'p2', namespace: NS },
      reason: 'BackOff',
      type: 'Warning',
      reportingComponent: 'kubelet',
    });
    assert.deepEqual(await names(server, events, 'involvedObject.name=p1'), ['e1']);
    assert.deepEqual(
      await names(server, events, 'involvedObject.kind=Pod,type!=Normal,reason=BackOff'),
      ['e2'],
    );
    // `source` falls back to the reporting component.
    assert.deepEqual(await names(server, events, 'source=kubelet'), ['e2']);
    assert.deepEqual(await names(server, events, 'reportingComponent=kubelet'), ['e2']);
    assert.deepEqual(await names(server, events, 'involvedObject.uid='), ['e1', 'e2']);

    // events.k8s.io names the same fields after its own shape.
    const newEvents = `/apis/events.k8s.io/v1/namespaces/${NS}/events`;
    server.create({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'n1', namespace: NS },
      regarding: { kind: 'Pod', name: 'p3', namespace: NS },
      reason: 'Started',
      reportingController: 'kubelet',
      type: 'Normal',
    });
    assert.deepEqual(await names(server, newEvents, 'regarding.name=p3'), ['n1']);
    assert.deepEqual(await names(server, newEvents, 'reportingController=kubelet'), ['n1']);
    assert.equal(await refused(server, newEvents, 'source=x'), 'field label not supported: source');

    server.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n-a' } });
    server.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n-b' },
      spec: { unschedulable: true },
    });
    // A Go bool: missing is "false".
    assert.deepEqual(await names(server, '/api/v1/nodes', 'spec.unschedulable=false'), ['n-a']);
    assert.deepEqual(await names(server, '/api/v1/nodes', 'spec.unschedulable=true'), ['n-b']);
    assert.deepEqual(
      await names(server, '/api/v1/namespaces', 'metadata.name=fs,status.phase!=Terminating'),
      ['fs'],
    );
  });

  it('refuses unsupported field labels with the kind’s own 400 text', async () => {
    assert.equal(
      await refused(server, `/api/v1/namespaces/${NS}/configmaps`, 'data.k=v'),
      '"data.k" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    assert.equal(await refused(server, pods, 'spec.foo=x'), 'field label not supported: spec.foo');
    // apps/v1 ReplicaSets have no field-label conversion: status.replicas is refused, as on a
    // real cluster (its storage computes the field, the conversion never lets it through).
    assert.equal(
      await refused(server, `/apis/apps/v1/namespaces/${NS}/replicasets`, 'status.replicas=1'),
      '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    assert.equal(
      await refused(server, '/api/v1/nodes', 'metadata.namespace='),
      'field label not supported: metadata.namespace',
    );
    assert.equal(
      await refused(server, '/api/v1/namespaces', 'metadata.namespace=x'),
      'field label not supported: metadata.namespace',
    );
    // The first unsupported label in sorted term order is named.
    assert.equal(
      await refused(server, pods, 'zz=1,spec.nodeName=x,aa=2'),
      'field label not supported: aa',
    );
    server.create(MYAPP_CRD);
    const myapps = `/apis/my.domain/v1/namespaces/${NS}/myapps`;
    assert.deepEqual(await names(server, myapps, 'metadata.name=a'), []);
    assert.equal(await refused(server, myapps, 'spec.x=1'), 'field label not supported: spec.x');
    const watch = await json(server, `${pods}?watch=true&fieldSelector=spec.foo%3Dx`);
    assert.equal(watch.status, 400);
    assert.equal(watch.body['message'], 'field label not supported: spec.foo');
  });

  it('refuses malformed selectors with apimachinery’s texts', async () => {
    assert.equal(
      await refused(server, pods, 'spec.nodeName'),
      "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'",
    );
    assert.equal(
      await refused(server, pods, 'spec.nodeName=a=b'),
      'invalid field selector: unescaped character in value: 61',
    );
    assert.equal(
      await refused(server, pods, 'spec.nodeName=a\\b'),
      'invalid field selector: invalid escape sequence: \\b',
    );
    // Escaped commas and equals are part of the value.
    server.create(pod('esc', { nodeName: 'a,b=c' }));
    assert.deepEqual(await names(server, pods, 'spec.nodeName=a\\,b\\=c'), ['esc']);
  });

  it('watches with a field selector: entering is ADDED, leaving is DELETED with the last match', async () => {
    const ref = { apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'w1' };
    server.create(pod('w1', {}, { phase: 'Pending' }));
    const from = server.resourceVersion();
    const w = await openWatch(
      server,
      `${pods}?watch=true&fieldSelector=${encodeURIComponent('status.phase=Running,spec.nodeName!=')}&resourceVersion=${from}`,
    );
    assert.equal(w.status, 200);
    server.patch(ref, { spec: { nodeName: 'x' } }); // still Pending: nothing
    server.updateStatus({ ...server.get(ref)!, status: { phase: 'Running' } }); // enters
    const enterRv = server.resourceVersion();
    server.updateStatus({ ...server.get(ref)!, status: { phase: 'Failed' } }); // leaves
    const leaveRv = server.resourceVersion();
    const events = await w.next(2);
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata?.resourceVersion]),
      [
        ['ADDED', enterRv],
        ['DELETED', leaveRv],
      ],
    );
    assert.deepEqual(events[0]!.object['status'], { phase: 'Running' });
    assert.deepEqual(events[1]!.object['status'], { phase: 'Running' }, 'the last matching state');
    assert.deepEqual(await w.next(1, 100), []);
    // Replaying the same history from the start gives the same events.
    const replay = await openWatch(
      server,
      `${pods}?watch=true&fieldSelector=status.phase%3DRunning&resourceVersion=${from}`,
    );
    const again = await replay.next(2);
    assert.deepEqual(
      again.map((e) => [e.type, e.object.metadata?.resourceVersion, e.object['status']]),
      [
        ['ADDED', enterRv, { phase: 'Running' }],
        ['DELETED', leaveRv, { phase: 'Running' }],
      ],
    );
    w.close();
    replay.close();
  });
});
