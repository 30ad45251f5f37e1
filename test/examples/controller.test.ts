import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runExample } from './run-example.ts';

const EXAMPLE = 'examples/checksum-controller.ts';

describe('examples/checksum-controller.ts', () => {
  it('stamps each ConfigMap once, re-stamps the edited one once, and exits 0', async () => {
    const { code, stdout, stderr } = await runExample(EXAMPLE);
    assert.equal(code, 0, stderr);
    const stamped = stdout.split('\n').filter((l) => l.startsWith('stamped '));
    const edit = stdout.split('\n').indexOf('editing default/red');
    assert.ok(edit > 0, stdout);
    const before = stamped.filter((l) => stdout.indexOf(l) < stdout.indexOf('editing'));
    assert.deepEqual(
      before.map((l) => l.split(' ')[1]).sort(),
      ['default/blue', 'default/green', 'default/red'],
      'each ConfigMap stamped exactly once: its own write did not re-trigger it',
    );
    assert.equal(stamped.length, 4, `one more stamp for the edit, no loop:\n${stdout}`);
    assert.match(stamped[3]!, /^stamped default\/red [0-9a-f]{12}$/);
    assert.notEqual(
      stamped[3],
      before.find((l) => l.includes('default/red')),
    );
    assert.match(stdout, /Done\.\n$/);
  });

  it('is the controller the README shows, word for word', () => {
    const source = readFileSync(EXAMPLE, 'utf8');
    const region = /\/\/ README:begin\n([\s\S]*?)\/\/ README:end\n/.exec(source)?.[1];
    assert.ok(region !== undefined && region.length > 0, 'README region markers in the example');
    const readme = readFileSync('README.md', 'utf8');
    assert.ok(
      readme.includes('```ts\n' + region + '```'),
      'README snippet differs from the example',
    );
  });
});
