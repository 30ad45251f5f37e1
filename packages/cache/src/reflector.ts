/**
 * The reflector: keeps a {@link ReflectorStore} equal to the API server's state of one resource,
 * by listing it once and then watching it, forever.
 *
 * ## Why there is no DeltaFIFO
 *
 * client-go puts a DeltaFIFO between its reflector and its informer: the reflector pushes
 * Added/Updated/Deleted/Replaced/Sync deltas keyed by object, one goroutine pops them, applies
 * them to the indexer and notifies handlers. The queue exists because Go's reflector and
 * informer run on different goroutines, and it gives four guarantees: (1) the deltas of one key
 * are processed in the order they happened, (2) a consumer that falls behind sees coalesced
 * deltas per key rather than an unbounded backlog, (3) a relist emits Replaced for every listed
 * object and a Deleted *tombstone* ({@link DeletedFinalStateUnknown}) for every object the store
 * knew that the list no longer contains, (4) a resync re-delivers Sync deltas for everything.
 *
 * In Node there is one thread, and a reflector's writes are synchronous calls into a
 * {@link ReflectorStore} (`add`/`update`/`delete`/`replace`), made with no `await` between the
 * decoded event and the write. So this package keeps the guarantees without a global queue:
 *
 * - **Ordering (1).** The reflector applies events strictly in arrival order, one synchronous
 *   call each; the store (indexer) therefore always holds the state "after event N", and a
 *   sink that notifies handlers does so in that same order. Nothing can reorder two events of
 *   the same key because nothing is queued between the wire and the store.
 * - **Tombstones and Replaced (3).** A relist ends in exactly one `replace(items, rv)` call with
 *   the complete listed state. The sink, which owns the key function, diffs it against what it
 *   holds: objects no longer present become `delete` notifications carrying a
 *   `DeletedFinalStateUnknown` tombstone (the final state was not observed: the object vanished
 *   while we were disconnected), new ones become adds, changed ones updates. The reflector
 *   never needs keys itself, which keeps it independent of key functions and transforms.
 * - **Coalescing (2) and Sync (4).** Slow consumers are the informer's business, not the
 *   reflector's: the informer's sink applies each write to the indexer at once (readers are
 *   never stale behind a queue) and appends a notification to every handler's own buffer; a
 *   handler that falls behind gets its pending notifications for a key coalesced (old object of
 *   the first, new object of the last). Resync is the informer re-delivering its indexer's
 *   contents into those same buffers on a timer. One slow handler cannot delay the store or
 *   other handlers, which a single shared FIFO could not promise.
 *
 * ## The state machine
 *
 * As in kube-rs' watcher, the reflector is an explicit state machine: {@link ReflectorState} is
 * a discriminated union and `step()` is the single transition function; `run()` just steps until
 * stopped. Every failure is turned into a typed {@link ReflectorError} with the `stage` where it
 * happened and a transition: relist (410 Gone / Expired), re-watch from the last good
 * resourceVersion after a backoff (any other failure), wait for Retry-After (429), or stop with a
 * terminal error once a user-set `retryBudget` of consecutive failures is spent.
 *
 * resourceVersion policy (client-go's): the first list asks for "0" (any cached state will do),
 * later lists for the last synced RV (never older than what we have), and "" (a consistent,
 * quorum read) after the server said our RV is Expired or "too large". Watches always resume at
 * the last synced RV: the RV of the last applied event or bookmark.
 */
import type { Clock } from './clock.js';
import { realClock, sleep } from './clock.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { ApiStatusError, KubecacheError } from './errors.js';
import type { ListerWatcher, WatchEvent, WatchOptions } from './lister-watcher.js';
import { INITIAL_EVENTS_END_ANNOTATION } from './lister-watcher.js';
import type { PagedReplace, ReflectorStore } from './reflector-store.js';
import type { WatchStalledError } from './reflector-errors.js';
import {
  ReflectorError,
  ReflectorRetryBudgetExhaustedError,
  type ReflectorStage,
} from './reflector-errors.js';
import type { InformerObserver, InformerStats, WatchEventCounts } from './observability.js';
import type { KubeObject } from './types.js';
import {
  armStallWatchdog,
  isGone,
  isTooLargeResourceVersion,
  listIsPaged,
  relistResourceVersion,
  retryAfterMs,
  watchEventError as statusError,
  watchFailureStage,
  watchTimeoutSeconds,
} from './watch-policy.js';

export { isTooLargeResourceVersion };

