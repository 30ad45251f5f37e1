/**
 * CustomResourceDefinition handling: validation and the established status of a created CRD, the
 * resources a CRD serves, and keeping the {@link ResourceRegistry} in step with the stored CRDs.
 *
 * CRDs are the one kind whose writes change what the server serves, and the only objects it
 * validates or defaults beyond what storage does for every object (names, resourceVersion,
 * generation); both happen here so the rest of the server treats a CRD as any other object.
 */
import type { KubeObject } from '@kubecache/cache';
import type { PrinterColumn, ResourceInfo, ResourceRegistry } from './resources.js';
import { CUSTOM_RESOURCE_VERBS, groupResourceKey } from './resources.js';
import { invalid } from './status.js';
import { nowTimestamp } from './storage.js';
import type { Storage, StoredObject } from './storage.js';

const CRD_GROUP = 'apiextensions.k8s.io';
const CRD_RESOURCE = 'customresourcedefinitions';
const CRD_KEY = groupResourceKey(CRD_GROUP, CRD_RESOURCE);

interface CrdNames {
  plural?: string;
  singular?: string;
  kind?: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}
interface CrdVersion {
  name?: string;
  served?: boolean;
  storage?: boolean;
  subresources?: {
    status?: unknown;
    scale?: { specReplicasPath?: string; statusReplicasPath?: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: PrinterColumn[];
}
interface CrdSpec {
  group?: string;
  names?: CrdNames;
  scope?: string;
  versions?: CrdVersion[];
}

function specOf(obj: KubeObject): CrdSpec {
  const spec = (obj as { spec?: unknown }).spec;
  return typeof spec === 'object' && spec !== null ? (spec as CrdSpec) : {};
}

/** Validates a CRD the way the real server does for the fields we rely on (422 otherwise). */
export function validateCrd(obj: KubeObject): void {
  const spec = specOf(obj);
  const name = obj.metadata?.name ?? '';
  const causes: { field: string; message: string; reason?: string }[] = [];
  if (typeof spec.group !== 'string' || spec.group === '')
    causes.push({ field: 'spec.group', message: 'Required value' });
  if (typeof spec.names?.plural !== 'string' || spec.names.plural === '') {
    causes.push({ field: 'spec.names.plural', message: 'Required value' });
  }
  if (typeof spec.names?.kind !== 'string' || spec.names.kind === '') {
    causes.push({ field: 'spec.names.kind', message: 'Required value' });
  }
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    causes.push({
      field: 'spec.scope',
      message: 'Unsupported value: must be Namespaced or Cluster',
      reason: 'FieldValueNotSupported',
    });
  }
  if (!Array.isArray(spec.versions) || spec.versions.length === 0) {
    causes.push({
      field: 'spec.versions',
      message: 'Invalid value: must have exactly one version marked as storage version',
      reason: 'FieldValueInvalid',
    });
  } else if (spec.versions.filter((v) => v.storage === true).length !== 1) {
    causes.push({
      field: 'spec.versions',
      message: 'Invalid value: must have exactly one version marked as storage version',
      reason: 'FieldValueInvalid',
    });
  }
  if (causes.length === 0 && name !== '' && name !== `${spec.names!.plural!}.${spec.group!}`) {
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group`,
      reason: 'FieldValueInvalid',
    });
  }
  if (causes.length > 0)
    throw invalid('apiextensions.k8s.io', 'CustomResourceDefinition', name, causes);
}

/** Sets the status a real server reports once a CRD is established. */
export function establishCrd(obj: KubeObject): void {
  const spec = specOf(obj);
  const now = nowTimestamp();
  const storage = spec.versions?.find((v) => v.storage === true)?.name;
  const names = spec.names ?? {};
  (obj as { status?: unknown }).status = {
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        lastTransitionTime: now,
        reason: 'NoConflicts',
        message: 'no conflicts found',
      },
      {
        type: 'Established',
        status: 'True',
        lastTransitionTime: now,
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
      },
    ],
    acceptedNames: {
      plural: names.plural,
      singular: names.singular ?? names.kind?.toLowerCase(),
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind ?? ''}List`,
      ...(names.shortNames !== undefined ? { shortNames: names.shortNames } : {}),
    },
    storedVersions: storage !== undefined ? [storage] : [],
  };
}

/** The resources (one per served version) a stored CRD defines. */
export function crdResources(obj: KubeObject): ResourceInfo[] {
  const spec = specOf(obj);
  const names = spec.names ?? {};
  const kind = names.kind ?? '';
  const storage = (spec.versions ?? []).find((v) => v.storage === true)?.name;
  return (spec.versions ?? [])
    .filter((v) => v.served !== false && typeof v.name === 'string')
    .map((v) => {
      const subresources: string[] = [];
      if (v.subresources?.status !== undefined) subresources.push('status');
      const scale = v.subresources?.scale;
      if (scale !== undefined && scale !== null) subresources.push('scale');
      return {
        group: spec.group ?? '',
        version: v.name!,
        resource: names.plural ?? '',
        singular: names.singular ?? kind.toLowerCase(),
        kind,
        listKind: names.listKind ?? `${kind}List`,
        namespaced: spec.scope !== 'Cluster',
        shortNames: names.shortNames ?? [],
        verbs: CUSTOM_RESOURCE_VERBS,
        custom: true,
        subresources,
        printerColumns: v.additionalPrinterColumns ?? [],
        categories: names.categories ?? [],
        storageVersion: { group: spec.group ?? '', version: storage ?? v.name!, kind },
        ...(scale !== undefined && scale !== null
          ? {
              scale: {
                specReplicasPath: scale.specReplicasPath ?? '.spec.replicas',
                statusReplicasPath: scale.statusReplicasPath ?? '.status.replicas',
                ...(scale.labelSelectorPath !== undefined
                  ? { labelSelectorPath: scale.labelSelectorPath }
                  : {}),
              },
            }
          : {}),
      };
    });
}

/**
 * Validation and defaulting of an object about to be created (over HTTP, by server-side apply or
 * in process): a CRD is validated (422) and given its established status; other kinds pass as is.
 */
export function prepareCreate(info: ResourceInfo, obj: KubeObject): void {
  if (info.resource === CRD_RESOURCE && info.group === CRD_GROUP) {
    validateCrd(obj);
    establishCrd(obj);
  }
}

/**
 * Serves the resources of every stored CRD: registers them when a CRD is written, unregisters
 * those of its previous version, and on delete drops the CRD's objects too.
 */
export function serveCustomResources(db: Storage, registry: ResourceRegistry): void {
  db.onEvent((ev) => {
    if (ev.resourceKey === CRD_KEY) crdChanged(db, registry, ev.type, ev.object, ev.prev);
  });
}

function crdChanged(
  db: Storage,
  registry: ResourceRegistry,
  type: string,
  obj: StoredObject,
  prev: StoredObject | undefined,
): void {
  if (prev !== undefined) {
    for (const info of crdResources(prev.obj)) registry.remove(info);
  }
  if (type === 'DELETED') {
    const infos = crdResources(obj.obj);
    if (infos[0] !== undefined) db.deleteAll(infos[0]);
    return;
  }
  const infos = crdResources(obj.obj);
  for (const info of infos) registry.add(info);
  if (infos[0] !== undefined) db.store(infos[0]).info = infos[0];
}
