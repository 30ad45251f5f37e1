/**
 * Subresources: what each one listed in discovery is (its kind, group/version and verbs, as a
 * real v1.23 server lists them) and which module serves it.
 *
 * A resource's `subresources` (in the {@link ResourceRegistry}) are the names listed and routed;
 * `status` is served by the object verbs themselves (`crud.ts`, the storage keeps status and the
 * rest apart), everything else is dispatched here: `scale` (`scale.ts`), the pod, node and
 * service subresources (`pod-subresources.ts`), `serviceaccounts/token` (`token-request.ts`) and
 * `namespaces/finalize`. A method a subresource does not take is 405 `MethodNotAllowed`, as on
 * the real server; nothing listed answers a 404 page.
 */
import type { ApiStatusError, KubeObject } from '@kubecache/cache';
import { readObject } from './body.js';
import type { ServerContext } from './context.js';
import { objectBody } from './encoding.js';
import {
  serveBinding,
  serveNodeProxy,
  servePodSubresource,
  serveServiceProxy,
} from './pod-subresources.js';
import type { ResourceInfo } from './resources.js';
import { sendJson } from './response.js';
import type { ResourceRequest } from './routing.js';
import { serveScale } from './scale.js';
import { methodNotAllowed, statusError } from './status.js';
import { serveTokenRequest } from './token-request.js';

/** How discovery lists a subresource. */
export interface SubresourceDoc {
  readonly kind: string;
  /** Set when the subresource's kind is of another group/version than its parent. */
  readonly group?: string;
  readonly version?: string;
  readonly verbs: readonly string[];
}

const PROXY_VERBS = ['create', 'delete', 'get', 'patch', 'update'];

/** Subresources of one built-in resource, by `resource/subresource`. */
const DOCS_BY_PATH: Readonly<Record<string, SubresourceDoc>> = {
  'namespaces/finalize': { kind: 'Namespace', verbs: ['update'] },
  'nodes/proxy': { kind: 'NodeProxyOptions', verbs: PROXY_VERBS },
  'pods/attach': { kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  'pods/binding': { kind: 'Binding', verbs: ['create'] },
  'pods/ephemeralcontainers': { kind: 'Pod', verbs: ['get', 'patch', 'update'] },
  'pods/eviction': { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
  'pods/exec': { kind: 'PodExecOptions', verbs: ['create', 'get'] },
  'pods/log': { kind: 'Pod', verbs: ['get'] },
  'pods/portforward': { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  'pods/proxy': { kind: 'PodProxyOptions', verbs: PROXY_VERBS },
  'services/proxy': { kind: 'ServiceProxyOptions', verbs: PROXY_VERBS },
  'serviceaccounts/token': {
    group: 'authentication.k8s.io',
    version: 'v1',
    kind: 'TokenRequest',
    verbs: ['create'],
  },
};

/** What discovery says of `info`'s subresource `sub`. */
export function subresourceDoc(info: ResourceInfo, sub: string): SubresourceDoc {
  if (sub === 'scale') {
    return {
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    };
  }
  if (!info.custom && info.group === '') {
    const doc = DOCS_BY_PATH[`${info.resource}/${sub}`];
    if (doc !== undefined) return doc;
  }
  return { kind: info.kind, verbs: ['get', 'patch', 'update'] };
}

/** 422 for one invalid field of a kind of another group, worded as the real server does. */
export function invalidField(
  group: string,
  kind: string,
  name: string,
  field: string,
  message: string,
): ApiStatusError {
  return statusError(
    422,
    'Invalid',
    `${kind}.${group} "${name}" is invalid: ${field}: ${message}`,
    {
      ...(name === '' ? {} : { name }),
      group,
      kind,
      causes: [{ reason: 'FieldValueInvalid', message, field }],
    },
  );
}

/**
 * `PUT namespaces/{name}/finalize`: an update of the namespace that may change
 * `spec.finalizers` (the main resource keeps status apart already); other methods 405.
 */
async function serveFinalize(
  ctx: ServerContext,
  r: ResourceRequest,
  method: string,
): Promise<void> {
  if (method !== 'PUT') {
    r.req.resume();
    throw methodNotAllowed();
  }
  const body = (await readObject(r.req, ctx.maxBodyBytes, {
    apiVersion: 'v1',
    kind: 'Namespace',
  })) as KubeObject & {
    spec?: { finalizers?: string[] };
  };
  ctx.stats.writes++;
  const { info, name } = r.route;
  // The namespace registry keeps its name label, and an empty list is no list (omitempty).
  const meta = body.metadata ?? {};
  body.metadata = {
    ...meta,
    labels: { ...meta.labels, 'kubernetes.io/metadata.name': name! },
  };
  if (body.spec?.finalizers?.length === 0) {
    const { finalizers: _empty, ...spec } = body.spec;
    body.spec = spec;
  }
  const updated = ctx.db.update(info, body, { name, dryRun: r.dryRun });
  sendJson(r.res, 200, objectBody(updated, info, 'full'));
}

/**
 * Serves a request for a subresource other than `status`, or for the create-only `bindings`
 * resource; false when the route is neither (then the object verbs serve it).
 */
export async function serveSubresource(
  ctx: ServerContext,
  r: ResourceRequest,
  method: string,
): Promise<boolean> {
  const { info, subresource } = r.route;
  if (info.group === '' && info.resource === 'bindings' && !info.custom) {
    if (r.route.name !== undefined) {
      r.req.resume();
      throw methodNotAllowed();
    }
    await serveBinding(ctx, r, method, undefined);
    return true;
  }
  if (subresource === undefined || subresource === 'status') return false;
  if (r.route.name === undefined) {
    r.req.resume();
    throw methodNotAllowed();
  }
  if (subresource === 'scale') {
    await serveScale(ctx, r, method);
    return true;
  }
  if (info.custom || info.group !== '') return false;
  switch (`${info.resource}/${subresource}`) {
    case 'namespaces/finalize':
      await serveFinalize(ctx, r, method);
      return true;
    case 'serviceaccounts/token':
      await serveTokenRequest(ctx, r, method);
      return true;
    case 'nodes/proxy':
      serveNodeProxy(ctx, r);
      return true;
    case 'services/proxy':
      serveServiceProxy(r);
      return true;
  }
  if (info.resource === 'pods') {
    await servePodSubresource(ctx, r, method, subresource);
    return true;
  }
  return false;
}
