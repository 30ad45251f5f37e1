/**
 * Records golden transcripts from a REAL kube-apiserver (not a test; see the "Golden transcripts"
 * section of packages/apiserver/README.md for how to start one and re-record).
 *
 *   KUBE_API_URL=https://127.0.0.1:6443 KUBE_TOKEN=... KUBE_CA_FILE=ca.crt \
 *     node test/apiserver/golden/record.ts [scenario...]
 *
 * With no scenario names it records every scenario whose `server` needs are the default ones
 * (watch cache on, RBAC); a scenario with other needs (e.g. `continue-expired`, which needs
 * `KUBE_WATCH_CACHE=false KUBE_COMPACTION=5s`) is recorded only when named. Each scenario writes
 * `test/apiserver/golden/<name>.json` (schema in `transcript.ts`). Nothing is normalised: bodies
 * are kept raw. Fields a human added to an existing file (`status`, `differences`,
 * `knownDifferences`, per-step `embeddedDiffers`) are carried over when re-recording.
 *
 * Every scenario works in its own namespace, so they can all run against one fresh server; run
 * them against a fresh server (namespaces left from an earlier run make the creates 409).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  RecordedRequest,
  RecordedResponse,
  Step,
  Transcript,
  WatchEventJson,
} from './transcript.ts';
import { RECORDED_HEADERS } from './transcript.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const URL_BASE = process.env.KUBE_API_URL ?? '';
const TOKEN = process.env.KUBE_TOKEN ?? '';
const CA = process.env.KUBE_CA_FILE ? readFileSync(process.env.KUBE_CA_FILE) : undefined;
if (URL_BASE === '') {
  console.error(
    'set KUBE_API_URL, KUBE_TOKEN and KUBE_CA_FILE (kube-up.sh writes them to DATA/env)',
  );
  process.exit(2);
}

const MERGE = 'application/merge-patch+json';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sent {
  method?: string;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** The body is the response of step N, written back (recorded as `bodyFrom`). */
  bodyFrom?: number;
  note?: string;
  /** Recorded as the step's `embeddedDiffers` (a known, explained difference). */
  embeddedDiffers?: string;
}

/** One HTTP exchange; resolves at the response headers, with the body as a stream. */
function send(path: string, sent: Sent): Promise<IncomingMessage> {
  const url = new URL(URL_BASE + path);
  const headers: Record<string, string> = { Accept: 'application/json', ...sent.headers };
  if (TOKEN !== '') headers.Authorization = `Bearer ${TOKEN}`;
  let payload: string | undefined;
  if (sent.body !== undefined) {
    payload = JSON.stringify(sent.body);
    headers['Content-Type'] = sent.contentType ?? 'application/json';
    // A chunked body on a DELETE is not read by the Go server, and what is left of it breaks the
    // next request on the kept-alive connection: always send a length.
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
    method: sent.method ?? 'GET',
    headers,
    ca: CA,
  });
  return new Promise((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
    req.end(payload);
  });
}

function pickHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of RECORDED_HEADERS) {
    const v = res.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

async function readAll(res: IncomingMessage): Promise<string> {
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk as string;
  return text;
}

function parseBody(text: string): Pick<RecordedResponse, 'body' | 'bodyText'> {
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return { bodyText: text };
  }
}

interface OpenWatch {
  events: WatchEventJson[];
  taken: number;
  ended: boolean;
  res: IncomingMessage;
}

/** Drives one scenario and collects its steps. */
class Recorder {
  readonly steps: Step[] = [];
  readonly watches = new Map<string, OpenWatch>();

  private recordedRequest(method: string, path: string, sent: Sent): RecordedRequest {
    const r: RecordedRequest = { method, path };
    const headers: Record<string, string> = { ...sent.headers };
    if (sent.body !== undefined) headers['Content-Type'] = sent.contentType ?? 'application/json';
    if (Object.keys(headers).length > 0) r.headers = headers;
    if (sent.body !== undefined) r.body = sent.body;
    if (sent.bodyFrom !== undefined) r.bodyFrom = sent.bodyFrom;
    return r;
  }

  /** A request whose whole response is recorded; returns the parsed body. */
  async req<T = Record<string, unknown>>(
    method: string,
    path: string,
    sent: Sent = {},
  ): Promise<T> {
    const res = await send(path, { ...sent, method });
    const text = await readAll(res);
    const response: RecordedResponse = {
      status: res.statusCode ?? 0,
      headers: pickHeaders(res),
      ...parseBody(text),
    };
    const step: Step = { request: this.recordedRequest(method, path, sent), response };
    if (sent.note) step.note = sent.note;
    if (sent.embeddedDiffers) step.embeddedDiffers = sent.embeddedDiffers;
    this.steps.push(step);
    return (response.body ?? {}) as T;
  }

