/**
 * Field sets, the currency of server-side apply: which fields of an object a manager owns, as
 * structured-merge-diff computes and `metadata.managedFields[].fieldsV1` encodes them.
 *
 * A set is a tree of path elements in their FieldsV1 spelling: `f:<field>` (a struct field or map
 * key), `k:{"name":"c"}` (an element of a keyed list, its keys sorted by name), `v:"x"` (an
 * element of a set) and `i:3` (a list index, rare). A node is a *member* when its path itself is in
 * the set; FieldsV1 marks a member that also has children with a `".": {}` entry.
 *
 * Two walks produce sets, with the real server's subtleties:
 *
 * - `toFieldSet(config)`, what an apply configuration owns: every leaf (a scalar, an atomic list or
 *   struct, an empty object or list) and every element of a keyed list or set, but not the
 *   non-empty objects on the way (so an applier's `f:labels` has no `"."`).
 * - `compare(live, next)`, what a write changed: leaves whose value changed (`modified`), and
 *   paths present on one side only, with everything under them (`added`, `removed`). An object
 *   present on both sides is not itself added, which is why a create (compared with the Go zero
 *   object of the kind, where `spec` exists) owns `f:spec` without `"."` but `f:labels` with it.
 */
import { jsonEqual } from './equality.js';
import { childShape, isObject, listItemKey } from './schema.js';
import type { Shape } from './schema.js';

/** One path element in FieldsV1 spelling (`f:name`, `k:{…}`, `v:…`, `i:0`). */
export type PathElement = string;

/** A set of field paths, as a tree (see the module comment). */
export class FieldSet {
  member = false;
  readonly children = new Map<PathElement, FieldSet>();

  /** Adds `path` (the empty path is the root, which is never a member). */
  insert(path: readonly PathElement[]): void {
    const [first, ...rest] = path;
    if (first === undefined) return;
    let child = this.children.get(first);
    if (child === undefined) {
      child = new FieldSet();
      this.children.set(first, child);
    }
    if (rest.length === 0) child.member = true;
    else child.insert(rest);
  }

  /** Is `path` a member? */
  has(path: readonly PathElement[]): boolean {
    return path.length > 0 && (this.at(path)?.member ?? false);
  }

  /** True when the set has no member at all. */
  isEmpty(): boolean {
    if (this.member) return false;
    for (const child of this.children.values()) if (!child.isEmpty()) return false;
    return true;
  }

  /** A new set with the members of both. */
  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member || other.member;
    for (const [pe, child] of this.children) {
      const o = other.children.get(pe);
      out.children.set(pe, o === undefined ? child.copy() : child.union(o));
    }
    for (const [pe, child] of other.children) {
      if (!this.children.has(pe)) out.children.set(pe, child.copy());
    }
    return out.#pruned();
  }

  /** A new set with the members of this one that are not members of `other`. */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && !other.member;
    for (const [pe, child] of this.children) {
      const o = other.children.get(pe);
      out.children.set(pe, o === undefined ? child.copy() : child.difference(o));
    }
    return out.#pruned();
  }

  /** A new set with the members of this one that are members of `other` too. */
  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && other.member;
    for (const [pe, child] of this.children) {
      const o = other.children.get(pe);
      if (o !== undefined) out.children.set(pe, child.intersection(o));
    }
    return out.#pruned();
  }

  /** A new set without `other`'s members and everything under them. */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member;
    for (const [pe, child] of this.children) {
      const o = other.children.get(pe);
      if (o === undefined) out.children.set(pe, child.copy());
      else if (!o.member) out.children.set(pe, child.recursiveDifference(o));
    }
    return out.#pruned();
  }

  /** Does the subtree under this node (this node excluded) hold a member? */
  hasDescendants(): boolean {
    for (const child of this.children.values()) if (!child.isEmpty()) return true;
    return false;
  }

  /** The node at `path`, if any. */
  at(path: readonly PathElement[]): FieldSet | undefined {
    const [first, ...rest] = path;
    if (first === undefined) return this;
    return this.children.get(first)?.at(rest);
  }

  /** Every member path, in FieldsV1 order. */
  paths(prefix: PathElement[] = []): PathElement[][] {
    const out: PathElement[][] = [];
    if (this.member) out.push([...prefix]);
    for (const pe of sortedElements(this.children.keys())) {
      out.push(...this.children.get(pe)!.paths([...prefix, pe]));
    }
    return out;
  }

  copy(): FieldSet {
    const out = new FieldSet();
    out.member = this.member;
    for (const [pe, child] of this.children) out.children.set(pe, child.copy());
    return out;
  }

  /** The FieldsV1 JSON object (`"."` first, then the children in structured-merge-diff's order). */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (this.member && this.children.size > 0) out['.'] = {};
    for (const pe of sortedElements(this.children.keys())) {
      const child = this.children.get(pe)!;
      if (!child.isEmpty()) out[pe] = child.toFieldsV1();
    }
    return out;
  }

  /** Parses a FieldsV1 object; `undefined` when it is not one. */
  static fromFieldsV1(value: unknown): FieldSet | undefined {
    if (!isObject(value)) return undefined;
    const out = new FieldSet();
    for (const [pe, child] of Object.entries(value)) {
      if (pe === '.') continue;
      if (!/^[fkvi]:/.test(pe)) return undefined;
      const node = FieldSet.fromFieldsV1(child);
      if (node === undefined) return undefined;
      node.member = node.children.size === 0 || Object.hasOwn(child as object, '.');
      out.children.set(pe, node);
    }
    return out;
  }

  #pruned(): this {
    for (const [pe, child] of this.children) if (child.isEmpty()) this.children.delete(pe);
    return this;
  }
}

