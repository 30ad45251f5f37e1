/**
 * Equality of JSON documents, used to detect no-op writes. The real server compares the encoded
 * bytes of the would-be-stored object with the stored ones (Go structs and sorted map keys), so
 * the order of object keys never matters there and does not here.
 */

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Deep equality of JSON values: objects by their defined keys in any order (a key set to
 * `undefined` is absent, as in JSON), arrays element-wise. Shared subtrees (merge patches keep
 * references to the unchanged parts of the stored object) compare in O(1).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  let count = 0;
  for (const key of Object.keys(a)) {
    const value = a[key];
    if (value === undefined) continue;
    count++;
    if (!jsonEqual(value, b[key])) return false;
  }
  for (const key of Object.keys(b)) if (b[key] !== undefined) count--;
  return count === 0;
}

/**
 * Would storing `next` over `stored` change nothing? Everything counts except what the server
 * stamps per write: `metadata.resourceVersion`. The type fields are ignored too: `kind` is always
 * the resource's (the storage sets it and rejects others), and custom resources share storage
 * across their served versions, so writing the same content through another `apiVersion` changes
 * nothing on a real server either (it keeps one storage version).
 */
export function isNoopUpdate(stored: object, next: object): boolean {
  const a = stored as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata') {
      if (!metadataEqual(a[key], b[key])) return false;
    } else if (!jsonEqual(a[key], b[key])) {
      return false;
    }
  }
  return true;
}

function metadataEqual(a: unknown, b: unknown): boolean {
  if (!isPlainObject(a) || !isPlainObject(b)) return jsonEqual(a, b);
  const { resourceVersion: _a, ...restA } = a;
  const { resourceVersion: _b, ...restB } = b;
  return jsonEqual(restA, restB);
}
