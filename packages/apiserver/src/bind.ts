/**
 * The embedded server is a test and demo tool with no real authentication by default: it binds to
 * loopback only, unless the caller says on purpose that it should be reachable from elsewhere.
 */
import { isIP } from 'node:net';
import { KubecacheError } from '@kubecache/cache';

/**
 * `startApiServer` was asked to bind a non-loopback interface without `allowNonLoopback`.
 * `code` is `'NonLoopbackBind'`.
 *
 * @example
 * ```ts
 * await startApiServer({ host: '0.0.0.0' }); // throws NonLoopbackBindError
 * await startApiServer({ host: '0.0.0.0', allowNonLoopback: true }); // reachable from the network
 * ```
 */
export class NonLoopbackBindError extends KubecacheError {
  readonly host: string;

  constructor(host: string) {
    super(
      'NonLoopbackBind',
      `refusing to bind the embedded API server to ${JSON.stringify(host)}: not a loopback address`,
      {
        hint: 'it would be reachable from the network; pass allowNonLoopback: true (CLI: --allow-non-loopback) if that is intended',
      },
    );
    this.host = host;
  }
}

/**
 * True for `localhost`, 127.0.0.0/8, `::1` and IPv4-mapped loopback; false for wildcards and
 * everything else.
 *
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0');   // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  if (isIP(h) === 6) return /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(h);
  return false;
}
