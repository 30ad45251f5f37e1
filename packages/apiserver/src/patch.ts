/**
 * PATCH support: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and an approximation of
 * strategic merge patch for built-in types.
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
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

/**
 * Strategic merge patch, approximated: like a merge patch, except that lists of objects which all
 * carry a `name` (containers, ports, env, volumes…) merge element-wise by name, and the `$patch`,
 * `$retainKeys`, `$deleteFromPrimitiveList/…` and `$setElementOrder/…` directives are honoured
 * where simple (`$patch: delete` on a list element, `$setElementOrder` ordering) and otherwise
 * dropped. The real server derives merge keys from the Go types; this covers what kubectl apply
 * sends for common objects.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  if (patch['$patch'] === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return stripDirectives(rest);
  }
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  const orders = new Map<string, unknown[]>();
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$setElementOrder/')) {
      if (Array.isArray(value)) orders.set(key.slice('$setElementOrder/'.length), value);
      continue;
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        out[field] = current.filter((v) => !value.includes(v));
      }
      continue;
    }
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete out[key];
    } else if (Array.isArray(value) && Array.isArray(out[key]) && isNamedList(value)) {
      out[key] = mergeNamedLists(out[key] as unknown[], value);
    } else {
      out[key] = strategicMergePatch(out[key], value);
    }
  }
  for (const [field, order] of orders) {
    const current = out[field];
    if (!Array.isArray(current)) continue;
    const names = order.map((o) => (isPlainObject(o) ? o['name'] : o));
    const rank = (v: unknown): number => {
      const idx = names.indexOf(isPlainObject(v) ? v['name'] : v);
      return idx < 0 ? names.length : idx;
    };
    out[field] = [...current].sort((a, b) => rank(a) - rank(b));
  }
  return out;
}

function isNamedList(list: unknown[]): boolean {
  return list.length > 0 && list.every((v) => isPlainObject(v) && typeof v['name'] === 'string');
}

function mergeNamedLists(current: unknown[], patch: unknown[]): unknown[] {
  const out = [...current];
  for (const item of patch as Record<string, unknown>[]) {
    const idx = out.findIndex((c) => isPlainObject(c) && c['name'] === item['name']);
    if (item['$patch'] === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) {
      out[idx] = strategicMergePatch(out[idx], item);
    } else {
      out.push(stripDirectives(item));
    }
  }
  return out;
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) out[k] = stripDirectives(v);
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
