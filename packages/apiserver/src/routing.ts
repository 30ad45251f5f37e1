/**
 * Routing: from a URL to what it names, and from the method to the handler that serves it.
 *
 * A path is either a discovery document (`discovery.ts`) or a resource path —
 * `/api/{v}` or `/apis/{g}/{v}`, then an optional legacy `watch/`, `namespaces/{ns}/`, the
 * resource, a name and a subresource — resolved against the {@link ResourceRegistry} into a
 * {@link Route}. The method then picks the handler: GET is a WATCH (`watch-request.ts`), a LIST
 * (`list.ts`) or a get; POST, PUT, PATCH and DELETE are the object handlers (`crud.ts`).
 * Subresources other than `status` (and the create-only `bindings`) go to `subresources.ts` first.
 * This is the one file to read to find where a request is handled.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiStatusError } from '@kubecache/cache';
import type { ServerContext } from './context.js';
import { serveCreate, serveDelete, serveGet, servePatch, serveUpdate } from './crud.js';
import { serveDiscovery } from './discovery.js';
import { serveList } from './list.js';
import { negotiateOutput } from './media.js';
import type { OutputMedia } from './media.js';
import { parseListQuery } from './query.js';
import type { ResourceInfo, ResourceRegistry } from './resources.js';
import { badRequest, methodNotAllowed, statusError } from './status.js';
import { serveSubresource } from './subresources.js';
import type { Representation } from './watch.js';
import { serveWatch } from './watch-request.js';

/** What a resource path names. */
export interface Route {
  readonly info: ResourceInfo;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
  readonly watch: boolean;
}

/** A request for a resource, with what its URL and headers ask for. */
export interface ResourceRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The normalized path (no trailing slash). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly route: Route;
  /** Whole objects, or PartialObjectMetadata (`Accept: …;as=PartialObjectMetadata…`). */
  readonly representation: Representation;
  /** kubectl's server-side Table output (`Accept: …;as=Table…`). */
  readonly table: boolean;
  /** `?dryRun=All`: validate and answer, store nothing. */
  readonly dryRun: boolean;
}

function notFoundPath(): ApiStatusError {
  return statusError(404, 'NotFound', 'the server could not find the requested resource');
}

/** The decoded segments of a path; 400 when one is not valid percent-encoding. */
function pathSegments(req: IncomingMessage, path: string): string[] {
  try {
    return path
      .split('/')
      .filter((p) => p !== '')
      .map((p) => decodeURIComponent(p));
  } catch {
    req.resume();
    throw badRequest(`malformed path ${path}`);
  }
}

/** Resolves the segments of a resource path; undefined when they name no served resource. */
export function resolveRoute(
  registry: ResourceRegistry,
  parts: readonly string[],
  watchParam: boolean,
): Route | undefined {
  let group: string;
  let version: string | undefined;
  let rest: readonly string[];
  if (parts[0] === 'api') {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  if (version === undefined || rest.length === 0) return undefined;
  let watch = watchParam;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // `/api/v1/namespaces/{name}/status` (and `/finalize`) is a namespace's subresource, not a
  // namespace-scoped path.
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  // `…/{name}/proxy/{path…}` proxies a path; nothing else goes deeper than a subresource.
  if (rest.length === 0 || (rest.length > 3 && rest[2] !== 'proxy')) return undefined;
  const info = registry.get(group, version, rest[0]!);
  if (info === undefined) return undefined;
  if (!info.namespaced && namespace !== undefined) return undefined;
  return { info, namespace, name: rest[1], subresource: rest[2], watch };
}

/** The resource request a path names, with its representation; 404 when nothing is served there. */
function resourceRequest(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  parts: readonly string[],
  watch: boolean,
): ResourceRequest {
  const route = resolveRoute(ctx.registry, parts, watch);
  if (route === undefined) {
    req.resume();
    throw notFoundPath();
  }
  const shape = route.watch ? 'watch' : route.name === undefined ? 'list' : 'object';
  let media: OutputMedia;
  try {
    media = negotiateOutput(req, route.info, shape);
  } catch (err) {
    req.resume();
    throw err;
  }
  const { representation, table } = media;
  if (route.subresource !== undefined && !route.info.subresources.includes(route.subresource)) {
    throw notFoundPath();
  }
  const dryRun = query.get('dryRun') === 'All';
  return { req, res, path, query, route, representation, table, dryRun };
}

/** GET of a resource path: a WATCH, a LIST (no name) or one object. */
async function serveRead(ctx: ServerContext, r: ResourceRequest): Promise<void> {
  r.req.resume();
  if (r.route.watch) {
    ctx.stats.watches++;
    serveWatch(ctx, r, parseListQuery(r.query));
    return;
  }
  if (r.route.name === undefined) {
    ctx.stats.lists++;
    await serveList(ctx, r, parseListQuery(r.query));
    return;
  }
  await serveGet(ctx, r);
}

/**
 * Serves a request past authentication and fault injection: a discovery document, or a resource
 * request dispatched by method. Errors are thrown as `ApiStatusError`s for the caller to send.
 */
export async function routeRequest(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  path: string,
  query: URLSearchParams,
  watch: boolean,
): Promise<void> {
  const parts = pathSegments(req, path);
  if (method === 'GET' && serveDiscovery(ctx, res, path, parts)) return;
  const r = resourceRequest(ctx, req, res, path, query, parts, watch);
  if (await serveSubresource(ctx, r, method)) return;
  switch (method) {
    case 'GET':
      return serveRead(ctx, r);
    case 'POST':
      return serveCreate(ctx, r);
    case 'PUT':
      return serveUpdate(ctx, r);
    case 'PATCH':
      return servePatch(ctx, r);
    case 'DELETE':
      return serveDelete(ctx, r);
    default:
      req.resume();
      throw methodNotAllowed();
  }
}