/** Options of a {@link Reflector}. */
export interface ReflectorOptions<T extends KubeObject> {
  /** Where objects come from. */
  listerWatcher: ListerWatcher<T>;
  /** Where they go: a store, or an informer's delta sink (see the module comment). */
  store: ReflectorStore<T>;
  /** A name for logs and errors. Default `reflector`. */
  name?: string;
  /** LIST page size (`limit`). Default 500; 0 lists unpaged. */
  pageSize?: number;
  labelSelector?: string;
  fieldSelector?: string;
  /** KEP-5866 `shardSelector` of every list and watch (see `ListOptions.shardSelector`). */
  shardSelector?: string;
  /**
   * Use a streaming list (`sendInitialEvents=true`) instead of LIST for the initial state, falling
   * back to LIST automatically when the server refuses it. Default false.
   */
  streamingList?: boolean;
  /** Time source (backoff, stall detection). Default the real clock. */
  clock?: Clock;
  /** Random source in [0, 1) for jitter and watch timeouts. Default `Math.random`. */
  random?: () => number;
  /** Backoff tuning; default 800 ms doubling to 30 s with jitter, reset after 2 min healthy. */
  backoff?: Partial<BackoffOptions>;
  /**
   * Abort and reconnect a watch that received no bytes for this long. Bookmarks keep a healthy
   * watch talking. Default 660 000 (11 min, beyond the longest server-side watch timeout);
   * 0 disables.
   */
  stallTimeoutMs?: number;
  /** Consecutive failures tolerated before giving up with a terminal error. Default: forever. */
  retryBudget?: number;
  /**
   * Sees every failure once, with what the reflector does next; a terminal failure arrives as
   * one {@link ReflectorRetryBudgetExhaustedError} with `retry.terminal`. Must not throw.
   */
  onWatchError?: (error: ReflectorError, retry: RetryInfo) => void;
  /** Rare lifecycle events (lists stored, watches ended), for metrics. Must not throw. */
  observer?: InformerObserver;
  /**
   * Called each time the last synced resourceVersion moves (a list, an event or a bookmark was
   * applied). Must not throw. Used by `SharedIndexInformer.waitForResourceVersion`.
   */
  onSyncResourceVersion?: (resourceVersion: string) => void;
}

/**
 * What a reflector does after a failure it reports.
 *
 * @example
 * ```ts
 * new Reflector({
 *   listerWatcher: lw,
 *   store: createIndexer<Pod>(),
 *   onWatchError: (err, retry) => log.warn({ attempt: retry.attempt, retryInMs: retry.retryInMs }, err.message),
 * });
 * ```
 */
export interface RetryInfo {
  /**
   * Consecutive failures with no progress, this one included. 0 when this one does not count:
   * the watch had made progress before it broke, a 410 is answered by a relist, or a bad object
   * was skipped.
   */
  readonly attempt: number;
  /** Milliseconds until the next attempt (0: at once); undefined when terminal. */
  readonly retryInMs: number | undefined;
  /** The reflector stopped for good (its retry budget is spent). */
  readonly terminal: boolean;
}

/**
 * A reflector's state for health checks; times are on the reflector's clock.
 *
 * @example
 * ```ts
 * const { consecutiveFailures, nextRetryAt } = reflector.status();
 * ```
 */
export interface ReflectorStatus {
  readonly watchingSince: number | undefined;
  /** Clock time of the last applied list, event or bookmark. */
  readonly lastEventAt: number | undefined;
  readonly consecutiveFailures: number;
  readonly nextRetryAt: number | undefined;
  readonly lastError: { readonly error: ReflectorError; readonly at: number } | undefined;
  readonly terminalError: ReflectorRetryBudgetExhaustedError | undefined;
}

const CONTINUING: RetryInfo = Object.freeze({ attempt: 0, retryInMs: 0, terminal: false });

/**
 * A watch open at least this long, or one that delivered an event, made progress: when it ends
 * or breaks, the reflector reconnects at once instead of backing off (client-go's "very short
 * watch" threshold).
 */
const HEALTHY_WATCH_MS = 1000;

/** The default LIST page size. */
export const DEFAULT_PAGE_SIZE = 500;
/** The default stall window. */
export const DEFAULT_STALL_TIMEOUT_MS = 660_000;

/** An open watch stream and the means to stop it. */
interface OpenWatch<T extends KubeObject> {
  /** The stream in batches (a lister-watcher without `watchBatches` gives batches of one). */
  readonly iterator: AsyncIterator<readonly WatchEvent<T>[]>;
  readonly controller: AbortController;
  readonly openedAt: number;
  /** Set when the stall watchdog aborted this watch. */
  stalled: WatchStalledError | undefined;
  opened: boolean;
  /** Events applied to the store (ERROR events excluded): the watch's progress. */
  events: number;
  /** Events of the last batch read but not yet applied (after a streaming list's end bookmark). */
  rest: readonly WatchEvent<T>[] | undefined;
}

