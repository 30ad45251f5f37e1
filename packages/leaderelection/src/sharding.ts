/**
 * Sharding: N replicas of one controller split its objects between them by hash range, and each
 * caches and reconciles only its part. Membership is kept on `coordination.k8s.io/v1` Leases;
 * the split is KEP-5866's (`rangeFor(i, n)` of the 64-bit FNV-1a hash of `metadata.uid` or
 * `metadata.namespace`), so informers ask the API server for their part with `shardSelector`.
 *
 * ## The protocol
 *
 * - **Membership.** Each replica holds one Lease, `<name>-<identity>`, labelled
 *   `sharding.kubecache.io/group=<name>`, and renews it every `retryPeriodMs` as a leader renews
 *   (`LeaseLock`, a strictly increasing `renewTime`). Each tick it also lists the group's Leases.
 *   A member is *live* while its Lease was seen to change within its `leaseDurationSeconds` on
 *   the local clock (the elector's skew-tolerant rule; a Lease seen for the first time counts as
 *   just changed). A released Lease (`holderIdentity: ''`) is not a member.
 * - **Desired range.** Live identities sorted; member i of n wants `rangeFor(i, n)`.
 * - **Owned range.** Each member publishes, in the annotation `sharding.kubecache.io/owned` of
 *   its own Lease, the ranges it owns (a shard selector's wire text; empty for none). It
 *   processes (caches and reconciles) only inside what it last *wrote successfully*.
 * - **Shrink first.** When its desired range no longer covers part of what it processes, a member
 *   stops its work (no new keys; in-flight reconciles finish: the work's promise settles), and
 *   only then publishes the smaller range.
 * - **Grow only into free hashes, claim then check.** A member claims the part of its desired
 *   range that no other live member publishes (a released range, a dead member's range) by
 *   publishing it; once that write succeeded it lists the Leases again, drops whatever another
 *   live member now also publishes, and only then processes the rest. Two members claiming the
 *   same hash at once cannot both miss each other: the one whose check read came second sees the
 *   other's claim (the Leases live in one linearizable store). Views of membership converge
 *   within a tick, after which desired ranges are disjoint and claims do not collide.
 * - **Stop before anyone may take over.** A member whose renewals fail stops all work
 *   `renewDeadlineMs` after it sent its last successful write, and forgets what it owned; others
 *   ignore its published range only `leaseDurationMs` after they saw that write. Its work must
 *   settle within `leaseDurationMs − renewDeadlineMs` (keep a `Controller`'s `drainTimeoutMs`
 *   below that). A write sent before the deadline that lands after it does not count. When it can
 *   write again it rejoins owning nothing.
 *
 * - **One work per range.** The user's `work(shard, signal)` builds the informers (asking for
 *   `shard.selector`) and the controller for exactly the range processed; any change, a grow
 *   included, aborts it, waits for it to settle and starts a new one: simple, at the cost of a
 *   fresh LIST of the new range.
 *
 * So no hash is processed by two members at once: processing grows only after a published claim
 * survived a later read, shrinks before the publication does, and stops on a lost Lease before
 * the Lease can be considered expired. Published ranges of live members may overlap only while
 * two claims race, and neither claimant processes the overlap before its check. Like leader
 * election, this is not fencing: a process frozen past its deadline (a stopped VM) may act late.
 *
 * @module
 */
import {
  compileShardSelector,
  consoleLogger,
  DeletedFinalStateUnknown,
  describeError,
  formatShardSelector,
  KubecacheError,
  parseShardSelector,
  rangeFor,
  realClock,
  SHARD_HASH_SPACE,
  sleep,
  type Clock,
  type HandlerRegistration,
  type KubeObject,
  type Logger,
  type ResourceEventHandler,
  type ShardField,
  type ShardRange,
  type ShardSelector,
  type TimerHandle,
} from '@kubecache/cache';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { requestOptions } from './client-request.js';
import { validateTimings } from './elector.js';
import { LeaderElectionConfigError } from './errors.js';
import { LeaseLock, type LeaseApi } from './lease-lock.js';
import { microTime, type LeaseRecord } from './record.js';
import {
  coverage,
  describeRanges,
  EMPTY,
  equal,
  intersect,
  isEmpty,
  normalize,
  subtract,
  union,
  type RangeSet,
} from './sharding-ranges.js';

/**
 * The label that puts a membership Lease in a shard group (its value is the group's name).
 *
 * @example
 * ```ts
 * const selector = `${SHARD_GROUP_LABEL}=my-controller`; // kubectl get leases -l …
 * ```
 */
export const SHARD_GROUP_LABEL = 'sharding.kubecache.io/group';

/**
 * The annotation in which a member publishes the hash ranges it owns: a shard selector's wire
 * text (`formatShardSelector`), or `''` for none.
 *
 * @example
 * ```ts
 * const ownedBy = (annotations: Record<string, string> | undefined): readonly ShardRange[] => {
 *   const text = annotations?.[SHARD_OWNED_ANNOTATION] ?? '';
 *   return text === '' ? [] : parseShardSelector(text).ranges;
 * };
 * ```
 */
