/**
 * Shard selectors: the `shardSelector` list/watch option of Kubernetes' server-side sharded list
 * and watch (KEP-5866, alpha in v1.36 behind the `ShardedListAndWatch` feature gate), and the
 * same hash and range test for filtering on the client when a server ignores the option.
 *
 * An object belongs to a shard when the 64-bit FNV-1a hash of the UTF-8 bytes of one of its
 * metadata fields (`metadata.uid` or `metadata.namespace`; a missing one hashes as the empty
 * string) lies in one of the selector's half-open ranges `[start, end)` of the hash space
 * `[0, 2^64)`. The wire form is a small CEL subset:
 *
 * ```
 * selector := term ("||" term)*
 * term     := "(" selector ")" | "shardRange" "(" path "," bound "," bound ")"
 * path     := "object.metadata.uid" | "object.metadata.namespace"
 * bound    := a quoted (' or ") "0x" followed by exactly 16 lowercase hex digits,
 *             or "0x10000000000000000" (2^64, only meaningful as an end)
 * ```
 *
 * Every range of one selector hashes the same field, and each range's start is below its end.
 * Whitespace between tokens is free. The canonical form ({@link formatShardSelector}) is the one
 * client-go prints: `shardRange(object.metadata.uid, '0x…', '0x…')` joined with ` || `.
 */
import { KubecacheError } from './errors.js';
import type { KubeObject } from './types.js';

/** The metadata field a shard selector hashes. */
export type ShardField = 'metadata.uid' | 'metadata.namespace';

/** One half-open range `[start, end)` of the 64-bit hash space; `0 <= start < end <= 2^64`. */
export interface ShardRange {
  readonly start: bigint;
  readonly end: bigint;
}

/**
 * A parsed shard selector: an object matches when the hash of `field` lies in any of `ranges`.
 *
 * @example
 * ```ts
 * const sel: ShardSelector = {
 *   field: 'metadata.uid',
 *   ranges: [{ start: 0n, end: 0x8000000000000000n }],
 * };
 * formatShardSelector(sel);
 * // "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')"
 * ```
 */
export interface ShardSelector {
  readonly field: ShardField;
  /** At least one range; the selector is their union (the wire form's `||`). */
  readonly ranges: readonly ShardRange[];
}

/**
 * The size of the hash space, 2^64: the exclusive end of the last range.
 *
 * @example
 * ```ts
 * rangeFor(1, 2).end === SHARD_HASH_SPACE; // true
 * ```
 */
export const SHARD_HASH_SPACE: bigint = 1n << 64n;

const DEFAULT_HINT =
  "write shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000'), " +
  "ranges joined with ||; bounds are quoted, '0x' and 16 lowercase hex digits, " +
  "and an end may be '0x10000000000000000'";

/**
 * A shard selector could not be parsed, or a built one is invalid. `position` is the 0-based
 * offset in `input` where the problem was found (-1 when it concerns no single position, as for
 * a selector built in code); `reason` says what was wrong, `hint` how to write it instead.
 *
 * @example
 * ```ts
 * try { parseShardSelector("shardRange(object.metadata.uid, '0x0', '0x8')"); } catch (err) {
 *   if (err instanceof ShardSelectorParseError) console.log(err.position, err.reason, err.hint);
 * }
 * ```
 */
export class ShardSelectorParseError extends KubecacheError {
  readonly input: string;
  readonly position: number;
  readonly reason: string;

