/**
 * The resource table: which group/version/resource the server serves, its kind, scope, verbs and
 * short names. Built-ins are fixed; CustomResourceDefinitions add entries at runtime.
 */

/** One served resource (one group/version/resource).
 *
 * @example
 * ```ts
 * const deployments = BUILTIN_RESOURCES.find((r) => r.group === 'apps' && r.resource === 'deployments');
 * ```
 */
export interface ResourceInfo {
  /** API group; `''` for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural resource name as in URLs, e.g. `configmaps`. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly verbs: readonly string[];
  /** True for resources defined by a CustomResourceDefinition (served as unstructured JSON). */
  readonly custom: boolean;
  /**
   * Subresources listed in discovery and routed (`status`, `scale`, `log`…); what each one is
   * and how it is served is in `subresources.ts`.
   */
  readonly subresources: readonly string[];
  /**
   * Where a custom resource's `scale` subresource reads and writes (its CRD's
   * `subresources.scale`): dotted paths such as `.spec.replicas`.
   */
  readonly scale?: {
    readonly specReplicasPath: string;
    readonly statusReplicasPath: string;
    readonly labelSelectorPath?: string;
  };
  /** Discovery categories (`all` makes `kubectl get all` list the resource). */
  readonly categories?: readonly string[];
  /**
   * The group/version/kind objects are stored as, whose hash discovery reports as
   * `storageVersionHash`; default: the resource's own.
   */
  readonly storageVersion?: {
    readonly group: string;
    readonly version: string;
    readonly kind: string;
  };
  /** The CRD's additionalPrinterColumns, used for kubectl's Table output. */
  readonly printerColumns?: readonly PrinterColumn[];
}

/** A CRD additionalPrinterColumn.
 *
 * @example
 * ```ts
 * const column: PrinterColumn = { name: 'App', type: 'string', jsonPath: '.spec.appName' };
 * ```
 */
export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
  readonly format?: string;
}

