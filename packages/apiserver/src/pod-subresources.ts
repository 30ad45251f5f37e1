/**
 * The subresources of pods, nodes and services beyond `status`, as a real v1.23 server serves them
 * when there is no kubelet and no endpoints controller (which is what an embedded server is):
 *
 * | path                                   | answer                                                         |
 * | -------------------------------------- | -------------------------------------------------------------- |
 * | `POST pods/{name}/binding`, `bindings` | sets `spec.nodeName` and the `PodScheduled` condition; 201 `Success`; 409 when already bound |
 * | `POST pods/{name}/eviction`            | deletes the pod as a DELETE with the Eviction's `deleteOptions` would (graceful when bound); 201 `Success` |
 * | `GET pods/{name}/log`                  | a pod on no node: 204 and no body (there is no log yet); otherwise the kubelet is needed (below) |
 * | `pods/{name}/exec`, `attach`, `portforward` | a pod on no node: 400 "pod x does not have a host assigned"; otherwise the kubelet is needed |
 * | `pods/{name}/proxy[/…]`                | 400 "address not allowed" without a pod IP; otherwise 503, nothing listens there |
 * | `nodes/{name}/proxy[/…]`               | the kubelet is needed                                           |
 * | `services/{name}/proxy[/…]`            | 404 `services "x" not found`: the service has no Endpoints (what v1.23 answers then) |
 * | `pods/{name}/ephemeralcontainers`      | GET is the pod; PUT and PATCH change only `spec.ephemeralContainers` |
 *
 * "The kubelet is needed": the node named by the pod must exist (otherwise v1.23 answers a 404
 * that names the node as a pod: `pods "node-1" not found`); a node without addresses gives the real
 * 500 "no preferred addresses found; known addresses: []"; a node with addresses gives a 500 dial
 * error, as a real server whose kubelet does not answer.
 */
import { ApiStatusError } from '@kubecache/cache';
import type { KubeObject } from '@kubecache/cache';
import { parseBody, readBody, readObject } from './body.js';
import type { ServerContext } from './context.js';
import { deleteOptions } from './deletion.js';
import { objectBody } from './encoding.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { patchTypeOf } from './patching.js';
import type { ResourceInfo } from './resources.js';
import { sendJson } from './response.js';
import type { ResourceRequest } from './routing.js';
import { badRequest, failureStatus, methodNotAllowed, notFound, statusError } from './status.js';
import type { StoredObject } from './storage.js';
import { nowTimestamp } from './storage.js';

/** The parts of a pod these subresources read and write. */
interface PodObject {
  metadata?: KubeObject['metadata'];
  spec?: {
    nodeName?: string;
    containers?: { name?: string }[];
    ephemeralContainers?: unknown;
  };
  status?: { podIP?: string; conditions?: Record<string, unknown>[] };
}

/** A `Success` Status with the given code, as binding and eviction answer. */
function success(r: ResourceRequest, code: number): void {
  sendJson(
    r.res,
    code,
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code }),
  );
}

function podInfo(ctx: ServerContext): ResourceInfo {
  return ctx.registry.get('', 'v1', 'pods')!;
}

const wholeObjectInfos = new WeakMap<ResourceInfo, ResourceInfo>();

/**
 * The resource as the storage sees it when a write may change spec and status at once (the
 * storage keeps the stored status on a main-resource update of a resource with a `status`
 * subresource; the binding writes both). Same store: stores are keyed by group and resource.
 */
function wholeObject(info: ResourceInfo): ResourceInfo {
  let copy = wholeObjectInfos.get(info);
  if (copy === undefined) {
    copy = { ...info, subresources: info.subresources.filter((s) => s !== 'status') };
    wholeObjectInfos.set(info, copy);
  }
  return copy;
}

/** The stored pod the route names (404 when missing). */
function podOf(ctx: ServerContext, namespace: string | undefined, name: string): StoredObject {
  return ctx.db.get(podInfo(ctx), namespace, name);
}

/**
 * Binds a pod to a node (the scheduler's write): `POST pods/{name}/binding` or
 * `POST namespaces/{ns}/bindings` with a `Binding` naming the pod and its target node.
 */
