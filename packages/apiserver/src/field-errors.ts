/**
 * Field errors as k8s.io/apimachinery `pkg/util/validation/field` builds them: a type (its
 * `reason` in a Status cause), a field path and a message body in the real wording. A 422
 * `Invalid` Status carries one cause per error and joins them in its message (see `invalid` in
 * status.ts).
 *
 * The bad value is printed the way Go's `ErrorBody` prints it: strings quoted like `%q`, numbers
 * and booleans plain, other values in Go syntax (`%#v`), which {@link goSyntax} renders for the
 * few shapes the validators report (string maps, string lists, label selectors).
 */

/** One cause of a 422, as `invalid()` in status.ts takes it. */
export interface FieldError {
  readonly field: string;
  readonly reason:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueNotFound'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong';
  readonly message: string;
}

/** A value Go would print in an error: a string, number, boolean or a {@link GoValue}. */
export type BadValue = string | number | boolean | GoValue;

/** A value with its Go syntax already rendered (`%#v`). */
export interface GoValue {
  readonly goSyntax: string;
}

/** Go's `strconv.Quote` for the strings that reach error messages. */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function showValue(value: BadValue): string {
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value.goSyntax;
}

/** `%#v` renderings of the composite values validators report. */
export const goSyntax = {
  /** `map[string]string{"a":"b", "c":"d"}` (keys sorted, as Go prints maps). */
  stringMap(map: Readonly<Record<string, string>> | undefined): GoValue {
    if (map === undefined) return { goSyntax: 'map[string]string(nil)' };
    const entries = Object.keys(map)
      .sort()
      .map((k) => `${goQuote(k)}:${goQuote(map[k]!)}`);
    return { goSyntax: `map[string]string{${entries.join(', ')}}` };
  },
  /** `[]string{"a", "b"}`. */
  stringList(list: readonly string[] | undefined): GoValue {
    if (list === undefined) return { goSyntax: '[]string(nil)' };
    return { goSyntax: `[]string{${list.map(goQuote).join(', ')}}` };
  },
  /** A `metav1.LabelSelector` (dereferenced, as `ErrorBody` does with pointers). */
  labelSelector(selector: LabelSelectorJson): GoValue {
    const expressions =
      selector.matchExpressions === undefined
        ? '[]v1.LabelSelectorRequirement(nil)'
        : `[]v1.LabelSelectorRequirement{${selector.matchExpressions
            .map(
              (e) =>
                `v1.LabelSelectorRequirement{Key:${goQuote(e.key ?? '')}, Operator:${goQuote(e.operator ?? '')}, Values:${goSyntax.stringList(e.values).goSyntax}}`,
            )
            .join(', ')}}`;
    return {
      goSyntax: `v1.LabelSelector{MatchLabels:${goSyntax.stringMap(selector.matchLabels).goSyntax}, MatchExpressions:${expressions}}`,
    };
  },
};

/** The JSON shape of a label selector. */
export interface LabelSelectorJson {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key?: string; operator?: string; values?: string[] }[];
}

/** `Required value` (with an optional detail). */
export function required(field: string, detail = ''): FieldError {
  return {
    field,
    reason: 'FieldValueRequired',
    message: detail === '' ? 'Required value' : `Required value: ${detail}`,
  };
}

/** `Invalid value: <value>: <detail>`. */
export function invalidValue(field: string, value: BadValue, detail: string): FieldError {
  const body = `Invalid value: ${showValue(value)}`;
  return {
    field,
    reason: 'FieldValueInvalid',
    message: detail === '' ? body : `${body}: ${detail}`,
  };
}

/** `Unsupported value: "x": supported values: "a", "b"`. */
export function notSupported(
  field: string,
  value: string,
  supported: readonly string[],
): FieldError {
  let message = `Unsupported value: ${goQuote(value)}`;
  if (supported.length > 0) message += `: supported values: ${supported.map(goQuote).join(', ')}`;
  return { field, reason: 'FieldValueNotSupported', message };
}

/** `Duplicate value: "x"`. */
export function duplicate(field: string, value: BadValue): FieldError {
  return { field, reason: 'FieldValueDuplicate', message: `Duplicate value: ${showValue(value)}` };
}

/** `Not found: "x"`. */
export function notFound(field: string, value: BadValue): FieldError {
  return { field, reason: 'FieldValueNotFound', message: `Not found: ${showValue(value)}` };
}

/** `Forbidden: <detail>`. */
export function forbidden(field: string, detail: string): FieldError {
  return { field, reason: 'FieldValueForbidden', message: `Forbidden: ${detail}` };
}

/** `Too long: must have at most N bytes`. */
export function tooLong(field: string, maxBytes: number): FieldError {
  return {
    field,
    reason: 'FieldValueTooLong',
    message: `Too long: must have at most ${maxBytes} bytes`,
  };
}

/** `field is immutable` when the values differ (JSON equality). */
export function immutable(field: string, value: BadValue, changed: boolean): FieldError[] {
  return changed ? [invalidValue(field, value, 'field is immutable')] : [];
}
