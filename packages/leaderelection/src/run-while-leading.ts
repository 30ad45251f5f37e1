/**
 * Running work (a controller) only while this replica leads.
 *
 * Informers can, and should, be started before: a standby replica keeps its caches warm, so when
 * it takes over, its controller registers its handlers on synced informers and starts
 * reconciling at once instead of listing everything first.
 *
 * @module
 */
import type { LeaderElectionOutcome, LeaderElector } from './elector.js';

/**
 * Options of {@link runWhileLeading}.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 * });
 * const options: RunWhileLeadingOptions = { elector, signal, run: (s) => controller.run(s) };
 * ```
 */
export interface RunWhileLeadingOptions {
  readonly elector: LeaderElector;
  /**
   * The work of one term of leadership, e.g. `(signal) => controller.run(signal)`. `signal`
   * aborts the moment leadership ends; the returned promise should settle soon after (the
   * time left before another replica can take over is `leaseDurationMs − renewDeadlineMs`).
   */
  readonly run: (signal: AbortSignal) => void | Promise<void>;
  /** Stops the work, then the election (which releases the Lease when `releaseOnCancel`). */
  readonly signal: AbortSignal;
  /**
   * When leadership is lost, campaign again and call `run` again for the next term. `run` must
   * then build fresh work each time (a `Controller` runs once). Default false: resolve with
   * `'lost'`, and let the process exit and restart, as client-go advises.
   */
  readonly reelect?: boolean;
}

/**
 * How {@link runWhileLeading} ended: `'stopped'` (the signal aborted), `'lost'` (leadership
 * lost, without `reelect`) or `'finished'` (the work resolved by itself while leading; the
 * election was then stopped). `terms` counts the terms led.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 * });
 * const { outcome, terms } = await runWhileLeading({ elector, signal, run: (s) => controller.run(s) });
 * console.log(`led ${terms} term(s), then ${outcome}`);
 * if (outcome === 'lost') process.exit(1);
 * ```
 */
export interface RunWhileLeadingResult {
  readonly outcome: LeaderElectionOutcome | 'finished';
  readonly terms: number;
}

/**
 * Campaigns with `elector` and runs `run` only while leading. Rejects with the work's error
 * when it fails (after stopping the election, releasing the Lease when configured).
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 * });
 * factory.start(signal); // warm the caches up while standing by
 * const reconcile = ({ namespace, name }: ReconcileRequest) => console.log('reconcile', namespace, name);
 * const controller = new Controller({ name: 'web', reconcile }).for(factory.informerFor(resources.deployments));
 * const { outcome } = await runWhileLeading({ elector, signal, run: (s) => controller.run(s) });
 * ```
 */
export async function runWhileLeading(
  options: RunWhileLeadingOptions,
): Promise<RunWhileLeadingResult> {
  const { elector, signal } = options;
  let terms = 0;
  for (;;) {
    if (signal.aborted) return { outcome: 'stopped', terms };
    const election = new AbortController();
    const onAbort = (): void => election.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let failure: { readonly error: unknown } | undefined;
    let finished = false;
    const unsubscribe = elector.subscribe({
      onStartedLeading: async (term) => {
        terms++;
        try {
          await options.run(term);
          if (!term.aborted) {
            finished = true;
            election.abort(new Error('the work finished while leading'));
          }
        } catch (error) {
          failure = { error };
          election.abort(error);
        }
      },
    });
    let outcome: LeaderElectionOutcome;
    try {
      outcome = await elector.run(election.signal);
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
    if (failure !== undefined) throw failure.error;
    if (finished) return { outcome: 'finished', terms };
    if (outcome === 'lost' && options.reelect === true && !signal.aborted) continue;
    return { outcome, terms };
  }
}
