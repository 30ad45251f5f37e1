/**
 * The chaos suite (issue 12, part 1): a writer makes 10,000+ changes over 1,200 ConfigMaps while
 * the client's connections are abused, first by the API server's fault injection, then by a TCP
 * proxy that cuts every connection after ~0.3 s; afterwards every informer, every handler's view
 * and the controller must match the server (see `healthProblems` for the full list). Seeded:
 * `CHAOS_SEED=<n>` replays a run's schedule (the seed is in every failure message and in the
 * diagnostics). How long each view takes to converge is reported, not asserted.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  FAULT_KINDS,
  formatReport,
  healthProblems,
  runChaos,
  type ChaosReport,
} from './chaos-run.ts';

const SEED = seedFromEnv();

function seedFromEnv(): number {
  const text = process.env['CHAOS_SEED'];
  if (text === undefined || text === '') return Math.floor(Math.random() * 2 ** 32);
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(`CHAOS_SEED must be an integer in [0, 2^32), not ${JSON.stringify(text)}`);
  }
  return seed;
}

/** Prints the report and asserts the run healthy; every message carries the seed and the report. */
function assertHealthy(t: TestContext, r: ChaosReport): (what: string) => string {
  const lines = formatReport(r);
  for (const line of lines) t.diagnostic(line);
  const why = (what: string): string => `seed ${r.seed} (${r.mode}): ${what}\n${lines.join('\n')}`;
  assert.ok(r.writes.total >= 10_000, why(`only ${r.writes.total} writes`));
  assert.ok(r.writes.creates > 0 && r.writes.updates > 0 && r.writes.deletes > 0, why('write mix'));
  assert.ok(r.keysTouched >= 1000, why(`only ${r.keysTouched} keys written`));
  assert.deepEqual(healthProblems(r), [], why('unhealthy run'));
  return why;
}

describe(`chaos (seed ${SEED}; CHAOS_SEED=${SEED} replays)`, () => {
  it('server faults: cuts, 410s, ERROR events, 429/500 bursts, a 403 window, latency, pauses, restarts', async (t) => {
    const r = await runChaos({ seed: SEED, mode: 'server' });
    const why = assertHealthy(t, r);
    for (const kind of FAULT_KINDS) {
      assert.ok((r.faults[kind] ?? 0) > 0, why(`fault ${kind} was never injected`));
    }
  });

  it('a TCP proxy cuts every connection after ~0.3 s (half-closes and resets)', async (t) => {
    const r = await runChaos({ seed: SEED, mode: 'proxy', proxyMeanLifeMs: 300 });
    const why = assertHealthy(t, r);
    assert.ok((r.faults['proxy-half-closes'] ?? 0) > 0, why('no connection was half-closed'));
    assert.ok((r.faults['proxy-resets'] ?? 0) > 0, why('no connection was reset'));
  });
});
