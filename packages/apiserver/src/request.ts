/**
 * The entry of every HTTP request, in the order a real server's filter chain has it: count and
 * log it, authenticate it (401), resolve impersonation and authorize it (403, `authorization.ts`),
 * apply fault injection (an injected failure, then latency), then
 * route it (`routing.ts`); any error thrown on the way becomes its `Status` response.
 *
 * Separate from routing because these steps apply to every path alike, discovery and health
 * probes included, and their order is behaviour tests rely on: an unauthenticated request is
 * rejected before a `failNext` rule can consume it, and a request failed by a rule never reaches
 * a handler or the counters of its verb.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, impersonate } from './auth.js';
import type { UserInfo } from './authorization.js';
import { forbidden, requestAttributes } from './authorization.js';
import type { ServerContext } from './context.js';
import { reasonForCode } from './faults.js';
import type { FaultRequest } from './faults.js';
import { boolParam } from './query.js';
import { sendJson, sendStatus } from './response.js';
import { routeRequest } from './routing.js';
import { logRequest } from './stats.js';
import { failureStatus, toStatusError } from './status.js';

/** Answers the request with an armed `failNext` failure, if one matches; true when it did. */
function sendInjectedFailure(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  faultReq: FaultRequest,
): boolean {
  const failure = ctx.faults.takeFailure(faultReq);
  if (failure === undefined) return false;
  req.resume();
  const code = failure.status;
  const retry = failure.retryAfterSeconds ?? (code === 429 ? 1 : undefined);
  const status = failureStatus(
    code,
    reasonForCode(code) as never,
    failure.message ?? `injected failure ${code}`,
  );
  if (retry !== undefined) status.details = { retryAfterSeconds: retry };
  const headers: Record<string, string> =
    retry !== undefined ? { 'Retry-After': String(retry) } : {};
  sendJson(res, code, JSON.stringify(status), headers);
  return true;
}

/**
 * Authentication (401), impersonation and authorization (403) of a request, in the real filter
 * chain's order; throws the failure.
 */
function authorize(
  ctx: ServerContext,
  req: IncomingMessage,
  method: string,
  path: string,
  query: URLSearchParams,
): UserInfo {
  const user = impersonate(req, authenticate(req, path, ctx.token, ctx.tokens), ctx.authorizer);
  let parts: string[];
  try {
    parts = path
      .split('/')
      .filter((p) => p !== '')
      .map((p) => decodeURIComponent(p));
  } catch {
    return user; // a malformed path is routing's 400
  }
  const attrs = requestAttributes(method, parts, query);
  if (attrs !== undefined && !ctx.authorizer.allows(user, attrs)) throw forbidden(user, attrs);
  return user;
}

/** Serves one HTTP request end to end; rejects only if even the error response cannot be sent. */
export async function handleRequest(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const stats = ctx.stats;
  stats.requests++;
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://x');
  logRequest(stats, method, req.url ?? '/');
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  const query = url.searchParams;

  try {
    authorize(ctx, req, method, path, query);
  } catch (err) {
    req.resume();
    sendStatus(res, toStatusError(err));
    return;
  }
  const watch = boolParam(query, 'watch') || path.includes('/watch/');
  if (sendInjectedFailure(ctx, req, res, { method, path, query, watch })) return;
  if (ctx.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, ctx.faults.latencyMs));

  try {
    await routeRequest(ctx, req, res, method, path, query, watch);
  } catch (err) {
    req.resume();
    sendStatus(res, toStatusError(err));
  }
}
