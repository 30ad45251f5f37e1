// The benchmark suite: kubecache vs @kubernetes/client-node vs the raw floor, in one run.
//
//   npm run bench                                  # full suite (several minutes)
//   npm run bench -- --quick                       # every scenario small, < 1 minute (smoke)
//   npm run bench -- --only sync --repeats 5       # one scenario (sync|watch|heap|fanout|store|million|workqueue)
//   npm run bench -- --json results.json           # also write machine-readable results
//   npm run bench -- --sync-server replay          # scenario 1 from the replay server (default:
//                                                  # the embedded API server when it is built)
//   npm run bench -- --server-mode in-process      # data servers in this process (default: child)
//
// Writes the markdown table to stdout and to benchmarks/results/results.md, with a chart of the
// ratios in benchmarks/results/results.svg. Progress goes to stderr.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { machineInfo, progress, type Result } from './measure.ts';
import { markdownReport, svgChart } from './report.ts';
import { SCENARIO_NOTES, SCENARIOS } from './scenarios.ts';
import { startSource } from './source.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string', multiple: true },
    repeats: { type: 'string' },
    'sync-server': { type: 'string' },
    'server-mode': { type: 'string', default: 'child' },
    out: { type: 'string' },
  },
  strict: true,
});

if (!(globalThis as { gc?: unknown }).gc) {
  process.stderr.write('benchmarks need --expose-gc (npm run bench adds it)\n');
  process.exit(2);
}
const only = (values.only ?? []).flatMap((o) => o.split(','));
for (const o of only)
  if (!SCENARIOS.some((s) => s.name === o || String(s.id) === o)) {
    process.stderr.write(
      `unknown scenario '${o}'; one of ${SCENARIOS.map((s) => s.name).join(', ')}\n`,
    );
    process.exit(2);
  }
const repeats = values.repeats === undefined ? undefined : Number(values.repeats);
if (repeats !== undefined && !(Number.isInteger(repeats) && repeats > 0)) {
  process.stderr.write('--repeats needs a positive integer\n');
  process.exit(2);
}
const serverMode = values['server-mode'] === 'in-process' ? 'in-process' : 'child';

const machine = machineInfo();
progress(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; servers: ${serverMode}`);
const source = await startSource('replay', serverMode);
// Scenario 1 comes from the embedded API server unless asked otherwise; if it cannot start, the
// run fails rather than quietly measuring something else.
const syncSource =
  values['sync-server'] === 'replay' ? source : await startSource('embedded', serverMode);
const results: Result[] = [];
const started = performance.now();
const outDir = values.out ?? new URL('./results/', import.meta.url).pathname;
mkdirSync(outDir, { recursive: true });
const command = `npm run bench --${process.argv
  .slice(2)
  .map((a) => ` ${a}`)
  .join('')}`;

/** Writes the table, chart and JSON of what has been measured so far; returns the markdown. */
function writeOutputs(): string {
  writeFileSync(`${outDir}/results.svg`, svgChart(results));
  const md = markdownReport(results, machine, {
    quick: values.quick,
    command: command === 'npm run bench --' ? 'npm run bench' : command,
    chart: 'results.svg',
    notes: [
      ...SCENARIO_NOTES,
      `Scenario 1 is served by the ${syncSource.kind === 'embedded' ? 'embedded API server (@kubecache/apiserver)' : 'replay server'}, scenarios 2, 3 and 6 by the replay server (pre-serialized API-server bytes), both in a ${serverMode === 'child' ? 'child process' : 'the measuring process'}; scenario 4 feeds decoded events from memory; scenario 5 is the store benchmark (benchmarks/store.bench.ts); scenario 7 measures the work queue and the controller runner in memory, against a bare FIFO with a dedup set and against p-queue alone (benchmarks/workqueue.ts), which client-node has no counterpart of.`,
    ],
  });
  writeFileSync(`${outDir}/results.md`, md);
  writeFileSync(`${outDir}/machine.json`, `${JSON.stringify(machine, null, 2)}\n`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
  return md;
}

try {
  for (const s of SCENARIOS) {
    if (only.length > 0 && !only.includes(s.name) && !only.includes(String(s.id))) continue;
    progress(`scenario ${s.id} (${s.name})`);
    results.push(...(await s.run({ source, syncSource, quick: values.quick, repeats })));
    // Long runs keep what they measured even if a later scenario fails or is interrupted.
    writeOutputs();
  }
} finally {
  await source.close();
  if (syncSource !== source) await syncSource.close();
}
progress(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
const md = writeOutputs();
process.stdout.write(md);
