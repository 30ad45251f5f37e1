/**
 * Media types: which request bodies the server reads (415 otherwise) and which responses a
 * request's `Accept` header lets it send (406 otherwise), with the real server's two layers of
 * checks and their two kinds of error bodies.
 *
 * 1. The route (go-restful, built-in resources only): a PATCH whose `Content-Type` is not a patch
 *    type, or a request whose `Accept` names none of `application/json`, `application/yaml`,
 *    `application/vnd.kubernetes.protobuf` or `*∕*` (parameters ignored), is refused before the
 *    handler runs: "415: Unsupported Media Type" / "406: Not Acceptable", with `details: {}`.
 * 2. The handler's negotiation: a body in another media type is 415 "the body of the request was
 *    in an unknown format - accepted media types include: …"; an `Accept` whose every entry asks
 *    for an unknown transformation (`as=Table` without `g=meta.k8s.io;v=v1`, `as=Foo`…) is 406
 *    "only the following media types are accepted: …"; and the transformation chosen must fit
 *    the answer: `as=PartialObjectMetadataList` is for lists, `as=PartialObjectMetadata` for
 *    single objects and watch events (406 "you requested PartialObjectMetadata, but the
 *    requested object is a list (*core.ConfigMapList)").
 *
 * Responses are always JSON: a client offering protobuf also offers JSON (kubectl sends
 * `application/vnd.kubernetes.protobuf,application/json`), and client-go decodes by the
 * response's `Content-Type` anyway. YAML responses (`Accept: application/yaml`) are JSON too.
 */
import type { IncomingMessage } from 'node:http';
import type { ApiStatusError } from '@kubecache/cache';
import type { ResourceInfo } from './resources.js';
import { statusError } from './status.js';
import type { Representation } from './watch.js';
import { PROTOBUF_CONTENT_TYPE } from './protobuf.js';

/** The media types a body may be sent in (after the route's checks). */
export type BodyMediaType = 'json' | 'yaml' | 'protobuf';

/** What a request's `Accept` header asks for, once negotiated. */
export interface OutputMedia {
  readonly representation: Representation;
  readonly table: boolean;
}

/** What kind of answer a request gets, for the transformation checks. */
export type AnswerShape = 'object' | 'list' | 'watch';

const SERIALIZERS = ['application/json', 'application/yaml', PROTOBUF_CONTENT_TYPE] as const;

/** The patch types a built-in resource's PATCH route consumes (v1.23). */
const PATCH_TYPES: readonly string[] = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

/** The media type of a header value, lower-cased, without parameters. */
export function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

function unknownBodyFormat(): ApiStatusError {
  return statusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${SERIALIZERS.join(', ')}`,
  );
}

function routeUnsupported(): ApiStatusError {
  return statusError(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {});
}

function routeNotAcceptable(): ApiStatusError {
  return statusError(406, 'NotAcceptable', '406: Not Acceptable', {});
}

function notAcceptable(message: string): ApiStatusError {
  return statusError(406, 'NotAcceptable', message);
}

/**
 * The media type of a create, update or delete body: JSON (also when no `Content-Type` is sent,
 * as the real server assumes), YAML or protobuf; 415 for anything else.
 */
export function bodyMediaType(req: IncomingMessage): BodyMediaType {
  const type = mediaTypeOf(req.headers['content-type']);
  if (type === '' || type === 'application/json') return 'json';
  if (type === 'application/yaml') return 'yaml';
  if (type === PROTOBUF_CONTENT_TYPE) return 'protobuf';
  throw unknownBodyFormat();
}

/**
 * The route's check of a PATCH's `Content-Type` (built-in resources): 415 "415: Unsupported Media
 * Type" unless it is one of the patch types. Custom resources have no such route; their handler
 * refuses unknown patch types with its own message.
 */
export function checkPatchContentType(req: IncomingMessage, info: ResourceInfo): void {
  if (info.custom) return;
  if (!PATCH_TYPES.includes(mediaTypeOf(req.headers['content-type']))) throw routeUnsupported();
}

/** One entry of an `Accept` header. */
interface AcceptEntry {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
}

function parseAccept(header: string): AcceptEntry[] {
  return header
    .split(',')
    .map((clause) => {
      const [type, ...rest] = clause.split(';');
      const params = new Map<string, string>();
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
      }
      return { type: type!.trim().toLowerCase(), params };
    })
    .filter((e) => e.type !== '');
}

/** The transformation an entry asks for; `undefined` when the server cannot give it. */
function transformation(entry: AcceptEntry): OutputMedia | 'PartialObjectMetadataList' | undefined {
  const as = entry.params.get('as');
  if (as === undefined) return { representation: 'full', table: false };
  const group = entry.params.get('g');
  const version = entry.params.get('v');
  if (group !== 'meta.k8s.io' || (version !== 'v1' && version !== 'v1beta1')) return undefined;
  switch (as) {
    case 'Table':
      return { representation: 'full', table: true };
    case 'PartialObjectMetadata':
      return { representation: 'metadata', table: false };
    case 'PartialObjectMetadataList':
      return 'PartialObjectMetadataList';
    default:
      return undefined;
  }
}

/** The internal Go type the real server names in its "is a list" errors, e.g. `*core.ConfigMap`. */
function internalTypeName(info: ResourceInfo, list: boolean): string {
  const suffix = list ? 'List' : '';
  if (info.custom) return `*unstructured.Unstructured${suffix}`;
  // events.k8s.io Events are stored as the core type; other groups are their Go package's name.
  const pkg =
    info.group === '' || info.group === 'events.k8s.io' ? 'core' : info.group.split('.')[0]!;
  return `*${pkg}.${info.kind}${suffix}`;
}

/**
 * Negotiates the response of a resource request from its `Accept` header: whole objects, a
 * server-side Table, or PartialObjectMetadata. 406 with the real server's Status when nothing
 * acceptable is asked for (see the module comment for the three cases).
 */
export function negotiateOutput(
  req: IncomingMessage,
  info: ResourceInfo,
  shape: AnswerShape,
): OutputMedia {
  const header = req.headers.accept ?? '';
  const entries = parseAccept(header);
  if (entries.length === 0) return { representation: 'full', table: false };
  const serves = (type: string): boolean =>
    type === '*/*' || (SERIALIZERS as readonly string[]).includes(type);
  if (!info.custom && !entries.some((e) => serves(e.type))) throw routeNotAcceptable();
  for (const entry of entries) {
    if (!serves(entry.type)) continue;
    const chosen = transformation(entry);
    if (chosen === undefined) continue;
    if (chosen === 'PartialObjectMetadataList') {
      if (shape === 'object') {
        throw notAcceptable(
          `you requested PartialObjectMetadataList, but the requested object is not a list (${internalTypeName(info, false)})`,
        );
      }
      return { representation: 'metadata', table: false };
    }
    if (chosen.representation === 'metadata' && shape === 'list') {
      throw notAcceptable(
        `you requested PartialObjectMetadata, but the requested object is a list (${internalTypeName(info, true)})`,
      );
    }
    return chosen;
  }
  throw notAcceptable(`only the following media types are accepted: ${SERIALIZERS.join(', ')}`);
}
