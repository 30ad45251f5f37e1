/**
 * Label selectors: the grammar, validation and matching rules of Kubernetes' `labelSelector`
 * query parameter (apimachinery `pkg/labels`), plus conversion from `metav1.LabelSelector`.
 *
 * Grammar (requirements are ANDed, separated by commas, whitespace around tokens is free):
 *
 * ```
 * selector    := "" | requirement ("," requirement)*
 * requirement := "!" key | key | key ("=" | "==" | "!=") value | key ("in" | "notin") "(" values ")"
 *              | key (">" | "<") integer
 * values      := value ("," value)*
 * ```
 *
 * Keys are qualified names (an optional DNS-1123 subdomain prefix of at most 253 characters and a
 * `/`, then a name of at most 63 characters); values are at most 63 characters and may be empty.
 * `!=` and `notin` match objects that lack the key, as on the API server.
 *
 * Selectors are parsed once and compiled: `matches` does no parsing, no regular expressions and
 * no allocation, because informers and listers call it for every cached object of a full scan.
 */
import { KubecacheError } from './errors.js';

/** The operator of one requirement. `==` parses to `=`; `!` is "does not exist". */
export type SelectorOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | '>' | '<';

/** One ANDed term of a label selector. `values` are sorted and unique. */
export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/**
 * A parsed label selector.
 *
 * @example
 * ```ts
 * const sel = parseLabelSelector('app=web,tier in (frontend,edge),!canary');
 * sel.matches({ app: 'web', tier: 'edge' }); // true
 * sel.toString(); // '!canary,app=web,tier in (edge,frontend)'
 * ```
 */
export interface LabelSelector {
  /** The requirements, sorted by key (then operator), as apimachinery orders them. */
  readonly requirements: readonly Requirement[];
  /** True when every requirement holds for `labels` (a missing label map is an empty one). */
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
  /** True for the selector that matches every object (no requirements). */
  isEverything(): boolean;
  /** True for the selector that matches no object (see {@link nothing}). */
  isNothing(): boolean;
  /** The canonical form; `parseLabelSelector(s.toString())` is equivalent to `s`. */
  toString(): string;
}

/**
 * A label or field selector could not be parsed or built. `position` is the 0-based offset in
 * `input` where the problem was found (-1 when it concerns no single position).
 *
 * @example
 * ```ts
 * try { parseLabelSelector('a in (b'); } catch (err) {
 *   if (err instanceof SelectorParseError) console.log(err.position, err.reason);
 * }
 * ```
 */
export class SelectorParseError extends KubecacheError {
  readonly input: string;
  readonly position: number;
  readonly reason: string;