export const SHARD_OWNED_ANNOTATION = 'sharding.kubecache.io/owned';

/**
 * The calls of client-node's `CoordinationV1Api` a coordinator makes: its own Lease's (as a
 * {@link LeaseApi}) and the list of its group's Leases. A `CoordinationV1Api` is one; pass a
 * wrapper to share or instrument it.
 *
 * @example
 * ```ts
 * let lists = 0;
 * const counting = (api: ShardLeaseApi): ShardLeaseApi => ({
 *   readNamespacedLease: (p, o) => api.readNamespacedLease(p, o),
 *   createNamespacedLease: (p, o) => api.createNamespacedLease(p, o),
 *   replaceNamespacedLease: (p, o) => api.replaceNamespacedLease(p, o),
 *   listNamespacedLease: (p, o) => (lists++, api.listNamespacedLease(p, o)),
 * });
 * ```
 */
export type ShardLeaseApi = LeaseApi & Pick<CoordinationV1Api, 'listNamespacedLease'>;

/**
 * A sharding misconfiguration: an empty or invalid group name or identity, timings that break
 * the elector's rules, no API client, `run` while running. `code` is `'ShardingConfig'`; `field`
 * names the offending option.
 *
 * @example
 * ```ts
 * try {
 *   new ShardCoordinator({ kubeConfig: kc, namespace: 'default', name: 'My Controller', identity: 'a', work: async () => {} });
 * } catch (err) {
 *   if (err instanceof ShardingConfigError) console.error(err.field, err.message, err.hint);
 * }
 * ```
 */
export class ShardingConfigError extends KubecacheError {
  /** The option at fault, e.g. `name`. */
  readonly field: string;

  constructor(field: string, message: string, hint?: string) {
    super('ShardingConfig', message, { hint });
    this.field = field;
  }
}

/**
 * The work of a shard settled before its signal aborted: the coordinator cannot tell a finished
 * work from a crashed one, and a shard nobody processes is an outage, so it stops (releasing its
 * Lease when configured) and `run` rejects with this. `code` is `'ShardWorkEnded'`.
 *
 * @example
 * ```ts
 * async function serve(coordinator: ShardCoordinator): Promise<void> {
 *   try { await coordinator.run(signal); } catch (err) {
 *     if (err instanceof ShardWorkEndedError) console.error(err.message, err.hint);
 *   }
 * }
 * ```
 */
export class ShardWorkEndedError extends KubecacheError {
  constructor(group: string, identity: string, ranges: string) {
    super(
      'ShardWorkEnded',
      `shard group ${group}: the work of ${identity} for ${ranges} settled before its signal aborted`,
      {
        hint: 'keep the work running until its signal aborts, e.g. `await controller.run(signal)`; it is restarted on each range change',
      },
    );
  }
}

/**
 * What {@link Shard.source} wraps and returns: an informer as a `Controller` takes it (the shape
 * of `ControllerSource` from `@kubecache/workqueue`).
 *
 * @example
 * ```ts
 * const onlyMine = (shard: Shard) => shard.source(informer); // a ShardSource of the informer's objects
 * ```
 */
export interface ShardSource<T extends KubeObject> {
  readonly name: string;
  addEventHandler(
    handler: ResourceEventHandler<T>,
    options?: { readonly name?: string },
  ): HandlerRegistration;
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  getStore(): { list(): readonly T[] };
}

/** Anything with the metadata a shard hashes (full objects, read-only ones, metadata only). */
export interface ShardHashable {
  readonly metadata?: { readonly uid?: string; readonly namespace?: string };
}

/**
 * The hash ranges a replica processes, as its work receives them: build the informers with
 * `shardSelector: shard.selector`, so the replica caches only this part.
 *
 * @example
 * ```ts
 * const work = async (shard: Shard, signal: AbortSignal): Promise<void> => {
 *   const f = new SharedInformerFactory(kc, { shardSelector: shard.selector });
 *   console.log(`processing ${shard.describe()} of ${shard.members.length} members`);
 *   f.start(signal);
 *   await f.waitForCacheSync(signal);
 *   await f.shutdown();
 * };
 * ```
 */
export interface Shard {
  /** The shard group (the coordinator's `name`). */
  readonly group: string;
  readonly identity: string;
  readonly field: ShardField;
  /** Sorted, disjoint, non-empty. */
  readonly ranges: readonly ShardRange[];
  /** `{ field, ranges }`: the `shardSelector` option of a factory or informer. */
  readonly selector: ShardSelector;
  /** The live members (sorted identities) when this range was taken. Informational. */
  readonly members: readonly string[];
  /** Whether `obj`'s hash lies in this shard. */
  matches(obj: ShardHashable): boolean;
  /**
   * `informer` with every event of an object outside this shard dropped before a handler sees
   * it: pass it to `Controller.for`/`owns`/`watches` so no out-of-shard key is ever queued, even
   * from an informer that is not sharded (a check on top of the `shardSelector`).
   */
  source<T extends KubeObject>(informer: ShardSource<T>): ShardSource<T>;
  /** The ranges as `[0x…, 0x…) ∪ …`, for logs. */
  describe(): string;
}

