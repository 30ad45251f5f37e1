/**
 * The leader election record: what a `coordination.k8s.io/v1` Lease's `spec` says about who
 * holds it. Timestamps are kept as the wire strings; they are informational only (decisions use
 * the local clock, see `LeaseLock`).
 *
 * @module
 */
import type { Wire } from '@kubecache/client';
import type { V1LeaseSpec } from '@kubernetes/client-node';

/**
 * Who holds a Lease, for how long, and how often it changed hands (client-go's
 * `LeaderElectionRecord`, on a Lease).
 *
 * @example
 * ```ts
 * const record: LeaseRecord = {
 *   holderIdentity: 'pod-a',
 *   leaseDurationSeconds: 15,
 *   acquireTime: microTime(Date.now()),
 *   renewTime: microTime(Date.now()),
 *   leaseTransitions: 0,
 * };
 * ```
 */
export interface LeaseRecord {
  /** The holder; `''` when nobody holds the Lease (released). */
  readonly holderIdentity: string;
  /**
   * How long others must wait, from when they observed the record change, before taking the
   * Lease over. Whole seconds (the Lease's field).
   */
  readonly leaseDurationSeconds: number;
  /** When the holder acquired it (RFC 3339, microseconds). Informational. */
  readonly acquireTime: string | undefined;
  /** When the holder last renewed it (RFC 3339, microseconds). Informational. */
  readonly renewTime: string | undefined;
  /** How many times the Lease changed holders. */
  readonly leaseTransitions: number;
  /** Coordinated leader election's strategy (KEP-4355), carried through unchanged. */
  readonly strategy?: string;
  /** Coordinated leader election's preferred holder (KEP-4355), carried through unchanged. */
  readonly preferredHolder?: string;
}

/**
 * `ms` since the epoch as a Kubernetes `MicroTime` (RFC 3339 with six fractional digits), the
 * format of a Lease's `acquireTime` and `renewTime`.
 *
 * @example
 * ```ts
 * microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678)); // '2025-01-02T03:04:05.678000Z'
 * ```
 */
export function microTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // millisecond precision, always `.sssZ`
  return `${iso.slice(0, -1)}000Z`;
}

/**
 * The record a Lease `spec` holds; absent fields read as client-go reads them (empty, 0).
 *
 * @example
 * ```ts
 * const leases = factory.coordination.v1.leases().lister();
 * const lease = leases.namespace('kube-system').get('kube-scheduler');
 * const record = recordFromSpec(lease.spec);
 * if (record.holderIdentity === '') console.log('released');
 * ```
 */
export function recordFromSpec(spec: Wire<V1LeaseSpec> | undefined): LeaseRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: spec?.acquireTime,
    renewTime: spec?.renewTime,
    leaseTransitions: spec?.leaseTransitions ?? 0,
    ...(spec?.strategy !== undefined ? { strategy: spec.strategy } : {}),
    ...(spec?.preferredHolder !== undefined ? { preferredHolder: spec.preferredHolder } : {}),
  };
}

/**
 * The Lease `spec` that stores `record` (the whole spec is replaced, as client-go does).
 *
 * @example
 * ```ts
 * const leases = factory.coordination.v1.leases().lister();
 * const lease = deepCopy(leases.namespace('default').get('my-controller'));
 * lease.spec = specFromRecord({ ...recordFromSpec(lease.spec), renewTime: microTime(Date.now()) });
 * ```
 */
export function specFromRecord(record: LeaseRecord): Wire<V1LeaseSpec> {
  const spec: Wire<V1LeaseSpec> = {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    leaseTransitions: record.leaseTransitions,
  };
  if (record.acquireTime !== undefined) spec.acquireTime = record.acquireTime;
  if (record.renewTime !== undefined) spec.renewTime = record.renewTime;
  if (record.strategy !== undefined) spec.strategy = record.strategy;
  if (record.preferredHolder !== undefined) spec.preferredHolder = record.preferredHolder;
  return spec;
}

/**
 * Whether two records say the same thing (every field, timestamps included).
 *
 * @example
 * ```ts
 * const lock = new LeaseLock({ kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: 'pod-a' });
 * const before = await lock.get(signal);
 * const after = await lock.get(signal);
 * if (before && after && !sameRecord(before.record, after.record)) console.log('the Lease was written');
 * ```
 */
export function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions &&
    a.strategy === b.strategy &&
    a.preferredHolder === b.preferredHolder
  );
}
