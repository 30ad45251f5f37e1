/**
 * Authentication: the bearer token check. With a token set, every request but the health probes
 * must carry `Authorization: Bearer <token>`, or gets 401 `Unauthorized` before anything else
 * (fault injection included) sees it, as on a real server.
 *
 * Separate so that the one place deciding who may talk to the server is easy to find; there is
 * no authorization (RBAC) beyond it.
 */
import type { IncomingMessage } from 'node:http';

/** Paths served without a token, like the real server's anonymous health checks. */
const OPEN_PATHS: readonly string[] = ['/healthz', '/livez', '/readyz'];

/** Whether a request to `path` may proceed: no token required, an open path, or the right token. */
export function authenticated(
  req: IncomingMessage,
  path: string,
  token: string | undefined,
): boolean {
  if (token === undefined || OPEN_PATHS.includes(path)) return true;
  return req.headers.authorization === `Bearer ${token}`;
}