const KIND_RANK: Readonly<Record<string, number>> = { f: 0, k: 1, v: 2, i: 3 };

/** structured-merge-diff's order of path elements: fields, then keys, values, indexes. */
function sortedElements(elements: Iterable<PathElement>): PathElement[] {
  return [...elements].sort((a, b) => {
    const ka = KIND_RANK[a[0]!] ?? 4;
    const kb = KIND_RANK[b[0]!] ?? 4;
    if (ka !== kb) return ka - kb;
    if (ka === 3) return Number(a.slice(2)) - Number(b.slice(2));
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/** The path element of a field or map key. */
export function fieldElement(name: string): PathElement {
  return `f:${name}`;
}

/**
 * The path element of a list element: `k:` for a keyed list (the keys sorted by name), `v:` for a
 * set, `i:` otherwise (or when a key is missing).
 */
export function itemElement(shape: Shape, item: unknown, index: number): PathElement {
  if (shape.kind === 'list' && shape.list === 'map') {
    const key = listItemKey(shape, item);
    if (key !== undefined) {
      const sorted = Object.keys(key).sort();
      return `k:{${sorted.map((k) => `${JSON.stringify(k)}:${JSON.stringify(key[k])}`).join(',')}}`;
    }
  }
  if (shape.kind === 'list' && shape.list === 'set') return `v:${JSON.stringify(item)}`;
  return `i:${index}`;
}

/** A path in the real conflict messages' spelling: `.spec.containers[name="c"].image`. */
export function pathString(path: readonly PathElement[]): string {
  return path
    .map((pe) => {
      const body = pe.slice(2);
      switch (pe[0]) {
        case 'f':
          return `.${body}`;
        case 'k': {
          const key = JSON.parse(body) as Record<string, unknown>;
          return `[${Object.entries(key)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(',')}]`;
        }
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}

/** Is this value walked as a granular map under `shape` (not a leaf)? */
function isGranularMap(shape: Shape, value: unknown): value is Record<string, unknown> {
  if (!isObject(value)) return false;
  if (shape.kind === 'struct' || shape.kind === 'map') return !shape.atomic;
  return shape.kind === 'untyped';
}

/** Is this value walked as a list of identified elements (a keyed list or a set)? */
function isGranularList(shape: Shape, value: unknown): value is unknown[] {
  return Array.isArray(value) && shape.kind === 'list' && shape.list !== 'atomic';
}

/** The fields an apply configuration sets (see the module comment). */
export function toFieldSet(value: unknown, shape: Shape): FieldSet {
  const set = new FieldSet();
  const walk = (v: unknown, s: Shape, path: PathElement[]): void => {
    if (isGranularMap(s, v) && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) {
        if (child === undefined) continue;
        walk(child, childShape(s, k), [...path, fieldElement(k)]);
      }
    } else if (isGranularList(s, v) && v.length > 0 && s.kind === 'list') {
      v.forEach((item, i) => {
        const itemPath = [...path, itemElement(s, item, i)];
        walk(item, s.elem, itemPath);
        set.insert(itemPath);
      });
    } else if (path.length > 0) {
      set.insert(path);
    }
  };
  walk(value, shape, []);
  return set;
}

/** What a write changed (see the module comment). */
export interface Comparison {
  readonly added: FieldSet;
  readonly removed: FieldSet;
  readonly modified: FieldSet;
}

/** Compares two versions of an object, `undefined` standing for an absent value. */
export function compare(lhs: unknown, rhs: unknown, shape: Shape): Comparison {
  const c: Comparison = {
    added: new FieldSet(),
    removed: new FieldSet(),
    modified: new FieldSet(),
  };
  const leaf = (l: unknown, r: unknown, path: PathElement[]): void => {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
    else if (!jsonEqual(l, r)) c.modified.insert(path);
  };
  const walk = (l: unknown, r: unknown, s: Shape, path: PathElement[]): void => {
    const mapLike = (v: unknown): boolean => v === undefined || v === null || isObject(v);
    const listLike = (v: unknown): boolean => v === undefined || v === null || Array.isArray(v);
    const asMap = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});
    const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
    if (
      (s.kind === 'struct' ||
        s.kind === 'map' ||
        (s.kind === 'untyped' && (isObject(l) || isObject(r)))) &&
      mapLike(l) &&
      mapLike(r) &&
      !(s.kind !== 'untyped' && s.atomic)
    ) {
      const lm = asMap(l);
      const rm = asMap(r);
      const keys = new Set([...Object.keys(lm), ...Object.keys(rm)]);
      for (const k of [...keys]) if (lm[k] === undefined && rm[k] === undefined) keys.delete(k);
      // Both sides empty-or-absent is a leaf (keeps `{}` versus absent visible).
      if (!hasEntries(lm) && !hasEntries(rm)) {
        leaf(l, r, path);
        return;
      }
      for (const k of keys) {
        const childPath = [...path, fieldElement(k)];
        walk(lm[k], rm[k], childShape(s, k), childPath);
        if (lm[k] === undefined) c.added.insert(childPath);
        else if (rm[k] === undefined) c.removed.insert(childPath);
      }
      return;
    }
    if (s.kind === 'list' && s.list !== 'atomic' && listLike(l) && listLike(r)) {
      const ll = asList(l);
      const rl = asList(r);
      if (ll.length === 0 && rl.length === 0) {
        leaf(l, r, path);
        return;
      }
      const lItems = new Map<PathElement, unknown>();
      ll.forEach((item, i) => lItems.set(itemElement(s, item, i), item));
      const rItems = new Map<PathElement, unknown>();
      rl.forEach((item, i) => rItems.set(itemElement(s, item, i), item));
      for (const pe of new Set([...lItems.keys(), ...rItems.keys()])) {
        const childPath = [...path, pe];
        walk(lItems.get(pe), rItems.get(pe), s.elem, childPath);
        if (!lItems.has(pe)) c.added.insert(childPath);
        else if (!rItems.has(pe)) c.removed.insert(childPath);
      }
      return;
    }
    leaf(l, r, path);
  };
  walk(lhs, rhs, shape, []);
  return c;
}

function hasEntries(m: Record<string, unknown>): boolean {
  for (const v of Object.values(m)) if (v !== undefined) return true;
  return false;
}

/**
 * Removes the members of `set` from `value` (each with everything under it), descending where the
 * set only has members deeper down. Returns a new value; `value` is not mutated.
 */
export function removeFields(value: unknown, shape: Shape, set: FieldSet): unknown {
  if (set.children.size === 0) return value;
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(value)) {
      const node = set.children.get(fieldElement(k));
      if (node === undefined) out[k] = child;
      else if (!node.member) {
        const kept = removeFields(child, childShape(shape, k), node);
        if (!emptied(child, kept, childShape(shape, k))) out[k] = kept;
      }
    }
    return out;
  }
  if (Array.isArray(value) && shape.kind === 'list') {
    const out: unknown[] = [];
    value.forEach((item, i) => {
      const node = set.children.get(itemElement(shape, item, i));
      if (node === undefined) out.push(item);
      else if (!node.member) out.push(removeFields(item, shape.elem, node));
    });
    return out;
  }
  return value;
}

/**
 * Did removing fields empty a map or list that the Go types would then omit (`labels: {}`,
 * `finalizers: []`)? Structs stay, as Go keeps them.
 */
function emptied(before: unknown, after: unknown, shape: Shape): boolean {
  if (Array.isArray(after)) return after.length === 0 && Array.isArray(before) && before.length > 0;
  if (!isObject(after) || Object.keys(after).length > 0) return false;
  return shape.kind === 'map' || shape.kind === 'untyped';
}
