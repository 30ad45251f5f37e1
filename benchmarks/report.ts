// Turns results into the markdown table (with ratios and target checks) and an SVG bar chart.
import { loadavg } from 'node:os';
import type { MachineInfo, Result } from './measure.ts';

type Impl = Result['impl'];

/** One table row: a scenario's metric across implementations. */
export interface Row {
  scenario: string;
  metric: string;
  unit: string;
  values: Partial<Record<Impl, number>>;
  /** True when smaller values are better (times, bytes). */
  lowerIsBetter: boolean;
}

/** A target of issue 6, checked on one row. */
export interface TargetCheck {
  scenario: string;
  text: string;
  met: boolean | undefined;
}

/**
 * Groups results into rows, keeping first-seen order.
 *
 * @example
 * ```ts
 * const rows = toRows(results);
 * ```
 */
export function toRows(results: readonly Result[]): Row[] {
  const rows = new Map<string, Row>();
  for (const r of results) {
    const key = `${r.scenario}\u0000${r.metric}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        scenario: r.scenario,
        metric: r.metric,
        unit: r.unit,
        values: {},
        lowerIsBetter:
          r.unit === 'ms' || r.unit === 'bytes' || r.unit === 'MiB' || r.unit === 'ratio',
      };
      rows.set(key, row);
    }
    row.values[r.impl] = r.value;
  }
  return [...rows.values()];
}

function ratio(row: Row, other: Impl): number | undefined {
  const kc = row.values.kubecache;
  const o = row.values[other];
  return kc !== undefined && o !== undefined && o > 0 ? kc / o : undefined;
}

/**
 * Checks the performance targets against the rows of one run.
 *
 * @example
 * ```ts
 * for (const t of checkTargets(toRows(results))) console.log(t.text, t.met);
 * ```
 */
export function checkTargets(rows: readonly Row[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const find = (re: RegExp, metric?: string) =>
    rows.filter((r) => re.test(r.scenario) && (metric === undefined || r.metric === metric));
  const cmp = (v: number | undefined, op: '<=' | '>=', bound: number | undefined) =>
    v === undefined || bound === undefined ? undefined : op === '<=' ? v <= bound : v >= bound;
  const both = (a: boolean | undefined, b: boolean | undefined) =>
    a === undefined || b === undefined ? undefined : a && b;
  for (const row of find(/^1 sync: 100k/)) {
    checks.push({
      scenario: row.scenario,
      text: '<= 1.1x floor and <= 0.75x client-node',
      met: both(cmp(ratio(row, 'floor'), '<=', 1.1), cmp(ratio(row, 'client-node'), '<=', 0.75)),
    });
  }
  for (const row of find(/^2 watch: .*, 1 handler$/)) {
    checks.push({
      scenario: row.scenario,
      text: '>= 1.0x floor and >= 1.2x client-node',
      met: both(cmp(ratio(row, 'floor'), '>=', 1), cmp(ratio(row, 'client-node'), '>=', 1.2)),
    });
  }
  for (const row of find(/^2 watch: .*, 100 handlers$/)) {
    checks.push({
      scenario: row.scenario,
      text: ">= client-node's rate (fan-out end to end)",
      met: cmp(ratio(row, 'client-node'), '>=', 1),
    });
  }
  for (const fullHeap of find(/^3 heap: .*full objects$/)) {
    checks.push({
      scenario: fullHeap.scenario,
      text: "<= client-node's",
      met: cmp(ratio(fullHeap, 'client-node'), '<=', 1),
    });
    const prefix = fullHeap.scenario.replace(/, full objects$/, '');
    const interned = rows.find((r) => r.scenario === `${prefix}, full objects, strings interned`);
    if (interned) {
      const floor = fullHeap.values.floor;
      checks.push({
        scenario: interned.scenario,
        text: "<= 0.8x the floor's (full objects)",
        met: cmp(interned.values.kubecache, '<=', floor === undefined ? undefined : 0.8 * floor),
      });
    }
  }
  for (const row of find(/^4 fan-out/)) {
    checks.push({
      scenario: row.scenario,
      text: /100 handlers/.test(row.scenario)
        ? ">= client-node's rate and >= 10M deliveries/s"
        : ">= client-node's rate",
      met: both(
        cmp(ratio(row, 'client-node'), '>=', 1),
        /100 handlers/.test(row.scenario) ? cmp(row.values.kubecache, '>=', 10e6) : true,
      ),
    });
  }
  for (const row of find(/^5 store .*(add|delete) \(namespace index\)/)) {
    checks.push({
      scenario: row.scenario,
      text: '>= 0.8x client-node',
      met: cmp(ratio(row, 'client-node'), '>=', 0.8),
    });
  }
  for (const row of find(/^5 store .*list, full scan$/)) {
    checks.push({
      scenario: row.scenario,
      text: '>= 1.0x client-node',
      met: cmp(ratio(row, 'client-node'), '>=', 1),
    });
  }
  for (const row of find(/^8 relist: .*page by page/)) {
    checks.push({
      scenario: row.scenario,
      text: '<= 1.3x the steady heap',
      met: cmp(row.values.kubecache, '<=', 1.3),
    });
  }
  for (const row of find(/^6 metadata-only: 1M/, 'retained heap')) {
    checks.push({
      scenario: row.scenario,
      text: '<= 2 GiB',
      met: cmp(row.values.kubecache, '<=', 2048),
    });
  }
  for (const row of find(/^5 store .*indexed \/ full scan/)) {
    checks.push({
      scenario: row.scenario,
      text: '>= 100x (at 100k objects)',
      met: cmp(row.values.kubecache, '>=', 100),
    });
  }
  for (const row of find(/^7 workqueue: add\/get\/done/)) {
    checks.push({
      scenario: row.scenario,
      text: '>= 1M cycles/s',
      met: cmp(row.values.kubecache, '>=', 1e6),
    });
  }
  for (const row of find(/^7 workqueue: runner/)) {
    checks.push({
      scenario: row.scenario,
      text: ">= p-queue's own rate / 1.5",
      met: cmp(ratio(row, 'floor'), '>=', 1 / 1.5),
    });
  }
  for (const row of find(/^7 workqueue: event to reconcile start .*p99/)) {
    checks.push({
      scenario: row.scenario,
      text: '<= 5 ms',
      met: cmp(row.values.kubecache, '<=', 5),
    });
  }
  return checks;
}

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined) return '–';
  if (unit === 'x') return `${v.toFixed(0)}x`;
  if (unit === 'ratio') return `${v.toFixed(2)}x`;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })} ${unit}`;
}

function fmtRatio(v: number | undefined): string {
  return v === undefined ? '–' : `${v.toFixed(2)}x`;
}

/**
 * The markdown report: machine, the table, target checks.
 *
 * @example
 * ```ts
 * console.log(markdownReport(results, machineInfo(), { quick: false }));
 * ```
 */
export function markdownReport(
  results: readonly Result[],
  machine: MachineInfo,
  options: { quick: boolean; command: string; chart?: string; notes?: readonly string[] },
): string {
  const rows = toRows(results);
  const lines: string[] = [];
  lines.push(
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine.cpu}, ` +
      `${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node} (${machine.platform}), ` +
      `@kubernetes/client-node ${machine.clientNode}; 1-minute load average ${machine.loadAverage.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end` +
      `${options.quick ? ' — QUICK smoke run, small sizes, not representative' : ''}.`,
    '',
    `Command: \`${options.command}\``,
    '',
    ...(options.notes ?? []).flatMap((n) => [n, '']),
    '| scenario | metric | kubecache | client-node | floor | kubecache / floor | kubecache / client-node |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of rows) {
    lines.push(
      `| ${row.scenario} | ${row.metric}${row.lowerIsBetter ? ' (lower is better)' : ''} | ` +
        `${fmt(row.values.kubecache, row.unit)} | ${fmt(row.values['client-node'], row.unit)} | ` +
        `${fmt(row.values.floor, row.unit)} | ${fmtRatio(ratio(row, 'floor'))} | ${fmtRatio(ratio(row, 'client-node'))} |`,
    );
  }
  const checks = checkTargets(rows);
  if (checks.length > 0) {
    lines.push('', '| target | kubecache must be | met |', '| --- | --- | :---: |');
    for (const c of checks)
      lines.push(
        `| ${c.scenario} | ${c.text} | ${c.met === undefined ? 'n/a' : c.met ? 'yes' : '**no**'} |`,
      );
  }
  if (options.chart)
    lines.push('', `![kubecache relative to client-node and the floor](${options.chart})`);
  return `${lines.join('\n')}\n`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A horizontal bar chart of kubecache's advantage over client-node and the floor, on a log2
 * scale centred on 1x (right of the line: kubecache better; left: worse).
 *
 * @example
 * ```ts
 * writeFileSync('results.svg', svgChart(results));
 * ```
 */
export function svgChart(results: readonly Result[]): string {
  const rows = toRows(results).filter(
    (r) => r.values.kubecache !== undefined && (r.values.floor ?? r.values['client-node']),
  );
  const labelW = 430;
  const plotW = 420;
  const barH = 9;
  const rowH = 26;
  const top = 44;
  const height = top + rows.length * rowH + 30;
  const width = labelW + plotW + 70;
  const maxLog = 4; // 16x either way
  const cx = labelW + plotW / 2;
  const xOf = (advantage: number) =>
    cx + (Math.max(-maxLog, Math.min(maxLog, Math.log2(advantage))) / maxLog) * (plotW / 2);
  const advantage = (row: Row, other: Impl) => {
    const kc = row.values.kubecache;
    const o = row.values[other];
    if (kc === undefined || o === undefined || kc <= 0 || o <= 0) return undefined;
    return row.lowerIsBetter ? o / kc : kc / o;
  };
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="16" font-size="13" font-weight="bold">kubecache advantage (log scale; right of 1x = kubecache better)</text>`,
    `<rect x="${labelW}" y="24" width="10" height="8" fill="#2b6cb0"/><text x="${labelW + 14}" y="32">vs client-node</text>`,
    `<rect x="${labelW + 110}" y="24" width="10" height="8" fill="#dd8833"/><text x="${labelW + 124}" y="32">vs floor</text>`,
  ];
  for (const t of [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16]) {
    const x = xOf(t);
    out.push(
      `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${height - 26}" stroke="${t === 1 ? '#333' : '#ddd'}"/>`,
      `<text x="${x}" y="${height - 12}" text-anchor="middle">${t < 1 ? `1/${1 / t}` : t}x</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    out.push(
      `<text x="${labelW - 6}" y="${y + 13}" text-anchor="end">${esc(`${row.scenario} (${row.metric})`.slice(0, 72))}</text>`,
    );
    (['client-node', 'floor'] as const).forEach((other, j) => {
      const a = advantage(row, other);
      if (a === undefined) return;
      const x = xOf(a);
      const yy = y + 3 + j * (barH + 1);
      out.push(
        `<rect x="${Math.min(x, cx)}" y="${yy}" width="${Math.max(1, Math.abs(x - cx))}" height="${barH}" fill="${other === 'floor' ? '#dd8833' : '#2b6cb0'}"/>`,
        `<text x="${Math.max(x, cx) + 3}" y="${yy + 8}" font-size="9">${a.toFixed(2)}x</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
