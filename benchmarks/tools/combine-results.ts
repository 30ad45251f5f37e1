// Combines the `--json` results of several `npm run bench` runs (e.g. `--only` runs of different
// scenarios) into one report: the markdown table with the targets, and the chart.
//
//   node benchmarks/tools/combine-results.ts --out benchmarks/results a.json b.json ...
//
// A row (scenario, implementation, metric) present in several files is taken from the last.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo, type Result } from '../measure.ts';
import { markdownReport, svgChart } from '../report.ts';

const { values, positionals } = parseArgs({
  options: { out: { type: 'string', default: 'benchmarks/results' } },
  allowPositionals: true,
});
if (positionals.length === 0) {
  process.stderr.write('usage: combine-results.ts [--out dir] results.json...\n');
  process.exit(2);
}
const byKey = new Map<string, Result>();
for (const file of positionals) {
  for (const r of JSON.parse(readFileSync(file, 'utf8')) as Result[]) {
    byKey.set(`${r.scenario}\u0000${r.impl}\u0000${r.metric}`, r);
  }
}
const results = [...byKey.values()].sort(
  (a, b) => Number.parseInt(a.scenario, 10) - Number.parseInt(b.scenario, 10),
);
const out = values.out;
mkdirSync(out, { recursive: true });
const markdown = markdownReport(results, machineInfo(), {
  quick: false,
  command: `node benchmarks/tools/combine-results.ts ${positionals.join(' ')}`,
  chart: 'results.svg',
});
writeFileSync(join(out, 'results.md'), markdown);
writeFileSync(join(out, 'results.svg'), svgChart(results));
process.stdout.write(markdown);
