/**
 * Reading parsed JSON in assertions without `any`: `at(doc, 'spec', 'replicas')` is the value at
 * that path, or undefined where the path leads nowhere (so a wrong path fails the assertion).
 */
export function at(value: unknown, ...path: readonly (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** The string at a path ('' when there is none), for `assert.match`. */
export function textAt(value: unknown, ...path: readonly (string | number)[]): string {
  const found = at(value, ...path);
  return typeof found === 'string' ? found : '';
}
