/**
 * The OpenAPI documents: `/openapi/v2` (Swagger 2.0, JSON) and `/openapi/v3` (the index, and one
 * document per group/version), with the real schemas of the modelled kinds, for `kubectl explain`
 * and for kubectl's validation.
 *
 * The schemas are the real server's (`openapi-definitions.ts`, cut from a v1.23 `/openapi/v2` by
 * `scripts/openapi-definitions.ts`): descriptions, formats, required fields and `x-kubernetes-*`
 * extensions as kubectl knows them. A custom resource gets its CRD's `openAPIV3Schema` (with
 * `apiVersion`, `kind` and `metadata` added, as the real server does), or a schema that keeps any
 * field when the CRD has none. Each document carries the schemas of its kinds and everything they
 * reference; v3 references are `#/components/schemas/…`.
 *
 * Paths: one PATCH operation per resource, tagged with the kind and accepting `fieldValidation`,
 * which is what kubectl looks for to leave validation to the server (kubectl 1.32 asks
 * `/openapi/v3` first and falls back to v2 when it is missing). The other operations are not
 * described.
 *
 * kubectl asks `/openapi/v2` for protobuf only (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`);
 * there is no protobuf encoding here, so such a request is 406 NotAcceptable. kubectl reads v3
 * first, so this only matters for `kubectl explain --output plaintext-openapiv2`.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ServerContext } from './context.js';
import { OPENAPI_DEFINITIONS, OPENAPI_SOURCE_VERSION } from './openapi-definitions.js';
import type { ResourceInfo } from './resources.js';
import { sendJson, sendStatus } from './response.js';
import { statusError } from './status.js';

type Schema = Readonly<Record<string, unknown>>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const OBJECT_META_REF = `#/definitions/${META}.ObjectMeta`;

/** Definitions by group/version/kind (`apps/v1/Deployment`; core kinds `/v1/Pod`). */
const BY_GVK: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const [name, def] of Object.entries(OPENAPI_DEFINITIONS)) {
    const gvks = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks) || gvks.length !== 1) continue;
    const gvk = gvks[0] as { group: string; version: string; kind: string };
    map.set(`${gvk.group}/${gvk.version}/${gvk.kind}`, name);
  }
  return map;
})();

/** The kinds the subresources of a resource read and write, by subresource. */
const SUBRESOURCE_KINDS: Readonly<Record<string, string>> = {
  scale: 'io.k8s.api.autoscaling.v1.Scale',
  eviction: 'io.k8s.api.policy.v1.Eviction',
  token: 'io.k8s.api.authentication.v1.TokenRequest',
  binding: 'io.k8s.api.core.v1.Binding',
};

/** The reversed-domain prefix the real server names custom resource schemas with. */
function customSchemaName(info: ResourceInfo): string {
  return `${info.group.split('.').reverse().join('.')}.${info.version}.${info.kind}`;
}

/** A CRD's schema for one version, or undefined when it has none. */
function crdSchema(ctx: ServerContext, info: ResourceInfo): Schema | undefined {
  const crdInfo = ctx.registry.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
  if (crdInfo === undefined) return undefined;
  const crd = ctx.db.tryGet(crdInfo, undefined, `${info.resource}.${info.group}`);
  const versions = (
    crd?.obj as
      | { spec?: { versions?: { name?: string; schema?: { openAPIV3Schema?: Schema } }[] } }
      | undefined
  )?.spec?.versions;
  return versions?.find((v) => v.name === info.version)?.schema?.openAPIV3Schema;
}

/** The definitions a set of resources needs: their kinds, lists, subresource kinds and refs. */
function definitionsFor(
  ctx: ServerContext,
  infos: readonly ResourceInfo[],
): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const add = (name: string): void => {
    if (Object.hasOwn(out, name)) return;
    const def = OPENAPI_DEFINITIONS[name];
    if (def === undefined) return;
    out[name] = def;
    JSON.stringify(def, (key, value: unknown) => {
      if (key === '$ref' && typeof value === 'string') add(value.replace('#/definitions/', ''));
      return value;
    });
  };
  add(`${META}.Status`);
  add(`${META}.DeleteOptions`);
  for (const info of infos) {
    for (const sub of info.subresources) {
      const kind = SUBRESOURCE_KINDS[sub];
      if (kind !== undefined) add(kind);
    }
    if (!info.custom) {
      for (const kind of [info.kind, info.listKind]) {
        const name = BY_GVK.get(`${info.group}/${info.version}/${kind}`);
        if (name !== undefined) add(name);
      }
      continue;
    }
    add(`${META}.ObjectMeta`);
    const gvk = [{ group: info.group, version: info.version, kind: info.kind }];
    const own = crdSchema(ctx, info);
    const properties = (own?.['properties'] ?? {}) as Record<string, unknown>;
    out[customSchemaName(info)] = {
      ...(own ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
      type: 'object',
      properties: {
        ...properties,
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { $ref: OBJECT_META_REF },
      },
      'x-kubernetes-group-version-kind': gvk,
    };
  }
  return out;
}

