// Every TSDoc `@example` of the packages compiles against their public API (scripts/doc-examples.ts
// extracts and type-checks them), and the extractor itself finds what it should, where it is.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  checkDocExamples,
  examplesOf,
  formatFailure,
  sourceFiles,
  type DocExamplesReport,
} from '../../scripts/doc-examples.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubecache-doc-examples-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `lines` to a temp file and returns its path. */
function fixture(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n'));
  return path;
}

describe('examplesOf', () => {
  it('finds the ```ts fences of each @example, with their source lines', () => {
    const path = fixture('extract.ts', [
      '/**', //                                                         1
      ' * Adds.', //                                                    2
      ' *', //                                                          3
      ' * @example', //                                                 4
      ' * ```ts', //                                                    5
      ' * add(1, 2); // 3', //                                          6
      ' * ```', //                                                      7
      ' * @param a the first', //                                       8
      ' */', //                                                         9
      'export function add(a: number, b: number) { return a + b; }', // 10
      'export class C {', //                                           11
      '  /**', //                                                      12
      '   * @example A title', //                                      13
      '   * ```typescript', //                                         14
      '   * const c = new C();', //                                    15
      '   *   c.m();', //                                              16
      '   * ```', //                                                   17
      '   * Then, in the same scope:', //                              18
      '   * ```ts', //                                                 19
      '   * c.m();', //                                                20
      '   * ```', //                                                   21
      '   */', //                                                      22
      '  m(): void {}', //                                             23
      '}', //                                                          24
      '/**', //                                                        25
      ' * @example', //                                                26
      ' * ```sh', //                                                   27
      ' * npx kubecache-apiserver', //                                 28
      ' * ```', //                                                     29
      ' */', //                                                        30
      '/**', //                                                        31
      ' * @example prose only, no fence', //                          32
      ' * @returns x, then a fence that belongs to @returns:', //      33
      ' * ```ts', //                                                   34
      ' * notAnExample();', //                                         35
      ' * ```', //                                                     36
      ' */', //                                                        37
      '/**', //                                                        38
      ' * @example', //                                                39
      ' * ```ts', //                                                   40
      ' * unterminated();', //                                         41
      ' */', //                                                        42
    ]);
    const found = examplesOf(path);
    assert.deepEqual(
      found.map((e) => ({
        line: e.line,
        code: e.code,
        sourceLines: e.sourceLines,
        prefixWidths: e.prefixWidths,
        problem: e.problem,
      })),
      [
        {
          line: 4,
          code: 'add(1, 2); // 3',
          sourceLines: [6],
          prefixWidths: [3],
          problem: undefined,
        },
        {
          line: 13,
          code: 'const c = new C();\n  c.m();\nc.m();',
          sourceLines: [15, 16, 20],
          prefixWidths: [5, 5, 5],
          problem: undefined,
        },
        {
          line: 39,
          code: 'unterminated();',
          sourceLines: [41],
          prefixWidths: [3],
          problem: 'the fence opened on line 40 is not closed before the comment ends',
        },
      ],
    );
    assert.equal(found[0]!.where, `${path}:4`); // outside the repository: the full path
  });

  it('checks an unlabelled fence as TypeScript and skips ```text', () => {
    const path = fixture('bare.ts', [
      '/**',
      ' * @example',
      ' * ```text',
      ' * not code',
      ' * ```',
      ' * ```',
      ' * bare();',
      ' * ```',
      ' */',
    ]);
    assert.deepEqual(
      examplesOf(path).map((e) => [e.line, e.code, e.sourceLines]),
      [[2, 'bare();', [7]]],
    );
  });

  it('names repository files relative to the root', () => {
    const files = sourceFiles();
    assert.ok(files.some((f) => f.endsWith(join('packages', 'cache', 'src', 'store.ts'))));
    const store = files.find((f) => f.endsWith(join('packages', 'cache', 'src', 'store.ts')))!;
    assert.match(examplesOf(store)[0]!.where, /^packages\/cache\/src\/store\.ts:\d+$/);
  });
});

describe('TSDoc examples', () => {
  let report: DocExamplesReport;
  let checked: string;
  before(() => {
    // One program for everything: the packages' examples and a fixture with a known error.
    checked = fixture('checked.ts', [
      '/**', //                                               1
      ' * @example', //                                       2
      ' * ```ts', //                                          3
      ' * informer.addEventHandler(enqueueKeys(queue));', //  4
      ' * ```', //                                            5
      ' */', //                                               6
      '/**', //                                               7
      ' * @example', //                                       8
      ' * ```ts', //                                          9
      ' * const n: number = parseLabelSelector("a").toString().length;', // 10
      ' * const s: string = n;', //                          11
      ' * ```', //                                           12
      ' */', //                                              13
    ]);
    report = checkDocExamples([...sourceFiles(), checked]);
  });

  it('reports a failing example at its source line and column, and passes a good one', () => {
    const mine = report.failures.filter((f) => f.where.startsWith(checked));
    assert.deepEqual(mine, [
      {
        where: `${checked}:8`,
        messages: [`${checked}:11:10: Type 'number' is not assignable to type 'string'. (TS2322)`],
      },
    ]);
  });

  it('every @example of the packages compiles against their public API', () => {
    // A broken extractor must not pass by finding nothing.
    assert.ok(report.examples > 150, `only ${report.examples} examples found`);
    assert.ok(report.files > 30, `examples found in only ${report.files} files`);
    const failures = report.failures.filter((f) => !f.where.startsWith(checked));
    assert.ok(
      failures.length === 0,
      `${failures.length} of ${report.examples - 2} examples fail ` +
        '(node scripts/doc-examples.ts lists them):\n' +
        failures.map(formatFailure).join('\n'),
    );
  });
});
