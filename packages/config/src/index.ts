export * from './holder.js';
export * from './errors.js';
export * from './configmap-source.js';
export * from './mounted-source.js';