/**
 * A member of the shard group as this replica last saw it.
 *
 * @example
 * ```ts
 * const describeGroup = (members: readonly ShardMember[]): string =>
 *   members.map((m) => `${m.identity}${m.live ? '' : ' (expired)'}: ${m.owned.length} range(s)`).join(', ');
 * ```
 */
export interface ShardMember {
  readonly identity: string;
  /** The member's Lease name. */
  readonly lease: string;
  /** Seen to change within its lease duration (this replica counts itself live while joined). */
  readonly live: boolean;
  /** What it publishes as owned; the whole hash space when that cannot be read (see below). */
  readonly owned: readonly ShardRange[];
  /** Local clock time at which its Lease was last seen to change. */
  readonly observedAt: number;
}

/**
 * A change of what this replica processes, for logs and metrics.
 *
 * @example
 * ```ts
 * const onShardChange = ({ identity, coverage, reason }: ShardChange): void =>
 *   console.log(`${identity} now processes ${(coverage * 100).toFixed(1)}% of the objects (${reason})`);
 * ```
 */
export interface ShardChange {
  readonly group: string;
  readonly identity: string;
  /** What it processes from now on (empty: nothing). */
  readonly ranges: readonly ShardRange[];
  /** The fraction of the hash space that is, in [0, 1]. */
  readonly coverage: number;
  /**
   * `grew` (claims confirmed), `shrank` (drained, then published), `lost` (renew deadline
   * passed: everything dropped), `stopped` (`run`'s signal aborted, or its work failed).
   */
  readonly reason: 'grew' | 'shrank' | 'lost' | 'stopped';
  readonly members: readonly string[];
  /** Local clock time (`Clock.now()`). */
  readonly at: number;
}

/**
 * Options of {@link ShardCoordinator}.
 *
 * Timings follow the elector's rules (`leaseDurationMs > renewDeadlineMs > 1.2 ×
 * retryPeriodMs`, `leaseDurationMs ≥ 1000`); a dead member's range is taken over
 * `leaseDurationMs` to `leaseDurationMs + 2 × retryPeriodMs` after its last renewal.
 *
 * @example
 * ```ts
 * const options: ShardCoordinatorOptions = {
 *   kubeConfig: kc, namespace: 'my-system', name: 'my-controller', identity: process.env.POD_NAME ?? 'dev',
 *   releaseOnCancel: true,
 *   work: async (shard, s) => { console.log(shard.describe()); await sleep(realClock, 1e9, s).catch(() => {}); },
 * };
 * ```
 */
export interface ShardCoordinatorOptions {
  /** Where the Leases live; a `CoordinationV1Api` is made from it. */
  readonly kubeConfig?: KubeConfig;
  /** An API client to use instead of making one from `kubeConfig`. */
  readonly api?: ShardLeaseApi;
  /** The namespace of the membership Leases. */
  readonly namespace: string;
  /**
   * The shard group: one name per sharded controller, the same in every replica. A label value
   * (at most 63 characters); member Leases are named `<name>-<identity>`.
   */
  readonly name: string;
  /** This replica's identity, unique in the group and stable for its life (the pod name). */
  readonly identity: string;
  /** What is hashed: `metadata.uid` (default, even spread) or `metadata.namespace` (namespaces kept whole). */
  readonly field?: ShardField;
  /**
   * Processes one range: build the informers (with `shardSelector: shard.selector`) and the
   * controller, and run them until `signal` aborts. The returned promise must settle only once
   * no reconcile of the range runs any more (`await controller.run(signal)` does, then shut the
   * factory down): the coordinator publishes a shrink, or starts the next range's work, only
   * after it settled. Called again, with a new `Shard`, after every range change.
   */
  readonly work: (shard: Shard, signal: AbortSignal) => Promise<void>;
  /** Default 15 000. How long others wait, after seeing this member's Lease change, before ignoring it. */
  readonly leaseDurationMs?: number;
  /** Default 10 000. How long this member processes without a successful renewal. */
  readonly renewDeadlineMs?: number;
  /** Default 2 000. Renewal and membership-check period. */
  readonly retryPeriodMs?: number;
  /**
   * When `run`'s signal aborts, once the work settled, mark the Lease released (no holder, no
   * owned range) so the others take the range over at their next tick instead of after
   * `leaseDurationMs`. Default false (as for the elector); recommended.
   */
  readonly releaseOnCancel?: boolean;
  /** The local clock of every decision (`FakeClock` in tests). Default the real clock. */
  readonly clock?: Clock;
  /** Wall-clock milliseconds for the informational `acquireTime`/`renewTime`. Default `Date.now`. */
  readonly wallClock?: () => number;
  /** Default `consoleLogger()`. Range changes at info, failed Lease calls at warn. */
  readonly logger?: Logger;
  /** This replica's processed range changed. Must not throw (exceptions are logged). */
  readonly onShardChange?: (change: ShardChange) => void;
}

