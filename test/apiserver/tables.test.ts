/**
 * Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, what `kubectl get` asks
 * for): each kind's columns and cells as kube-apiserver v1.23's printers compute them,
 * `includeObject`, the Table's metadata, and Tables on a watch. The expected values are the real
 * server's (the golden transcript `tables.json` records the same cases from it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
// The printers of kinds the server does not serve yet (jobs, cronjobs, endpoints) are checked
// directly: printers.ts is a leaf module with no imports.
import { humanDuration, printerFor } from '../../packages/apiserver/src/printers.ts';
import { MYAPP_CRD, json, openWatch, setup } from './helpers.ts';

const TABLE = { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
const NS = 'tables';
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}
interface Row {
  cells: unknown[];
  conditions?: unknown[];
  object: { kind?: string; apiVersion?: string; metadata?: Record<string, unknown> } | null;
}
interface Table {
  kind: string;
  apiVersion: string;
  metadata: Record<string, unknown>;
  columnDefinitions: Column[] | null;
  rows: Row[];
}

/** What an age under two minutes (`0s`…`119s`) reads as: tests may run slowly. */
const SECONDS = '<seconds>';

async function table(server: ApiServer, path: string): Promise<Table> {
  const res = await json(server, path, { headers: TABLE });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const t = res.body as unknown as Table;
  for (const row of t.rows) {
    row.cells = row.cells.map((c) => (typeof c === 'string' && /^\d+s$/.test(c) ? SECONDS : c));
  }
  return t;
}

/** The rows' cells by the name in their first cell (`Name` is first in every kind but events). */
function cellsByName(t: Table, nameColumn = 0): Record<string, unknown[]> {
  return Object.fromEntries(t.rows.map((r) => [r.cells[nameColumn] as string, r.cells]));
}

function columns(t: Table): string[] {
  return (t.columnDefinitions ?? []).map((c) => (c.priority === 1 ? `${c.name}*` : c.name));
}

const podSpec = (containers = ['c']) => ({
  containers: containers.map((name) => ({ name, image: `img-${name}` })),
});

