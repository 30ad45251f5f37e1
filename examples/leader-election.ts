/**
 * Leader election for a controller: replicas of a small controller campaign for one Lease; only
 * the leader reconciles, the others keep their informers warm and stand by.
 *
 *   npm run example:leader-election -- --demo                  # two replicas, scripted fail-overs
 *   npm run example:leader-election                            # one replica, embedded API server
 *   npm run example:leader-election -- --kubeconfig FILE       # one replica on a real cluster:
 *                                                              # start it twice to watch fail-over
 *
 * The controller annotates every ConfigMap labelled `app.kubernetes.io/part-of=leader-election-demo`
 * with the replica that reconciled it (`demo.kubecache.io/reconciled-by`), so who is working is
 * visible on the objects themselves.
 *
 * `--demo` runs replicas in this one process, each with its own KubeConfig and identity, on the
 * embedded API server: replica-a leads; it is killed (its signal aborts and it does not release,
 * as a crashed pod would not), so replica-b takes over once the Lease expires; then replica-c
 * starts and replica-b is stopped gracefully with `releaseOnCancel`, so replica-c takes over at
 * its next retry. Each fail-over is timed. Timings are short so the demo takes a few seconds.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import { describeError, type KubeObject, type Logger } from '@kubecache/cache';
import {
  deepCopy,
  resources,
  retryOnConflict,
  SharedInformerFactory,
  toClientModel,
} from '@kubecache/client';
import {
  LeaderElector,
  runWhileLeading,
  type RunWhileLeadingResult,
} from '@kubecache/leaderelection';
import { Controller } from '@kubecache/workqueue';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';

const { values: args } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    identity: { type: 'string' },
    demo: { type: 'boolean', default: false },
  },
});

const NAMESPACE = 'default';
const LEASE = 'leader-election-demo';
const PART_OF = 'app.kubernetes.io/part-of';
const SELECTOR = `${PART_OF}=leader-election-demo`;
const RECONCILED_BY = 'demo.kubecache.io/reconciled-by';
/** Short timings for the demo; a real deployment keeps client-go's 15 s / 10 s / 2 s. */
const TIMINGS = args.demo
  ? { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 250 }
  : { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

// ---------------------------------------------------------------------------------------------
// Connecting

const kubeconfigPath = args.demo ? undefined : (args.kubeconfig ?? process.env['KUBECONFIG']);
let server: ApiServer | undefined;
let kubeconfigYaml: string | undefined;
if (kubeconfigPath === undefined || kubeconfigPath === '') {
  server = await startApiServer();
  kubeconfigYaml = server.kubeconfigYaml;
  console.log(`Started the embedded API server at ${server.url}`);
} else {
  console.log(`Using the cluster of ${kubeconfigPath}`);
}

/** Each replica gets a KubeConfig of its own, as separate pods would. */
function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigYaml !== undefined) kc.loadFromString(kubeconfigYaml);
  else kc.loadFromFile(kubeconfigPath!);
  return kc;
}

// ---------------------------------------------------------------------------------------------
// Printing, with the time since start

const t0 = performance.now();
const seconds = (at: number): string => ((at - t0) / 1000).toFixed(3).padStart(7);
function say(line: string): void {
  console.log(`[${seconds(performance.now())} s] ${line}`);
}

/** Leader election's own log: failures only (the demo prints its lifecycle itself). */
function replicaLogger(id: string): Logger {
  const print = (fields: Readonly<Record<string, unknown>>, message: string): void =>
    say(`${id}: ${message} ${JSON.stringify(fields)}`);
  return { debug: () => {}, info: () => {}, warn: print, error: print };
}

// ---------------------------------------------------------------------------------------------
// A replica: warm informers, an elector, and a controller that runs only while leading

interface Replica {
  readonly id: string;
  readonly elector: LeaderElector;
  /** Aborting it kills the replica (informers, election, controller). */
  readonly stop: AbortController;
  readonly synced: Promise<unknown>;
  readonly done: Promise<RunWhileLeadingResult>;
  readonly factory: SharedInformerFactory;
  /** When it started and stopped leading (performance.now()). */
  readonly terms: { start: number; end?: number }[];
  readonly reconciled: { key: string; at: number }[];
}

