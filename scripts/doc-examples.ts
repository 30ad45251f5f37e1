/**
 * Every `@example` in the packages' TSDoc, type-checked: each is extracted into a function of its
 * own generated (in-memory) module that imports every package's public API and declares the
 * usual variables (`kc`, `signal`, `informer`, …) with real types, then the TypeScript compiler
 * checks them all in one program, with the compiler options of `tsconfig.base.json`. An example
 * that stops compiling fails the test (test/docs/doc-examples.test.ts), so the docs cannot drift
 * from the API.
 *
 * `@kubecache/*` imports resolve to the packages' sources (not `dist`), so the check needs no
 * build and never sees a stale one.
 *
 *   node scripts/doc-examples.ts        prints every failing example with the compiler's messages
 *                                       (file:line:column of the offending code line)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** One extracted example: the code of the ```ts fence(s) of one `@example` tag. */
export interface DocExample {
  /** `packages/cache/src/store.ts:42`: the source file and the line of the `@example` tag. */
  readonly where: string;
  /** The source file (relative to the repository root when inside it). */
  readonly file: string;
  /** The 1-based line of the `@example` tag. */
  readonly line: number;
  /** The code, the comment's ` * ` prefix removed from each line. */
  readonly code: string;
  /** For each line of `code`, its 1-based line in the source file. */
  readonly sourceLines: readonly number[];
  /** For each line of `code`, how many characters of the source line the prefix took. */
  readonly prefixWidths: readonly number[];
  /** What is wrong with the example's markup (an unterminated fence), if anything. */
  readonly problem?: string;
}

const EXAMPLE_TAG = /^\s*\*\s*@example\b/;
/** Any other block tag (`@param`, `@returns`, …) ends the example. */
const OTHER_TAG = /^\s*\*\s*@\w+/;
const COMMENT_END = /\*\//;
/**
 * An opening fence of TypeScript code: ```ts, ```typescript, ```tsx (an info string may follow),
 * or a bare ``` (unlabelled code in a TypeScript file is checked too: label it ```text if it is not).
 */
const TS_FENCE = /^\s*\*\s*```(?:ts|typescript|tsx)?(?:\s.*)?$/;
/** Any other opening fence (```sh, ```text, ```json …): not TypeScript, skipped. */
const OTHER_FENCE = /^\s*\*\s*```\S*.*$/;
const FENCE_END = /^\s*\*\s*```\s*$/;
/** The comment prefix of a line: indentation, `*`, and one space. */
const PREFIX = /^\s*\*(?: |$)/;

/**
 * The examples of one source file, with the line each starts on: for every `@example` tag, the
 * ```ts fences between it and the end of its comment or the next block tag (several fences of one
 * tag are one example, in one scope). Fences of other languages are skipped.
 */
export function examplesOf(path: string): DocExample[] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const rel = relative(ROOT, path);
  const file = rel.startsWith('..') ? path : rel.split(sep).join('/');
  const out: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!EXAMPLE_TAG.test(lines[i]!)) continue;
    const code: string[] = [];
    const sourceLines: number[] = [];
    const prefixWidths: number[] = [];
    let problem: string | undefined;
    let j = i + 1;
    // The tag's section: up to the end of the comment or the next block tag (outside fences).
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (COMMENT_END.test(line) || OTHER_TAG.test(line)) break;
      const ts = TS_FENCE.test(line);
      if (!ts && !OTHER_FENCE.test(line)) continue;
      // A fence: TypeScript is collected, anything else skipped, up to its closing fence.
      let k = j + 1;
      for (; k < lines.length && !FENCE_END.test(lines[k]!); k++) {
        if (COMMENT_END.test(lines[k]!)) break;
        if (!ts) continue;
        const prefix = PREFIX.exec(lines[k]!)?.[0] ?? '';
        code.push(lines[k]!.slice(prefix.length));
        sourceLines.push(k + 1);
        prefixWidths.push(prefix.length);
      }
      if (k >= lines.length || !FENCE_END.test(lines[k]!)) {
        problem = `the fence opened on line ${j + 1} is not closed before the comment ends`;
        j = k;
        break;
      }
      j = k;
    }
    if (code.length > 0 || problem !== undefined) {
      out.push({
        where: `${file}:${i + 1}`,
        file,
        line: i + 1,
        code: code.join('\n'),
        sourceLines,
        prefixWidths,
        ...(problem === undefined ? {} : { problem }),
      });
    }
    i = j - 1;
  }
  return out;
}

