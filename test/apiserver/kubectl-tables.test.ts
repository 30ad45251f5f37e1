/**
 * The real `kubectl get` printing the embedded server's Tables: the per-kind headers and cells
 * (and `-o wide`'s extra columns), and `get -w` printing a change as a new row.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiServer } from '@kubecache/apiserver';
import { setup } from './helpers.ts';
import { kubectl, watchUntil } from './kubectl-helpers.ts';

const NS = 'kt';
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();

/** kubectl's table as rows of cells (columns are separated by at least two spaces). */
function parse(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

/** The row whose first cell is `name`. */
function row(rows: string[][], name: string): string[] | undefined {
  return rows.find((r) => r[0] === name);
}

describe('kubectl get prints the real columns', () => {
  let server: ApiServer;
  let dir: string;
  let kubeconfig: string;
  const get = async (...args: string[]): Promise<string[][]> => {
    const res = await kubectl(kubeconfig, ['get', ...args]);
    assert.equal(res.code, 0, res.stderr);
    return parse(res.stdout);
  };

  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    dir = mkdtempSync(join(tmpdir(), 'kubecache-kubectl-tables-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfigYaml);
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const template = {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'app', image: 'nginx:1.25' },
          { name: 'sidecar', image: 'envoy:1.29' },
        ],
      },
    };
    server.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: NS },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
      status: { replicas: 3, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1 },
    } as never);
    const pod = (name: string, status: Record<string, unknown>, spec = {}) =>
      server.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS },
        spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName: 'node-a', ...spec },
        status,
      } as never);
    pod('ok', {
      phase: 'Running',
      podIPs: [{ ip: '10.1.0.7' }],
      containerStatuses: [
        {
          name: 'c',
          ready: true,
          restartCount: 2,
          state: { running: {} },
          lastState: { terminated: { exitCode: 1, finishedAt: ago(10.5 * 60_000) } },
        },
      ],
    });
    pod('crashing', {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'c',
          ready: false,
          restartCount: 6,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
        },
      ],
    });
    pod(
      'starting',
      {
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'i', ready: false, restartCount: 0, state: { running: {} } },
        ],
      },
      { initContainers: [{ name: 'i', image: 'busybox' }] },
    );
    server.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: NS },
      type: 'kubernetes.io/basic-auth',
      data: { username: 'dQ==', password: 'cA==' },
    } as never);
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: NS },
      data: { a: '1' },
    } as never);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('get deploy -o wide: READY, UP-TO-DATE, AVAILABLE and the wide CONTAINERS, IMAGES, SELECTOR', async () => {
    const rows = await get('deploy', '-n', NS, '-o', 'wide');
    assert.deepEqual(rows[0], [
      'NAME',
      'READY',
      'UP-TO-DATE',
      'AVAILABLE',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    const web = row(rows, 'web')!;
    assert.deepEqual(web.slice(0, 4), ['web', '1/3', '2', '1']);
    assert.match(web[4]!, /^\d+s$/);
    assert.deepEqual(web.slice(5), ['app,sidecar', 'nginx:1.25,envoy:1.29', 'app=web']);
    // Without -o wide kubectl drops the priority-1 columns.
    const narrow = await get('deploy', '-n', NS);
    assert.deepEqual(narrow[0], ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
  });

  it('get pods: READY, STATUS as computed, RESTARTS with the last restart', async () => {
    const rows = await get('pods', '-n', NS);
    assert.deepEqual(rows[0], ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    assert.deepEqual(row(rows, 'ok')?.slice(0, 4), ['ok', '1/1', 'Running', '2 (10m ago)']);
    assert.deepEqual(row(rows, 'crashing')?.slice(0, 4), [
      'crashing',
      '0/1',
      'CrashLoopBackOff',
      '6',
    ]);
    assert.deepEqual(row(rows, 'starting')?.slice(0, 4), ['starting', '0/1', 'Init:0/1', '0']);
    const wide = await get('pods', '-n', NS, '-o', 'wide');
    assert.deepEqual(wide[0]?.slice(5), ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    assert.deepEqual(row(wide, 'ok')?.slice(5), ['10.1.0.7', 'node-a', '<none>', '<none>']);
  });

  it('get secrets, get ns, get cm', async () => {
    const secrets = await get('secrets', '-n', NS);
    assert.deepEqual(secrets[0], ['NAME', 'TYPE', 'DATA', 'AGE']);
    assert.deepEqual(row(secrets, 'creds')?.slice(0, 3), [
      'creds',
      'kubernetes.io/basic-auth',
      '2',
    ]);
    const namespaces = await get('ns');
    assert.deepEqual(namespaces[0], ['NAME', 'STATUS', 'AGE']);
    assert.deepEqual(row(namespaces, NS)?.slice(0, 2), [NS, 'Active']);
    assert.deepEqual(row(namespaces, 'default')?.slice(0, 2), ['default', 'Active']);
    const cms = await get('cm', '-n', NS);
    assert.deepEqual(cms[0], ['NAME', 'DATA', 'AGE']);
    assert.deepEqual(row(cms, 'settings')?.slice(0, 2), ['settings', '1']);
  });

  it('get -w prints a change as a new row with the new cells', async () => {
    const out = await watchUntil(
      server,
      kubeconfig,
      ['get', 'cm', 'settings', '-n', NS, '-w'],
      /settings\s+3\s/,
      () => {
        server.patch(
          { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'settings' },
          { data: { a: '1', b: '2', c: '3' } },
          'merge',
        );
      },
    );
    const rows = parse(out);
    assert.deepEqual(rows[0], ['NAME', 'DATA', 'AGE']);
    // The header once, then the first state and the change.
    assert.equal(rows.filter((r) => r[0] === 'NAME').length, 1);
    assert.deepEqual(
      rows.slice(1).map((r) => r.slice(0, 2)),
      [
        ['settings', '1'],
        ['settings', '3'],
      ],
    );
  });
});
