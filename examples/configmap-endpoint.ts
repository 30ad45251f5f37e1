/**
 * An HTTP endpoint that answers from a live ConfigMap: which cluster endpoint is current.
 *
 *   npm run example:configmap-endpoint -- --demo          # scripted scenario, then exit
 *   npm run example:configmap-endpoint                    # embedded API server, until Ctrl-C
 *   npm run example:configmap-endpoint -- --kubeconfig ~/.kube/config --namespace apps --port 0
 *
 * The ConfigMap `clusters-config` holds endpoints and a pointer to the current one:
 *
 *   cluster1.endpoint: https://foo.com
 *   cluster2.endpoint: https://bar.com
 *   current.target: cluster1.endpoint
 *
 * `GET /config` answers `{"current_endpoint": data[data["current.target"]]}`, or the default
 * `https://wazanga.partytime` when the ConfigMap is missing or the target names a missing key.
 * An informer that lists and watches only that ConfigMap (field selector on its name) feeds a
 * {@link ConfigMapSource}, so requests are answered from memory: a closed watch, a 410 or an API
 * server outage changes nothing for callers while the reflector reconnects.
 *
 * Probes and metrics:
 *   GET /readyz   200 once the config source synced, else 503
 *   GET /healthz  200 while `factory.health().ready` (every informer synced, none stopped for
 *                 good), else 503; the body is the health (watching, last event, last error,
 *                 consecutive failures, next retry, handler backlogs)
 *   GET /livez    always 200: the process serves (a liveness probe must not restart the pod for
 *                 an API server outage, which the cache rides out)
 *   GET /metrics  Prometheus text (`@kubecache/metrics` on a prom-client registry)
 *
 * The namespace is the pod's (the service account's namespace file) when running in a pod, else
 * `--namespace` (default `default`). The cluster: `--kubeconfig FILE` or `KUBECONFIG`, else the
 * in-cluster config in a pod, else an embedded API server. `--demo` always uses the embedded one.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import { SharedInformerFactory } from '@kubecache/client';
import { ConfigMapSource } from '@kubecache/config';
import { registerInformerMetrics } from '@kubecache/metrics';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';

const CONFIGMAP_NAME = 'clusters-config';
const DEFAULT_ENDPOINT = 'https://wazanga.partytime';
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    namespace: { type: 'string' },
    kubeconfig: { type: 'string' },
    demo: { type: 'boolean', default: false },
  },
});

const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port must be an integer in 0..65535, got ${JSON.stringify(args.port)}`);
  process.exit(2);
}

interface EndpointConfig {
  readonly currentEndpoint: string;
}

/** `data[data["current.target"]]`; a missing pointer or a dangling one means the default. */
function parseClustersConfig(data: Readonly<Record<string, string>>): EndpointConfig {
  const target = data['current.target'];
  const url = target === undefined || target === 'current.target' ? undefined : data[target];
  return { currentEndpoint: url === undefined || url === '' ? DEFAULT_ENDPOINT : url };
}

/**
 * An informer that lists and watches only `namespace/name`: one object in the cache, and events
 * only when it changes. Its factory owns the informer's lifecycle.
 */
function singleConfigMapInformer(kc: KubeConfig, namespace: string, name: string) {
  const factory = new SharedInformerFactory(kc, {
    namespace,
    fieldSelector: `metadata.name=${name}`,
    // One line per failure: the reflector retries with backoff, callers keep being answered.
    onError: (err) =>
      console.error(
        `watch interrupted, retrying: ${err instanceof Error ? err.message : String(err)}`,
      ),
  });
  return { factory, informer: factory.core.v1.configmaps().informer() };
}

// --- which cluster, which namespace ---------------------------------------------------------

const inPod =
  existsSync(SERVICE_ACCOUNT_NAMESPACE) && process.env['KUBERNETES_SERVICE_HOST'] !== undefined;
const namespace = existsSync(SERVICE_ACCOUNT_NAMESPACE)
  ? readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim()
  : (args.namespace ?? 'default');
const kubeconfigPath = args.kubeconfig ?? process.env['KUBECONFIG'];

const kc = new KubeConfig();
let apiServer: ApiServer | undefined;
let kubeconfigFile: string | undefined;
if (!args.demo && kubeconfigPath !== undefined && kubeconfigPath !== '') {
  kc.loadFromFile(kubeconfigPath);
  console.log(`Using the cluster of ${kubeconfigPath} (context ${kc.getCurrentContext()})`);
} else if (!args.demo && inPod) {
  kc.loadFromCluster();
  console.log('Using the in-cluster config (service account)');
} else {
  apiServer = await startApiServer();
  kc.loadFromString(apiServer.kubeconfigYaml);
  console.log(`Started the embedded API server at ${apiServer.url}`);
  if (!args.demo) {
    // So that kubectl can edit the ConfigMap of this run.
    kubeconfigFile = join(tmpdir(), `configmap-endpoint-${process.pid}.kubeconfig`);
    writeFileSync(kubeconfigFile, apiServer.kubeconfigYaml, { mode: 0o600 });
    console.log(`  kubeconfig: ${kubeconfigFile}`);
  }
}

