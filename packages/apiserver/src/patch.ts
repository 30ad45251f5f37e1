/**
 * PATCH support: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch
 * (with the list semantics of `schema.ts`).
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { ApiStatusError } from '@kubecache/cache';
import { jsonEqual } from './equality.js';
import { childShape, UNTYPED } from './schema.js';
import type { Shape } from './schema.js';
import { badRequest, statusError } from './status.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** A directive or a null nested in a value taken whole from a patch means nothing once stored. */
function cleanPatchValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cleanPatchValue);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$') || v === null) continue;
    out[k] = cleanPatchValue(v);
  }
  return out;
}

/** Go's `%v` of a decoded JSON value (`map[k:v]`, `[a b]`), as the real error messages print it. */
function goFormat(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(goFormat).join(' ')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(value[k])}`).join(' ')}]`;
  }
  return value === null ? '<nil>' : String(value);
}

/** A `$patch` directive other than `replace`/`delete`: the real server's 500. */
function unknownDirective(directive: unknown, map: unknown): ApiStatusError {
  return statusError(
    500,
    '',
    `unknown patch type: ${goFormat(directive)} in map: ${goFormat(map)}`,
  );
}

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

/**
 * Strategic merge patch as a real server applies it (apimachinery's `strategicpatch` with the
 * server's options: parallel lists merged, unmatched nulls ignored), with the merge keys and
 * strategies of the kind's schema (`schema.ts`):
 *
 * - objects merge key by key, `null` deletes; `$patch: replace` replaces the object with the
 *   patch, `$patch: delete` empties it; `$retainKeys: [...]` drops the other keys first;
 * - lists whose field has the `merge` strategy merge: objects by their merge key (an element with
 *   `$patch: delete` removes the element with its key, `{"$patch": "replace"}` makes the rest of
 *   the patch list the whole list), primitives as a set (`$deleteFromPrimitiveList/<field>`
 *   removes values); other lists are replaced;
 * - order: patch elements first, in patch order, with the elements only the server has placed
 *   before the first patch element that follows them in the live list; `$setElementOrder/<field>`
 *   (which client-side `kubectl apply` sends) orders the merged list instead.
 */
export function strategicMergePatch(
  target: unknown,
  patch: unknown,
  shape: Shape = UNTYPED,
): unknown {
  if (!isPlainObject(patch)) return cleanPatchValue(patch);
  return mergeObject(isPlainObject(target) ? target : undefined, patch, shape);
}

function mergeObject(
  original: Readonly<Record<string, unknown>> | undefined,
  patch: Readonly<Record<string, unknown>>,
  shape: Shape,
): Record<string, unknown> {
  const directive = patch['$patch'];
  if (directive === 'replace') return cleanPatchValue(patch) as Record<string, unknown>;
  if (directive === 'delete') return {};
  if (directive !== undefined) {
    throw unknownDirective(directive, patch);
  }
  const out: Record<string, unknown> = { ...original };
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  const handled = new Set<string>();
  // $setElementOrder: merge the list (if patched) and order it as the directive says.
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER) || !Array.isArray(order)) continue;
    const field = key.slice(SET_ORDER.length);
    const fieldShape = childShape(shape, field);
    const live = Array.isArray(out[field]) ? (out[field] as unknown[]) : [];
    const patchList = patch[field];
    let merged: unknown[] = live;
    if (Array.isArray(patchList)) {
      merged = mergeListField(live, patchList, fieldShape, false);
      handled.add(field);
    }
    const mergeKey = fieldShape.kind === 'list' ? fieldShape.mergeKey : undefined;
    const ordered = sortByOrder(merged, order, mergeKey);
    if (ordered.length > 0 || out[field] !== undefined) out[field] = ordered;
  }
  for (const [rawKey, value] of Object.entries(patch)) {
    if (rawKey.startsWith(SET_ORDER) || rawKey === '$retainKeys' || handled.has(rawKey)) continue;
    if (rawKey.startsWith(DELETE_FROM)) continue;
    if (rawKey.startsWith('$')) continue;
    const key = rawKey;
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    const fieldShape = childShape(shape, key);
    if (current === undefined || current === null) {
      out[key] = cleanPatchValue(value);
    } else if (isPlainObject(current) && isPlainObject(value)) {
      out[key] =
        'patch' in fieldShape && fieldShape.patch === 'replace'
          ? cleanPatchValue(value)
          : mergeObject(current, value, fieldShape);
    } else if (Array.isArray(current) && Array.isArray(value)) {
      out[key] = mergeListField(current, value, fieldShape, false);
    } else {
      out[key] = cleanPatchValue(value);
    }
  }
  for (const [rawKey, value] of Object.entries(patch)) {
    if (!rawKey.startsWith(DELETE_FROM) || !Array.isArray(value)) continue;
    const key = rawKey.slice(DELETE_FROM.length);
    const current = out[key];
    if (!Array.isArray(current)) continue;
    const kept = current.filter((v) => !value.some((d) => jsonEqual(d, v)));
    // An emptied list is omitted, as the Go types' `omitempty` does.
    if (kept.length > 0) out[key] = kept;
    else delete out[key];
  }
  return out;
}

