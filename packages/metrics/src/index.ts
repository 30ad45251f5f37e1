export type { PromRegistry, Unregisterable } from './registry.js';
export * from './informer-metrics.js';
export * from './queue-metrics.js';
export * from './leader-metric.js';
