/**
 * A controller for a custom resource, `MyApp` (`myapps.my.domain`), in the shape of a
 * kubebuilder tutorial: every MyApp gets a ConfigMap `<name>-config` holding its appName and
 * version, owned by it (ownerReference with `controller: true`), and a `status` reporting what
 * was applied. Next to it, the raw watcher prints every watch event of MyApps as it comes.
 *
 *   npm run example:myapp-controller -- --demo                 # embedded API server, scripted
 *   npm run example:myapp-controller                           # embedded API server, until Ctrl-C
 *   npm run example:myapp-controller -- --kubeconfig FILE      # a real cluster (or KUBECONFIG)
 *
 * - The CRD is registered when missing (409 AlreadyExists is fine) and the program waits until
 *   the API server serves the resource.
 * - A dynamic informer for MyApps and a label-filtered ConfigMap informer feed one `Controller`;
 *   `owns` maps a ConfigMap event to its owning MyApp, so deleting or editing the ConfigMap
 *   re-triggers the owner, which puts it back.
 * - Writes happen only when something differs (a no-op reconcile writes nothing), through
 *   `deepCopy` + `toClientModel` + `retryOnConflict`; status goes through the `/status`
 *   subresource. An invalid `spec.version` makes reconcile throw, and the controller retries
 *   with backoff until the spec is fixed.
 * - Deleting a MyApp deletes its ConfigMap through the cluster's garbage collector (the owner
 *   reference). The embedded API server has no garbage collector: there the ConfigMap stays.
 *
 * `--demo` always uses the embedded API server, because it injects faults to show every watch
 * event type (a BOOKMARK on demand, an ERROR 410 that makes the watcher relist).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import { type KubeObject, watch, type WatcherEvent } from '@kubecache/cache';
import {
  deepCopy,
  type DynamicObject,
  KubeListerWatcher,
  type ResourceRef,
  resources,
  retryOnConflict,
  SharedInformerFactory,
  toClientModel,
} from '@kubecache/client';
import { Controller, generationChanged, type ReconcileRequest } from '@kubecache/workqueue';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1ConfigMap,
  type V1CustomResourceDefinition,
  type V1OwnerReference,
} from '@kubernetes/client-node';

const { values: args } = parseArgs({
  options: { kubeconfig: { type: 'string' }, demo: { type: 'boolean', default: false } },
});

// ---------------------------------------------------------------------------------------------
// The custom resource

const GROUP = 'my.domain';
const VERSION = 'v1';
const PLURAL = 'myapps';
const MYAPPS: ResourceRef = { group: GROUP, version: VERSION, resource: PLURAL, kind: 'MyApp' };
/** Only the ConfigMaps this controller made: a real cluster has thousands of others. */
const MANAGED_BY = 'app.kubernetes.io/managed-by';
const CONTROLLER_NAME = 'myapp-controller';

