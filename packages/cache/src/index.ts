export * from './abortable-wait.js';
export * from './clock.js';
export * from './errors.js';
export * from './lister-watcher.js';
export * from './reflector-store.js';
export * from './types.js';
export * from './keys.js';
export * from './index-funcs.js';
export * from './store.js';
export * from './store-errors.js';
export * from './backoff.js';
export * from './reflector-errors.js';
export * from './reflector.js';
export * from './label-selector.js';
export * from './field-selector.js';
export * from './shard-selector.js';
export {
  DEFAULT_BUFFER_CAPACITY,
  DRAIN_BATCH,
  MIN_RESYNC_PERIOD_MS,
  Listener,
  Processor,
  isTombstone,
} from './processor.js';
export type {
  HandlerErrorHook,
  HandlerOptions,
  HandlerRegistration,
  Notification,
  ResourceEventHandler,
} from './processor.js';
export * from './informer-events.js';
export * from './shared-informer.js';
export * from './lister.js';
export * from './random.js';
export * from './resource-version.js';
export * from './watcher.js';
export * from './observability.js';
export * from './intern.js';
