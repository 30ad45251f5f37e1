/**
 * A controller in the shape of client-go's workqueue example: an informer feeds a rate-limited
 * work queue, workers reconcile one key at a time, read through the lister and write back.
 *
 *   npm run example:controller                          # embedded API server, scripted demo
 *   npm run example:controller -- --kubeconfig FILE     # a real cluster (writes annotations!)
 *
 * It stamps every ConfigMap labelled `checksum=on` with an annotation holding a SHA-256 of its
 * data, and keeps it current. Writing the same annotation again would be a no-op on the server,
 * so the controller settles: one reconcile per real change.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import { SharedInformerFactory, deepCopy, retryOnConflict, toClientModel } from '@kubecache/client';
import { Controller } from '@kubecache/workqueue';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
const kubeconfigPath = args.kubeconfig ?? process.env['KUBECONFIG'];
const kc = new KubeConfig();
let server: ApiServer | undefined;
if (kubeconfigPath !== undefined && kubeconfigPath !== '') kc.loadFromFile(kubeconfigPath);
else {
  server = await startApiServer();
  kc.loadFromString(server.kubeconfigYaml);
  for (const name of ['red', 'green', 'blue']) {
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: 'default', name, labels: { checksum: 'on' } },
      data: { color: name },
    });
  }
}
const stop = new AbortController();

// README:begin
const checksumOf = (data: Record<string, string> = {}): string =>
  createHash('sha256')
    .update(JSON.stringify(Object.entries(data).sort()))
    .digest('hex');

const core = kc.makeApiClient(CoreV1Api);
const factory = new SharedInformerFactory(kc, { labelSelector: 'checksum=on' });
const configMaps = factory.core.v1.configmaps();

const controller = new Controller({
  name: 'checksum',
  workers: 4,
  reconcile: ({ namespace, name }) =>
    retryOnConflict(async () => {
      const cm = configMaps.lister().namespace(namespace).tryGet(name);
      if (cm === undefined) return; // deleted meanwhile: nothing to do
      const sum = checksumOf(cm.data);
      if (cm.metadata?.annotations?.['example.com/checksum'] === sum) return; // up to date
      const copy = deepCopy(cm); // cached objects are shared and read-only
      copy.metadata!.annotations = { ...copy.metadata!.annotations, 'example.com/checksum': sum };
      await core.replaceNamespacedConfigMap({
        namespace,
        name,
        body: toClientModel<V1ConfigMap>(copy),
      });
      console.log(`stamped ${namespace}/${name} ${sum.slice(0, 12)}`);
    }),
}).for(configMaps.informer());

factory.start(stop.signal);
const done = controller.run(stop.signal); // waits for the cache, then reconciles until stopped
// README:end

if (server !== undefined) {
  const annotation = (name: string): string | undefined =>
    configMaps.lister().namespace('default').tryGet(name)?.metadata?.annotations?.[
      'example.com/checksum'
    ];
  const until = async (what: string, cond: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until('three stamped ConfigMaps', () =>
    ['red', 'green', 'blue'].every((n) => annotation(n) === checksumOf({ color: n })),
  );
  console.log('editing default/red');
  server.patch(
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'red' },
    {
      data: { color: 'crimson' },
    },
  );
  await until('red re-stamped', () => annotation('red') === checksumOf({ color: 'crimson' }));
  stop.abort();
} else {
  console.log('Reconciling ConfigMaps labelled checksum=on; press Ctrl-C to stop.');
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  stop.abort();
}
await done;
await factory.shutdown();
await server?.close();
console.log('Done.');