  constructor(input: string, position: number, reason: string, hint: string = DEFAULT_HINT) {
    super(
      'ShardSelectorParseError',
      position >= 0
        ? `invalid shard selector ${JSON.stringify(input)} at position ${position}: ${reason}`
        : `invalid shard selector ${JSON.stringify(input)}: ${reason}`,
      { hint },
    );
    this.input = input;
    this.position = position;
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------------------------
// FNV-1a 64 over two 32-bit halves: every intermediate product stays below 2^42, so plain
// numbers are exact and the matching path allocates no BigInt. The carry out of the low half is
// below 2^9, so `| 0` truncates it exactly.

const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;
// The prime is 2^40 + 0x1b3: the 2^40 part is a 2^8 shift of the low half into the high half.
const FNV_PRIME_LO = 0x1b3;
const TWO_32 = 0x1_0000_0000;

let hashHi = 0;
let hashLo = 0;
const utf8 = new TextEncoder();

/** Hashes the UTF-8 bytes of `input` into `hashHi`/`hashLo`. */
function hashInto(input: string): void {
  let hi = FNV_OFFSET_HI;
  let lo = FNV_OFFSET_LO;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c >= 0x80) {
      // UIDs and namespaces are ASCII; anything else takes the encoder's exact UTF-8 bytes.
      hashBytes(utf8.encode(input));
      return;
    }
    lo = (lo ^ c) >>> 0;
    const low = lo * FNV_PRIME_LO;
    hi = (hi * FNV_PRIME_LO + lo * 0x100 + ((low / TWO_32) | 0)) >>> 0;
    lo = low >>> 0;
  }
  hashHi = hi;
  hashLo = lo;
}

function hashBytes(bytes: Uint8Array): void {
  let hi = FNV_OFFSET_HI;
  let lo = FNV_OFFSET_LO;
  for (const b of bytes) {
    lo = (lo ^ b) >>> 0;
    const low = lo * FNV_PRIME_LO;
    hi = (hi * FNV_PRIME_LO + lo * 0x100 + ((low / TWO_32) | 0)) >>> 0;
    lo = low >>> 0;
  }
  hashHi = hi;
  hashLo = lo;
}

/**
 * The 64-bit FNV-1a hash of the UTF-8 bytes of `input` (Go's `hash/fnv` `New64a`), the hash
 * KEP-5866 places objects with.
 *
 * @example
 * ```ts
 * fnv1a64('');  // 0xcbf29ce484222325n
 * fnv1a64('a'); // 0xaf63dc4c8601ec8cn
 * ```
 */
export function fnv1a64(input: string): bigint {
  hashInto(input);
  return (BigInt(hashHi) << 32n) | BigInt(hashLo);
}

/** The value a shard selector hashes; a missing field is the empty string, as on the server. */
function fieldValue(obj: KubeObject, field: ShardField): string {
  const meta = obj.metadata;
  return (field === 'metadata.uid' ? meta?.uid : meta?.namespace) ?? '';
}

/**
 * The hash that places `obj` in the hash space for `field` (default `metadata.uid`).
 *
 * @example
 * ```ts
 * shardHash({ metadata: { name: 'a', uid: 'u-1' } }) === fnv1a64('u-1'); // true
 * ```
 */
export function shardHash(obj: KubeObject, field: ShardField = 'metadata.uid'): bigint {
  return fnv1a64(fieldValue(obj, field));
}

// ---------------------------------------------------------------------------------------------
// Splitting the hash space.

function checkCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`shard count must be a positive integer, got ${n}`);
  }
}

/**
 * Range `index` (0-based) of `n` equal contiguous ranges covering the hash space: `[⌊i·2^64/n⌋,
 * ⌊(i+1)·2^64/n⌋)`, the split client-go's `NewShardRangeSelector` computes, so replicas built on
 * either library agree on who owns what. Throws `RangeError` for a bad `index` or `n`.
 *
 * @example
 * ```ts
 * rangeFor(0, 2); // { start: 0n, end: 0x8000000000000000n }
 * rangeFor(1, 2); // { start: 0x8000000000000000n, end: 0x10000000000000000n }
 * ```
 */
export function rangeFor(index: number, n: number): ShardRange {
  checkCount(n);
  if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
    throw new RangeError(`shard index must be an integer in [0, ${n}), got ${index}`);
  }
  const count = BigInt(n);
  return {
    start: (BigInt(index) * SHARD_HASH_SPACE) / count,
    end: (BigInt(index + 1) * SHARD_HASH_SPACE) / count,
  };
}

