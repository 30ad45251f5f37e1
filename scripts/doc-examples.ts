/**
 * Every `@example` in the packages' TSDoc, type-checked: each is extracted into a function of a
 * generated file (one per source file) that imports every package's public API and declares the
 * usual variables (`kc`, `signal`, `informer`, …) with real types, then the TypeScript compiler
 * checks them all in one program. An example that stops compiling fails the test, so the docs
 * cannot drift from the API.
 *
 *   node scripts/doc-examples.ts        prints every failing example with the compiler's message
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** One extracted example. */
export interface DocExample {
  /** `packages/cache/src/store.ts:42` */
  readonly where: string;
  readonly code: string;
}

/** The examples of one source file, with the line each starts on. */
export function examplesOf(path: string): DocExample[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example\b/.test(lines[i]!)) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*\*\s*```(ts|typescript)\s*$/.test(lines[j]!)) {
      if (/^\s*\*\//.test(lines[j]!) || /^\s*\*\s*@\w+/.test(lines[j]!)) break;
      j++;
    }
    if (j >= lines.length || !/```(ts|typescript)/.test(lines[j]!)) continue;
    const start = j + 1;
    const code: string[] = [];
    for (j = start; j < lines.length && !/^\s*\*\s*```\s*$/.test(lines[j]!); j++) {
      code.push(lines[j]!.replace(/^\s*\* ?/, ''));
    }
    out.push({ where: `${path.slice(ROOT.length + 1)}:${i + 1}`, code: code.join('\n') });
  }
  return out;
}

/** The source files whose examples are checked. */
export function sourceFiles(): string[] {
  const files: string[] = [];
  const packages = join(ROOT, 'packages');
  for (const pkg of readdirSync(packages)) {
    const src = join(packages, pkg, 'src');
    let entries: string[];
    try {
      entries = readdirSync(src);
    } catch {
      continue;
    }
    for (const f of entries)
      if (f.endsWith('.ts') && !f.endsWith('.d.ts')) files.push(join(src, f));
  }
  return files.sort();
}

/** Every public export of every package, as `import { … } from '…'` lines (first name wins). */
function publicImports(): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  const packages = join(ROOT, 'packages');
  for (const name of packageNames()) {
    const dir = join(packages, name.replace(/^@kubecache\//, ''));
    const index = join(dir, 'src', 'index.ts');
    const program = ts.createProgram([index], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2023,
      skipLibCheck: true,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const file = program.getSourceFile(index);
    const symbol = file === undefined ? undefined : checker.getSymbolAtLocation(file);
    if (symbol === undefined) continue;
    const names = checker
      .getExportsOfModule(symbol)
      .map((s) => s.getName())
      .filter((n) => !seen.has(n));
    for (const n of names) seen.add(n);
    if (names.length > 0) lines.push(`import { ${names.sort().join(', ')} } from '${name}';`);
  }
  return lines.join('\n');
}

/** Package names (`@kubecache/x`) whose public API the examples may use. */
function packageNames(): string[] {
  const packages = join(ROOT, 'packages');
  return readdirSync(packages)
    .map((p) => {
      try {
        return (
          JSON.parse(readFileSync(join(packages, p, 'package.json'), 'utf8')) as { name: string }
        ).name;
      } catch {
        return '';
      }
    })
    .filter((n) => n !== '')
    .sort();
}

const PREAMBLE = `// The variables TSDoc examples may use without declaring them, with the types they stand for.
// (Prepended to every generated example file by scripts/doc-examples.ts, below generated imports
// of every kubecache package's public API.) Anything else an example uses, it declares itself.
import * as http from 'node:http';
import { writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

declare const kc: KubeConfig;
declare const signal: AbortSignal;
declare const ac: AbortController;
declare const factory: SharedInformerFactory;
declare const informer: SharedIndexInformer<Pod>;
declare const lister: Lister<Pod>;
declare const indexer: Indexer<Pod>;
declare const handler: ResourceEventHandler<Pod>;
declare const pod: Pod;
declare const obj: KubeObject;
declare const server: ApiServer;
declare const queue: RateLimitingQueue<string>;
declare const clock: FakeClock;
declare const listerWatcher: ListerWatcher<Pod>;
declare const lw: ListerWatcher<Pod>;
declare const reflector: Reflector<Pod>;
declare const controller: Controller;
declare const coreApi: CoreV1Api;
declare const appsApi: AppsV1Api;
declare const log: Logger;
declare const err: unknown;
declare const error: unknown;
void [http, writeFileSync, assert];
`;

/** Writes the generated files into `dir` and returns (file, example) pairs. */
function generate(dir: string): Map<string, DocExample[]> {
  const byFile = new Map<string, DocExample[]>();
  const imports = publicImports();
  let n = 0;
  for (const source of sourceFiles()) {
    const examples = examplesOf(source);
    if (examples.length === 0) continue;
    const file = join(dir, `${source.slice(ROOT.length + 1).replace(/[/.]/g, '_')}.ts`);
    const parts = [imports, PREAMBLE];
    for (const ex of examples) {
      parts.push(
        `// ${ex.where}\nexport async function example${n++}(): Promise<void> {\n${ex.code}\n}`,
      );
    }
    writeFileSync(file, parts.join('\n\n'));
    byFile.set(file, examples);
  }
  return byFile;
}

/** Type-checks every example; returns one message per failing example. */
export function checkDocExamples(): string[] {
  const dir = join(ROOT, 'node_modules', '.cache', 'doc-examples');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const byFile = generate(dir);
  const program = ts.createProgram([...byFile.keys()], {
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    types: ['node'],
  });
  const failures = new Map<string, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.file === undefined || d.start === undefined) {
      failures.set('(global)', [
        ...(failures.get('(global)') ?? []),
        ts.flattenDiagnosticMessageText(d.messageText, '\n'),
      ]);
      continue;
    }
    const text = d.file.text;
    const before = text.slice(0, d.start);
    const marker = before.lastIndexOf('\n// packages/');
    const where =
      marker === -1 ? d.file.fileName : before.slice(marker + 4, before.indexOf('\n', marker + 1));
    const line = before.split('\n').length - before.slice(0, marker + 1).split('\n').length - 1;
    const msg = `${ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]} (example line ${line})`;
    failures.set(where, [...(failures.get(where) ?? []), msg]);
  }
  return [...failures].map(([where, msgs]) => `${where}: ${msgs.join('; ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const failures = checkDocExamples();
  for (const f of failures) process.stdout.write(`${f}\n`);
  const total = sourceFiles().reduce((n, f) => n + examplesOf(f).length, 0);
  process.stdout.write(`${failures.length} of ${total} examples fail\n`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}