/** The PATCH operation of each resource, with the `fieldValidation` parameter kubectl looks for. */
function pathsFor(infos: readonly ResourceInfo[], v3: boolean): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const info of infos) {
    const gvk = { group: info.group, version: info.version, kind: info.kind };
    const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
    const ns = info.namespaced ? '/namespaces/{namespace}' : '';
    const param = v3
      ? { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }
      : { name: 'fieldValidation', in: 'query', type: 'string', uniqueItems: true };
    paths[`${base}${ns}/${info.resource}/{name}`] = {
      patch: {
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [param],
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return paths;
}

/** The resources of each group/version, keyed as OpenAPI v3 paths name them (`api/v1`, `apis/g/v`). */
function groupVersions(ctx: ServerContext): Map<string, ResourceInfo[]> {
  const gvs = new Map<string, ResourceInfo[]>();
  for (const info of ctx.registry.all()) {
    const key = info.group === '' ? `api/${info.version}` : `apis/${info.group}/${info.version}`;
    const list = gvs.get(key) ?? [];
    list.push(info);
    gvs.set(key, list);
  }
  return gvs;
}

/** Whether an Accept header takes JSON (an absent header does). */
function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept
    .split(',')
    .map((t) => t.split(';')[0]!.trim().toLowerCase())
    .some((t) => t === 'application/json' || t === '*/*' || t === 'application/*');
}

/** Serves `/openapi/v2`: JSON, or 406 to a client that takes only protobuf. */
function serveV2(ctx: ServerContext, res: ServerResponse, accept: string | undefined): void {
  if (!acceptsJson(accept)) {
    sendStatus(
      res,
      statusError(
        406,
        'NotAcceptable',
        'only the following media types are accepted: application/json',
      ),
    );
    return;
  }
  const infos = ctx.registry.all();
  const doc = {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: OPENAPI_SOURCE_VERSION },
    paths: pathsFor(infos, false),
    definitions: definitionsFor(ctx, infos),
  };
  sendJson(res, 200, JSON.stringify(doc));
}

/**
 * Serves `/openapi/v2`, `/openapi/v3` (the index, each group version's URL hashed by its
 * document's content) or `/openapi/v3/{gv}`; false when the path names nothing served.
 */
export function serveOpenApi(
  ctx: ServerContext,
  res: ServerResponse,
  path: string,
  accept: string | undefined,
): boolean {
  if (path === '/openapi/v2') {
    serveV2(ctx, res, accept);
    return true;
  }
  const gvs = groupVersions(ctx);
  if (path === '/openapi/v3') {
    // Each group version's URL carries the hash of its document (as the real server's, an
    // uppercase hex SHA-512), so clients refetch exactly when its schemas change (a CRD's).
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const [key, infos] of gvs) {
      const hash = createHash('sha512').update(v3Document(ctx, infos)).digest('hex').toUpperCase();
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
    sendJson(res, 200, JSON.stringify({ paths }));
    return true;
  }
  const infos = gvs.get(path.slice('/openapi/v3/'.length));
  if (infos === undefined) return false;
  sendJson(res, 200, v3Document(ctx, infos));
  return true;
}

/** The OpenAPI v3 document of one group version's resources, as JSON text. */
function v3Document(ctx: ServerContext, infos: readonly ResourceInfo[]): string {
  const doc = {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: OPENAPI_SOURCE_VERSION },
    paths: pathsFor(infos, true),
    components: { schemas: definitionsFor(ctx, infos) },
  };
  return JSON.stringify(doc).replaceAll('"#/definitions/', '"#/components/schemas/');
}
