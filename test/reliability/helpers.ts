// Shared fixtures of the bad-input catalog: a byte-exact fake API server (for garbage the
// embedded server never sends), an informer wired to a KubeListerWatcher that records every
// report, a fake-clock pump, and cause-chain lookup.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Clock,
  FakeClock,
  type InformerErrorContext,
  type TimerHandle,
  type KubeObject,
  ReflectorError,
  SharedIndexInformer,
  type SharedIndexInformerOptions,
} from '@kubecache/cache';
import {
  KubeListerWatcher,
  type KubeListerWatcherOptions,
  type ResourceRef,
} from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * Everything a test started (servers, informers), stopped by {@link cleanUp} after each test so a
 * failed assertion does not leave a server or an informer keeping the process alive.
 */
const running = new Set<() => Promise<void>>();

/** Stops everything started since the last call (idempotent stops); call it from afterEach. */
export async function cleanUp(): Promise<void> {
  const all = [...running];
  running.clear();
  for (const stop of all.reverse()) await stop();
}

/** Registers `stop` with {@link cleanUp} and returns a once-only version of it. */
export function track(stop: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const once = (): Promise<void> => {
    running.delete(once);
    return (done ??= stop());
  };
  running.add(once);
  return once;
}

export const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

import { kubeConfigForUrl } from '../cache/reflector-helpers.ts';
export { kubeConfigForUrl };

export function kubeConfigOf(server: { kubeconfigYaml: string }): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfigYaml);
  return kc;
}

export type FakeHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  n: { list: number; watch: number },
) => void;

/** A fake API server answering each request with exactly the bytes the test writes. */
export interface FakeApiServer {
  readonly url: string;
  /** Query of every request, in order. */
  readonly requests: URLSearchParams[];
  /** How many LIST and WATCH requests arrived so far. */
  readonly counts: { list: number; watch: number };
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

export async function fakeApiServer(handler: FakeHandler): Promise<FakeApiServer> {
  const requests: URLSearchParams[] = [];
  const counts = { list: 0, watch: 0 };
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    requests.push(q);
    open.add(res);
    res.on('close', () => open.delete(res));
    const watch = q.get('watch') === '1' || q.get('watch') === 'true';
    if (watch) counts.watch++;
    else counts.list++;
    handler(req, res, q, { ...counts });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    requests,
    counts,
    kubeConfig: () => kubeConfigForUrl(url),
    close: track(async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    }),
  };
}

/** Writes `chunk` to `res`, waiting for the socket to drain (or close) when it is full. */
export async function writeWithBackpressure(
  res: ServerResponse,
  chunk: Buffer | string,
): Promise<void> {
  if (res.destroyed || res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** A ConfigMap as JSON text. */
export function cmJson(
  name: string,
  rv: string | number,
  data: Record<string, string> = {},
): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', resourceVersion: String(rv) },
    data: { rv: String(rv), ...data },
  });
}

/** A ConfigMapList body at `rv` holding `names` (each at `rv`). */
export function listJson(rv: string | number, names: readonly string[]): string {
  return (
    `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"${rv}"},` +
    `"items":[${names.map((n) => cmJson(n, rv)).join(',')}]}`
  );
}

export function event(type: string, name: string, rv: string | number): string {
  return `{"type":"${type}","object":${cmJson(name, rv)}}\n`;
}

/** One report of the informer's `onError` hook. */
export interface Report {
  readonly error: unknown;
  readonly context: InformerErrorContext;
}

export interface InformerRun<T extends KubeObject> {
  readonly informer: SharedIndexInformer<T>;
  readonly clock: SteppableClock;
  readonly reports: Report[];
  /** The run() promise's outcome once it settled. */
  readonly outcome: { settled: boolean; error: unknown };
  stop(): Promise<void>;
}

/**
 * Starts a SharedIndexInformer over a KubeListerWatcher on a fake clock, with a short backoff,
 * no jitter and no stall watchdog (the tests that need one set it), recording every report.
 */