/** A peer's Lease as last seen. */
interface Peer {
  readonly lease: string;
  readonly identity: string;
  readonly resourceVersion: string;
  readonly observedAt: number;
  readonly durationMs: number;
  readonly owned: RangeSet;
}

/** The work of the range being processed. */
interface Work {
  readonly controller: AbortController;
  readonly done: Promise<void>;
  readonly shard: Shard;
}

const FULL: RangeSet = Object.freeze([{ start: 0n, end: SHARD_HASH_SPACE }]);

/** RFC 1123 subdomain (a Lease name) and label value rules. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Whether every range of `inner` lies in `outer`. */
function covers(outer: RangeSet, inner: RangeSet): boolean {
  return isEmpty(subtract(inner, outer));
}

/**
 * `informer` with events of objects outside the shard dropped (a tombstone without a last state
 * passes: its key is all there is, and the informer it came from decided it was ours).
 */
function filteredSource<T extends KubeObject>(
  informer: ShardSource<T>,
  matches: (obj: ShardHashable) => boolean,
): ShardSource<T> {
  const wrap = (handler: ResourceEventHandler<T>): ResourceEventHandler<T> => {
    const out: ResourceEventHandler<T> = {};
    if (handler.onAdd !== undefined) {
      out.onAdd = (obj, initial) => (matches(obj) ? handler.onAdd?.(obj, initial) : undefined);
    }
    if (handler.onUpdate !== undefined) {
      out.onUpdate = (oldObj, newObj) =>
        matches(newObj) ? handler.onUpdate?.(oldObj, newObj) : undefined;
    }
    if (handler.onDelete !== undefined) {
      out.onDelete = (obj) => {
        const last = obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
        return last === undefined || matches(last) ? handler.onDelete?.(obj) : undefined;
      };
    }
    return out;
  };
  return {
    name: informer.name,
    addEventHandler: (handler, options) => informer.addEventHandler(wrap(handler), options),
    waitForSync: (signal) => informer.waitForSync(signal),
    getStore: () => informer.getStore(),
  };
}

/**
 * Runs one replica of a sharded controller: keeps its membership Lease, computes its range,
 * hands ranges over without double processing (see the module comment), and runs `work` for
 * the range it owns, restarting it on every change.
 *
 * @example
 * ```ts
 * const coordinator = new ShardCoordinator({
 *   kubeConfig: kc,
 *   namespace: 'my-system',
 *   name: 'configmap-checksums',
 *   identity: process.env.POD_NAME ?? 'dev',
 *   releaseOnCancel: true,
 *   work: async (shard, s) => {
 *     const f = new SharedInformerFactory(kc, { shardSelector: shard.selector });
 *     const cms = f.informerFor(builtinResources.core.v1.configmaps);
 *     const c = new Controller({ name: 'checksums', reconcile: () => {}, drainTimeoutMs: 3_000 })
 *       .for(shard.source(cms));
 *     f.start(s);
 *     await c.run(s); // resolves once s aborted and running reconciles finished
 *     await f.shutdown();
 *   },
 * });
 * await coordinator.run(signal);
 * ```
 */
export class ShardCoordinator {
  readonly group: string;
  readonly identity: string;
  readonly namespace: string;
  readonly field: ShardField;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly releaseOnCancel: boolean;
  readonly clock: Clock;
  /** This member's Lease. */
  readonly lock: LeaseLock;
  readonly #api: ShardLeaseApi;
  readonly #work: ShardCoordinatorOptions['work'];
  readonly #wallClock: () => number;
  readonly #logger: Logger;
  readonly #onChange: ShardCoordinatorOptions['onShardChange'];
  readonly #peers = new Map<string, Peer>();
  /** Bumped whenever everything owned is dropped (lost, stopped): older decisions are void. */
  #epoch = 0;
  /** A write of the current epoch succeeded: this replica is a member. */
  #joined = false;
  #processing: RangeSet = EMPTY;
  #published: RangeSet = EMPTY;
  #deadline: TimerHandle | undefined;
  #current: Work | undefined;
  #rebalancing: Promise<void> | undefined;
  /** Own-Lease writes, one at a time, in order: a shrink is never overtaken by an older range. */
  #writes: Promise<unknown> = Promise.resolve();
  /** Lease lists, one at a time: a slow older answer never overwrites a newer one. */
  #lists: Promise<unknown> = Promise.resolve();
  #failure: { readonly error: unknown } | undefined;
  #run: AbortController | undefined;
  #acquireTime: string | undefined;
  #lastWallMs = Number.NEGATIVE_INFINITY;
  readonly #warnedOwned = new Set<string>();

