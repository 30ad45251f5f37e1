/**
 * The `scale` subresource of apps/v1 Deployments, ReplicaSets and StatefulSets, and of custom
 * resources whose CRD declares one: an `autoscaling/v1` `Scale` view of the parent, as
 * `kubectl scale` and autoscalers use it.
 *
 * A Scale is never stored: GET builds it from the parent (`spec.replicas`, `status.replicas`,
 * and `status.selector`, the parent's label selector as text); PUT and PATCH change the
 * parent's `spec.replicas` and nothing else, through the parent's own update (so the parent's
 * resourceVersion, generation, no-op detection, history and watch events are the ones of an
 * ordinary update). As on the real server (the apps registries' `ScaleREST`):
 * - the Scale's metadata is the parent's name, namespace, uid, resourceVersion and
 *   creationTimestamp;
 * - a PATCH is applied to the Scale built from the parent, then written like a PUT;
 * - a `metadata.resourceVersion` in the Scale is a precondition on the parent (409 naming the
 *   parent: `deployments.apps "x"`); without one the write is unconditional;
 * - a negative `spec.replicas` is 422 for `Scale.autoscaling`;
 * - a missing parent is 404: on GET for `deployments/scale.apps`, on PUT and PATCH for the
 *   parent's resource (`deployments.apps`), as v1.23 words them (a custom resource's always
 *   names the resource);
 * - a custom resource's Scale reads and writes its CRD's `specReplicasPath` and
 *   `statusReplicasPath` and shows the string at `labelSelectorPath`; a resource without a
 *   number at `specReplicasPath` is the real 500 "the spec replicas field … does not exist".
 */
import { labelSelectorFromObject } from '@kubecache/cache';
import type { KubeObject, LabelSelectorObject } from '@kubecache/cache';
import { parseBody, readBody, readObject } from './body.js';
import type { ServerContext } from './context.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { patchTypeOf } from './patching.js';
import { sendJson } from './response.js';
import type { ResourceRequest } from './routing.js';
import type { ResourceInfo } from './resources.js';
import { badRequest, methodNotAllowed, notFound, statusError } from './status.js';
import type { StoredObject } from './storage.js';
import { invalidField } from './subresources.js';

/** The parts of a Deployment, ReplicaSet or StatefulSet a Scale reads. */
interface Scalable {
  metadata?: KubeObject['metadata'];
  spec?: { replicas?: number; selector?: LabelSelectorObject | null };
  status?: { replicas?: number };
}

/** An `autoscaling/v1` Scale as it arrives in a request body (anything may be missing). */
interface ScaleBody {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; resourceVersion?: unknown; [key: string]: unknown };
  spec?: { replicas?: unknown };
  [key: string]: unknown;
}

/** The label selector as `metav1.LabelSelectorAsSelector(…).String()` writes it. */
function selectorText(selector: LabelSelectorObject | null | undefined): string {
  try {
    return labelSelectorFromObject(selector).toString();
  } catch {
    return '';
  }
}

/** The segments of a CRD scale path (`.spec.replicas`). */
function segments(path: string): string[] {
  return path.split('.').filter((p) => p !== '');
}

function readPath(obj: unknown, path: string): unknown {
  let value = obj;
  for (const key of segments(path)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Sets `value` at `path` in `obj` (objects on the way copied, missing ones created). */
function writePath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = segments(path);
  let target = obj;
  for (const key of keys.slice(0, -1)) {
    const next = target[key];
    const copy =
      next !== null && typeof next === 'object' && !Array.isArray(next)
        ? { ...(next as Record<string, unknown>) }
        : {};
    target[key] = copy;
    target = copy;
  }
  target[keys[keys.length - 1]!] = value;
}

/** What a Scale shows of its parent: replicas wanted and seen, and the selector as text. */
function scaleFields(
  info: ResourceInfo,
  obj: KubeObject,
): { replicas: number; statusReplicas: number; selector: string } {
  const paths = info.scale;
  if (paths === undefined) {
    const o = obj as Scalable;
    return {
      replicas: o.spec?.replicas ?? 0,
      statusReplicas: o.status?.replicas ?? 0,
      selector: selectorText(o.spec?.selector),
    };
  }
  const replicas = readPath(obj, paths.specReplicasPath);
  if (typeof replicas !== 'number') {
    // The real server's answer to a custom resource without the field.
    const message = `the spec replicas field ${JSON.stringify(paths.specReplicasPath)} does not exist`;
    throw statusError(500, 'InternalError', `Internal error occurred: ${message}`, {
      causes: [{ message }],
    });
  }
  const statusReplicas = readPath(obj, paths.statusReplicasPath);
  const selector =
    paths.labelSelectorPath === undefined ? undefined : readPath(obj, paths.labelSelectorPath);
  return {
    replicas,
    statusReplicas: typeof statusReplicas === 'number' ? statusReplicas : 0,
    selector: typeof selector === 'string' ? selector : '',
  };
}

/** The Scale view of a stored parent. */
export function scaleOf(info: ResourceInfo, parent: StoredObject): Record<string, unknown> {
  const meta = parent.obj.metadata ?? {};
  const { replicas, statusReplicas, selector } = scaleFields(info, parent.obj);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: meta.name,
      ...(meta.namespace !== undefined ? { namespace: meta.namespace } : {}),
      uid: meta.uid,
      resourceVersion: meta.resourceVersion,
      creationTimestamp: meta.creationTimestamp,
    },
    // `replicas` is omitempty in the Scale's spec, not in its status.
    spec: replicas === 0 ? {} : { replicas },
    status: { replicas: statusReplicas, ...(selector === '' ? {} : { selector }) },
  };
}

