/**
 * Registration shared by every exporter of this package: all of an exporter's metrics go into a
 * registry together or not at all, and leave it together.
 *
 * @module
 */
import { KubecacheError } from '@kubecache/cache';
import {
  Counter,
  Gauge,
  Histogram,
  register as globalRegistry,
  type OpenMetricsContentType,
  type PrometheusContentType,
  type Registry,
} from 'prom-client';

/**
 * A prom-client registry of either exposition format (prom-client's global `register` by default
 * everywhere in this package).
 *
 * @example
 * ```ts
 * // registry: `new Registry()` of prom-client, or its global `register`
 * const exportTo = (registry: PromRegistry) => registerInformerMetrics({ registry, factory });
 * ```
 */
export type PromRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/** Something that can be taken out of the registry it was put in. */
export interface Unregisterable {
  /**
   * Removes this exporter's metrics from its registry and stops reading its sources. Idempotent.
   *
   * @example
   * ```ts
   * const metrics = registerInformerMetrics({ factory });
   * metrics.unregister(); // before factory.shutdown(), or in a test's after()
   * ```
   */
  unregister(): void;
}

/** Any prom-client metric this package makes, with its name (prom-client's types hide it). */
interface NamedMetric {
  readonly name: string;
  readonly metric: Counter<string> | Gauge<string> | Histogram<string>;
}

/** The options of a counter or gauge that is registered later, by {@link MetricSet.register}. */
function unregistered<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  collect: (() => void) | undefined,
): { name: string; help: string; labelNames: readonly L[]; registers: []; collect?: () => void } {
  return { name, help, labelNames, registers: [], ...(collect === undefined ? {} : { collect }) };
}

/** The registry to use: the one given, else prom-client's global one. */
export function resolveRegistry(registry: PromRegistry | undefined): PromRegistry {
  return registry ?? globalRegistry;
}

/**
 * The metrics of one exporter: made unregistered, then put into a registry all together or not at
 * all ({@link MetricSet.register}), and taken out together.
 */
export class MetricSet {
  readonly #all: NamedMetric[] = [];

  counter<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: () => void,
  ): Counter<L> {
    return this.#keep(name, new Counter<L>(unregistered(name, help, labelNames, collect)));
  }

  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: () => void,
  ): Gauge<L> {
    return this.#keep(name, new Gauge<L>(unregistered(name, help, labelNames, collect)));
  }

  #keep<M extends NamedMetric['metric']>(name: string, metric: M): M {
    this.#all.push({ name, metric });
    return metric;
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
  ): Histogram<L> {
    const metric = new Histogram<L>({
      name,
      help,
      labelNames,
      buckets: [...buckets],
      registers: [],
    });
    this.#all.push({ name, metric });
    return metric;
  }

  /**
   * Registers every metric, or none: a name already taken fails before anything is registered,
   * so a failed call leaves the registry as it was.
   */
  register(registry: PromRegistry): void {
    const taken = this.#all.filter((m) => registry.getSingleMetric(m.name) !== undefined);
    if (taken.length > 0) {
      throw new KubecacheError(
        'MetricAlreadyRegistered',
        `@kubecache/metrics: ${taken.map((m) => m.name).join(', ')} already registered in this registry`,
        { hint: 'create each exporter once per registry (unregister() the previous one first)' },
      );
    }
    for (const m of this.#all) registry.registerMetric(m.metric);
  }

  /** Removes the metrics from `registry`, each only while it is still the one registered there. */
  unregister(registry: PromRegistry): void {
    for (const m of this.#all) {
      // A metric registered under the same name by someone else after us is theirs to keep.
      if ((registry.getSingleMetric(m.name) as unknown) === m.metric) {
        registry.removeSingleMetric(m.name);
      }
    }
  }
}
