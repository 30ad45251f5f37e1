/**
 * Abortable client-node calls, shared by the Lease lock and the shard coordinator (internal: not
 * exported from the package).
 *
 * In client-node 2.x a per-request abort signal only works through an `ObservableMiddleware`
 * returning `Observable`s; a promise-style middleware fails at run time.
 *
 * @module
 */
import {
  Observable,
  type ConfigurationOptions,
  type ObservableMiddleware,
} from '@kubernetes/client-node';

/** The request option that makes client-node abort the call when `signal` aborts. */
export function requestOptions(signal: AbortSignal | undefined): ConfigurationOptions | undefined {
  if (signal === undefined) return undefined;
  const abortable: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  // Keep the KubeConfig's own middleware (authentication) and add ours after it.
  return { middleware: [abortable], middlewareMergeStrategy: 'append' };
}
