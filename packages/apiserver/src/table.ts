/**
 * Table output: the `meta.k8s.io/v1` Table that `kubectl get` asks for with
 * `Accept: application/json;as=Table`, with NAME, a CRD's additionalPrinterColumns and AGE.
 *
 * Separate because it is a second rendering of objects, used by GET, LIST and WATCH alike (a
 * watch from `kubectl get -w` sends a one-row Table per event), with its own small JSONPath and
 * kubectl's age format.
 */
import type { ResourceInfo } from './resources.js';
import type { StoredObject } from './storage.js';
import { metadataJson } from './watch.js';

/** kubectl's short age: `45s`, `3m`, `5h`, `2d`. */
function age(timestamp: string | undefined): string {
  if (timestamp === undefined) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** The value at a printer column's simple JSONPath (`.spec.version`), or undefined. */
function jsonPathValue(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (part === '') continue;
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A meta.k8s.io/v1 Table (what kubectl get asks for) with NAME, AGE and CRD printer columns. */
export function tableJson(
  items: readonly StoredObject[],
  info: ResourceInfo,
  listMeta: string | undefined,
  columns: boolean,
): string {
  const printer = info.printerColumns ?? [];
  const defs = [
    {
      name: 'Name',
      type: 'string',
      format: 'name',
      description: 'Name must be unique within a namespace.',
      priority: 0,
    },
    ...printer
      .filter((c) => c.name.toLowerCase() !== 'age')
      .map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description ?? '',
        priority: c.priority ?? 0,
      })),
    { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp', priority: 0 },
  ];
  const rows = items.map((item) => {
    const cells: unknown[] = [item.name];
    for (const c of printer) {
      if (c.name.toLowerCase() === 'age') continue;
      const value = jsonPathValue(item.obj, c.jsonPath);
      cells.push(value === undefined ? null : value);
    }
    cells.push(age(item.obj.metadata?.creationTimestamp));
    return `{"cells":${JSON.stringify(cells)},"object":${metadataJson(item)}}`;
  });
  return `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":${listMeta ?? '{}'}${columns ? `,"columnDefinitions":${JSON.stringify(defs)}` : ''},"rows":[${rows.join(',')}]}`;
}