export function runInformer<T extends KubeObject = KubeObject>(
  kc: KubeConfig,
  options: {
    lw?: Partial<KubeListerWatcherOptions>;
    informer?: Partial<SharedIndexInformerOptions<T>>;
    clock?: SteppableClock;
  } = {},
): InformerRun<T> {
  const clock = options.clock ?? new FakeClock(1_000_000);
  const reports: Report[] = [];
  const lw = new KubeListerWatcher<T>(kc, {
    resource: CONFIGMAPS,
    ...options.lw,
  });
  const informer = new SharedIndexInformer<T>({
    listerWatcher: lw,
    clock,
    onError: (error, context) => reports.push({ error, context }),
    ...options.informer,
    reflector: {
      backoff: { initialMs: 100, maxMs: 1000, jitter: 0 },
      stallTimeoutMs: 0,
      random: () => 0.5,
      ...options.informer?.reflector,
    },
  });
  const ac = new AbortController();
  const outcome = { settled: false, error: undefined as unknown };
  const runPromise = informer.run(ac.signal).then(
    () => void (outcome.settled = true),
    (err: unknown) => {
      outcome.settled = true;
      outcome.error = err;
    },
  );
  return {
    informer,
    clock,
    reports,
    outcome,
    stop: track(async () => {
      ac.abort();
      await runPromise;
    }),
  };
}

/** A test clock `until` can move to its next timer (FakeClock, JumpClock). */
export interface SteppableClock extends Clock {
  nextDue(): number | undefined;
  advance(ms: number): Promise<void>;
}

/**
 * A test clock that can also *jump*: `jump(ms)` moves time at once, as when a suspended process
 * (a paused VM, a laptop lid, SIGSTOP) resumes: every timer that fell due meanwhile fires once,
 * late, at the new time; a timer set by those callbacks does not fire until its own time comes.
 * (FakeClock.advance instead replays every intermediate timer, as if time had flowed.)
 */
export class JumpClock implements SteppableClock {
  #now: number;
  #nextId = 1;
  #timers = new Map<number, { due: number; callback: () => void }>();

  constructor(startMs = 1_000_000) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { due: this.#now + Math.max(0, delayMs), callback });
    return { id };
  }
  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle.id);
  }
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const t of this.#timers.values()) if (min === undefined || t.due < min) min = t.due;
    return min;
  }
  /** Time flows `ms`: due timers fire in order, each at its due time (FakeClock's semantics). */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#earliest(target);
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].due);
      next[1].callback();
      await new Promise<void>((r) => setImmediate(r));
    }
    this.#now = target;
    await new Promise<void>((r) => setImmediate(r));
  }
  /** Time jumps `ms` at once: the timers due by then fire once each, late, at the new time. */
  async jump(ms: number): Promise<void> {
    this.#now += ms;
    const due = [...this.#timers].filter(([, t]) => t.due <= this.#now);
    due.sort((a, b) => a[1].due - b[1].due || a[0] - b[0]);
    for (const [id, t] of due) {
      if (!this.#timers.delete(id)) continue;
      t.callback();
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  #earliest(limit: number): [number, { due: number; callback: () => void }] | undefined {
    let best: [number, { due: number; callback: () => void }] | undefined;
    for (const entry of this.#timers) {
      if (entry[1].due > limit) continue;
      if (best === undefined || entry[1].due < best[1].due) best = entry;
    }
    return best;
  }
}

/**
 * Waits for `cond`, letting real I/O happen and moving the fake clock to its next timer whenever
 * one is pending (a backoff), so retries happen at once in real time but in order on the clock.
 */
export async function until(
  cond: () => boolean,
  what: string | (() => string),
  clock?: SteppableClock,
  timeoutMs = 8000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 2));
    const due = clock?.nextDue();
    if (clock !== undefined && due !== undefined && !cond()) {
      await clock.advance(Math.max(0, due - clock.now()));
    }
  }
}

/** The first error in `err`'s cause chain that is a `Class`. */
export function causeOf<E extends Error>(
  err: unknown,
  Class: abstract new (...args: never[]) => E,
): E | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    if (e instanceof Class) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The reports whose cause chain holds a `Class`, as that class. */
export function reported<E extends Error>(
  reports: readonly Report[],
  Class: abstract new (...args: never[]) => E,
): E[] {
  const out: E[] = [];
  for (const r of reports) {
    const e = causeOf(r.error, Class);
    if (e !== undefined) out.push(e);
  }
  return out;
}

/** Every report is a reflector failure (not a crash of some other part). */
export function assertReflectorReports(reports: readonly Report[]): void {
  for (const r of reports) {
    assert.ok(r.error instanceof ReflectorError, `not a ReflectorError: ${String(r.error)}`);
  }
}

/** The cache as `name@rv` strings, sorted. */
export function cacheOf(informer: SharedIndexInformer<KubeObject>): string[] {
  return informer
    .getStore()
    .list()
    .map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`)
    .sort();
}

/** The stored objects of one kind on the embedded server, as `name@rv`. */
export function serverState(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`).sort();
}