/**
 * The `n` ranges of {@link rangeFor}, in order: they cover `[0, 2^64)` exactly, each starting
 * where the previous ends, and no two differ in size by more than one.
 *
 * @example
 * ```ts
 * splitHashSpace(4).map((r) => formatShardSelector({ field: 'metadata.uid', ranges: [r] }));
 * ```
 */
export function splitHashSpace(n: number): ShardRange[] {
  checkCount(n);
  const out: ShardRange[] = [];
  for (let i = 0; i < n; i++) out.push(rangeFor(i, n));
  return out;
}

/**
 * The selector of shard `index` of `n` over `field` (default `metadata.uid`).
 *
 * @example
 * ```ts
 * formatShardSelector(shardSelectorFor(1, 2));
 * // "shardRange(object.metadata.uid, '0x8000000000000000', '0x10000000000000000')"
 * ```
 */
export function shardSelectorFor(
  index: number,
  n: number,
  field: ShardField = 'metadata.uid',
): ShardSelector {
  return { field, ranges: [rangeFor(index, n)] };
}

// ---------------------------------------------------------------------------------------------
// Formatting and validation of built selectors.

const PATH_OF: Readonly<Record<ShardField, string>> = {
  'metadata.uid': 'object.metadata.uid',
  'metadata.namespace': 'object.metadata.namespace',
};

/** A bound as the wire writes it: `0x` and 16 hex digits, or `0x10000000000000000` for 2^64. */
function formatBound(value: bigint): string {
  return '0x' + value.toString(16).padStart(16, '0');
}

/** Why a built selector is invalid, or undefined. */
function checkSelector(sel: ShardSelector): string | undefined {
  if (PATH_OF[sel.field] === undefined) {
    return `unsupported field ${JSON.stringify(sel.field)}; supported: metadata.uid, metadata.namespace`;
  }
  if (sel.ranges.length === 0) return 'a shard selector needs at least one range';
  for (const r of sel.ranges) {
    if (typeof r.start !== 'bigint' || typeof r.end !== 'bigint') {
      return 'range bounds must be bigints';
    }
    if (r.start < 0n || r.end > SHARD_HASH_SPACE) {
      return `range [${r.start}, ${r.end}) is outside the hash space [0, 2^64)`;
    }
    if (r.start >= r.end) {
      return `range start ${formatBound(r.start)} must be less than end ${formatBound(r.end)}`;
    }
  }
  return undefined;
}

/**
 * The canonical wire form of a selector (client-go's): `shardRange(object.metadata.uid, '0x…',
 * '0x…')`, ranges joined with ` || ` in the given order. `parseShardSelector` of the result is
 * the same selector. Throws {@link ShardSelectorParseError} (position -1) for an invalid one.
 *
 * @example
 * ```ts
 * formatShardSelector({ field: 'metadata.namespace', ranges: [{ start: 0n, end: 1n << 63n }] });
 * // "shardRange(object.metadata.namespace, '0x0000000000000000', '0x8000000000000000')"
 * ```
 */
export function formatShardSelector(sel: ShardSelector): string {
  const problem = checkSelector(sel);
  if (problem !== undefined) throw new ShardSelectorParseError(String(sel.field), -1, problem);
  const path = PATH_OF[sel.field];
  return sel.ranges
    .map((r) => `shardRange(${path}, '${formatBound(r.start)}', '${formatBound(r.end)}')`)
    .join(' || ');
}

// ---------------------------------------------------------------------------------------------
// Matching.

/** A selector with its bounds split into 32-bit halves, for BigInt-free comparisons. */
interface CompiledRange {
  readonly startHi: number;
  readonly startLo: number;
  /** 2^64 has no 64-bit form: every hash is below it. */
  readonly endIsMax: boolean;
  readonly endHi: number;
  readonly endLo: number;
}

