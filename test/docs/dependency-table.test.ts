// The README's production dependency table is what is installed (prettier may pad it; cells are
// compared trimmed).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dependencyTable, END_MARKER, START_MARKER } from '../../scripts/dependency-table.ts';

function cells(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

describe('README dependency table', () => {
  it('matches the installed production dependency tree (node scripts/dependency-table.ts --write)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf(START_MARKER);
    const end = readme.indexOf(END_MARKER);
    assert.ok(start !== -1 && end > start, 'README has the dependency-table markers');
    const documented = cells(readme.slice(start, end));
    const installed = cells(dependencyTable());
    assert.ok(installed.length > 5, 'one row per package');
    assert.deepEqual(documented, installed);
  });
});
