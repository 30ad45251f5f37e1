/**
 * One realistic kubectl session against the embedded server, through everything issue 14 asks
 * kubectl to do: typed creates (sent as protobuf), `get` (Tables), `-o yaml`, `-o jsonpath`,
 * client-side `apply` twice, `apply --server-side` twice, `edit` with a non-interactive EDITOR,
 * `patch` of each type, `label`, `annotate`, `scale`, `get -w`, `get all`, `explain`, and
 * `delete --wait`. Each step checks what kubectl printed and, where it matters, what the server
 * stored (read over HTTP). The steps run in order and build on each other.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiServer } from '@kubecache/apiserver';
import { json, setup } from './helpers.ts';
import { kubectl, watchUntil } from './kubectl-helpers.ts';

const NS = 'shop';

interface Stored {
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: { manager: string; operation: string }[];
  };
  type?: string;
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    backoffLimit?: number;
    completions?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: {
      spec: {
        containers: {
          name: string;
          image: string;
          imagePullPolicy?: string;
          env?: { name: string; value: string }[];
        }[];
        restartPolicy?: string;
      };
    };
  };
}

/** The table's rows as cells (kubectl separates columns by at least two spaces). */
function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('a kubectl session through the whole workflow', () => {
  let server: ApiServer;
  let dir: string;
  let kubeconfig: string;
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  /** Runs kubectl in the session's namespace; fails the test unless it exits 0. */
  const ok = async (args: string[], env?: Record<string, string>): Promise<string> => {
    const r = await kubectl(kubeconfig, ['-n', NS, ...args], env === undefined ? {} : { env });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** An object as the server serves it over HTTP. */
  const stored = async (path: string): Promise<Stored> => {
    const r = await json(server, path);
    assert.equal(r.status, 200, `GET ${path}: ${JSON.stringify(r.body)}`);
    return r.body as unknown as Stored;
  };
  const managers = (obj: Stored): string[] =>
    (obj.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`).sort();
  const CORE = `/api/v1/namespaces/${NS}`;
  const APPS = `/apis/apps/v1/namespaces/${NS}`;
  const BATCH = `/apis/batch/v1/namespaces/${NS}`;

  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    dir = mkdtempSync(join(tmpdir(), 'kubecache-kubectl-workflow-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfigYaml);
    // Its own discovery cache, so nothing cached from another server is reused.
    process.env['KUBECACHEDIR'] = join(dir, 'cache');
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('create namespace, configmap, secret generic, deployment and job (typed, protobuf)', async () => {
    assert.equal(await ok(['create', 'namespace', NS]), `namespace/${NS} created\n`);
    assert.equal(
      await ok([
        'create',
        'configmap',
        'settings',
        '--from-literal=mode=fast',
        '--from-literal=size=3',
      ]),
      'configmap/settings created\n',
    );
    assert.equal(
      await ok(['create', 'secret', 'generic', 'creds', '--from-literal=password=hunter2']),
      'secret/creds created\n',
    );
    assert.equal(
      await ok(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=2', '--port=80']),
      'deployment.apps/web created\n',
    );
    assert.equal(
      await ok(['create', 'job', 'once', '--image=busybox:1.36', '--', 'echo', 'hi']),
      'job.batch/once created\n',
    );

    const ns = await stored(`/api/v1/namespaces/${NS}`);
    assert.equal(ns.metadata.labels?.['kubernetes.io/metadata.name'], NS);
    const cm = await stored(`${CORE}/configmaps/settings`);
    assert.deepEqual(cm.data, { mode: 'fast', size: '3' });
    assert.deepEqual(managers(cm), ['kubectl-create/Update']);
    const secret = await stored(`${CORE}/secrets/creds`);
    assert.equal(secret.type, 'Opaque', 'defaulted as on a real server');
    assert.deepEqual(secret.data, { password: Buffer.from('hunter2').toString('base64') });
    const web = await stored(`${APPS}/deployments/web`);
    assert.equal(web.spec?.replicas, 2);
    assert.equal(web.spec?.template?.spec.containers[0]?.imagePullPolicy, 'IfNotPresent');
    const job = await stored(`${BATCH}/jobs/once`);
    assert.equal(job.spec?.template?.spec.restartPolicy, 'Never');
    assert.equal(job.spec?.template?.spec.containers[0]?.image, 'busybox:1.36');
    // Defaulted and with its generated selector, as a real v1.23 server stores it.
    assert.deepEqual(job.metadata.labels, {
      'controller-uid': job.metadata.uid,
      'job-name': 'once',
    });
    assert.deepEqual(
      [job.spec?.backoffLimit, job.spec?.completions, job.spec?.selector?.matchLabels],
      [6, 1, { 'controller-uid': job.metadata.uid }],
    );
  });

  it('get prints each kind with its real columns', async () => {
    const deploy = rows(await ok(['get', 'deployments']));
    assert.deepEqual(deploy[0], ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    assert.deepEqual(deploy[1]?.slice(0, 4), ['web', '0/2', '0', '0']);
    const cms = rows(await ok(['get', 'configmaps', 'settings']));
    assert.deepEqual(cms[0], ['NAME', 'DATA', 'AGE']);
    assert.deepEqual(cms[1]?.slice(0, 2), ['settings', '2']);
    const secrets = rows(await ok(['get', 'secret', 'creds']));
    assert.deepEqual(secrets[0], ['NAME', 'TYPE', 'DATA', 'AGE']);
    assert.deepEqual(secrets[1]?.slice(0, 3), ['creds', 'Opaque', '1']);
    const jobs = await ok(['get', 'jobs']);
    assert.match(jobs, /^NAME\s+COMPLETIONS\s+DURATION\s+AGE\n/);
    assert.match(jobs, /\nonce\s+0\/1\s+\d+s\n$/);
  });

  it('get -o yaml and -o jsonpath', async () => {
    const yaml = await ok(['get', 'configmap', 'settings', '-o', 'yaml']);
    assert.match(yaml, /^apiVersion: v1\n/);
    assert.match(yaml, /\nkind: ConfigMap\n/);
    assert.match(yaml, /\n {2}mode: fast\n/);
    assert.match(yaml, /\n {2}namespace: shop\n/);
    assert.equal(
      await ok([
        'get',
        'deployment',
        'web',
        '-o',
        'jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.strategy.type}',
      ]),
      '2 nginx:1.25 RollingUpdate',
    );
  });

  it('apply -f (client-side) creates, then configures from the last-applied configuration', async () => {
    const manifest = (data: string) =>
      file(
        'app-config.yaml',
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n${data}`,
      );
    assert.equal(
      await ok(['apply', '-f', manifest('data:\n  a: "1"\n  gone: "x"\n')]),
      'configmap/app-config created\n',
    );
    assert.equal(
      await ok(['apply', '-f', manifest('data:\n  a: "2"\n  b: "new"\n')]),
      'configmap/app-config configured\n',
    );
    const cm = await stored(`${CORE}/configmaps/app-config`);
    // The key the manifest dropped is removed (the last-applied annotation says it applied it).
    assert.deepEqual(cm.data, { a: '2', b: 'new' });
    assert.match(
      cm.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '',
      /"b":"new"/,
    );
    assert.deepEqual(managers(cm), ['kubectl-client-side-apply/Update']);
    assert.equal(
      await ok(['apply', '-f', manifest('data:\n  a: "2"\n  b: "new"\n')]),
      'configmap/app-config unchanged\n',
    );
  });

  it('apply --server-side twice: created, then changed, owned by the Apply manager', async () => {
    const manifest = (replicas: number) =>
      file(
        'api.yaml',
        [
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata: {name: api}',
          'spec:',
          `  replicas: ${replicas}`,
          '  selector: {matchLabels: {app: api}}',
          '  template:',
          '    metadata: {labels: {app: api}}',
          '    spec: {containers: [{name: api, image: "example.com/api:1"}]}',
          '',
        ].join('\n'),
      );
    assert.equal(
      await ok(['apply', '--server-side', '-f', manifest(1)]),
      'deployment.apps/api serverside-applied\n',
    );
    const first = await stored(`${APPS}/deployments/api`);
    assert.equal(
      await ok(['apply', '--server-side', '-f', manifest(3)]),
      'deployment.apps/api serverside-applied\n',
    );
    const second = await stored(`${APPS}/deployments/api`);
    assert.equal(second.spec?.replicas, 3);
    assert.notEqual(second.metadata.resourceVersion, first.metadata.resourceVersion);
    assert.deepEqual(managers(second), ['kubectl/Apply']);
  });

  it('edit with a non-interactive EDITOR', async () => {
    assert.equal(
      await ok(['edit', 'configmap', 'settings'], {
        EDITOR: 'sed -i s/mode:\\ fast/mode:\\ slow/',
      }),
      'configmap/settings edited\n',
    );
    const cm = await stored(`${CORE}/configmaps/settings`);
    assert.deepEqual(cm.data, { mode: 'slow', size: '3' });
    assert.deepEqual(managers(cm), ['kubectl-create/Update', 'kubectl-edit/Update']);
  });

  it('patch: strategic (merges the container by name), merge and json', async () => {
    assert.equal(
      await ok([
        'patch',
        'deployment',
        'web',
        '-p',
        '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"MODE","value":"slow"}]}]}}}}',
      ]),
      'deployment.apps/web patched\n',
    );
    const web = await stored(`${APPS}/deployments/web`);
    const container = web.spec?.template?.spec.containers;
    assert.equal(container?.length, 1);
    assert.equal(container?.[0]?.image, 'nginx:1.25', 'the rest of the container stays');
    assert.deepEqual(container?.[0]?.env, [{ name: 'MODE', value: 'slow' }]);
    assert.equal(
      await ok([
        'patch',
        'configmap',
        'settings',
        '--type',
        'merge',
        '-p',
        '{"data":{"size":null,"extra":"x"}}',
      ]),
      'configmap/settings patched\n',
    );
    assert.deepEqual((await stored(`${CORE}/configmaps/settings`)).data, {
      mode: 'slow',
      extra: 'x',
    });
    assert.equal(
      await ok([
        'patch',
        'deployment',
        'web',
        '--type',
        'json',
        '-p',
        '[{"op":"replace","path":"/spec/replicas","value":3}]',
      ]),
      'deployment.apps/web patched\n',
    );
    assert.equal((await stored(`${APPS}/deployments/web`)).spec?.replicas, 3);
  });

  it('label and annotate', async () => {
    assert.equal(
      await ok(['label', 'deployment', 'web', 'tier=frontend']),
      'deployment.apps/web labeled\n',
    );
    assert.equal(
      await ok(['annotate', 'deployment', 'web', 'owner=team-a']),
      'deployment.apps/web annotated\n',
    );
    const web = await stored(`${APPS}/deployments/web`);
    assert.equal(web.metadata.labels?.['tier'], 'frontend');
    assert.equal(web.metadata.annotations?.['owner'], 'team-a');
    assert.equal(
      await ok(['get', 'deployments', '-l', 'tier=frontend', '-o', 'name']),
      'deployment.apps/web\n',
    );
  });

  it('scale deployment', async () => {
    assert.equal(
      await ok(['scale', 'deployment', 'web', '--replicas=5']),
      'deployment.apps/web scaled\n',
    );
    assert.equal((await stored(`${APPS}/deployments/web`)).spec?.replicas, 5);
    assert.match(await ok(['get', 'deployment', 'web']), /\nweb\s+0\/5\s+0\s+0\s+\d+s\n$/);
  });

  it('get -w prints the change another client makes', async () => {
    const out = await watchUntil(
      server,
      kubeconfig,
      ['-n', NS, 'get', 'configmap', 'settings', '-w'],
      /settings\s+3\s/,
      async () => {
        await ok([
          'patch',
          'configmap',
          'settings',
          '--type',
          'merge',
          '-p',
          '{"data":{"more":"y"}}',
        ]);
      },
    );
    const printed = rows(out);
    assert.deepEqual(printed[0], ['NAME', 'DATA', 'AGE']);
    assert.deepEqual(
      printed.slice(1).map((r) => r.slice(0, 2)),
      [
        ['settings', '2'],
        ['settings', '3'],
      ],
    );
  });

  it('get all lists the workloads (deployments and jobs), not configuration', async () => {
    assert.deepEqual((await ok(['get', 'all', '-o', 'name'])).trim().split('\n').sort(), [
      'deployment.apps/api',
      'deployment.apps/web',
      'job.batch/once',
    ]);
    const tables = await ok(['get', 'all']);
    assert.match(
      tables,
      /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ndeployment\.apps\/api\s+0\/3/,
    );
    assert.match(tables, /NAME\s+COMPLETIONS\s+DURATION\s+AGE\njob\.batch\/once\s+0\/1/);
  });

  it('explain reads the real schema', async () => {
    const out = await ok(['explain', 'deployment.spec.replicas']);
    assert.match(out, /KIND:\s+Deployment/);
    assert.match(out, /FIELD: replicas <integer>/);
    const job = await ok(['explain', 'job.spec.backoffLimit']);
    assert.match(job, /KIND:\s+Job/);
    assert.match(job, /Specifies the number of retries before marking this job failed/);
  });

  it('delete --wait removes the objects', async () => {
    assert.equal(await ok(['delete', 'job', 'once', '--wait']), 'job.batch "once" deleted\n');
    assert.equal(
      await ok(['delete', 'deployment', 'web', 'api', '--wait']),
      'deployment.apps "web" deleted\ndeployment.apps "api" deleted\n',
    );
    assert.equal((await json(server, `${BATCH}/jobs/once`)).status, 404);
    assert.equal((await json(server, `${APPS}/deployments/web`)).status, 404);
    const none = await kubectl(kubeconfig, ['-n', NS, 'get', 'all']);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /No resources found in shop namespace\./);
  });
});