function compileRanges(sel: ShardSelector): CompiledRange[] {
  const problem = checkSelector(sel);
  if (problem !== undefined) throw new ShardSelectorParseError(String(sel.field), -1, problem);
  return sel.ranges.map((r) => ({
    startHi: Number(r.start >> 32n),
    startLo: Number(r.start & 0xffffffffn),
    endIsMax: r.end === SHARD_HASH_SPACE,
    endHi: Number((r.end >> 32n) & 0xffffffffn),
    endLo: Number(r.end & 0xffffffffn),
  }));
}

/**
 * A predicate for one selector, validated and compiled once: what a cache or server should hold
 * when it tests many objects against the same selector. Throws {@link ShardSelectorParseError}
 * (position -1) for an invalid selector.
 *
 * @example
 * ```ts
 * const mine = compileShardSelector(shardSelectorFor(0, 3));
 * const owned = lister.list().filter(mine);
 * ```
 */
export function compileShardSelector(sel: ShardSelector): (obj: KubeObject) => boolean {
  const ranges = compileRanges(sel);
  const field = sel.field;
  return (obj) => {
    hashInto(fieldValue(obj, field));
    const hi = hashHi;
    const lo = hashLo;
    for (const r of ranges) {
      if (hi < r.startHi || (hi === r.startHi && lo < r.startLo)) continue;
      if (r.endIsMax || hi < r.endHi || (hi === r.endHi && lo < r.endLo)) return true;
    }
    return false;
  };
}

const compiled = new WeakMap<ShardSelector, (obj: KubeObject) => boolean>();

/**
 * Whether `obj` belongs to the shard `sel` selects: the FNV-1a hash of its `sel.field` lies in
 * one of the ranges. The selector is compiled on first use and remembered.
 *
 * @example
 * ```ts
 * const sel = parseShardSelector(
 *   "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')",
 * );
 * matchesShard({ metadata: { name: 'a', uid: 'u-1' } }, sel);
 * ```
 */
export function matchesShard(obj: KubeObject, sel: ShardSelector): boolean {
  let fn = compiled.get(sel);
  if (fn === undefined) {
    fn = compileShardSelector(sel);
    compiled.set(sel, fn);
  }
  return fn(obj);
}

// ---------------------------------------------------------------------------------------------
// Parsing.

const FIELD_OF_PATH: ReadonlyMap<string, ShardField> = new Map([
  ['object.metadata.uid', 'metadata.uid'],
  ['object.metadata.namespace', 'metadata.namespace'],
]);

const BOUND_HINT =
  "bounds are quoted strings of '0x' and exactly 16 lowercase hex digits, " +
  "e.g. '0x8000000000000000'; an end may also be '0x10000000000000000' (2^64)";

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const HEX_DIGIT = /[0-9a-f]/;

/** A recursive-descent parser over the CEL subset in the module comment. */
class ShardSelectorParser {
  readonly #input: string;
  #pos = 0;
  #field: ShardField | undefined;
  readonly #ranges: ShardRange[] = [];

  constructor(input: string) {
    this.#input = input;
  }

