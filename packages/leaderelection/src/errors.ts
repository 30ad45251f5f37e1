/**
 * The typed errors of leader election. Each is a {@link KubecacheError}: branch on `code`, show
 * `message` and `hint` to the operator.
 *
 * @module
 */
import { KubecacheError } from '@kubecache/cache';

/**
 * A leader election or lease lock misconfiguration: timings that break client-go's rules, an
 * empty identity or lease name, no API client, `run` called while running. `code` is
 * `'LeaderElectionConfig'`; `field` names the offending option.
 *
 * @example
 * ```ts
 * try {
 *   new LeaderElector({
 *     lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 *     leaseDurationMs: 10_000,
 *     renewDeadlineMs: 15_000, // must be shorter than leaseDurationMs
 *   });
 * } catch (err) {
 *   if (err instanceof LeaderElectionConfigError) console.error(err.field, err.message, err.hint);
 * }
 * ```
 */
export class LeaderElectionConfigError extends KubecacheError {
  /** The option at fault, e.g. `renewDeadlineMs`. */
  readonly field: string;

  constructor(field: string, message: string, hint?: string) {
    super('LeaderElectionConfig', message, { hint });
    this.field = field;
  }
}

/**
 * {@link LeaseLock.update} before the lock has read or created its Lease: an update needs the
 * `resourceVersion` it read (optimistic concurrency). `code` is `'LeaseNotLoaded'`.
 *
 * @example
 * ```ts
 * const lock = new LeaseLock({ kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: 'pod-a' });
 * const seen = await lock.get(signal); // loads the Lease and its resourceVersion (if it exists)
 * if (seen !== undefined) {
 *   await lock.update({ ...seen.record, renewTime: microTime(Date.now()) }, signal); // now allowed
 * }
 * ```
 */
export class LeaseNotLoadedError extends KubecacheError {
  constructor(lease: string) {
    super('LeaseNotLoaded', `lease ${lease}: update before get or create`, {
      hint: 'call get() (or create()) first: an update is conditional on the resourceVersion read',
    });
  }
}

/**
 * The health check's failure: this replica's last observed lease record names it as the holder,
 * but it has not renewed for longer than the lease duration plus the tolerance (client-go's
 * healthz adaptor). `code` is `'LeaderRenewOverdue'`.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: { kubeConfig: kc, namespace: 'default', name: 'my-controller', identity: process.env.POD_NAME! },
 * });
 * http.createServer((req, res) => {
 *   const err = elector.check(2_000);
 *   if (err instanceof LeaderRenewOverdueError) res.writeHead(500).end(err.message);
 *   else res.writeHead(200).end('ok');
 * });
 * ```
 */
export class LeaderRenewOverdueError extends KubecacheError {
  /** Local milliseconds since the last successful renewal. */
  readonly sinceRenewMs: number;

  constructor(lease: string, sinceRenewMs: number, limitMs: number) {
    super(
      'LeaderRenewOverdue',
      `leader election ${lease}: last renewed ${Math.round(sinceRenewMs)} ms ago, over the ${limitMs} ms allowed (lease duration + tolerance)`,
      {
        hint: 'the replica still believes it leads but cannot renew; restart it (a liveness probe on this check does)',
      },
    );
    this.sinceRenewMs = sinceRenewMs;
  }
}