  constructor(options: ShardCoordinatorOptions) {
    try {
      const t = validateTimings(options);
      this.leaseDurationMs = t.leaseDurationMs;
      this.renewDeadlineMs = t.renewDeadlineMs;
      this.retryPeriodMs = t.retryPeriodMs;
    } catch (err) {
      if (err instanceof LeaderElectionConfigError) {
        throw new ShardingConfigError(err.field, `sharding: ${err.message}`, err.hint);
      }
      throw err;
    }
    const name = options.name ?? '';
    if (name.length > 63 || !LABEL_VALUE.test(name)) {
      throw new ShardingConfigError(
        'name',
        `shard group name ${JSON.stringify(name)} is not a valid label value`,
        'use the controller name: at most 63 characters, alphanumeric at both ends, - _ . inside',
      );
    }
    const identity = options.identity ?? '';
    const lease = `${name}-${identity}`;
    if (identity === '' || lease.length > 253 || !DNS_SUBDOMAIN.test(lease)) {
      throw new ShardingConfigError(
        'identity',
        `membership Lease name ${JSON.stringify(lease)} (<name>-<identity>) is not a valid object name`,
        'use a lowercase identity such as the pod name (letters, digits, - and .)',
      );
    }
    if (typeof options.work !== 'function') {
      throw new ShardingConfigError('work', 'work must be a function (shard, signal) => Promise');
    }
    if (
      options.field !== undefined &&
      !['metadata.uid', 'metadata.namespace'].includes(options.field)
    ) {
      throw new ShardingConfigError(
        'field',
        `unsupported shard field ${JSON.stringify(options.field)}`,
        'shard by metadata.uid or metadata.namespace',
      );
    }
    this.group = name;
    this.identity = identity;
    this.namespace = options.namespace;
    this.field = options.field ?? 'metadata.uid';
    this.releaseOnCancel = options.releaseOnCancel ?? false;
    this.clock = options.clock ?? realClock;
    if (options.api !== undefined) this.#api = options.api;
    else if (options.kubeConfig !== undefined) {
      this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    } else {
      throw new ShardingConfigError(
        'kubeConfig',
        `shard group ${name}: neither kubeConfig nor api given`,
        'pass the KubeConfig of the cluster that holds the Leases',
      );
    }
    try {
      this.lock = new LeaseLock({
        api: this.#api,
        namespace: options.namespace,
        name: lease,
        identity,
        labels: { [SHARD_GROUP_LABEL]: name },
        clock: this.clock,
      });
    } catch (err) {
      if (err instanceof LeaderElectionConfigError) {
        throw new ShardingConfigError(err.field, `sharding: ${err.message}`, err.hint);
      }
      throw err;
    }
    this.#work = options.work;
    this.#wallClock = options.wallClock ?? Date.now;
    this.#logger = options.logger ?? consoleLogger();
    this.#onChange = options.onShardChange;
  }

  /** The ranges this replica processes now (empty when none). */
  processing(): readonly ShardRange[] {
    return this.#processing;
  }

  /** The ranges the next write of its Lease publishes as owned (processing plus pending claims). */
  published(): readonly ShardRange[] {
    return this.#published;
  }

  /** The shard whose work runs now, if any. */
  shard(): Shard | undefined {
    return this.#current?.shard;
  }

