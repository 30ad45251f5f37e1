/**
 * Authentication and impersonation: who a request is. With the server's `token` set, every
 * request but the health probes must carry `Authorization: Bearer <token>`, or gets 401
 * `Unauthorized` before anything else (fault injection included) sees it, as on a real server
 * with anonymous auth off; that token is an admin (`system:masters`). `auth.tokens` map more bearer
 * tokens to users and groups; an unknown token is 401. Without the server token, a request with no
 * token is `system:anonymous`. `Impersonate-User` / `Impersonate-Group` headers then switch to
 * another user, if the authenticated one may `impersonate` them.
 *
 * What each user may do is `authorization.ts`'s business.
 */
import type { IncomingMessage } from 'node:http';
import type { ApiStatusError } from '@kubecache/cache';
import type { Authorizer, UserInfo } from './authorization.js';
import { forbidden, MASTERS_GROUP } from './authorization.js';
import { statusError } from './status.js';

/** A user a bearer token stands for (`startApiServer({ auth: { tokens } })`). */
export interface TokenUser {
  readonly user: string;
  readonly groups?: readonly string[];
}

/** Paths served without a token, like the real server's anonymous health checks. */
const OPEN_PATHS: readonly string[] = ['/healthz', '/livez', '/readyz'];

const AUTHENTICATED = 'system:authenticated';
const ANONYMOUS: UserInfo = { user: 'system:anonymous', groups: ['system:unauthenticated'] };
/** The holder of the server's own token (the kubeconfig's user). */
const ADMIN: UserInfo = { user: 'admin', groups: [MASTERS_GROUP, AUTHENTICATED] };

function unauthorized(): ApiStatusError {
  return statusError(401, 'Unauthorized', 'Unauthorized');
}

/** Who sent the request, by its bearer token; throws 401 when it may not talk to the server. */
export function authenticate(
  req: IncomingMessage,
  path: string,
  serverToken: string | undefined,
  tokens: Readonly<Record<string, TokenUser>> | undefined,
): UserInfo {
  const header = req.headers.authorization;
  const bearer = header?.startsWith('Bearer ') === true ? header.slice(7).trim() : undefined;
  if (bearer !== undefined) {
    if (serverToken !== undefined && bearer === serverToken) return ADMIN;
    const known =
      tokens !== undefined && Object.hasOwn(tokens, bearer) ? tokens[bearer] : undefined;
    if (known !== undefined)
      return { user: known.user, groups: [...(known.groups ?? []), AUTHENTICATED] };
    // Without any token configured, whatever a client sends is not checked.
    if (serverToken !== undefined || (tokens !== undefined && Object.keys(tokens).length > 0)) {
      if (OPEN_PATHS.includes(path)) return ANONYMOUS;
      throw unauthorized();
    }
    return ANONYMOUS;
  }
  if (serverToken === undefined || OPEN_PATHS.includes(path)) return ANONYMOUS;
  throw unauthorized();
}

/**
 * The user a request acts as after `Impersonate-User` / `Impersonate-Group`; 403 when the
 * authenticated user may not impersonate them.
 */
export function impersonate(
  req: IncomingMessage,
  user: UserInfo,
  authorizer: Authorizer,
): UserInfo {
  const name = req.headersDistinct['impersonate-user']?.[0];
  if (name === undefined) return user;
  const groups = req.headersDistinct['impersonate-group'] ?? [];
  const check = (resource: string, target: string): void => {
    const attrs = {
      verb: 'impersonate',
      apiGroup: '',
      resource,
      subresource: '',
      namespace: '',
      name: target,
    };
    if (!authorizer.allows(user, attrs)) throw forbidden(user, attrs);
  };
  check('users', name);
  for (const g of groups) check('groups', g);
  return { user: name, groups: name === ANONYMOUS.user ? groups : [...groups, AUTHENTICATED] };
}