/**
 * The reflector's states (a discriminated union on `phase`):
 * - `list`: fetching the page after `continueToken` of a LIST at `requestedRv` (items so far in
 *   `items`, the first page's RV in `listRv`); the last page ends in `store.replace`.
 * - `stream-list`: a streaming list (watch with `sendInitialEvents`) replacing the store at the
 *   initial-events-end bookmark, then continuing as `watch` on the same stream.
 * - `watch`: watching from the last synced RV (on `stream` when one is already open).
 * - `backoff`: waiting `delayMs`, then `next`.
 * - `stopped`: aborted, or terminally failed.
 */
export type ReflectorState<T extends KubeObject> =
  | {
      readonly phase: 'list';
      readonly requestedRv: string;
      readonly paged: boolean;
      readonly continueToken?: string;
      readonly listRv?: string;
      readonly items: T[];
    }
  | { readonly phase: 'stream-list' }
  | { readonly phase: 'watch'; readonly stream?: OpenWatch<T> }
  | { readonly phase: 'backoff'; readonly delayMs: number; readonly next: ReflectorState<T> }
  | { readonly phase: 'stopped' };

const STOPPED = { phase: 'stopped' } as const;

/**
 * Lists and watches one resource into a store, forever: paged initial list (or a streaming list),
 * watch with bookmarks from the last synced resourceVersion, relist on 410 Gone, backoff with
 * jitter on any other failure, stall detection. See the module comment for the design.
 *
 * @example
 * ```ts
 * const store = createIndexer<Pod>();
 * const reflector = new Reflector({ listerWatcher: lw, store });
 * const ac = new AbortController();
 * void reflector.run(ac.signal);
 * // … later
 * ac.abort();
 * ```
 */
export class Reflector<T extends KubeObject> {
  readonly name: string;
  readonly #lw: ListerWatcher<T>;
  readonly #store: ReflectorStore<T>;
  readonly #pageSize: number;
  readonly #labelSelector: string | undefined;
  readonly #fieldSelector: string | undefined;
  readonly #shardSelector: string | undefined;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #backoff: Backoff;
  readonly #stallTimeoutMs: number;
  readonly #retryBudget: number | undefined;
  readonly #onError: ((error: ReflectorError, retry: RetryInfo) => void) | undefined;
  readonly #observer: InformerObserver | undefined;
  #streamingList: boolean;
  // Health and counters: plain fields, read only when asked.
  #watchingSince: number | undefined;
  #lastEventAt: number | undefined;
  #nextRetryAt: number | undefined;
  #lastError: { readonly error: ReflectorError; readonly at: number } | undefined;
  #listStartedAt = 0;
  #lists = 0;
  #watches = 0;
  #failureCount = 0;
  #watchMsClosed = 0;
  readonly #events: WatchEventCounts = { ADDED: 0, MODIFIED: 0, DELETED: 0, BOOKMARK: 0, ERROR: 0 };

  #lastSyncRv = '';
  /** A list came back in more than one page: the server pages this resource. */
  #paginatedResult = false;
  /** A paged relist being applied page by page, and how many items it applied so far. */
  #pagedReplace: PagedReplace<T> | undefined;
  #pagedItems = 0;
  readonly #onSyncRv: ((rv: string) => void) | undefined;
  #rvUnavailable = false;
  #synced = false;
  #watching = false;
  #running = false;
  #failures = 0;
  #goneStreak = 0;
  #lastActivity = 0;
  #terminal: ReflectorRetryBudgetExhaustedError | undefined;
  #state: ReflectorState<T> = STOPPED;

