/**
 * The raw watcher: the event stream of one resource, for consumers that want the events rather
 * than a cache (kube-rs' `watcher()`). It lists, watches from the list's resourceVersion with
 * bookmarks, resumes from the last resourceVersion when the server ends a watch, relists on
 * 410 Gone, and backs off on every other failure, forever, while telling the consumer what
 * happened through the events it yields.
 *
 * ## The view, and RESTARTED
 *
 * A list (the initial one, and every relist after 410 Gone) is delivered as **one** `RESTARTED`
 * event carrying every listed object: "your view of the resource is now exactly these objects,
 * as of this resourceVersion". The initial list is not a separate phase of ADDED events,
 * because after a relist nobody could tell a stale ADDED from a real one, and objects deleted
 * during the gap would never be reported; with RESTARTED the consumer replaces its view and
 * diffs if it cares (the informer does exactly that with `replace`). The paged pages of one
 * list, or the initial events of a streaming list (`sendInitialEvents`), are collected into that
 * single event. Between two RESTARTED events the ADDED/MODIFIED/DELETED/BOOKMARK events are the
 * server's watch stream, gap-free and without duplicates across reconnects.
 *
 * ## Pull-based
 *
 * The watcher is an async generator: it reads the next watch event only when the consumer asks
 * for the next one, so the consumer's pace is the watcher's pace and nothing is buffered beyond
 * what the HTTP stream holds. A backoff starts when the consumer pulls after the `ERROR` event
 * that announced it. Stall detection counts only the time spent waiting on the server, never
 * the time the consumer spends between pulls.
 *
 * ## The state machine
 *
 * As the {@link Reflector}'s: {@link WatcherPhase} names the states (`list`, `stream-list`,
 * `watch`, `backoff`, `stopped`) and one step function per state performs its work, yields the
 * events it produced and returns the next state. The resourceVersion policy and the error
 * classification are the reflector's (`watch-policy.ts`): lists ask for "0" first, then the last
 * resourceVersion seen, then "" once the server said it is unavailable; watches resume from the
 * resourceVersion of the last event or bookmark.
 */
import { Backoff, type BackoffOptions } from './backoff.js';
import { type Clock, realClock, sleep } from './clock.js';
import { ApiStatusError, KubecacheError } from './errors.js';
import {
  INITIAL_EVENTS_END_ANNOTATION,
  type ListerWatcher,
  type WatchEvent,
} from './lister-watcher.js';
import type { WatchStalledError } from './reflector-errors.js';
import { ReflectorError, type ReflectorStage } from './reflector-errors.js';
import type { KubeObject } from './types.js';
import {
  armStallWatchdog,
  isTooLargeResourceVersion,
  listIsPaged,
  needsRelist,
  relistResourceVersion,
  retryAfterMs,
  watchEventError,
  watchFailureStage,
  watchTimeoutSeconds,
} from './watch-policy.js';

/**
 * What the watcher does after an `ERROR` event: `relist` (a `RESTARTED` follows) or `rewatch`
 * (the watch resumes from the last resourceVersion, nothing is lost).
 */
export type WatcherRecovery = 'relist' | 'rewatch';

/**
 * One event of {@link watch}, a discriminated union on `type`.
 *
 * - `RESTARTED`: a list: the view is now exactly `objects` at `resourceVersion` (the initial
 *   list, with `initial: true`, and every relist after 410 Gone).
 * - `ADDED` / `MODIFIED` / `DELETED`: one change, in the server's order.
 * - `BOOKMARK`: the server's progress mark; the watcher resumes from it after a reconnect.
 * - `ERROR`: a failure the watcher recovers from on its own, after `delayMs`, by `recovery`.
 *   `error.stage` says where it failed; `error.apiStatus` is the HTTP/Status error, if any.
 *
 * @example
 * ```ts
 * const view = new Map<string, Pod>();
 * for await (const ev of watch(lw, { signal })) {
 *   if (ev.type === 'RESTARTED') { view.clear(); for (const o of ev.objects) view.set(metaNamespaceKeyFunc(o), o); }
 *   else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') view.set(metaNamespaceKeyFunc(ev.object), ev.object);
 *   else if (ev.type === 'DELETED') view.delete(metaNamespaceKeyFunc(ev.object));
 *   else if (ev.type === 'ERROR' && ev.error.apiStatus?.statusCode === 403) break; // give up
 * }
 * ```
 */
