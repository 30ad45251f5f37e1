/**
 * The object verbs: get, create (POST), update (PUT, also of `/status`), patch (PATCH, every patch
 * type and server-side apply), delete and deletecollection.
 *
 * Each handler reads the body, counts the request, makes one synchronous storage call and answers
 * with the stored object; the storage does the rest (validation, resourceVersion and generation,
 * finalizers, no-op writes, history and watch fan-out), so these stay thin. What is left here is
 * the HTTP side the storage knows nothing of: which paths take which verb (405 otherwise), the
 * namespace a create needs to exist, patch content types, delete options in the body, and what a
 * delete returns (a `Status`, or the object).
 */
import type { Status } from '@kubecache/cache';
import { readBody, readDeleteBody, readObject, parseBody } from './body.js';
import type { ServerContext } from './context.js';
import { prepareCreate } from './crd.js';
import { deleteOptions } from './deletion.js';
import type { DeleteOptions } from './deletion.js';
import { itemJson, objectBody } from './encoding.js';
import { validateFields } from './field-validation.js';
import { clientGone } from './freshness.js';
import { checkWriteOptions, managerOf } from './managed-fields.js';
import { boolParam } from './query.js';
import { APPLY_PATCH_CONTENT_TYPE, patchStored, patchTypeOf, serverSideApply } from './patching.js';
import { checkPatchContentType } from './media.js';
import type { ExpectedKind } from './protobuf.js';
import { apiVersionOf } from './resources.js';
import type { ResourceInfo } from './resources.js';
import { sendJson } from './response.js';
import type { ResourceRequest } from './routing.js';
import { fieldMatcher, labelMatcher } from './selectors.js';
import { methodNotAllowed, notFound } from './status.js';
import type { StoredObject } from './storage.js';
import { includeObjectParam, objectTableJson } from './table.js';

/** The kind a body sent to this path should be (protobuf bodies may leave it out). */
function expectedKind(r: ResourceRequest): ExpectedKind {
  if (r.route.subresource === 'scale') return { apiVersion: 'autoscaling/v1', kind: 'Scale' };
  return { apiVersion: apiVersionOf(r.route.info), kind: r.route.info.kind };
}

/** Sends one object in the representation asked for (writes never answer with a Table). */
function sendObject(r: ResourceRequest, code: number, obj: StoredObject): void {
  sendJson(r.res, code, objectBody(obj, r.route.info, r.representation));
}

/** The `status` subresource a write targets, if any. */
function statusSubresource(r: ResourceRequest): 'status' | undefined {
  return r.route.subresource === 'status' ? 'status' : undefined;
}

/** The field manager of a write: `fieldManager`, else from the User-Agent. */
function requestManager(r: ResourceRequest): string {
  return managerOf(r.query.get('fieldManager'), r.req.headers['user-agent']);
}

/** GET of one object. */
export async function serveGet(ctx: ServerContext, r: ResourceRequest): Promise<void> {
  ctx.stats.gets++;
  const { info, namespace, name } = r.route;
  // A GET at a resourceVersion the server has not reached waits for it (then 504), as the real
  // server's watch cache does; an empty RV or `0` reads the latest state.
  const rv = r.query.get('resourceVersion') ?? '';
  if (/^\d+$/.test(rv) && Number(rv) > ctx.db.resourceVersion)
    await ctx.freshness.reach(Number(rv), clientGone(r.res));
  const obj = ctx.db.get(info, namespace, name!);
  if (r.table) sendJson(r.res, 200, objectTableJson(obj, info, includeObjectParam(r.query)));
  else sendObject(r, 200, obj);
}

/** 404 when a namespaced create names a namespace that does not exist (with strict namespaces). */
function checkNamespaceExists(ctx: ServerContext, info: ResourceInfo, namespace?: string): void {
  if (!info.namespaced || !ctx.strictNamespaces || namespace === undefined) return;
  const nsInfo = ctx.registry.get('', 'v1', 'namespaces')!;
  if (ctx.db.tryGet(nsInfo, undefined, namespace) === undefined)
    throw notFound('', 'namespaces', namespace);
}

/** POST to a collection: creates the object in the body (201). */
export async function serveCreate(ctx: ServerContext, r: ResourceRequest): Promise<void> {
  const { info, namespace, name } = r.route;
  if (name !== undefined) throw methodNotAllowed();
  const body = await readObject(r.req, ctx.maxBodyBytes, expectedKind(r));
  ctx.stats.writes++;
  checkNamespaceExists(ctx, info, namespace);
  if (info.namespaced && namespace === undefined) throw methodNotAllowed();
  checkWriteOptions(r.query, 'CreateOptions', false);
  validateFields(ctx, info, r.query, r.res, body);
  prepareCreate(info, body);
  const fieldManager = { manager: requestManager(r) };
  const created = ctx.db.create(info, body, { namespace, dryRun: r.dryRun, fieldManager });
  sendObject(r, 201, created);
}

