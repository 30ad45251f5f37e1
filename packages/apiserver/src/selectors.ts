/** Query-string selectors, parsed with the shared selector grammar of `@kubecache/cache`. */
import * as cache from '@kubecache/cache';
import { KubecacheError } from '@kubecache/cache';
import type { KubeObject } from '@kubecache/cache';
import type { FieldMatcher, LabelMatcher } from './storage.js';
import { badRequest } from './status.js';

interface SelectorLib {
  parseLabelSelector?: (text: string) => LabelMatcher;
  parseFieldSelector?: (text: string) => FieldMatcher;
}
const lib = cache as unknown as SelectorLib;

/**
 * Stop-gap used only while `@kubecache/cache` does not export the selector parsers yet: the
 * equality/set/exists grammar without its error positions.
 */
function fallbackLabel(text: string): LabelMatcher {
  const reqs: ((labels: Readonly<Record<string, string>>) => boolean)[] = [];
  const parts = text.match(/([^,(]+(\([^)]*\))?)/g) ?? [];
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m !== null) {
      const key = m[1]!;
      const values = m[3]!.split(',').map((v) => v.trim());
      const neg = m[2] === 'notin';
      reqs.push((l) => (key in l && values.includes(l[key]!)) !== neg);
      continue;
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(part);
    if (m !== null) {
      const key = m[1]!;
      const value = m[3]!;
      const neg = m[2] === '!=';
      reqs.push((l) => (neg ? l[key] !== value : l[key] === value));
      continue;
    }
    m = /^(!?)([\w./-]+)$/.exec(part);
    if (m !== null) {
      const key = m[2]!;
      const neg = m[1] === '!';
      reqs.push((l) => key in l !== neg);
      continue;
    }
    throw Object.assign(
      new KubecacheError('SelectorParseError', `unable to parse requirement: ${part}`),
    );
  }
  return {
    matches: (labels) => reqs.every((r) => r(labels ?? {})),
    isEverything: () => reqs.length === 0,
  };
}

function fallbackField(text: string): FieldMatcher {
  const reqs = text
    .split(',')
    .filter((p) => p.trim() !== '')
    .map((part) => {
      const m = /^\s*(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
      if (m === null)
        throw new KubecacheError('SelectorParseError', `field label not supported: ${part}`);
      const field = m[1]!;
      const neg = m[2] === '!=';
      const value = m[3]!;
      return (obj: KubeObject): boolean => {
        const actual =
          field === 'metadata.name' ? (obj.metadata?.name ?? '') : (obj.metadata?.namespace ?? '');
        return (actual === value) !== neg;
      };
    });
  return { matches: (obj) => reqs.every((r) => r(obj)), isEverything: () => reqs.length === 0 };
}

function isParseError(err: unknown): boolean {
  return err instanceof KubecacheError && err.code === 'SelectorParseError';
}

/** Parses `labelSelector`; a syntax error is a 400 BadRequest as on the real server. */
export function labelMatcher(text: string | null): LabelMatcher | undefined {
  if (text === null || text === '') return undefined;
  try {
    return (lib.parseLabelSelector ?? fallbackLabel)(text);
  } catch (err) {
    if (isParseError(err))
      throw badRequest(`unable to parse requirement: ${(err as Error).message}`);
    throw err;
  }
}

/** Parses `fieldSelector` (metadata.name, metadata.namespace); errors are 400 BadRequest. */
export function fieldMatcher(text: string | null): FieldMatcher | undefined {
  if (text === null || text === '') return undefined;
  try {
    return (lib.parseFieldSelector ?? fallbackField)(text);
  } catch (err) {
    if (isParseError(err)) throw badRequest(`invalid field selector: ${(err as Error).message}`);
    throw err;
  }
}
