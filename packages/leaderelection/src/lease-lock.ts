/**
 * A lock on one `coordination.k8s.io/v1` Lease: read, create and conditionally update its
 * record through client-node's `CoordinationV1Api`, and remember when (on the local clock) the
 * record was last seen to change.
 *
 * That last part is what makes leader election tolerant of clock skew (client-go's
 * `observedTime`): nobody trusts the `renewTime` another replica wrote. A reader notes the local
 * time at which the record (or its resourceVersion) changed, and considers the Lease expired
 * `leaseDurationSeconds` after that, on its own clock. Only the *change* of the remote
 * timestamps matters, never their value.
 *
 * The lock knows nothing about electing: the {@link LeaderElector} builds on it, and so can
 * anything else that keeps Leases (a shard coordinator's membership Leases: one lock per member,
 * `get` to see whether a member is alive, `update` to renew one's own).
 *
 * @module
 */
import { realClock, type Clock } from '@kubecache/cache';
import {
  deepCopy,
  fromClientModel,
  statusCodeOf,
  toClientModel,
  type Mutable,
  type Wire,
} from '@kubecache/client';
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { requestOptions } from './client-request.js';
import { LeaderElectionConfigError, LeaseNotLoadedError } from './errors.js';
import { recordFromSpec, sameRecord, specFromRecord, type LeaseRecord } from './record.js';

/**
 * The three calls of client-node's `CoordinationV1Api` a lock makes. Pass one to share an API
 * client between locks, or to wrap it (tests count requests in flight this way).
 *
 * @example
 * ```ts
 * const api: LeaseApi = kc.makeApiClient(CoordinationV1Api); // one client for every lock
 * const a = new LeaseLock({ api, namespace: 'default', name: 'member-a', identity: 'a' });
 * const b = new LeaseLock({ api, namespace: 'default', name: 'member-b', identity: 'b' });
 * ```
 */
export type LeaseApi = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

/**
 * Options of {@link LeaseLock}: which Lease, who is asking, and how to reach the API server
 * (`kubeConfig` or `api`).
 *
 * @example
 * ```ts
 * const options: LeaseLockOptions = {
 *   kubeConfig: kc,
 *   namespace: 'default',
 *   name: 'my-controller',
 *   identity: process.env.POD_NAME!, // unique among the candidates
 * };
 * ```
 */
export interface LeaseLockOptions {
  /** Where the Lease lives; a `CoordinationV1Api` is made from it. */
  readonly kubeConfig?: KubeConfig;
  /** An API client to use instead of making one from `kubeConfig`. */
  readonly api?: LeaseApi;
  readonly namespace: string;
  readonly name: string;
  /**
   * This replica's identity, unique among the candidates (the pod name, or hostname plus a
   * random suffix). A replica restarted with the same identity takes its Lease back at once.
   */
  readonly identity: string;
  /** Labels set on the Lease when created, and kept set on each update. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The local clock that observation times are read from. Default the real clock. */
  readonly clock?: Clock;
}

/**
 * A Lease record as this process last saw it, and when.
 *
 * @example
 * ```ts
 * const lock = new LeaseLock({ kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: 'pod-a' });
 * const seen = await lock.get(signal);
 * if (seen !== undefined) {
 *   console.log(`${seen.record.holderIdentity}, unchanged for ${lock.clock.now() - seen.observedAt} ms`);
 * }
 * ```
 */
export interface LeaseObservation {
  readonly record: LeaseRecord;
  /** The Lease's `metadata.resourceVersion` when read or written. */
  readonly resourceVersion: string;
  /**
   * Local clock time (`Clock.now()`) at which this record was first seen: when a read found it
   * changed, or when this process's own write of it returned.
   */
  readonly observedAt: number;
}

function required(field: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw new LeaderElectionConfigError(field, `${field} must not be empty`);
  }
  return value;
}

/**
 * One Lease, read and written with optimistic concurrency: `update` sends the resourceVersion
 * last read or written, so a write that raced with another replica's fails with 409 Conflict
 * (client-node's `ApiException`, `code` 409; `isConflict` from `@kubecache/client` tells). The
 * lock also keeps the {@link LeaseObservation}: the record and the local time it was first seen.
 *
 * @example
 * ```ts
 * const member = { kubeConfig: kc, namespace: 'default', name: 'member-pod-a' };
 * const lock = new LeaseLock({ ...member, identity: 'pod-a' });
 * const now = microTime(Date.now());
 * const mine: LeaseRecord = {
 *   holderIdentity: 'pod-a', leaseDurationSeconds: 10, acquireTime: now, renewTime: now, leaseTransitions: 0,
 * };
 * if ((await lock.get(signal)) === undefined) await lock.create(mine, signal);
 * else await lock.update(mine, signal); // 409 Conflict if another write came in between
 * // Another member's lock sees it expire once not seen to change for 10 s (on its own clock):
 * const peer = new LeaseLock({ ...member, identity: 'pod-b' });
 * while ((await peer.get(signal)) !== undefined && !peer.isExpired()) await sleep(peer.clock, 2_000, signal);
 * console.log('pod-a stopped renewing, or its Lease is gone');
 * ```
 */
