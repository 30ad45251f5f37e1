/**
 * How a stored object is written on the wire: whole (GET, writes, watch events), as a list item
 * (built-in list items carry no `apiVersion`/`kind`, as the real server's typed lists), or as
 * PartialObjectMetadata; custom resources at the version the request named.
 *
 * Separate because this is where the server's speed comes from: each stored version is serialized
 * once when written, and its UTF-8 bytes are cached here on first use (per representation), so a
 * LIST of 100k objects is a concatenation of cached buffers. A custom resource read at another
 * version than it was written at is rewritten, and such rewrites are never cached.
 */
import type { ResourceInfo } from './resources.js';
import { apiVersionOf } from './resources.js';
import type { StoredObject } from './storage.js';
import { metadataJson } from './watch.js';
import type { Representation } from './watch.js';

/** The UTF-8 bytes of list items, cached per stored version and representation (built lazily). */
const itemBytesCache = new WeakMap<StoredObject, Buffer>();
const metadataBytesCache = new WeakMap<StoredObject, Buffer>();
/** The UTF-8 bytes of whole objects (watch events carry apiVersion/kind), cached likewise. */
const objectBytesCache = new WeakMap<StoredObject, Buffer>();

/** The object as served at the requested version (custom resources share storage across versions). */
export function objectJson(obj: StoredObject, info: ResourceInfo): string {
  const apiVersion = apiVersionOf(info);
  if (!info.custom || obj.obj.apiVersion === apiVersion) return obj.json;
  return `{"apiVersion":${JSON.stringify(apiVersion)},"kind":${JSON.stringify(info.kind)},${obj.json.slice(obj.typePrefixLength)}`;
}

/** An item of a list: built-in items drop apiVersion/kind (as the real server's typed lists do). */
export function itemJson(
  obj: StoredObject,
  info: ResourceInfo,
  representation: Representation,
): string {
  if (representation === 'metadata') return metadataJson(obj);
  if (!info.custom) return `{${obj.json.slice(obj.typePrefixLength)}`;
  return objectJson(obj, info);
}

/** {@link itemJson} as UTF-8 bytes, encoded once per stored version and reused by every LIST. */
export function itemBytes(
  obj: StoredObject,
  info: ResourceInfo,
  representation: Representation,
): Buffer {
  const cache = representation === 'metadata' ? metadataBytesCache : itemBytesCache;
  const rewrites = info.custom && obj.obj.apiVersion !== apiVersionOf(info);
  let bytes = rewrites ? undefined : cache.get(obj);
  if (bytes === undefined) {
    bytes = Buffer.from(itemJson(obj, info, representation));
    if (!rewrites) cache.set(obj, bytes);
  }
  return bytes;
}

/** The whole object (or its metadata) as UTF-8 bytes, encoded once per stored version. */
export function objectBytes(
  obj: StoredObject,
  info: ResourceInfo,
  representation: Representation,
): Buffer {
  const cache = representation === 'metadata' ? metadataBytesCache : objectBytesCache;
  const rewrites =
    representation === 'full' && info.custom && obj.obj.apiVersion !== apiVersionOf(info);
  let bytes = rewrites ? undefined : cache.get(obj);
  if (bytes === undefined) {
    bytes = Buffer.from(representation === 'metadata' ? metadataJson(obj) : objectJson(obj, info));
    if (!rewrites) cache.set(obj, bytes);
  }
  return bytes;
}

/** The response body of one object: its metadata, or the object itself (Tables: `table.ts`). */
export function objectBody(
  obj: StoredObject,
  info: ResourceInfo,
  representation: Representation,
): string {
  return representation === 'metadata' ? metadataJson(obj) : objectJson(obj, info);
}
