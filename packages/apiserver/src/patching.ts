/**
 * Patching a stored object: which patch a PATCH request's content type names, applying a patch to
 * the stored object (the resourceVersion precondition rule included), and server-side apply.
 *
 * Separate from the patch algorithms (`patch.ts`, pure functions over JSON values) because this is
 * the server's side of it, shared by PATCH requests and the in-process `server.patch` helper: a
 * patch is conditional only when it sets `metadata.resourceVersion` itself, and it may not rename
 * the object.
 */
import type { ApiStatusError, KubeObject } from '@kubecache/cache';
import { prepareCreate } from './crd.js';
import { applyConfiguration } from './managed-fields.js';
import type { FieldManagerWrite } from './managed-fields.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { apiVersionOf } from './resources.js';
import type { ResourceInfo } from './resources.js';
import { rootShape, UNTYPED } from './schema.js';
import { badRequest, statusError } from './status.js';
import type { Storage, StoredObject } from './storage.js';

/** The patch kinds besides server-side apply. */
export type PatchType = 'merge' | 'json' | 'strategic';

/** The content type of a server-side apply request. */
export const APPLY_PATCH_CONTENT_TYPE = 'application/apply-patch+yaml';

const PATCH_TYPES: Readonly<Record<string, PatchType>> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
};

/** The patch a content type names; 415 for an unknown one, or a strategic patch of a custom resource. */
export function patchTypeOf(contentType: string, info: ResourceInfo): PatchType {
  const type = Object.hasOwn(PATCH_TYPES, contentType) ? PATCH_TYPES[contentType] : undefined;
  if (type === undefined) {
    throw statusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
    );
  }
  if (type === 'strategic' && info.custom) {
    throw statusError(
      415,
      'UnsupportedMediaType',
      'strategic merge patch is not supported for custom resources',
    );
  }
  return type;
}

function nameMismatch(bodyName: unknown, name: string): ApiStatusError {
  return badRequest(
    `the name of the object (${String(bodyName)}) does not match the name on the URL (${name})`,
  );
}

/** Patches the stored object `name` and writes the result (404 when missing, 409 on a stale RV). */
export function patchStored(
  db: Storage,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
  patch: unknown,
  type: PatchType,
  subresource: 'status' | undefined,
  dryRun = false,
  fieldManager?: FieldManagerWrite,
): StoredObject {
  const current = db.get(info, namespace, name);
  // Stored objects are immutable and the patch functions never mutate their input (merge and
  // strategic patches copy along the changed paths; the JSON patch library clones), so the
  // stored object is patched directly instead of a fresh parse of its JSON.
  const base: unknown = current.obj;
  const patched =
    type === 'json'
      ? jsonPatch(base, patch)
      : type === 'strategic'
        ? strategicMergePatch(
            base,
            patch,
            info.custom ? UNTYPED : rootShape(apiVersionOf(info), info.kind),
          )
        : mergePatch(base, patch);
  if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
    throw badRequest('the patch did not produce an object');
  }
  const obj = patched as KubeObject & { metadata?: { resourceVersion?: string; name?: string } };
  // A patch is conditional only when it sets metadata.resourceVersion itself.
  const patchRv =
    typeof patch === 'object' && patch !== null && !Array.isArray(patch)
      ? ((patch as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion ??
        undefined)
      : undefined;
  obj.metadata = {
    ...obj.metadata,
    resourceVersion: typeof patchRv === 'string' ? patchRv : String(current.rv),
  };
  if (obj.metadata.name !== name) throw nameMismatch(obj.metadata.name, name);
  return db.update(info, obj, { namespace, name, subresource, dryRun, fieldManager });
}

/**
 * Server-side apply: creates the object from the configuration when missing (201), else merges
 * the configuration into it and removes the fields the manager stopped applying (200); the
 * storage then records the managed fields and refuses conflicts (`managed-fields.ts`).
 */
export function serverSideApply(
  db: Storage,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
  applied: KubeObject,
  subresource: 'status' | undefined,
  dryRun: boolean,
  manager: string,
  force: boolean,
): { readonly code: number; readonly result: StoredObject } {
  const meta = (applied.metadata ?? {}) as { name?: unknown };
  if (meta.name !== undefined && meta.name !== name) throw nameMismatch(meta.name, name);
  const existing = db.tryGet(info, namespace, name);
  const { merged, config } = applyConfiguration(info, existing?.obj, applied, manager, subresource);
  const fieldManager = { manager, subresource, apply: { config, force } };
  if (existing !== undefined) {
    const obj = merged as KubeObject & { metadata?: { resourceVersion?: string } };
    // Conditional only when the configuration sets a resourceVersion itself.
    const rv = (applied.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
    obj.metadata = {
      ...obj.metadata,
      resourceVersion: typeof rv === 'string' ? rv : String(existing.rv),
    };
    const result = db.update(info, obj, { namespace, name, subresource, dryRun, fieldManager });
    return { code: 200, result };
  }
  merged.metadata = { ...merged.metadata, name };
  prepareCreate(info, merged);
  return { code: 201, result: db.create(info, merged, { namespace, dryRun, fieldManager }) };
}
