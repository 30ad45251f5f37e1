import { ApiStatusError } from '@kubecache/cache';
import type { Status } from '@kubecache/cache';

/** The `reason` values the server puts in `Status` objects (the real server's spellings). */
export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Gone'
  | 'Expired'
  | 'TooManyRequests'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'InternalError'
  | 'Timeout'
  | 'ServiceUnavailable'
  | '';

/** Builds a failure `Status` object. */
export function failureStatus(
  code: number,
  reason: StatusReason,
  message: string,
  details?: Status['details'],
): Status {
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  // metav1.Status.reason is `omitempty` (a 500 from a failed strategic merge has none).
  if (reason === '') delete status.reason;
  if (details !== undefined) {
    // metav1.StatusDetails.group is `omitempty`: the core group ("") is left out on the wire.
    const { group, ...rest } = details;
    status.details = group === '' || group === undefined ? rest : { group, ...rest };
  }
  return status;
}

/** Throws-ready error carrying a failure Status; the HTTP layer writes it as the response. */
export function statusError(
  code: number,
  reason: StatusReason,
  message: string,
  details?: Status['details'],
): ApiStatusError {
  return new ApiStatusError(code, message, {
    status: failureStatus(code, reason, message, details),
  });
}

/** Identifies an object in error messages: `configmaps "x"` or `myapps.my.domain "x"`. */
export function qualified(group: string, resource: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export function notFound(group: string, resource: string, name: string): ApiStatusError {
  return statusError(404, 'NotFound', `${qualified(group, resource)} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });
}

export function alreadyExists(group: string, resource: string, name: string): ApiStatusError {
  return statusError(
    409,
    'AlreadyExists',
    `${qualified(group, resource)} "${name}" already exists`,
    { name, group, kind: resource },
  );
}

export function conflict(group: string, resource: string, name: string): ApiStatusError {
  return statusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(group, resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group, kind: resource },
  );
}

export function invalid(
  group: string,
  kind: string,
  name: string,
  causes: { field: string; message: string; reason?: string }[],
): ApiStatusError {
  // An aggregate of several distinct errors is bracketed (`[a, b]`), one error is not; the kind is
  // qualified with its group (`Deployment.apps`), as apimachinery's NewInvalid words it.
  // Repeated messages count once in the text (the causes keep them all).
  const parts = [...new Set(causes.map((c) => `${c.field}: ${c.message}`))];
  const text = parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
  const groupKind = group === '' ? kind : `${kind}.${group}`;
  return statusError(422, 'Invalid', `${groupKind} "${name}" is invalid: ${text}`, {
    // StatusDetails.name is omitempty.
    ...(name === '' ? {} : { name }),
    group,
    kind,
    causes: causes.map((c) => ({
      reason: c.reason ?? 'FieldValueRequired',
      message: c.message,
      // StatusCause.field is omitempty.
      ...(c.field === '' ? {} : { field: c.field }),
    })),
  });
}

export function badRequest(message: string): ApiStatusError {
  return statusError(400, 'BadRequest', message);
}

/** 405: the verb is not served on this path (e.g. POST to a named object, PUT to a collection). */
export function methodNotAllowed(): ApiStatusError {
  return statusError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
}

export function expired(message: string): ApiStatusError {
  return statusError(410, 'Expired', message);
}

/**
 * 504 for a read at a resourceVersion the server has not reached (k8s.io/apiserver's
 * `NewTooLargeResourceVersionError`): the cause tells clients to relist, `Retry-After: 1` follows
 * from `retryAfterSeconds`.
 */
export function tooLargeResourceVersion(rv: number, current: number): ApiStatusError {
  return statusError(
    504,
    'Timeout',
    `Timeout: Too large resource version: ${rv}, current: ${current}`,
    {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    },
  );
}

/**
 * 500 for an exact-resourceVersion LIST in the future: the real server passes it to etcd, whose
 * error has no reason.
 */
export function futureRevision(): ApiStatusError {
  const message = 'etcdserver: mvcc: required revision is a future revision';
  const status = failureStatus(500, '', message);
  delete status.reason;
  return new ApiStatusError(500, message, { status });
}

/** Converts anything thrown inside a handler into an ApiStatusError with a Status body. */
export function toStatusError(err: unknown): ApiStatusError {
  if (err instanceof ApiStatusError && err.status !== undefined) return err;
  const message = err instanceof Error ? err.message : String(err);
  return statusError(500, 'InternalError', `Internal error occurred: ${message}`);
}
