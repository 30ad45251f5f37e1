// The three guide programs of the README (a Pod indexer, a Deployment controller, a CRD informer)
// run as a user would run them, and the README shows each word for word.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runExample } from './run-example.ts';

const GUIDES = {
  'pod-indexer': ['node-a: db-1, web-1', 'node-b: web-2', 'app=web in default: 2'],
  'deployment-controller': [
    'capped default/api at 3 replicas',
    'scaling default/web to 9',
    'capped default/web at 4 replicas',
    'Done.',
  ],
  'crd-informer': ['added blog 0.9.1', 'added shop 1.2.0', 'shop runs shop at 1.2.0'],
} as const;

describe('README guides', () => {
  for (const [guide, expected] of Object.entries(GUIDES)) {
    const script = `examples/guides/${guide}.ts`;
    it(`${guide} runs on the embedded API server and prints what the README says`, async () => {
      const run = await runExample(script);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.stdout.trim().split('\n'), expected, run.stdout);
    });
    it(`${guide}: the README shows the program word for word`, () => {
      const source = readFileSync(script, 'utf8');
      const region = /\/\/ README:begin\n([\s\S]*?)\/\/ README:end\n/.exec(source)?.[1];
      assert.ok(region !== undefined && region.length > 0, 'README region markers');
      assert.ok(readFileSync('README.md', 'utf8').includes(region), `README lacks ${script}`);
    });
  }
});