// --- the config source ------------------------------------------------------------------------

const stop = new AbortController();
const interrupted = new Promise<NodeJS.Signals>((resolve) => {
  const onSignal = (signal: NodeJS.Signals): void => {
    stop.abort();
    resolve(signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
});

const { factory, informer } = singleConfigMapInformer(kc, namespace, CONFIGMAP_NAME);
const source = new ConfigMapSource<EndpointConfig>({
  informer,
  namespace,
  name: CONFIGMAP_NAME,
  parse: parseClustersConfig,
  fallback: { currentEndpoint: DEFAULT_ENDPOINT },
  onError: (err) => console.error(`${err.message} (keeping the last good config)`),
});
source.holder.onChange(({ current, origin }) =>
  console.log(`config ${origin}: current_endpoint is now ${current.currentEndpoint}`),
);

// Metrics are read from the factory at scrape time: nothing is computed per event. A registry of
// our own (not prom-client's global one) so that only what this program registers is served.
const registry = new Registry();
const informerMetrics = registerInformerMetrics({ registry, factory });

// --- the HTTP server --------------------------------------------------------------------------

interface Reply {
  readonly status: number;
  /** Sent as JSON, or as it is when `contentType` is given. */
  readonly body: unknown;
  readonly contentType?: string;
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  { status, body, contentType }: Reply,
  headers: Record<string, string> = {},
): void {
  const text = contentType === undefined ? JSON.stringify(body) : String(body);
  res.writeHead(status, {
    'content-type': contentType ?? 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}

// A Map, not an object literal: `/constructor` must be a 404, not Object's prototype.
const routes = new Map<string, () => Reply | Promise<Reply>>([
  // Answered from memory: no API server round trip, whatever the state of the watch.
  [
    '/config',
    () => ({ status: 200, body: { current_endpoint: source.holder.get().currentEndpoint } }),
  ],
  [
    '/readyz',
    () =>
      source.synced
        ? { status: 200, body: { status: 'ok' } }
        : { status: 503, body: { status: 'syncing' } },
  ],
  [
    '/healthz',
    () => {
      const health = factory.health();
      return {
        status: health.ready ? 200 : 503,
        body: { status: health.ready ? 'ok' : 'unavailable', ...health },
      };
    },
  ],
  ['/livez', () => ({ status: 200, body: { status: 'ok' } })],
  [
    '/metrics',
    async () => ({
      status: 200,
      body: await registry.metrics(),
      contentType: registry.contentType,
    }),
  ],
]);

const http = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const route = routes.get(path);
  if (route === undefined) return send(req, res, { status: 404, body: { error: 'not found' } });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const body = { error: 'method not allowed' };
    return send(req, res, { status: 405, body }, { allow: 'GET, HEAD' });
  }
  Promise.resolve()
    .then(route)
    .then(
      (reply) => send(req, res, reply),
      (err: unknown) => {
        console.error(`${path}: ${err instanceof Error ? err.message : String(err)}`);
        send(req, res, { status: 500, body: { error: 'internal error' } });
      },
    );
});
await new Promise<void>((resolve, reject) => {
  http.once('error', reject);
  http.listen(port, () => resolve());
});
const listening = (http.address() as AddressInfo).port;
// Serve before the cache syncs: /readyz says 503 until then, /config the default.
console.log(
  `Listening on http://localhost:${listening} (GET /config, /readyz, /healthz, /livez, /metrics)`,
);

factory.start(stop.signal);
await source.start(stop.signal);
if (source.synced) {
  console.log(
    `Synced: ConfigMap ${source.origin} ${source.holder.loaded ? 'loaded' : 'absent'}; current_endpoint ${source.holder.get().currentEndpoint}`,
  );
}

// --- the demo ---------------------------------------------------------------------------------

async function demo(server: ApiServer): Promise<boolean> {
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: CONFIGMAP_NAME };
  const data = (target: string): Record<string, string> => ({
    'cluster1.endpoint': 'https://foo.com',
    'cluster2.endpoint': 'https://bar.com',
    'current.target': target,
  });
  const create = (target: string): void => {
    server.create({
      ...ref,
      metadata: { namespace, name: CONFIGMAP_NAME },
      data: data(target),
    });
  };
  const retarget = (target: string): void => {
    server.patch(ref, { data: { 'current.target': target } });
  };
  // Waits until the cache, and the config source behind it, have applied the last write.
  const settle = async (): Promise<void> => {
    const rv = server.resourceVersion();
    const ok = await informer.waitForResourceVersion(
      rv,
      AbortSignal.any([stop.signal, AbortSignal.timeout(20_000)]),
    );
    if (!ok) throw new Error(`the informer did not reach resourceVersion ${rv}`);
    await informer.drained();
  };
  let allExpected = true;
  const getConfig = async (expected: string): Promise<void> => {
    const res = await fetch(`http://127.0.0.1:${listening}/config`);
    const body = await res.text();
    const answer = (JSON.parse(body) as { current_endpoint?: string }).current_endpoint;
    const ok = res.status === 200 && answer === expected;
    allExpected &&= ok;
    console.log(
      `GET /config -> ${res.status} ${body}${ok ? '' : `  UNEXPECTED, wanted ${expected}`}`,
    );
  };
  const step = (n: number, what: string): void => console.log(`\n[${n}] ${what}`);

  const res = await fetch(`http://127.0.0.1:${listening}/readyz`);
  console.log(`GET /readyz -> ${res.status} ${await res.text()}`);

  step(1, `ConfigMap ${source.origin} absent`);
  await getConfig(DEFAULT_ENDPOINT);

  step(2, 'created with current.target: cluster1.endpoint');
  create('cluster1.endpoint');
  await settle();
  await getConfig('https://foo.com');

  step(3, 'current.target edited to cluster2.endpoint');
  retarget('cluster2.endpoint');
  await settle();
  await getConfig('https://bar.com');

  step(4, 'current.target names a missing key (cluster3.endpoint)');
  retarget('cluster3.endpoint');
  await settle();
  await getConfig(DEFAULT_ENDPOINT);

  step(5, 'the API server closes every watch, then current.target -> cluster1.endpoint');
  server.faults.closeWatches();
  retarget('cluster1.endpoint');
  await settle();
  await getConfig('https://foo.com');

  step(
    6,
    'history compacted and a 410 Expired sent (relist), then current.target -> cluster2.endpoint',
  );
  server.faults.compactHistory();
  server.faults.injectWatchError(410);
  retarget('cluster2.endpoint');
  await settle();
  await getConfig('https://bar.com');

  step(7, 'the API server is down for 1.5 s: answers continue from the cache');
  await server.faults.pause();
  await new Promise((r) => setTimeout(r, 1_500));
  await getConfig('https://bar.com');
  await server.faults.resume();
  console.log('API server back; current.target -> cluster1.endpoint');
  retarget('cluster1.endpoint');
  await settle();
  await getConfig('https://foo.com');

  step(8, 'ConfigMap deleted');
  server.delete(ref);
  await settle();
  await getConfig(DEFAULT_ENDPOINT);

  step(9, 're-created with current.target: cluster2.endpoint');
  create('cluster2.endpoint');
  await settle();
  await getConfig('https://bar.com');

  // What a Prometheus scrape of this run sees: the informer's counters moved with the steps.
  const metrics = await (await fetch(`http://127.0.0.1:${listening}/metrics`)).text();
  console.log('\nGET /metrics (the informer, excerpt):');
  for (const line of metrics.split('\n')) {
    if (
      /^kubecache_informer_((re)?lists_total|watch_restarts_total|events_total|store_objects)\{/.test(
        line,
      )
    ) {
      console.log(`  ${line}`);
    }
  }

  console.log(allExpected ? '\nEvery answer as expected.' : '\nSome answers were UNEXPECTED.');
  return allExpected;
}

if (args.demo && apiServer !== undefined && source.synced) {
  try {
    if (!(await demo(apiServer))) process.exitCode = 1;
  } catch (err) {
    console.error('demo failed:', err);
    process.exitCode = 1;
  }
} else if (!stop.signal.aborted) {
  if (kubeconfigFile !== undefined) {
    console.log(
      `Try: kubectl --kubeconfig ${kubeconfigFile} -n ${namespace} create configmap ${CONFIGMAP_NAME} \\\n` +
        '       --from-literal=cluster1.endpoint=https://foo.com --from-literal=current.target=cluster1.endpoint',
    );
  }
  console.log('Serving; press Ctrl-C to stop.');
  const signal = await interrupted;
  console.log(`${signal}: shutting down`);
}

// --- shutdown ---------------------------------------------------------------------------------

stop.abort();
await new Promise<void>((resolve) => {
  http.close(() => resolve());
  http.closeAllConnections(); // keep-alive clients would hold close() open
});
await factory.shutdown();
informerMetrics.unregister();
await apiServer?.close();
if (kubeconfigFile !== undefined) rmSync(kubeconfigFile, { force: true });
console.log('Done.');