function startReplica(id: string, releaseOnCancel: boolean): Replica {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const stop = new AbortController();
  const terms: { start: number; end?: number }[] = [];
  const reconciled: { key: string; at: number }[] = [];

  // The informers start now, leader or not: on fail-over the caches are already synced.
  const factory = new SharedInformerFactory(kc, {
    onError: (err) => say(`${id}: informer: ${describeError(err)}`),
  });
  const options = { labelSelector: SELECTOR };
  const configMaps = factory.informerFor(resources.configmaps, options);
  const lister = factory.listerFor(resources.configmaps, options);
  factory.start(stop.signal);
  const synced = factory.waitForCacheSync(stop.signal);

  const elector = new LeaderElector({
    lock: { kubeConfig: kc, namespace: NAMESPACE, name: LEASE, identity: id },
    ...TIMINGS,
    releaseOnCancel,
    logger: replicaLogger(id),
    onNewLeader: (leader) => {
      if (leader !== id) say(`${id} sees ${leader} as the leader`);
    },
    onLeadershipChange: ({ leading }) => {
      // A metrics exporter would do: leaderGauge.set(lease, leading).
      if (leading) terms.push({ start: performance.now() });
      else if (terms.at(-1)?.end === undefined && terms.length > 0) {
        terms.at(-1)!.end = performance.now();
      }
    },
  });

  /** Makes the ConfigMap say who reconciled it; writes only when it does not already. */
  async function reconcile(namespace: string, name: string): Promise<void> {
    await retryOnConflict(async () => {
      const cm = lister.namespace(namespace).tryGet(name);
      if (cm === undefined || cm.metadata?.annotations?.[RECONCILED_BY] === id) return;
      const copy = deepCopy(cm);
      copy.metadata = {
        ...copy.metadata,
        annotations: { ...copy.metadata?.annotations, [RECONCILED_BY]: id },
      };
      await core.replaceNamespacedConfigMap({
        namespace,
        name,
        body: toClientModel<V1ConfigMap>(copy),
      });
      reconciled.push({ key: `${namespace}/${name}`, at: performance.now() });
      say(`${id} reconciled ${namespace}/${name}: ${RECONCILED_BY}=${id}`);
    });
  }

  const done = runWhileLeading({
    elector,
    signal: stop.signal,
    // A Controller runs once: a fresh one per term of leadership.
    run: (signal) => {
      const transitions = elector.lock.observed?.record.leaseTransitions ?? 0;
      say(`${id} started leading (lease ${elector.lease}, transitions ${transitions})`);
      return new Controller({
        name: `annotate-${id}`,
        reconcile: ({ namespace, name }) => reconcile(namespace, name),
        onError: (err, key) => say(`${id} reconcile ${key} failed: ${describeError(err)}`),
        drainTimeoutMs: 200,
      })
        .for(configMaps)
        .run(signal)
        .finally(() => say(`${id} stopped leading; its controller stopped`));
    },
  });
  return { id, elector, stop, synced, done, factory, terms, reconciled };
}

// ---------------------------------------------------------------------------------------------
// The demo script

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function configMap(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: NAMESPACE, labels: { [PART_OF]: 'leader-election-demo' } },
  } as KubeObject;
}

const reconciledBy = (api: ApiServer, name: string): string | undefined =>
  api.get<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NAMESPACE, name })?.metadata
    ?.annotations?.[RECONCILED_BY];