const MYAPP_CRD: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${PLURAL}.${GROUP}` },
  spec: {
    group: GROUP,
    names: {
      kind: 'MyApp',
      listKind: 'MyAppList',
      plural: PLURAL,
      singular: 'myapp',
      shortNames: ['ma'],
    },
    scope: 'Namespaced',
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { appName: { type: 'string' }, version: { type: 'string' } },
              },
              status: {
                type: 'object',
                properties: { configMap: { type: 'string' }, observedVersion: { type: 'string' } },
              },
            },
          },
        },
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'App', type: 'string', jsonPath: '.spec.appName' },
          { name: 'Version', type: 'string', jsonPath: '.spec.version' },
        ],
      },
    ],
  },
};

/** A MyApp as the informer caches it (wire form). */
interface MyApp extends DynamicObject {
  spec?: { appName?: string; version?: string };
  status?: { configMap?: string; observedVersion?: string };
}

/** What makes a version valid here: MAJOR.MINOR.PATCH. Anything else fails the reconcile. */
const SEMVER = /^\d+\.\d+\.\d+$/;

// ---------------------------------------------------------------------------------------------
// Connecting

const kubeconfigPath = args.demo ? undefined : (args.kubeconfig ?? process.env['KUBECONFIG']);
const kc = new KubeConfig();
let server: ApiServer | undefined;
if (kubeconfigPath !== undefined && kubeconfigPath !== '') {
  kc.loadFromFile(kubeconfigPath);
  console.log(`Using the cluster of ${kubeconfigPath} (context ${kc.getCurrentContext()})`);
} else {
  server = await startApiServer();
  kc.loadFromString(server.kubeconfigYaml);
  console.log(`Started the embedded API server at ${server.url}`);
}

const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

const codeOf = (err: unknown): number | undefined =>
  typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number'
    ? err.code
    : undefined;

/** Creates the CRD unless it exists, then waits until the API server serves MyApps. */
async function ensureCrd(): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  try {
    await ext.createCustomResourceDefinition({ body: MYAPP_CRD });
    console.log(`CRD ${MYAPP_CRD.metadata!.name} created`);
  } catch (err) {
    if (codeOf(err) !== 409) throw err; // someone (an earlier run) registered it: fine
    console.log(`CRD ${MYAPP_CRD.metadata!.name} already registered`);
  }
  // Established is the API server's word that it serves the resource; the list proves it.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const crd = await ext.readCustomResourceDefinition({ name: MYAPP_CRD.metadata!.name! });
      const established = crd.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
      if (established) {
        await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL });
        break;
      }
    } catch (err) {
      if (codeOf(err) !== 404) throw err; // 404: not served yet
    }
    if (Date.now() > deadline) throw new Error('the API server does not serve myapps.my.domain');
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`CRD ${MYAPP_CRD.metadata!.name} is served`);
}
await ensureCrd();

// ---------------------------------------------------------------------------------------------
// Printing, and waiting for what was printed (the demo script follows the output)

const printed: string[] = [];
const waiters: { match: RegExp; resolve: () => void }[] = [];
function say(line: string): void {
  console.log(line);
  printed.push(line);
  for (const w of [...waiters]) {
    if (w.match.test(line)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  }
}
/** Resolves once a line matching `match` is printed after `from` (an index into `printed`). */
function whenPrinted(match: RegExp, from = 0): Promise<void> {
  if (printed.slice(from).some((l) => match.test(l))) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(waiter), 1);
      reject(new Error(`timed out waiting for output matching ${match}`));
    }, 10_000);
    const waiter = {
      match,
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
    };
    waiters.push(waiter);
  });
}

const keyOf = (o: KubeObject): string => `${o.metadata?.namespace}/${o.metadata?.name}`;

// ---------------------------------------------------------------------------------------------
// The raw watcher: every watch event of MyApps as it comes

const stop = new AbortController();
function show(ev: WatcherEvent<MyApp>): string {
  switch (ev.type) {
    case 'RESTARTED':
      return `watch: RESTARTED with ${ev.objects.length} MyApps at RV ${ev.resourceVersion}${ev.initial ? ' (initial list)' : ' (relisted)'}`;
    case 'BOOKMARK':
      return `watch: BOOKMARK at RV ${ev.resourceVersion}`;
    case 'ERROR': {
      const api = ev.error.apiStatus;
      const what = api === undefined ? ev.error.message : `${api.statusCode} ${api.reason}`;
      return `watch: ERROR ${what} (${ev.error.stage}), ${ev.recovery} in ${ev.delayMs} ms`;
    }
    default: {
      const app = ev.object;
      const observed = app.status?.observedVersion;
      return `watch: ${ev.type} ${keyOf(app)} version=${app.spec?.version}${observed === undefined ? '' : ` observed=${observed}`}`;
    }
  }
}
const watching = (async () => {
  const lw = new KubeListerWatcher<MyApp>(kc, { resource: MYAPPS });
  for await (const ev of watch(lw, { signal: stop.signal, name: 'myapps' })) say(show(ev));
})();

// ---------------------------------------------------------------------------------------------
// The controller

const factory = new SharedInformerFactory(kc, {
  onError: (err, ctx) =>
    say(`informer ${ctx.informer}: ${err instanceof Error ? err.message : String(err)}`),
});
const apps = factory.forResource<MyApp>(MYAPPS);
const configMapsOptions = { labelSelector: `${MANAGED_BY}=${CONTROLLER_NAME}` };
const configMaps = {
  informer: () => factory.informerFor(resources.configmaps, configMapsOptions),
  lister: () => factory.listerFor(resources.configmaps, configMapsOptions),
};

/** An invalid spec: reconcile throws it, and the controller retries with backoff. */
class InvalidSpecError extends Error {}

const sameData = (a: Readonly<Record<string, string>> | undefined, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b).sort());

/** Makes `<name>-config` hold the app's data and be controlled by the app. */
async function ensureConfigMap(app: Readonly<MyApp>, data: Record<string, string>): Promise<void> {
  const namespace = app.metadata!.namespace!;
  const name = `${app.metadata!.name}-config`;
  const owner: V1OwnerReference = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'MyApp',
    name: app.metadata!.name!,
    uid: app.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
  const cm = configMaps.lister().namespace(namespace).tryGet(name);
  if (cm === undefined) {
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: {
          name,
          namespace,
          labels: { [MANAGED_BY]: CONTROLLER_NAME },
          ownerReferences: [owner],
        },
        data,
      },
    });
    say(
      `reconcile ${keyOf(app)}: created ConfigMap ${name} (appName=${data['appName']} version=${data['version']})`,
    );
    return;
  }
  const owned = cm.metadata?.ownerReferences?.some((r) => r.uid === owner.uid && r.controller);
  if (owned && sameData(cm.data, data)) return; // up to date: write nothing
  const copy = deepCopy(cm); // cached objects are shared and read-only
  copy.data = data;
  // Another controller reference (a deleted MyApp of the same name, on a server without GC) is
  // replaced: one object has at most one controller.
  copy.metadata!.ownerReferences = [
    ...(copy.metadata!.ownerReferences ?? []).filter((r) => r.controller !== true),
    owner,
  ];
  await core.replaceNamespacedConfigMap({
    namespace,
    name,
    body: toClientModel<V1ConfigMap>(copy),
  });
  say(
    `reconcile ${keyOf(app)}: updated ConfigMap ${name} (version ${cm.data?.['version']} -> ${data['version']})`,
  );
}

/** Reports what was applied through the status subresource, when it changed. */
async function ensureStatus(app: Readonly<MyApp>, status: MyApp['status']): Promise<void> {
  if (JSON.stringify(app.status) === JSON.stringify(status)) return;
  const copy = deepCopy(app);
  copy.status = status;
  // The copy carries the cached resourceVersion: a stale one is a 409 for retryOnConflict.
  await custom.replaceNamespacedCustomObjectStatus({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace: app.metadata!.namespace!,
    name: app.metadata!.name!,
    body: copy,
  });
  say(
    `reconcile ${keyOf(app)}: status configMap=${status?.configMap} observedVersion=${status?.observedVersion}`,
  );
}

async function reconcile({ key, namespace, name, retries }: ReconcileRequest): Promise<void> {
  try {
    // Each attempt re-reads the lister: a conflict means someone wrote first.
    await retryOnConflict(async () => {
      const app = apps.lister().namespace(namespace).tryGet(name);
      if (app === undefined) {
        say(
          `reconcile ${key}: MyApp gone; its ConfigMap ${name}-config is deleted by the cluster's garbage collector (ownerReference)` +
            (server === undefined ? '' : ', which the embedded API server does not have'),
        );
        return;
      }
      if (app.metadata?.deletionTimestamp !== undefined) return; // being deleted
      const version = app.spec?.version ?? '';
      if (!SEMVER.test(version)) {
        throw new InvalidSpecError(
          `invalid spec.version ${JSON.stringify(version)}, want MAJOR.MINOR.PATCH`,
        );
      }
      const configMap = `${name}-config`;
      await ensureConfigMap(app, { appName: app.spec?.appName ?? name, version });
      await ensureStatus(app, { configMap, observedVersion: version });
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    say(`reconcile ${key} failed (retry ${retries}): ${message}; retrying with backoff`);
    throw err; // the controller requeues it after the rate limiter's delay
  }
}

