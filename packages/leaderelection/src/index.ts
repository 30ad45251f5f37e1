export * from './errors.js';
export * from './record.js';
export * from './lease-lock.js';
export * from './elector.js';
export * from './health.js';
export * from './run-while-leading.js';
export * from './sharding.js';
