/**
 * Table output: the `meta.k8s.io/v1` Table that `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, for GET, LIST and WATCH alike.
 *
 * What the real server sends, and so this module:
 * - columns: a built-in kind's own (`table-columns.ts`, cells from `printers.ts`), always with the
 *   wide (priority 1) ones, which kubectl hides unless `-o wide`; a custom resource's
 *   `additionalPrinterColumns` after Name (or one `Age` column of type `date` when it has none);
 * - `includeObject`: `Metadata` (the default) puts each row's PartialObjectMetadata in
 *   `row.object`, `Object` the whole object, `None` null; anything else is a 400;
 * - `metadata`: a list's metadata (resourceVersion, continue…), or one object's resourceVersion;
 * - watch: each event's object is a one-row Table at the object's resourceVersion, and only the
 *   first carries `columnDefinitions` (later ones have `null`); bookmarks become a row printed from
 *   their empty object, and ERROR events stay Status objects.
 *
 * Separate because it is a second rendering of objects, built whole rather than from the cached
 * bytes the other representations use.
 */
import type { KubeObject } from '@kubecache/cache';
import { objectJson } from './encoding.js';
import { printerFor, since } from './printers.js';
import type { Cell, PrintContext, PrintedRow } from './printers.js';
import { apiVersionOf, groupResourceKey } from './resources.js';
import type { PrinterColumn, ResourceInfo } from './resources.js';
import { badRequest } from './status.js';
import type { StoredObject } from './storage.js';
import {
  BUILTIN_COLUMNS,
  CREATION_TIMESTAMP_DESCRIPTION,
  NAME_DESCRIPTION,
} from './table-columns.js';
import type { TableColumn } from './table-columns.js';
import { metadataJson } from './watch.js';

/** What each row's `object` holds (the `includeObject` query parameter). */
export type IncludeObject = 'Metadata' | 'Object' | 'None';

/** The `includeObject` of a Table request; the real server's 400 for an unknown value. */
export function includeObjectParam(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject') ?? '';
  if (value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'Object' || value === 'None') return value;
  throw badRequest(
    `Unable to convert to Table as requested: includeObject: Invalid value: ${JSON.stringify(value)}: must be 'Metadata', 'Object', 'None', or empty`,
  );
}

const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: NAME_DESCRIPTION,
  priority: 0,
};

/** A CRD version without printer columns gets this one (apiextensions' default). */
const DEFAULT_CUSTOM_COLUMNS: readonly PrinterColumn[] = [
  {
    name: 'Age',
    type: 'date',
    description: CREATION_TIMESTAMP_DESCRIPTION,
    jsonPath: '.metadata.creationTimestamp',
  },
];

/** A resource's columns and how to print one object's row. */
interface TableShape {
  readonly columns: readonly TableColumn[];
  row(obj: KubeObject, ctx: PrintContext): PrintedRow;
}

function customColumns(info: ResourceInfo): readonly PrinterColumn[] {
  const columns = info.printerColumns ?? [];
  return columns.length > 0 ? columns : DEFAULT_CUSTOM_COLUMNS;
}

