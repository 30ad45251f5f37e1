/**
 * Leader status: `kubecache_leader_is_leader{lease}`, 1 while this process holds the lease.
 * Whatever elects calls {@link LeaderMetric.set} on every transition: with
 * `@kubecache/leaderelection`, `onLeadershipChange: ({ lease, leading }) => metric.set(lease, leading)`.
 *
 * @module
 */
import type { Gauge } from 'prom-client';
import { MetricSet, resolveRegistry, type PromRegistry, type Unregisterable } from './registry.js';

/**
 * Options of {@link createLeaderMetric}.
 *
 * @example
 * ```ts
 * const exportTo = (registry: PromRegistry) => createLeaderMetric({ registry });
 * ```
 */
export interface LeaderMetricOptions {
  /** Where the metric goes (default prom-client's global `register`). */
  readonly registry?: PromRegistry;
}

/**
 * The leader gauge and its setter.
 *
 * @example
 * ```ts
 * const leader = createLeaderMetric();
 * leader.set('kube-system/my-controller', true);  // became leader
 * leader.set('kube-system/my-controller', false); // lost the lease
 * ```
 */
export interface LeaderMetric extends Unregisterable {
  /**
   * Records whether this process holds `lease` (`namespace/name` of the Lease object; the
   * label's only value, so keep it the lease's fixed name, never an identity or a token).
   */
  set(lease: string, isLeader: boolean): void;
  /** Drops the series of `lease` (when the process stops taking part in that election). */
  remove(lease: string): void;
}

/**
 * Creates `kubecache_leader_is_leader{lease}` (a gauge, 1 when leader, 0 otherwise).
 *
 * @example
 * ```ts
 * const leader = createLeaderMetric(); // or { registry }
 * // wherever the lease is won or lost:
 * leader.set('default/checksum-controller', true);
 * leader.set('default/checksum-controller', false);
 * ```
 */
export function createLeaderMetric(options: LeaderMetricOptions = {}): LeaderMetric {
  const registry = resolveRegistry(options.registry);
  const set = new MetricSet();
  const gauge: Gauge<'lease'> = set.gauge(
    'kubecache_leader_is_leader',
    'Whether this process holds the leader election lease (1) or not (0).',
    ['lease'],
  );
  set.register(registry);
  return {
    set: (lease, isLeader) => gauge.set({ lease }, isLeader ? 1 : 0),
    remove: (lease) => gauge.remove({ lease }),
    unregister: () => set.unregister(registry),
  };
}
