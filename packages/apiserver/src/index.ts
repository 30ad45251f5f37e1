export { startApiServer } from './server.js';
export type {
  ApiServer,
  ApiServerOptions,
  ListRef,
  ObjectRef,
  ObjectStore,
  ServerStats,
} from './server.js';
export { FaultInjector } from './faults.js';
export type { CutOptions, FailNextOptions, FaultRequest } from './faults.js';
export { buildKubeConfig } from './kubeconfig.js';
export type { KubeConfigObject } from './kubeconfig.js';
export { BUILTIN_RESOURCES } from './resources.js';
export type { PrinterColumn, ResourceInfo } from './resources.js';