export async function serveBinding(
  ctx: ServerContext,
  r: ResourceRequest,
  method: string,
  podName: string | undefined,
): Promise<void> {
  if (method !== 'POST' || r.route.namespace === undefined) {
    r.req.resume();
    throw methodNotAllowed();
  }
  const body = (await readObject(r.req, ctx.maxBodyBytes, {
    apiVersion: 'v1',
    kind: 'Binding',
  })) as {
    metadata?: { name?: unknown };
    target?: { kind?: unknown; name?: unknown };
  };
  ctx.stats.writes++;
  const name = typeof body.metadata?.name === 'string' ? body.metadata.name : '';
  if (podName !== undefined && name !== '' && name !== podName) {
    throw badRequest('name in URL does not match name in Binding object');
  }
  const target = typeof body.target?.name === 'string' ? body.target.name : '';
  if (body.target?.kind !== undefined && body.target.kind !== 'Node' && body.target.kind !== '') {
    throw badRequest('Binding target kind must be Node');
  }
  const pod = podOf(ctx, r.route.namespace, podName ?? name);
  const next = JSON.parse(pod.json) as PodObject;
  const current = next.spec?.nodeName ?? '';
  if (current !== '') {
    throw statusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on pods/binding "${pod.name}": pod ${pod.name} is already assigned to node "${current}"`,
      { name: pod.name, kind: 'pods/binding' },
    );
  }
  next.spec = { ...next.spec, nodeName: target };
  const conditions = (next.status?.conditions ?? []).filter((c) => c['type'] !== 'PodScheduled');
  conditions.push({
    type: 'PodScheduled',
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: nowTimestamp(),
  });
  next.status = { ...next.status, conditions };
  // One write of spec and status together, as the pod registry's binding does.
  ctx.db.update(wholeObject(podInfo(ctx)), next as KubeObject, {
    namespace: r.route.namespace,
    name: pod.name,
    dryRun: r.dryRun,
  });
  success(r, 201);
}

/** `POST pods/{name}/eviction`: deletes the pod with the Eviction's delete options. */
async function serveEviction(ctx: ServerContext, r: ResourceRequest, name: string): Promise<void> {
  const body = (await readObject(r.req, ctx.maxBodyBytes, {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
  })) as {
    metadata?: { name?: unknown };
    deleteOptions?: unknown;
  };
  ctx.stats.writes++;
  if (body.metadata?.name !== undefined && body.metadata.name !== name) {
    throw badRequest('name in URL does not match name in Eviction object');
  }
  const options =
    body.deleteOptions === undefined || body.deleteOptions === null
      ? deleteOptions('', r.query, r.dryRun)
      : deleteOptions(JSON.stringify(body.deleteOptions), r.query, r.dryRun);
  ctx.db.delete(podInfo(ctx), r.route.namespace, name, options);
  success(r, 201);
}

/** Throws what a real server answers when it would have to reach the kubelet of `nodeName`. */
function kubeletNeeded(ctx: ServerContext, nodeName: string): never {
  const node = ctx.db.tryGet(ctx.registry.get('', 'v1', 'nodes')!, undefined, nodeName);
  // v1.23 names the missing node as a pod in this error.
  if (node === undefined) throw notFound('', 'pods', nodeName);
  const addresses =
    (node.obj as { status?: { addresses?: { type?: string; address?: string }[] } }).status
      ?.addresses ?? [];
  const address = addresses.find((a) => typeof a.address === 'string' && a.address !== '');
  if (address === undefined) {
    // An error the real server wraps without a reason: the Status has none.
    const message = 'no preferred addresses found; known addresses: []';
    const { reason: _none, ...status } = failureStatus(500, '', message);
    throw new ApiStatusError(500, message, { status });
  }
  throw statusError(
    500,
    'InternalError',
    `error dialing backend: dial tcp ${address.address!}:10250: connect: connection refused`,
  );
}

/** `GET pods/{name}/log`: a pod on no node has no log yet (204, no body). */
function serveLog(ctx: ServerContext, r: ResourceRequest, pod: PodObject, name: string): void {
  const containers = (pod.spec?.containers ?? []).map((c) => c.name ?? '');
  const container = r.query.get('container');
  if (container !== null && container !== '' && !containers.includes(container)) {
    throw badRequest(`container ${container} is not valid for pod ${name}`);
  }
  if ((container === null || container === '') && containers.length > 1) {
    throw badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`,
    );
  }
  const nodeName = pod.spec?.nodeName ?? '';
  if (nodeName !== '') kubeletNeeded(ctx, nodeName);
  r.res.writeHead(204);
  r.res.end();
}

