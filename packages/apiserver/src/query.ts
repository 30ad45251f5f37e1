/**
 * Query-parameter parsing with the real server's conversion rules (apimachinery's
 * `Convert_Slice_string_To_bool` / `…_To_int64`), so clients that spell parameters differently
 * (`?watch`, `watch=1`, `watch=True`) get what a real cluster gives them.
 */
import { badRequest } from './status.js';

const INT64_MAX = 2n ** 63n - 1n;

/**
 * A boolean parameter: absent is false; `false` (any case) and `0` are false; every other value,
 * including the empty one (`?watch`, `?watch=`), is true.
 */
export function boolParam(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  return value !== '0' && value.toLowerCase() !== 'false';
}

/** An optional boolean (`sendInitialEvents`): undefined when absent, else as {@link boolParam}. */
export function optionalBoolParam(query: URLSearchParams, name: string): boolean | undefined {
  return query.has(name) ? boolParam(query, name) : undefined;
}

/**
 * An optional int64 parameter: undefined when absent; anything Go's `strconv.ParseInt(s, 10, 64)`
 * rejects (including the empty string) is a 400 BadRequest, as the real server's parameter
 * decoding answers.
 */
export function intParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  if (!/^[+-]?\d+$/.test(value)) {
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  }
  const big = BigInt(value);
  if (big > INT64_MAX || big < -INT64_MAX - 1n) {
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`);
  }
  // Past 2^53 the number is approximate, which no page size or timeout can tell apart.
  const n = Number(big);
  return n;
}

/** `limit`: a positive page size, or undefined (absent, zero or negative mean no paging). */
export function limitParam(query: URLSearchParams): number | undefined {
  const limit = intParam(query, 'limit');
  return limit !== undefined && limit > 0 ? limit : undefined;
}

/** `timeoutSeconds` as milliseconds, or undefined (absent, zero or negative: no timeout). */
export function timeoutParamMs(query: URLSearchParams): number | undefined {
  const seconds = intParam(query, 'timeoutSeconds');
  return seconds !== undefined && seconds > 0 ? seconds * 1000 : undefined;
}

/** The ListOptions of a LIST or WATCH request, decoded (and validated) in one place. */
export interface ListQuery {
  readonly watch: boolean;
  readonly allowWatchBookmarks: boolean;
  /** Undefined when the parameter is absent (it changes the watch semantics when present). */
  readonly sendInitialEvents: boolean | undefined;
  readonly limit: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly resourceVersion: string;
  readonly resourceVersionMatch: string;
  readonly labelSelector: string | null;
  readonly fieldSelector: string | null;
  /** KEP-5866's `shardSelector`, as sent; parsed (or ignored) by `selectors.ts`. */
  readonly shardSelector: string | null;
  readonly continueToken: string | undefined;
}

/**
 * Decodes every ListOptions parameter up front, as the real server does before it looks at any of
 * them: a malformed number is a 400 even on a request that would not use it.
 */
export function parseListQuery(query: URLSearchParams): ListQuery {
  return {
    watch: boolParam(query, 'watch'),
    allowWatchBookmarks: boolParam(query, 'allowWatchBookmarks'),
    sendInitialEvents: optionalBoolParam(query, 'sendInitialEvents'),
    limit: limitParam(query),
    timeoutMs: timeoutParamMs(query),
    resourceVersion: query.get('resourceVersion') ?? '',
    resourceVersionMatch: query.get('resourceVersionMatch') ?? '',
    labelSelector: query.get('labelSelector'),
    fieldSelector: query.get('fieldSelector'),
    shardSelector: query.get('shardSelector'),
    continueToken: query.get('continue') ?? undefined,
  };
}
