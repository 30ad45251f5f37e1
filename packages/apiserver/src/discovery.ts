/**
 * Discovery: the unversioned GET endpoints a client reads before it touches a resource —
 * `/version`, the health probes, `/api`, `/apis`, `/apis/{group}` and the resource lists of
 * `/api/v1` and `/apis/{group}/{version}` (kinds, scope, verbs, short names, categories,
 * storage version hashes, subresources) — and, through `openapi.ts`, the OpenAPI v2 and v3
 * documents.
 *
 * Separate because these documents describe the {@link ResourceRegistry} rather than any object,
 * and change only when a CRD does. Aggregated discovery is not offered: clients fall back to these
 * legacy documents, as they do against older servers.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ServerContext } from './context.js';
import { serveOpenApi } from './openapi.js';
import type { ResourceInfo, ResourceRegistry } from './resources.js';
import { apiVersionOf } from './resources.js';
import { sendJson } from './response.js';
import { subresourceDoc } from './subresources.js';

/** What `/version` reports. */
const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-kubecache',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const HEALTH_PATHS: readonly string[] = ['/healthz', '/livez', '/readyz'];

function groupDoc(name: string, versions: string[]): Record<string, unknown> {
  const docs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: docs, preferredVersion: docs[0] };
}

/**
 * `storageVersionHash` as the real server computes it: the first 8 bytes of the SHA-256 of
 * `group/version/kind` of the version objects are stored as, in base64. Clients (the storage
 * version migrator, kubectl's discovery cache) compare it to notice a storage version change.
 */
export function storageVersionHash(gvk: {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}): string {
  const digest = createHash('sha256').update(`${gvk.group}/${gvk.version}/${gvk.kind}`).digest();
  return digest.subarray(0, 8).toString('base64');
}

/**
 * The `APIResourceList` entries of one resource: itself, then one per subresource (kind, group,
 * version and verbs of each as the real server lists them, `subresources.ts`), keys in the real
 * server's order.
 */
function resourceDocs(info: ResourceInfo): Record<string, unknown>[] {
  const doc: Record<string, unknown> = {
    name: info.resource,
    singularName: info.singular,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: info.verbs,
  };
  if (info.shortNames.length > 0) doc['shortNames'] = info.shortNames;
  if (info.categories !== undefined && info.categories.length > 0)
    doc['categories'] = info.categories;
  // Resources that can be listed are stored, and have a storage version (bindings have none).
  if (info.verbs.includes('list')) {
    doc['storageVersionHash'] = storageVersionHash(info.storageVersion ?? info);
  }
  const docs = [doc];
  for (const sub of info.subresources) {
    const subDoc = subresourceDoc(info, sub);
    docs.push({
      name: `${info.resource}/${sub}`,
      singularName: '',
      namespaced: info.namespaced,
      ...(subDoc.group !== undefined ? { group: subDoc.group, version: subDoc.version } : {}),
      kind: subDoc.kind,
      verbs: subDoc.verbs,
    });
  }
  return docs;
}

/** The group/version a path names (`/api/v1`, `/apis/g/v`), if it names exactly one. */
function groupVersionOf(parts: readonly string[]): { group: string; version: string } | undefined {
  if (parts[0] === 'api' && parts.length === 2) return { group: '', version: parts[1]! };
  if (parts[0] === 'apis' && parts.length === 3) return { group: parts[1]!, version: parts[2]! };
  return undefined;
}

/** `/apis` (every group) or `/apis/{group}`; false for an unknown group. */
function serveGroups(res: ServerResponse, registry: ResourceRegistry, group?: string): boolean {
  if (group === undefined) {
    const groups = [...registry.groups()].map(([name, versions]) => groupDoc(name, versions));
    sendJson(res, 200, JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups }));
    return true;
  }
  const versions = registry.groups().get(group);
  if (versions === undefined) return false;
  sendJson(
    res,
    200,
    JSON.stringify({ kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group, versions) }),
  );
  return true;
}

/** The `APIResourceList` of one group/version; false when it serves nothing. */
function serveResourceList(
  res: ServerResponse,
  registry: ResourceRegistry,
  gv: { group: string; version: string },
): boolean {
  const infos = registry.forGroupVersion(gv.group, gv.version);
  if (infos.length === 0) return false;
  // Built-ins sorted by name (subresources after their resource); a CRD's resource, then its
  // status and scale: as the real server lists them.
  const custom = infos.filter((i) => i.custom).flatMap(resourceDocs);
  const builtins = infos
    .filter((i) => !i.custom)
    .flatMap(resourceDocs)
    .sort((a, b) => (String(a['name']) < String(b['name']) ? -1 : 1));
  const resources = [...builtins, ...custom];
  sendJson(
    res,
    200,
    JSON.stringify({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: apiVersionOf(gv),
      resources,
    }),
  );
  return true;
}

/**
 * Answers a GET of a discovery path and returns true; false when `path` is not one (then it is a
 * resource path, or unknown).
 */
export function serveDiscovery(
  ctx: ServerContext,
  res: ServerResponse,
  path: string,
  parts: readonly string[],
): boolean {
  if (path === '/version' || path === '/version/') {
    sendJson(res, 200, JSON.stringify(SERVER_VERSION));
    return true;
  }
  if (HEALTH_PATHS.includes(path)) {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
    return true;
  }
  if (path === '/openapi/v2' || path === '/openapi/v3' || path.startsWith('/openapi/v3/')) {
    return serveOpenApi(ctx, res, path, res.req.headers.accept);
  }
  if (path === '/api') {
    const cidrs = [{ clientCIDR: '0.0.0.0/0', serverAddress: ctx.serverAddress }];
    sendJson(
      res,
      200,
      JSON.stringify({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: cidrs }),
    );
    return true;
  }
  if (path === '/apis') return serveGroups(res, ctx.registry);
  if (parts[0] === 'apis' && parts.length === 2) return serveGroups(res, ctx.registry, parts[1]!);
  const gv = groupVersionOf(parts);
  return gv !== undefined && serveResourceList(res, ctx.registry, gv);
}
