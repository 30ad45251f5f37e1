/**
 * The chaos scenario for longer: `npm run soak -- --minutes N` runs the chaos test's scenario
 * (the same code, `chaos-run.ts`) with the writer going for N minutes, server faults for half of
 * them and the cutting TCP proxy for the other half, and prints the counts: writes, faults by
 * kind, missing/phantom/stale per informer and handler, convergence times, heap, the seed.
 * Exits 1 when a run is unhealthy (the chaos test's checks).
 *
 * Options: --minutes N (default 5), --mode server|proxy|both (default both), --seed S (default
 * random; CHAOS_SEED also works), --rate writes/s (default 1000), --proxy-life-ms M (default
 * 300), --idle-probe-ms M (default 10000: after convergence, stay idle that long, then time one
 * change per informer; 0 skips it), --trace (log every fault and informer failure).
 */
import { parseArgs } from 'node:util';
import { formatReport, healthProblems, runChaos } from './chaos-run.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    mode: { type: 'string', default: 'both' },
    seed: { type: 'string' },
    rate: { type: 'string', default: '1000' },
    'proxy-life-ms': { type: 'string', default: '300' },
    'idle-probe-ms': { type: 'string', default: '10000' },
    trace: { type: 'boolean', default: false },
  },
});

function positive(name: string, text: string | undefined, allowZero = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    console.error(`soak: --${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
    process.exit(2);
  }
  return n;
}

const minutes = positive('minutes', values.minutes);
const modes: readonly ('server' | 'proxy')[] | undefined =
  values.mode === 'both'
    ? ['server', 'proxy']
    : values.mode === 'server' || values.mode === 'proxy'
      ? [values.mode]
      : undefined;
if (modes === undefined) {
  console.error('soak: --mode must be server, proxy or both');
  process.exit(2);
}
const seedText = values.seed ?? process.env['CHAOS_SEED'];
const seed =
  seedText !== undefined && seedText !== ''
    ? positive('seed', seedText, true)
    : Math.floor(Math.random() * 2 ** 32);
if (!Number.isInteger(seed) || seed >= 2 ** 32) {
  console.error('soak: --seed must be an integer in [0, 2^32)');
  process.exit(2);
}
const rate = positive('rate', values.rate);
const proxyMeanLifeMs = positive('proxy-life-ms', values['proxy-life-ms']);
const idleProbeMs = positive('idle-probe-ms', values['idle-probe-ms'], true);

const started = Date.now();
const log = (line: string): void =>
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);
log(`soak: ${minutes} min, modes ${modes.join(' + ')}, seed ${seed} (--seed ${seed} replays)`);

let failed = false;
for (const mode of modes) {
  const minWriterMs = (minutes * 60_000) / modes.length;
  log(`${mode}: writing for ${Math.round(minWriterMs / 1000)} s at ${rate} writes/s`);
  const report = await runChaos({
    seed,
    mode,
    minWrites: 0,
    minWriterMs,
    writeRate: rate,
    proxyMeanLifeMs,
    idleProbeMs,
    log: (line) => log(`${mode}: ${line}`),
    trace: values.trace,
  });
  for (const line of formatReport(report)) console.log(`  ${line}`);
  const problems = healthProblems(report);
  if (problems.length === 0) {
    console.log(`  ${mode}: healthy`);
  } else {
    failed = true;
    for (const p of problems) console.log(`  PROBLEM (seed ${seed}, ${mode}): ${p}`);
  }
}
process.exitCode = failed ? 1 : 0;
