/**
 * Ordering of resourceVersions. The API treats them as opaque strings, but every real
 * kube-apiserver (etcd's revision) and the embedded one issue decimal integers that grow with
 * each write, and client-go's mutation cache relies on that too. Anything else is "not
 * comparable", and callers must decide what that means for them.
 */

/**
 * Compares two resourceVersions: negative when `a` is older, 0 when equal, positive when newer,
 * `undefined` when either is not a decimal integer.
 *
 * @example
 * ```ts
 * compareResourceVersions('99', '100'); // < 0 (numeric, not lexical)
 * compareResourceVersions('abc', '1');  // undefined
 * ```
 */
export function compareResourceVersions(a: string, b: string): number | undefined {
  if (!isDecimal(a) || !isDecimal(b)) return undefined;
  const x = stripZeros(a);
  const y = stripZeros(b);
  // Longer digit strings are larger; equal lengths compare lexically. No BigInt, no precision loss.
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

function isDecimal(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function stripZeros(s: string): string {
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 48) i++;
  return i === 0 ? s : s.slice(i);
}
