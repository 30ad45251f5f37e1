/**
 * Turns a non-2xx HTTP answer of the API server into an {@link ApiStatusError} carrying the
 * decoded `Status` body, `Retry-After`, and an operator hint that says what to do about it
 * (check the credentials, grant the verb, install the CRD, …).
 */
import { ApiStatusError, type Status } from '@kubecache/cache';
import { STATUS_CODES } from 'node:http';
import { htmlHint, looksLikeHtml, textPreview } from './hints.js';

/**
 * What a failed request was doing, for the hint of its error: the verb and the resource let a
 * 403 say which permission is missing, a 404 which resource is not served.
 *
 * @example
 * ```ts
 * const request: ApiRequestDescription = { verb: 'list', group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default' };
 * ```
 */
export interface ApiRequestDescription {
  /** The Kubernetes verb: `list`, `watch`, `get`, `create`, `update`, `patch`, `delete`, … */
  readonly verb: string;
  /** The plural resource name, e.g. `pods`. */
  readonly resource?: string;
  /** The API group ("" for the core group). */
  readonly group?: string;
  readonly version?: string;
  /** The namespace of the request; none for a cluster-wide one. */
  readonly namespace?: string;
  /** The object's name, for requests on one object. */
  readonly name?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

function parseStatus(body: string): Status | undefined {
  if (body === '') return undefined;
  try {
    const value: unknown = JSON.parse(body);
    if (value !== null && typeof value === 'object' && (value as Status).kind === 'Status')
      return value as Status;
  } catch {
    // Not JSON (a proxy's HTML error page, say): keep the text in the message only.
  }
  return undefined;
}

function retryAfterSeconds(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function resourceName(request: ApiRequestDescription): string {
  const resource = request.resource ?? 'the resource';
  return request.group ? `${resource}.${request.group}` : resource;
}

function groupVersion(request: ApiRequestDescription): string {
  const version = request.version ?? '';
  if (request.group) return version ? `${request.group}/${version}` : request.group;
  return version ? `the core API ${version}` : 'the core API';
}

function scope(request: ApiRequestDescription): string {
  return request.namespace !== undefined && request.namespace !== ''
    ? `in namespace ${JSON.stringify(request.namespace)}`
    : 'at the cluster scope';
}

function isTooLargeResourceVersion(status: Status | undefined, text: string): boolean {
  if (status?.details?.causes?.some((c) => c.reason === 'ResourceVersionTooLarge')) return true;
  return /too large resource version/i.test(text);
}

const RETRYING = 'the informer retries with backoff';

/**
 * The operator hint of a failed request: what the status means for this request and what to do.
 * Undefined when there is nothing useful to add.
 *
 * @example
 * ```ts
 * apiStatusHint(403, { verb: 'watch', resource: 'pods', group: '', namespace: 'default' });
 * // 'the identity lacks `watch` on `pods` in namespace "default": grant it with a Role and a RoleBinding …'
 * ```
 */
export function apiStatusHint(
  statusCode: number,
  request?: ApiRequestDescription,
  status?: Status,
  retryAfter?: number,
): string | undefined {
  const r: ApiRequestDescription = request ?? { verb: 'request' };
  const message = status?.message ?? '';
  switch (statusCode) {
    case 400: {
      if (r.fieldSelector && /field/i.test(message)) {
        return (
          `the server refused the field selector ${JSON.stringify(r.fieldSelector)}: ` +
          `${resourceName(r)} can be selected only by metadata.name, metadata.namespace and the ` +
          'field labels its kind supports; fix the selector'
        );
      }
      if (r.labelSelector && /selector|requirement|label/i.test(message)) {
        return (
          `the server refused the label selector ${JSON.stringify(r.labelSelector)}: check its ` +
          'syntax (key=value, key!=value, key in (a,b), key notin (a), key, !key, comma-separated)'
        );
      }
      return 'the server refused the request as malformed; check the options passed to the informer';
    }
    case 401:
      return (
        'the credentials were rejected: check the kubeconfig user (an expired token, a rotated ' +
        'client certificate, an exec plugin that failed, the wrong context?)'
      );
    case 403: {
      const verb = r.verb;
      const binding =
        r.namespace !== undefined && r.namespace !== ''
          ? 'a Role and a RoleBinding in that namespace (or a ClusterRole and a RoleBinding)'
          : 'a ClusterRole and a ClusterRoleBinding';
      const needs =
        verb === 'list' || verb === 'watch' ? '; an informer needs both `list` and `watch`' : '';
      return (
        `the identity lacks \`${verb}\` on \`${resourceName(r)}\` ${scope(r)}: grant it with ` +
        `${binding}${needs}`
      );
    }
    case 404:
      if (r.name === undefined && r.resource !== undefined) {
        return (
          `the API server does not serve \`${r.resource}\` in ${groupVersion(r)}: is the CRD ` +
          'installed (and established), or the API group and version enabled? The informer ' +
          'keeps retrying and syncs once it is served'
        );
      }
      return undefined;
    case 405:
      return `\`${resourceName(r)}\` does not support \`${r.verb}\``;
    case 410:
      return 'the resourceVersion asked for is too old (compacted away): the informer relists';
    case 429:
      return (
        'the API server is shedding load (API Priority and Fairness): the informer waits ' +
        (retryAfter !== undefined ? `the ${retryAfter} s it asked for` : 'and retries')
      );
    case 500:
      return `an internal error of the API server: ${RETRYING}; if it persists, check its logs`;
    case 502:
    case 503:
      return (
        'the API server, or a proxy or load balancer in front of it, is unavailable ' +
        `(restarting, overloaded, no healthy backend): ${RETRYING}`
      );
    case 504:
      if (isTooLargeResourceVersion(status, message)) {
        return 'the server has not caught up with the resourceVersion asked for: the informer relists';
      }
      return `the API server, or a proxy in front of it, timed out: ${RETRYING}`;
    default:
      return statusCode >= 500 ? `a server error: ${RETRYING}` : undefined;
  }
}

/**
 * Builds the error of a failed request from its status code, headers and body text. `what`
 * starts the message (e.g. `GET /api/v1/pods`); `request` says what the request was doing, so
 * the hint can name the missing permission or the resource that is not served. A body that is
 * not a Kubernetes `Status` is previewed as text (HTML reduced to its words) and, when it is an
 * HTML page, the hint says a proxy or gateway answered.
 *
 * @example
 * ```ts
 * const res = await fetch('http://127.0.0.1:8001/api/v1/pods'); // kubectl proxy
 * if (res.status !== 200) {
 *   const headers = Object.fromEntries(res.headers);
 *   throw apiStatusErrorFrom(res.status, headers, await res.text(), 'GET /api/v1/pods', { verb: 'list', resource: 'pods' });
 * }
 * ```
 */
export function apiStatusErrorFrom(
  statusCode: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string,
  what: string,
  request?: ApiRequestDescription,
): ApiStatusError {
  const status = parseStatus(body);
  const statusText = STATUS_CODES[statusCode] ?? 'error';
  const html = status === undefined && looksLikeHtml(body);
  let text: string;
  if (status?.message !== undefined) text = status.message;
  else if (html) {
    text = `${statusText} (an HTML page, not a Kubernetes Status): ${JSON.stringify(textPreview(body))}`;
  } else text = body.length > 0 ? textPreview(body, 300) : statusText;
  const retryAfter =
    retryAfterSeconds(headers['retry-after']) ?? status?.details?.retryAfterSeconds;
  let hint = apiStatusHint(statusCode, request, status, retryAfter);
  if (html) {
    const retrying = statusCode >= 500 || statusCode === 429 ? `; ${RETRYING}` : '';
    hint = `${htmlHint}${retrying}`;
  }
  return new ApiStatusError(statusCode, `${what}: ${statusCode} ${text}`, {
    status,
    reason: status?.reason,
    retryAfterSeconds: retryAfter,
    ...(hint === undefined ? {} : { hint }),
  });
}
