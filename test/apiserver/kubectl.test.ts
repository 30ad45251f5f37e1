import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiServer } from '@kubecache/apiserver';
import { MYAPP_CRD, cm, setup } from './helpers.ts';
import { kubectl, watchUntil } from './kubectl-helpers.ts';

describe('kubectl against the embedded server', () => {
  let server: ApiServer;
  let dir: string;
  let kubeconfig: string;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    dir = mkdtempSync(join(tmpdir(), 'kubecache-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfigYaml);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('create / get / apply / delete configmaps', async () => {
    const manifest = join(dir, 'cm.yaml');
    writeFileSync(
      manifest,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kc-cm\ndata:\n  a: "1"\n',
    );
    const created = await kubectl(kubeconfig, ['create', '-f', manifest]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /configmap\/kc-cm created/);
    const got = await kubectl(kubeconfig, ['get', 'configmaps']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /NAME\s+DATA\s+AGE/);
    assert.match(got.stdout, /kc-cm/);
    writeFileSync(
      manifest,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kc-cm\ndata:\n  a: "2"\n  b: "3"\n',
    );
    const applied = await kubectl(kubeconfig, ['apply', '-f', manifest]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /configmap\/kc-cm configured/);
    const yaml = await kubectl(kubeconfig, [
      'get',
      'cm',
      'kc-cm',
      '-o',
      'jsonpath={.data.a},{.data.b}',
    ]);
    assert.equal(yaml.stdout, '2,3');
    const deleted = await kubectl(kubeconfig, ['delete', '-f', manifest]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(
      server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'kc-cm' }),
      undefined,
    );
    const missing = await kubectl(kubeconfig, ['get', 'cm', 'kc-cm']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NotFound|not found/);
  });

  it('apply creates and updates deployments', async () => {
    const manifest = join(dir, 'deploy.yaml');
    const doc = (replicas: number, image: string): string =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kc-web\nspec:\n  replicas: ${replicas}\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: ${image}\n`;
    writeFileSync(manifest, doc(1, 'nginx:1'));
    const first = await kubectl(kubeconfig, ['apply', '-f', manifest]);
    assert.equal(first.code, 0, first.stderr);
    writeFileSync(manifest, doc(3, 'nginx:2'));
    const second = await kubectl(kubeconfig, ['apply', '-f', manifest]);
    assert.equal(second.code, 0, second.stderr);
    const stored = server.get<{
      spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
      metadata: { generation: number };
    }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'default',
      name: 'kc-web',
    });
    assert.equal(stored?.spec.replicas, 3);
    assert.deepEqual(
      stored?.spec.template.spec.containers.map((c) => c.image),
      ['nginx:2'],
    );
    assert.equal(stored?.metadata.generation, 2);
    const list = await kubectl(kubeconfig, ['get', 'deployments', '-o', 'name']);
    assert.equal(list.stdout.trim(), 'deployment.apps/kc-web');
    const del = await kubectl(kubeconfig, ['delete', 'deployment', 'kc-web']);
    assert.equal(del.code, 0, del.stderr);
  });

  it('applies the MyApp CRD and manages MyApp objects', async () => {
    const crdFile = join(dir, 'crd.json');
    writeFileSync(crdFile, JSON.stringify(MYAPP_CRD));
    const crd = await kubectl(kubeconfig, ['apply', '-f', crdFile]);
    assert.equal(crd.code, 0, crd.stderr);
    assert.match(
      crd.stdout,
      /customresourcedefinition.apiextensions.k8s.io\/myapps.my.domain created/,
    );
    const crds = await kubectl(kubeconfig, ['get', 'crd']);
    assert.match(crds.stdout, /myapps\.my\.domain/);
    const app = join(dir, 'app.yaml');
    writeFileSync(
      app,
      'apiVersion: my.domain/v1\nkind: MyApp\nmetadata:\n  name: demo\nspec:\n  appName: hello\n  version: "1"\n',
    );
    const created = await kubectl(kubeconfig, ['apply', '-f', app]);
    assert.equal(created.code, 0, created.stderr);
    const table = await kubectl(kubeconfig, ['get', 'myapps']);
    // Only the CRD's printer columns: AGE is there only when a version declares none.
    assert.match(table.stdout, /^NAME\s+APP\n/);
    assert.match(table.stdout, /demo\s+hello/);
    writeFileSync(
      app,
      'apiVersion: my.domain/v1\nkind: MyApp\nmetadata:\n  name: demo\nspec:\n  appName: hello\n  version: "2"\n',
    );
    const updated = await kubectl(kubeconfig, ['apply', '-f', app]);
    assert.equal(updated.code, 0, updated.stderr);
    const version = await kubectl(kubeconfig, [
      'get',
      'ma',
      'demo',
      '-o',
      'jsonpath={.spec.version}',
    ]);
    assert.equal(version.stdout, '2');
    const deleted = await kubectl(kubeconfig, ['delete', 'myapp', 'demo']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /deleted/);
  });

  it('get -w streams changes to configmaps and MyApps', async () => {
    const out = await watchUntil(
      server,
      kubeconfig,
      ['get', 'configmaps', '-w'],
      /kc-watch-2/,
      () => {
        server.create(cm('kc-watch-1'));
        server.create(cm('kc-watch-2'));
      },
    );
    assert.match(out, /kc-watch-1/);
    const apps = await watchUntil(
      server,
      kubeconfig,
      ['get', 'myapps', '-w', '--output-watch-events'],
      /DELETED\s+watched/,
      () => {
        server.create({
          apiVersion: 'my.domain/v1',
          kind: 'MyApp',
          metadata: { name: 'watched', namespace: 'default' },
          spec: { appName: 'w' },
        });
        server.delete({
          apiVersion: 'my.domain/v1',
          kind: 'MyApp',
          namespace: 'default',
          name: 'watched',
        });
      },
    );
    assert.match(apps, /ADDED\s+watched/);
  });

  it('the kubecache-apiserver CLI serves kubectl through its kubeconfig', async () => {
    const cli = fileURLToPath(new URL('../../packages/apiserver/dist/cli.js', import.meta.url));
    const out = join(dir, 'cli-kubeconfig');
    const child = spawn(process.execPath, [cli, '--port', '0', '--kubeconfig-out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (c: string) => {
          text += c;
          const m = /listening on (\S+)/.exec(text);
          if (m !== null && text.includes('kubeconfig written')) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`cli exited ${String(code)}`)));
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const ns = await kubectl(out, ['get', 'namespaces', '-o', 'name']);
      assert.equal(ns.code, 0, ns.stderr);
      assert.match(ns.stdout, /namespace\/default/);
    } finally {
      child.kill('SIGINT');
    }
  });
});
