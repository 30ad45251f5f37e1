// Test helpers for the store tests.
import type { IndexableLabelSelector } from '@kubecache/cache';

export type Op = '=' | '!=' | 'in' | 'notin' | 'exists' | '!';

/**
 * A selector with apimachinery's matching semantics, counting `matches` calls so tests can tell
 * an index-backed query (only candidates are checked) from a scan (every object is).
 */
export function selector(...reqs: [string, Op, ...string[]][]): IndexableLabelSelector & {
  calls: number;
} {
  const requirements = reqs.map(([key, operator, ...values]) => ({ key, operator, values }));
  const s = {
    calls: 0,
    requirements,
    matches(labels: Readonly<Record<string, string>> | undefined): boolean {
      s.calls++;
      return requirements.every(({ key, operator, values }) => {
        const has = labels !== undefined && Object.hasOwn(labels, key);
        const v = has ? labels[key] : undefined;
        switch (operator) {
          case '=':
          case 'in':
            return has && values.includes(v!);
          case '!=':
          case 'notin':
            return !has || !values.includes(v!);
          case 'exists':
            return has;
          case '!':
            return !has;
        }
        return false;
      });
    },
    isEverything: () => requirements.length === 0,
    isNothing: () => false,
  };
  return s;
}
