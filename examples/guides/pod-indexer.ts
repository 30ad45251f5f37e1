/**
 * Guide 1: a Pod cache with a custom index (client-go's `cache.Indexers{"byNode": ...}`), and
 * queries through the lister. Runs against the embedded API server with a few Pods, or a real
 * cluster with `--kubeconfig` (read-only).
 *
 *   node examples/guides/pod-indexer.ts [--kubeconfig FILE]
 */
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import { SharedInformerFactory, type Pod } from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
const kc = new KubeConfig();
let server: ApiServer | undefined;
if (args.kubeconfig !== undefined) kc.loadFromFile(args.kubeconfig);
else {
  const pod = (name: string, nodeName: string, app: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'default', name, labels: { app } },
    spec: { nodeName, containers: [{ name: 'main', image: `example/${app}:1` }] },
  });
  server = await startApiServer({
    objects: [
      pod('web-1', 'node-a', 'web'),
      pod('web-2', 'node-b', 'web'),
      pod('db-1', 'node-a', 'db'),
    ],
  });
  kc.loadFromString(server.kubeconfigYaml);
}

// README:begin
const factory = new SharedInformerFactory(kc);
const pods = factory.core.v1.pods();
// A custom index: node name -> pods. Index functions return every value an object has.
pods.informer().addIndexers({
  byNode: (pod) => (pod.spec?.nodeName === undefined ? [] : [pod.spec.nodeName]),
});

const stop = new AbortController();
factory.start(stop.signal);
await factory.waitForCacheSync(stop.signal);

const lister = pods.lister();
for (const node of lister.indexValues('byNode').sort()) {
  const names = lister.byIndex('byNode', node).map((p) => p.metadata?.name);
  console.log(`${node}: ${names.sort().join(', ')}`);
}
console.log(`app=web in default: ${lister.namespace('default').list('app=web').length}`);
// README:end

stop.abort();
await factory.shutdown();
await server?.close();