/** PUT of an object (or of its status): replaces it with the body. */
export async function serveUpdate(ctx: ServerContext, r: ResourceRequest): Promise<void> {
  const { info, namespace, name } = r.route;
  if (name === undefined) throw methodNotAllowed();
  const body = await readObject(r.req, ctx.maxBodyBytes, expectedKind(r));
  ctx.stats.writes++;
  checkWriteOptions(r.query, 'UpdateOptions', false);
  validateFields(ctx, info, r.query, r.res, body);
  const subresource = statusSubresource(r);
  const updated = ctx.db.update(info, body, {
    namespace,
    name,
    subresource,
    dryRun: r.dryRun,
    fieldManager: { manager: requestManager(r), subresource },
  });
  sendObject(r, 200, updated);
}

/** PATCH of an object (or of its status), by the patch type its content type names. */
export async function servePatch(ctx: ServerContext, r: ResourceRequest): Promise<void> {
  const { info, namespace, name } = r.route;
  if (name === undefined) throw methodNotAllowed();
  const contentType = (r.req.headers['content-type'] ?? '').split(';')[0]!.trim();
  const text = await readBody(r.req, ctx.maxBodyBytes);
  checkPatchContentType(r.req, info);
  ctx.stats.writes++;
  const sub = statusSubresource(r);
  const manager = requestManager(r);
  if (contentType === APPLY_PATCH_CONTENT_TYPE) {
    checkWriteOptions(r.query, 'PatchOptions', true);
    const applied = parseBody(text, true);
    const force = boolParam(r.query, 'force');
    const { code, result } = serverSideApply(
      ctx.db,
      info,
      namespace,
      name,
      applied,
      sub,
      r.dryRun,
      manager,
      force,
    );
    sendObject(r, code, result);
    return;
  }
  const type = patchTypeOf(contentType, info);
  checkWriteOptions(r.query, 'PatchOptions', false);
  const patch = parseBody(text, false);
  if (type !== 'json') validateFields(ctx, info, r.query, r.res, patch, true);
  const result = patchStored(ctx.db, info, namespace, name, patch, type, sub, r.dryRun, {
    manager,
    subresource: sub,
  });
  sendObject(r, 200, result);
}

/**
 * DELETE of an object, or of a collection. An object kept by finalizers comes back as the object
 * (so do pods and custom resources, as on the real server); others as a `Success` Status.
 */
export async function serveDelete(ctx: ServerContext, r: ResourceRequest): Promise<void> {
  const text = await readDeleteBody(r.req, ctx.maxBodyBytes);
  ctx.stats.writes++;
  const { info, namespace, name } = r.route;
  const options = deleteOptions(text, r.query, r.dryRun);
  if (name === undefined) {
    deleteCollection(ctx, r, options);
    return;
  }
  const { object, deleted } = ctx.db.delete(info, namespace, name, options);
  if (!deleted || info.resource === 'pods' || info.custom) {
    sendObject(r, 200, object);
    return;
  }
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    // The real server omits an empty group.
    details: {
      name,
      ...(info.group === '' ? {} : { group: info.group }),
      kind: info.resource,
      uid: object.obj.metadata?.uid,
    },
  };
  sendJson(r.res, 200, JSON.stringify(status));
}

/** DELETE of a collection: deletes every object matching the selectors, answers with them. */
function deleteCollection(ctx: ServerContext, r: ResourceRequest, options: DeleteOptions): void {
  const info = r.route.info;
  if (!info.verbs.includes('deletecollection')) throw methodNotAllowed();
  const found = ctx.db.list(info, {
    namespace: r.route.namespace,
    label: labelMatcher(r.query.get('labelSelector')),
    field: fieldMatcher(r.query.get('fieldSelector'), info),
  });
  const items: string[] = [];
  for (const item of found.items) {
    const namespace = item.namespace === '' ? undefined : item.namespace;
    const { object } = ctx.db.delete(info, namespace, item.name, options);
    items.push(itemJson(object, info, 'full'));
  }
  sendJson(
    r.res,
    200,
    `{"kind":"${info.listKind}","apiVersion":"${apiVersionOf(info)}","metadata":{"resourceVersion":"${ctx.db.resourceVersion}"},"items":[${items.join(',')}]}`,
  );
}