/** The source files whose examples are checked: `packages/*\/src/**\/*.ts`, declarations excluded. */
export function sourceFiles(): string[] {
  const files: string[] = [];
  const packages = join(ROOT, 'packages');
  for (const pkg of readdirSync(packages)) {
    const src = join(packages, pkg, 'src');
    let entries: string[];
    try {
      if (!statSync(src).isDirectory()) continue;
      entries = readdirSync(src, { recursive: true, encoding: 'utf8' });
    } catch {
      continue;
    }
    for (const f of entries) {
      if (!f.endsWith('.ts') || f.endsWith('.d.ts')) continue;
      if (f.split(sep).includes('node_modules')) continue;
      files.push(join(src, f));
    }
  }
  return files.sort();
}

/** The workspace packages: name (`@kubecache/x`) and the absolute path of `src/index.ts`. */
function packages(): { name: string; index: string }[] {
  const dir = join(ROOT, 'packages');
  const out: { name: string; index: string }[] = [];
  for (const p of readdirSync(dir).sort()) {
    let name: string;
    try {
      name = (JSON.parse(readFileSync(join(dir, p, 'package.json'), 'utf8')) as { name: string })
        .name;
    } catch {
      continue;
    }
    const index = join(dir, p, 'src', 'index.ts');
    try {
      if (statSync(index).isFile()) out.push({ name, index });
    } catch {
      // a package without src/index.ts has no public API to offer
    }
  }
  return out;
}

const PREAMBLE = `// The variables TSDoc examples may use without declaring them, with the types they stand for.
// (Prepended to every generated example module by scripts/doc-examples.ts, below generated imports
// of every kubecache package's public API.) Anything else an example uses, it declares itself.
import * as http from 'node:http';
import { writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
// The client-node models the write path converts to (\`toClientModel<V1ConfigMap>(cm)\`) and that
// \`Wire<M>\` maps: examples of those name them as a user's program would import them.
import type { V1ConfigMap, V1Deployment } from '@kubernetes/client-node';

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
void [http, writeFileSync, assert, CoordinationV1Api];
`;

/** The compiler options of the packages (tsconfig.base.json), adjusted for generated modules. */
function compilerOptions(): ts.CompilerOptions {
  const configPath = join(ROOT, 'tsconfig.base.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (read.error !== undefined)
    throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const raw = (read.config as { compilerOptions?: object }).compilerOptions ?? {};
  const { options, errors } = ts.convertCompilerOptionsFromJson(raw, ROOT, configPath);
  if (errors.length > 0) {
    throw new Error(
      errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, '\n')).join('\n'),
    );
  }
  const paths: ts.MapLike<string[]> = {};
  for (const p of packages()) paths[p.name] = [p.index];
  return {
    ...options,
    // Type-check only: nothing is emitted, nothing is built incrementally.
    noEmit: true,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    tsBuildInfoFile: undefined,
    // The generated imports name types and values alike (`import { Pod, Lister }`).
    verbatimModuleSyntax: false,
    isolatedModules: false,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    // The packages' sources, not their (possibly missing or stale) build output.
    paths,
  };
}

/** A compiler host that also serves the generated modules, and parses every file once. */
function hostWith(options: ts.CompilerOptions, generated: Map<string, string>): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const parsed = new Map<string, ts.SourceFile | undefined>();
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = generated.get(fileName);
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion, true);
    if (!parsed.has(fileName)) {
      parsed.set(
        fileName,
        getSourceFile.call(host, fileName, languageVersion, onError, shouldCreate),
      );
    }
    return parsed.get(fileName);
  };
  host.fileExists = (f) => generated.has(f) || fileExists.call(host, f);
  host.readFile = (f) => generated.get(f) ?? readFile.call(host, f);
  host.writeFile = () => {};
  return host;
}

/** Every public export of every package, as `import { … } from '…'` lines (first name wins). */
function publicImports(program: ts.Program): string {
  const checker = program.getTypeChecker();
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const { name, index } of packages()) {
    const file = program.getSourceFile(index);
    const symbol = file === undefined ? undefined : checker.getSymbolAtLocation(file);
    if (symbol === undefined) throw new Error(`cannot read the exports of ${name} (${index})`);
    const names = checker
      .getExportsOfModule(symbol)
      .map((s) => s.getName())
      .filter((n) => n !== 'default' && !seen.has(n));
    for (const n of names) seen.add(n);
    if (names.length > 0) lines.push(`import { ${names.sort().join(', ')} } from '${name}';`);
  }
  return lines.join('\n');
}

