/**
 * Guide 2: a Deployment controller in client-go's shape (informer → rate-limited work queue →
 * workers that read the lister and write back through client-node). It caps `spec.replicas` at
 * the `example.com/max-replicas` label. Against the embedded API server by default; with
 * `--kubeconfig` it WRITES to that cluster's Deployments that carry the label.
 *
 *   node examples/guides/deployment-controller.ts [--kubeconfig FILE]
 */
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import {
  deepCopy,
  retryOnConflict,
  SharedInformerFactory,
  toClientModel,
  type Deployment,
} from '@kubecache/client';
import { Controller } from '@kubecache/workqueue';
import { AppsV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
const kc = new KubeConfig();
let server: ApiServer | undefined;
const deployment = (name: string, replicas: number, max: number): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { namespace: 'default', name, labels: { 'example.com/max-replicas': String(max) } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name, image: 'example/app:1' }] },
    },
  },
});
if (args.kubeconfig !== undefined) kc.loadFromFile(args.kubeconfig);
else {
  server = await startApiServer({ objects: [deployment('api', 5, 3), deployment('web', 2, 4)] });
  kc.loadFromString(server.kubeconfigYaml);
}
const stop = new AbortController();

// README:begin
const apps = kc.makeApiClient(AppsV1Api);
const factory = new SharedInformerFactory(kc, { labelSelector: 'example.com/max-replicas' });
const deployments = factory.apps.v1.deployments();

const controller = new Controller({
  name: 'replica-cap',
  workers: 2,
  reconcile: ({ namespace, name }) =>
    retryOnConflict(async () => {
      const cached = deployments.lister().namespace(namespace).tryGet(name);
      if (cached === undefined) return; // deleted: nothing to do
      const max = Number(cached.metadata?.labels?.['example.com/max-replicas']);
      if (!Number.isInteger(max) || (cached.spec?.replicas ?? 1) <= max) return;
      const capped = deepCopy(cached); // the cache is shared and read-only: change a copy
      capped.spec!.replicas = max;
      await apps.replaceNamespacedDeployment({
        namespace,
        name,
        body: toClientModel<V1Deployment>(capped),
      });
      console.log(`capped ${namespace}/${name} at ${max} replicas`);
    }),
}).for(deployments.informer());

factory.start(stop.signal);
const running = controller.run(stop.signal); // waits for the cache, then reconciles
// README:end

if (server !== undefined) {
  const replicas = (name: string): number | undefined =>
    deployments.lister().namespace('default').tryGet(name)?.spec?.replicas;
  const until = async (what: string, cond: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until('api capped', () => replicas('api') === 3);
  console.log('scaling default/web to 9');
  server.patch(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web' },
    { spec: { replicas: 9 } },
  );
  await until('web capped', () => replicas('web') === 4);
  stop.abort();
} else {
  console.log('Capping Deployments labelled example.com/max-replicas; Ctrl-C to stop.');
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  stop.abort();
}
await running;
await factory.shutdown();
await server?.close();
console.log('Done.');