export class LeaseLock {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly clock: Clock;
  readonly #api: LeaseApi;
  readonly #labels: Readonly<Record<string, string>> | undefined;
  /** The Lease last read or written (wire form): updates start from it. */
  #lease: Wire<V1Lease> | undefined;
  #observed: LeaseObservation | undefined;

  constructor(options: LeaseLockOptions) {
    this.namespace = required('namespace', options.namespace);
    this.name = required('name', options.name);
    this.identity = required('identity', options.identity);
    this.clock = options.clock ?? realClock;
    this.#labels = options.labels;
    if (options.api !== undefined) this.#api = options.api;
    else if (options.kubeConfig !== undefined) {
      this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    } else {
      throw new LeaderElectionConfigError(
        'kubeConfig',
        `lease ${this.namespace}/${this.name}: neither kubeConfig nor api given`,
        'pass the KubeConfig of the cluster that holds the Lease',
      );
    }
  }

  /** `namespace/name`, for logs. */
  describe(): string {
    return `${this.namespace}/${this.name}`;
  }

  /** The record last read or written, and when it was first seen; undefined before any. */
  get observed(): LeaseObservation | undefined {
    return this.#observed;
  }

  /**
   * Local clock time at which the observed record expires: first seen + its
   * `leaseDurationSeconds`. Undefined before any observation.
   */
  expiresAt(): number | undefined {
    const seen = this.#observed;
    return seen === undefined
      ? undefined
      : seen.observedAt + seen.record.leaseDurationSeconds * 1000;
  }

  /**
   * Whether the observed record has expired at `now` (local clock): nobody was seen to change it
   * for its whole `leaseDurationSeconds`. True when nothing was observed.
   */
  isExpired(now: number = this.clock.now()): boolean {
    const expiresAt = this.expiresAt();
    return expiresAt === undefined || now >= expiresAt;
  }

  /**
   * Reads the Lease. Resolves with the observation, or undefined when the Lease does not exist
   * (404). Other failures reject (client-node's `ApiException`, or a network error).
   */
  async get(signal?: AbortSignal): Promise<LeaseObservation | undefined> {
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease(
        { name: this.name, namespace: this.namespace },
        requestOptions(signal),
      );
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
      this.#lease = undefined;
      this.#observed = undefined;
      return undefined;
    }
    return this.#saw(fromClientModel(lease), false);
  }

  /**
   * Creates the Lease holding `record` (and `annotations`, when given: a shard member publishes
   * the hash ranges it owns there). Rejects with 409 (AlreadyExists) when another replica
   * created it first.
   */
  async create(
    record: LeaseRecord,
    signal?: AbortSignal,
    annotations?: Readonly<Record<string, string>>,
  ): Promise<LeaseObservation> {
    const body: Wire<V1Lease> = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(this.#labels !== undefined ? { labels: { ...this.#labels } } : {}),
        ...(annotations !== undefined ? { annotations: { ...annotations } } : {}),
      },
      spec: specFromRecord(record),
    };
    const created = await this.#api.createNamespacedLease(
      { namespace: this.namespace, body: toClientModel<V1Lease>(body) },
      requestOptions(signal),
    );
    return this.#saw(fromClientModel(created), true);
  }

  /**
   * Replaces the Lease's record, on condition that nobody wrote since this lock last read or
   * wrote it (the resourceVersion travels with the request): 409 Conflict otherwise. Rejects
   * with {@link LeaseNotLoadedError} before any `get` or `create`. `annotations`, when given,
   * are set on the Lease (others it has are kept).
   */
  async update(
    record: LeaseRecord,
    signal?: AbortSignal,
    annotations?: Readonly<Record<string, string>>,
  ): Promise<LeaseObservation> {
    if (this.#lease === undefined) throw new LeaseNotLoadedError(this.describe());
    const body: Mutable<Wire<V1Lease>> = deepCopy(this.#lease);
    body.spec = specFromRecord(record);
    if (this.#labels !== undefined) {
      body.metadata = { ...body.metadata, labels: { ...body.metadata?.labels, ...this.#labels } };
    }
    if (annotations !== undefined) {
      body.metadata = {
        ...body.metadata,
        annotations: { ...body.metadata?.annotations, ...annotations },
      };
    }
    const replaced = await this.#api.replaceNamespacedLease(
      { name: this.name, namespace: this.namespace, body: toClientModel<V1Lease>(body) },
      requestOptions(signal),
    );
    return this.#saw(fromClientModel(replaced), true);
  }

  /**
   * Records what was read or written. A read keeps the old observation time when nothing changed
   * (neither the record nor the resourceVersion): that time is the start of the expiry wait.
   */
  #saw(lease: Wire<V1Lease>, ownWrite: boolean): LeaseObservation {
    this.#lease = lease;
    const record = recordFromSpec(lease.spec);
    const resourceVersion = lease.metadata?.resourceVersion ?? '';
    const previous = this.#observed;
    if (
      !ownWrite &&
      previous !== undefined &&
      previous.resourceVersion === resourceVersion &&
      sameRecord(previous.record, record)
    ) {
      return previous;
    }
    this.#observed = { record, resourceVersion, observedAt: this.clock.now() };
    return this.#observed;
  }
}