  constructor(input: string, position: number, reason: string) {
    super(
      'SelectorParseError',
      position >= 0
        ? `invalid selector ${JSON.stringify(input)} at position ${position}: ${reason}`
        : `invalid selector ${JSON.stringify(input)}: ${reason}`,
    );
    this.input = input;
    this.position = position;
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation of keys and values (apimachinery's qualified-name and label-value rules).

const QUALIFIED_NAME_MAX = 63;
const PREFIX_MAX = 253;
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const INTEGER = /^[-+]?[0-9]+$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function validateLabelKey(key: string): string | undefined {
  const slash = key.indexOf('/');
  let name = key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    if (prefix.length === 0)
      return `invalid label key ${JSON.stringify(key)}: prefix part must be non-empty`;
    if (prefix.length > PREFIX_MAX) {
      return `invalid label key ${JSON.stringify(key)}: prefix part must be no more than ${PREFIX_MAX} characters`;
    }
    if (!DNS1123_SUBDOMAIN.test(prefix)) {
      return `invalid label key ${JSON.stringify(key)}: prefix part must be a lowercase RFC 1123 subdomain`;
    }
  }
  if (name.length === 0)
    return `invalid label key ${JSON.stringify(key)}: name part must be non-empty`;
  if (name.length > QUALIFIED_NAME_MAX) {
    return `invalid label key ${JSON.stringify(key)}: name part must be no more than ${QUALIFIED_NAME_MAX} characters`;
  }
  if (!NAME_PART.test(name)) {
    return `invalid label key ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function validateLabelValue(value: string): string | undefined {
  if (value.length > QUALIFIED_NAME_MAX) {
    return `invalid label value ${JSON.stringify(value)}: must be no more than ${QUALIFIED_NAME_MAX} characters`;
  }
  if (!LABEL_VALUE.test(value)) {
    return `invalid label value ${JSON.stringify(value)}: must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Compiled requirements.

const OPERATOR_RANK: Readonly<Record<SelectorOperator, number>> = {
  '!': 0,
  exists: 1,
  '=': 2,
  '!=': 3,
  in: 4,
  notin: 5,
  '>': 6,
  '<': 7,
};

type Matcher = (labels: Readonly<Record<string, string>>) => boolean;

// Matchers read `labels[key]` and test its type instead of calling `hasOwnProperty`: label maps
// come from JSON, so an own value is always a string, while an inherited member such as
// `toString` is a function and never equals or "exists" as a label. This keeps a match to a
// property load and a comparison.
function compileRequirement(req: Requirement): Matcher {
  const { key, values } = req;
  switch (req.operator) {
    case 'exists':
      return (labels) => typeof labels[key] === 'string';
    case '!':
      return (labels) => typeof labels[key] !== 'string';
    case '=':
    case 'in': {
      if (values.length === 1) {
        const only = values[0];
        return (labels) => labels[key] === only;
      }
      const set: ReadonlySet<unknown> = new Set(values);
      return (labels) => set.has(labels[key]);
    }
    case '!=':
    case 'notin': {
      if (values.length === 1) {
        const only = values[0];
        return (labels) => labels[key] !== only;
      }
      const set: ReadonlySet<unknown> = new Set(values);
      return (labels) => !set.has(labels[key]);
    }
    case '>':
    case '<': {
      const bound = Number(values[0]);
      const greater = req.operator === '>';
      return (labels) => {
        const raw = labels[key];
        if (typeof raw !== 'string' || !INTEGER.test(raw)) return false;
        const n = Number(raw);
        return greater ? n > bound : n < bound;
      };
    }
  }
}

function requirementToString(req: Requirement): string {
  switch (req.operator) {
    case 'exists':
      return req.key;
    case '!':
      return `!${req.key}`;
    case 'in':
    case 'notin':
      // A set holding only the empty value prints as `()`, which parses back to that set.
      return `${req.key} ${req.operator} (${req.values.join(',')})`;
    default:
      return `${req.key}${req.operator}${req.values[0] ?? ''}`;
  }
}

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});

class CompiledLabelSelector implements LabelSelector {
  readonly requirements: readonly Requirement[];
  readonly #matchers: readonly Matcher[];
  readonly #nothing: boolean;
  #text: string | undefined;

  constructor(requirements: readonly Requirement[], nothing: boolean) {
    this.requirements = Object.freeze(requirements.slice().sort(compareRequirements));
    this.#matchers = this.requirements.map(compileRequirement);
    this.#nothing = nothing;
  }

  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    if (this.#nothing) return false;
    const l = labels ?? EMPTY_LABELS;
    const matchers = this.#matchers;
    for (let i = 0; i < matchers.length; i++) if (!matchers[i]!(l)) return false;
    return true;
  }

  isEverything(): boolean {
    return !this.#nothing && this.requirements.length === 0;
  }

  isNothing(): boolean {
    return this.#nothing;
  }

  toString(): string {
    this.#text ??= this.requirements.map(requirementToString).join(',');
    return this.#text;
  }
}

function compareRequirements(a: Requirement, b: Requirement): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  const rank = OPERATOR_RANK[a.operator] - OPERATOR_RANK[b.operator];
  if (rank !== 0) return rank;
  const av = a.values.join(',');
  const bv = b.values.join(',');
  return av < bv ? -1 : av > bv ? 1 : 0;
}

/**
 * The selector that matches every object.
 *
 * @example
 * ```ts
 * everything.matches(undefined); // true
 * ```
 */
export const everything: LabelSelector = new CompiledLabelSelector([], false);

/**
 * The selector that matches no object (a `null` `metav1.LabelSelector`). Like apimachinery's
 * `labels.Nothing()`, it has no textual form: `toString()` is `''`, which parses to
 * {@link everything}; check `isNothing()` before sending a selector anywhere.
 *
 * @example
 * ```ts
 * nothing.matches({ app: 'web' }); // false
 * ```
 */
export const nothing: LabelSelector = new CompiledLabelSelector([], true);

/**
 * Builds a requirement, validating the key and values the way apimachinery's `NewRequirement`
 * does. Throws {@link SelectorParseError} (position -1) when invalid.
 *
 * @example
 * ```ts
 * const req = requirement('tier', 'in', ['frontend', 'edge']);
 * ```
 */
export function requirement(
  key: string,
  operator: SelectorOperator,
  values: readonly string[] = [],
): Requirement {
  const problem = checkRequirement(key, operator, values);
  if (problem !== undefined) throw new SelectorParseError(key, -1, problem);
  return { key, operator, values: Object.freeze(Array.from(new Set(values)).sort()) };
}

/**
 * A selector from already built requirements.
 *
 * @example
 * ```ts
 * const sel = labelSelectorFromRequirements([requirement('app', '=', ['web'])]);
 * ```
 */
export function labelSelectorFromRequirements(requirements: readonly Requirement[]): LabelSelector {
  return requirements.length === 0 ? everything : new CompiledLabelSelector(requirements, false);
}

function checkRequirement(
  key: string,
  operator: SelectorOperator,
  values: readonly string[],
): string | undefined {
  const keyProblem = validateLabelKey(key);
  if (keyProblem !== undefined) return keyProblem;
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) return `for '${operator}' operator, values set can't be empty`;
      break;
    case '=':
    case '!=':
      if (values.length !== 1) return `exact-match compatibility requires one single value`;
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) return `values set must be empty for exists and does not exist`;
      break;
    case '>':
    case '<':
      if (values.length !== 1) return `for '${operator}' operator, exactly one value is required`;
      if (!INTEGER.test(values[0]!)) {
        return `for '${operator}' operator, the value must be an integer, not ${JSON.stringify(values[0])}`;
      }
      return undefined;
    default:
      // A JavaScript caller (or a cast) can pass anything; refuse it here rather than fail later
      // inside `matches`.
      return `unsupported operator ${JSON.stringify(operator)}: expected one of =, !=, in, notin, exists, !, >, <`;
  }
  for (const value of values) {
    const problem = validateLabelValue(value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Lexer and parser.

type TokenKind =
  'identifier' | 'end' | ',' | '=' | '==' | '!=' | '!' | '(' | ')' | '>' | '<' | 'in' | 'notin';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly position: number;
}

function isSpecial(ch: string): boolean {
  return (
    ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',' || ch === '>' || ch === '<'
  );
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (isWhitespace(ch)) {
      i++;
      continue;
    }
    if (isSpecial(ch)) {
      const two = input.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        tokens.push({ kind: two, text: two, position: i });
        i += 2;
      } else {
        tokens.push({ kind: ch as TokenKind, text: ch, position: i });
        i++;
      }
      continue;
    }
    const start = i;
    while (i < input.length && !isWhitespace(input[i]!) && !isSpecial(input[i]!)) i++;
    const text = input.slice(start, i);
    const kind: TokenKind = text === 'in' ? 'in' : text === 'notin' ? 'notin' : 'identifier';
    tokens.push({ kind, text, position: start });
  }
  tokens.push({ kind: 'end', text: '', position: input.length });
  return tokens;
}