export type WatcherEvent<T extends KubeObject> =
  | {
      readonly type: 'RESTARTED';
      readonly objects: readonly T[];
      readonly resourceVersion: string;
      /** The first list of this iteration (false after a relist, or when started at an RV). */
      readonly initial: boolean;
    }
  | { readonly type: 'ADDED'; readonly object: T }
  | { readonly type: 'MODIFIED'; readonly object: T }
  | { readonly type: 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string }
  | {
      readonly type: 'ERROR';
      readonly error: ReflectorError;
      readonly recovery: WatcherRecovery;
      /** How long the watcher waits before recovering (0: at once), ms. */
      readonly delayMs: number;
    };

/** The type names of {@link WatcherEvent}. */
export type WatcherEventType = WatcherEvent<KubeObject>['type'];

/**
 * Options of {@link watch}.
 *
 * @example
 * ```ts
 * watch(lw, { signal, labelSelector: 'app=web', clock: new FakeClock(), random: seededRandom(7) });
 * ```
 */
export interface WatcherOptions {
  /** Ends the iteration: the `for await` loop exits normally, the open watch is closed. */
  readonly signal: AbortSignal;
  /**
   * Start watching at this resourceVersion, without an initial list (resume where a previous
   * run stopped). Should it be too old, the server answers 410 and the watcher relists
   * (`RESTARTED` with `initial: false`).
   */
  readonly resourceVersion?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** LIST page size (`limit`). Default 500; 0 lists unpaged. */
  readonly pageSize?: number;
  /**
   * Lists with a streaming list (`sendInitialEvents=true`: the current state as watch events,
   * then the same stream carries on), falling back to LIST when the server refuses. Default false.
   */
  readonly sendInitialEvents?: boolean;
  /** Backoff tuning; default 800 ms doubling to 30 s with jitter, reset after 2 min healthy. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Time source (backoff, stall detection). Default the real clock. */
  readonly clock?: Clock;
  /** Random source in [0, 1) for jitter and watch timeouts. Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Reconnect a watch when the watcher has waited this long for it without receiving a byte.
   * Default 660 000 (beyond the longest server-side watch timeout); 0 disables.
   */
  readonly stallTimeoutMs?: number;
  /** A name for errors. Default `watcher`. */
  readonly name?: string;
}

/** The states of a {@link Watcher} (see the module comment). */
export type WatcherPhase = 'list' | 'stream-list' | 'watch' | 'backoff' | 'stopped';

/** An open watch stream and the means to stop it. */
interface OpenWatch<T extends KubeObject> {
  readonly iterator: AsyncIterator<WatchEvent<T>>;
  readonly controller: AbortController;
  readonly openedAt: number;
  opened: boolean;
  events: number;
  /** When the watcher started waiting for the next event, or undefined while the consumer has it. */
  waitingSince: number | undefined;
  lastBytesAt: number;
  stalled: WatchStalledError | undefined;
  disarm: () => void;
}

type State<T extends KubeObject> =
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
  | { readonly phase: 'backoff'; readonly delayMs: number; readonly next: State<T> }
  | { readonly phase: 'stopped' };

/** A step: yields the events it produced, returns the next state. */
type Step<T extends KubeObject> = AsyncGenerator<WatcherEvent<T>, State<T>, undefined>;

const STOPPED = { phase: 'stopped' } as const;

/**
 * The event stream of one resource: list, then watch with bookmarks; resume after the server
 * ends a watch, relist (`RESTARTED`) after 410, back off after anything else. One iteration at
 * a time; iterate again after it ended to start over (with an initial list).
 *
 * @example
 * ```ts
 * const w = watch(lw, { signal });
 * for await (const ev of w) {
 *   if (ev.type === 'ERROR') console.warn(ev.error.stage, ev.error.message, `${ev.recovery} in ${ev.delayMs} ms`);
 *   else console.log(ev.type, w.resourceVersion()); // the RV a reconnect would resume from
 * }
 * ```
 */
