export * from './holder.js';
export * from './errors.js';