describe('Table output of built-in kinds', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup());
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });
  after(() => server.close());

  it('configmaps: Name, Data (data + binaryData keys), Age, with the real descriptions', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c1', namespace: NS },
      data: { a: '1', b: '2' },
      binaryData: { bin: 'AAE=' },
    } as never);
    const t = await table(server, `/api/v1/namespaces/${NS}/configmaps`);
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(
      t.columnDefinitions?.map((c) => [c.name, c.type, c.format, c.priority]),
      [
        ['Name', 'string', 'name', 0],
        ['Data', 'string', '', 0],
        ['Age', 'string', '', 0],
      ],
    );
    assert.match(t.columnDefinitions![0]!.description, /^Name must be unique within a namespace\./);
    assert.match(t.columnDefinitions![2]!.description, /^CreationTimestamp is a timestamp/);
    assert.match(t.columnDefinitions![2]!.description, /\n\nPopulated by the system\./);
    assert.deepEqual(cellsByName(t)['c1'], ['c1', 3, SECONDS]);
  });

  it('secrets: Type (Opaque when unset), Data count', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's1', namespace: NS },
      data: { u: 'dQ==', p: 'cA==' },
    } as never);
    server.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's2', namespace: NS },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'Yw==', 'tls.key': 'aw==' },
    } as never);
    const t = await table(server, `/api/v1/namespaces/${NS}/secrets`);
    assert.deepEqual(columns(t), ['Name', 'Type', 'Data', 'Age']);
    const rows = cellsByName(t);
    assert.deepEqual(rows['s1'], ['s1', 'Opaque', 2, SECONDS]);
    assert.deepEqual(rows['s2'], ['s2', 'kubernetes.io/tls', 2, SECONDS]);
  });

  it('namespaces: Status is the phase', async () => {
    const t = await table(server, `/api/v1/namespaces/${NS}`);
    assert.deepEqual(columns(t), ['Name', 'Status', 'Age']);
    assert.deepEqual(t.rows[0]?.cells, [NS, 'Active', SECONDS]);
  });

  it('serviceaccounts (Secrets count) and leases (Holder, empty when unset)', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'sa', namespace: NS },
      secrets: [{ name: 'a' }, { name: 'b' }],
    } as never);
    server.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l1', namespace: NS },
      spec: { holderIdentity: 'me' },
    } as never);
    server.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l2', namespace: NS },
    } as never);
    const sa = await table(server, `/api/v1/namespaces/${NS}/serviceaccounts`);
    assert.deepEqual(columns(sa), ['Name', 'Secrets', 'Age']);
    assert.deepEqual(sa.rows[0]?.cells, ['sa', 2, SECONDS]);
    const leases = await table(server, `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`);
    assert.deepEqual(columns(leases), ['Name', 'Holder', 'Age']);
    assert.deepEqual(cellsByName(leases)['l1'], ['l1', 'me', SECONDS]);
    assert.deepEqual(cellsByName(leases)['l2'], ['l2', '', SECONDS]);
  });

  it('deployments: Ready ready/desired (desired defaults to 1), wide Containers, Images, Selector', async () => {
    const base = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      spec: {
        selector: {
          matchLabels: { app: 'web' },
          matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['z', 'y'] }],
        },
        template: { metadata: { labels: { app: 'web' } }, spec: podSpec(['a', 'b']) },
      },
    };
    server.create({ ...base, metadata: { name: 'web', namespace: NS } } as never);
    server.updateStatus({
      ...base,
      metadata: { name: 'web', namespace: NS },
      status: { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 },
    } as never);
    server.create({
      ...base,
      metadata: { name: 'api', namespace: NS },
      spec: { ...base.spec, replicas: 3 },
    } as never);
    const t = await table(server, `/apis/apps/v1/namespaces/${NS}/deployments`);
    assert.deepEqual(columns(t), [
      'Name',
      'Ready',
      'Up-to-date',
      'Available',
      'Age',
      'Containers*',
      'Images*',
      'Selector*',
    ]);
    const rows = cellsByName(t);
    assert.deepEqual(rows['web'], [
      'web',
      '1/1',
      1,
      1,
      SECONDS,
      'a,b',
      'img-a,img-b',
      'app=web,tier notin (y,z)',
    ]);
    assert.deepEqual(rows['api'], [
      'api',
      '0/3',
      0,
      0,
      SECONDS,
      'a,b',
      'img-a,img-b',
      'app=web,tier notin (y,z)',
    ]);
  });

  it('replicasets, statefulsets and daemonsets', async () => {
    // Labels the ReplicaSet's selector (matchExpressions included) matches, as validation wants.
    const template = { metadata: { labels: { app: 'x', tier: 'a', zone: 'z' } }, spec: podSpec() };
    server.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'rs', namespace: NS },
      spec: {
        replicas: 2,
        selector: {
          matchLabels: { app: 'x' },
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['b', 'a'] },
            { key: 'canary', operator: 'DoesNotExist' },
            { key: 'zone', operator: 'Exists' },
          ],
        },
        template,
      },
      status: { replicas: 2, readyReplicas: 1 },
    } as never);
    server.create({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'sts', namespace: NS },
      spec: { replicas: 2, selector: { matchLabels: { app: 'x' } }, template },
      status: { replicas: 2, readyReplicas: 1 },
    } as never);
    server.create({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'ds', namespace: NS },
      spec: {
        selector: { matchLabels: { app: 'x' } },
        template: {
          ...template,
          spec: { ...template.spec, nodeSelector: { zone: 'a', disk: 'ssd' } },
        },
      },
      status: {
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberReady: 2,
        updatedNumberScheduled: 1,
        numberAvailable: 2,
      },
    } as never);
    const rs = await table(server, `/apis/apps/v1/namespaces/${NS}/replicasets`);
    assert.deepEqual(columns(rs), [
      'Name',
      'Desired',
      'Current',
      'Ready',
      'Age',
      'Containers*',
      'Images*',
      'Selector*',
    ]);
    assert.deepEqual(rs.rows[0]?.cells, [
      'rs',
      2,
      2,
      1,
      SECONDS,
      'c',
      'img-c',
      'app=x,!canary,tier in (a,b),zone',
    ]);
    const sts = await table(server, `/apis/apps/v1/namespaces/${NS}/statefulsets`);
    assert.deepEqual(columns(sts), ['Name', 'Ready', 'Age', 'Containers*', 'Images*']);
    assert.deepEqual(sts.rows[0]?.cells, ['sts', '1/2', SECONDS, 'c', 'img-c']);
    const ds = await table(server, `/apis/apps/v1/namespaces/${NS}/daemonsets`);
    assert.deepEqual(columns(ds), [
      'Name',
      'Desired',
      'Current',
      'Ready',
      'Up-to-date',
      'Available',
      'Node Selector',
      'Age',
      'Containers*',
      'Images*',
      'Selector*',
    ]);
    assert.deepEqual(ds.rows[0]?.cells, [
      'ds',
      3,
      3,
      2,
      1,
      2,
      'disk=ssd,zone=a',
      SECONDS,
      'c',
      'img-c',
      'app=x',
    ]);
  });

  it('pods: Ready, the computed Status, Restarts with the last restart, and the wide columns', async () => {
    const pod = (
      name: string,
      status: Record<string, unknown>,
      spec: Record<string, unknown> = {},
      metadata: Record<string, unknown> = {},
    ) =>
      server.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, ...metadata },
        spec: { ...podSpec(), ...spec },
        status,
      } as never);
    const running = { running: { startedAt: ago(MIN) } };
    const cs = (state: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      name: 'c',
      ready: false,
      restartCount: 0,
      state,
      ...extra,
    });
    pod(
      'running',
      {
        phase: 'Running',
        podIPs: [{ ip: '10.1.0.5' }, { ip: 'fd00::5' }],
        containerStatuses: [
          cs(running, {
            ready: true,
            restartCount: 3,
            lastState: { terminated: { exitCode: 1, finishedAt: ago(20.5 * MIN) } },
          }),
          cs(running, {
            name: 'd',
            ready: true,
            restartCount: 1,
            lastState: { terminated: { exitCode: 1, finishedAt: ago(2 * DAY) } },
          }),
        ],
      },
      { ...podSpec(['c', 'd']), nodeName: 'node-a' },
    );
    pod('crash', {
      phase: 'Running',
      containerStatuses: [cs({ waiting: { reason: 'CrashLoopBackOff' } }, { restartCount: 4 })],
    });
    pod('pending', {});
    pod('evicted', { phase: 'Failed', reason: 'Evicted' });
    const init = (statuses: Record<string, unknown>[]) => ({
      phase: 'Pending',
      initContainerStatuses: statuses.map((state, i) => cs(state, { name: `i${i}` })),
    });
    const done = { terminated: { exitCode: 0, reason: 'Completed' } };
    const initSpec = {
      initContainers: [
        { name: 'i0', image: 'i' },
        { name: 'i1', image: 'i' },
      ],
    };
    pod('init-running', init([done, running]), initSpec);
    pod('init-waiting', init([{ waiting: { reason: 'PodInitializing' } }]), initSpec);
    pod('init-crash', init([done, { waiting: { reason: 'CrashLoopBackOff' } }]), initSpec);
    pod('init-error', init([{ terminated: { exitCode: 2, reason: 'Error' } }]), initSpec);
    pod('init-exit', init([{ terminated: { exitCode: 2 } }]), initSpec);
    pod('init-signal', init([{ terminated: { exitCode: 137, signal: 9 } }]), initSpec);
    pod('succeeded', { phase: 'Succeeded', containerStatuses: [cs(done)] });
    pod('exitcode', { phase: 'Failed', containerStatuses: [cs({ terminated: { exitCode: 3 } })] });
    pod('signal', {
      phase: 'Failed',
      containerStatuses: [cs({ terminated: { exitCode: 0, signal: 15 } })],
    });
    const sidecar = (ready: string) => ({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready }],
      containerStatuses: [cs(done), cs(running, { name: 'd', ready: true })],
    });
    pod('half-done-ready', sidecar('True'), podSpec(['c', 'd']));
    pod('half-done-notready', sidecar('False'), podSpec(['c', 'd']));
    pod(
      'gated',
      {
        phase: 'Pending',
        nominatedNodeName: 'node-b',
        conditions: [
          { type: 'example.com/a', status: 'True' },
          { type: 'example.com/b', status: 'False' },
        ],
      },
      {
        readinessGates: [
          { conditionType: 'example.com/a' },
          { conditionType: 'example.com/b' },
          { conditionType: 'example.com/c' },
        ],
      },
    );
    // Deleted, still there: a bound pod's graceful deletion, and a NodeLost one.
    pod('leaving', { phase: 'Running' }, { nodeName: 'node-a' });
    server.delete({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'leaving' });
    pod('lost', { phase: 'Running', reason: 'NodeLost' }, { nodeName: 'node-a' });
    server.delete({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'lost' });

    const t = await table(server, `/api/v1/namespaces/${NS}/pods`);
    assert.deepEqual(columns(t), [
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
      'IP*',
      'Node*',
      'Nominated Node*',
      'Readiness Gates*',
    ]);
    assert.equal(t.columnDefinitions![3]!.type, 'string');
    const rows = cellsByName(t);
    const status = (name: string) => rows[name]?.slice(1, 4);
    assert.deepEqual(rows['running'], [
      'running',
      '2/2',
      'Running',
      '4 (20m ago)',
      SECONDS,
      '10.1.0.5',
      'node-a',
      '<none>',
      '<none>',
    ]);
    assert.deepEqual(status('crash'), ['0/1', 'CrashLoopBackOff', '4']);
    assert.deepEqual(status('pending'), ['0/1', 'Pending', '0']);
    assert.deepEqual(status('evicted'), ['0/1', 'Evicted', '0']);
    assert.deepEqual(status('init-running'), ['0/1', 'Init:1/2', '0']);
    assert.deepEqual(status('init-waiting'), ['0/1', 'Init:0/2', '0']);
    assert.deepEqual(status('init-crash'), ['0/1', 'Init:CrashLoopBackOff', '0']);
    assert.deepEqual(status('init-error'), ['0/1', 'Init:Error', '0']);
    assert.deepEqual(status('init-exit'), ['0/1', 'Init:ExitCode:2', '0']);
    assert.deepEqual(status('init-signal'), ['0/1', 'Init:Signal:9', '0']);
    assert.deepEqual(status('succeeded'), ['0/1', 'Completed', '0']);
    assert.deepEqual(status('exitcode'), ['0/1', 'ExitCode:3', '0']);
    assert.deepEqual(status('signal'), ['0/1', 'Signal:15', '0']);
    assert.deepEqual(status('half-done-ready'), ['1/2', 'Running', '0']);
    assert.deepEqual(status('half-done-notready'), ['1/2', 'NotReady', '0']);
    assert.deepEqual(rows['gated']?.slice(5), ['<none>', '<none>', 'node-b', '1/3']);
    assert.deepEqual(status('leaving'), ['0/1', 'Terminating', '0']);
    assert.deepEqual(status('lost'), ['0/1', 'Unknown', '0']);
    // Completed pods carry a row condition.
    const row = (name: string) => t.rows.find((r) => r.cells[0] === name);
    assert.deepEqual(row('succeeded')?.conditions, [
      {
        type: 'Completed',
        status: 'True',
        reason: 'Succeeded',
        message: 'The pod has completed successfully.',
      },
    ]);
    assert.deepEqual(row('exitcode')?.conditions, [
      { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
    ]);
    assert.equal(row('running')?.conditions, undefined);
  });

  it('services: Type, Cluster-IP, External-IP by type, Port(s), wide Selector', async () => {
    const svc = (name: string, spec: Record<string, unknown>, status?: Record<string, unknown>) =>
      server.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NS },
        spec,
        ...(status ? { status } : {}),
      } as never);
    svc('plain', { clusterIP: '10.0.0.9', clusterIPs: ['10.0.0.9'], ports: [{ port: 80 }] });
    svc('none', {
      type: 'ClusterIP',
      clusterIP: 'None',
      clusterIPs: ['None'],
      selector: { b: '2', a: '1' },
    });
    svc('np', {
      type: 'NodePort',
      clusterIPs: ['10.0.0.7'],
      externalIPs: ['192.0.2.1', '192.0.2.2'],
      ports: [
        { port: 80, nodePort: 30080, protocol: 'TCP' },
        { port: 53, nodePort: 30053, protocol: 'UDP' },
      ],
    });
    svc('lb', { type: 'LoadBalancer', clusterIPs: ['10.0.0.8'] });
    svc(
      'lb-up',
      { type: 'LoadBalancer', clusterIPs: ['10.0.0.10'], externalIPs: ['192.0.2.9'] },
      {
        loadBalancer: {
          ingress: [{ hostname: 'lb.example.com' }, { ip: '203.0.113.9' }, { ip: '203.0.113.9' }],
        },
      },
    );
    svc('ext', { type: 'ExternalName', externalName: 'db.example.com' });
    const t = await table(server, `/api/v1/namespaces/${NS}/services`);
    assert.deepEqual(columns(t), [
      'Name',
      'Type',
      'Cluster-IP',
      'External-IP',
      'Port(s)',
      'Age',
      'Selector*',
    ]);
    const rows = cellsByName(t);
    assert.deepEqual(rows['plain'], [
      'plain',
      'ClusterIP',
      '10.0.0.9',
      '<none>',
      '80/TCP',
      SECONDS,
      '<none>',
    ]);
    assert.deepEqual(rows['none'], [
      'none',
      'ClusterIP',
      'None',
      '<none>',
      '<none>',
      SECONDS,
      'a=1,b=2',
    ]);
    assert.deepEqual(rows['np']?.slice(1, 5), [
      'NodePort',
      '10.0.0.7',
      '192.0.2.1,192.0.2.2',
      '80:30080/TCP,53:30053/UDP',
    ]);
    assert.deepEqual(rows['lb']?.slice(1, 5), ['LoadBalancer', '10.0.0.8', '<pending>', '<none>']);
    assert.deepEqual(rows['lb-up']?.[3], '203.0.113.9,lb.example.com,192.0.2.9');
    assert.deepEqual(rows['ext']?.slice(1, 5), [
      'ExternalName',
      '<none>',
      'db.example.com',
      '<none>',
    ]);
  });

  it('nodes: Status from the Ready condition, Roles from labels, Version, wide addresses and node info', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: 'node-a',
        labels: {
          'node-role.kubernetes.io/worker': '',
          'node-role.kubernetes.io/gpu': '',
          'kubernetes.io/role': 'infra',
        },
      },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [
          { type: 'Hostname', address: 'a' },
          { type: 'InternalIP', address: '10.0.1.1' },
        ],
        nodeInfo: {
          kubeletVersion: 'v1.23.16',
          osImage: 'Debian',
          kernelVersion: '6.1',
          containerRuntimeVersion: 'containerd://1.7',
        },
      },
    } as never);
    server.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-b' },
      spec: { unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'Unknown' }] },
    } as never);
    server.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-c' } } as never);
    const t = await table(server, '/api/v1/nodes');
    assert.deepEqual(columns(t), [
      'Name',
      'Status',
      'Roles',
      'Age',
      'Version',
      'Internal-IP*',
      'External-IP*',
      'OS-Image*',
      'Kernel-Version*',
      'Container-Runtime*',
    ]);
    const rows = cellsByName(t);
    assert.deepEqual(rows['node-a'], [
      'node-a',
      'Ready',
      'gpu,infra,worker',
      SECONDS,
      'v1.23.16',
      '10.0.1.1',
      '<none>',
      'Debian',
      '6.1',
      'containerd://1.7',
    ]);
    assert.deepEqual(rows['node-b']?.slice(1, 3), ['NotReady,SchedulingDisabled', '<none>']);
    assert.deepEqual(rows['node-c']?.slice(1), [
      'Unknown',
      '<none>',
      SECONDS,
      '',
      '<none>',
      '<none>',
      '<unknown>',
      '<unknown>',
      '<unknown>',
    ]);
  });

  it('events of both APIs: Last Seen, Type, Reason, Object, Subobject, Source, Message, First Seen, Count, Name', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e1', namespace: NS },
      involvedObject: { kind: 'Pod', name: 'p', fieldPath: 'spec.containers{c}' },
      reason: 'Pulled',
      message: '  pulled\n',
      type: 'Normal',
      source: { component: 'kubelet', host: 'node-a' },
      count: 4,
      firstTimestamp: ago(40.5 * MIN),
      lastTimestamp: ago(30.5 * MIN),
    } as never);
    server.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e0', namespace: NS },
      involvedObject: { kind: 'Node' },
      eventTime: ago(50.5 * MIN),
      reportingComponent: 'ctl',
    } as never);
    server.create({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'e2', namespace: NS },
      eventTime: ago(60.5 * MIN),
      series: { count: 7, lastObservedTime: ago(20.5 * MIN) },
      reportingController: 'example.com/ctl',
      reportingInstance: 'ctl-1',
      reason: 'Synced',
      note: 'synced',
      type: 'Warning',
      regarding: { kind: 'Deployment', name: 'web' },
    } as never);
    const core = await table(server, `/api/v1/namespaces/${NS}/events`);
    assert.deepEqual(columns(core), [
      'Last Seen',
      'Type',
      'Reason',
      'Object',
      'Subobject*',
      'Source*',
      'Message',
      'First Seen*',
      'Count*',
      'Name*',
    ]);
    assert.equal(core.columnDefinitions![9]!.format, 'name');
    const rows = cellsByName(core, 9);
    assert.deepEqual(rows['e1'], [
      '30m',
      'Normal',
      'Pulled',
      'pod/p',
      'spec.containers{c}',
      'kubelet, node-a',
      'pulled',
      '40m',
      4,
      'e1',
    ]);
    assert.deepEqual(rows['e0'], ['50m', '', '', 'node', '', 'ctl', '', '50m', 1, 'e0']);
    const events = await table(server, `/apis/events.k8s.io/v1/namespaces/${NS}/events`);
    assert.deepEqual(events.columnDefinitions, core.columnDefinitions);
    assert.deepEqual(cellsByName(events, 9)['e2'], [
      '20m',
      'Warning',
      'Synced',
      'deployment/web',
      '',
      'example.com/ctl, ctl-1',
      'synced',
      '60m',
      7,
      'e2',
    ]);
  });

  it('CRDs: the default Name and Created At (RFC 3339)', async () => {
    server.create(MYAPP_CRD as never);
    const t = await table(
      server,
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/myapps.my.domain',
    );
    assert.deepEqual(
      t.columnDefinitions?.map((c) => [c.name, c.type]),
      [
        ['Name', 'string'],
        ['Created At', 'date'],
      ],
    );
    const created = server.get({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'myapps.my.domain',
    })?.metadata?.creationTimestamp;
    assert.deepEqual(t.rows[0]?.cells, ['myapps.my.domain', created]);
  });
});