export class Watcher<T extends KubeObject> implements AsyncIterable<WatcherEvent<T>> {
  readonly name: string;
  readonly #lw: ListerWatcher<T>;
  readonly #options: WatcherOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #backoff: Backoff;
  readonly #pageSize: number;
  readonly #stallTimeoutMs: number;
  #streaming = false;
  #lastRv = '';
  #rvUnavailable = false;
  /** A list came back in more than one page: the server pages this resource. */
  #serverPaged = false;
  #goneStreak = 0;
  #lists = 0;
  #iterating = false;
  #state: State<T> = STOPPED;

  constructor(listerWatcher: ListerWatcher<T>, options: WatcherOptions) {
    this.name = options.name ?? 'watcher';
    this.#lw = listerWatcher;
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#backoff = new Backoff({
      options: options.backoff,
      clock: this.#clock,
      random: this.#random,
    });
    this.#pageSize = options.pageSize ?? 500;
    this.#stallTimeoutMs = options.stallTimeoutMs ?? 660_000;
  }

  /** The resourceVersion a reconnect resumes from: of the last list, event or bookmark. */
  resourceVersion(): string {
    return this.#lastRv;
  }

  /** The current state, for diagnostics and tests. */
  phase(): WatcherPhase {
    return this.#state.phase;
  }

  /**
   * Starts an iteration. Only one at a time: the first `next()` of a second concurrent one
   * rejects with code `WatcherAlreadyRunning`.
   */
  [Symbol.asyncIterator](): AsyncIterator<WatcherEvent<T>> {
    return this.#run();
  }

  async *#run(): AsyncGenerator<WatcherEvent<T>, void, undefined> {
    // Checked on the first next(), not at creation: an iterator that is created and dropped
    // without being started never runs its `finally`, and would block the watcher for good.
    if (this.#iterating) {
      throw new KubecacheError('WatcherAlreadyRunning', `watcher ${this.name} is already iterated`);
    }
    this.#iterating = true;
    const signal = this.#options.signal;
    this.#streaming = this.#options.sendInitialEvents ?? false;
    this.#lastRv = this.#options.resourceVersion ?? '';
    this.#rvUnavailable = false;
    this.#goneStreak = 0;
    this.#lists = this.#lastRv === '' ? 0 : 1; // started at an RV: no RESTARTED is "initial"
    this.#backoff.reset();
    try {
      this.#state = this.#lastRv === '' ? this.#listState() : { phase: 'watch' };
      while (this.#state.phase !== 'stopped' && !signal.aborted) {
        this.#state = yield* this.#step(this.#state, signal);
      }
    } finally {
      // A step closes its own stream when the consumer breaks out; only a stream handed from a
      // streaming list to the watch that never ran is left.
      if (this.#state.phase === 'watch' && this.#state.stream) this.#close(this.#state.stream);
      this.#state = STOPPED;
      this.#iterating = false;
    }
  }

  #step(state: State<T>, signal: AbortSignal): Step<T> {
    switch (state.phase) {
      case 'list':
        return this.#listPage(state, signal);
      case 'stream-list':
        return this.#streamList(signal);
      case 'watch':
        return this.#watch(state.stream, signal);
      case 'backoff':
        return this.#wait(state, signal);
      case 'stopped':
        return this.#done();
    }
  }

  // eslint-disable-next-line require-yield -- a step that yields nothing
  async *#wait(state: Extract<State<T>, { phase: 'backoff' }>, signal: AbortSignal): Step<T> {
    try {
      await sleep(this.#clock, state.delayMs, signal);
    } catch {
      return STOPPED;
    }
    return state.next;
  }

  // eslint-disable-next-line require-yield -- a step that yields nothing
  async *#done(): Step<T> {
    return STOPPED;
  }

  #listState(): State<T> {
    if (this.#streaming) return { phase: 'stream-list' };
    const requestedRv = relistResourceVersion(this.#lastRv, this.#rvUnavailable);
    return {
      phase: 'list',
      requestedRv,
      paged: listIsPaged(requestedRv, this.#pageSize, this.#serverPaged),
      items: [],
    };
  }

  #error(stage: ReflectorStage, cause: unknown, what: string): ReflectorError {
    const message = cause instanceof Error ? cause.message : String(cause);
    return new ReflectorError(stage, `watcher ${this.name}: ${what}: ${message}`, {
      reflector: this.name,
      resourceVersion: this.#lastRv,
      cause,
      code: 'WatcherError',
    });
  }

  /**
   * The ERROR event of a failure and the state after it: `next` after a backoff (or Retry-After),
   * or at once when `immediate`.
   */
  #failure(error: ReflectorError, next: State<T>, immediate = false): [WatcherEvent<T>, State<T>] {
    const delayMs = immediate ? 0 : (retryAfterMs(error.cause) ?? this.#backoff.next());
    const recovery: WatcherRecovery = next.phase === 'watch' ? 'rewatch' : 'relist';
    const event: WatcherEvent<T> = { type: 'ERROR', error, recovery, delayMs };
    return [event, delayMs > 0 ? { phase: 'backoff', delayMs, next } : next];
  }

  /** A complete list: the new view, as one RESTARTED. */
  #restarted(objects: readonly T[], resourceVersion: string): WatcherEvent<T> {
    this.#lastRv = resourceVersion;
    this.#rvUnavailable = false;
    this.#backoff.reset();
    return { type: 'RESTARTED', objects, resourceVersion, initial: this.#lists++ === 0 };
  }

  // -------------------------------------------------------------------------------------------
  // LIST

  async *#listPage(state: Extract<State<T>, { phase: 'list' }>, signal: AbortSignal): Step<T> {
    const continuing = state.continueToken !== undefined;
    let page;
    try {
      page = await this.#lw.list({
        // A continuation carries its snapshot in the token; RV must not be repeated.
        resourceVersion: continuing ? undefined : state.requestedRv,
        limit: state.paged ? this.#pageSize : undefined,
        continue: state.continueToken,
        labelSelector: this.#options.labelSelector || undefined,
        fieldSelector: this.#options.fieldSelector || undefined,
        signal,
      });
    } catch (err) {
      if (signal.aborted) return STOPPED;
      if (needsRelist(err)) {
        if (continuing) {
          // The continue token expired mid-list: one unpaged list at the same RV, as client-go.
          const error = this.#error('list', err, 'continue token expired, listing in full');
          yield { type: 'ERROR', error, recovery: 'relist', delayMs: 0 };
          return { phase: 'list', requestedRv: state.requestedRv, paged: false, items: [] };
        }
        if (state.requestedRv !== '') {
          // Our RV is unknown to the server: a quorum read ("") always works.
          this.#rvUnavailable = true;
          const error = this.#error(
            'list',
            err,
            `resourceVersion ${state.requestedRv} unavailable`,
          );
          yield { type: 'ERROR', error, recovery: 'relist', delayMs: 0 };
          return this.#listState();
        }
      }
      // Anything else: retry this very page after a backoff.
      const [event, next] = this.#failure(this.#error('list', err, 'list failed'), state);
      yield event;
      return next;
    }
    let items = state.items;
    if (items.length === 0) items = page.items;
    else for (const item of page.items) items.push(item);
    const listRv = state.listRv ?? page.resourceVersion;
    if (page.continue) {
      this.#serverPaged = true;
      return { ...state, continueToken: page.continue, listRv, items };
    }
    yield this.#restarted(items, listRv);
    return { phase: 'watch' };
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
    const now = this.#clock.now();
    const open: OpenWatch<T> = {
      iterator: undefined as unknown as AsyncIterator<WatchEvent<T>>,
      controller,
      openedAt: now,
      opened: false,
      events: 0,
      waitingSince: undefined,
      lastBytesAt: now,
      stalled: undefined,
      disarm: () => {},
    };
    const iterable = this.#lw.watch({
      resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: watchTimeoutSeconds(this.#random),
      labelSelector: this.#options.labelSelector || undefined,
      fieldSelector: this.#options.fieldSelector || undefined,
      ...(streaming
        ? { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' as const }
        : {}),
      signal: controller.signal,
      onOpen: () => {
        open.opened = true;
        open.lastBytesAt = this.#clock.now();
      },
      onBytes: () => {
        open.lastBytesAt = this.#clock.now();
      },
    });
    (open as { iterator: AsyncIterator<WatchEvent<T>> }).iterator =
      iterable[Symbol.asyncIterator]();
    open.disarm = this.#watchdog(open);
    return open;
  }

  /**
   * Aborts a watch the watcher has waited on for the stall window without a byte. Only waiting
   * time counts: a consumer that holds an event for an hour does not make the stream "stalled".
   */
  #watchdog(open: OpenWatch<T>): () => void {
    // Only time spent waiting on the server counts: not the time the consumer holds an event.
    return armStallWatchdog(
      this.#clock,
      this.#stallTimeoutMs,
      () => {
        const since = open.waitingSince;
        return since === undefined ? 0 : this.#clock.now() - Math.max(since, open.lastBytesAt);
      },
      (stalled) => {
        open.stalled = stalled;
        open.controller.abort(stalled);
      },
    );
  }

  #close(open: OpenWatch<T>): void {
    open.disarm();
    if (!open.controller.signal.aborted) open.controller.abort();
    // Release the iterator's resources; it is aborted, so this settles promptly.
    open.iterator.return?.().catch(() => {});
  }

  /** The next event of `open`, timing the wait for the watchdog. */
  async #next(open: OpenWatch<T>): Promise<IteratorResult<WatchEvent<T>>> {
    open.waitingSince = this.#clock.now();
    try {
      return await open.iterator.next();
    } finally {
      open.waitingSince = undefined;
    }
  }

  async *#watch(existing: OpenWatch<T> | undefined, signal: AbortSignal): Step<T> {
    const open = existing ?? this.#open(this.#lastRv, signal, false);
    let stage: ReflectorStage | undefined;
    let failure: unknown;
    try {
      for (;;) {
        let r: IteratorResult<WatchEvent<T>>;
        try {
          r = await this.#next(open);
        } catch (err) {
          if (signal.aborted) return STOPPED;
          stage = open.stalled !== undefined ? 'watch-stream' : watchFailureStage(err, open.opened);
          failure = open.stalled ?? err;
          break;
        }
        if (r.done) break;
        const event = r.value;
        if (event.type === 'ERROR') {
          stage = 'watch-event';
          failure = watchEventError(event.object);
          break;
        }
        // A watch that delivers events is healthy: the next failure starts a fresh backoff.
        if (open.events++ === 0) this.#backoff.reset();
        this.#goneStreak = 0;
        const rv = event.object.metadata?.resourceVersion;
        if (rv) this.#lastRv = rv;
        yield event.type === 'BOOKMARK'
          ? { type: 'BOOKMARK', resourceVersion: event.object.metadata.resourceVersion }
          : event;
        if (signal.aborted) return STOPPED;
      }
    } finally {
      this.#close(open);
    }
    if (signal.aborted) return STOPPED;
    if (stage !== undefined) {
      const [event, next] = this.#afterWatchError(failure, stage, open);
      yield event;
      return next;
    }
    // A clean end (the server's timeoutSeconds, a restart): resume from the last RV. A watch
    // that ended at once without a single event waits first, so a sick server is not hammered.
    if (open.events === 0 && this.#clock.now() - open.openedAt < 1000) {
      return { phase: 'backoff', delayMs: this.#backoff.next(), next: { phase: 'watch' } };
    }
    return { phase: 'watch' };
  }

  #afterWatchError(
    err: unknown,
    stage: ReflectorStage,
    open: OpenWatch<T>,
  ): [WatcherEvent<T>, State<T>] {
    // The cause's message already says "watch ERROR event" for a stage `watch-event`.
    const error = this.#error(stage, err, 'watch failed');
    if (needsRelist(err)) {
      // Our RV fell out of the server's history: relist. Twice in a row backs off first.
      if (isTooLargeResourceVersion(err)) this.#rvUnavailable = true;
      this.#goneStreak++;
      return this.#failure(error, this.#listState(), this.#goneStreak <= 1);
    }
    // A stalled connection is dead, not the server: reconnect at once.
    return this.#failure(error, { phase: 'watch' }, open.stalled !== undefined);
  }

  // -------------------------------------------------------------------------------------------
  // STREAMING LIST

  /**
   * A streaming list: the initial ADDED events up to the `k8s.io/initial-events-end` bookmark
   * become one RESTARTED, then the same stream carries on as the watch. A server that refuses
   * the parameters (400/403/422) or ends the stream without the end bookmark does not support
   * it: from then on this watcher uses LIST.
   */
  async *#streamList(signal: AbortSignal): Step<T> {
    const requested = this.#rvUnavailable ? '' : this.#lastRv;
    const open = this.#open(requested, signal, true);
    const view = new Map<string, T>();
    const keyOf = (o: T): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    let handedOver = false;
    try {
      for (;;) {
        const r = await this.#next(open);
        if (r.done) {
          this.#streaming = false;
          const cause = new KubecacheError(
            'StreamingListUnsupported',
            'stream ended without the initial-events-end bookmark',
          );
          const error = this.#error('watch-stream', cause, 'streaming list unsupported');
          yield { type: 'ERROR', error, recovery: 'relist', delayMs: 0 };
          return this.#listState();
        }
        const event = r.value;
        switch (event.type) {
          case 'ADDED':
          case 'MODIFIED':
            view.set(keyOf(event.object), event.object);
            break;
          case 'DELETED':
            view.delete(keyOf(event.object));
            break;
          case 'BOOKMARK':
            if (event.object.metadata.annotations?.[INITIAL_EVENTS_END_ANNOTATION] === 'true') {
              yield this.#restarted([...view.values()], event.object.metadata.resourceVersion);
              // Handed over only now: a consumer that breaks at the yield gets the stream closed.
              handedOver = true;
              return { phase: 'watch', stream: open };
            }
            break;
          case 'ERROR':
            throw watchEventError(event.object);
        }
      }
    } catch (err) {
      if (signal.aborted) return STOPPED;
      if (err instanceof ApiStatusError && [400, 403, 422].includes(err.statusCode)) {
        this.#streaming = false;
        const error = this.#error('watch-start', err, 'streaming list refused, using LIST');
        yield { type: 'ERROR', error, recovery: 'relist', delayMs: 0 };
        return this.#listState();
      }
      if (needsRelist(err)) {
        this.#rvUnavailable = true;
        const error = this.#error('watch-start', err, 'streaming list RV unavailable');
        yield { type: 'ERROR', error, recovery: 'relist', delayMs: 0 };
        return { phase: 'stream-list' };
      }
      const stage =
        open.stalled !== undefined ? 'watch-stream' : watchFailureStage(err, open.opened);
      const [event, next] = this.#failure(
        this.#error(stage, open.stalled ?? err, 'streaming list failed'),
        { phase: 'stream-list' },
      );
      yield event;
      return next;
    } finally {
      // The stream lives on as the watch only when handed over.
      if (!handedOver) this.#close(open);
    }
  }
}

/**
 * Watches one resource as a stream of {@link WatcherEvent}s (kube-rs' `watcher()`): one
 * `RESTARTED` with the listed objects, then the changes; it reconnects, relists and backs off on
 * its own and reports what it did as `ERROR` events. Ends when `signal` aborts or the loop breaks.
 *
 * @example
 * ```ts
 * const lw = new KubeListerWatcher<ConfigMap>(kc, { resource: resources.configmaps, namespace: 'default' });
 * for await (const ev of watch(lw, { signal: AbortSignal.timeout(60_000) })) {
 *   switch (ev.type) {
 *     case 'RESTARTED': console.log(`view: ${ev.objects.length} objects @${ev.resourceVersion}`); break;
 *     case 'BOOKMARK': break; // progress only: a reconnect resumes here
 *     case 'ERROR': console.warn(`${ev.error.stage}: ${ev.error.message}; ${ev.recovery} in ${ev.delayMs} ms`); break;
 *     default: console.log(ev.type, ev.object.metadata?.name);
 *   }
 * }
 * ```
 */
export function watch<T extends KubeObject>(
  listerWatcher: ListerWatcher<T>,
  options: WatcherOptions,
): Watcher<T> {
  return new Watcher(listerWatcher, options);
}
