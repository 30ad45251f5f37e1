export * from './api-errors.js';
export * from './json-lines.js';
export * from './kube-lister-watcher.js';
export * from './resources.js';
export * from './factory.js';
export * from './write.js';
export * from './discovery.js';