/** `pods/{name}/ephemeralcontainers`: the pod, of which a write changes only those containers. */
async function serveEphemeral(
  ctx: ServerContext,
  r: ResourceRequest,
  method: string,
  pod: StoredObject,
): Promise<void> {
  const info = podInfo(ctx);
  const send = (obj: StoredObject): void => sendJson(r.res, 200, objectBody(obj, info, 'full'));
  if (method === 'GET') {
    r.req.resume();
    send(pod);
    return;
  }
  let wanted: PodObject;
  if (method === 'PUT') {
    wanted = (await readObject(r.req, ctx.maxBodyBytes, {
      apiVersion: 'v1',
      kind: 'Pod',
    })) as PodObject;
  } else if (method === 'PATCH') {
    const type = patchTypeOf((r.req.headers['content-type'] ?? '').split(';')[0]!.trim(), info);
    const patch = parseBody(await readBody(r.req, ctx.maxBodyBytes), false);
    const patchOf =
      type === 'json' ? jsonPatch : type === 'strategic' ? strategicMergePatch : mergePatch;
    wanted = patchOf(pod.obj, patch) as PodObject;
  } else {
    r.req.resume();
    throw methodNotAllowed();
  }
  ctx.stats.writes++;
  const next = JSON.parse(pod.json) as PodObject;
  const ephemeral = wanted.spec?.ephemeralContainers;
  next.spec = { ...next.spec };
  if (ephemeral === undefined) delete next.spec.ephemeralContainers;
  else next.spec.ephemeralContainers = ephemeral;
  const rv = wanted.metadata?.resourceVersion;
  next.metadata = { ...next.metadata, resourceVersion: rv ?? String(pod.rv) };
  send(
    ctx.db.update(info, next as KubeObject, {
      namespace: r.route.namespace,
      name: pod.name,
      dryRun: r.dryRun,
    }),
  );
}

/** The methods each listed subresource takes (what discovery's verbs say). */
const METHODS: Readonly<Record<string, readonly string[]>> = {
  binding: ['POST'],
  eviction: ['POST'],
  log: ['GET'],
  exec: ['GET', 'POST'],
  attach: ['GET', 'POST'],
  portforward: ['GET', 'POST'],
  proxy: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  ephemeralcontainers: ['GET', 'PUT', 'PATCH'],
};

/** Serves a pod subresource other than `status`. */
export async function servePodSubresource(
  ctx: ServerContext,
  r: ResourceRequest,
  method: string,
  sub: string,
): Promise<void> {
  const name = r.route.name!;
  if (!(METHODS[sub] ?? []).includes(method)) {
    r.req.resume();
    throw methodNotAllowed();
  }
  if (sub === 'binding') return serveBinding(ctx, r, method, name);
  if (sub === 'eviction') return serveEviction(ctx, r, name);
  const stored = podOf(ctx, r.route.namespace, name);
  if (sub === 'ephemeralcontainers') return serveEphemeral(ctx, r, method, stored);
  r.req.resume();
  const pod = stored.obj as PodObject;
  if (sub === 'log') return serveLog(ctx, r, pod, name);
  if (sub === 'proxy') {
    const ip = pod.status?.podIP ?? '';
    if (ip === '') throw badRequest('address not allowed');
    throw statusError(
      503,
      'ServiceUnavailable',
      `error trying to reach service: dial tcp ${ip}:80: connect: connection refused`,
    );
  }
  const nodeName = pod.spec?.nodeName ?? '';
  if (nodeName === '') throw badRequest(`pod ${name} does not have a host assigned`);
  kubeletNeeded(ctx, nodeName);
}

/** `nodes/{name}/proxy[/…]`: needs the node's kubelet. */
export function serveNodeProxy(ctx: ServerContext, r: ResourceRequest): void {
  r.req.resume();
  const name = r.route.name!;
  ctx.db.get(r.route.info, undefined, name);
  kubeletNeeded(ctx, name);
}

/**
 * `services/{name}/proxy[/…]`: a service is proxied to its Endpoints, which nothing creates here;
 * v1.23 then answers 404 for the service.
 */
export function serveServiceProxy(r: ResourceRequest): void {
  r.req.resume();
  throw notFound('', 'services', r.route.name!);
}