/** Writes the replicas a Scale asks for into its parent (the parent's update does the rest). */
function writeScale(
  ctx: ServerContext,
  r: ResourceRequest,
  scale: ScaleBody,
  parent: StoredObject,
): StoredObject {
  const { info, namespace, name } = r.route;
  const meta = scale.metadata ?? {};
  if (meta.name !== undefined && meta.name !== '' && meta.name !== name) {
    throw badRequest(
      `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
    );
  }
  const replicas = scale.spec?.replicas ?? 0;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
    throw badRequest(`Scale in version "v1" cannot be handled as a Scale: spec.replicas`);
  }
  if (replicas < 0) {
    throw invalidField(
      'autoscaling',
      'Scale',
      name!,
      'spec.replicas',
      `Invalid value: ${replicas}: must be greater than or equal to 0`,
    );
  }
  const next = JSON.parse(parent.json) as Scalable & Record<string, unknown>;
  if (info.scale === undefined) next.spec = { ...next.spec, replicas };
  else writePath(next, info.scale.specReplicasPath, replicas);
  const rv = meta.resourceVersion;
  next.metadata = {
    ...next.metadata,
    resourceVersion: typeof rv === 'string' && rv !== '' ? rv : String(parent.rv),
  };
  // A dry run answers at the parent's resourceVersion (storage keeps it, as the real server).
  return ctx.db.update(info, next as KubeObject, { namespace, name, dryRun: r.dryRun });
}

/** The stored parent; 404 in the wording of the verb (see the module comment). */
function parentOf(ctx: ServerContext, r: ResourceRequest, verb: 'get' | 'write'): StoredObject {
  const { info, namespace, name } = r.route;
  const parent = ctx.db.tryGet(info, namespace, name!);
  if (parent !== undefined) return parent;
  throw verb === 'get' && !info.custom
    ? notFound(info.group, `${info.resource}/scale`, name!)
    : notFound(info.group, info.resource, name!);
}

/** Serves GET, PUT and PATCH of `{parent}/scale`; 405 for other methods. */
export async function serveScale(
  ctx: ServerContext,
  r: ResourceRequest,
  method: string,
): Promise<void> {
  if (r.route.name === undefined) throw methodNotAllowed();
  switch (method) {
    case 'GET': {
      r.req.resume();
      ctx.stats.gets++;
      sendJson(r.res, 200, JSON.stringify(scaleOf(r.route.info, parentOf(ctx, r, 'get'))));
      return;
    }
    case 'PUT': {
      const body = (await readObject(r.req, ctx.maxBodyBytes, {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
      })) as ScaleBody;
      ctx.stats.writes++;
      const parent = parentOf(ctx, r, 'write');
      sendJson(r.res, 200, JSON.stringify(scaleOf(r.route.info, writeScale(ctx, r, body, parent))));
      return;
    }
    case 'PATCH': {
      const contentType = (r.req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const text = await readBody(r.req, ctx.maxBodyBytes);
      ctx.stats.writes++;
      const type = patchTypeOf(contentType, r.route.info);
      const patch = parseBody(text, false);
      const parent = parentOf(ctx, r, 'write');
      const base = scaleOf(r.route.info, parent);
      const patched =
        type === 'json'
          ? jsonPatch(base, patch)
          : type === 'strategic'
            ? strategicMergePatch(base, patch)
            : mergePatch(base, patch);
      if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
        throw badRequest('the patch did not produce an object');
      }
      // The Scale built from the parent carries the parent's resourceVersion, so the write is
      // conditional only when the patch sets (or replaces) one itself.
      const scale = patched as ScaleBody;
      sendJson(
        r.res,
        200,
        JSON.stringify(scaleOf(r.route.info, writeScale(ctx, r, scale, parent))),
      );
      return;
    }
    default:
      r.req.resume();
      throw methodNotAllowed();
  }
}