/** The verbs every served resource supports. */
export const ALL_VERBS: readonly string[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

/** The verbs of a custom resource, in the order the real CRD handler lists them. */
export const CUSTOM_RESOURCE_VERBS: readonly string[] = [
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'create',
  'update',
  'watch',
];

/** `apiVersion` of a resource: `v1` for the core group, `group/version` otherwise. */
export function apiVersionOf(info: { group: string; version: string }): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** The storage key of a group/resource (versions share storage). */
export function groupResourceKey(group: string, resource: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

/** What a real v1.23 server's discovery says of a built-in resource besides its names. */
interface BuiltinExtras {
  readonly categories?: readonly string[];
  readonly storageVersion?: ResourceInfo['storageVersion'];
  readonly verbs?: readonly string[];
}

function builtin(
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  shortNames: readonly string[] = [],
  subresources: readonly string[] = [],
  extras: BuiltinExtras = {},
): ResourceInfo {
  return {
    ...extras,
    group,
    version,
    resource,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    shortNames,
    // Namespaces are deleted one by one (their registry has no deletecollection).
    verbs:
      extras.verbs ??
      (group === '' && resource === 'namespaces'
        ? ALL_VERBS.filter((v) => v !== 'deletecollection')
        : ALL_VERBS),
    custom: false,
    subresources,
  };
}

/** The `all` category: what `kubectl get all` lists. */
const ALL: BuiltinExtras = { categories: ['all'] };

const POD_SUBRESOURCES: readonly string[] = [
  'attach',
  'binding',
  'ephemeralcontainers',
  'eviction',
  'exec',
  'log',
  'portforward',
  'proxy',
  'status',
];

/** The built-in resources served out of the box.
 *
 * @example
 * ```ts
 * const namespaced = BUILTIN_RESOURCES.filter((r) => r.namespaced).map((r) => r.resource);
 * ```
 */
export const BUILTIN_RESOURCES: readonly ResourceInfo[] = [
  // Subresources and categories as a real v1.23 server lists them (see `subresources.ts`).
  builtin('', 'v1', 'bindings', 'Binding', true, [], [], { verbs: ['create'] }),
  builtin('', 'v1', 'namespaces', 'Namespace', false, ['ns'], ['finalize', 'status']),
  builtin('', 'v1', 'configmaps', 'ConfigMap', true, ['cm']),
  builtin('', 'v1', 'secrets', 'Secret', true),
  builtin('', 'v1', 'pods', 'Pod', true, ['po'], POD_SUBRESOURCES, ALL),
  builtin('', 'v1', 'services', 'Service', true, ['svc'], ['proxy', 'status'], ALL),
  builtin('', 'v1', 'events', 'Event', true, ['ev']),
  builtin('', 'v1', 'serviceaccounts', 'ServiceAccount', true, ['sa'], ['token']),
  builtin('', 'v1', 'nodes', 'Node', false, ['no'], ['proxy', 'status']),
  builtin('apps', 'v1', 'deployments', 'Deployment', true, ['deploy'], ['scale', 'status'], ALL),
  builtin('apps', 'v1', 'replicasets', 'ReplicaSet', true, ['rs'], ['scale', 'status'], ALL),
  builtin('apps', 'v1', 'statefulsets', 'StatefulSet', true, ['sts'], ['scale', 'status'], ALL),
  builtin('apps', 'v1', 'daemonsets', 'DaemonSet', true, ['ds'], ['status'], ALL),
  builtin('batch', 'v1', 'jobs', 'Job', true, [], ['status'], ALL),
  builtin('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  // events.k8s.io Events are stored as core v1 Events (one storage, two APIs).
  builtin('events.k8s.io', 'v1', 'events', 'Event', true, ['ev'], [], {
    storageVersion: { group: '', version: 'v1', kind: 'Event' },
  }),
  // v1.23 still stores CRDs as v1beta1.
  builtin(
    'apiextensions.k8s.io',
    'v1',
    'customresourcedefinitions',
    'CustomResourceDefinition',
    false,
    ['crd', 'crds'],
    ['status'],
    {
      categories: ['api-extensions'],
      storageVersion: {
        group: 'apiextensions.k8s.io',
        version: 'v1beta1',
        kind: 'CustomResourceDefinition',
      },
    },
  ),
];

/**
 * The mutable registry of served resources, indexed by group/version/resource and by
 * group/version/kind.
 */
export class ResourceRegistry {
  readonly #byPath = new Map<string, ResourceInfo>();
  readonly #byKind = new Map<string, ResourceInfo>();

  constructor(initial: readonly ResourceInfo[] = BUILTIN_RESOURCES) {
    for (const info of initial) this.add(info);
  }

  add(info: ResourceInfo): void {
    this.#byPath.set(`${info.group}/${info.version}/${info.resource}`, info);
    this.#byKind.set(`${apiVersionOf(info)}/${info.kind}`, info);
  }

  remove(info: ResourceInfo): void {
    this.#byPath.delete(`${info.group}/${info.version}/${info.resource}`);
    this.#byKind.delete(`${apiVersionOf(info)}/${info.kind}`);
  }

  get(group: string, version: string, resource: string): ResourceInfo | undefined {
    return this.#byPath.get(`${group}/${version}/${resource}`);
  }

  byKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    return this.#byKind.get(`${apiVersion}/${kind}`);
  }

  all(): ResourceInfo[] {
    return [...this.#byPath.values()];
  }

  /** Group names with their versions, in registration order (core group excluded). */
  groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const info of this.#byPath.values()) {
      if (info.group === '') continue;
      const versions = groups.get(info.group) ?? [];
      if (!versions.includes(info.version)) versions.push(info.version);
      groups.set(info.group, versions);
    }
    return groups;
  }

  hasGroupVersion(group: string, version: string): boolean {
    for (const info of this.#byPath.values()) {
      if (info.group === group && info.version === version) return true;
    }
    return false;
  }

  forGroupVersion(group: string, version: string): ResourceInfo[] {
    return this.all().filter((i) => i.group === group && i.version === version);
  }
}
