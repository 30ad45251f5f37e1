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
import { protobufMessageType } from '@kubecache/apiserver';

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
  /** A body sent as it is (YAML text, protobuf bytes) rather than as JSON; needs `contentType`. */
  raw?: string | Buffer;
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
  let payload: string | Buffer | undefined;
  if (sent.body !== undefined || sent.raw !== undefined) {
    payload = sent.raw ?? JSON.stringify(sent.body);
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
    if (sent.body !== undefined || sent.raw !== undefined)
      headers['Content-Type'] = sent.contentType ?? 'application/json';
    if (Object.keys(headers).length > 0) r.headers = headers;
    if (sent.body !== undefined) r.body = sent.body;
    if (typeof sent.raw === 'string') r.bodyText = sent.raw;
    else if (sent.raw !== undefined) r.bodyBase64 = sent.raw.toString('base64');
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

/**
 * A Kubernetes protobuf body as kubectl's typed clients send it: `k8s\0`, then a runtime.Unknown
 * holding the object; the metadata has every non-pointer field written, empty, as Go does.
 */
function protobufBody(apiVersion: string, kind: string, value: Record<string, unknown>): Buffer {
  const { metadata, ...rest } = value as { metadata: Record<string, unknown> };
  const goMeta = {
    name: '',
    generateName: '',
    namespace: '',
    selfLink: '',
    uid: '',
    resourceVersion: '',
    generation: 0,
    creationTimestamp: {},
    ...metadata,
  };
  const raw = protobufMessageType(kind)
    .encode({ metadata: goMeta, ...rest })
    .finish();
  const unknown = protobufMessageType('Unknown')
    .encode({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' })
    .finish();
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

const SCENARIOS: Record<string, Scenario> = {
  'wire-formats': {
    description:
      "Request bodies in protobuf (as kubectl create sends them) and YAML; 415 for another body media type (the handler's message on POST/PUT/DELETE, the route's on PATCH); 406 for an Accept the route cannot produce (text/html), a transformation the handler does not know, and PartialObjectMetadata on a list or PartialObjectMetadataList on an object.",
    async run(r) {
      const NS = '/api/v1/namespaces/golden-wire';
      await r.req('POST', '/api/v1/namespaces', {
        raw: protobufBody('v1', 'Namespace', {
          metadata: { name: 'golden-wire' },
          spec: {},
          status: {},
        }),
        contentType: PROTOBUF,
        note: 'kubectl create namespace golden-wire',
      });
      await r.req('POST', `${NS}/configmaps?fieldManager=kubectl-create&fieldValidation=Strict`, {
        raw: protobufBody('v1', 'ConfigMap', {
          metadata: { name: 'pb', namespace: 'golden-wire', labels: { app: 'x' } },
          data: { a: '1', empty: '' },
        }),
        contentType: PROTOBUF,
        note: 'kubectl create configmap pb --from-literal=a=1 --from-literal=empty=',
      });
      await r.req('POST', `${NS}/secrets`, {
        raw: protobufBody('v1', 'Secret', {
          metadata: { name: 'pb', namespace: 'golden-wire' },
          data: { password: Buffer.from('s3cr3t') },
          type: 'Opaque',
        }),
        contentType: PROTOBUF,
      });
      await r.req('POST', `${NS}/configmaps`, {
        raw: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml\ndata:\n  a: "1"\n',
        contentType: 'application/yaml',
      });
      await r.req('PUT', `${NS}/configmaps/yaml`, {
        raw: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml\ndata:\n  a: "2"\n',
        contentType: 'application/yaml',
      });
      await r.req('POST', `${NS}/configmaps`, { raw: 'hello', contentType: 'text/plain' });
      await r.req('PUT', `${NS}/configmaps/yaml`, { raw: '{}', contentType: 'text/plain' });
      await r.req('PATCH', `${NS}/configmaps/yaml`, {
        raw: 'data:\n  a: "3"\n',
        contentType: 'application/yaml',
      });
      await r.req('DELETE', `${NS}/configmaps/yaml`, { raw: '{}', contentType: 'text/plain' });
      await r.req('POST', `${NS}/configmaps`, {
        raw: 'hello',
        contentType: PROTOBUF,
        note: 'a protobuf body without the k8s\\0 magic',
      });
      await r.req('GET', `${NS}/configmaps/pb`, { headers: { Accept: 'text/html' } });
      await r.req('GET', `${NS}/configmaps`, { headers: { Accept: 'text/html' } });
      await r.req('GET', `${NS}/configmaps/pb`, { headers: { Accept: 'text/html, */*' } });
      await r.req('GET', `${NS}/configmaps/pb`, { headers: { Accept: 'application/*' } });
      await r.req('GET', `${NS}/configmaps`, {
        headers: { Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' },
      });
      await r.req('GET', `${NS}/configmaps/pb`, {
        headers: { Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' },
      });
      await r.req('GET', `/apis/apps/v1/namespaces/golden-wire/deployments`, {
        headers: { Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' },
      });
      await r.req('GET', `${NS}/configmaps`, {
        headers: { Accept: 'application/json;as=Table;g=other.k8s.io;v=v1' },
      });
      await r.req('GET', `${NS}/configmaps/pb`, { headers: { Accept: 'application/json;as=Foo' } });
      await r.req('GET', `${NS}/configmaps/pb`, {
        headers: { Accept: 'application/vnd.kubernetes.protobuf,application/json' },
        embeddedDiffers:
          "The embedded server answers JSON to a client that also accepts JSON (kubectl and client-go offer application/json after protobuf, and client-go decodes by the response's Content-Type).",
      });
      await r.req('DELETE', `${NS}/configmaps/yaml`, {
        raw: 'gracePeriodSeconds: 0\n',
        contentType: 'application/yaml',
      });
    },
  },

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
    // The recording server runs no namespace controller: its namespace stays Terminating. The
    // replay's emulated controller must not finish first on a slow machine (its default is 100 ms).
    embeddedOptions: { namespaceDeletionDelayMs: 3_600_000 },
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

  scale: {
    description:
      'The autoscaling/v1 scale subresource of Deployments, StatefulSets and ReplicaSets: GET, PUT ' +
      '(unconditional, stale resourceVersion, name mismatch, negative replicas, no-op), PATCH ' +
      '(merge, JSON, strategic, stale resourceVersion, dry run), 404s for a missing parent, 405s, ' +
      'status.selector from matchExpressions, status.replicas from the parent, and the MODIFIED ' +
      'events a watch on the parent sees.',
    async run(r) {
      const DEP = '/apis/apps/v1/namespaces/golden-scale/deployments';
      const STS = '/apis/apps/v1/namespaces/golden-scale/statefulsets';
      const RS = '/apis/apps/v1/namespaces/golden-scale/replicasets';
      const JSONPATCH = 'application/json-patch+json';
      const SMP = 'application/strategic-merge-patch+json';
      const scale = (name: string, replicas: number, rv?: string) => ({
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name, namespace: 'golden-scale', ...(rv ? { resourceVersion: rv } : {}) },
        spec: { replicas },
      });
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-scale') });
      const created = await r.req<Obj>('POST', DEP, { body: deployment('web') });
      const rv0 = created.metadata.resourceVersion;
      await r.watch('deps', `${DEP}?watch=true&resourceVersion=${rv0}`);
      await r.req('GET', `${DEP}/web/scale`);
      await r.req('PUT', `${DEP}/web/scale`, { body: scale('web', 3), note: 'unconditional' });
      await r.req('PUT', `${DEP}/web/scale`, { body: scale('web', 4, rv0), note: 'stale RV' });
      await r.req('PUT', `${DEP}/web/scale`, { body: scale('other', 4), note: 'name mismatch' });
      await r.req('PUT', `${DEP}/web/scale`, { body: scale('web', -1), note: 'negative' });
      await r.req('PUT', `${DEP}/web/scale`, { body: scale('web', 3), note: 'no-op' });
      await r.req('PATCH', `${DEP}/web/scale`, {
        body: { spec: { replicas: 5 } },
        contentType: MERGE,
      });
      await r.req('PATCH', `${DEP}/web/scale`, {
        body: [{ op: 'replace', path: '/spec/replicas', value: 4 }],
        contentType: JSONPATCH,
      });
      await r.req('PATCH', `${DEP}/web/scale`, {
        body: { spec: { replicas: 0 }, status: { replicas: 7 } },
        contentType: SMP,
        note: 'zero replicas: spec {}; status in the patch is ignored',
      });
      await r.req('PATCH', `${DEP}/web/scale`, {
        body: { metadata: { resourceVersion: rv0 }, spec: { replicas: 2 } },
        contentType: MERGE,
        note: 'stale RV in a patch',
      });
      await r.req('PATCH', `${DEP}/web/scale?dryRun=All`, {
        body: { spec: { replicas: 9 } },
        contentType: MERGE,
      });
      await r.req('GET', `${DEP}/web`);
      await r.collect('deps', { count: 3, close: true });
      await r.req('GET', `${DEP}/nope/scale`);
      await r.req('PUT', `${DEP}/nope/scale`, { body: scale('nope', 1) });
      await r.req('PATCH', `${DEP}/nope/scale`, {
        body: { spec: { replicas: 1 } },
        contentType: MERGE,
      });
      await r.req('DELETE', `${DEP}/web/scale`);
      await r.req('POST', `${DEP}/web/scale`, { body: scale('web', 1) });
      const sts = {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db' },
        spec: {
          replicas: 2,
          selector: {
            matchLabels: { app: 'db' },
            matchExpressions: [
              { key: 'tier', operator: 'In', values: ['web', 'api'] },
              { key: 'canary', operator: 'DoesNotExist' },
            ],
          },
          template: {
            ...deployment('db').spec.template,
            metadata: { creationTimestamp: null, labels: { app: 'db', tier: 'web' } },
          },
          serviceName: 'db',
          podManagementPolicy: 'OrderedReady',
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
          revisionHistoryLimit: 10,
        },
        status: { replicas: 0, availableReplicas: 0 },
      };
      await r.req('POST', STS, { body: sts });
      await r.req('GET', `${STS}/db/scale`);
      await r.req('PATCH', `${STS}/db/scale`, {
        body: { spec: { replicas: 3 } },
        contentType: MERGE,
      });
      const rs = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'rs' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'rs' } },
          template: deployment('rs').spec.template,
        },
        status: { replicas: 0 },
      };
      const rsCreated = await r.req<Obj>('POST', RS, { body: rs });
      await r.req('PUT', `${RS}/rs/status`, {
        body: { ...rs, metadata: rsCreated.metadata, status: { replicas: 2, readyReplicas: 1 } },
        note: 'status.replicas set as a controller would',
      });
      await r.req('GET', `${RS}/rs/scale`);
      await r.req('PUT', `${RS}/rs/scale`, { body: scale('rs', 5) });
    },
  },

  subresources: {
    description:
      'The other subresources listed in discovery, with no kubelet and no endpoints controller: ' +
      'pods/log (204 for a pod on no node), exec/attach/portforward/proxy errors, nodes/proxy and ' +
      'services/proxy errors, pods/binding and bindings, pods/eviction (graceful for a bound pod, ' +
      'with deleteOptions), pods/ephemeralcontainers GET, serviceaccounts/token errors, ' +
      'namespaces/finalize, and 405 for methods a subresource does not take.',
    async run(r) {
      const NS = '/api/v1/namespaces/golden-subres';
      const PODS = `${NS}/pods`;
      const NODE = 'golden-subres-node';
      const binding = (pod: string, node: string) => ({
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: pod },
        target: { apiVersion: 'v1', kind: 'Node', name: node },
      });
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-subres') });
      // Token requests first: their message's "10 minutes" must not look like a known RV.
      await r.req('POST', `${NS}/serviceaccounts`, {
        body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa1' } },
      });
      const token = (expirationSeconds: number) => ({
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: ['golden'], expirationSeconds },
      });
      await r.req('POST', `${NS}/serviceaccounts/sa1/token`, {
        body: token(3600),
        embeddedDiffers: 'the token itself is a fresh signed JWT on each side',
      });
      await r.req('POST', `${NS}/serviceaccounts/sa1/token`, { body: token(60) });
      await r.req('POST', `${NS}/serviceaccounts/nope/token`, { body: token(3600) });
      await r.req('GET', `${NS}/serviceaccounts/sa1/token`);
      await r.req('POST', PODS, { body: pod('p1') });
      await r.req('POST', PODS, { body: pod('p2', NODE) });
      await r.req('GET', `${PODS}/p1/log`, { note: 'no node: no log yet' });
      await r.req('GET', `${PODS}/p1/log?container=x`);
      await r.req('GET', `${PODS}/nope/log`);
      await r.req('PUT', `${PODS}/p1/log`, { body: {} });
      await r.req('GET', `${PODS}/p1/exec?command=ls&stdout=true`);
      await r.req('POST', `${PODS}/p1/exec?command=ls&stdout=true`);
      await r.req('GET', `${PODS}/p1/attach`);
      await r.req('GET', `${PODS}/p1/portforward`);
      await r.req('GET', `${PODS}/p1/proxy`, { note: 'no pod IP' });
      await r.req('GET', `${PODS}/p2/log`, { note: 'the node does not exist' });
      await r.req('GET', `${PODS}/p2/exec`);
      await r.req('POST', '/api/v1/nodes', {
        body: { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } },
        embeddedDiffers: 'the real server defaults a node status and adds a not-ready taint',
      });
      await r.req('GET', `${PODS}/p2/log`, { note: 'a node without addresses' });
      await r.req('GET', `${PODS}/p2/attach`);
      await r.req('GET', `/api/v1/nodes/${NODE}/proxy`);
      await r.req('GET', `/api/v1/nodes/${NODE}/proxy/metrics`);
      await r.req('GET', `/api/v1/nodes/nope/proxy`);
      await r.req('POST', `${NS}/services`, {
        body: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 's1' },
          spec: { ports: [{ port: 80 }] },
        },
        embeddedDiffers: 'the real server allocates a cluster IP and defaults the spec',
      });
      await r.req('GET', `${NS}/services/s1/proxy`, { note: 'no Endpoints' });
      await r.req('GET', `${NS}/services/s1/proxy/healthz`);
      await r.req('GET', `${PODS}/p1/binding`);
      await r.req('POST', `${PODS}/p1/binding`, { body: binding('p1', NODE) });
      await r.req('POST', `${PODS}/p1/binding`, { body: binding('p1', 'other') });
      await r.req('POST', `${PODS}/nope/binding`, { body: binding('nope', NODE) });
      await r.req('GET', `${PODS}/p1`);
      await r.req('POST', PODS, { body: pod('p3') });
      await r.req('POST', `${NS}/bindings`, { body: binding('p3', NODE) });
      await r.req('GET', `${NS}/bindings`);
      await r.req('GET', `${PODS}/p1/ephemeralcontainers`);
      const eviction = (name: string, deleteOptions?: unknown) => ({
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name, namespace: 'golden-subres' },
        ...(deleteOptions ? { deleteOptions } : {}),
      });
      await r.req('GET', `${PODS}/p1/eviction`);
      await r.req('POST', `${PODS}/p1/eviction`, { body: eviction('other') });
      await r.req('POST', `${PODS}/nope/eviction`, { body: eviction('nope') });
      await r.req('POST', `${PODS}/p1/eviction`, { body: eviction('p1'), note: 'bound: graceful' });
      await r.req('GET', `${PODS}/p1`);
      await r.req('POST', `${PODS}/p3/eviction`, {
        body: eviction('p3', { gracePeriodSeconds: 0 }),
      });
      await r.req('GET', `${PODS}/p3`);
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-subres-fin') });
      await r.req('PUT', '/api/v1/namespaces/golden-subres-fin/finalize', {
        body: {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'golden-subres-fin', labels: { x: 'y' } },
          spec: { finalizers: [] },
          status: { phase: 'Terminating' },
        },
        note: 'finalize drops spec.finalizers, takes metadata, keeps the status',
      });
      await r.req('GET', '/api/v1/namespaces/golden-subres-fin/finalize');
      await r.req('PATCH', '/api/v1/namespaces/golden-subres-fin/finalize', {
        body: {},
        contentType: MERGE,
      });
    },
  },

  defaulting: {
    description:
      'Defaulting on create and update: a minimal pod (pod spec and container defaults, ' +
      'imagePullPolicy by tag, Pending with its QoS class), a Deployment, ReplicaSet, DaemonSet ' +
      'and StatefulSet with only what is required, a Secret with stringData merged into data and ' +
      'type defaulted, a PUT of a Secret with stringData, a ConfigMap binaryData value in a ' +
      'non-canonical base64 spelling, and a no-op PUT of a defaulted Deployment as read.',
    // Only the API server's own defaulting: the admission plugins that also touch pods
    // (DefaultTolerationSeconds adds tolerations, Priority sets priority and preemptionPolicy)
    // are not modelled by the embedded server, so the recording disables them.
    server: { KUBE_EXTRA_ARGS: '--disable-admission-plugins=DefaultTolerationSeconds,Priority' },
    async run(r) {
      const NS = '/api/v1/namespaces/golden-defaults';
      const APPS = '/apis/apps/v1/namespaces/golden-defaults';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-defaults') });
      await r.req('POST', `${NS}/pods`, {
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'minimal' },
          spec: {
            containers: [
              { name: 'latest', image: 'nginx', ports: [{ containerPort: 80 }] },
              {
                name: 'tagged',
                image: 'registry.example.com:5000/team/app:1.2',
                resources: { limits: { cpu: '1', memory: '1Gi' } },
                livenessProbe: { httpGet: { port: 8080 } },
                env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              },
            ],
            initContainers: [{ name: 'init', image: 'busybox:latest' }],
            volumes: [{ name: 'scratch' }, { name: 'config', configMap: { name: 'c' } }],
          },
          status: { phase: 'Running' },
        },
        note: 'a status in a create body is replaced by Pending',
      });
      await r.req('POST', `${NS}/pods`, {
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'guaranteed' },
          spec: {
            containers: [
              {
                name: 'c',
                image:
                  'busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
                resources: { limits: { cpu: '500m', memory: '128Mi' } },
              },
            ],
          },
        },
        note: 'requests default to limits: Guaranteed',
      });
      const template = (app: string) => ({
        metadata: { labels: { app } },
        spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
      });
      const selector = (app: string) => ({ matchLabels: { app } });
      const depAt = r.steps.length;
      const created = await r.req('POST', `${APPS}/deployments`, {
        body: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web' },
          spec: { selector: selector('web'), template: template('web') },
        },
      });
      await r.req('PUT', `${APPS}/deployments/web`, {
        body: created,
        bodyFrom: depAt,
        note: 'the created Deployment written back: a no-op',
      });
      await r.req('POST', `${APPS}/deployments`, {
        body: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'recreate' },
          spec: {
            replicas: 0,
            strategy: { type: 'Recreate' },
            selector: selector('recreate'),
            template: template('recreate'),
          },
        },
      });
      await r.req('POST', `${APPS}/replicasets`, {
        body: {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: { name: 'rs' },
          spec: { selector: selector('rs'), template: template('rs') },
        },
      });
      await r.req('POST', `${APPS}/daemonsets`, {
        body: {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: 'ds' },
          spec: { selector: selector('ds'), template: template('ds') },
        },
      });
      await r.req('POST', `${APPS}/statefulsets`, {
        body: {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'sts' },
          spec: { selector: selector('sts'), template: template('sts') },
        },
      });
      await r.req('POST', `${NS}/secrets`, {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'merged' },
          data: { a: 'YQ==', b: 'Yg==' },
          stringData: { b: 'from stringData', c: 'ünïcode' },
        },
        note: 'stringData wins over data and is dropped; type defaults to Opaque',
      });
      await r.req('PUT', `${NS}/secrets/merged`, {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'merged' },
          stringData: { only: 'this' },
        },
        note: 'an update with stringData only replaces data; the empty type defaults to Opaque',
      });
      await r.req('POST', `${NS}/secrets`, {
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'empty-type' }, type: '' },
      });
      await r.req('POST', `${NS}/configmaps`, {
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'binary' },
          data: { text: 'plain' },
          binaryData: { bin: 'AAE=\n', odd: 'eB==' },
        },
        note: 'binaryData is decoded and stored in canonical base64',
      });
    },
  },

  validation: {
    description:
      'Validation errors with their exact Status: invalid names (per kind: subdomain, namespace ' +
      'label, service DNS-1035 label, generateName), labels, annotations and finalizers; ' +
      'ConfigMap keys and duplicates; Secret base64 (400), key, type-specific keys, immutable ' +
      'type; immutable ConfigMaps; a label error on update (reported once per validation pass); ' +
      'Deployments without or with a mismatched selector, bad containers, negative replicas, ' +
      'Recreate with rollingUpdate and a selector change; pods without containers or with an ' +
      'unsupported restartPolicy.',
    async run(r) {
      const NS = '/api/v1/namespaces/golden-valid';
      const APPS = '/apis/apps/v1/namespaces/golden-valid';
      await r.req('POST', '/api/v1/namespaces', { body: ns('golden-valid') });
      // Names.
      await r.req('POST', `${NS}/configmaps`, { body: cm('Bad_Name') });
      await r.req('POST', `${NS}/configmaps`, {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x'.repeat(254) } },
      });
      await r.req('POST', '/api/v1/namespaces', { body: ns('dotted.name') });
      await r.req('POST', `${NS}/services`, {
        body: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: '1-starts-with-digit' },
          spec: { ports: [{ port: 80 }] },
        },
      });
      // Labels, annotations, finalizers (one bad key or value per map: Go visits maps in random
      // order, so several would make the recording unstable).
      await r.req('POST', `${NS}/configmaps`, {
        body: cm('labels', { 'example.com/ok': 'bad value!' }),
      });
      await r.req('POST', `${NS}/configmaps`, {
        body: cm('keys', { 'a/b/c': 'v' }, { k: 'v' }, { annotations: { 'Not Valid': 'x' } }),
      });
      await r.req('POST', `${NS}/configmaps`, {
        body: cm('prefix', { 'Example.com/x': 'v' }),
      });
      await r.req('POST', `${NS}/configmaps`, {
        body: cm('longvalue', { k: 'v'.repeat(64) }),
      });
      await r.req('POST', `${NS}/configmaps`, {
        body: cm('fin', undefined, { k: 'v' }, { finalizers: ['not qualified'] }),
      });
      // ConfigMap keys.
      await r.req('POST', `${NS}/configmaps`, {
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'cmkeys' },
          data: { same: 'x' },
          binaryData: { same: 'eA==' },
        },
        note: 'a key in both data and binaryData',
      });
      await r.req('POST', `${NS}/configmaps`, {
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'dots' },
          data: { '..': 'x' },
        },
      });
      await r.req('POST', `${NS}/configmaps`, {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'num' }, data: { k: 5 } },
        note: 'not a string: the decoder refuses it (400)',
      });
      // Secrets.
      await r.req('POST', `${NS}/secrets`, {
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b64' }, data: { k: 'eA=x' } },
        note: 'invalid base64 (400)',
      });
      await r.req('POST', `${NS}/secrets`, {
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b64' }, data: { k: 'eA' } },
        note: 'missing padding (400)',
      });
      await r.req('POST', `${NS}/secrets`, {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'badkey' },
          stringData: { 'a b': 'x' },
        },
        note: 'stringData keys are validated as data keys',
      });
      await r.req('POST', `${NS}/secrets`, {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'tls' },
          type: 'kubernetes.io/tls',
          data: { 'tls.crt': '' },
        },
      });
      await r.req('POST', `${NS}/secrets`, {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'basic' },
          type: 'kubernetes.io/basic-auth',
        },
      });
      await r.req('POST', `${NS}/secrets`, {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'token' },
          type: 'kubernetes.io/service-account-token',
        },
      });
      await r.req('POST', `${NS}/secrets`, {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'typed' },
          data: { k: 'dg==' },
        },
      });
      await r.req('PUT', `${NS}/secrets/typed`, {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'typed' },
          type: 'example.com/other',
        },
        note: 'type is immutable',
      });
      // Immutable ConfigMaps.
      await r.req('POST', `${NS}/configmaps`, {
        body: cm('frozen', undefined, { k: 'v' }, {}),
      });
      await r.req('PATCH', `${NS}/configmaps/frozen`, {
        body: { immutable: true },
        contentType: MERGE,
      });
      await r.req('PATCH', `${NS}/configmaps/frozen`, {
        body: { data: { k: 'changed' } },
        contentType: MERGE,
        note: 'data of an immutable ConfigMap',
      });
      await r.req('PATCH', `${NS}/configmaps/frozen`, {
        body: { immutable: false },
        contentType: MERGE,
        note: 'immutable back to false',
      });
      await r.req('PATCH', `${NS}/configmaps/frozen`, {
        body: { metadata: { labels: { may: 'change' } } },
        contentType: MERGE,
        note: 'metadata of an immutable ConfigMap may change',
      });
      await r.req('PATCH', `${NS}/configmaps/frozen`, {
        body: { metadata: { labels: { bad: 'value with spaces' } } },
        contentType: MERGE,
        note: 'a label error on update: one cause per validation pass, one message',
      });
      // Deployments.
      const template = {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
      };
      const dep = (name: string, spec: Record<string, unknown>) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name },
        spec,
      });
      await r.req('POST', `${APPS}/deployments`, {
        body: dep('noselector', { template }),
      });
      await r.req('POST', `${APPS}/deployments`, {
        body: dep('mismatch', {
          selector: { matchLabels: { app: 'other' } },
          template: { ...template, metadata: { labels: { app: 'web', tier: 'x' } } },
        }),
      });
      await r.req('POST', `${APPS}/deployments`, {
        body: dep('empty', { selector: {}, template }),
      });
      await r.req('POST', `${APPS}/deployments`, {
        body: dep('nocontainers', {
          selector: { matchLabels: { app: 'web' } },
          template: { ...template, spec: { containers: [] } },
        }),
      });
      await r.req('POST', `${APPS}/deployments`, {
        body: dep('badcontainers', {
          selector: { matchLabels: { app: 'web' } },
          template: {
            ...template,
            spec: {
              restartPolicy: 'Never',
              containers: [
                { name: '', image: '' },
                { name: 'Upper', image: 'x' },
                {
                  name: 'dup',
                  image: 'x',
                  ports: [{ containerPort: 0, protocol: 'XTP' }],
                  imagePullPolicy: 'Sometimes',
                },
                { name: 'dup', image: 'y' },
              ],
            },
          },
        }),
      });
      await r.req('POST', `${APPS}/deployments`, {
        body: dep('negative', {
          replicas: -1,
          strategy: { type: 'Recreate', rollingUpdate: {} },
          selector: { matchLabels: { app: 'web' } },
          template,
        }),
      });
      await r.req('POST', `${APPS}/deployments`, {
        body: dep('web', { selector: { matchLabels: { app: 'web' } }, template }),
      });
      await r.req('PATCH', `${APPS}/deployments/web`, {
        body: {
          spec: {
            selector: { matchLabels: { app: 'web', tier: 'x' } },
            template: { metadata: { labels: { tier: 'x' } } },
          },
        },
        contentType: MERGE,
        note: 'the selector is immutable',
      });
      // Pods.
      await r.req('POST', `${NS}/pods`, {
        body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nocontainers' }, spec: {} },
      });
      await r.req('POST', `${NS}/pods`, {
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'restart' },
          spec: {
            restartPolicy: 'Sometimes',
            containers: [
              {
                name: 'c',
                image: 'x',
                volumeMounts: [{ name: 'missing', mountPath: '/m' }],
                env: [{ name: '1BAD' }],
              },
            ],
          },
        },
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

