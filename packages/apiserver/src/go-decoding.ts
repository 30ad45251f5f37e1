/**
 * What the real server's JSON decoder refuses in the typed fields of Secrets and ConfigMaps, before
 * any validation: a 400 BadRequest `Secret in version "v1" cannot be handled as a Secret: <Go's
 * error>`. The values of `data` (Secrets) and `binaryData` (ConfigMaps) are Go `[]byte`, so they
 * must be standard base64 (padding included; line breaks are skipped), and the maps must hold
 * strings. Go's decoder keeps the first error in document order and reports it.
 */
import type { ApiStatusError, KubeObject } from '@kubecache/cache';
import type { ResourceInfo } from './resources.js';
import { badRequest } from './status.js';

type Json = Record<string, unknown>;

const ALPHABET = /[A-Za-z0-9+/]/;

/**
 * Where Go's `base64.StdEncoding` stops on `text` (a byte offset, as in `illegal base64 data at
 * input byte N`), or undefined when it decodes. Works on the UTF-8 bytes, quantum by quantum, as
 * Go's `decodeQuantum` does.
 */
export function base64ErrorOffset(text: string): number | undefined {
  const src = Buffer.from(text, 'utf8');
  const isNewline = (b: number | undefined) => b === 0x0a || b === 0x0d;
  let si = 0;
  while (si < src.length) {
    let j = 0;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return undefined;
        return si - j; // a quantum cut short (padding is required)
      }
      const b = src[si]!;
      si++;
      if (ALPHABET.test(String.fromCharCode(b)) && b < 0x80) continue;
      if (isNewline(b)) {
        j--;
        continue;
      }
      if (b !== 0x3d) return si - 1; // neither alphabet, newline nor '='
      // Padding.
      if (j < 2) return si - 1;
      if (j === 2) {
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) return src.length; // the second '=' is missing
        if (src[si] !== 0x3d) return si - 1;
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      return si < src.length ? si : undefined; // anything after the padding is garbage
    }
  }
  return undefined;
}

function jsonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  return 'object';
}

/** How a field decodes: a map of strings or of bytes, or a scalar of a Go type. */
type FieldType =
  | { readonly map: 'string' | 'bytes' }
  | { readonly scalar: 'string' | 'bool'; readonly goType: string };

const FIELDS: Readonly<Record<string, Readonly<Record<string, FieldType>>>> = {
  '/secrets': {
    data: { map: 'bytes' },
    stringData: { map: 'string' },
    type: { scalar: 'string', goType: 'v1.SecretType' },
    immutable: { scalar: 'bool', goType: 'bool' },
  },
  '/configmaps': {
    data: { map: 'string' },
    binaryData: { map: 'bytes' },
    immutable: { scalar: 'bool', goType: 'bool' },
  },
};

/** The first decoding error of one field, as Go words it (without the outer prefix). */
function fieldError(
  kind: string,
  name: string,
  type: FieldType,
  value: unknown,
): string | undefined {
  if (value === null || value === undefined) return undefined;
  const where = `Go struct field ${kind}.${name}`;
  if ('scalar' in type) {
    const ok = type.scalar === 'bool' ? typeof value === 'boolean' : typeof value === 'string';
    return ok
      ? undefined
      : `json: cannot unmarshal ${jsonTypeName(value)} into ${where} of type ${type.goType}`;
  }
  const elementType = type.map === 'bytes' ? '[]uint8' : 'string';
  if (typeof value !== 'object' || Array.isArray(value)) {
    return `json: cannot unmarshal ${jsonTypeName(value)} into ${where} of type map[string]${elementType}`;
  }
  for (const v of Object.values(value as Json)) {
    if (v === null) continue;
    if (typeof v !== 'string') {
      return `json: cannot unmarshal ${jsonTypeName(v)} into ${where} of type ${elementType}`;
    }
    if (type.map === 'bytes') {
      const offset = base64ErrorOffset(v);
      if (offset !== undefined) return `illegal base64 data at input byte ${offset}`;
    }
  }
  return undefined;
}

/**
 * The 400 the real server answers when a Secret's or ConfigMap's typed fields do not decode, or
 * undefined. Fields are checked in the body's key order (Go reports the first error it met).
 */
export function decodingError(info: ResourceInfo, obj: KubeObject): ApiStatusError | undefined {
  if (info.custom) return undefined;
  const fields = FIELDS[`${info.group}/${info.resource}`];
  if (fields === undefined) return undefined;
  for (const [name, value] of Object.entries(obj as unknown as Json)) {
    const type = fields[name];
    if (type === undefined) continue;
    const problem = fieldError(info.kind, name, type, value);
    if (problem !== undefined) {
      return badRequest(
        `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${problem}`,
      );
    }
  }
  return undefined;
}