  /** Opens a watch stream (GET); its events are recorded by later `collect` steps. */
  async watch(id: string, path: string, sent: Sent = {}): Promise<void> {
    const res = await send(path, sent);
    const request = { ...this.recordedRequest('GET', path, sent), watch: id };
    const response: RecordedResponse = { status: res.statusCode ?? 0, headers: pickHeaders(res) };
    const step: Step = { request, response };
    if (sent.note) step.note = sent.note;
    this.steps.push(step);
    if (res.statusCode !== 200) {
      Object.assign(response, parseBody(await readAll(res)));
      return;
    }
    const w: OpenWatch = { events: [], taken: 0, ended: false, res };
    this.watches.set(id, w);
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (line.trim() !== '') w.events.push(JSON.parse(line) as WatchEventJson);
      }
    });
    res.on('end', () => (w.ended = true));
    res.on('error', () => (w.ended = true));
    res.on('close', () => (w.ended = true));
  }

  /**
   * Records the events a watch delivered since the last collect: waits for `count` of them (or
   * the end of the stream with `untilEnd`), then `quietMs` more to catch any extra event (the
   * bounded end). `close` drops the connection afterwards.
   */
  async collect(
    id: string,
    opts: {
      count: number;
      untilEnd?: boolean;
      close?: boolean;
      quietMs?: number;
      note?: string;
      embeddedDiffers?: string;
    },
  ): Promise<void> {
    const w = this.watches.get(id);
    if (!w) throw new Error(`no watch ${id}`);
    const deadline = Date.now() + (opts.untilEnd ? 20000 : 8000);
    while (Date.now() < deadline) {
      if (opts.untilEnd ? w.ended : w.events.length - w.taken >= opts.count || w.ended) break;
      await sleep(20);
    }
    if (!w.ended) await sleep(opts.quietMs ?? 1000);
    const events = w.events.slice(w.taken);
    w.taken = w.events.length;
    const ended = w.ended;
    if (opts.close && !w.ended) w.res.destroy();
    const step: Step = { collect: { watch: id, events, ended } };
    if (opts.note) step.note = opts.note;
    if (opts.embeddedDiffers) step.embeddedDiffers = opts.embeddedDiffers;
    this.steps.push(step);
  }

  closeAll(): void {
    for (const w of this.watches.values()) if (!w.ended) w.res.destroy();
  }
}

interface Scenario {
  description: string;
  /** Server settings the scenario needs, as kube-up.sh knobs; undefined = the defaults. */
  server?: Record<string, string>;
  /** Written as the transcript's `embeddedOptions` (see transcript.ts). */
  embeddedOptions?: Record<string, unknown>;
  /** Written as the transcript's `compareManagedFields`. */
  compareManagedFields?: boolean;
  run(r: Recorder): Promise<void>;
}

const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const cm = (
  name: string,
  labels?: Record<string, string>,
  data: Record<string, string> = { k: 'v' },
  extra: Record<string, unknown> = {},
) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}), ...extra },
  data,
});

/**
 * A pod with every field the real server would default spelled out (so the transcripts compare
 * what matters rather than defaulting, which the embedded server does not do); `status` is what
 * the real server sets on create.
 */
function pod(name: string, nodeName?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      containers: [
        {
          name: 'c',
          image: 'busybox:1.36',
          resources: {},
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      ...(nodeName ? { nodeName } : {}),
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  };
}

/** A Deployment with the real server's defaults spelled out (see {@link pod}). */
function deployment(name: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { creationTimestamp: null, labels: { app: name } },
        spec: {
          containers: pod(name).spec.containers,
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          securityContext: {},
          schedulerName: 'default-scheduler',
        },
      },
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
      },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
  };
}

type Obj = { metadata: { resourceVersion: string; [k: string]: unknown }; [k: string]: unknown };