/** `Accept` of kubectl's Table requests. */
const TABLE = { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
/** Setup steps whose responses show the real server's defaulting, which is not compared here. */
const DEFAULTED =
  'setup: the real server defaults fields (and allocates) where the embedded one stores what was sent';

/** Waits (unrecorded) until a GET answers 200, e.g. a new CRD's resource is served. */
async function waitServed(path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await send(path, {});
    await readAll(res);
    if (res.statusCode === 200) return;
    await sleep(100);
  }
  throw new Error(`${path} never served`);
}

/** A container status of a pod's `status`, with the fields the printer reads. */
function containerStatus(
  name: string,
  state: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    name,
    image: 'busybox:1.36',
    imageID: '',
    ready: false,
    restartCount: 0,
    state,
    ...extra,
  };
}

/** The `tables` scenario: every modelled kind's Table, as `kubectl get` asks for it. */
const TABLES_SCENARIO: Scenario = {
  description:
    "Table output (kubectl get's Accept: application/json;as=Table;v=v1;g=meta.k8s.io) of every " +
    'modelled kind: the column definitions (with the wide, priority-1 ones) and the cells computed ' +
    'from representative objects (a Deployment with status written via /status, pods in every ' +
    'status the printer computes, services of each type, nodes, events of both APIs, custom ' +
    'resources with and without printer columns); one-object Tables at the object RV; ' +
    'includeObject=Object/None/bad; a Table watch (headers only on the first event).',
  async run(r) {
    const N = 'golden-tables';
    const NS = `/api/v1/namespaces/${N}`;
    const APPS = `/apis/apps/v1/namespaces/${N}`;
    const d = { embeddedDiffers: DEFAULTED };
    await r.req('POST', '/api/v1/namespaces', { body: ns(N) });
    await r.req('POST', `${NS}/configmaps`, { body: cm('c1', undefined, { a: '1', b: '2' }) });
    await r.req('POST', `${NS}/configmaps`, {
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c2' },
        binaryData: { bin: 'AAE=' },
      },
    });
    await r.req('POST', `${NS}/secrets`, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's1' },
        type: 'Opaque',
        data: { u: 'dQ==', p: 'cA==' },
      },
    });
    await r.req('POST', `${NS}/secrets`, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's2' },
        type: 'kubernetes.io/basic-auth',
        data: { username: 'dQ==' },
      },
    });
    await r.req('POST', `${NS}/serviceaccounts`, {
      body: {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'sa1' },
        secrets: [{ name: 's1' }],
      },
    });
    // Deployment, with its status written via /status.
    await r.req('POST', `${APPS}/deployments`, {
      body: { ...deployment('web'), spec: { ...deployment('web').spec, replicas: 3 } },
    });
    await r.req('PATCH', `${APPS}/deployments/web/status`, {
      contentType: MERGE,
      body: { status: { replicas: 3, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1 } },
      ...d,
    });
    const template = deployment('web').spec.template;
    await r.req('POST', `${APPS}/replicasets`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'web-1' },
        spec: {
          replicas: 2,
          selector: {
            matchLabels: { app: 'web' },
            matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }],
          },
          template: { ...template, metadata: { labels: { app: 'web', tier: 'a' } } },
        },
      },
      ...d,
    });
    await r.req('PATCH', `${APPS}/replicasets/web-1/status`, {
      contentType: MERGE,
      body: { status: { replicas: 2, readyReplicas: 1 } },
      ...d,
    });
    await r.req('POST', `${APPS}/statefulsets`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db' },
        spec: {
          replicas: 2,
          serviceName: 'db',
          selector: { matchLabels: { app: 'web' } },
          template,
        },
      },
      ...d,
    });
    await r.req('PATCH', `${APPS}/statefulsets/db/status`, {
      contentType: MERGE,
      body: { status: { replicas: 2, readyReplicas: 1 } },
      ...d,
    });
    await r.req('POST', `${APPS}/daemonsets`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'agent' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            ...template,
            spec: { ...template.spec, nodeSelector: { disk: 'ssd', zone: 'a' } },
          },
        },
      },
      ...d,
    });
    await r.req('PATCH', `${APPS}/daemonsets/agent/status`, {
      contentType: MERGE,
      body: {
        status: {
          desiredNumberScheduled: 3,
          currentNumberScheduled: 3,
          numberReady: 2,
          updatedNumberScheduled: 1,
          numberAvailable: 2,
          numberMisscheduled: 0,
        },
      },
      ...d,
    });
    // Pods, each in a status the printer computes differently (set via /status).
    const pods: [string, Record<string, unknown>, Record<string, unknown>?][] = [
      [
        'p-running',
        {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          podIP: '10.1.0.5',
          podIPs: [{ ip: '10.1.0.5' }],
          containerStatuses: [
            containerStatus(
              'c',
              { running: { startedAt: '2026-01-01T00:00:00Z' } },
              {
                ready: true,
                restartCount: 3,
                lastState: {
                  terminated: {
                    exitCode: 1,
                    reason: 'Error',
                    startedAt: '2025-12-31T00:00:00Z',
                    finishedAt: '2026-01-01T00:00:00Z',
                  },
                },
              },
            ),
          ],
        },
      ],
      [
        'p-crash',
        {
          phase: 'Running',
          containerStatuses: [
            containerStatus('c', { waiting: { reason: 'CrashLoopBackOff' } }, { restartCount: 5 }),
          ],
        },
      ],
      [
        'p-init',
        {
          phase: 'Pending',
          initContainerStatuses: [
            containerStatus('i1', {
              terminated: {
                exitCode: 0,
                reason: 'Completed',
                startedAt: '2026-01-01T00:00:00Z',
                finishedAt: '2026-01-01T00:00:01Z',
              },
            }),
            containerStatus('i2', { running: { startedAt: '2026-01-01T00:00:02Z' } }),
          ],
          containerStatuses: [containerStatus('c', { waiting: { reason: 'PodInitializing' } })],
        },
        { initContainers: ['i1', 'i2'] },
      ],
      [
        'p-done',
        {
          phase: 'Succeeded',
          containerStatuses: [
            containerStatus('c', {
              terminated: {
                exitCode: 0,
                reason: 'Completed',
                startedAt: '2026-01-01T00:00:00Z',
                finishedAt: '2026-01-01T00:00:05Z',
              },
            }),
          ],
        },
      ],
      [
        'p-failed',
        {
          phase: 'Failed',
          containerStatuses: [
            containerStatus('c', {
              terminated: {
                exitCode: 137,
                signal: 9,
                startedAt: '2026-01-01T00:00:00Z',
                finishedAt: '2026-01-01T00:00:05Z',
              },
            }),
          ],
        },
      ],
      [
        'p-wide',
        {
          phase: 'Pending',
          nominatedNodeName: 'node-b',
          conditions: [{ type: 'example.com/gate', status: 'True' }],
        },
        { readinessGates: ['example.com/gate', 'example.com/other'] },
      ],
    ];
    for (const [name, status, extra] of pods) {
      const body = pod(name, name === 'p-wide' ? undefined : 'node-a');
      const spec: Record<string, unknown> = { ...body.spec };
      if (extra?.['initContainers']) {
        spec['initContainers'] = (extra['initContainers'] as string[]).map((n) => ({
          ...body.spec.containers[0],
          name: n,
        }));
      }
      if (extra?.['readinessGates']) {
        spec['readinessGates'] = (extra['readinessGates'] as string[]).map((conditionType) => ({
          conditionType,
        }));
      }
      await r.req('POST', `${NS}/pods`, { body: { ...body, spec }, ...d });
      await r.req('PATCH', `${NS}/pods/${name}/status`, {
        contentType: MERGE,
        body: { status },
        ...d,
      });
    }
    // A bound pod deleted gracefully stays, Terminating (no kubelet confirms it).
    await r.req('POST', `${NS}/pods`, { body: pod('p-term', 'node-a'), ...d });
    await r.req('DELETE', `${NS}/pods/p-term`, { ...d });
    // Services of each type (fixed cluster IPs and node ports: nothing random).
    const svc = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec,
    });
    await r.req('POST', `${NS}/services`, {
      body: svc('headless', {
        clusterIP: 'None',
        selector: { app: 'web' },
        ports: [{ port: 80, protocol: 'TCP' }],
      }),
      ...d,
    });
    await r.req('POST', `${NS}/services`, {
      body: svc('np', {
        type: 'NodePort',
        clusterIP: '10.0.0.77',
        externalIPs: ['192.0.2.1'],
        selector: { app: 'web', tier: 'a' },
        ports: [
          { name: 'http', port: 80, nodePort: 30077, protocol: 'TCP' },
          { name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' },
        ],
      }),
      ...d,
    });
    await r.req('POST', `${NS}/services`, {
      body: svc('lb', {
        type: 'LoadBalancer',
        clusterIP: '10.0.0.78',
        ports: [{ port: 443, nodePort: 30443, protocol: 'TCP' }],
      }),
      ...d,
    });
    await r.req('POST', `${NS}/services`, {
      body: svc('lb-ready', {
        type: 'LoadBalancer',
        clusterIP: '10.0.0.79',
        ports: [{ port: 443, nodePort: 30444, protocol: 'TCP' }],
      }),
      ...d,
    });
    await r.req('PATCH', `${NS}/services/lb-ready/status`, {
      contentType: MERGE,
      body: {
        status: {
          loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }] },
        },
      },
      ...d,
    });
    await r.req('POST', `${NS}/services`, {
      body: svc('ext', { type: 'ExternalName', externalName: 'db.example.com' }),
      ...d,
    });
    // Events of both APIs.
    await r.req('POST', `${NS}/events`, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'e1' },
        involvedObject: {
          kind: 'Pod',
          name: 'p-running',
          namespace: N,
          fieldPath: 'spec.containers{c}',
        },
        reason: 'Pulled',
        message: '  Image pulled  ',
        type: 'Normal',
        source: { component: 'kubelet', host: 'node-a' },
        count: 4,
        firstTimestamp: '2026-01-01T00:00:00Z',
        lastTimestamp: '2026-01-02T00:00:00Z',
      },
      ...d,
    });
    await r.req('POST', `/apis/events.k8s.io/v1/namespaces/${N}/events`, {
      body: {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: 'e2' },
        eventTime: '2026-01-01T00:00:00.000000Z',
        reportingController: 'example.com/ctl',
        reportingInstance: 'ctl-1',
        action: 'Reconcile',
        reason: 'Synced',
        note: 'synced',
        type: 'Warning',
        regarding: { kind: 'Deployment', name: 'web', namespace: N },
      },
      ...d,
    });
    await r.req('POST', `/apis/coordination.k8s.io/v1/namespaces/${N}/leases`, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'l1' },
        spec: { holderIdentity: 'me' },
      },
    });
    await r.req('POST', `/apis/coordination.k8s.io/v1/namespaces/${N}/leases`, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'l2' },
        spec: {},
      },
    });
    // Nodes (cluster-scoped: labelled, and listed by label).
    const node = (
      name: string,
      labels: Record<string, string>,
      spec: Record<string, unknown> = {},
    ) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { golden: 'tables', ...labels } },
      spec,
    });
    await r.req('POST', '/api/v1/nodes', {
      body: node('golden-tables-a', {
        'node-role.kubernetes.io/control-plane': '',
        'kubernetes.io/role': 'infra',
      }),
      ...d,
    });
    await r.req('PATCH', '/api/v1/nodes/golden-tables-a/status', {
      contentType: MERGE,
      body: {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              lastHeartbeatTime: '2026-01-01T00:00:00Z',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
          addresses: [
            { type: 'InternalIP', address: '10.0.1.1' },
            { type: 'ExternalIP', address: '198.51.100.1' },
            { type: 'Hostname', address: 'a' },
          ],
          nodeInfo: {
            machineID: '',
            systemUUID: '',
            bootID: '',
            kernelVersion: '6.1.0',
            osImage: 'Debian GNU/Linux 12',
            containerRuntimeVersion: 'containerd://1.7.0',
            kubeletVersion: 'v1.23.16',
            kubeProxyVersion: 'v1.23.16',
            operatingSystem: 'linux',
            architecture: 'amd64',
          },
        },
      },
      ...d,
    });
    await r.req('POST', '/api/v1/nodes', {
      body: node('golden-tables-b', {}, { unschedulable: true }),
      ...d,
    });
    // CRDs: one with printer columns, one without (its resource gets the default Age column).
    const crd = (plural: string, kind: string, columns?: unknown[]) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.tables.golden.example` },
      spec: {
        group: 'tables.golden.example',
        scope: 'Namespaced',
        names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
            ...(columns ? { additionalPrinterColumns: columns } : {}),
          },
        ],
      },
    });
    await r.req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      body: crd('widgets', 'Widget', [
        { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
        {
          name: 'Color',
          type: 'string',
          jsonPath: '.spec.color',
          description: 'The color',
          priority: 1,
        },
        { name: 'Ratio', type: 'number', jsonPath: '.spec.ratio' },
        { name: 'On', type: 'boolean', jsonPath: '.spec.on' },
        { name: 'Tags', type: 'string', jsonPath: '.spec.tags' },
        { name: 'Missing', type: 'string', jsonPath: '.spec.missing' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ]),
      ...d,
    });
    await r.req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      body: crd('gadgets', 'Gadget'),
      ...d,
    });
    const CR = `/apis/tables.golden.example/v1/namespaces/${N}`;
    await waitServed(`${CR}/widgets`);
    await waitServed(`${CR}/gadgets`);
    await r.req('POST', `${CR}/widgets`, {
      body: {
        apiVersion: 'tables.golden.example/v1',
        kind: 'Widget',
        metadata: { name: 'w1' },
        spec: { size: 3, color: 'red', ratio: 1.5, on: true, tags: ['a', 'b'] },
      },
    });
    await r.req('POST', `${CR}/gadgets`, {
      body: { apiVersion: 'tables.golden.example/v1', kind: 'Gadget', metadata: { name: 'g1' } },
    });

    // The Tables.
    for (const path of [
      `${NS}/configmaps`,
      `${NS}/secrets`,
      `${NS}/serviceaccounts`,
      `${APPS}/deployments`,
      `${APPS}/replicasets`,
      `${APPS}/statefulsets`,
      `${APPS}/daemonsets`,
      `${NS}/pods`,
      `${NS}/services`,
      `${NS}/events/e1`,
      `/apis/events.k8s.io/v1/namespaces/${N}/events/e2`,
      `/apis/coordination.k8s.io/v1/namespaces/${N}/leases`,
      '/api/v1/nodes?labelSelector=golden%3Dtables',
      `/api/v1/namespaces?fieldSelector=metadata.name%3D${N}`,
      `${CR}/widgets`,
      `${CR}/gadgets`,
      `${APPS}/deployments/web`,
      `${NS}/pods/p-running`,
      `${NS}/configmaps?limit=1`,
      `${NS}/configmaps/c1?includeObject=Object`,
      `${NS}/configmaps?includeObject=None`,
      `${NS}/configmaps/c1?includeObject=Metadata`,
      `${NS}/configmaps?includeObject=bogus`,
    ]) {
      await r.req('GET', path, { headers: TABLE });
    }

    // kubectl get -w: a Table per event, headers only in the first.
    const list = await r.req<Obj>('GET', `${NS}/configmaps`, { headers: TABLE });
    const rv = list.metadata.resourceVersion;
    await r.watch('w', `${NS}/configmaps?watch=1&resourceVersion=${rv}`, { headers: TABLE });
    await r.req('POST', `${NS}/configmaps`, { body: cm('c3') });
    await r.req('PATCH', `${NS}/configmaps/c3`, {
      contentType: MERGE,
      body: { data: { k: 'v2', l: 'w' } },
    });
    await r.req('DELETE', `${NS}/configmaps/c3`);
    await r.collect('w', { count: 3, close: true });
    await r.watch('initial', `${APPS}/deployments?watch=1`, { headers: TABLE });
    await r.collect('initial', { count: 1, close: true });

    // Last, as they differ on purpose (and would shift the resourceVersions numbered after them).
    // One Event storage serves both APIs: each list shows both Events.
    const split = 'the embedded server stores core/v1 and events.k8s.io/v1 Events apart';
    await r.req('GET', `${NS}/events`, { headers: TABLE, embeddedDiffers: split });
    await r.req('GET', `/apis/events.k8s.io/v1/namespaces/${N}/events`, {
      headers: TABLE,
      embeddedDiffers: split,
    });
    // No printer: the default Name and Created At.
    await r.req(
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.tables.golden.example',
      {
        headers: TABLE,
        embeddedDiffers:
          "the real server's CRD controllers write its status (NamesAccepted, Established) after the create: a later resourceVersion",
      },
    );
  },
};
SCENARIOS['tables'] = TABLES_SCENARIO;

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
