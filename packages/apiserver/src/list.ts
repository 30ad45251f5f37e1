/**
 * LIST: a collection, namespaced or across namespaces, filtered by label, field and shard selectors,
 * paged with `limit`/`continue`, at the resourceVersion the request asks for (the semantics are
 * the storage's `list`).
 *
 * Separate because a LIST is the one large response: its body is never built as one string but
 * streamed as the items' cached bytes (`encoding.ts`) in ~1 MiB writes with backpressure, so 100k
 * objects cost a few buffer copies; a Table (`kubectl get`) is the exception, built whole.
 */
import type { ServerContext } from './context.js';
import { itemBytes } from './encoding.js';
import { clientGone } from './freshness.js';
import type { ListQuery } from './query.js';
import { apiVersionOf } from './resources.js';
import type { ResourceInfo } from './resources.js';
import { sendJson, writeListBody } from './response.js';
import type { ResourceRequest } from './routing.js';
import { fieldMatcher, labelMatcher, shardFilter, withShard } from './selectors.js';
import type { ShardFilter } from './selectors.js';
import { futureRevision } from './status.js';
import type { ListResult } from './storage.js';
import { includeObjectParam, listTableJson } from './table.js';
import type { Representation } from './watch.js';

/**
 * The list's `metadata`: resourceVersion, continue / remainingItemCount when paged, and
 * `shardInfo` echoing the request's shard selector when it was applied (KEP-5866: its presence is
 * how a client tells a filtered list from an older server's full one).
 */
function listMetaJson(result: ListResult, shard: ShardFilter | undefined): string {
  let meta = `{"resourceVersion":"${result.resourceVersion}"`;
  if (result.continue !== undefined) meta += `,"continue":"${result.continue}"`;
  if (result.remainingItemCount !== undefined)
    meta += `,"remainingItemCount":${result.remainingItemCount}`;
  if (shard !== undefined) meta += `,"shardInfo":{"selector":${JSON.stringify(shard.text)}}`;
  return meta + '}';
}

/** Everything of the list body before its items. */
function listHead(info: ResourceInfo, representation: Representation, meta: string): string {
  return representation === 'metadata'
    ? `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":${meta},"items":[`
    : `{"kind":"${info.listKind}","apiVersion":"${apiVersionOf(info)}","metadata":${meta},"items":[`;
}

/**
 * A LIST at a resourceVersion the server has not reached: an exact one is etcd's 500; a minimum
 * one (`NotOlderThan`, or no match) waits for it, then is the 504 "Too large resource version".
 * Every other case (no or invalid RV, continue tokens, other matches) is the storage's to judge.
 */
async function awaitListResourceVersion(
  ctx: ServerContext,
  r: ResourceRequest,
  query: ListQuery,
): Promise<void> {
  const text = query.resourceVersion;
  if (query.continueToken !== undefined || !/^\d+$/.test(text)) return;
  const rv = Number(text);
  if (rv <= ctx.db.resourceVersion) return;
  const match = query.resourceVersionMatch;
  if (match === 'Exact') throw futureRevision();
  if (match !== '' && match !== 'NotOlderThan') return;
  await ctx.freshness.reach(rv, clientGone(r.res));
}

/** Serves a LIST (the caller counted it). */
export async function serveList(
  ctx: ServerContext,
  r: ResourceRequest,
  query: ListQuery,
): Promise<void> {
  const { info, namespace } = r.route;
  // Selectors are checked first: a malformed one is a 400 at once, as on the real server.
  const label = labelMatcher(query.labelSelector);
  const shard = shardFilter(query.shardSelector, ctx.shardSelector);
  const field = withShard(fieldMatcher(query.fieldSelector, info), shard);
  await awaitListResourceVersion(ctx, r, query);
  const result = ctx.db.list(info, {
    namespace,
    label,
    field,
    limit: query.limit,
    continueToken: query.continueToken,
    resourceVersion: query.resourceVersion,
    resourceVersionMatch: query.resourceVersionMatch,
  });
  const meta = listMetaJson(result, shard);
  if (r.table) {
    sendJson(r.res, 200, listTableJson(result.items, info, meta, includeObjectParam(r.query)));
    return;
  }
  const head = listHead(info, r.representation, meta);
  r.res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
  });
  const items = new Array<Buffer>(result.items.length);
  for (let i = 0; i < items.length; i++)
    items[i] = itemBytes(result.items[i]!, info, r.representation);
  await writeListBody(r.res, head, items, ']}');
}
