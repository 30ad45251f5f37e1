export {};
export * from './server.js';
export * from './faults.js';
export * from './kubeconfig.js';
export * from './resources.js';