function describe(token: Token): string {
  return token.kind === 'end' ? 'end of string' : `'${token.text}'`;
}

class Parser {
  readonly #input: string;
  readonly #tokens: Token[];
  #at = 0;

  constructor(input: string) {
    this.#input = input;
    this.#tokens = tokenize(input);
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    if (this.#peek().kind === 'end') return requirements;
    for (;;) {
      requirements.push(this.#requirement());
      const next = this.#next();
      if (next.kind === 'end') return requirements;
      if (next.kind !== ',')
        this.#fail(next.position, `found ${describe(next)}, expected ',' or end of string`);
      if (this.#peek().kind === 'end') {
        this.#fail(this.#peek().position, `found end of string, expected a requirement after ','`);
      }
    }
  }

  #requirement(): Requirement {
    let first = this.#next();
    let doesNotExist = false;
    if (first.kind === '!') {
      doesNotExist = true;
      first = this.#next();
    }
    // `in` and `notin` are keywords only in operator position; as keys they are plain names.
    if (first.kind !== 'identifier' && first.kind !== 'in' && first.kind !== 'notin') {
      this.#fail(first.position, `found ${describe(first)}, expected a label key`);
    }
    const key = first.text;
    this.#check(first.position, validateLabelKey(key));
    if (doesNotExist) return this.#build(first.position, key, '!', []);
    const op = this.#peek();
    if (op.kind === ',' || op.kind === 'end') return this.#build(first.position, key, 'exists', []);
    this.#at++;
    switch (op.kind) {
      case '=':
      case '==':
        return this.#build(op.position, key, '=', [this.#exactValue()]);
      case '!=':
        return this.#build(op.position, key, '!=', [this.#exactValue()]);
      case 'in':
      case 'notin':
        return this.#build(op.position, key, op.kind, this.#valueSet());
      case '>':
      case '<': {
        const value = this.#next();
        if (value.kind !== 'identifier') {
          this.#fail(
            value.position,
            `found ${describe(value)}, expected an integer for '${op.kind}'`,
          );
        }
        return this.#build(value.position, key, op.kind, [value.text]);
      }
      default:
        return this.#fail(
          op.position,
          `found ${describe(op)}, expected one of '=', '==', '!=', 'in', 'notin', '>', '<', ',' or end of string`,
        );
    }
  }

  /** The value after `=`, `==` or `!=`; empty when a comma or the end follows directly. */
  #exactValue(): string {
    const token = this.#peek();
    if (token.kind === ',' || token.kind === 'end') return '';
    this.#at++;
    // `in` and `notin` are ordinary values in this position.
    if (token.kind === 'identifier' || token.kind === 'in' || token.kind === 'notin') {
      this.#check(token.position, validateLabelValue(token.text));
      return token.text;
    }
    return this.#fail(token.position, `found ${describe(token)}, expected a value`);
  }

  #valueSet(): string[] {
    const open = this.#next();
    if (open.kind !== '(') this.#fail(open.position, `found ${describe(open)}, expected '('`);
    const values: string[] = [];
    // `()` is the set holding only the empty value, as in apimachinery (not an empty set, which
    // `in`/`notin` reject): `x in ()` selects objects whose `x` label is present and empty.
    if (this.#peek().kind === ')') {
      this.#at++;
      return [''];
    }
    for (;;) {
      const token = this.#peek();
      if (token.kind === ',' || token.kind === ')') {
        // An empty element, as in `in (a,,b)` or `in (a,)`: apimachinery reads it as "".
        values.push('');
      } else if (token.kind === 'identifier' || token.kind === 'in' || token.kind === 'notin') {
        this.#at++;
        this.#check(token.position, validateLabelValue(token.text));
        values.push(token.text);
      } else {
        this.#fail(token.position, `found ${describe(token)}, expected a value, ',' or ')'`);
      }
      const sep = this.#next();
      if (sep.kind === ')') return values;
      if (sep.kind !== ',') this.#fail(sep.position, `found ${describe(sep)}, expected ',' or ')'`);
    }
  }

  #build(
    position: number,
    key: string,
    operator: SelectorOperator,
    values: readonly string[],
  ): Requirement {
    this.#check(position, checkRequirement(key, operator, values));
    return { key, operator, values: Object.freeze(Array.from(new Set(values)).sort()) };
  }

  #peek(): Token {
    return this.#tokens[this.#at]!;
  }

  #next(): Token {
    const token = this.#tokens[this.#at]!;
    if (token.kind !== 'end') this.#at++;
    return token;
  }

  #check(position: number, problem: string | undefined): void {
    if (problem !== undefined) this.#fail(position, problem);
  }

  #fail(position: number, reason: string): never {
    throw new SelectorParseError(this.#input, position, reason);
  }
}