/** The columns and printer of a resource: built-in, custom, or the default Name/Created At. */
function shapeOf(info: ResourceInfo): TableShape {
  if (info.custom) {
    const columns = customColumns(info);
    return {
      columns: [
        NAME_COLUMN,
        ...columns.map((c) => ({
          name: c.name,
          type: c.type,
          format: c.format ?? '',
          description:
            c.description !== undefined && c.description !== ''
              ? c.description
              : `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
          priority: c.priority ?? 0,
        })),
      ],
      row: (obj, ctx) => ({
        cells: [
          obj.metadata?.name ?? '',
          ...columns.map((c) => customCell(c.type, jsonPathValue(obj, c.jsonPath), ctx)),
        ],
      }),
    };
  }
  const key = groupResourceKey(info.group, info.resource);
  const printer = printerFor(key);
  const columns = BUILTIN_COLUMNS[key];
  if (printer !== undefined && columns !== undefined) {
    return { columns, row: (obj, ctx) => printer(obj as Record<string, unknown>, ctx) };
  }
  // A resource without a printer: the default convertor's Name and Created At.
  return {
    columns: [
      NAME_COLUMN,
      {
        name: 'Created At',
        type: 'date',
        format: '',
        description: CREATION_TIMESTAMP_DESCRIPTION,
        priority: 0,
      },
    ],
    row: (obj) => ({
      cells: [obj.metadata?.name ?? '', obj.metadata?.creationTimestamp ?? '0001-01-01T00:00:00Z'],
    }),
  };
}

/**
 * The value at a printer column's JSONPath: dotted fields with optional `[n]` indexes
 * (`.spec.version`, `.status.conditions[0].type`); undefined when missing. Filters and
 * wildcards are not supported (the cell is then empty).
 */
function jsonPathValue(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  const parts = path.replace(/^\{?\.?/, '').replace(/\}$/, '');
  for (const part of parts.split('.')) {
    if (part === '') continue;
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (m === null) return undefined;
    if (m[1] !== '') {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
      cur = (cur as Record<string, unknown>)[m[1]!];
    }
    for (const index of m[2]!.matchAll(/\[(\d+)\]/g)) {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[Number(index[1])];
    }
  }
  return cur;
}

/** A JSON value with object keys sorted, as Go's encoding/json writes a map. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A string column's text, as client-go's JSONPath printer writes it: strings as they are, lists
 * and maps as JSON, other values as Go's `fmt.Sprint` (`3`, `1.5`, `true`).
 */
function columnText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return sortedJson(value);
  return String(value);
}

/** A custom resource's cell, by its column's type (the apiextensions table convertor's rules). */
function customCell(type: string, value: unknown, ctx: PrintContext): Cell {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'string':
      return columnText(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      if (typeof value !== 'string') return null;
      return Number.isNaN(Date.parse(value)) ? '<invalid>' : since(value, ctx);
    default:
      return null;
  }
}

/** One row's JSON: cells, conditions (when any) and the object as `includeObject` asks. */
function rowJson(row: PrintedRow, objectJsonText: string | null): string {
  const conditions =
    row.conditions !== undefined ? `,"conditions":${JSON.stringify(row.conditions)}` : '';
  return `{"cells":${JSON.stringify(row.cells)}${conditions},"object":${objectJsonText ?? 'null'}}`;
}

function rowObjectJson(
  item: StoredObject,
  info: ResourceInfo,
  include: IncludeObject,
): string | null {
  if (include === 'None') return null;
  return include === 'Object' ? objectJson(item, info) : metadataJson(item);
}

function tableText(
  metadata: string,
  columns: readonly TableColumn[] | null,
  rows: string[],
): string {
  return `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":${metadata},"columnDefinitions":${JSON.stringify(columns)},"rows":[${rows.join(',')}]}`;
}

function context(defaults = true): PrintContext {
  return { now: Date.now(), defaults };
}

/** A Table of a LIST's items, with the list's metadata (resourceVersion, continue…). */
export function listTableJson(
  items: readonly StoredObject[],
  info: ResourceInfo,
  listMeta: string,
  include: IncludeObject,
): string {
  const shape = shapeOf(info);
  const ctx = context();
  const rows = items.map((item) =>
    rowJson(shape.row(item.obj, ctx), rowObjectJson(item, info, include)),
  );
  return tableText(listMeta, shape.columns, rows);
}

/** A one-row Table of one object (a GET), at the object's resourceVersion. */
export function objectTableJson(
  item: StoredObject,
  info: ResourceInfo,
  include: IncludeObject,
  headers = true,
): string {
  const shape = shapeOf(info);
  const row = rowJson(shape.row(item.obj, context()), rowObjectJson(item, info, include));
  const rv = item.obj.metadata?.resourceVersion;
  const meta = rv !== undefined ? `{"resourceVersion":${JSON.stringify(rv)}}` : '{}';
  return tableText(meta, headers ? shape.columns : null, [row]);
}

/**
 * The Tables of one watch: each event's object as a one-row Table, the column definitions only in
 * the first one (as the real server, which prints headers once per watch).
 */
export class WatchTables {
  readonly #info: ResourceInfo;
  readonly #include: IncludeObject;
  #headers = true;

  constructor(info: ResourceInfo, include: IncludeObject) {
    this.#info = info;
    this.#include = include;
  }

  #takeHeaders(): boolean {
    const headers = this.#headers;
    this.#headers = false;
    return headers;
  }

  /** An event's object. */
  object(item: StoredObject): string {
    return objectTableJson(item, this.#info, this.#include, this.#takeHeaders());
  }

  /**
   * A BOOKMARK's object: the real server prints the bookmark's empty object (only its
   * resourceVersion and annotations) as a row of zero values.
   */
  bookmark(metadata: Record<string, unknown>): string {
    const info = this.#info;
    const shape = shapeOf(info);
    const obj = { kind: info.kind, apiVersion: apiVersionOf(info), metadata };
    const row = shape.row(obj, context(false));
    const objectText =
      this.#include === 'None'
        ? null
        : this.#include === 'Object'
          ? JSON.stringify(obj)
          : JSON.stringify({
              kind: 'PartialObjectMetadata',
              apiVersion: 'meta.k8s.io/v1',
              metadata,
            });
    const rv = typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '';
    return tableText(
      `{"resourceVersion":${JSON.stringify(rv)}}`,
      this.#takeHeaders() ? shape.columns : null,
      [rowJson(row, objectText)],
    );
  }
}
