/** Query-string selectors, parsed with the shared selector grammar of `@kubecache/cache`. */
import { parseFieldSelector, parseLabelSelector, SelectorParseError } from '@kubecache/cache';
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

/** Parses `fieldSelector` (metadata.name, metadata.namespace); errors are 400 BadRequest. */
export function fieldMatcher(text: string | null): FieldMatcher | undefined {
  if (text === null || text === '') return undefined;
  try {
    return parseFieldSelector(text);
  } catch (err) {
    if (err instanceof SelectorParseError)
      throw badRequest(`field label not supported or invalid field selector: ${err.message}`);
    throw err;
  }
}