const controller = new Controller({
  name: CONTROLLER_NAME,
  workers: 2,
  reconcile,
  onError: () => {}, // already printed by reconcile, with its retry count
})
  // Status writes change resourceVersion, not generation: our own writes do not re-trigger.
  .for(apps.informer(), { predicates: [generationChanged] })
  .owns(configMaps.informer(), { ownerKind: 'MyApp' });

factory.start(stop.signal);
const done = controller.run(stop.signal); // waits for both caches, then reconciles

// ---------------------------------------------------------------------------------------------
// The demo script (embedded API server)

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function myApp(name: string, appName: string, version: string): KubeObject {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'MyApp',
    metadata: { namespace: 'default', name },
    spec: { appName, version },
  } as KubeObject;
}

const appRef = (name: string) =>
  ({ apiVersion: `${GROUP}/${VERSION}`, kind: 'MyApp', namespace: 'default', name }) as const;
const cmRef = (name: string) =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name }) as const;
const app = (name: string) => apps.lister().namespace('default').tryGet(name);
const cm = (name: string) => configMaps.lister().namespace('default').tryGet(name);
const settled = (name: string, version: string): boolean =>
  cm(`${name}-config`)?.data?.['version'] === version &&
  app(name)?.status?.observedVersion === version;

/**
 * Waits until `name` is reconciled at `version` (from output line `from` on): its status was
 * written and the raw watcher printed the MODIFIED that carries it. Waiting for printed lines,
 * not only the cache, keeps each step's output inside the step.
 */
