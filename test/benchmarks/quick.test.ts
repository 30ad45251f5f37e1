// Smoke test of the benchmark suite: `npm run bench -- --quick --json <file>` must run every
// scenario and produce, for each, finite positive figures from every implementation, in the
// documented JSON schema. It deliberately asserts nothing about speed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Row {
  scenario: string;
  impl: string;
  metric: string;
  value: number;
  unit: string;
}

test('bench --quick produces every scenario x implementation', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubecache-bench-'));
  try {
    const json = join(dir, 'results.json');
    const child = spawn(
      join(root, 'node_modules/.bin/node'),
      ['--expose-gc', 'benchmarks/run.ts', '--quick', '--json', json, '--out', dir],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, `bench exited with ${code}\n${stderr}`);

    const rows = JSON.parse(readFileSync(json, 'utf8')) as Row[];
    assert.ok(Array.isArray(rows) && rows.length > 0);
    for (const r of rows) {
      assert.deepEqual(Object.keys(r).sort(), ['impl', 'metric', 'scenario', 'unit', 'value']);
      assert.equal(typeof r.scenario, 'string');
      assert.ok(['kubecache', 'client-node', 'floor'].includes(r.impl), r.impl);
      assert.equal(typeof r.metric, 'string');
      assert.equal(typeof r.unit, 'string');
      assert.ok(r.unit.length > 0 && r.metric.length > 0);
      assert.ok(Number.isFinite(r.value) && r.value > 0, `${r.scenario} ${r.impl}: ${r.value}`);
    }
    // Every scenario 1..6 ran, and each has figures from all three implementations; scenario 7
    // (the work queue) has no client-node counterpart and compares with its floors only.
    for (let id = 1; id <= 7; id++) {
      const ofScenario = rows.filter((r) => r.scenario.startsWith(`${id} `));
      assert.ok(ofScenario.length > 0, `scenario ${id} produced no results`);
      const impls = new Set(ofScenario.map((r) => r.impl));
      const expected = id === 7 ? ['floor', 'kubecache'] : ['client-node', 'floor', 'kubecache'];
      assert.deepEqual([...impls].sort(), expected, `scenario ${id}`);
    }
    for (const s of ['add/get/done', 'runner, 1 worker', 'runner, 8 workers', 'p50', 'p99']) {
      assert.ok(
        rows.some((r) => r.scenario.startsWith('7 workqueue') && r.scenario.includes(s)),
        `workqueue scenario ${s}`,
      );
    }
    // Rows compared side by side carry all three implementations; a reference row (the watch's
    // JSON.parse limit) has the floor's figure only.
    for (const prefix of ['1 sync', '2 watch', '4 fan-out']) {
      for (const scenario of new Set(
        rows
          .filter((r) => r.scenario.startsWith(prefix) && !r.scenario.endsWith('(reference)'))
          .map((r) => r.scenario),
      )) {
        const impls = rows.filter((r) => r.scenario === scenario).map((r) => r.impl);
        assert.deepEqual(impls.sort(), ['client-node', 'floor', 'kubecache'], scenario);
      }
    }
    const references = rows.filter((r) => r.scenario.endsWith('(reference)'));
    assert.deepEqual(
      references.map((r) => r.impl),
      ['floor', 'floor'],
      'one JSON.parse reference per watched kind',
    );
    // Scenario 8: the relist's peak heap, paged and in one LIST, kubecache only.
    const relist = rows.filter((r) => r.scenario.startsWith('8 relist'));
    assert.equal(relist.length, 2);
    assert.ok(relist.every((r) => r.impl === 'kubecache' && r.unit === 'ratio' && r.value >= 1));
    // The markdown table and the chart were written, and the table went to stdout.
    const md = readFileSync(join(dir, 'results.md'), 'utf8');
    assert.match(md, /\| scenario \| metric \| kubecache \| client-node \| floor \|/);
    assert.match(md, /Node v\d+/);
    assert.equal(stdout, md);
    assert.match(readFileSync(join(dir, 'results.svg'), 'utf8'), /^<svg /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
