/**
 * The leader election health check for a `/healthz` (liveness) endpoint: client-go's
 * `HealthzAdaptor`, which can be created before the elector it reports on.
 *
 * @module
 */
import type { LeaderElector } from './elector.js';
import type { LeaderRenewOverdueError } from './errors.js';

/**
 * Reports unhealthy when the elector believes it holds the Lease but has not renewed it for
 * longer than the lease duration plus `toleranceMs`: it should have stopped leading, or died,
 * and did not (a wedged process). Healthy before an elector is set, and on standby replicas.
 *
 * @example
 * ```ts
 * const health = new LeaderHealthCheck({ toleranceMs: 20_000 });
 * http.createServer((req, res) => {
 *   const err = health.check();
 *   res.writeHead(err === undefined ? 200 : 500).end(err?.message ?? 'ok');
 * }).listen(8080);
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 * });
 * health.setElector(elector);
 * ```
 */
export class LeaderHealthCheck {
  /** The check's name, as client-go's adaptor names it. */
  readonly name = 'leaderElection';
  readonly toleranceMs: number;
  #elector: LeaderElector | undefined;

  constructor(options: { readonly toleranceMs?: number; readonly elector?: LeaderElector } = {}) {
    this.toleranceMs = options.toleranceMs ?? 0;
    this.#elector = options.elector;
  }

  /** Ties the check to an elector (replacing any earlier one). */
  setElector(elector: LeaderElector): void {
    this.#elector = elector;
  }

  /** Undefined when healthy, else the error saying how overdue the renewal is. */
  check(): LeaderRenewOverdueError | undefined {
    return this.#elector?.check(this.toleranceMs);
  }
}