async function demo(api: ApiServer): Promise<void> {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = TIMINGS;
  console.log(
    `Timings: leaseDuration ${leaseDurationMs} ms, renewDeadline ${renewDeadlineMs} ms, retryPeriod ${retryPeriodMs} ms`,
  );
  api.create(configMap('demo-1'));
  api.create(configMap('demo-2'));

  console.log('== 1. two replicas start; one leads and reconciles, the other stands by');
  const a = startReplica('replica-a', false); // killed later without release, as a crash
  await until('replica-a to lead', () => a.elector.isLeader());
  const b = startReplica('replica-b', true);
  await Promise.all([a.synced, b.synced]);
  say('replica-b caches synced: standing by');
  await until('demo-1 and demo-2 reconciled', () =>
    ['demo-1', 'demo-2'].every((n) => reconciledBy(api, n) === 'replica-a'),
  );

  await new Promise((r) => setTimeout(r, 4 * retryPeriodMs)); // a few renewals
  say(`replica-a renewed its lease (resourceVersion ${a.elector.lock.observed?.resourceVersion})`);

  console.log('== 2. kill replica-a (no release): replica-b takes over once the lease expires');
  const killedAt = performance.now();
  a.stop.abort();
  say('killed replica-a');
  api.create(configMap('demo-3')); // changed while nobody leads
  await until('replica-b to lead', () => b.elector.isLeader(), 4 * leaseDurationMs);
  const expiryFailover = b.terms[0]!.start - killedAt;
  await until('replica-b reconciled all three', () =>
    ['demo-1', 'demo-2', 'demo-3'].every((n) => reconciledBy(api, n) === 'replica-b'),
  );
  const firstByB = Math.min(...b.reconciled.map((r) => r.at)) - b.terms[0]!.start;
  say(
    `fail-over after a kill: ${Math.round(expiryFailover)} ms (lease expiry: at most leaseDuration + 2 × 2.2 × retryPeriod = ${leaseDurationMs + 2 * 2.2 * retryPeriodMs} ms); first reconcile ${Math.round(firstByB)} ms after taking over (warm caches)`,
  );
  await a.done;

  console.log(
    '== 3. start replica-c; stop replica-b gracefully: it releases, replica-c takes over',
  );
  const c = startReplica('replica-c', true);
  await c.synced;
  say('replica-c caches synced: standing by');
  await until('replica-c to see replica-b lead', () => c.elector.getLeader() === 'replica-b');
  const stoppedAt = performance.now();
  b.stop.abort();
  say('stopping replica-b (releaseOnCancel)');
  await b.done;
  say('replica-b released the lease');
  await until('replica-c to lead', () => c.elector.isLeader(), 4 * leaseDurationMs);
  const releaseFailover = c.terms[0]!.start - stoppedAt;
  api.create(configMap('demo-4'));
  await until('replica-c reconciled all four', () =>
    ['demo-1', 'demo-2', 'demo-3', 'demo-4'].every((n) => reconciledBy(api, n) === 'replica-c'),
  );
  say(
    `fail-over after a release: ${Math.round(releaseFailover)} ms (the standby's next retry: at most 2.2 × retryPeriod = ${2.2 * retryPeriodMs} ms)`,
  );

  console.log('== summary');
  const all = [a, b, c].flatMap((r) => r.terms.map((t) => ({ id: r.id, ...t })));
  all.sort((x, y) => x.start - y.start);
  for (const t of all) {
    console.log(
      `${t.id} led [${seconds(t.start).trim()} s, ${t.end === undefined ? 'now' : `${seconds(t.end).trim()} s`})`,
    );
  }
  const overlap = all.some((t, i) => i > 0 && (all[i - 1]!.end ?? Infinity) > t.start);
  console.log(overlap ? 'leadership OVERLAPPED' : 'no two replicas led at the same time');
  console.log(
    `measured: kill -> new leader ${Math.round(expiryFailover)} ms; release -> new leader ${Math.round(releaseFailover)} ms`,
  );
  if (overlap) throw new Error('leadership overlapped');
  c.stop.abort();
  await c.done;
  for (const r of [a, b, c]) await r.factory.shutdown();
}

if (args.demo && server !== undefined) {
  try {
    await demo(server);
  } catch (err) {
    process.exitCode = 1;
    console.error(err);
  }
} else {
  const id = args.identity ?? `${hostname()}-${process.pid}`;
  const replica = startReplica(id, true);
  console.log(`Replica ${id} campaigning for ${NAMESPACE}/${LEASE}; press Ctrl-C to stop.`);
  process.once('SIGINT', () => replica.stop.abort());
  const { outcome } = await replica.done;
  await replica.factory.shutdown();
  // client-go's advice: a replica that lost its lease exits, and its pod restarts clean.
  if (outcome === 'lost') process.exitCode = 1;
}
await server?.close();
console.log('Done.');