/**
 * Parses a label selector in the API server's syntax. The empty string selects everything.
 * Throws {@link SelectorParseError} naming the position and the reason on invalid input.
 *
 * @example
 * ```ts
 * const sel = parseLabelSelector('environment in (production, qa), tier notin (frontend)');
 * sel.matches({ environment: 'qa', tier: 'backend' }); // true
 * ```
 */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements = new Parser(text).parse();
  return labelSelectorFromRequirements(requirements);
}

/** The JSON shape of `metav1.LabelSelector`. */
export interface LabelSelectorObject {
  readonly matchLabels?: Readonly<Record<string, string>> | null;
  readonly matchExpressions?:
    | readonly {
        readonly key: string;
        readonly operator: string;
        readonly values?: readonly string[] | null;
      }[]
    | null;
}

/**
 * Converts a `metav1.LabelSelector` (as found in Deployments, Services' owners, PDBs...) the way
 * `metav1.LabelSelectorAsSelector` does: `null`/`undefined` selects nothing, an empty object
 * selects everything. Invalid operators, keys or values throw {@link SelectorParseError}.
 *
 * @example
 * ```ts
 * const sel = labelSelectorFromObject({
 *   matchLabels: { app: 'web' },
 *   matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }],
 * });
 * sel.toString(); // 'app=web,tier in (frontend)'
 * ```
 */
export function labelSelectorFromObject(
  selector: LabelSelectorObject | null | undefined,
): LabelSelector {
  if (selector === null || selector === undefined) return nothing;
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    requirements.push(requirement(key, '=', [value]));
  }
  for (const expr of selector.matchExpressions ?? []) {
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
        requirements.push(requirement(expr.key, 'in', values));
        break;
      case 'NotIn':
        requirements.push(requirement(expr.key, 'notin', values));
        break;
      case 'Exists':
        requirements.push(requirement(expr.key, 'exists', values));
        break;
      case 'DoesNotExist':
        requirements.push(requirement(expr.key, '!', values));
        break;
      default:
        throw new SelectorParseError(
          expr.key,
          -1,
          `${JSON.stringify(expr.operator)} is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)`,
        );
    }
  }
  return labelSelectorFromRequirements(requirements);
}

/**
 * Accepts either a selector or its text, so APIs can take both.
 *
 * @example
 * ```ts
 * toLabelSelector('app=web').matches({ app: 'web' }); // true
 * ```
 */
export function toLabelSelector(selector: LabelSelector | string | undefined): LabelSelector {
  if (selector === undefined) return everything;
  return typeof selector === 'string' ? parseLabelSelector(selector) : selector;
}