/** A list field: merged when its strategy says `merge`, replaced otherwise. */
function mergeListField(
  live: unknown[],
  patch: unknown[],
  shape: Shape,
  _deleteList: boolean,
): unknown[] {
  const merge = shape.kind === 'list' && (shape.patch ?? '').split(',').includes('merge');
  if (!merge) return cleanPatchValue(patch) as unknown[];
  const mergeKey = shape.kind === 'list' ? shape.mergeKey : undefined;
  const elem = shape.kind === 'list' ? shape.elem : UNTYPED;
  if (live.length === 0 && patch.length === 0) return live;
  const all = [...live, ...patch];
  const objects = all.some(isPlainObject);
  if (objects && !all.every(isPlainObject)) {
    throw statusError(500, '', `list element types are not identical: ${goFormat([live, patch])}`);
  }
  if (!objects) {
    const merged: unknown[] = [];
    for (const v of [...live, ...patch]) if (!merged.some((m) => jsonEqual(m, v))) merged.push(v);
    const inPatch = (v: unknown): boolean => patch.some((p) => jsonEqual(p, v));
    return interleave(
      merged.filter((v) => !inPatch(v)),
      sortByOrder(merged.filter(inPatch), patch, undefined),
      live,
      undefined,
    );
  }
  if (mergeKey === undefined) throw badRequest('cannot merge lists without merge key');
  // Special elements: `$patch: delete` removes by key, `$patch: replace` replaces the list.
  let original = [...live];
  const plain: Record<string, unknown>[] = [];
  let replace = false;
  for (const item of patch) {
    if (!isPlainObject(item)) continue;
    const directive = item['$patch'];
    if (directive === undefined) plain.push(item);
    else if (directive === 'delete') {
      if (!(mergeKey in item))
        throw statusError(
          500,
          '',
          `map: ${goFormat(item)} does not contain declared merge key: ${mergeKey}`,
        );
      original = original.filter(
        (o) => !(isPlainObject(o) && jsonEqual(o[mergeKey], item[mergeKey])),
      );
    } else if (directive === 'replace') replace = true;
    else throw unknownDirective(directive, item);
  }
  if (replace) return cleanPatchValue(plain) as unknown[];
  const merged = [...original];
  for (const item of plain) {
    const idx = merged.findIndex((o) => isPlainObject(o) && jsonEqual(o[mergeKey], item[mergeKey]));
    if (idx >= 0) merged[idx] = mergeObject(merged[idx] as Record<string, unknown>, item, elem);
    else merged.push(cleanPatchValue(item));
  }
  const keyOf = (v: unknown): unknown => (isPlainObject(v) ? v[mergeKey] : undefined);
  const patchKeys = plain.map(keyOf);
  const inPatch = (v: unknown): boolean => patchKeys.some((k) => jsonEqual(k, keyOf(v)));
  const patchItems = sortByOrder(merged.filter(inPatch), plain, mergeKey);
  return interleave(
    merged.filter((v) => !inPatch(v)),
    patchItems,
    live,
    mergeKey,
  );
}

/** Position of `item` in `list` (by merge key for objects, by value otherwise); -1 when absent. */
function indexIn(list: readonly unknown[], item: unknown, mergeKey: string | undefined): number {
  if (mergeKey !== undefined && isPlainObject(item)) {
    return list.findIndex((o) => isPlainObject(o) && jsonEqual(o[mergeKey], item[mergeKey]));
  }
  return list.findIndex((o) => jsonEqual(o, item));
}

/** Stable sort by position in `order`; items not in it come first, in their own order. */
function sortByOrder(
  items: unknown[],
  order: readonly unknown[],
  mergeKey: string | undefined,
): unknown[] {
  const rank = (v: unknown): number => indexIn(order, v, mergeKey);
  return items
    .map((v, i) => ({ v, i, r: rank(v) }))
    .sort((a, b) => (a.r === b.r ? a.i - b.i : a.r - b.r))
    .map((x) => x.v);
}

/**
 * apimachinery's `mergeSortedSlice`: the patch's elements in their order, each server-only
 * element inserted before the first patch element it precedes in the live list.
 */
function interleave(
  serverOnly: unknown[],
  patchItems: unknown[],
  live: readonly unknown[],
  mergeKey: string | undefined,
): unknown[] {
  const left = sortByOrder(serverOnly, live, mergeKey);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < patchItems.length) {
    if (i >= left.length) out.push(patchItems[j++]);
    else if (j >= patchItems.length) out.push(left[i++]);
    else {
      const li = indexIn(live, left[i], mergeKey);
      const ri = indexIn(live, patchItems[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(patchItems[j++]);
    }
  }
  return out;
}

/** RFC 6902 JSON patch; a failed `test` or a bad path is a 422/400 as on the real server. */
export function jsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json patch must be an array of operations');
  try {
    return fastJsonPatch.applyPatch(target, patch as Operation[], true, false).newDocument;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    if (message.toLowerCase().includes('test operation failed')) {
      throw statusError(
        422,
        'Invalid',
        `the server rejected our request due to an error in our request: ${message}`,
      );
    }
    throw statusError(
      422,
      'Invalid',
      `the server rejected our request due to an error in our request: ${message}`,
    );
  }
}
