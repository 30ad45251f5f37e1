/**
 * Turns a non-2xx HTTP answer of the API server into an {@link ApiStatusError} carrying the
 * decoded `Status` body and `Retry-After`.
 */
import { ApiStatusError, type Status } from '@kubecache/cache';
import { STATUS_CODES } from 'node:http';

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

/**
 * Builds the error of a failed request from its status code, headers and body text.
 *
 * @example
 * ```ts
 * if (res.statusCode !== 200) throw apiStatusErrorFrom(res.statusCode, res.headers, await res.body.text(), url);
 * ```
 */
export function apiStatusErrorFrom(
  statusCode: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string,
  what: string,
): ApiStatusError {
  const status = parseStatus(body);
  const text =
    status?.message ??
    (body.length > 0 ? body.slice(0, 300) : (STATUS_CODES[statusCode] ?? 'error'));
  return new ApiStatusError(statusCode, `${what}: ${statusCode} ${text}`, {
    status,
    reason: status?.reason,
    retryAfterSeconds:
      retryAfterSeconds(headers['retry-after']) ?? status?.details?.retryAfterSeconds,
  });
}