const SCENARIOS: Record<string, Scenario> = {
  'noop-writes': {
    description:
      'No-op writes: a PUT of the identical ConfigMap, a merge patch setting the same value, PATCH {} ' +
      'and a no-op /status PUT on a Deployment keep the resourceVersion and send no watch event; ' +
      'then a real change to each bumps the resourceVersion and is the only event the watches see.',
    async run(r) {
      const NS = '/api/v1/namespaces/golden-noop';
      const DEP = '/apis/apps/v1/namespaces/golden-noop/deployments';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-noop') });
      const created = await r.req<Obj>('POST', `${NS}/configmaps`, {
        body: cm('same', { app: 'a' }, { k: 'v', n: '1' }),
      });
      const dep = await r.req<Obj>('POST', DEP, { body: deployment('web') });
      await r.watch(
        'cms',
        `${NS}/configmaps?watch=true&resourceVersion=${created.metadata.resourceVersion}`,
      );
      await r.watch('deps', `${DEP}?watch=true&resourceVersion=${dep.metadata.resourceVersion}`);
      const gotAt = r.steps.length;
      const got = await r.req<Obj>('GET', `${NS}/configmaps/same`);
      await r.req('PUT', `${NS}/configmaps/same`, {
        body: got,
        bodyFrom: gotAt,
        note: 'PUT of the identical object (as read)',
      });
      await r.req('PATCH', `${NS}/configmaps/same`, {
        body: { data: { k: 'v' } },
        contentType: MERGE,
        note: 'merge patch setting the same value',
      });
      await r.req('PATCH', `${NS}/configmaps/same`, {
        body: {},
        contentType: MERGE,
        note: 'PATCH {}',
      });
      const dAt = r.steps.length;
      const d = await r.req<Obj>('GET', `${DEP}/web`);
      await r.req('PUT', `${DEP}/web/status`, {
        body: d,
        bodyFrom: dAt,
        note: 'no-op /status PUT (as read)',
      });
      await r.collect('cms', { count: 0, note: 'no event for the no-op writes' });
      await r.collect('deps', { count: 0, note: 'no event for the no-op /status PUT' });
      await r.req('PATCH', `${NS}/configmaps/same`, {
        body: { data: { k: 'v2' } },
        contentType: MERGE,
        note: 'a real change',
      });
      await r.req('PATCH', `${DEP}/web`, {
        body: { metadata: { labels: { tier: 'web' } } },
        contentType: MERGE,
        note: 'a real change',
      });
      await r.collect('cms', { count: 1, close: true });
      await r.collect('deps', { count: 1, close: true });
    },
  },

  'field-selectors': {
    description:
      'Field selectors beyond metadata.name/namespace: pods spec.nodeName=x (and = empty), ' +
      'status.phase!=Running,status.phase!=Succeeded, secrets type=Opaque, a watch with ' +
      'spec.nodeName, and unsupported fields (the 400 text).',
    async run(r) {
      const NS = '/api/v1/namespaces/golden-fields';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-fields') });
      await r.req('POST', `${NS}/pods`, { body: pod('p1', 'x') });
      await r.req('POST', `${NS}/pods`, { body: pod('p2', 'y') });
      const p3 = await r.req<Obj>('POST', `${NS}/pods`, { body: pod('p3') });
      await r.req('PATCH', `${NS}/pods/p2/status`, {
        body: { status: { phase: 'Running' } },
        contentType: MERGE,
      });
      await r.req('GET', `${NS}/pods?fieldSelector=spec.nodeName%3Dx`);
      await r.req('GET', `${NS}/pods?fieldSelector=spec.nodeName%3D`);
      await r.req(
        'GET',
        `${NS}/pods?fieldSelector=status.phase!%3DRunning,status.phase!%3DSucceeded`,
      );
      await r.req('GET', `/api/v1/pods?fieldSelector=spec.nodeName%3Dy`);
      await r.req('POST', `${NS}/secrets`, {
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, type: 'Opaque' },
      });
      await r.req('POST', `${NS}/secrets`, {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 's2' },
          type: 'example.com/custom',
        },
      });
      await r.req('GET', `${NS}/secrets?fieldSelector=type%3DOpaque`);
      await r.req('GET', `${NS}/secrets?fieldSelector=type!%3DOpaque`);
      await r.watch(
        'onx',
        `${NS}/pods?watch=true&fieldSelector=spec.nodeName%3Dx&resourceVersion=${p3.metadata.resourceVersion}`,
      );
      await r.req('POST', `${NS}/pods`, { body: pod('p4', 'x') });
      await r.req('POST', `${NS}/pods`, { body: pod('p5', 'y') });
      await r.collect('onx', { count: 1, close: true, note: 'p4 only' });
      await r.req('GET', `${NS}/configmaps?fieldSelector=data.k%3Dv`, {
        note: 'unsupported field',
      });
      await r.req('GET', `${NS}/pods?fieldSelector=spec.foo%3Dx`, { note: 'unsupported field' });
      await r.req('GET', `${NS}/pods?watch=true&fieldSelector=spec.foo%3Dx`, {
        note: 'unsupported field on a watch',
      });
    },
  },

  'selector-exit': {
    description:
      'A watch with labelSelector=app=x: relabelling an object to app=y (and changing its data) ' +
      'sends DELETED (which object, which resourceVersion?); relabelling it back sends ADDED.',
    async run(r) {
      const NS = '/api/v1/namespaces/golden-selexit';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-selexit') });
      await r.req('POST', `${NS}/configmaps`, { body: cm('c1', { app: 'x' }, { v: '1' }) });
      const list = await r.req<Obj>('GET', `${NS}/configmaps?labelSelector=app%3Dx`);
      await r.watch(
        'x',
        `${NS}/configmaps?watch=true&labelSelector=app%3Dx&resourceVersion=${list.metadata.resourceVersion}`,
      );
      await r.req('PATCH', `${NS}/configmaps/c1`, {
        body: { metadata: { labels: { app: 'y' } }, data: { v: '2' } },
        contentType: MERGE,
      });
      await r.collect('x', { count: 1, note: 'DELETED on leaving the selector' });
      await r.req('PATCH', `${NS}/configmaps/c1`, {
        body: { metadata: { labels: { app: 'x' } }, data: { v: '3' } },
        contentType: MERGE,
      });
      await r.collect('x', { count: 1, close: true, note: 'ADDED on entering it again' });
    },
  },

  'query-params': {
    description:
      'Boolean and integer query parameters: watch=True, watch=1, watch=yes are watches; ' +
      'allowWatchBookmarks=1 asks for bookmarks (timeoutSeconds=3: one BOOKMARK 2 s before the ' +
      'end, but v1.23 drops it when no event of the resource came after the watch RV); malformed timeoutSeconds=abc and limit=abc are 400; limit=-1 lists everything.',
    async run(r) {
      const NS = '/api/v1/namespaces/golden-qp';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-qp') });
      const c = await r.req<Obj>('POST', `${NS}/configmaps`, { body: cm('q1') });
      for (const q of ['watch=True', 'watch=1', 'watch=yes']) {
        await r.watch(q, `${NS}/configmaps?${q}`);
        await r.collect(q, { count: 1, close: true, quietMs: 500 });
      }
      const bm = `${NS}/configmaps?watch=1&allowWatchBookmarks=1&timeoutSeconds=3&resourceVersion=`;
      await r.watch('bm', bm + c.metadata.resourceVersion, {
        note: 'allowWatchBookmarks=1: a change, then a BOOKMARK 2 s before the 3 s timeout',
      });
      const changed = await r.req<Obj>('PATCH', `${NS}/configmaps/q1`, {
        body: { data: { k: 'v2' } },
        contentType: MERGE,
      });
      await r.watch('bm-idle', bm + changed.metadata.resourceVersion, {
        note: 'the same from the latest RV: nothing changes during the watch',
      });
      await r.collect('bm', { count: 2, untilEnd: true });
      await r.collect('bm-idle', {
        count: 0,
        untilEnd: true,
        embeddedDiffers:
          'v1.23 drops a bookmark whose RV is not newer than the RV the watch started from (no ' +
          'event of the resource came in between); the embedded server sends one at the current RV',
      });
      await r.req('GET', `${NS}/configmaps?timeoutSeconds=abc`);
      await r.req('GET', `${NS}/configmaps?watch=true&timeoutSeconds=abc`);
      await r.req('GET', `${NS}/configmaps?limit=abc`);
      await r.req('GET', `${NS}/configmaps?watch=true&limit=abc`);
      await r.req('GET', `${NS}/configmaps?limit=-1`);
      await r.req('GET', `${NS}/configmaps?watch=0`);
    },
  },

  'list-snapshots': {
    description:
      'Paged lists: limit=2, then writes (update, delete, create) between pages; the next pages via ' +
      "continue show the first page's snapshot; an exact-RV list with limit at the first page's " +
      'resourceVersion, paged to its end.',
    async run(r) {
      const NS = '/api/v1/namespaces/golden-paging';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-paging') });
      for (let i = 1; i <= 5; i++) await r.req('POST', `${NS}/configmaps`, { body: cm(`p${i}`) });
      const first = await r.req<Obj>('GET', `${NS}/configmaps?limit=2`);
      const rv0 = first.metadata.resourceVersion;
      await r.req('PATCH', `${NS}/configmaps/p4`, {
        body: { data: { k: 'changed' } },
        contentType: MERGE,
        note: 'a write between pages',
      });
      await r.req('DELETE', `${NS}/configmaps/p3`, { note: 'a delete between pages' });
      await r.req('POST', `${NS}/configmaps`, { body: cm('p6'), note: 'a create between pages' });
      const second = await r.req<Obj>(
        'GET',
        `${NS}/configmaps?limit=2&continue=${encodeURIComponent(String(first.metadata.continue))}`,
      );
      await r.req(
        'GET',
        `${NS}/configmaps?limit=2&continue=${encodeURIComponent(String(second.metadata.continue))}`,
      );
      await r.req('GET', `${NS}/configmaps?limit=2`, { note: 'a fresh list sees the writes' });
      const exact = await r.req<Obj>(
        'GET',
        `${NS}/configmaps?resourceVersion=${rv0}&resourceVersionMatch=Exact&limit=3`,
      );
      await r.req(
        'GET',
        `${NS}/configmaps?limit=3&continue=${encodeURIComponent(String(exact.metadata.continue))}`,
      );
      await r.req('GET', `${NS}/configmaps?resourceVersion=${rv0}&resourceVersionMatch=Exact`);
    },
  },

  'continue-expired': {
    description:
      'Compaction (server run with KUBE_WATCH_CACHE=false KUBE_COMPACTION=5s): a continue token, ' +
      'an exact-RV list and a watch from before the compacted revision; does the 410 carry a fresh ' +
      'continue token, and what does it list?',
    server: { KUBE_WATCH_CACHE: 'false', KUBE_COMPACTION: '5s' },
    async run(r) {
      const COMPACTION_WRITES =
        'the real compactor writes its own key into etcd, so the revision moves on at compaction ' +
        'and this page lists at a new resourceVersion; faults.compactHistory() writes nothing';
      const NS = '/api/v1/namespaces/golden-expired';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-expired') });
      for (let i = 1; i <= 3; i++) await r.req('POST', `${NS}/configmaps`, { body: cm(`e${i}`) });
      const first = await r.req<Obj>('GET', `${NS}/configmaps?limit=1`);
      const rv0 = first.metadata.resourceVersion;
      await r.req('PATCH', `${NS}/configmaps/e2`, {
        body: { data: { k: 'changed' } },
        contentType: MERGE,
      });
      // Wait (unrecorded polling) until etcd has compacted past rv0 (the compactor compacts to the
      // revision it saw one interval earlier, and its own write moves the revision on).
      const probe = `${NS}/configmaps?resourceVersion=${rv0}&resourceVersionMatch=Exact`;
      for (let i = 0; i < 120; i++) {
        const res = await send(probe, {});
        await readAll(res);
        if (res.statusCode === 410) break;
        await sleep(500);
      }
      r.steps.push({ compact: true, note: 'waited for the etcd compaction past the first page' });
      const expired = await r.req<Obj>(
        'GET',
        `${NS}/configmaps?limit=1&continue=${encodeURIComponent(String(first.metadata.continue))}`,
        { note: 'expired continue token' },
      );
      if (typeof expired.metadata?.continue === 'string') {
        await r.req(
          'GET',
          `${NS}/configmaps?limit=1&continue=${encodeURIComponent(expired.metadata.continue)}`,
          { note: 'the fresh continue token of the 410', embeddedDiffers: COMPACTION_WRITES },
        );
      }
      await r.req('GET', probe, { note: 'exact list at a compacted RV' });
      await r.watch('old', `${NS}/configmaps?watch=true&resourceVersion=${rv0}`, {
        note: 'watch from a compacted RV',
      });
      await r.collect('old', {
        count: 1,
        untilEnd: true,
        close: true,
        embeddedDiffers:
          'recorded with the watch cache off (to reach etcd compaction): the etcd watcher says ' +
          '"The resourceVersion for the provided watch is too old."; with the watch cache on (the ' +
          'default) v1.23 says "too old resource version: X (Y)" (watch_cache.go), as the embedded ' +
          'server does',
      });
    },
  },

  'too-new-rv': {
    description:
      'A resourceVersion far in the future: list with resourceVersionMatch=NotOlderThan (status, ' +
      'Retry-After, details), with Exact, a get, and a watch from it.',
    embeddedOptions: { tooLargeResourceVersionWaitMs: 300 },
    async run(r) {
      const NS = '/api/v1/namespaces/golden-future';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-future') });
      await r.req('POST', `${NS}/configmaps`, { body: cm('f1') });
      const far = '987654321';
      await r.req(
        'GET',
        `${NS}/configmaps?resourceVersion=${far}&resourceVersionMatch=NotOlderThan`,
      );
      await r.req('GET', `${NS}/configmaps?resourceVersion=${far}&resourceVersionMatch=Exact`);
      await r.req('GET', `${NS}/configmaps/f1?resourceVersion=${far}`);
      await r.watch('future', `${NS}/configmaps?watch=true&resourceVersion=${far}`, {
        note: 'watch from a future RV',
      });
      await r.collect('future', {
        count: 0,
        quietMs: 2000,
        close: true,
        note: 'stays open and silent (dropped after 2 s)',
      });
    },
  },

  deletion: {
    description:
      'Deletion lifecycle: a pod bound to a node is deleted gracefully (deletionTimestamp, ' +
      'deletionGracePeriodSeconds, still GETtable) and an unbound one at once; DELETE with ' +
      'propagationPolicy Orphan and Foreground (finalizers added, object returned); an object ' +
      'with a finalizer deleted, then the finalizer removed (the final DELETED event); a namespace ' +
      'delete (Terminating; a create inside it is 403 NamespaceTerminating).',
    async run(r) {
      const NS = '/api/v1/namespaces/golden-delete';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-delete') });
      const bound = await r.req<Obj>('POST', `${NS}/pods`, { body: pod('bound', 'node-1') });
      await r.req('POST', `${NS}/pods`, { body: pod('unbound') });
      await r.watch(
        'pods',
        `${NS}/pods?watch=true&resourceVersion=${bound.metadata.resourceVersion}`,
      );
      await r.req('DELETE', `${NS}/pods/bound`, { note: 'graceful: the pod stays' });
      await r.req('GET', `${NS}/pods/bound`);
      await r.req('DELETE', `${NS}/pods/unbound`, { note: 'not scheduled: deleted at once' });
      await r.req('DELETE', `${NS}/pods/bound?gracePeriodSeconds=0`, { note: 'force' });
      await r.req('GET', `${NS}/pods/bound`);
      await r.collect('pods', { count: 4, close: true });

      const c = await r.req<Obj>('POST', `${NS}/configmaps`, { body: cm('orphan') });
      await r.req('POST', `${NS}/configmaps`, { body: cm('fg') });
      await r.req('POST', `${NS}/configmaps`, {
        body: cm('held', undefined, { k: 'v' }, { finalizers: ['example.com/hold'] }),
      });
      await r.watch(
        'cms',
        `${NS}/configmaps?watch=true&resourceVersion=${c.metadata.resourceVersion}`,
      );
      await r.req('DELETE', `${NS}/configmaps/orphan?propagationPolicy=Orphan`);
      await r.req('DELETE', `${NS}/configmaps/fg`, {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' },
      });
      await r.req('DELETE', `${NS}/configmaps/held`);
      await r.req('GET', `${NS}/configmaps/held`);
      await r.req('DELETE', `${NS}/configmaps/held`, { note: 'a second delete' });
      await r.collect('cms', { count: 3, note: 'MODIFIED for each delete that was kept' });
      await r.req('PATCH', `${NS}/configmaps/held`, {
        body: { metadata: { finalizers: null } },
        contentType: MERGE,
        note: 'the last finalizer removed',
      });
      await r.req('GET', `${NS}/configmaps/held`);
      await r.req('PATCH', `${NS}/configmaps/orphan`, {
        body: { metadata: { finalizers: null } },
        contentType: MERGE,
      });
      await r.collect('cms', { count: 2, close: true, note: 'the final DELETED events' });

      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-term') });
      await r.req('POST', '/api/v1/namespaces/golden-term/configmaps', { body: cm('before') });
      await r.req('DELETE', '/api/v1/namespaces/golden-term');
      await r.req('GET', '/api/v1/namespaces/golden-term');
      await r.req('POST', '/api/v1/namespaces/golden-term/configmaps', { body: cm('after') });
      await r.req('GET', '/api/v1/namespaces/golden-term/configmaps/before');
      await r.req('PATCH', '/api/v1/namespaces/golden-term/configmaps/before', {
        body: { data: { k: 'still writable' } },
        contentType: MERGE,
        note: 'updates inside a terminating namespace',
      });
    },
  },

  'server-side-apply': {
    description:
      'Server-side apply and managedFields: apply creates (Apply entry), an identical apply is a ' +
      'no-op, a changed apply removes the fields the manager dropped, a merge patch by another ' +
      'manager takes a field (Update entry), the next apply conflicts (409 with the causes), ' +
      'force takes it back, shared ownership keeps a dropped field, fieldManager and force ' +
      'validation (422), the User-Agent as default manager, and a conflict on a Deployment.',
    compareManagedFields: true,
    async run(r) {
      const NS = '/api/v1/namespaces/golden-ssa';
      const DEP = '/apis/apps/v1/namespaces/golden-ssa/deployments';
      const APPLY = 'application/apply-patch+yaml';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-ssa') });
      const cfg = (data: Record<string, string>) => cm('cfg', { app: 'x' }, data);
      await r.req('PATCH', `${NS}/configmaps/cfg?fieldManager=mgr`, {
        body: cfg({ a: '1', b: '2' }),
        contentType: APPLY,
        note: 'apply creates',
      });
      await r.req('PATCH', `${NS}/configmaps/cfg?fieldManager=mgr`, {
        body: cfg({ a: '1', b: '2' }),
        contentType: APPLY,
        note: 'identical apply: no-op',
      });
      await r.req('PATCH', `${NS}/configmaps/cfg?fieldManager=mgr`, {
        body: cfg({ a: '1', c: '3' }),
        contentType: APPLY,
        note: 'b dropped (removed), c added',
      });
      await r.req('PATCH', `${NS}/configmaps/cfg?fieldManager=other`, {
        body: { data: { a: '9' } },
        contentType: MERGE,
        note: 'another manager takes data.a',
      });
      await r.req('PATCH', `${NS}/configmaps/cfg?fieldManager=mgr`, {
        body: cfg({ a: '1', c: '3' }),
        contentType: APPLY,
        note: 'conflict',
      });
      await r.req('PATCH', `${NS}/configmaps/cfg`, {
        body: cfg({ a: '1' }),
        contentType: APPLY,
        note: 'apply without fieldManager',
      });
      await r.req('PATCH', `${NS}/configmaps/cfg?force=true`, {
        body: { data: { a: '1' } },
        contentType: MERGE,
        note: 'force on a merge patch',
      });
      await r.req('PATCH', `${NS}/configmaps/cfg?fieldManager=mgr&force=true`, {
        body: cfg({ a: '1', c: '3' }),
        contentType: APPLY,
        note: 'force takes data.a back',
      });
      await r.req('PATCH', `${NS}/configmaps/cfg?fieldManager=other2`, {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { c: '3' } },
        contentType: APPLY,
        note: 'a second applier of the same value: shared ownership',
      });
      await r.req('PATCH', `${NS}/configmaps/cfg?fieldManager=mgr`, {
        body: cm('cfg', undefined, { a: '1' }),
        contentType: APPLY,
        note: 'mgr drops c (kept: other2 owns it) and the label (removed)',
      });
      await r.req('PUT', `${NS}/configmaps/cfg?fieldManager=editor`, {
        body: cm('cfg', { edited: 'yes' }, { a: '1', c: '3' }),
        note: 'an update by another manager',
      });
      await r.req('POST', `${NS}/configmaps`, {
        body: cm('ua'),
        headers: { 'User-Agent': 'kubectl/v1.23.16 (linux/amd64) kubernetes/ffd6836' },
        note: 'no fieldManager: the User-Agent names the manager',
      });
      await r.req('POST', `${DEP}?fieldManager=creator`, { body: deployment('web') });
      const applied = { ...deployment('web'), spec: { ...deployment('web').spec, replicas: 3 } };
      await r.req('PATCH', `${DEP}/web?fieldManager=mgr`, {
        body: applied,
        contentType: APPLY,
        note: 'conflicts with the creator on spec.replicas only',
      });
      await r.req('PATCH', `${DEP}/web?fieldManager=mgr&force=true`, {
        body: applied,
        contentType: APPLY,
        note: 'force: mgr owns everything it applied',
      });
    },
  },
  'strategic-merge': {
    description:
      'Strategic merge patch with the schema: containers merged by name (new ones first), ports by ' +
      'containerPort, env by name, $patch delete/replace, $setElementOrder, $retainKeys, null, ' +
      'finalizers merged as a set with $deleteFromPrimitiveList; and the managedFields it leaves.',
    compareManagedFields: true,
    async run(r) {
      const NS = '/api/v1/namespaces/golden-smp';
      const DEP = '/apis/apps/v1/namespaces/golden-smp/deployments';
      const SMP = 'application/strategic-merge-patch+json';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-smp') });
      const base = deployment('web');
      const c = {
        ...base.spec.template.spec.containers[0]!,
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        env: [{ name: 'A', value: '1' }],
      };
      const d = { ...base.spec.template.spec.containers[0]!, name: 'd' };
      const body = {
        ...base,
        spec: {
          ...base.spec,
          template: {
            ...base.spec.template,
            spec: { ...base.spec.template.spec, containers: [c] },
          },
        },
      };
      await r.req('POST', `${DEP}?fieldManager=creator`, { body });
      const patch = (p: unknown, note: string, manager = 'patcher') =>
        r.req('PATCH', `${DEP}/web?fieldManager=${manager}`, { body: p, contentType: SMP, note });
      const containers = (list: unknown[], extra: Record<string, unknown> = {}) => ({
        spec: { template: { spec: { containers: list, ...extra } } },
      });
      await patch(containers([d]), 'a new container goes first');
      await patch(
        containers([
          {
            name: 'c',
            image: 'busybox:1.37',
            ports: [{ containerPort: 81, protocol: 'TCP' }],
            env: [
              { name: 'B', value: '2' },
              { name: 'A', value: '0' },
            ],
          },
        ]),
        'merge into c: image, a port, env B first and A changed',
      );
      await patch(containers([{ name: 'd', $patch: 'delete' }]), '$patch: delete');
      await patch(
        containers([{ ...d, name: 'e' }], {
          '$setElementOrder/containers': [{ name: 'c' }, { name: 'e' }],
        }),
        '$setElementOrder puts e last',
      );
      await patch(
        containers([{ name: 'c', env: [{ name: 'A', $patch: 'delete' }] }]),
        'delete one env entry',
      );
      await patch(
        {
          spec: {
            strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null },
          },
        },
        '$retainKeys',
      );
      await patch({ metadata: { labels: { a: '1', b: '2' } } }, 'labels');
      await patch({ metadata: { labels: { a: null } } }, 'null deletes', 'other');
      await patch(
        containers([{ ...d, name: 'only' }, { $patch: 'replace' }]),
        '$patch: replace on the list',
      );
      await r.req('POST', `${NS}/configmaps?fieldManager=creator`, {
        body: cm('fin', undefined, { k: 'v' }, { finalizers: ['a.io/x', 'b.io/y'] }),
      });
      await r.req('PATCH', `${NS}/configmaps/fin?fieldManager=patcher`, {
        body: { metadata: { finalizers: ['c.io/z'] } },
        contentType: SMP,
        note: 'finalizers merge as a set, new first',
      });
      await r.req('PATCH', `${NS}/configmaps/fin?fieldManager=patcher`, {
        body: { metadata: { finalizers: ['b.io/y', 'd.io/w'] } },
        contentType: SMP,
        note: 'finalizers: live-only values before the patch values they precede',
      });
      await r.req('PATCH', `${NS}/configmaps/fin?fieldManager=patcher`, {
        body: {
          metadata: {
            '$deleteFromPrimitiveList/finalizers': ['a.io/x', 'c.io/z', 'd.io/w', 'b.io/y'],
          },
        },
        contentType: SMP,
        note: '$deleteFromPrimitiveList',
      });
      await r.req('PATCH', `${NS}/configmaps/fin?fieldManager=patcher`, {
        body: { data: { k: null, n: '1' } },
        contentType: SMP,
        note: 'a map: null deletes',
      });
    },
  },
  'rbac-forbidden': {
    description:
      'RBAC 403s for a user with no rights (Impersonate-User by the system:masters admin): the ' +
      'exact Status for list, watch, get, create (namespaced and cluster-scoped).',
    // RBAC on: only system:masters (the replay's token, like the recorder's) may do anything.
    embeddedOptions: {
      token: 'golden-admin',
      auth: { rules: [{ groups: ['system:masters'], verbs: ['*'], resources: ['*'] }] },
    },
    async run(r) {
      const NS = '/api/v1/namespaces/golden-rbac';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-rbac') });
      await r.req('POST', `${NS}/configmaps`, { body: cm('c1') });
      const as = { 'Impersonate-User': 'golden-nobody' };
      await r.req('GET', `${NS}/configmaps`, { headers: as });
      await r.req('GET', `${NS}/configmaps?watch=true`, { headers: as });
      await r.req('GET', `${NS}/configmaps/c1`, { headers: as });
      await r.req('POST', `${NS}/configmaps`, { headers: as, body: cm('c2') });
      await r.req('GET', `/api/v1/configmaps`, { headers: as });
      await r.req('GET', `/api/v1/nodes`, { headers: as });
      await r.req('GET', `/apis/apps/v1/namespaces/golden-rbac/deployments`, { headers: as });
    },
  },
};