  constructor(options: ReflectorOptions<T>) {
    this.name = options.name ?? 'reflector';
    this.#lw = options.listerWatcher;
    this.#store = options.store;
    this.#pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.#labelSelector = options.labelSelector || undefined;
    this.#fieldSelector = options.fieldSelector || undefined;
    this.#shardSelector = options.shardSelector || undefined;
    this.#streamingList = options.streamingList ?? false;
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#backoff = new Backoff({
      options: options.backoff,
      clock: this.#clock,
      random: this.#random,
    });
    this.#stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#retryBudget = options.retryBudget;
    this.#onError = options.onWatchError;
    this.#observer = options.observer;
    this.#onSyncRv = options.onSyncResourceVersion;
  }

  /** The resourceVersion of the last applied list, event or bookmark ("" before the first list). */
  lastSyncResourceVersion(): string {
    return this.#lastSyncRv;
  }

  /** True while a watch stream is open (the server accepted it and it has not ended). */
  isWatching(): boolean {
    return this.#watching;
  }

  /** True once the first list (or streaming list) has been written to the store. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Health state (see {@link ReflectorStatus}). */
  status(): ReflectorStatus {
    return {
      watchingSince: this.#watchingSince,
      lastEventAt: this.#lastEventAt,
      consecutiveFailures: this.#failures,
      nextRetryAt: this.#nextRetryAt,
      lastError: this.#lastError,
      terminalError: this.#terminal,
    };
  }

  /** Counters since construction (see {@link InformerStats}). */
  stats(): InformerStats {
    const open = this.#watchingSince === undefined ? 0 : this.#clock.now() - this.#watchingSince;
    return {
      lists: this.#lists,
      relists: Math.max(0, this.#lists - 1),
      watches: this.#watches,
      watchRestarts: Math.max(0, this.#watches - 1),
      failures: this.#failureCount,
      events: { ...this.#events },
      watchMsTotal: this.#watchMsClosed + open,
    };
  }

  /** The current phase, for diagnostics. */
  phase(): ReflectorState<T>['phase'] {
    return this.#state.phase;
  }

  /**
   * Lists and watches until `signal` aborts (then resolves). Rejects only with a
   * {@link ReflectorRetryBudgetExhaustedError} when a `retryBudget` was set and is spent.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running)
      throw new KubecacheError(
        'ReflectorAlreadyRunning',
        `reflector ${this.name} is already running`,
      );
    this.#running = true;
    this.#terminal = undefined;
    try {
      this.#state = this.#listState();
      while (this.#state.phase !== 'stopped') {
        if (signal.aborted) break;
        this.#state = await this.#step(this.#state, signal);
      }
    } finally {
      this.#state = STOPPED;
      this.#running = false;
      this.#watching = false;
    }
    if (this.#terminal !== undefined) throw this.#terminal;
  }

  /** The transition function: performs the work of `state` and returns the next state. */
  async #step(state: ReflectorState<T>, signal: AbortSignal): Promise<ReflectorState<T>> {
    switch (state.phase) {
      case 'list':
        return this.#listPage(state, signal);
      case 'stream-list':
        return this.#streamList(signal);
      case 'watch':
        return this.#watch(state.stream, signal);
      case 'backoff':
        this.#nextRetryAt = this.#clock.now() + state.delayMs;
        try {
          await sleep(this.#clock, state.delayMs, signal);
        } catch {
          return STOPPED;
        } finally {
          this.#nextRetryAt = undefined;
        }
        return state.next;
      case 'stopped':
        return state;
    }
  }

  /** The RV a (re)list asks for: "0", the last synced RV, or "" after Expired/too large. */
  #relistRv(): string {
    return relistResourceVersion(this.#lastSyncRv, this.#rvUnavailable);
  }

  #listState(): ReflectorState<T> {
    if (this.#streamingList) return { phase: 'stream-list' };
    const requestedRv = this.#relistRv();
    return { phase: 'list', requestedRv, paged: this.#pagedAt(requestedRv), items: [] };
  }

  /**
   * Whether a list at `rv` asks for pages. client-go's rule: a relist from a specific RV is
   * unpaged unless the server paged an earlier list, because an RV with a limit is an exact read
   * from etcd (410 once compacted), while an RV without one is served from the watch cache.
   */
  #pagedAt(rv: string): boolean {
    return listIsPaged(rv, this.#pageSize, this.#paginatedResult);
  }

  #error(stage: ReflectorStage, cause: unknown, what: string): ReflectorError {
    const message = cause instanceof Error ? cause.message : String(cause);
    return new ReflectorError(stage, `reflector ${this.name}: ${what}: ${message}`, {
      reflector: this.name,
      resourceVersion: this.#lastSyncRv,
      cause,
    });
  }

  /** Reports one failure, once, with what happens next. */
  #report(error: ReflectorError, retry: RetryInfo): void {
    this.#failureCount++;
    this.#lastError = { error, at: this.#clock.now() };
    try {
      this.#onError?.(error, retry);
    } catch {
      // A throwing hook must not kill the reflector.
    }
  }

  /** Counts a failure against the retry budget; returns the terminal state when it is spent. */
  #countFailure(error: ReflectorError): ReflectorState<T> | undefined {
    this.#failures++;
    if (this.#retryBudget === undefined || this.#failures <= this.#retryBudget) return undefined;
    this.#terminal = new ReflectorRetryBudgetExhaustedError(error, this.#failures);
    this.#report(this.#terminal, { attempt: this.#failures, retryInMs: undefined, terminal: true });
    return STOPPED;
  }

  /**
   * Progress was made (a list stored, a watch event applied): the consecutive-failure count and
   * the backoff start over, so the next failure waits the shortest delay, not the last one.
   */
  #progress(): void {
    this.#failures = 0;
    this.#backoff.reset();
  }

  /**
   * A failure: report it, then either stop for good (retry budget spent) or wait and go to
   * `retry`. `waitMs` overrides the backoff (Retry-After).
   */
  #fail(error: ReflectorError, retry: ReflectorState<T>, waitMs?: number): ReflectorState<T> {
    const terminal = this.#countFailure(error);
    if (terminal !== undefined) return terminal;
    const delayMs = waitMs ?? retryAfterMs(error.cause) ?? this.#backoff.next();
    this.#report(error, { attempt: this.#failures, retryInMs: delayMs, terminal: false });
    return { phase: 'backoff', delayMs, next: retry };
  }

  /** Reports a failure that is answered at once without counting against the budget. */
  #recovered(error: ReflectorError): void {
    this.#report(error, CONTINUING);
  }

  // -------------------------------------------------------------------------------------------
  // LIST

  async #listPage(
    state: Extract<ReflectorState<T>, { phase: 'list' }>,
    signal: AbortSignal,
  ): Promise<ReflectorState<T>> {
    const continuing = state.continueToken !== undefined;
    if (!continuing && state.items.length === 0) {
      this.#listStartedAt = this.#clock.now();
      // A list starting over abandons a paged replace in progress.
      this.#pagedReplace = undefined;
      this.#pagedItems = 0;
    }
    let page;
    try {
      page = await this.#lw.list({
        // A continuation carries its snapshot in the token; RV must not be repeated.
        resourceVersion: continuing ? undefined : state.requestedRv,
        limit: state.paged ? this.#pageSize : undefined,
        continue: state.continueToken,
        labelSelector: this.#labelSelector,
        fieldSelector: this.#fieldSelector,
        shardSelector: this.#shardSelector,
        signal,
      });
    } catch (err) {
      if (signal.aborted) return STOPPED;
      if (isGone(err) || isTooLargeResourceVersion(err)) {
        if (continuing) {
          // The continue token expired mid-list (the snapshot fell out of history): start
          // over with one unpaged list at the originally requested RV, as client-go's pager.
          this.#recovered(
            this.#error('list', err, 'continue token expired, falling back to a full list'),
          );
          return { phase: 'list', requestedRv: state.requestedRv, paged: false, items: [] };
        }
        if (state.requestedRv !== '') {
          // Our RV is unknown to the server: a consistent read ("") always works.
          this.#rvUnavailable = true;
          this.#recovered(
            this.#error(
              'list',
              err,
              `resourceVersion ${state.requestedRv} unavailable, listing from ""`,
            ),
          );
          return { phase: 'list', requestedRv: '', paged: this.#pagedAt(''), items: [] };
        }
      }
      // Anything else: retry this very page after a backoff (the token stays valid or expires).
      return this.#fail(this.#error('list', err, 'list failed'), state);
    }
    const listRv = state.listRv ?? page.resourceVersion;
    if (page.continue && this.#synced && this.#store.beginReplace !== undefined) {
      // A paged relist: hand the store each page now rather than holding the whole new list
      // next to the old contents (see ReflectorStore.beginReplace).
      this.#paginatedResult = true;
      try {
        (this.#pagedReplace ??= this.#store.beginReplace()).page(page.items);
      } catch (err) {
        this.#pagedReplace = undefined;
        return this.#fail(
          this.#error('list', err, 'store rejected the listed items'),
          this.#listState(),
        );
      }
      this.#pagedItems += page.items.length;
      return { ...state, continueToken: page.continue, listRv };
    }
    let items = state.items;
    if (items.length === 0) items = page.items;
    else for (let i = 0; i < page.items.length; i++) items.push(page.items[i]!);
    if (page.continue) {
      this.#paginatedResult = true;
      return { ...state, continueToken: page.continue, listRv, items };
    }
    return this.#commitList(items, listRv) ?? { phase: 'watch' };
  }

  /**
   * Hands a complete list (paged or streamed) to the store and records it as synced. Returns the
   * failure transition when the store rejects it (the next attempt lists again), else undefined.
   */
  #commitList(items: readonly T[], rv: string): ReflectorState<T> | undefined {
    const paged = this.#pagedReplace;
    const listed = this.#pagedItems + items.length;
    this.#pagedReplace = undefined;
    this.#pagedItems = 0;
    try {
      if (paged !== undefined) paged.commit(items, rv);
      else this.#store.replace(items, rv);
    } catch (err) {
      return this.#fail(
        this.#error('list', err, 'store rejected the listed items'),
        this.#listState(),
      );
    }
    this.#lastSyncRv = rv;
    this.#onSyncRv?.(rv);
    this.#rvUnavailable = false;
    this.#synced = true;
    this.#lists++;
    const now = this.#clock.now();
    this.#lastEventAt = now;
    // A list that follows a run of 410s proves little: a server that answers every watch with
    // 410 would otherwise get a full LIST at the shortest delay forever. Only watch progress
    // (an applied event) resets the backoff then, so 410 loops climb to the cap as in client-go.
    if (this.#goneStreak <= 1) this.#progress();
    else this.#failures = 0;
    this.#observe('listed', {
      items: listed,
      durationMs: now - this.#listStartedAt,
      relist: this.#lists > 1,
    });
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // WATCH

  #open(resourceVersion: string, signal: AbortSignal, streaming: boolean): OpenWatch<T> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
    controller.signal.addEventListener(
      'abort',
      () => signal.removeEventListener('abort', onAbort),
      { once: true },
    );
    const timeoutSeconds = watchTimeoutSeconds(this.#random);
    this.#lastActivity = this.#clock.now();
    this.#watches++;
    const open: OpenWatch<T> = {
      iterator: undefined as unknown as AsyncIterator<readonly WatchEvent<T>[]>,
      controller,
      openedAt: this.#clock.now(),
      stalled: undefined,
      opened: false,
      events: 0,
      rest: undefined,
    };
    const options: WatchOptions = {
      resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds,
      labelSelector: this.#labelSelector,
      fieldSelector: this.#fieldSelector,
      shardSelector: this.#shardSelector,
      ...(streaming
        ? { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' as const }
        : {}),
      signal: controller.signal,
      onOpen: () => {
        open.opened = true;
        this.#watching = true;
        this.#lastActivity = this.#clock.now();
        this.#watchingSince = this.#lastActivity;
      },
      onBytes: () => {
        this.#lastActivity = this.#clock.now();
      },
    };
    (open as { iterator: AsyncIterator<readonly WatchEvent<T>[]> }).iterator =
      this.#lw.watchBatches !== undefined
        ? this.#lw.watchBatches(options)[Symbol.asyncIterator]()
        : batchesOfOne(this.#lw.watch(options)[Symbol.asyncIterator]());
    return open;
  }

  /** Aborts a watch that stays silent for the stall window; returns the disarm function. */
  #watchdog(open: OpenWatch<T>): () => void {
    return armStallWatchdog(
      this.#clock,
      this.#stallTimeoutMs,
      () => this.#clock.now() - this.#lastActivity,
      (stalled) => {
        open.stalled = stalled;
        open.controller.abort(stalled);
      },
    );
  }

  #close(open: OpenWatch<T>): void {
    if (this.#watchingSince !== undefined) {
      const durationMs = this.#clock.now() - this.#watchingSince;
      this.#watchMsClosed += durationMs;
      this.#watchingSince = undefined;
      this.#observe('watchEnded', { durationMs, events: open.events });
    }
    this.#watching = false;
    if (!open.controller.signal.aborted) open.controller.abort();
    // Release the iterator's resources; it is aborted, so this settles promptly.
    open.iterator.return?.().catch(() => {});
  }

  #stageOf(err: unknown, open: OpenWatch<T>): ReflectorStage {
    if (open.stalled !== undefined && watchFailureStage(err, true) !== 'decode') {
      return 'watch-stream';
    }
    return watchFailureStage(err, open.opened);
  }

  #observe<K extends keyof InformerObserver>(
    kind: K,
    info: Parameters<NonNullable<InformerObserver[K]>>[0],
  ): void {
    const observer = this.#observer;
    if (observer === undefined) return;
    try {
      (observer[kind] as ((i: typeof info) => void) | undefined)?.call(observer, info);
    } catch {
      // Metrics must never break the reflector.
    }
  }

  /** Applies one event to the store (ERROR events are handled by the caller). */
  #apply(event: WatchEvent<T>): void {
    switch (event.type) {
      case 'ADDED':
        this.#store.add(event.object);
        break;
      case 'MODIFIED':
        this.#store.update(event.object);
        break;
      case 'DELETED':
        this.#store.delete(event.object);
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR':
        throw statusError(event.object);
    }
  }

  /**
   * A batch of `applied` events was applied (or skipped as unstorable): the last synced RV moves
   * to `rv` (the batch's last) and the watch counts as making progress.
   */
  #progressed(open: OpenWatch<T>, applied: number, rv: string | undefined): void {
    if (applied === 0) return;
    if (rv !== undefined) {
      this.#lastSyncRv = rv;
      this.#onSyncRv?.(rv);
    }
    open.events += applied;
    this.#lastActivity = this.#clock.now();
    this.#lastEventAt = this.#lastActivity;
    if (this.#failures !== 0 || this.#backoff.attempt !== 0) this.#progress();
    this.#goneStreak = 0;
  }

  /** Decides what follows a failed or ended watch. */
  #afterWatchError(err: unknown, stage: ReflectorStage, open: OpenWatch<T>): ReflectorState<T> {
    // An ERROR event's cause already says "watch ERROR event"; the stage says where it failed.
    const error = this.#error(stage, open.stalled ?? err, 'watch failed');
    if (isGone(err) || isTooLargeResourceVersion(err)) {
      // Our RV fell out of the server's history: relist (the replace yields tombstones).
      if (isTooLargeResourceVersion(err)) this.#rvUnavailable = true;
      this.#goneStreak++;
      if (this.#goneStreak > 1) return this.#fail(error, this.#listState());
      this.#recovered(error);
      return this.#listState();
    }
    if (open.stalled !== undefined) {
      // A dead connection: reconnect at once (a down server then fails fast and backs off).
      const terminal = this.#countFailure(error);
      if (terminal !== undefined) return terminal;
      this.#report(error, { attempt: this.#failures, retryInMs: 0, terminal: false });
      return { phase: 'watch' };
    }
    if (open.events > 0 || this.#clock.now() - open.openedAt >= HEALTHY_WATCH_MS) {
      // The watch made progress before it broke (a load balancer's idle cut, a rolling API
      // server): reconnect from the last RV at once, as client-go does. Backoff is for failures
      // that make no progress; counting every cut as one more would climb to 30 s and leave the
      // cache behind under frequent cuts.
      this.#progress();
      this.#recovered(error);
      return { phase: 'watch' };
    }
    if (stage === 'watch-stream') {
      // The server accepted the watch and the connection was then cut before any event: the
      // network's doing (a proxy's short idle timeout), not an overloaded server. Escalating would
      // leave an idle cache up to 30 s behind under frequent cuts, so wait the shortest delay
      // (still counted against a retry budget); refused watches and failed lists still escalate.
      return this.#fail(error, { phase: 'watch' }, this.#backoff.options.initialMs);
    }
    return this.#fail(error, { phase: 'watch' });
  }

  async #watch(
    existing: OpenWatch<T> | undefined,
    signal: AbortSignal,
  ): Promise<ReflectorState<T>> {
    const open = existing ?? this.#open(this.#lastSyncRv, signal, false);
    const disarm = this.#watchdog(open);
    const it = open.iterator;
    let stage: ReflectorStage | undefined;
    let failure: unknown;
    try {
      let rest = open.rest;
      open.rest = undefined;
      batches: for (;;) {
        let batch: readonly WatchEvent<T>[];
        if (rest !== undefined) {
          batch = rest;
          rest = undefined;
        } else {
          const r = await it.next();
          if (r.done) break;
          batch = r.value;
        }
        // One synchronous loop per batch: no await, no clock read, no RV callback per event.
        const counts = this.#events;
        let applied = 0;
        let rv: string | undefined;
        for (let i = 0; i < batch.length; i++) {
          const event = batch[i]!;
          counts[event.type]++;
          if (event.type === 'ERROR') {
            stage = 'watch-event';
            failure = statusError(event.object);
            this.#progressed(open, applied, rv);
            break batches;
          }
          try {
            this.#apply(event);
          } catch (err) {
            // client-go's rule: an object the store refuses is reported and skipped, and the
            // watch goes on past it. Re-watching would only deliver the same object again.
            this.#recovered(this.#error('watch-event', err, `store rejected ${describe(event)}`));
          }
          rv = event.object.metadata?.resourceVersion || rv;
          applied++;
        }
        this.#progressed(open, applied, rv);
      }
    } catch (err) {
      if (signal.aborted) {
        disarm();
        this.#close(open);
        return STOPPED;
      }
      stage = this.#stageOf(err, open);
      failure = err;
    }
    disarm();
    this.#close(open);
    if (signal.aborted) return STOPPED;
    if (stage !== undefined) return this.#afterWatchError(failure, stage, open);
    // A clean end (the server's timeoutSeconds): watch again from the last RV. A watch that
    // ended at once without a single event waits first, so a misbehaving server is not hammered.
    if (open.events === 0 && this.#clock.now() - open.openedAt < HEALTHY_WATCH_MS) {
      return { phase: 'backoff', delayMs: this.#backoff.next(), next: { phase: 'watch' } };
    }
    return { phase: 'watch' };
  }

  // -------------------------------------------------------------------------------------------
  // STREAMING LIST

  /**
   * A streaming list: one watch with `sendInitialEvents=true` whose initial ADDED events are
   * collected until the `k8s.io/initial-events-end` bookmark, then written with one `replace`.
   * The same stream then carries on as the watch. A server that refuses the parameters
   * (400/403/422) or ends the stream without the end bookmark does not support it: from then on
   * this reflector uses LIST.
   */
  async #streamList(signal: AbortSignal): Promise<ReflectorState<T>> {
    const requested = this.#rvUnavailable ? '' : this.#lastSyncRv;
    const open = this.#open(requested, signal, true);
    const disarm = this.#watchdog(open);
    const it = open.iterator;
    let items: T[] = [];
    // Only ADDED is expected before the end bookmark; anything else switches to a keyed map.
    let byKey: Map<string, T> | undefined;
    const keyOf = (o: T): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    this.#listStartedAt = this.#clock.now();
    const unsupported = (err: unknown, what: string): ReflectorState<T> => {
      this.#streamingList = false;
      this.#recovered(this.#error(open.opened ? 'watch-stream' : 'watch-start', err, what));
      return this.#listState();
    };
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) {
          disarm();
          this.#close(open);
          return unsupported(
            new KubecacheError(
              'StreamingListUnsupported',
              'stream ended without the initial-events-end bookmark',
            ),
            'streaming list unsupported, falling back to LIST',
          );
        }
        const batch = r.value;
        this.#lastActivity = this.#clock.now();
        for (let i = 0; i < batch.length; i++) {
          const event = batch[i]!;
          switch (event.type) {
            case 'ADDED':
              if (byKey === undefined) items.push(event.object);
              else byKey.set(keyOf(event.object), event.object);
              break;
            case 'MODIFIED':
            case 'DELETED':
              if (byKey === undefined) {
                byKey = new Map();
                for (const o of items) byKey.set(keyOf(o), o);
                items = [];
              }
              if (event.type === 'MODIFIED') byKey.set(keyOf(event.object), event.object);
              else byKey.delete(keyOf(event.object));
              break;
            case 'BOOKMARK': {
              if (event.object.metadata.annotations?.[INITIAL_EVENTS_END_ANNOTATION] !== 'true')
                break;
              disarm();
              const rv = event.object.metadata.resourceVersion;
              const failed = this.#commitList(
                byKey === undefined ? items : [...byKey.values()],
                rv,
              );
              if (failed !== undefined) {
                this.#close(open);
                return failed;
              }
              // What followed the bookmark in the same batch is the watch's first events.
              if (i + 1 < batch.length) open.rest = batch.slice(i + 1);
              return { phase: 'watch', stream: open };
            }
            case 'ERROR':
              throw statusError(event.object);
          }
        }
      }
    } catch (err) {
      disarm();
      this.#close(open);
      if (signal.aborted) return STOPPED;
      if (err instanceof ApiStatusError && [400, 403, 422].includes(err.statusCode)) {
        return unsupported(err, 'server refused the streaming list, falling back to LIST');
      }
      if (isGone(err) || isTooLargeResourceVersion(err)) {
        this.#rvUnavailable = true;
        this.#recovered(this.#error('watch-start', err, 'streaming list RV unavailable'));
        return { phase: 'stream-list' };
      }
      // Transient: LIST this time (making progress beats insisting), stream again next relist.
      const stage =
        err instanceof ApiStatusError && !open.opened ? 'watch-start' : this.#stageOf(err, open);
      const requestedRv = this.#relistRv();
      return this.#fail(this.#error(stage, open.stalled ?? err, 'streaming list failed'), {
        phase: 'list',
        requestedRv,
        paged: this.#pagedAt(requestedRv),
        items: [],
      });
    }
  }
}

/** Adapts a per-event watch stream to batches of one event. */
function batchesOfOne<T extends KubeObject>(
  it: AsyncIterator<WatchEvent<T>>,
): AsyncIterator<readonly WatchEvent<T>[]> {
  return {
    next: async () => {
      const r = await it.next();
      return r.done === true ? { value: undefined, done: true } : { value: [r.value] };
    },
    return: async () => {
      await it.return?.();
      return { value: undefined, done: true };
    },
  };
}

/** `ADDED default/web` for error messages. */
function describe(event: WatchEvent<KubeObject>): string {
  const meta = event.object.metadata as { namespace?: string; name?: string } | undefined;
  const name = meta?.name === undefined ? '(no name)' : meta.name;
  return `${event.type} ${meta?.namespace === undefined ? '' : meta.namespace + '/'}${name}`;
}
