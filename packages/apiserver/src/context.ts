/**
 * The parts of a running server that request handlers use, as one value passed to them.
 *
 * Handlers are plain functions over this context rather than methods of the server class, so each
 * lives in the module of its concept (routing, discovery, CRUD, LIST, WATCH) and its inputs are
 * visible in its signature. Values that change over a server's life (the token and the address,
 * known once it listens) are read through getters, at each request.
 */
import type { TokenUser } from './auth.js';
import type { Authorizer } from './authorization.js';
import type { FaultInjector } from './faults.js';
import type { Freshness } from './freshness.js';
import type { ResourceRegistry } from './resources.js';
import type { ShardSelectorMode } from './selectors.js';
import type { ServerStats } from './stats.js';
import type { Storage } from './storage.js';
import type { WatchHub } from './watch.js';

/** What a request handler may read and change. */
export interface ServerContext {
  /** The resources served (built-ins and those of established CRDs). */
  readonly registry: ResourceRegistry;
  /** The objects, their resourceVersions and the change history. */
  readonly db: Storage;
  /** The open watches. */
  readonly hub: WatchHub;
  /** Waits for a resourceVersion the storage has not reached (reads from the future). */
  readonly freshness: Freshness;
  readonly faults: FaultInjector;
  readonly stats: ServerStats;
  /** The bearer token every request must carry, when auth is on. */
  readonly token: string | undefined;
  /** More bearer tokens, and the users they stand for. */
  readonly tokens: Readonly<Record<string, TokenUser>> | undefined;
  /** The authorization rules in force. */
  readonly authorizer: Authorizer;
  /** Request body limit in bytes (413 beyond). */
  readonly maxBodyBytes: number;
  /** Whether creating in a missing namespace over HTTP is 404. */
  readonly strictNamespaces: boolean;
  /** `host:port` advertised by `/api` as the server address. */
  readonly serverAddress: string;
  /** Whether LIST and WATCH apply `shardSelector` (KEP-5866) or ignore it as an older server. */
  readonly shardSelector: ShardSelectorMode;
}
