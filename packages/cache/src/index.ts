export * from './clock.js';
export * from './errors.js';
export * from './lister-watcher.js';
export * from './reflector-store.js';
export * from './types.js';