  /** The group as last listed: the other members' Leases, and this replica while it is joined. */
  members(): ShardMember[] {
    const now = this.clock.now();
    const out: ShardMember[] = [...this.#peers.values()].map((p) => ({
      identity: p.identity,
      lease: p.lease,
      live: this.#isLive(p, now),
      owned: p.owned,
      observedAt: p.observedAt,
    }));
    if (this.#joined) {
      out.push({
        identity: this.identity,
        lease: this.lock.name,
        live: true,
        owned: this.#published,
        observedAt: this.lock.observed?.observedAt ?? now,
      });
    }
    return out.sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
  }

  /**
   * Joins the group and processes its range until `signal` aborts; then stops the work, waits for
   * it to settle, releases the Lease when `releaseOnCancel`, and resolves. A lost Lease does not
   * end `run`: the replica drops everything and rejoins owning nothing once it can write again.
   * Rejects when the work fails or settles by itself ({@link ShardWorkEndedError}), after
   * stopping the same way.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#run !== undefined) {
      throw new ShardingConfigError('run', `shard group ${this.group}: run is already running`);
    }
    const run = new AbortController();
    this.#run = run;
    this.#failure = undefined;
    const onAbort = (): void => run.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    try {
      while (!run.signal.aborted) {
        await this.#tick(run.signal);
        try {
          await sleep(this.clock, this.retryPeriodMs, run.signal);
        } catch {
          break;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Void every decision in flight, stop the work, and wait until nothing runs.
      this.#epoch++;
      this.#joined = false;
      this.#disarm();
      if (this.#current !== undefined) {
        this.#abortWork(this.#current, new Error(`shard group ${this.group}: stopping`));
      }
      await this.#rebalancing;
      await this.#stopWork();
      this.#published = EMPTY;
      this.#setProcessing(EMPTY, 'stopped', []);
      if (this.releaseOnCancel && this.lock.observed !== undefined) await this.#release();
      this.#run = undefined;
    }
    // (Set by the work's settlement while the loop ran; TypeScript cannot see that.)
    const failure = this.#failure as { readonly error: unknown } | undefined;
    if (failure !== undefined) throw failure.error;
  }

  // -------------------------------------------------------------------------------------------
  // The tick: renew, look at the group, rebalance in the background.

  async #tick(signal: AbortSignal): Promise<void> {
    await this.#write(signal, false);
    const listed = await this.#observe(signal);
    if (listed && this.#joined && this.#rebalancing === undefined && !signal.aborted) {
      this.#rebalancing = this.#rebalance(signal)
        .catch((err: unknown) => {
          this.#logger.warn(
            { group: this.group, identity: this.identity, error: describeError(err) },
            'shard rebalance failed',
          );
        })
        .finally(() => {
          this.#rebalancing = undefined;
        });
    }
  }

  /**
   * One step towards the desired range: shrink (drain, then publish), claim what is free,
   * confirm the claims by a read after the write, then (re)start the work. Every await is
   * followed by a check that nothing voided the decision (a lost Lease, a stop).
   */
  async #rebalance(signal: AbortSignal): Promise<void> {
    const epoch = this.#epoch;
    const stale = (): boolean => signal.aborted || epoch !== this.#epoch;
    const members = this.#liveMembers();
    const desired = this.#desired(members);

    // 1. Shrink: stop taking keys outside the desired range, let in-flight reconciles finish,
    //    and only then say so.
    const keep = intersect(this.#processing, desired);
    if (!equal(keep, this.#processing)) {
      await this.#stopWork();
      if (stale()) return;
      this.#published = keep;
      this.#setProcessing(keep, 'shrank', members);
      await this.#write(signal, false);
      if (stale()) return;
    } else if (!equal(this.#published, this.#processing)) {
      // Claims left from an unconfirmed grow: withdraw them (they were never processed).
      this.#published = this.#processing;
    }

    // 2. Grow into what is desired and published by no live member; process it only once the
    //    claim is written and a later read shows nobody else claiming it.
    const claims = subtract(subtract(desired, this.#processing), this.#othersOwned());
    if (!isEmpty(claims)) {
      this.#published = union(this.#processing, claims);
      const written = await this.#write(signal, false);
      if (stale()) return;
      if (written === undefined || !covers(written, claims)) {
        this.#published = this.#processing;
        return;
      }
      const checked = await this.#observe(signal);
      if (stale()) return;
      if (!checked) {
        // No read after the claim: nothing is confirmed (the claim stays until the next write).
        this.#published = this.#processing;
        return;
      }
      const confirmed = subtract(claims, this.#othersOwned());
      this.#published = union(this.#processing, confirmed);
      if (!equal(confirmed, claims)) {
        this.#logger.debug(
          {
            group: this.group,
            identity: this.identity,
            withdrawn: describeRanges(subtract(claims, confirmed)),
          },
          'shard claim collided with another member; withdrawn',
        );
      }
      if (!isEmpty(confirmed)) {
        await this.#stopWork();
        if (stale()) return;
        this.#setProcessing(union(this.#processing, confirmed), 'grew', members);
      }
    }

    // 3. Work on what is processed.
    if (!isEmpty(this.#processing) && this.#current === undefined && !stale()) {
      this.#startWork(members);
    }
  }

  /** Live identities, sorted, this replica included. */
  #liveMembers(): string[] {
    const now = this.clock.now();
    const ids = new Set<string>([this.identity]);
    for (const p of this.#peers.values()) if (this.#isLive(p, now)) ids.add(p.identity);
    return [...ids].sort();
  }

  #desired(members: readonly string[]): RangeSet {
    return [rangeFor(members.indexOf(this.identity), members.length)];
  }

  #isLive(peer: Peer, now: number): boolean {
    return peer.identity !== '' && now < peer.observedAt + peer.durationMs;
  }

  /** What the other live members publish as owned. */
  #othersOwned(): RangeSet {
    const now = this.clock.now();
    const owned: RangeSet[] = [];
    for (const p of this.#peers.values()) {
      if (p.identity !== this.identity && this.#isLive(p, now)) owned.push(p.owned);
    }
    return union(...owned);
  }

  #setProcessing(next: RangeSet, reason: ShardChange['reason'], members: readonly string[]): void {
    const previous = this.#processing;
    this.#processing = next;
    if (equal(previous, next) && reason !== 'lost') return;
    if (reason === 'lost' && isEmpty(previous)) return;
    const change: ShardChange = {
      group: this.group,
      identity: this.identity,
      ranges: next,
      coverage: coverage(next),
      reason,
      members,
      at: this.clock.now(),
    };
    this.#logger.info(
      {
        group: this.group,
        identity: this.identity,
        reason,
        ranges: describeRanges(next),
        members: members.length,
      },
      'shard range changed',
    );
    try {
      this.#onChange?.(change);
    } catch (err) {
      this.#logger.error(
        { group: this.group, identity: this.identity, error: describeError(err) },
        'onShardChange failed',
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // The work.

  #shardOf(ranges: RangeSet, members: readonly string[]): Shard {
    const selector: ShardSelector = { field: this.field, ranges };
    const test = compileShardSelector(selector);
    const matches = (obj: ShardHashable): boolean => test(obj as KubeObject);
    return {
      group: this.group,
      identity: this.identity,
      field: this.field,
      ranges,
      selector,
      members,
      matches,
      source: (informer) => filteredSource(informer, matches),
      describe: () => describeRanges(ranges),
    };
  }

  #startWork(members: readonly string[]): void {
    const controller = new AbortController();
    const shard = this.#shardOf(this.#processing, members);
    const done = (async () => this.#work(shard, controller.signal))().then(
      () => {
        if (!controller.signal.aborted) {
          this.#fail(new ShardWorkEndedError(this.group, this.identity, shard.describe()));
        }
      },
      (err: unknown) => {
        if (!controller.signal.aborted) this.#fail(err);
        else {
          this.#logger.debug(
            { group: this.group, identity: this.identity, error: describeError(err) },
            'shard work rejected after its signal aborted',
          );
        }
      },
    );
    this.#current = { controller, done, shard };
  }

  /** Stops the current work and waits until it settled. */
  async #stopWork(): Promise<void> {
    const current = this.#current;
    if (current === undefined) return;
    this.#abortWork(current, new Error(`shard group ${this.group}: range changing`));
    await current.done;
    if (this.#current === current) this.#current = undefined;
  }

  /**
   * Aborts a work, and warns when it has not settled `leaseDurationMs − renewDeadlineMs` later:
   * past that, after a lost Lease, another member may already process the range (and on a
   * range change the hand-over waits for it).
   */
  #abortWork(work: Work, reason: Error): void {
    if (work.controller.signal.aborted) return;
    work.controller.abort(reason);
    const limitMs = this.leaseDurationMs - this.renewDeadlineMs;
    let settled = false;
    const timer = this.clock.setTimeout(() => {
      if (settled) return;
      this.#logger.warn(
        { group: this.group, identity: this.identity, limitMs, ranges: work.shard.describe() },
        'shard work has not settled leaseDuration − renewDeadline after its signal aborted; make reconciles stop sooner (Controller drainTimeoutMs)',
      );
    }, limitMs);
    void work.done.then(() => {
      settled = true;
      this.clock.clearTimeout(timer);
    });
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
    this.#logger.error(
      { group: this.group, identity: this.identity, error: describeError(error) },
      'shard work failed; stopping',
    );
    this.#run?.abort(error);
  }

  // -------------------------------------------------------------------------------------------
  // The Leases.

  /**
   * Writes this member's Lease: a renewal carrying the published range, or the release. Resolves
   * with the range written when the write counts (it succeeded and nothing was dropped while it
   * was in flight), else undefined. Writes run one at a time, in call order.
   */
  #write(signal: AbortSignal, release: boolean): Promise<RangeSet | undefined> {
    const next = this.#writes.then(() => this.#writeNow(signal, release));
    this.#writes = next.catch(() => {});
    return next;
  }

  async #writeNow(signal: AbortSignal, release: boolean): Promise<RangeSet | undefined> {
    if (signal.aborted) return undefined;
    const epoch = this.#epoch;
    const owned = release ? EMPTY : this.#published;
    const sentAt = this.clock.now();
    const wall = this.#timestamp();
    this.#acquireTime ??= wall;
    const record: LeaseRecord = {
      holderIdentity: release ? '' : this.identity,
      leaseDurationSeconds: release ? 1 : Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: this.#acquireTime,
      renewTime: wall,
      leaseTransitions: 0,
    };
    const annotations = {
      [SHARD_OWNED_ANNOTATION]: isEmpty(owned)
        ? ''
        : formatShardSelector({ field: this.field, ranges: owned }),
    };
    try {
      await this.#bounded(signal, async (req) => {
        const lock = this.lock;
        if (lock.observed !== undefined) {
          try {
            await lock.update(record, req, annotations);
            return;
          } catch (err) {
            if (req.aborted) throw err;
            // A conflict or a deleted Lease: read it again and write on what was read.
          }
        }
        if ((await lock.get(req)) === undefined) await lock.create(record, req, annotations);
        else await lock.update(record, req, annotations);
      });
    } catch (err) {
      if (!signal.aborted) {
        this.#logger.warn(
          { group: this.group, identity: this.identity, release, error: describeError(err) },
          'shard lease write failed',
        );
      }
      return undefined;
    }
    if (release || epoch !== this.#epoch) return release ? owned : undefined;
    this.#joined = true;
    this.#arm(sentAt);
    return owned;
  }

  /**
   * Lists the group's Leases and records what changed, with the local time it was first seen.
   * Resolves true when the list answered. Lists run one at a time.
   */
  #observe(signal: AbortSignal): Promise<boolean> {
    const next = this.#lists.then(() => this.#observeNow(signal));
    this.#lists = next.catch(() => {});
    return next;
  }

  async #observeNow(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    let items;
    try {
      const list = await this.#bounded(signal, (req) =>
        this.#api.listNamespacedLease(
          { namespace: this.namespace, labelSelector: `${SHARD_GROUP_LABEL}=${this.group}` },
          requestOptions(req),
        ),
      );
      items = list.items;
    } catch (err) {
      if (!signal.aborted) {
        this.#logger.warn(
          { group: this.group, identity: this.identity, error: describeError(err) },
          'shard lease list failed',
        );
      }
      return false;
    }
    const now = this.clock.now();
    const seen = new Set<string>();
    for (const lease of items) {
      const name = lease.metadata?.name;
      if (name === undefined || name === this.lock.name) continue;
      seen.add(name);
      const resourceVersion = lease.metadata?.resourceVersion ?? '';
      const previous = this.#peers.get(name);
      // Unchanged: keep the time it was first seen, the start of its expiry.
      if (previous !== undefined && previous.resourceVersion === resourceVersion) continue;
      const identity = lease.spec?.holderIdentity ?? '';
      this.#peers.set(name, {
        lease: name,
        identity,
        resourceVersion,
        observedAt: now,
        durationMs: (lease.spec?.leaseDurationSeconds ?? 0) * 1000,
        owned: this.#ownedOf(name, lease.metadata?.annotations?.[SHARD_OWNED_ANNOTATION]),
      });
    }
    for (const name of [...this.#peers.keys()]) if (!seen.has(name)) this.#peers.delete(name);
    return true;
  }

  /**
   * A peer's published range. One that cannot be read (malformed, or hashing another field: a
   * replica of another version mid-rollout) counts as the whole space, so nobody takes anything
   * from it until it is readable or expired.
   */
  #ownedOf(lease: string, text: string | undefined): RangeSet {
    if (text === undefined || text === '') return EMPTY;
    let problem: string;
    try {
      const sel = parseShardSelector(text);
      if (sel.field === this.field) return normalize(sel.ranges);
      problem = `it hashes ${sel.field}, this replica ${this.field}`;
    } catch (err) {
      problem = describeError(err);
    }
    if (!this.#warnedOwned.has(lease)) {
      this.#warnedOwned.add(lease);
      this.#logger.warn(
        { group: this.group, identity: this.identity, lease, problem },
        'cannot read the owned range of a member; treating it as owning everything',
      );
    }
    return FULL;
  }

  /** Marks the Lease released (no holder, nothing owned), bounded by `renewDeadlineMs`. */
  async #release(): Promise<void> {
    const timeout = new AbortController();
    const timer = this.clock.setTimeout(
      () => timeout.abort(new Error(`release timed out after ${this.renewDeadlineMs} ms`)),
      this.renewDeadlineMs,
    );
    try {
      if ((await this.#write(timeout.signal, true)) !== undefined) {
        this.#logger.info({ group: this.group, identity: this.identity }, 'released shard lease');
      }
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  /** Arms the renew deadline: `renewDeadlineMs` after the last successful write was sent. */
  #arm(sentAt: number): void {
    this.#disarm();
    this.#deadline = this.clock.setTimeout(
      () => this.#lose(),
      sentAt + this.renewDeadlineMs - this.clock.now(),
    );
  }

  #disarm(): void {
    if (this.#deadline !== undefined) this.clock.clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  /** The renew deadline passed: stop everything now, before anyone may take the range over. */
  #lose(): void {
    this.#deadline = undefined;
    this.#epoch++;
    this.#joined = false;
    this.#published = EMPTY;
    if (this.#current !== undefined) {
      this.#abortWork(
        this.#current,
        new Error(`shard group ${this.group}: lease not renewed within ${this.renewDeadlineMs} ms`),
      );
    }
    this.#logger.warn(
      { group: this.group, identity: this.identity, renewDeadlineMs: this.renewDeadlineMs },
      'shard lease not renewed within the renew deadline; stopped processing',
    );
    this.#setProcessing(EMPTY, 'lost', []);
  }

  /** Runs `fn` with a signal that aborts with `parent` or after `renewDeadlineMs`. */
  async #bounded<R>(parent: AbortSignal, fn: (signal: AbortSignal) => Promise<R>): Promise<R> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    if (parent.aborted) onAbort();
    // A hung request must not hold the writes (or lists) past the point where they matter.
    const timer = this.clock.setTimeout(
      () => controller.abort(new Error(`lease request timed out after ${this.renewDeadlineMs} ms`)),
      this.renewDeadlineMs,
    );
    try {
      return await fn(controller.signal);
    } finally {
      this.clock.clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    }
  }

  /** A strictly increasing `renewTime`: an identical write would not change the resourceVersion. */
  #timestamp(): string {
    this.#lastWallMs = Math.max(this.#wallClock(), this.#lastWallMs + 1);
    return microTime(this.#lastWallMs);
  }
}
