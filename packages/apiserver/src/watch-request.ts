/**
 * WATCH requests: check the watch parameters, open a {@link Watcher} on the response, bring it
 * up to date, and hand it to the {@link WatchHub} for the live events.
 *
 * Bringing a watch up to date is one of two things. With no resourceVersion (or `0`), or with
 * `sendInitialEvents=true`, the current state is sent as synthetic ADDED events (then, for
 * `sendInitialEvents`, a BOOKMARK marking their end); from a resourceVersion, every later event
 * of the history, or an ERROR with 410 Expired when the history no longer reaches back that far.
 * All of it happens synchronously, before the watcher joins the hub, so no change can fall
 * between the snapshot and the live stream.
 *
 * Separate from `watch.ts`, which holds the streams themselves (the guarded writer, fan-out,
 * bookmarks, timeouts): this module is the request side, where the parameters are validated with
 * the real server's 400/422 errors and the initial events are written in large chunks.
 */
import type { ServerContext } from './context.js';
import { objectBytes } from './encoding.js';
import type { ListQuery } from './query.js';
import { apiVersionOf, groupResourceKey } from './resources.js';
import { CHUNK } from './response.js';
import type { ResourceRequest } from './routing.js';
import { fieldMatcher, labelMatcher, shardFilter, withShard } from './selectors.js';
import { badRequest, failureStatus, statusError } from './status.js';
import type { StoredObject } from './storage.js';
import { includeObjectParam, WatchTables } from './table.js';
import { Watcher } from './watch.js';

const ADDED_PREFIX = Buffer.from('{"type":"ADDED","object":');
const EVENT_SUFFIX = Buffer.from('}\n');

/**
 * The real server's checks of `sendInitialEvents`, `resourceVersionMatch` and `resourceVersion`
 * on a watch (422 or 400).
 */
function checkWatchQuery(query: ListQuery): void {
  const rvMatch = query.resourceVersionMatch;
  if (query.sendInitialEvents !== undefined) {
    if (rvMatch !== 'NotOlderThan') {
      throw statusError(
        422,
        'Invalid',
        'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
      );
    }
    if (query.sendInitialEvents && !query.allowWatchBookmarks) {
      throw statusError(
        422,
        'Invalid',
        'allowWatchBookmarks: Forbidden: sendInitialEvents requires allowWatchBookmarks=true',
      );
    }
  } else if (rvMatch !== '') {
    throw statusError(
      422,
      'Invalid',
      'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    );
  }
  const rvText = query.resourceVersion;
  if (rvText !== '' && !/^\d+$/.test(rvText))
    throw badRequest(`invalid resource version "${rvText}"`);
}

/**
 * The resourceVersion of a watch from an RV the server has not reached: nothing is sent until the
 * server passes it (the real server's cache watcher drops older events). Undefined otherwise.
 */
function futureResourceVersion(ctx: ServerContext, query: ListQuery): number | undefined {
  if (query.sendInitialEvents !== undefined || query.resourceVersion === '') return undefined;
  const rv = Number(query.resourceVersion);
  return rv > ctx.db.resourceVersion ? rv : undefined;
}

/** Starts the chunked response and creates the watch connection's writer (with any armed cut). */
function openWatcher(ctx: ServerContext, r: ResourceRequest, query: ListQuery): Watcher {
  const { info, namespace, name } = r.route;
  let field = fieldMatcher(query.fieldSelector, info);
  // Legacy /watch/.../{name}: a watch of one object.
  if (name !== undefined) field = fieldMatcher(`metadata.name=${name}`, info);
  const label = labelMatcher(query.labelSelector);
  const tables = r.table ? new WatchTables(info, includeObjectParam(r.query)) : undefined;
  // An object's uid and namespace never change, so a shard filter never turns a MODIFIED into
  // an enter or exit: out-of-shard objects are simply never sent (initial events included).
  field = withShard(field, shardFilter(query.shardSelector, ctx.shardSelector));
  r.res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  r.res.flushHeaders();
  const cut = ctx.faults.takeCut(r.path);
  const after = futureResourceVersion(ctx, query);
  return new Watcher(r.res, {
    resourceKey: groupResourceKey(info.group, info.resource),
    apiVersion: apiVersionOf(info),
    kind: info.kind,
    namespace,
    label,
    field,
    representation: r.representation,
    bookmarks: query.allowWatchBookmarks,
    ...(after !== undefined ? { after } : {}),
    ...cut,
    // kubectl get -w asks for Tables: each event's object is a one-row Table.
    ...(tables !== undefined
      ? {
          render: (obj: StoredObject) => tables.object(obj),
          renderBookmark: (metadata: Record<string, unknown>) => tables.bookmark(metadata),
        }
      : {}),
  });
}

/** Sends the current state as synthetic ADDED events, each object's cached bytes between shared pieces. */
function sendInitialState(ctx: ServerContext, r: ResourceRequest, watcher: Watcher): void {
  const info = r.route.info;
  const store = ctx.db.store(info);
  const objects: Buffer[] = [];
  for (const key of store.sortedKeys()) {
    const obj = store.items.get(key)!;
    if (!watcher.matches(obj)) continue;
    const render = watcher.options.render;
    objects.push(
      render !== undefined ? Buffer.from(render(obj)) : objectBytes(obj, info, r.representation),
    );
  }
  sendAdded(watcher, objects);
}

/** Sends synthetic ADDED events, coalesced into large writes unless a per-event fault is armed. */
function sendAdded(watcher: Watcher, objects: readonly Buffer[]): void {
  if (watcher.options.cutAfterEvents !== undefined || watcher.options.cutAfterBytes !== undefined) {
    for (const obj of objects) watcher.sendEvent(Buffer.concat([ADDED_PREFIX, obj, EVENT_SUFFIX]));
    return;
  }
  let parts: Buffer[] = [];
  let size = 0;
  for (const obj of objects) {
    parts.push(ADDED_PREFIX, obj, EVENT_SUFFIX);
    size += ADDED_PREFIX.length + obj.length + EVENT_SUFFIX.length;
    if (size >= CHUNK) {
      watcher.write(Buffer.concat(parts, size));
      parts = [];
      size = 0;
    }
  }
  if (size > 0) watcher.write(Buffer.concat(parts, size));
}

/** Replays the history after `from`; an ERROR with 410 Expired when it is compacted past `from`. */
function replayHistory(ctx: ServerContext, watcher: Watcher, from: number): void {
  if (from < ctx.db.compactedResourceVersion) {
    watcher.sendError(
      failureStatus(
        410,
        'Expired',
        `too old resource version: ${from} (${ctx.db.compactedResourceVersion})`,
      ),
    );
    return;
  }
  for (const ev of ctx.db.eventsAfter(from, watcher.options.resourceKey)) watcher.deliver(ev);
}

/** Serves a WATCH (the caller counted it): validates, catches the watcher up, then keeps it open. */
export function serveWatch(ctx: ServerContext, r: ResourceRequest, query: ListQuery): void {
  checkWatchQuery(query);
  const rvText = query.resourceVersion;
  const sendInitial = query.sendInitialEvents === true;
  const watcher = openWatcher(ctx, r, query);
  const current = ctx.db.resourceVersion;
  const synthetic =
    sendInitial || (query.sendInitialEvents === undefined && (rvText === '' || rvText === '0'));
  if (synthetic) {
    sendInitialState(ctx, r, watcher);
    if (sendInitial) watcher.sendBookmark(current, true);
  } else {
    replayHistory(ctx, watcher, Number(rvText));
  }
  if (!watcher.open) return;
  ctx.hub.add(watcher, query.timeoutMs);
}