async function main(): Promise<void> {
  const version = (await (
    await send('/version', {}).then(async (res) => readAll(res))
  ).trim()) as string;
  const gitVersion = (JSON.parse(version) as { gitVersion: string }).gitVersion;
  const names = process.argv.slice(2);
  const chosen =
    names.length > 0
      ? names
      : Object.keys(SCENARIOS).filter((n) => SCENARIOS[n]!.server === undefined);
  for (const name of chosen) {
    const scenario = SCENARIOS[name];
    if (!scenario)
      throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    const r = new Recorder();
    try {
      await scenario.run(r);
    } finally {
      r.closeAll();
    }
    const file = join(HERE, `${name}.json`);
    const old: Partial<Transcript> = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as Transcript)
      : {};
    const steps = r.steps.map((s, i) => {
      const prev = old.steps?.[i];
      return !s.embeddedDiffers && prev?.embeddedDiffers
        ? { ...s, embeddedDiffers: prev.embeddedDiffers }
        : s;
    });
    const t: Transcript = {
      recordedFrom: `kube-apiserver ${gitVersion}`,
      recorded: true,
      ...(scenario.server ? { server: scenario.server } : {}),
      ...(scenario.embeddedOptions ? { embeddedOptions: scenario.embeddedOptions } : {}),
      ...(scenario.compareManagedFields ? { compareManagedFields: true } : {}),
      description: scenario.description,
      status: old.status ?? 'pending',
      ...(old.knownDifferences ? { knownDifferences: old.knownDifferences } : {}),
      ...(old.differences ? { differences: old.differences } : {}),
      steps,
    };
    writeFileSync(file, JSON.stringify(t, null, 2) + '\n');
    console.log(`${name}: ${steps.length} steps -> ${file}`);
  }
}

await main();
