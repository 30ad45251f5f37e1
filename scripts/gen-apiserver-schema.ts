/**
 * Generates `packages/apiserver/src/schema-table.ts`, the list and map semantics of the built-in
 * kinds the embedded API server serves, from a real kube-apiserver's `/openapi/v2` document.
 *
 * Only what server-side apply and strategic merge patch need is kept: for every type reachable
 * from the served kinds, its object-, list- and map-valued fields with the type they hold, the
 * list type (`atomic`, `set`, `map` and its keys, as the structured-merge-diff schema conversion
 * derives them from `x-kubernetes-list-type` or else the patch strategy), the strategic merge
 * patch strategy and merge key, and atomic maps and structs (`x-kubernetes-map-type`). Scalar
 * fields are left out: a field absent from the table is a scalar (or, when its value is an object
 * or a list, handled like a custom resource's untyped field).
 *
 *   node scripts/gen-apiserver-schema.ts openapi-v2.json
 *   npx prettier --write packages/apiserver/src/schema-table.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Prop {
  readonly type?: string;
  readonly $ref?: string;
  readonly items?: Prop;
  readonly additionalProperties?: Prop;
  readonly [ext: `x-${string}`]: unknown;
}
interface Definition extends Prop {
  readonly properties?: Readonly<Record<string, Prop>>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOTS = [
  'io.k8s.api.core.v1.Namespace',
  'io.k8s.api.core.v1.ConfigMap',
  'io.k8s.api.core.v1.Secret',
  'io.k8s.api.core.v1.Pod',
  'io.k8s.api.core.v1.Service',
  'io.k8s.api.core.v1.Event',
  'io.k8s.api.core.v1.ServiceAccount',
  'io.k8s.api.core.v1.Node',
  'io.k8s.api.apps.v1.Deployment',
  'io.k8s.api.apps.v1.ReplicaSet',
  'io.k8s.api.apps.v1.StatefulSet',
  'io.k8s.api.apps.v1.DaemonSet',
  'io.k8s.api.coordination.v1.Lease',
  'io.k8s.api.events.v1.Event',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
];

const file = process.argv[2];
if (file === undefined) throw new Error('usage: gen-apiserver-schema.ts openapi-v2.json');
const defs = (JSON.parse(readFileSync(file, 'utf8')) as { definitions: Record<string, Definition> })
  .definitions;

const short = (ref: string): string =>
  ref
    .replace('#/definitions/', '')
    .replace(/^io\.k8s\.api\./, '')
    .replace(/^io\.k8s\.apimachinery\.pkg\.apis\./, '')
    .replace(/^io\.k8s\.apiextensions-apiserver\.pkg\.apis\./, '');

/** A definition with properties is a struct; others (Time, Quantity, IntOrString) are scalars. */
function structRef(prop: Prop | undefined): string | undefined {
  const ref = prop?.$ref;
  if (ref === undefined) return undefined;
  const def = defs[ref.replace('#/definitions/', '')];
  return def?.properties !== undefined ? ref.replace('#/definitions/', '') : undefined;
}

const out: Record<string, { atomic?: true; fields: Record<string, Record<string, unknown>> }> = {};
const queue = [...ROOTS];
while (queue.length > 0) {
  const name = queue.shift()!;
  if (Object.hasOwn(out, short(name))) continue;
  const def = defs[name];
  if (def === undefined) throw new Error(`no definition ${name}`);
  const fields: Record<string, Record<string, unknown>> = {};
  for (const [field, prop] of Object.entries(def.properties ?? {})) {
    if (field === 'managedFields') continue;
    const spec: Record<string, unknown> = {};
    let elem: string | undefined;
    if (prop.type === 'array') {
      elem = structRef(prop.items);
      const listType = prop['x-kubernetes-list-type'] as string | undefined;
      const strategy = prop['x-kubernetes-patch-strategy'] as string | undefined;
      const mergeKey = prop['x-kubernetes-patch-merge-key'] as string | undefined;
      if (listType === 'map') {
        spec['list'] = 'map';
        spec['keys'] = prop['x-kubernetes-list-map-keys'];
      } else if (listType !== undefined) {
        spec['list'] = listType;
      } else if (strategy?.split(',').includes('merge') === true) {
        if (mergeKey !== undefined) {
          spec['list'] = 'map';
          spec['keys'] = [mergeKey];
        } else spec['list'] = 'set';
      } else spec['list'] = 'atomic';
      if (strategy !== undefined) spec['patch'] = strategy;
      if (mergeKey !== undefined) spec['mergeKey'] = mergeKey;
    } else if (prop.type === 'object' && prop.additionalProperties !== undefined) {
      spec['map'] = true;
      elem = structRef(prop.additionalProperties);
      if (prop['x-kubernetes-map-type'] === 'atomic') spec['atomic'] = true;
      const strategy = prop['x-kubernetes-patch-strategy'] as string | undefined;
      if (strategy !== undefined) spec['patch'] = strategy;
    } else {
      elem = structRef(prop);
      if (elem === undefined) continue;
      const strategy = prop['x-kubernetes-patch-strategy'] as string | undefined;
      if (strategy !== undefined) spec['patch'] = strategy;
    }
    if (elem !== undefined) {
      spec['type'] = short(elem);
      queue.push(elem);
    }
    fields[field] = spec;
  }
  out[short(name)] = {
    ...(def['x-kubernetes-map-type'] === 'atomic' ? { atomic: true as const } : {}),
    fields,
  };
}

const roots = Object.fromEntries(
  ROOTS.map((r) => {
    const gvk = (
      defs[r]!['x-kubernetes-group-version-kind'] as {
        group: string;
        version: string;
        kind: string;
      }[]
    )[0]!;
    return [`${gvk.group === '' ? '' : `${gvk.group}/`}${gvk.version}/${gvk.kind}`, short(r)];
  }),
);

writeFileSync(
  resolve(ROOT, 'packages/apiserver/src/schema-table.ts'),
  `/**
 * Generated by scripts/gen-apiserver-schema.ts from a kube-apiserver v1.23 \`/openapi/v2\`: do not
 * edit. The object-, list- and map-valued fields of the served built-in kinds (see \`schema.ts\`).
 */
import type { TypeTable } from './schema.js';

/** The root type of each built-in kind, by \`apiVersion/kind\`. */
export const KIND_ROOTS: Readonly<Record<string, string>> = ${JSON.stringify(roots)};

/** The types, by short definition name. */
export const TYPES: TypeTable = ${JSON.stringify(out)};
`,
);
console.log(`${Object.keys(out).length} types`);
