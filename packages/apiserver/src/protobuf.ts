/**
 * Protobuf request bodies (`Content-Type: application/vnd.kubernetes.protobuf`), as kubectl's
 * typed commands and client-go's typed clients send them, decoded into the JSON object the same
 * client would have sent as JSON.
 *
 * The wire form is the 4-byte magic `k8s\0`, then a `runtime.Unknown` message whose `typeMeta`
 * names the apiVersion and kind and whose `raw` is the object encoded with k8s.io/api's generated
 * protobuf (which carries no apiVersion/kind of its own). protobufjs decodes the messages against
 * the schema subset of `protobuf-schema.ts`; this file turns them into JSON the way the Go types
 * marshal:
 *
 * | protobuf                      | JSON                                                        |
 * | ----------------------------- | ----------------------------------------------------------- |
 * | `Time {seconds}`              | RFC 3339 in UTC, whole seconds (`null` for Go's zero time)  |
 * | `MicroTime {seconds, nanos}`  | RFC 3339 with microseconds                                  |
 * | `Quantity {string}`           | the string                                                  |
 * | `IntOrString {type, …}`       | `intVal` (type 0) or `strVal` (type 1)                      |
 * | `bytes` (Secret `data`…)      | base64                                                      |
 * | `FieldsV1 {Raw}`              | the JSON document `Raw` holds                               |
 * | `int64`                       | a number                                                    |
 * | `""`, `0`, `false`            | left out (`omitempty`), unless the field is marked `!`      |
 * | an `inline` message           | its fields merged into the parent (Go embedded struct)      |
 *
 * Map values and list items are kept as they are, empty strings included. A field or kind the
 * schema does not model is refused with 415, naming it, so nothing is ever dropped silently.
 */
import type { KubeObject } from '@kubecache/cache';
import protobuf from 'protobufjs';
import { FIELDS, messageForKind, protobufMessageType } from './protobuf-schema.js';
import type { FieldInfo } from './protobuf-schema.js';
import { badRequest, statusError } from './status.js';
import type { ApiStatusError } from '@kubecache/cache';

/** The media type of Kubernetes protobuf bodies. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** The 4 bytes before every Kubernetes protobuf message: `k8s\0`. */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Go's zero `time.Time` as Unix seconds (0001-01-01T00:00:00Z). */
const GO_ZERO_TIME_SECONDS = -62135596800;

/** What the path expects the body to be, for messages and for a body with no kind. */
export interface ExpectedKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** A message as protobufjs decodes it: fields as own properties, unknown fields in `$unknowns`. */
type Decoded = Record<string, unknown> & { $unknowns?: unknown[] };

/** A field or kind the schema does not model. */
function unsupported(what: string): ApiStatusError {
  return statusError(
    415,
    'UnsupportedMediaType',
    `the embedded API server cannot decode ${what} from application/vnd.kubernetes.protobuf; send it as application/json`,
  );
}

/** int64 arrives as a long.js `Long` when that package is installed, else as a number. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && 'toNumber' in value) {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number(value);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** RFC 3339 in UTC with whole seconds (`metav1.Time`) or microseconds (`metav1.MicroTime`). */
function rfc3339(seconds: number, micros: number | undefined): string {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micros === undefined ? `${base}Z` : `${base}.${pad(micros, 6)}Z`;
}

function isZero(value: unknown): boolean {
  return value === '' || value === 0 || value === false;
}

