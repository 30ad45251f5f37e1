/**
 * Query-string selectors. Label selectors use the shared grammar of `@kubecache/cache`. Field
 * selectors are parsed here, the way apimachinery's `fields.ParseSelector` does, because the cache
 * package's parser knows only `metadata.name`/`metadata.namespace` while the server must accept each
 * kind's own field labels (`field-labels.ts`) and refuse the others with the kind's own text.
 * Shard selectors (KEP-5866) use the cache package's parser and hash, so a client filtering for
 * itself and the server agree on every object.
 */
import type { KubeObject } from '@kubecache/cache';
import {
  compileShardSelector,
  parseLabelSelector,
  parseShardSelector,
  SelectorParseError,
  ShardSelectorParseError,
} from '@kubecache/cache';
import { fieldLabelsOf } from './field-labels.js';
import type { FieldValue } from './field-labels.js';
import type { ResourceInfo } from './resources.js';
import type { FieldMatcher, LabelMatcher } from './storage.js';
import { badRequest } from './status.js';

/** Parses `labelSelector`; a syntax error is a 400 BadRequest as on the real server. */
export function labelMatcher(text: string | null): LabelMatcher | undefined {
  if (text === null || text === '') return undefined;
  try {
    return parseLabelSelector(text);
  } catch (err) {
    if (err instanceof SelectorParseError)
      throw badRequest(`unable to parse requirement: ${err.message}`);
    throw err;
  }
}

/** One term of a field selector, before the kind's field labels are applied. */
interface RawTerm {
  readonly field: string;
  readonly equal: boolean;
  readonly value: string;
}

/** One term bound to the kind's value of its field. */
interface FieldTerm {
  readonly read: FieldValue;
  readonly equal: boolean;
  readonly value: string;
}

/** ANDed `field=value` / `field!=value` terms over a kind's field labels. */
class KindFieldMatcher implements FieldMatcher {
  readonly #terms: readonly FieldTerm[];

  constructor(terms: readonly FieldTerm[]) {
    this.#terms = terms;
  }

  matches(obj: KubeObject): boolean {
    for (const term of this.#terms) {
      if ((term.read(obj) === term.value) !== term.equal) return false;
    }
    return true;
  }

  isEverything(): boolean {
    return this.#terms.length === 0;
  }
}

/** Splits on commas not escaped by a backslash (escapes are kept for {@link unescapeValue}). */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

/** apimachinery's `UnescapeValue`: only `\\`, `\,` and `\=` are escapes; bare `,`/`=` are errors. */
function unescapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\') {
      const next = value[i + 1];
      if (next !== '\\' && next !== ',' && next !== '=') {
        throw badRequest(
          `invalid field selector: invalid escape sequence: \\${next === undefined ? '' : next}`,
        );
      }
      out += next;
      i++;
    } else if (ch === ',' || ch === '=') {
      // Go prints the rune with %v: its code point.
      throw badRequest(`invalid field selector: unescaped character in value: ${ch.charCodeAt(0)}`);
    } else {
      out += ch;
    }
  }
  return out;
}

/** One term: split at the first `!=`, `==` or `=` (field names have no escapes). */
function parseTerm(selector: string, part: string): RawTerm {
  for (let i = 0; i < part.length; i++) {
    const rest = part.slice(i);
    const op = rest.startsWith('!=')
      ? '!='
      : rest.startsWith('==')
        ? '=='
        : rest[0] === '='
          ? '='
          : '';
    if (op === '') continue;
    const value = unescapeValue(part.slice(i + op.length));
    return { field: part.slice(0, i), equal: op !== '!=', value };
  }
  throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
}

/**
 * Parses `fieldSelector` for a resource. Syntax errors come first (the whole selector is parsed
 * before any label is checked, terms in sorted order as apimachinery sorts them), then the first
 * label the kind does not support; both are 400 BadRequest with the real server's text.
 */
export function fieldMatcher(text: string | null, info: ResourceInfo): FieldMatcher | undefined {
  if (text === null || text === '') return undefined;
  const raw = splitTerms(text)
    .sort()
    .filter((part) => part !== '')
    .map((part) => parseTerm(text, part));
  const kind = fieldLabelsOf(info);
  const terms = raw.map((term): FieldTerm => {
    const read = kind.fields.get(term.field);
    if (read === undefined) throw badRequest(kind.unsupported(term.field));
    return { read, equal: term.equal, value: term.value };
  });
  return new KindFieldMatcher(terms);
}

/**
 * What the server does with a `shardSelector` parameter: `honour` filters by it and echoes it in
 * the list's `metadata.shardInfo` (a v1.36+ server with the `ShardedListAndWatch` gate on);
 * `ignore` neither parses nor applies it and sends no `shardInfo`, as an older server (or one with
 * the gate off) answers.
 *
 * @example
 * ```ts
 * const server = await startApiServer({ shardSelector: 'ignore' });
 * server.shardSelector = 'honour'; // switch at run time
 * ```
 */
export type ShardSelectorMode = 'honour' | 'ignore';

/** A parsed `shardSelector`: the object test and the request's text, echoed in `shardInfo`. */
export interface ShardFilter {
  readonly matches: (obj: KubeObject) => boolean;
  readonly text: string;
}

/**
 * Parses `shardSelector` when the server honours it; undefined when absent, empty or ignored. A
 * malformed one is a 400 BadRequest, as the real server's ListOptions decoding answers.
 */
export function shardFilter(text: string | null, mode: ShardSelectorMode): ShardFilter | undefined {
  // An empty value is an unset field in ListOptions, as for the label and field selectors.
  if (text === null || text === '' || mode === 'ignore') return undefined;
  try {
    return { matches: compileShardSelector(parseShardSelector(text)), text };
  } catch (err) {
    if (err instanceof ShardSelectorParseError) {
      const at = err.position >= 0 ? ` (at position ${err.position})` : '';
      throw badRequest(`invalid shard selector: ${err.reason}${at}`);
    }
    throw err;
  }
}

/** A field matcher that also requires the object to be in the shard. */
class ShardedFieldMatcher implements FieldMatcher {
  readonly #field: FieldMatcher | undefined;
  readonly #shard: (obj: KubeObject) => boolean;

  constructor(field: FieldMatcher | undefined, shard: (obj: KubeObject) => boolean) {
    this.#field = field;
    this.#shard = shard;
  }

  matches(obj: KubeObject): boolean {
    return this.#shard(obj) && (this.#field === undefined || this.#field.matches(obj));
  }

  isEverything(): boolean {
    return false;
  }
}

/**
 * The field matcher with the shard filter folded in, so storage's LIST and every watch apply it
 * where they already apply field selectors (and, like them, it leaves `remainingItemCount` unset).
 * Without a shard filter the field matcher is returned as is: no cost when none was asked for.
 */
export function withShard(
  field: FieldMatcher | undefined,
  shard: ShardFilter | undefined,
): FieldMatcher | undefined {
  return shard === undefined ? field : new ShardedFieldMatcher(field, shard.matches);
}
