/**
 * A minimal OpenAPI v3 surface (`/openapi/v3` and one document per group/version), so that
 * kubectl's validation (and apply) runs the way users run it: every kind gets a permissive schema
 * tagged with its group/version/kind.
 *
 * Separate from discovery because it exists for one client behaviour: kubectl looks for a PATCH
 * operation of the kind that accepts `fieldValidation`; finding it, it leaves validation to the
 * server (which accepts any fields: there are no schemas).
 */
import type { ServerResponse } from 'node:http';
import type { ResourceInfo, ResourceRegistry } from './resources.js';
import { sendJson } from './response.js';

/** The resources of each group/version, keyed as OpenAPI paths name them (`api/v1`, `apis/g/v`). */
function groupVersions(registry: ResourceRegistry): Map<string, ResourceInfo[]> {
  const gvs = new Map<string, ResourceInfo[]>();
  for (const info of registry.all()) {
    const key = info.group === '' ? `api/${info.version}` : `apis/${info.group}/${info.version}`;
    const list = gvs.get(key) ?? [];
    list.push(info);
    gvs.set(key, list);
  }
  return gvs;
}

/** The OpenAPI document of one group/version: a PATCH path and a schema per kind. */
function groupVersionDocument(infos: readonly ResourceInfo[], title: string): unknown {
  const schemas: Record<string, unknown> = {};
  const paths: Record<string, unknown> = {};
  for (const info of infos) {
    const gvk = { group: info.group, version: info.version, kind: info.kind };
    const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
    const ns = info.namespaced ? '/namespaces/{namespace}' : '';
    paths[`${base}${ns}/${info.resource}/{name}`] = {
      patch: {
        'x-kubernetes-group-version-kind': gvk,
        parameters: [
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
        ],
        responses: { '200': { description: 'OK' } },
      },
    };
    const prefix = info.group === '' ? 'io.k8s.api.core' : info.group;
    schemas[`${prefix}.${info.version}.${info.kind}`] = {
      type: 'object',
      'x-kubernetes-group-version-kind': [gvk],
      'x-kubernetes-preserve-unknown-fields': true,
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: title },
    paths,
    components: { schemas },
  };
}

/**
 * Serves `/openapi/v3` (the index, hashed by the current resourceVersion so clients refetch after
 * a CRD change) or `/openapi/v3/{gv}`; false when the group/version is unknown.
 */
export function serveOpenApi(
  res: ServerResponse,
  path: string,
  registry: ResourceRegistry,
  resourceVersion: number,
  serverVersion: string,
): boolean {
  const gvs = groupVersions(registry);
  if (path === '/openapi/v3') {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const key of gvs.keys())
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${resourceVersion}` };
    sendJson(res, 200, JSON.stringify({ paths }));
    return true;
  }
  const infos = gvs.get(path.slice('/openapi/v3/'.length));
  if (infos === undefined) return false;
  sendJson(res, 200, JSON.stringify(groupVersionDocument(infos, serverVersion)));
  return true;
}