async function reconciled(name: string, version: string, from: number): Promise<void> {
  const v = version.replaceAll('.', '\\.');
  await whenPrinted(new RegExp(`^reconcile default/${name}: status .*observedVersion=${v}$`), from);
  await whenPrinted(new RegExp(`^watch: MODIFIED default/${name} .*observed=${v}$`), from);
  await until(`${name} at ${version} in the caches`, () => settled(name, version));
}

async function demo(api: ApiServer): Promise<void> {
  await whenPrinted(/^watch: RESTARTED/);

  say('== 1. create MyApps default/web (1.0.0) and default/api (2.1.0)');
  let from = printed.length;
  api.create(myApp('web', 'web', '1.0.0'));
  api.create(myApp('api', 'api', '2.1.0'));
  await reconciled('web', '1.0.0', from);
  await reconciled('api', '2.1.0', from);
  const owner = cm('web-config')?.metadata?.ownerReferences?.[0];
  say(
    `web-config data=${JSON.stringify(cm('web-config')?.data)} owner=${owner?.kind}/${owner?.name} controller=${owner?.controller}`,
  );

  say('== 2. edit default/web: version 1.0.0 -> 1.1.0');
  from = printed.length;
  api.patch(appRef('web'), { spec: { version: '1.1.0' } }, 'merge');
  await reconciled('web', '1.1.0', from);

  say('== 3. delete ConfigMap default/web-config: the controller recreates it');
  from = printed.length;
  const oldUid = cm('web-config')?.metadata?.uid;
  api.delete(cmRef('web-config'));
  await whenPrinted(/^reconcile default\/web: created ConfigMap web-config/, from);
  await until('web-config recreated', () => {
    const now = cm('web-config');
    return now !== undefined && now.metadata?.uid !== oldUid;
  });
  say(`web-config recreated (new uid), data=${JSON.stringify(cm('web-config')?.data)}`);

  say(
    '== 4. create default/broken with version "latest": reconcile fails and retries with backoff',
  );
  from = printed.length;
  api.create(myApp('broken', 'broken', 'latest'));
  await whenPrinted(/^reconcile default\/broken failed \(retry 2\)/, from);
  say('== fix default/broken: version latest -> 3.0.0');
  from = printed.length;
  api.patch(appRef('broken'), { spec: { version: '3.0.0' } }, 'merge');
  await reconciled('broken', '3.0.0', from);

  say('== 5. ask the server for a BOOKMARK on every watch');
  from = printed.length;
  api.faults.sendBookmarks();
  await whenPrinted(/^watch: BOOKMARK/, from);

  say('== 6. inject a watch ERROR 410 Expired: the watcher relists (so do the informers)');
  from = printed.length;
  api.faults.injectWatchError(410);
  await whenPrinted(/^watch: ERROR 410/, from);
  await whenPrinted(/^watch: RESTARTED .*\(relisted\)/, from);

  say('== 7. delete MyApp default/api');
  from = printed.length;
  const apiUid = app('api')?.metadata?.uid;
  api.delete(appRef('api'));
  await whenPrinted(/^watch: DELETED default\/api/, from);
  await whenPrinted(/^reconcile default\/api: MyApp gone/, from);
  const orphan = cm('api-config');
  const ownedByDeleted = orphan?.metadata?.ownerReferences?.some((r) => r.uid === apiUid);
  say(
    orphan !== undefined && ownedByDeleted
      ? 'ConfigMap default/api-config is still there, owned by the deleted MyApp: the embedded API server has no garbage collector (a real cluster deletes it through the ownerReference)'
      : 'ConfigMap default/api-config is gone',
  );
}

if (args.demo && server !== undefined) {
  try {
    await demo(server);
  } catch (err) {
    process.exitCode = 1;
    console.error(err);
  }
  stop.abort();
} else {
  // So kubectl can reach the embedded server while this runs (removed at exit).
  const file =
    server === undefined ? undefined : join(tmpdir(), `myapp-controller-${process.pid}.kubeconfig`);
  if (server !== undefined && file !== undefined) {
    writeFileSync(file, server.kubeconfigYaml);
    console.log(`kubeconfig: ${file}   e.g. kubectl --kubeconfig ${file} get ma`);
  }
  console.log('Reconciling MyApps; press Ctrl-C to stop.');
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  stop.abort();
  if (file !== undefined) rmSync(file, { force: true });
}
await done;
await watching;
await factory.shutdown();
await server?.close();
console.log('Done.');
