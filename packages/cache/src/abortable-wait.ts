/**
 * The one shape of every "wait for X, or stop waiting when the signal aborts" in kubecache
 * (cache sync, a resourceVersion, a queue drain): the waiter is told true when X happens, false
 * on abort, and on abort it is unhooked from whatever it waited on, so an abandoned wait leaves
 * nothing behind.
 */

/**
 * Resolves true when `subscribe`'s callback is called, false when `signal` aborts first (then
 * the function `subscribe` returned, if any, unhooks the waiter).
 *
 * @example
 * ```ts
 * const waiters: (() => void)[] = []; // whoever calls these when X happens
 * const synced = await abortableWait(signal, (done) => {
 *   waiters.push(done);
 *   return () => waiters.splice(waiters.indexOf(done), 1);
 * });
 * ```
 */
export function abortableWait(
  signal: AbortSignal | undefined,
  subscribe: (done: () => void) => (() => void) | void,
): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      unsubscribe?.();
      resolve(false);
    };
    const unsubscribe = subscribe(() => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    });
    if (!settled) signal?.addEventListener('abort', onAbort, { once: true });
  });
}