  parse(): ShardSelector {
    this.#skipSpace();
    if (this.#pos === this.#input.length) {
      this.#fail(
        this.#pos,
        'empty shard selector',
        'omit the shardSelector parameter for an unfiltered list or watch',
      );
    }
    this.#union();
    this.#skipSpace();
    if (this.#pos < this.#input.length) {
      const ch = this.#input[this.#pos]!;
      if (ch === ')') this.#fail(this.#pos, "unbalanced ')'");
      if (this.#input.startsWith('&&', this.#pos)) this.#unsupportedOperator('&&');
      this.#fail(this.#pos, `unexpected ${JSON.stringify(ch)}; ranges are joined with ||`);
    }
    return { field: this.#field!, ranges: this.#ranges };
  }

  #fail(position: number, reason: string, hint?: string): never {
    throw new ShardSelectorParseError(this.#input, position, reason, hint);
  }

  #unsupportedOperator(op: string): never {
    this.#fail(
      this.#pos,
      `unsupported operator ${JSON.stringify(op)}; only || combines shard ranges`,
      'a shard selector is a union of shardRange() terms; intersect ranges yourself',
    );
  }

  #skipSpace(): void {
    const s = this.#input;
    while (this.#pos < s.length && /\s/.test(s[this.#pos]!)) this.#pos++;
  }

  #peek(): string | undefined {
    this.#skipSpace();
    return this.#input[this.#pos];
  }

  #expect(ch: string, what: string): void {
    if (this.#peek() !== ch) {
      const found = this.#input[this.#pos];
      this.#fail(
        this.#pos,
        `expected ${JSON.stringify(ch)} ${what}, found ${found === undefined ? 'the end' : JSON.stringify(found)}`,
      );
    }
    this.#pos++;
  }

  #ident(): string {
    const s = this.#input;
    const start = this.#pos;
    if (start < s.length && IDENT_START.test(s[start]!)) {
      this.#pos++;
      while (this.#pos < s.length && IDENT_PART.test(s[this.#pos]!)) this.#pos++;
    }
    return s.slice(start, this.#pos);
  }

  /** term ("||" term)* */
  #union(): void {
    for (;;) {
      this.#term();
      this.#skipSpace();
      if (this.#input.startsWith('||', this.#pos)) {
        this.#pos += 2;
        continue;
      }
      if (this.#input.startsWith('&&', this.#pos)) this.#unsupportedOperator('&&');
      return;
    }
  }

  /** "(" union ")" | shardRange call */
  #term(): void {
    const ch = this.#peek();
    if (ch === '(') {
      this.#pos++;
      this.#union();
      this.#expect(')', 'to close the group');
      return;
    }
    if (ch === '!') this.#unsupportedOperator('!');
    const start = this.#pos;
    const name = this.#ident();
    if (name === '') {
      this.#fail(
        start,
        `expected a shardRange() term, found ${ch === undefined ? 'the end' : JSON.stringify(ch)}`,
      );
    }
    if (name !== 'shardRange') {
      if (this.#peek() === '(') {
        this.#fail(
          start,
          `unsupported function ${JSON.stringify(name)}; only shardRange() and || are allowed`,
        );
      }
      this.#fail(start, `expected a shardRange() term, found ${JSON.stringify(name)}`);
    }
    this.#expect('(', 'after shardRange');
    this.#call(start);
  }

  /** The arguments of one shardRange call, after its "(". */
  #call(callStart: number): void {
    this.#skipSpace();
    const pathStart = this.#pos;
    const field = this.#fieldPath();
    if (this.#field !== undefined && this.#field !== field) {
      this.#fail(
        pathStart,
        `all shard ranges must hash the same field, got ${PATH_OF[this.#field]} and ${PATH_OF[field]}`,
      );
    }
    this.#field = field;
    this.#argSeparator(1);
    const start = this.#bound('hexStart');
    this.#argSeparator(2);
    const end = this.#bound('hexEnd');
    if (this.#peek() === ',') {
      this.#fail(this.#pos, 'shardRange() takes exactly 3 arguments (fieldPath, hexStart, hexEnd)');
    }
    this.#expect(')', 'to close shardRange(');
    if (start >= end) {
      this.#fail(
        callStart,
        `shard range start ${formatBound(start)} must be less than end ${formatBound(end)}`,
        'ranges are half-open [start, end); the last range of the space ends at 0x10000000000000000',
      );
    }
    this.#ranges.push({ start, end });
  }

  #argSeparator(argsSoFar: number): void {
    if (this.#peek() === ')') {
      this.#fail(
        this.#pos,
        `shardRange() takes exactly 3 arguments (fieldPath, hexStart, hexEnd), got ${argsSoFar}`,
      );
    }
    this.#expect(',', `after argument ${argsSoFar} of shardRange()`);
  }

  /** ident ("." ident)*, which must name a supported field. */
  #fieldPath(): ShardField {
    const start = this.#pos;
    const parts: string[] = [];
    for (;;) {
      this.#skipSpace();
      const part = this.#ident();
      if (part === '') {
        const ch = this.#input[this.#pos];
        this.#fail(
          this.#pos,
          `shardRange() first argument must be a field path such as object.metadata.uid, found ${ch === undefined ? 'the end' : JSON.stringify(ch)}`,
        );
      }
      parts.push(part);
      if (this.#peek() !== '.') break;
      this.#pos++;
    }
    const path = parts.join('.');
    const field = FIELD_OF_PATH.get(path);
    if (field === undefined) {
      this.#fail(
        start,
        `unsupported field path ${JSON.stringify(path)}; supported: object.metadata.uid, object.metadata.namespace`,
        path.startsWith('metadata.')
          ? `paths are CEL-style, rooted at object: write object.${path}`
          : undefined,
      );
    }
    return field;
  }

  /** A quoted hex bound. */
  #bound(name: 'hexStart' | 'hexEnd'): bigint {
    const quote = this.#peek();
    const start = this.#pos;
    if (quote !== "'" && quote !== '"') {
      this.#fail(
        start,
        `${name} must be a string literal such as '0x8000000000000000'`,
        BOUND_HINT,
      );
    }
    const s = this.#input;
    let i = start + 1;
    while (i < s.length && s[i] !== quote) {
      if (s[i] === '\\' || s[i] === '\n') {
        this.#fail(i, `${name} may not contain escapes or line breaks`, BOUND_HINT);
      }
      i++;
    }
    if (i === s.length) this.#fail(start, `unterminated string literal for ${name}`, BOUND_HINT);
    const text = s.slice(start + 1, i);
    this.#pos = i + 1;
    return this.#hexValue(name, text, start + 1);
  }

  #hexValue(name: string, text: string, at: number): bigint {
    if (!text.startsWith('0x')) {
      this.#fail(at, `${name} must start with '0x', got ${JSON.stringify(text)}`, BOUND_HINT);
    }
    const digits = text.slice(2);
    if (digits === '') this.#fail(at, `${name} needs hex digits after '0x'`, BOUND_HINT);
    if (digits.length > 17) {
      this.#fail(
        at,
        `${name} is too long (${digits.length} characters after '0x', at most 17)`,
        BOUND_HINT,
      );
    }
    for (let k = 0; k < digits.length; k++) {
      if (!HEX_DIGIT.test(digits[k]!)) {
        this.#fail(
          at + 2 + k,
          `invalid hex character ${JSON.stringify(digits[k])} in ${name} ${JSON.stringify(text)}`,
          /[A-F]/.test(digits[k]!) ? 'hex digits are lowercase' : BOUND_HINT,
        );
      }
    }
    if (digits.length === 17) {
      if (digits !== '10000000000000000') {
        this.#fail(
          at,
          `${name}: a 17-digit value can only be '0x10000000000000000' (2^64), got ${JSON.stringify(text)}`,
          BOUND_HINT,
        );
      }
    } else if (digits.length !== 16) {
      const padded = '0x' + digits.padStart(16, '0');
      this.#fail(
        at,
        `${name} must be '0x' and 16 hex digits, got ${JSON.stringify(text)}`,
        `did you mean '${padded}'?`,
      );
    }
    return BigInt(text);
  }
}

/**
 * Parses a `shardSelector` (the grammar is in this module's comment). Throws
 * {@link ShardSelectorParseError} with the position and reason of the first problem; the empty
 * string is an error too (omit the parameter instead).
 *
 * @example
 * ```ts
 * const sel = parseShardSelector(
 *   "shardRange(object.metadata.uid, '0x0000000000000000', '0x4000000000000000') || " +
 *     "shardRange(object.metadata.uid, '0x8000000000000000', '0xc000000000000000')",
 * );
 * sel.ranges.length; // 2
 * ```
 */
export function parseShardSelector(text: string): ShardSelector {
  return new ShardSelectorParser(text).parse();
}
