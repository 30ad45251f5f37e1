/**
 * Field selectors (`fieldSelector`): ANDed `field=value`, `field==value` or `field!=value` terms
 * over the fields every resource supports, `metadata.name` and `metadata.namespace`. Values may
 * contain `,`, `=` and `\` escaped with a backslash, as apimachinery's `fields.EscapeValue`
 * writes them.
 */
import { SelectorParseError } from './label-selector.js';
import type { KubeObject } from './types.js';

/** The fields a field selector may name. */
export type SelectableField = 'metadata.name' | 'metadata.namespace';

/** One ANDed term of a field selector. */
export interface FieldRequirement {
  readonly field: SelectableField;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/**
 * A parsed field selector.
 *
 * @example
 * ```ts
 * const sel = parseFieldSelector('metadata.namespace=default,metadata.name!=web');
 * sel.matches({ metadata: { namespace: 'default', name: 'api' } }); // true
 * ```
 */
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  matches(obj: KubeObject): boolean;
  isEverything(): boolean;
  /** Canonical form (terms sorted, values escaped); parses back to an equivalent selector. */
  toString(): string;
}

const FIELDS: ReadonlySet<string> = new Set<SelectableField>([
  'metadata.name',
  'metadata.namespace',
]);

function fieldValue(obj: KubeObject, field: SelectableField): string {
  const meta = obj.metadata;
  return (field === 'metadata.name' ? meta?.name : meta?.namespace) ?? '';
}

/**
 * Escapes `\`, `,` and `=` in a field selector value.
 *
 * @example
 * ```ts
 * escapeFieldValue('a,b'); // 'a\\,b'
 * ```
 */
export function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (ch) => `\\${ch}`);
}

class CompiledFieldSelector implements FieldSelector {
  readonly requirements: readonly FieldRequirement[];

  constructor(requirements: FieldRequirement[]) {
    this.requirements = Object.freeze(
      requirements.sort((a, b) =>
        a.field !== b.field
          ? a.field < b.field
            ? -1
            : 1
          : a.operator !== b.operator
            ? a.operator < b.operator
              ? -1
              : 1
            : a.value < b.value
              ? -1
              : a.value > b.value
                ? 1
                : 0,
      ),
    );
  }

  matches(obj: KubeObject): boolean {
    const reqs = this.requirements;
    for (let i = 0; i < reqs.length; i++) {
      const req = reqs[i]!;
      const equal = fieldValue(obj, req.field) === req.value;
      if (equal !== (req.operator === '=')) return false;
    }
    return true;
  }

  isEverything(): boolean {
    return this.requirements.length === 0;
  }

  toString(): string {
    return this.requirements
      .map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`)
      .join(',');
  }
}

/**
 * The field selector that matches every object.
 *
 * @example
 * ```ts
 * everythingFields.matches({}); // true
 * ```
 */
export const everythingFields: FieldSelector = new CompiledFieldSelector([]);

/**
 * Parses a field selector. Unknown fields, missing operators and dangling escapes throw
 * {@link SelectorParseError} naming the position.
 *
 * @example
 * ```ts
 * parseFieldSelector('metadata.name==web').matches({ metadata: { name: 'web' } }); // true
 * ```
 */
export function parseFieldSelector(text: string): FieldSelector {
  if (text.trim() === '') return everythingFields;
  const requirements: FieldRequirement[] = [];
  let start = 0;
  // Split on unescaped commas, then each term on its first unescaped operator.
  for (let i = 0; i <= text.length; i++) {
    const ch = text[i];
    // Skip the escaped character; a trailing lone backslash is left for unescape() to reject.
    if (ch === '\\' && i + 1 < text.length) {
      i++;
      continue;
    }
    if (ch === ',' || i === text.length) {
      // Empty terms (`a=b,` or `,,`) are skipped, as apimachinery does.
      if (text.slice(start, i).trim() !== '') requirements.push(parseTerm(text, start, i));
      start = i + 1;
    }
  }
  return new CompiledFieldSelector(requirements);
}

function parseTerm(text: string, start: number, end: number): FieldRequirement {
  for (let i = start; i < end; i++) {
    const ch = text[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    let operator: '=' | '!=' | undefined;
    let opLength = 0;
    if (ch === '!' && text[i + 1] === '=') {
      operator = '!=';
      opLength = 2;
    } else if (ch === '=') {
      operator = '=';
      opLength = text[i + 1] === '=' ? 2 : 1;
    }
    if (operator === undefined) continue;
    const field = text.slice(start, i).trim();
    if (field === '') throw new SelectorParseError(text, start, 'missing field name');
    if (!FIELDS.has(field)) {
      throw new SelectorParseError(
        text,
        start,
        `field ${JSON.stringify(field)} is not supported (metadata.name, metadata.namespace)`,
      );
    }
    const value = unescape(text, i + opLength, end);
    return { field: field as SelectableField, operator, value };
  }
  throw new SelectorParseError(
    text,
    start,
    `term ${JSON.stringify(text.slice(start, end))} has no operator ('=', '==' or '!=')`,
  );
}

function unescape(text: string, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      const next = text[i + 1];
      if (i + 1 >= end || (next !== '\\' && next !== ',' && next !== '=')) {
        throw new SelectorParseError(
          text,
          i,
          'invalid escape sequence (only \\\\, \\, and \\= are allowed)',
        );
      }
      out += next;
      i++;
      continue;
    }
    if (ch === '=') {
      throw new SelectorParseError(text, i, "unescaped '=' in value");
    }
    out += ch;
  }
  return out.trim();
}

/**
 * Accepts either a field selector or its text.
 *
 * @example
 * ```ts
 * toFieldSelector('metadata.name=web');
 * ```
 */
export function toFieldSelector(selector: FieldSelector | string | undefined): FieldSelector {
  if (selector === undefined) return everythingFields;
  return typeof selector === 'string' ? parseFieldSelector(selector) : selector;
}
