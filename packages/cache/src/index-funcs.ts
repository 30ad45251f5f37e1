/**
 * Index functions: how an {@link Indexer} groups objects. An index function maps an object to
 * zero or more string values; the indexer keeps, per value, the set of objects that produced it.
 */
import type { KubeObject } from './types.js';

/**
 * Maps an object to the values it is indexed under. Return `[]` to leave the object out of the
 * index, several values to put it in several buckets (duplicates are harmless).
 *
 * Index functions must be pure and cheap: they run inside every write. The returned array is
 * kept by the indexer (to know which buckets to leave on the next update), so return a fresh
 * array, or one you never mutate afterwards.
 *
 * @example
 * ```ts
 * const byNode: IndexFunc<Pod> = (pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []);
 * ```
 */
export type IndexFunc<T> = (obj: T) => readonly string[];

/**
 * Named index functions.
 *
 * @example
 * ```ts
 * const indexers: Indexers<KubeObject> = { [NAMESPACE_INDEX]: namespaceIndexFunc };
 * ```
 */
export type Indexers<T> = Readonly<Record<string, IndexFunc<T>>>;

/**
 * What a built-in index function indexes, so that queries can use an index whatever name it was
 * registered under (see `Indexer.listBySelector`).
 *
 * @example
 * ```ts
 * describeIndexFunc(labelIndexFunc('app')); // { kind: 'label', labelKey: 'app' }
 * ```
 */
export type IndexFuncDescription =
  | { readonly kind: 'namespace' }
  | { readonly kind: 'label'; readonly labelKey: string }
  | { readonly kind: 'labels' }
  | { readonly kind: 'ownerUid' };

const descriptions = new WeakMap<object, IndexFuncDescription>();

/**
 * Says what a built-in index function indexes; `undefined` for user-defined functions.
 *
 * @example
 * ```ts
 * describeIndexFunc(namespaceIndexFunc); // { kind: 'namespace' }
 * ```
 */
export function describeIndexFunc(fn: unknown): IndexFuncDescription | undefined {
  return typeof fn === 'function' ? descriptions.get(fn) : undefined;
}

/**
 * Conventional name of the namespace index.
 *
 * @example
 * ```ts
 * const indexer = createIndexer({ indexers: { [NAMESPACE_INDEX]: namespaceIndexFunc } });
 * indexer.byIndex(NAMESPACE_INDEX, 'default');
 * ```
 */
export const NAMESPACE_INDEX = 'namespace';

/**
 * Indexes an object under its namespace; cluster-scoped objects are indexed under `''`, as in
 * client-go, so `byIndex(NAMESPACE_INDEX, '')` lists them.
 *
 * @example
 * ```ts
 * namespaceIndexFunc({ metadata: { namespace: 'default', name: 'a' } }); // ['default']
 * ```
 */
export function namespaceIndexFunc(obj: KubeObject): string[] {
  return [obj.metadata?.namespace ?? ''];
}
descriptions.set(namespaceIndexFunc, { kind: 'namespace' });

/**
 * Conventional name of the index over one label key, as built by {@link labelIndexFunc}.
 *
 * @example
 * ```ts
 * labelIndexName('app'); // 'label:app'
 * ```
 */
export function labelIndexName(labelKey: string): string {
  return 'label:' + labelKey;
}

const labelIndexFuncs = new Map<string, IndexFunc<KubeObject>>();

/**
 * An index over one label key: the value is the label's value; objects without the label are
 * not indexed. The same function object is returned for the same key. `listBySelector` uses
 * such an index for `key=value` and `key in (...)` requirements.
 *
 * @example
 * ```ts
 * const indexer = createIndexer({ indexers: { [labelIndexName('app')]: labelIndexFunc('app') } });
 * indexer.byIndex(labelIndexName('app'), 'web');
 * ```
 */
export function labelIndexFunc(labelKey: string): IndexFunc<KubeObject> {
  let fn = labelIndexFuncs.get(labelKey);
  if (fn === undefined) {
    fn = (obj: KubeObject): string[] => {
      const value = obj.metadata?.labels?.[labelKey];
      // typeof, not `!== undefined`: a key like `constructor` must not find Object.prototype's.
      return typeof value === 'string' ? [value] : [];
    };
    descriptions.set(fn, { kind: 'label', labelKey });
    labelIndexFuncs.set(labelKey, fn);
  }
  return fn;
}

/**
 * Conventional name of the index built by {@link labelsIndexFunc}.
 *
 * @example
 * ```ts
 * indexer.byIndex(LABELS_INDEX, 'app=web');
 * ```
 */
export const LABELS_INDEX = 'labels';

/**
 * Indexes an object under every one of its labels as `key=value` (multi-valued). One index then
 * answers equality queries on any label key.
 *
 * @example
 * ```ts
 * labelsIndexFunc({ metadata: { name: 'a', labels: { app: 'web', tier: 'fe' } } }); // ['app=web', 'tier=fe']
 * ```
 */
export function labelsIndexFunc(obj: KubeObject): string[] {
  const labels = obj.metadata?.labels;
  if (!labels) return [];
  const out: string[] = [];
  for (const key in labels) out.push(key + '=' + labels[key]);
  return out;
}
descriptions.set(labelsIndexFunc, { kind: 'labels' });

/**
 * Conventional name of the index built by {@link ownerUidIndexFunc}.
 *
 * @example
 * ```ts
 * const rs = factory.apps.v1.replicasets().lister().namespace('default').get('web-5d8f7');
 * indexer.byIndex(OWNER_UID_INDEX, rs.metadata?.uid ?? ''); // the ReplicaSet's pods
 * ```
 */
export const OWNER_UID_INDEX = 'ownerUid';

/**
 * Indexes an object under the UID of each of its owners (multi-valued); objects without owners
 * are not indexed. The usual way for a controller to find the children of a parent.
 *
 * @example
 * ```ts
 * ownerUidIndexFunc({ metadata: { name: 'rs', ownerReferences: [{ uid: 'u1', apiVersion: 'apps/v1', kind: 'Deployment', name: 'd' }] } }); // ['u1']
 * ```
 */
export function ownerUidIndexFunc(obj: KubeObject): string[] {
  const refs = obj.metadata?.ownerReferences;
  if (!refs || refs.length === 0) return [];
  const out: string[] = new Array(refs.length);
  for (let i = 0; i < refs.length; i++) out[i] = refs[i].uid;
  return out;
}
descriptions.set(ownerUidIndexFunc, { kind: 'ownerUid' });
