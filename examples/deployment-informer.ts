/**
 * The client-go deployment informer walkthrough, in TypeScript.
 *
 *   npm start                         # embedded API server seeded with a few deployments
 *   npm start -- --watch              # keep watching until Ctrl-C; prints a kubeconfig for kubectl
 *   npm start -- --watch --kubeconfig-out ./kubeconfig   # … written where you say
 *   npm start -- --kubeconfig ~/.kube/config   # a real cluster (read-only: nothing is changed)
 *
 * A factory with a 1-minute resync, a Deployments informer whose handlers print every add,
 * update and delete, a wait for the cache to sync, and a list of the Deployments of namespace
 * `default` through the lister. On the embedded server the demo then creates, scales and
 * deletes a deployment so that every handler fires. With `--watch` it writes the embedded
 * server's kubeconfig (to a temporary directory, removed on exit, or to `--kubeconfig-out`) and
 * prints its path, so that `kubectl --kubeconfig <path> scale deployment nginx --replicas=5` in
 * another terminal shows up in the demo's output.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import { DeletedFinalStateUnknown, describeError, type DeepReadonly } from '@kubecache/cache';
import { SharedInformerFactory, type Deployment } from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';

const { values: args } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    watch: { type: 'boolean', default: false },
    'kubeconfig-out': { type: 'string' },
  },
});

function deployment(namespace: string, name: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace, name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image: `example/${name}:1.0` }] },
      },
    },
  };
}

const kubeconfigPath = args.kubeconfig ?? process.env['KUBECONFIG'];
const kc = new KubeConfig();
let server: ApiServer | undefined;
if (kubeconfigPath !== undefined && kubeconfigPath !== '') {
  kc.loadFromFile(kubeconfigPath);
  console.log(`Using the cluster of ${kubeconfigPath} (context ${kc.getCurrentContext()})`);
} else {
  server = await startApiServer({
    objects: [
      deployment('default', 'nginx', 2),
      deployment('default', 'api', 3),
      deployment('default', 'worker', 1),
      deployment('kube-system', 'coredns', 2),
    ],
  });
  kc.loadFromString(server.kubeconfigYaml);
  console.log(`Started the embedded API server at ${server.url}`);
}

const key = (d: DeepReadonly<Deployment>): string => `${d.metadata?.namespace}/${d.metadata?.name}`;
const seen: string[] = [];
const waiters: { match: string; resolve: () => void }[] = [];
function record(line: string): void {
  console.log(line);
  seen.push(line);
  for (const w of [...waiters]) {
    if (line.startsWith(w.match)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  }
}
function printed(prefix: string): Promise<void> {
  if (seen.some((l) => l.startsWith(prefix))) return Promise.resolve();
  return new Promise((resolve) => waiters.push({ match: prefix, resolve }));
}

const stop = new AbortController();
const factory = new SharedInformerFactory(kc, { resyncPeriodMs: 60_000 });
const deployments = factory.apps.v1.deployments();

deployments.informer().addEventHandler({
  onAdd: (d) => record(`Deployment CREATED: ${key(d)}`),
  onUpdate: (oldD, newD) => {
    // Resyncs deliver the same object twice; client-go's example skips them the same way.
    if (oldD.metadata?.resourceVersion === newD.metadata?.resourceVersion) return;
    record(
      `Deployment UPDATED: ${key(newD)} (replicas ${oldD.spec?.replicas ?? '?'} -> ${newD.spec?.replicas ?? '?'})`,
    );
  },
  onDelete: (d) => {
    const last = d instanceof DeletedFinalStateUnknown ? d.obj : d;
    record(
      `Deployment DELETED: ${last === undefined ? (d as DeletedFinalStateUnknown<Deployment>).key : key(last)}`,
    );
  },
});

factory.start(stop.signal);
try {
  const synced = await factory.waitForCacheSync(
    AbortSignal.any([stop.signal, AbortSignal.timeout(30_000)]),
  );
  const ok = Object.values(synced).every(Boolean);
  console.log(ok ? 'Deployments cache synced' : 'Deployments cache not synced (timed out)');
  if (!ok) process.exitCode = 1;
} catch (err) {
  // A CacheSyncError: an informer stopped for good; its message says which and why.
  console.log(`Deployments cache failed to sync: ${describeError(err)}`);
  process.exitCode = 1;
}
// The cache is complete; let the handlers finish printing the initial list before going on.
await deployments.informer().drained();

const inDefault = deployments.lister().namespace('default').list();
console.log(`Deployments in namespace default (${inDefault.length}):`);
for (const d of [...inDefault].sort((a, b) =>
  (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
)) {
  console.log(`  ${d.metadata?.name}  replicas=${d.spec?.replicas ?? 0}`);
}

if (server !== undefined && process.exitCode === undefined) {
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'demo' };
  server.create(deployment('default', 'demo', 1));
  await printed('Deployment CREATED: default/demo');
  server.patch(ref, { spec: { replicas: 3 } });
  await printed('Deployment UPDATED: default/demo');
  server.delete(ref);
  await printed('Deployment DELETED: default/demo');
}

/** Writes the embedded server's kubeconfig for kubectl; returns its path and the temp dir made. */
function writeKubeconfig(api: ApiServer): { path: string; tempDir?: string } {
  const wanted = args['kubeconfig-out'];
  if (wanted !== undefined && wanted !== '') {
    writeFileSync(wanted, api.kubeconfigYaml, { mode: 0o600 });
    return { path: wanted };
  }
  const tempDir = mkdtempSync(join(tmpdir(), 'kubecache-demo-'));
  const path = join(tempDir, 'kubeconfig');
  writeFileSync(path, api.kubeconfigYaml, { mode: 0o600 });
  return { path, tempDir };
}

let tempDir: string | undefined;
if (args.watch) {
  // Listen before announcing, so a Ctrl-C right after the message is not lost.
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (server !== undefined) {
    const written = writeKubeconfig(server);
    tempDir = written.tempDir;
    console.log(`Kubeconfig of the embedded API server: ${written.path}`);
    console.log(`  try: kubectl --kubeconfig ${written.path} get deploy -w`);
  }
  console.log('Watching deployments; press Ctrl-C to stop.');
  await interrupted;
}

stop.abort();
await factory.shutdown();
await server?.close();
if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
console.log('Done.');