describe('Table output of custom resources', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup());
  });
  after(() => server.close());

  const crd = (plural: string, kind: string, columns?: unknown[]) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.t.example` },
    spec: {
      group: 't.example',
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
          ...(columns ? { additionalPrinterColumns: columns } : {}),
        },
      ],
    },
  });

  it('prints additionalPrinterColumns by type, with their descriptions and priorities', async () => {
    server.create(
      crd('widgets', 'Widget', [
        { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
        {
          name: 'Color',
          type: 'string',
          jsonPath: '.spec.color',
          description: 'The color',
          priority: 1,
        },
        { name: 'Ratio', type: 'number', jsonPath: '.spec.ratio' },
        { name: 'On', type: 'boolean', jsonPath: '.spec.on' },
        { name: 'Tags', type: 'string', jsonPath: '.spec.tags' },
        { name: 'Meta', type: 'string', jsonPath: '.spec.meta' },
        { name: 'First', type: 'string', jsonPath: '.spec.tags[0]' },
        { name: 'Count', type: 'string', jsonPath: '.spec.size' },
        { name: 'Missing', type: 'string', jsonPath: '.spec.missing' },
        { name: 'Wrong', type: 'integer', jsonPath: '.spec.color' },
        { name: 'Seen', type: 'date', jsonPath: '.status.seen' },
      ]) as never,
    );
    server.create({
      apiVersion: 't.example/v1',
      kind: 'Widget',
      metadata: { name: 'w1', namespace: 'default' },
      spec: {
        size: 3,
        color: 'red',
        ratio: 1.5,
        on: true,
        tags: ['a', 'b'],
        meta: { z: 1, a: 'x' },
      },
      status: { seen: ago(25.5 * MIN) },
    } as never);
    const t = await table(server, '/apis/t.example/v1/namespaces/default/widgets');
    assert.deepEqual(
      t.columnDefinitions?.slice(0, 3).map((c) => [c.name, c.type, c.description, c.priority]),
      [
        ['Name', 'string', t.columnDefinitions![0]!.description, 0],
        [
          'Size',
          'integer',
          'Custom resource definition column (in JSONPath format): .spec.size',
          0,
        ],
        ['Color', 'string', 'The color', 1],
      ],
    );
    assert.deepEqual(t.rows[0]?.cells, [
      'w1',
      3,
      'red',
      1.5,
      true,
      '["a","b"]',
      '{"a":"x","z":1}',
      'a',
      '3',
      null,
      null,
      '25m',
    ]);
  });

  it('gives a version without printer columns one Age column of type date', async () => {
    server.create(crd('gadgets', 'Gadget') as never);
    server.create({
      apiVersion: 't.example/v1',
      kind: 'Gadget',
      metadata: { name: 'g1', namespace: 'default' },
    } as never);
    const t = await table(server, '/apis/t.example/v1/namespaces/default/gadgets');
    assert.deepEqual(
      t.columnDefinitions?.map((c) => [c.name, c.type, c.priority]),
      [
        ['Name', 'string', 0],
        ['Age', 'date', 0],
      ],
    );
    assert.match(t.columnDefinitions![1]!.description, /^CreationTimestamp is a timestamp/);
    assert.deepEqual(t.rows[0]?.cells, ['g1', SECONDS]);
  });
});

describe('Table options, metadata and watches', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', namespace: 'default' },
      data: { x: '1' },
    } as never);
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'b', namespace: 'default' },
    } as never);
  });
  after(() => server.close());

  it('includeObject: Metadata (default) is PartialObjectMetadata, Object the object, None null', async () => {
    const base = '/api/v1/namespaces/default/configmaps';
    for (const q of ['', '?includeObject=Metadata']) {
      const t = await table(server, `${base}${q}`);
      assert.equal(t.rows[0]?.object?.kind, 'PartialObjectMetadata');
      assert.equal(t.rows[0]?.object?.apiVersion, 'meta.k8s.io/v1');
      assert.equal(t.rows[0]?.object?.metadata?.['name'], 'a');
      assert.equal((t.rows[0]?.object as Record<string, unknown>)['data'], undefined);
    }
    const full = await table(server, `${base}/a?includeObject=Object`);
    assert.deepEqual(
      full.rows[0]?.object,
      server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' }),
    );
    const none = await table(server, `${base}?includeObject=None`);
    assert.deepEqual(
      none.rows.map((r) => r.object),
      [null, null],
    );
  });

  it('an unknown includeObject is the real 400', async () => {
    const res = await json(server, '/api/v1/namespaces/default/configmaps?includeObject=All', {
      headers: TABLE,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        "Unable to convert to Table as requested: includeObject: Invalid value: \"All\": must be 'Metadata', 'Object', 'None', or empty",
      reason: 'BadRequest',
      code: 400,
    });
    const watch = await json(
      server,
      '/api/v1/namespaces/default/configmaps?watch=1&includeObject=All',
      { headers: TABLE },
    );
    assert.equal(watch.status, 400);
  });

  it("metadata: a list's resourceVersion and continue; one object's resourceVersion", async () => {
    const list = await table(server, '/api/v1/namespaces/default/configmaps?limit=1');
    assert.equal(list.metadata['resourceVersion'], String(server.resourceVersion()));
    assert.equal(typeof list.metadata['continue'], 'string');
    assert.equal(list.metadata['remainingItemCount'], 1);
    assert.equal(list.rows.length, 1);
    const one = await table(server, '/api/v1/namespaces/default/configmaps/a');
    const a = server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' });
    assert.deepEqual(one.metadata, { resourceVersion: a?.metadata?.resourceVersion });
    assert.equal(one.rows.length, 1);
    assert.equal(one.columnDefinitions?.length, 3);
  });

  it('an empty list is a Table with its columns and no rows', async () => {
    const t = await table(server, '/api/v1/namespaces/kube-public/configmaps');
    assert.deepEqual(t.rows, []);
    assert.deepEqual(columns(t), ['Name', 'Data', 'Age']);
  });

  it('a watch sends one-row Tables at the object RV, with headers only in the first event', async () => {
    const w = await openWatch(server, '/api/v1/namespaces/default/configmaps?watch=1', TABLE);
    const initial = await w.next(2);
    const tables = initial.map((e) => e.object as unknown as Table);
    assert.deepEqual(
      initial.map((e) => e.type),
      ['ADDED', 'ADDED'],
    );
    assert.equal(tables[0]?.columnDefinitions?.length, 3);
    assert.equal(tables[1]?.columnDefinitions, null);
    assert.match(w.raw(), /"columnDefinitions":null/);
    server.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'b' },
      { data: { k: 'v' } },
      'merge',
    );
    server.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'b' });
    const [modified, deleted] = await w.next(2);
    w.close();
    const m = modified?.object as unknown as Table;
    assert.equal(modified?.type, 'MODIFIED');
    assert.equal(m.columnDefinitions, null);
    assert.deepEqual(m.rows[0]?.cells.slice(0, 2), ['b', 1]);
    assert.match(String(m.rows[0]?.cells[2]), /^\d+s$/);
    assert.equal(m.metadata['resourceVersion'], m.rows[0]?.object?.metadata?.['resourceVersion']);
    assert.equal(deleted?.type, 'DELETED');
    assert.equal((deleted?.object as unknown as Table).rows[0]?.cells[0], 'b');
  });

  it('a BOOKMARK on a Table watch is a Table of the empty bookmark object', async () => {
    const rv = server.resourceVersion();
    const w = await openWatch(
      server,
      `/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`,
      TABLE,
    );
    server.faults.sendBookmarks();
    const [bookmark] = await w.next(1);
    w.close();
    assert.equal(bookmark?.type, 'BOOKMARK');
    assert.deepEqual(bookmark?.object, {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: String(rv) },
      columnDefinitions: (bookmark?.object as unknown as Table).columnDefinitions,
      rows: [
        {
          cells: ['', 0, '<unknown>'],
          object: {
            kind: 'PartialObjectMetadata',
            apiVersion: 'meta.k8s.io/v1',
            metadata: { resourceVersion: String(rv), creationTimestamp: null },
          },
        },
      ],
    });
  });
});

describe('printers of kinds not served yet, and durations', () => {
  const ctx = { now: Date.parse('2026-06-01T00:00:00Z'), defaults: true };
  const at = (ms: number) => new Date(ctx.now - ms).toISOString();

  it('humanDuration is the real HumanDuration', () => {
    const S = 1000;
    const H = 60 * MIN;
    const cases: [number, string][] = [
      [-2 * S, '<invalid>'],
      [-1 * S, '0s'],
      [0, '0s'],
      [119 * S, '119s'],
      [2 * MIN, '2m'],
      [3 * MIN + 20 * S, '3m20s'],
      [10 * MIN + 5 * S, '10m'],
      [179 * MIN, '179m'],
      [3 * H, '3h'],
      [5 * H + 30 * MIN, '5h30m'],
      [8 * H + 30 * MIN, '8h'],
      [47 * H, '47h'],
      [2 * DAY, '2d'],
      [2 * DAY + 3 * H, '2d3h'],
      [8 * DAY + 3 * H, '8d'],
      [729 * DAY, '729d'],
      [730 * DAY, '2y'],
      [731 * DAY, '2y1d'],
      [8 * 365 * DAY, '8y'],
    ];
    for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
  });

  it('jobs: Completions, Duration, wide Containers, Images, Selector', () => {
    const job = printerFor('jobs.batch')!;
    const template = { spec: podSpec(['a']) };
    const selector = { matchLabels: { 'job-name': 'j' } };
    assert.deepEqual(
      job(
        {
          metadata: { name: 'j', creationTimestamp: at(MIN) },
          spec: { completions: 3, selector, template },
          status: { succeeded: 1, startTime: at(50_000), completionTime: at(20_000) },
        },
        ctx,
      ).cells,
      ['j', '1/3', '30s', '60s', 'a', 'img-a', 'job-name=j'],
    );
    assert.deepEqual(
      job(
        { metadata: { name: 'k' }, spec: { parallelism: 2 }, status: { startTime: at(5 * MIN) } },
        ctx,
      ).cells,
      ['k', '0/1 of 2', '5m', '<unknown>', '', '', '<none>'],
    );
    assert.deepEqual(job({ metadata: { name: 'l' }, spec: {} }, ctx).cells.slice(1, 3), [
      '0/1',
      '',
    ]);
  });

  it('cronjobs: Schedule, Suspend, Active, Last Schedule', () => {
    const cron = printerFor('cronjobs.batch')!;
    assert.deepEqual(
      cron(
        {
          metadata: { name: 'c', creationTimestamp: at(DAY) },
          spec: {
            schedule: '*/5 * * * *',
            suspend: true,
            jobTemplate: { spec: { template: { spec: podSpec(['a']) } } },
          },
          status: { active: [{ name: 'x' }], lastScheduleTime: at(4 * MIN) },
        },
        ctx,
      ).cells,
      ['c', '*/5 * * * *', 'True', 1, '4m', '24h', 'a', 'img-a', '<none>'],
    );
    assert.deepEqual(
      cron({ metadata: { name: 'd' }, spec: { schedule: '@daily' } }, ctx).cells.slice(2, 5),
      ['False', 0, '<none>'],
    );
  });

  it('endpoints: ip:port per address and port, three at most, then "+ N more..."', () => {
    const ep = printerFor('endpoints')!;
    const cells = (subsets: unknown[]) => ep({ metadata: { name: 'e' }, subsets }, ctx).cells[1];
    assert.equal(cells([]), '<none>');
    assert.equal(
      cells([{ addresses: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], ports: [{ port: 80 }] }]),
      '10.0.0.1:80,[fd00::1]:80',
    );
    assert.equal(cells([{ addresses: [{ ip: '10.0.0.1' }] }]), '10.0.0.1');
    assert.equal(
      cells([
        {
          addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }],
          ports: [{ port: 80 }, { port: 443 }],
        },
      ]),
      '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more...',
    );
  });
});
