/**
 * The `scale` subresource of apps/v1 Deployments, ReplicaSets and StatefulSets: an
 * `autoscaling/v1` `Scale` view of the parent, as `kubectl scale` and autoscalers use it.
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
 *   parent's resource (`deployments.apps`), as v1.23 words them.
 */
import { labelSelectorFromObject } from '@kubecache/cache';
import type { KubeObject, LabelSelectorObject } from '@kubecache/cache';
import { parseBody, readBody, readJson } from './body.js';
import type { ServerContext } from './context.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { patchTypeOf } from './patching.js';
import { sendJson } from './response.js';
import type { ResourceRequest } from './routing.js';
import { badRequest, methodNotAllowed, notFound } from './status.js';
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

/** The Scale view of a stored parent. */
export function scaleOf(parent: StoredObject): Record<string, unknown> {
  const obj = parent.obj as Scalable;
  const meta = obj.metadata ?? {};
  const replicas = obj.spec?.replicas ?? 0;
  const selector = selectorText(obj.spec?.selector);
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
    status: { replicas: obj.status?.replicas ?? 0, ...(selector === '' ? {} : { selector }) },
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
  const next = JSON.parse(parent.json) as Scalable;
  next.spec = { ...next.spec, replicas };
  const rv = meta.resourceVersion;
  next.metadata = {
    ...next.metadata,
    resourceVersion: typeof rv === 'string' && rv !== '' ? rv : String(parent.rv),
  };
  return ctx.db.update(info, next as KubeObject, { namespace, name, dryRun: r.dryRun });
}

/** The stored parent; 404 in the wording of the verb (see the module comment). */
function parentOf(ctx: ServerContext, r: ResourceRequest, verb: 'get' | 'write'): StoredObject {
  const { info, namespace, name } = r.route;
  const parent = ctx.db.tryGet(info, namespace, name!);
  if (parent !== undefined) return parent;
  throw verb === 'get'
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
      sendJson(r.res, 200, JSON.stringify(scaleOf(parentOf(ctx, r, 'get'))));
      return;
    }
    case 'PUT': {
      const body = (await readJson(r.req, ctx.maxBodyBytes)) as ScaleBody;
      ctx.stats.writes++;
      const parent = parentOf(ctx, r, 'write');
      sendJson(r.res, 200, JSON.stringify(scaleOf(writeScale(ctx, r, body, parent))));
      return;
    }
    case 'PATCH': {
      const contentType = (r.req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const text = await readBody(r.req, ctx.maxBodyBytes);
      ctx.stats.writes++;
      const type = patchTypeOf(contentType, r.route.info);
      const patch = parseBody(text, false);
      const parent = parentOf(ctx, r, 'write');
      const base = scaleOf(parent);
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
      sendJson(r.res, 200, JSON.stringify(scaleOf(writeScale(ctx, r, scale, parent))));
      return;
    }
    default:
      r.req.resume();
      throw methodNotAllowed();
  }
}
