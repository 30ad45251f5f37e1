/**
 * Request counters ({@link ServerStats}): what tests assert on to check what a client did (one
 * LIST then a WATCH, no relist, and so on), and the bounded log of the last requests.
 *
 * Separate because the counters are public API (`server.stats`) bumped from several handlers:
 * the request entry counts and logs every request, the verb handlers count reads, writes, lists
 * and watches.
 */
import type { WatchHub } from './watch.js';

/** Request counters.
 *
 * @example
 * ```ts
 * const before = server.stats.lists;
 * await informer.run(signal);
 * assert.equal(server.stats.lists, before + 1);
 * ```
 */
export interface ServerStats {
  requests: number;
  lists: number;
  watches: number;
  gets: number;
  writes: number;
  /** Open watch connections. */
  readonly activeWatches: number;
  /** The last requests (method and URL), newest last, at most 500. */
  readonly log: { method: string; url: string }[];
}

/** How many requests {@link ServerStats.log} keeps. */
const LOG_SIZE = 500;

/** Fresh counters; `activeWatches` reads the hub's live count. */
export function createStats(hub: WatchHub): ServerStats {
  const log: { method: string; url: string }[] = [];
  return {
    requests: 0,
    lists: 0,
    watches: 0,
    gets: 0,
    writes: 0,
    get activeWatches() {
      return hub.size;
    },
    log,
  };
}

/** Appends a request to the log, dropping the oldest beyond 500. */
export function logRequest(stats: ServerStats, method: string, url: string): void {
  stats.log.push({ method, url });
  if (stats.log.length > LOG_SIZE) stats.log.splice(0, stats.log.length - LOG_SIZE);
}
