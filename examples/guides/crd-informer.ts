/**
 * Guide 3: an informer for a custom resource known only at run time (client-go's dynamic
 * informer): the `MyApp` CRD (`myapps.my.domain`). Kind and scope come from the server's
 * discovery; the object type is yours to declare. Against the embedded API server (which gets the
 * CRD and two MyApps), or a real cluster with `--kubeconfig` (read-only; the CRD must exist).
 *
 *   node examples/guides/crd-informer.ts [--kubeconfig FILE]
 */
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import { isTombstone, type KubeObject } from '@kubecache/cache';
import { SharedInformerFactory } from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
const kc = new KubeConfig();
let server: ApiServer | undefined;
if (args.kubeconfig !== undefined) kc.loadFromFile(args.kubeconfig);
else {
  server = await startApiServer();
  kc.loadFromString(server.kubeconfigYaml);
  server.create({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'myapps.my.domain' },
    spec: {
      group: 'my.domain',
      scope: 'Namespaced',
      names: { kind: 'MyApp', listKind: 'MyAppList', plural: 'myapps', singular: 'myapp' },
      versions: [{ name: 'v1', served: true, storage: true }],
    },
  });
  for (const [name, version] of [
    ['shop', '1.2.0'],
    ['blog', '0.9.1'],
  ]) {
    server.create({
      apiVersion: 'my.domain/v1',
      kind: 'MyApp',
      metadata: { namespace: 'default', name },
      spec: { appName: name, version },
    });
  }
}

// README:begin
/** The custom resource, as it is on the wire. */
interface MyApp extends KubeObject {
  spec?: { appName?: string; version?: string };
}

const factory = new SharedInformerFactory(kc, { namespace: 'default' });
const myApps = factory.forResource<MyApp>({
  group: 'my.domain',
  version: 'v1',
  resource: 'myapps',
});
myApps.informer().addEventHandler({
  onAdd: (app) => console.log(`added ${app.metadata?.name} ${app.spec?.version}`),
  onUpdate: (_old, app) => console.log(`updated ${app.metadata?.name} ${app.spec?.version}`),
  onDelete: (app) => console.log(`deleted ${isTombstone(app) ? app.key : app.metadata?.name}`),
});

const stop = new AbortController();
factory.start(stop.signal);
await factory.waitForCacheSync(stop.signal);
await myApps.informer().drained();
const shop = myApps.lister().namespace('default').tryGet('shop');
console.log(`shop runs ${shop?.spec?.appName ?? '?'} at ${shop?.spec?.version ?? '?'}`);
// README:end

stop.abort();
await factory.shutdown();
await server?.close();
