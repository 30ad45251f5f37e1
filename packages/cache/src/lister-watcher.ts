import type { KubeObject, Status } from './types.js';

/**
 * Options of one LIST call. Mirrors the query parameters of the Kubernetes API: `resourceVersion`
 * "" means "most recent (quorum read)", "0" means "any cached state is fine".
 */
export interface ListOptions {
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  /** Page size; 0 or undefined means unpaged. */
  readonly limit?: number;
  /** The continue token of the previous page. */
  readonly continue?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * KEP-5866's `shardSelector` (e.g. `formatShardSelector(shardSelectorFor(0, 3))`): only objects
   * whose hash lies in its ranges. A lister-watcher whose server ignores it (no matching
   * `metadata.shardInfo` in the answer) filters on the client with the same hash.
   */
  readonly shardSelector?: string;
  readonly signal: AbortSignal;
}

/** One page of a LIST response. `items` already carry `kind`/`apiVersion`. */
export interface ListPage<T extends KubeObject> {
  readonly items: T[];
  /** `metadata.resourceVersion` of the list. */
  readonly resourceVersion: string;
  /** Continue token; empty or undefined on the last page. */
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

/** Options of one WATCH call. */
export interface WatchOptions {
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  readonly allowWatchBookmarks?: boolean;
  /** Streaming list: the server first sends the current state as ADDED, then an end bookmark. */
  readonly sendInitialEvents?: boolean;
  readonly timeoutSeconds?: number;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** KEP-5866's `shardSelector`, as for {@link ListOptions.shardSelector}. */
  readonly shardSelector?: string;
  readonly signal: AbortSignal;
  /** Called once when the server accepted the watch (HTTP 200), before any event arrives. */
  readonly onOpen?: () => void;
  /** Called whenever bytes arrive, even mid-line: lets a reflector tell a slow stream from a dead one. */
  readonly onBytes?: (byteCount: number) => void;
}

/** The bookmark annotation that ends the initial events of a streaming list. */
export const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';

/** A BOOKMARK carries only `metadata.resourceVersion` (and maybe annotations) of an object. */
export interface BookmarkObject extends KubeObject {
  metadata: { resourceVersion: string; annotations?: Readonly<Record<string, string>> };
}

/** One event of a watch stream, as a discriminated union on `type`. */
export type WatchEvent<T extends KubeObject> =
  | { readonly type: 'ADDED'; readonly object: T }
  | { readonly type: 'MODIFIED'; readonly object: T }
  | { readonly type: 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly object: BookmarkObject }
  | { readonly type: 'ERROR'; readonly object: Status };

/** The type names of {@link WatchEvent}. */
export type WatchEventType = WatchEvent<KubeObject>['type'];

/**
 * The two calls a reflector needs from an API server. Implementations throw
 * {@link ApiStatusError}-like errors carrying the HTTP status (`statusCode`) and the decoded
 * `Status` body, so callers can tell 410 Gone, 429 and 403 apart.
 *
 * `watch` returns an async iterable that ends when the server closes the stream (normal on
 * `timeoutSeconds`), throws on transport or decoding failures, and stops when `signal` aborts.
 */
export interface ListerWatcher<T extends KubeObject> {
  list(options: ListOptions): Promise<ListPage<T>>;
  watch(options: WatchOptions): AsyncIterable<WatchEvent<T>>;
  /**
   * Optional: the same stream as `watch`, in batches (typically every event decoded from one
   * received chunk). A reflector prefers it: it applies a batch in one synchronous loop, where
   * `watch` costs one async iteration step per event. Same contract as `watch` otherwise; a
   * decoding failure ends the stream after the batch of the events before it.
   */
  watchBatches?(options: WatchOptions): AsyncIterable<readonly WatchEvent<T>[]>;
}
