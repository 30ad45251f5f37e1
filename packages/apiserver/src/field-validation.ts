/**
 * Server-side field validation (`?fieldValidation=Strict|Warn|Ignore`): fields of a request body
 * that the kind's schema does not know. kubectl 1.32 finds `fieldValidation` in the OpenAPI
 * documents and sends `fieldValidation=Strict` instead of validating itself, so this is what
 * `kubectl apply --validate=true` (the default) checks against.
 *
 * As on a real server (v1.27 and later): `Strict` rejects a create or update with an unknown field
 * with 400 BadRequest `<Kind> in version "<v>" cannot be handled as a <Kind>: strict decoding
 * error: unknown field "spec.foo", unknown field "…"`; `Warn` (the default when the parameter is
 * absent) accepts it and sends one `Warning: 299 - "unknown field \"spec.foo\""` header per field;
 * `Ignore` accepts it silently. Any other value is 400.
 *
 * The schemas are those of `/openapi/v2` (`openapi-definitions.ts`); for a custom resource, its
 * CRD's `openAPIV3Schema` (no schema, or `x-kubernetes-preserve-unknown-fields`, accepts
 * anything). Patches are checked on the patch body for merge and strategic patches (strategic
 * `$` directives aside); JSON patches and server-side apply are not checked.
 */
import type { ServerResponse } from 'node:http';
import type { ServerContext } from './context.js';
import { OPENAPI_DEFINITIONS } from './openapi-definitions.js';
import type { ResourceInfo } from './resources.js';
import { badRequest } from './status.js';

type Schema = Readonly<Record<string, unknown>>;

/** What the query asks for; 400 for an unknown value. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation');
  if (value === null || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw badRequest(
    `fieldValidation must be one of "Ignore", "Warn", or "Strict", got ${JSON.stringify(value)}`,
  );
}

const BY_GVK: ReadonlyMap<string, Schema> = (() => {
  const map = new Map<string, Schema>();
  for (const def of Object.values(OPENAPI_DEFINITIONS)) {
    const gvks = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks) || gvks.length !== 1) continue;
    const gvk = gvks[0] as { group: string; version: string; kind: string };
    map.set(`${gvk.group}/${gvk.version}/${gvk.kind}`, def);
  }
  return map;
})();

const OBJECT_META = OPENAPI_DEFINITIONS['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'];

function resolve(schema: Schema): Schema {
  let s = schema;
  for (let i = 0; i < 8; i++) {
    const ref = s['$ref'];
    if (typeof ref === 'string') {
      s = OPENAPI_DEFINITIONS[ref.replace('#/definitions/', '')] ?? {};
      continue;
    }
    const allOf = s['allOf'];
    if (Array.isArray(allOf) && allOf.length === 1) {
      s = allOf[0] as Schema;
      continue;
    }
    return s;
  }
  return s;
}

/** Collects the paths of fields `value` has that `schema` does not declare. */
function collect(
  value: unknown,
  schema: Schema,
  path: string,
  out: string[],
  patch: boolean,
): void {
  const s = resolve(schema);
  if (s['x-kubernetes-preserve-unknown-fields'] === true) return;
  if (Array.isArray(value)) {
    const items = s['items'];
    if (items !== null && typeof items === 'object' && !Array.isArray(items)) {
      value.forEach((v, i) => collect(v, items as Schema, `${path}[${i}]`, out, patch));
    }
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const properties = s['properties'] as Record<string, Schema> | undefined;
  const additional = s['additionalProperties'];
  for (const [key, v] of Object.entries(value)) {
    // Strategic merge directives are not fields, and a patch deleting a field (null) leaves no
    // unknown field in the patched object, which is what the real server decodes strictly.
    if (patch && (key.startsWith('$') || v === null)) continue;
    const field = path === '' ? key : `${path}.${key}`;
    const declared = properties?.[key];
    if (declared !== undefined) collect(v, declared, field, out, patch);
    else if (additional !== null && typeof additional === 'object')
      collect(v, additional as Schema, field, out, patch);
    else if (additional !== true && properties !== undefined) out.push(field);
  }
}

/** The schema of a kind: the real one for built-ins, the CRD's for custom resources. */
function schemaOf(ctx: ServerContext, info: ResourceInfo): Schema | undefined {
  if (!info.custom) return BY_GVK.get(`${info.group}/${info.version}/${info.kind}`);
  const crdInfo = ctx.registry.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
  if (crdInfo === undefined) return undefined;
  const crd = ctx.db.tryGet(crdInfo, undefined, `${info.resource}.${info.group}`);
  const versions = (
    crd?.obj as
      | { spec?: { versions?: { name?: string; schema?: { openAPIV3Schema?: Schema } }[] } }
      | undefined
  )?.spec?.versions;
  const own = versions?.find((v) => v.name === info.version)?.schema?.openAPIV3Schema;
  if (own === undefined || OBJECT_META === undefined) return undefined;
  const properties = (own['properties'] ?? {}) as Record<string, Schema>;
  return {
    ...own,
    properties: {
      ...properties,
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: OBJECT_META,
    },
  };
}

/**
 * Checks a body (an object to create or replace, or a merge or strategic patch) against the kind's
 * schema as `fieldValidation` asks: throws the 400 for `Strict`, adds `Warning` headers for
 * `Warn`.
 */
export function validateFields(
  ctx: ServerContext,
  info: ResourceInfo,
  query: URLSearchParams,
  res: ServerResponse,
  body: unknown,
  patch = false,
): void {
  const mode = fieldValidationOf(query);
  if (mode === 'Ignore') return;
  const schema = schemaOf(ctx, info);
  if (schema === undefined) return;
  const unknown: string[] = [];
  collect(body, schema, '', unknown, patch);
  if (unknown.length === 0) return;
  const messages = unknown.map((f) => `unknown field "${f}"`);
  if (mode === 'Strict') {
    const reason = `strict decoding error: ${messages.join(', ')}`;
    throw badRequest(
      patch
        ? reason
        : `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${reason}`,
    );
  }
  const previous = res.getHeader('Warning');
  const warnings = messages.map((m) => `299 - ${JSON.stringify(m)}`);
  res.setHeader('Warning', [
    ...(Array.isArray(previous) ? previous : previous === undefined ? [] : [String(previous)]),
    ...warnings,
  ]);
}
