/**
 * The production dependency tree of each published package, as the README's table shows it:
 * direct dependencies with version and license, and how many packages each pulls in overall.
 * Resolved from node_modules the way Node resolves imports, so it matches `npm ls --omit=dev --all`.
 *
 *   node scripts/dependency-table.ts          prints the table
 *   node scripts/dependency-table.ts --write  rewrites it in README.md between its markers
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const START_MARKER = '<!-- dependency-table:start -->';
export const END_MARKER = '<!-- dependency-table:end -->';

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly private?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The directory `name` resolves to from `fromDir` (Node's node_modules walk). */
function resolvePackage(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Every package reachable through `dependencies` (not dev, not optional peers), by name@version. */
function closure(dir: string, seen: Map<string, Manifest>): void {
  const manifest = readManifest(dir);
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    const depDir = resolvePackage(dep, dir);
    if (depDir === undefined) continue; // an optional dependency for another platform
    const m = readManifest(depDir);
    const id = `${m.name}@${m.version}`;
    if (seen.has(id)) continue;
    seen.set(id, m);
    closure(depDir, seen);
  }
}

/** The markdown table. */
export function dependencyTable(): string {
  const rows: string[] = [
    '| package | direct production dependencies (version, license) | packages installed in all | their licenses |',
    '| --- | --- | --- | --- |',
  ];
  const packagesDir = join(ROOT, 'packages');
  for (const entry of readdirSync(packagesDir).sort()) {
    const dir = join(packagesDir, entry);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const manifest = readManifest(dir);
    const direct = Object.keys(manifest.dependencies ?? {})
      .filter((d) => !d.startsWith('@kubecache/'))
      .sort()
      .map((d) => {
        const depDir = resolvePackage(d, dir);
        const m = depDir === undefined ? undefined : readManifest(depDir);
        return `\`${d}\` ${m?.version ?? '?'} (${m?.license ?? '?'})`;
      });
    const optionalPeers = Object.keys(manifest.peerDependencies ?? {})
      .filter((d) => manifest.peerDependenciesMeta?.[d]?.optional === true)
      .map((d) => `\`${d}\` (optional peer)`);
    const seen = new Map<string, Manifest>();
    closure(dir, seen);
    const externals = [...seen.entries()].filter(([id]) => !id.startsWith('@kubecache/'));
    const licenses = new Map<string, number>();
    for (const [, m] of externals) {
      const license = m.license ?? 'unknown';
      licenses.set(license, (licenses.get(license) ?? 0) + 1);
    }
    const licenseSummary = [...licenses.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([license, n]) => `${license} ${n}`)
      .join(', ');
    const kubecache = Object.keys(manifest.dependencies ?? {})
      .filter((d) => d.startsWith('@kubecache/'))
      .sort();
    const deps = [...direct, ...optionalPeers, ...kubecache.map((d) => `\`${d}\``)];
    rows.push(
      `| \`${manifest.name}\` | ${deps.length === 0 ? 'none' : deps.join(', ')} | ${externals.length} | ${licenseSummary || '-'} |`,
    );
  }
  return rows.join('\n');
}

/** README.md with its table replaced by the current one. */
export function readmeWithTable(readme: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1 || end === -1) throw new Error('README.md lacks the dependency-table markers');
  return `${readme.slice(0, start + START_MARKER.length)}\n${dependencyTable()}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) {
    const path = join(ROOT, 'README.md');
    writeFileSync(path, readmeWithTable(readFileSync(path, 'utf8')));
  } else {
    process.stdout.write(`${dependencyTable()}\n`);
  }
}
