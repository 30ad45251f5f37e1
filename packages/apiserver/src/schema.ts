/**
 * What server-side apply and strategic merge patch need to know of an object's shape: which maps
 * are structs, which lists merge by key, which are sets, which are atomic. One table serves both,
 * as both come from the same Go type tags on a real server (`patchStrategy`/`patchMergeKey` for
 * strategic merge, `listType`/`listMapKeys` or else the patch strategy for server-side apply).
 *
 * The built-in kinds' table (`schema-table.ts`) is generated from a real v1.23 server's
 * `/openapi/v2` by `scripts/gen-apiserver-schema.ts`. Custom resources (and fields the table does
 * not know) are "deduced" as structured-merge-diff does for schemaless values: objects are maps
 * merged key by key, lists are atomic.
 */
import { KIND_ROOTS, TYPES } from './schema-table.js';

/** A field of a struct type in the table: only object-, list- and map-valued fields are listed. */
export interface FieldSpec {
  /** The struct type the field holds (or its list elements, or its map values). */
  readonly type?: string;
  /** Present on lists: how server-side apply treats them. */
  readonly list?: 'atomic' | 'set' | 'map';
  /** The keys of a `map` list (server-side apply identity of an element). */
  readonly keys?: readonly string[];
  /** True for `map[string]T` fields. */
  readonly map?: boolean;
  /** An atomic map (`x-kubernetes-map-type: atomic`). */
  readonly atomic?: boolean;
  /** Strategic merge patch strategy (`merge`, `retainKeys`, `merge,retainKeys`, `replace`). */
  readonly patch?: string;
  /** Strategic merge patch merge key of a list of objects. */
  readonly mergeKey?: string;
}

/** A struct type of the table. */
export interface TypeSpec {
  /** Atomic struct (`x-kubernetes-map-type: atomic`, e.g. a LabelSelector). */
  readonly atomic?: boolean;
  readonly fields: Readonly<Record<string, FieldSpec>>;
}

/** The generated table: struct types by short definition name. */
export type TypeTable = Readonly<Record<string, TypeSpec>>;

/**
 * The shape of one value: a struct of the table, a map of string keys, a list, or `untyped`
 * (a scalar, or a value of unknown type: objects merge per key, lists are atomic).
 */
export type Shape =
  | {
      readonly kind: 'struct';
      readonly spec: TypeSpec;
      readonly atomic: boolean;
      readonly patch?: string;
    }
  | {
      readonly kind: 'map';
      readonly elem: Shape;
      readonly atomic: boolean;
      readonly patch?: string;
    }
  | {
      readonly kind: 'list';
      readonly list: 'atomic' | 'set' | 'map';
      readonly keys: readonly string[];
      readonly elem: Shape;
      readonly patch?: string;
      readonly mergeKey?: string;
    }
  | { readonly kind: 'untyped' };

/** The shape of values nothing is known of. */
export const UNTYPED: Shape = { kind: 'untyped' };

const structs = new Map<string, Shape>();

function structShape(name: string): Shape {
  let shape = structs.get(name);
  if (shape === undefined) {
    const spec = TYPES[name];
    if (spec === undefined) return UNTYPED;
    shape = { kind: 'struct', spec, atomic: spec.atomic === true };
    structs.set(name, shape);
  }
  return shape;
}

function fieldShape(field: FieldSpec): Shape {
  const elem = field.type === undefined ? UNTYPED : structShape(field.type);
  if (field.list !== undefined) {
    return {
      kind: 'list',
      list: field.list,
      keys: field.keys ?? [],
      elem,
      ...(field.patch === undefined ? {} : { patch: field.patch }),
      ...(field.mergeKey === undefined ? {} : { mergeKey: field.mergeKey }),
    };
  }
  if (field.map === true) {
    return {
      kind: 'map',
      elem,
      atomic: field.atomic === true,
      ...(field.patch === undefined ? {} : { patch: field.patch }),
    };
  }
  if (elem.kind === 'struct' && field.patch !== undefined) return { ...elem, patch: field.patch };
  return elem;
}

const fieldShapes = new WeakMap<TypeSpec, Map<string, Shape>>();

/** The shape of the value under `key` of a value of shape `shape`. */
export function childShape(shape: Shape, key: string): Shape {
  if (shape.kind === 'map') return shape.elem;
  if (shape.kind !== 'struct') return UNTYPED;
  let cache = fieldShapes.get(shape.spec);
  if (cache === undefined) {
    cache = new Map();
    fieldShapes.set(shape.spec, cache);
  }
  let child = cache.get(key);
  if (child === undefined) {
    const field = Object.hasOwn(shape.spec.fields, key) ? shape.spec.fields[key] : undefined;
    child = field === undefined ? UNTYPED : fieldShape(field);
    cache.set(key, child);
  }
  return child;
}

/** The shape of an object of `apiVersion`/`kind`: the table's for built-ins, untyped otherwise. */
export function rootShape(apiVersion: string, kind: string): Shape {
  const name = KIND_ROOTS[`${apiVersion}/${kind}`];
  return name === undefined ? UNTYPED : structShape(name);
}

/** Is a value a JSON object (not an array, not null)? */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Server-side apply's key values of an element of a `map` list, with the defaults a real server
 * fills in before keying (a port's `protocol` is `TCP`); `undefined` when a key is missing.
 */
export function listItemKey(
  shape: Shape & { kind: 'list' },
  item: unknown,
): Record<string, unknown> | undefined {
  if (!isObject(item)) return undefined;
  const key: Record<string, unknown> = {};
  for (const name of shape.keys) {
    let value = item[name];
    if (value === undefined && name === 'protocol') value = 'TCP';
    if (value === undefined) return undefined;
    key[name] = value;
  }
  return key;
}
