import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runExample } from './run-example.ts';

const EXAMPLE = 'examples/mounted-config.ts';

describe('examples/mounted-config.ts', () => {
  it('--demo: one reload per kubelet-style update, the quick pair coalesced, a bad file reported', async () => {
    const { code, stdout, stderr } = await runExample(EXAMPLE, ['--demo']);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    const lines = stdout.trim().split('\n');
    const configs = lines.filter((l) => l.startsWith('config: '));
    assert.deepEqual(
      configs,
      [
        'config: (none) → {"greeting":"hello","replicas":1}',
        'config: {"greeting":"hello","replicas":1} → {"greeting":"hi","replicas":1}',
        'config: {"greeting":"hi","replicas":1} → {"greeting":"hi","replicas":3}',
        'config: {"greeting":"hi","replicas":3} → {"greeting":"fixed","replicas":5}',
      ],
      stdout,
    );
    const errors = lines.filter((l) => l.startsWith('error '));
    assert.equal(errors.length, 1, stdout);
    assert.match(errors[0]!, /^error ConfigParse: cannot parse config \S+\/config\.yaml line 2: /);
    assert.ok(lines.includes('still: {"greeting":"hi","replicas":3}'), 'last good config kept');
    assert.ok(!lines.some((l) => l.startsWith('unexpected')), stdout);
    assert.ok(lines.includes('demo: 5 updates, 3 reloads after the initial load, 1 error'), stdout);
    assert.equal(lines.at(-1), 'Done.');
  });
});
