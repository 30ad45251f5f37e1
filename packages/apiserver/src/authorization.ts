/**
 * Authorization a test can configure: who a request acts as, what it asks to do (the real
 * server's request attributes: verb, API group, resource, subresource, namespace, name) and
 * whether a rule allows it; a denied request is 403 with the real Status.
 *
 * Rules are a flat form of RBAC (role plus binding in one): subjects (users, groups) × verbs ×
 * API groups × resources × namespaces × resource names, each with `*`. With no rules set every
 * request is allowed (the default); members of `system:masters` are always allowed, as on a real
 * cluster. Paths that name no resource (discovery, `/version`, health, OpenAPI) are always
 * allowed, as the default `system:discovery` and `system:public-info-viewer` roles allow them.
 */
import type { ApiStatusError } from '@kubecache/cache';
import { boolParam } from './query.js';
import { qualified, statusError } from './status.js';

/** Who a request acts as. */
export interface UserInfo {
  readonly user: string;
  readonly groups: readonly string[];
}

/**
 * One allow rule. Omitted lists match anything, except that a rule needs `verbs` and `resources`.
 *
 * @example
 * ```ts
 * const rules: AuthorizationRule[] = [
 *   { users: ['alice'], verbs: ['get', 'list', 'watch'], resources: ['pods', 'pods/log'], namespaces: ['default'] },
 *   { groups: ['dev'], verbs: ['*'], apiGroups: ['apps'], resources: ['deployments'] },
 * ];
 * server.auth.setRules(rules);
 * ```
 */
export interface AuthorizationRule {
  /** User names (`*`: any); with `groups` too, either matches. Both omitted: everyone. */
  readonly users?: readonly string[];
  readonly groups?: readonly string[];
  /** get, list, watch, create, update, patch, delete, deletecollection, impersonate, or `*`. */
  readonly verbs: readonly string[];
  /** API groups (`''` is the core group); omitted or `*`: any. */
  readonly apiGroups?: readonly string[];
  /** Resources: `pods`, `pods/status` (a subresource), `*` (any), or a star-slash subresource. */
  readonly resources: readonly string[];
  /** Namespaces the rule applies in; omitted: every namespace and the cluster scope. */
  readonly namespaces?: readonly string[];
  /** Object names; omitted: any (a rule with names never matches a request without one). */
  readonly resourceNames?: readonly string[];
}

/** What a resource request asks to do, as the real server's RequestInfo derives it. */
export interface RequestAttributes {
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
}

/** Namespace subresources: `/namespaces/{name}/status` is the namespace's, not a resource in it. */
const NAMESPACE_SUBRESOURCES: readonly string[] = ['status', 'finalize'];

const VERB_OF_METHOD: Readonly<Record<string, string>> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** The `metadata.name=<x>` a field selector requires, if that is all it pins down to one name. */
function selectedName(fieldSelector: string | null): string {
  if (fieldSelector === null) return '';
  for (const term of fieldSelector.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*([^,\s]+)\s*$/.exec(term);
    if (m !== null) return m[1]!;
  }
  return '';
}

/**
 * The attributes of a resource request from its path segments (decoded), method and query;
 * undefined for paths that name no resource. Mirrors `RequestInfoFactory`: `watch/` paths and
 * `?watch` make a watch, a GET without a name a list, a DELETE without one a deletecollection,
 * and a list or watch of `metadata.name=x` names `x`.
 */
export function requestAttributes(
  method: string,
  parts: readonly string[],
  query: URLSearchParams,
): RequestAttributes | undefined {
  let apiGroup: string;
  let rest: readonly string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    apiGroup = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    apiGroup = parts[1]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let verb = VERB_OF_METHOD[method] ?? method.toLowerCase();
  if (rest[0] === 'watch') {
    verb = 'watch';
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]!;
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.includes(rest[2]!)) rest = rest.slice(2);
  }
  if (rest.length === 0) return undefined;
  let name = rest[1] ?? '';
  if (name === '' && verb === 'get') verb = 'list';
  if (name === '' && verb === 'delete') verb = 'deletecollection';
  if (verb === 'list' && boolParam(query, 'watch')) verb = 'watch';
  if (name === '' && (verb === 'list' || verb === 'watch'))
    name = selectedName(query.get('fieldSelector'));
  return { verb, apiGroup, resource: rest[0]!, subresource: rest[2] ?? '', namespace, name };
}

