import { seededRandom } from '@kubecache/cache';
// Shared fixtures of the reflector tests: a recording store that derives tombstones the way the
// informer's sink does, a poller, and a reflector wired to the embedded API server over HTTP.
import { type ApiServer, startApiServer } from '@kubecache/apiserver';
import {
  FakeClock,
  type KubeObject,
  Reflector,
  type ReflectorError,
  type ReflectorOptions,
  type ReflectorStore,
} from '@kubecache/cache';
import { KubeListerWatcher, type ResourceRef } from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';

export const SEED = Number(process.env.REFLECTOR_SEED ?? 424242);

export function keyOf(o: KubeObject): string {
  return o.metadata?.namespace
    ? `${o.metadata.namespace}/${o.metadata.name}`
    : (o.metadata?.name ?? '');
}

/**
 * A ReflectorStore that records every call and, on `replace`, derives what the informer's sink
 * derives: a tombstone for each object that vanished.
 */
export class RecordingStore implements ReflectorStore<KubeObject> {
  objects = new Map<string, KubeObject>();
  readonly calls: string[] = [];
  readonly tombstones: string[] = [];
  readonly replaces: { count: number; rv: string }[] = [];

  add(obj: KubeObject): void {
    this.objects.set(keyOf(obj), obj);
    this.calls.push(`add ${keyOf(obj)}`);
  }
  update(obj: KubeObject): void {
    this.objects.set(keyOf(obj), obj);
    this.calls.push(`update ${keyOf(obj)}`);
  }
  delete(obj: KubeObject): void {
    this.objects.delete(keyOf(obj));
    this.calls.push(`delete ${keyOf(obj)}`);
  }
  replace(items: readonly KubeObject[], resourceVersion: string): void {
    const next = new Map<string, KubeObject>();
    for (const o of items) next.set(keyOf(o), o);
    for (const k of this.objects.keys()) if (!next.has(k)) this.tombstones.push(k);
    this.objects = next;
    this.replaces.push({ count: items.length, rv: resourceVersion });
    this.calls.push(`replace ${items.length} @${resourceVersion}`);
  }
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }
}

/** Polls `cond` on real time (I/O must happen) until true, failing after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function configMap(
  name: string,
  labels?: Record<string, string>,
  namespace = 'default',
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels },
    data: { v: name },
  } as KubeObject;
}

export const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

export function kubeConfigOf(server: { kubeconfigYaml: string }): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfigYaml);
  return kc;
}

export function kubeConfigForUrl(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

/** A running reflector against a server, with everything a test inspects. */
export interface Harness {
  readonly server: ApiServer;
  readonly store: RecordingStore;
  readonly reflector: Reflector<KubeObject>;
  readonly clock: FakeClock;
  readonly errors: ReflectorError[];
  readonly running: Promise<void>;
  /** Requests the server saw, as `METHOD path?query`, filtered to configmaps. */
  requests(): string[];
  stop(): Promise<void>;
}

export async function startHarness(
  options: {
    objects?: KubeObject[];
    reflector?: Partial<ReflectorOptions<KubeObject>>;
    server?: Parameters<typeof startApiServer>[0];
    namespace?: string;
    metadataOnly?: boolean;
    start?: boolean;
  } = {},
): Promise<Harness & { start(): Promise<void> }> {
  const server = await startApiServer({
    bookmarkIntervalMs: 0,
    objects: options.objects,
    ...options.server,
  });
  const store = new RecordingStore();
  const clock = new FakeClock(1_000_000);
  const errors: ReflectorError[] = [];
  const lw = new KubeListerWatcher<KubeObject>(kubeConfigOf(server), {
    resource: CONFIGMAPS,
    namespace: options.namespace,
    metadataOnly: options.metadataOnly,
  });
  const reflector = new Reflector<KubeObject>({
    listerWatcher: lw,
    store,
    clock,
    random: seededRandom(SEED),
    onWatchError: (e) => errors.push(e),
    ...options.reflector,
  });
  const ac = new AbortController();
  let running: Promise<void> = Promise.resolve();
  const harness = {
    server,
    store,
    reflector,
    clock,
    errors,
    get running() {
      return running;
    },
    requests: () =>
      server.stats.log
        .filter((r) => r.url.includes('configmaps'))
        .map((r) => `${r.method} ${r.url}`),
    async start() {
      running = reflector.run(ac.signal);
      running.catch(() => {});
    },
    async stop() {
      ac.abort();
      await running.catch(() => {});
      await server.close();
    },
  };
  if (options.start !== false) await harness.start();
  return harness;
}

/** Waits until the reflector sits in a backoff timer, and returns the delay it chose. */
export async function nextBackoff(h: Harness): Promise<number> {
  await waitFor(
    () => h.reflector.phase() === 'backoff' && h.clock.nextDue() !== undefined,
    'a backoff',
  );
  return h.clock.nextDue()! - h.clock.now();
}