/** One failing example and the compiler's messages, each at its source position. */
export interface DocExampleFailure {
  /** `file:line` of the `@example` tag. */
  readonly where: string;
  /** `file:line:column: message (TSnnnn)`, the position being in the source file. */
  readonly messages: readonly string[];
}

/** The outcome of {@link checkDocExamples}. */
export interface DocExamplesReport {
  /** Examples found and checked. */
  readonly examples: number;
  /** Source files they were found in. */
  readonly files: number;
  readonly failures: readonly DocExampleFailure[];
  /** Time taken, ms. */
  readonly ms: number;
}

/** A failure as the script prints it: the `@example` line, then one indented line per message. */
export function formatFailure(failure: DocExampleFailure): string {
  return [`${failure.where}: @example fails`, ...failure.messages.map((m) => `  ${m}`)].join('\n');
}

function message(d: ts.Diagnostic): string {
  return `${ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]} (TS${d.code})`;
}

/** Type-checks every example of `files` (default: every package source file). */
export function checkDocExamples(files: readonly string[] = sourceFiles()): DocExamplesReport {
  const started = performance.now();
  const options = compilerOptions();
  const indexes = packages().map((p) => p.index);
  const generated = new Map<string, string>();
  const host = hostWith(options, generated);
  // First the public API (one program over the packages' indexes), then the examples, in a second
  // program that shares the parsed files through the host.
  const imports = publicImports(ts.createProgram(indexes, options, host));
  const header = `${imports}\n\n${PREAMBLE}\nexport async function example(): Promise<void> {\n`;
  const headerLines = header.split('\n').length - 1;

  const dir = join(ROOT, '.doc-examples'); // never written: the host serves these from memory
  const byModule = new Map<string, DocExample>();
  const failures: DocExampleFailure[] = [];
  let examples = 0;
  let withExamples = 0;
  for (const source of files) {
    const found = examplesOf(source);
    if (found.length > 0) withExamples++;
    for (const ex of found) {
      examples++;
      if (ex.problem !== undefined) {
        failures.push({ where: ex.where, messages: [`${ex.where}: ${ex.problem}`] });
        continue;
      }
      const module = join(dir, `${ex.where.replace(/[^\w.-]/g, '_')}.ts`)
        .split(sep)
        .join('/');
      generated.set(module, `${header}${ex.code}\n}\n`);
      byModule.set(module, ex);
    }
  }

  const program = ts.createProgram([...generated.keys()], options, host);
  const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  if (global.length > 0) {
    failures.push({ where: '(compiler options)', messages: global.map(message) });
  }
  const preamble = new Set<string>();
  for (const [module, ex] of byModule) {
    const sf = program.getSourceFile(module)!;
    const diagnostics = [
      ...program.getSyntacticDiagnostics(sf),
      ...program.getSemanticDiagnostics(sf),
    ];
    const messages: string[] = [];
    for (const d of diagnostics) {
      const { line, character } = sf.getLineAndCharacterOfPosition(d.start ?? 0);
      const k = line - headerLines;
      if (k < 0) {
        preamble.add(`line ${line + 1}: ${message(d)}`); // the generated header itself
        continue;
      }
      // Past the last code line: the wrapper's closing brace (an unbalanced example).
      const i = Math.min(k, ex.sourceLines.length - 1);
      const col = k === i ? character + ex.prefixWidths[i]! + 1 : 1;
      messages.push(`${ex.file}:${ex.sourceLines[i]}:${col}: ${message(d)}`);
    }
    if (messages.length > 0) failures.push({ where: ex.where, messages });
  }
  if (preamble.size > 0) {
    failures.unshift({ where: '(generated imports and preamble)', messages: [...preamble] });
  }
  return { examples, files: withExamples, failures, ms: performance.now() - started };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = checkDocExamples();
  for (const f of report.failures) process.stdout.write(`${formatFailure(f)}\n`);
  const failing = report.failures.filter((f) => !f.where.startsWith('(')).length;
  process.stdout.write(
    `${failing} of ${report.examples} examples fail ` +
      `(${report.files} files, ${(report.ms / 1000).toFixed(1)} s)\n`,
  );
  process.exitCode = report.failures.length === 0 ? 0 : 1;
}