function matches(list: readonly string[] | undefined, value: string): boolean {
  return list === undefined || list.includes('*') || list.includes(value);
}

function subjectMatches(rule: AuthorizationRule, user: UserInfo): boolean {
  if (rule.users === undefined && rule.groups === undefined) return true;
  if (rule.users !== undefined && (rule.users.includes('*') || rule.users.includes(user.user)))
    return true;
  return (
    rule.groups !== undefined &&
    (rule.groups.includes('*') || user.groups.some((g) => rule.groups!.includes(g)))
  );
}

function resourceMatches(rule: AuthorizationRule, attrs: RequestAttributes): boolean {
  const combined =
    attrs.subresource === '' ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  return rule.resources.some(
    (r) =>
      r === '*' || r === combined || (attrs.subresource !== '' && r === `*/${attrs.subresource}`),
  );
}

function ruleAllows(rule: AuthorizationRule, user: UserInfo, attrs: RequestAttributes): boolean {
  if (!subjectMatches(rule, user)) return false;
  if (!rule.verbs.includes('*') && !rule.verbs.includes(attrs.verb)) return false;
  if (!matches(rule.apiGroups, attrs.apiGroup)) return false;
  if (!resourceMatches(rule, attrs)) return false;
  if (rule.namespaces !== undefined) {
    if (attrs.namespace === '') return false;
    if (!matches(rule.namespaces, attrs.namespace)) return false;
  }
  if (rule.resourceNames !== undefined && !rule.resourceNames.includes(attrs.name)) return false;
  return true;
}

/** The group whose members may do anything, as on a real cluster. */
export const MASTERS_GROUP = 'system:masters';

/**
 * The rules in force, changeable at run time (`server.auth.setRules`), so a test can deny a
 * resource, watch a client fail, then allow it.
 */
export class Authorizer {
  #rules: readonly AuthorizationRule[] | undefined;

  constructor(rules?: readonly AuthorizationRule[]) {
    this.#rules = rules;
  }

  /** The rules in force; undefined when every request is allowed. */
  get rules(): readonly AuthorizationRule[] | undefined {
    return this.#rules;
  }

  /** Replaces the rules; `undefined` allows every request again (the default). */
  setRules(rules: readonly AuthorizationRule[] | undefined): void {
    this.#rules = rules === undefined ? undefined : [...rules];
  }

  /** Adds one rule (turning authorization on if it was off, with just this rule). */
  addRule(rule: AuthorizationRule): void {
    this.#rules = [...(this.#rules ?? []), rule];
  }

  /** Whether `user` may do what `attrs` ask. */
  allows(user: UserInfo, attrs: RequestAttributes): boolean {
    if (this.#rules === undefined || user.groups.includes(MASTERS_GROUP)) return true;
    return this.#rules.some((rule) => ruleAllows(rule, user, attrs));
  }
}

/**
 * 403 for a denied request, worded as the real server's `forbiddenMessage` and `NewForbidden`:
 * `pods "web" is forbidden: User "alice" cannot get resource "pods" in API group "" in the
 * namespace "default"` (`at the cluster scope` without a namespace).
 */
export function forbidden(user: UserInfo, attrs: RequestAttributes): ApiStatusError {
  const resource =
    attrs.subresource === '' ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  const scope =
    attrs.namespace === '' ? 'at the cluster scope' : `in the namespace "${attrs.namespace}"`;
  const reason = `User "${user.user}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}" ${scope}`;
  const what = qualified(attrs.apiGroup, attrs.resource);
  const subject = attrs.name === '' ? what : `${what} "${attrs.name}"`;
  return statusError(403, 'Forbidden', `${subject} is forbidden: ${reason}`, {
    ...(attrs.name === '' ? {} : { name: attrs.name }),
    ...(attrs.apiGroup === '' ? {} : { group: attrs.apiGroup }),
    kind: attrs.resource,
  });
}