/** Converts one decoded message to JSON; `path` names where it is, for errors. */
function messageJson(typeName: string, msg: Decoded, path: string): unknown {
  if (msg.$unknowns !== undefined && msg.$unknowns.length > 0) {
    throw unsupported(`a field of ${typeName} at ${path} (not modelled by its schema)`);
  }
  switch (typeName) {
    case 'Time':
    case 'MicroTime': {
      const seconds = toNumber(msg['seconds'] ?? 0);
      const nanos = toNumber(msg['nanos'] ?? 0);
      // Go's zero time is written as an empty message, and marshals to JSON as null.
      if ((seconds === 0 && nanos === 0) || seconds === GO_ZERO_TIME_SECONDS) return null;
      // metav1.Time keeps whole seconds only (its decoder drops nanos); MicroTime microseconds.
      return rfc3339(seconds, typeName === 'Time' ? undefined : Math.floor(nanos / 1000));
    }
    case 'Quantity':
      return msg['string'] ?? '';
    case 'IntOrString':
      return toNumber(msg['type'] ?? 0) === 1 ? (msg['strVal'] ?? '') : (msg['intVal'] ?? 0);
    case 'FieldsV1': {
      const raw = msg['Raw'];
      return raw instanceof Uint8Array && raw.length > 0
        ? (JSON.parse(Buffer.from(raw).toString('utf8')) as unknown)
        : {};
    }
  }
  const out: Record<string, unknown> = {};
  for (const field of FIELDS.get(typeName)!) {
    if (!Object.prototype.hasOwnProperty.call(msg, field.name)) continue;
    const value = msg[field.name];
    const where = `${path}.${field.name}`;
    if (field.map) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) continue;
      out[field.name] = Object.fromEntries(
        entries.map(([k, v]) => [k, fieldValue(field, v, `${where}[${k}]`)]),
      );
    } else if (field.repeated) {
      const items = value as unknown[];
      if (items.length === 0) continue;
      out[field.name] = items.map((v, i) => fieldValue(field, v, `${where}[${i}]`));
    } else if (field.inline) {
      Object.assign(out, fieldValue(field, value, path));
    } else {
      if (value === null || value === undefined) continue;
      const json = fieldValue(field, value, where);
      if (!field.keepZero && isZero(json)) continue;
      out[field.name] = json;
    }
  }
  return out;
}

/** One value of a field (an item of a list or map, or the single value). */
function fieldValue(field: FieldInfo, value: unknown, path: string): unknown {
  switch (field.type) {
    case 'int64':
      return toNumber(value);
    case 'bytes':
      return Buffer.from(value as Uint8Array).toString('base64');
    case 'string':
    case 'bool':
    case 'int32':
      return value;
    default:
      return messageJson(field.type, value as Decoded, path);
  }
}

/** Decodes `bytes` as the message `typeName` of the schema into JSON. */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type: protobuf.Type = protobufMessageType(typeName);
  let msg: Decoded;
  try {
    // Unknown fields are kept (in `$unknowns`), so that they are refused rather than dropped.
    const reader = protobuf.Reader.create(bytes);
    reader.discardUnknown = false;
    msg = type.decode(reader) as unknown as Decoded;
  } catch (err) {
    throw badRequest(
      `the object provided is unrecognized: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return messageJson(typeName, msg, typeName) as Record<string, unknown>;
}

/**
 * Decodes a protobuf request body (`k8s\0` + `runtime.Unknown`) into a JSON object with its
 * `apiVersion` and `kind`. A body without a kind is read as the kind the path expects, as the
 * real server does. Errors: 400 (not a Kubernetes protobuf message, with the real server's text),
 * 415 (a kind or field the embedded server's schema does not model).
 *
 * @example
 * ```ts
 * // What `kubectl create configmap a --from-literal=k=v` POSTs, give or take empty fields.
 * const raw = protobufMessageType('ConfigMap')
 *   .encode({ metadata: { name: 'a', creationTimestamp: {} }, data: { k: 'v' } })
 *   .finish();
 * const unknown = protobufMessageType('Unknown')
 *   .encode({ typeMeta: { apiVersion: 'v1', kind: 'ConfigMap' }, raw })
 *   .finish();
 * const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
 * const cm = decodeProtobufBody(body, { apiVersion: 'v1', kind: 'ConfigMap' });
 * // { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', creationTimestamp: null }, data: { k: 'v' } }
 * ```
 */
export function decodeProtobufBody(body: Buffer, expected: ExpectedKind): KubeObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${expected.kind}): provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] (${body.subarray(0, 8).toString('hex')})`,
    );
  }
  const unknown = decodeMessage('Unknown', body.subarray(MAGIC.length)) as {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: string;
    contentEncoding?: string;
  };
  if (unknown.contentEncoding !== undefined) {
    throw unsupported(`a body with contentEncoding ${JSON.stringify(unknown.contentEncoding)}`);
  }
  const kind = unknown.typeMeta?.kind || expected.kind;
  const apiVersion = unknown.typeMeta?.apiVersion || expected.apiVersion;
  const message = messageForKind(apiVersion, kind);
  if (message === undefined) throw unsupported(`kind ${kind} of ${apiVersion}`);
  const raw = Buffer.from(unknown.raw ?? '', 'base64');
  return { apiVersion, kind, ...decodeMessage(message, raw) } as KubeObject;
}
