/**
 * Reads at a resourceVersion the server has not reached yet. The real server serves them from its
 * watch cache, which blocks such a read for up to 3 s (`blockTimeout` in k8s.io/apiserver's
 * watch_cache.go) in case the RV is about to arrive (a client that read from another, more
 * up-to-date server), and then answers 504 "Too large resource version" with a ResourceVersionTooLarge
 * cause and `Retry-After: 1`, on which client-go's reflector relists from the latest state.
 *
 * Separate from the storage because the wait is asynchronous while every storage call is
 * synchronous: a request first waits here, then reads the storage as usual.
 */
import type { ServerResponse } from 'node:http';
import type { Storage } from './storage.js';
import { tooLargeResourceVersion } from './status.js';

/** The real server's wait for a too-new resourceVersion. */
export const DEFAULT_TOO_LARGE_RESOURCE_VERSION_WAIT_MS = 3000;

interface Waiter {
  readonly rv: number;
  readonly done: () => void;
}

/** Lets requests wait for the storage to reach a resourceVersion. */
export class Freshness {
  readonly #db: Storage;
  readonly #waitMs: number;
  readonly #waiters = new Set<Waiter>();

  constructor(db: Storage, waitMs: number) {
    this.#db = db;
    this.#waitMs = waitMs;
    db.onEvent((ev) => {
      for (const waiter of this.#waiters) if (ev.rv >= waiter.rv) waiter.done();
    });
  }

  /**
   * Resolves once the storage has reached `rv` (at once if it has); rejects with the real server's
   * 504 when it has not within the configured wait. An aborted `signal` (the client left) ends
   * the wait early, also with the 504, which nobody will read.
   */
  async reach(rv: number, signal?: AbortSignal): Promise<void> {
    if (this.#db.resourceVersion >= rv) return;
    if (this.#waitMs > 0 && signal?.aborted !== true) {
      await new Promise<void>((resolve) => {
        const waiter: Waiter = {
          rv,
          done: () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', waiter.done);
            this.#waiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(waiter.done, this.#waitMs);
        timer.unref();
        signal?.addEventListener('abort', waiter.done, { once: true });
        this.#waiters.add(waiter);
      });
    }
    const current = this.#db.resourceVersion;
    if (current < rv) throw tooLargeResourceVersion(rv, current);
  }
}

/** Aborts when the client goes away (or the response is done), to end a wait early. */
export function clientGone(res: ServerResponse): AbortSignal {
  const left = new AbortController();
  res.once('close', () => left.abort());
  return left.signal;
}
