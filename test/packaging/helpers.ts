// Helpers of the packaging test: the workspace packages, child processes, the offline lockfile of
// the temporary project, and Node version ranges as package.json `engines` write them.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly description?: string;
  readonly keywords?: readonly string[];
  readonly license?: string;
  readonly type?: string;
  readonly engines?: { readonly node?: string };
  readonly main?: string;
  readonly types?: string;
  readonly exports?: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
  readonly bin?: Readonly<Record<string, string>>;
  readonly files?: readonly string[];
  readonly scripts?: Readonly<Record<string, string>>;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}

export interface WorkspacePackage {
  /** Directory name under packages/. */
  readonly dir: string;
  readonly manifest: Manifest;
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Every publishable package: packages/<dir>/package.json, not private. */
export function workspacePackages(): WorkspacePackage[] {
  return readdirSync(join(ROOT, 'packages'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'packages', d.name, 'package.json')))
    .map((d) => ({
      dir: d.name,
      manifest: readJson<Manifest>(join(ROOT, 'packages', d.name, 'package.json')),
    }))
    .filter((p) => p.manifest.private !== true)
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`); rejects unless it exits 0. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr };
      if (code === 0) resolvePromise(result);
      else {
        const how = signal === null ? `exit ${code}` : `signal ${signal} (timeout?)`;
        reject(
          new Error(
            `${command} ${args.join(' ')} (in ${options.cwd}): ${how}\n` +
              `--- stdout\n${stdout}\n--- stderr\n${stderr}`,
          ),
        );
      }
    });
  });
}

/** The lowest Node version a range allows, as [major, minor, patch] (`>=22.19.0`, `20 || >=22`, `^18.0.0`, `>= 14.6`). */
export function nodeFloor(range: string): [number, number, number] | undefined {
  let lowest: [number, number, number] | undefined;
  for (const alternative of range.split('||')) {
    const m = /^\s*(?:>=|\^|~|=)?\s*v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?/.exec(alternative);
    if (m === null) return undefined;
    const v: [number, number, number] = [
      Number(m[1]),
      /^\d+$/.test(m[2] ?? '') ? Number(m[2]) : 0,
      /^\d+$/.test(m[3] ?? '') ? Number(m[3]) : 0,
    ];
    if (lowest === undefined || compareVersions(v, lowest) < 0) lowest = v;
  }
  return lowest;
}

export function parseVersion(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map(Number);
  return [major, minor, patch];
}

export function compareVersions(
  a: readonly [number, number, number],
  b: readonly [number, number, number],
): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

interface LockEntry {
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly link?: boolean;
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly optional?: boolean;
  readonly peer?: boolean;
  readonly engines?: { readonly node?: string } | readonly string[];
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
  readonly [field: string]: unknown;
}

/** The repository's package-lock.json `packages` map. */
export function repoLock(): Readonly<Record<string, LockEntry>> {
  return readJson<{ packages: Record<string, LockEntry> }>(join(ROOT, 'package-lock.json'))
    .packages;
}

/** Dependencies npm installs for a package: regular, optional, and non-optional peers. */
function installedDeps(entry: {
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}): string[] {
  const peers = Object.keys(entry.peerDependencies ?? {}).filter(
    (p) => entry.peerDependenciesMeta?.[p]?.optional !== true,
  );
  return [
    ...Object.keys(entry.dependencies ?? {}),
    ...Object.keys(entry.optionalDependencies ?? {}),
    ...peers,
  ];
}

/** Where `name` resolves from lock location `from`, walking up as Node does ('' is the root). */
function resolveInLock(
  lock: Readonly<Record<string, LockEntry>>,
  from: string,
  name: string,
): string | undefined {
  for (let dir = from; ;) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    const entry = lock[candidate];
    if (entry !== undefined && entry.link !== true) return candidate;
    if (dir === '') return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

export interface PackedPackage {
  readonly dir: string;
  readonly manifest: Manifest;
  /** Absolute path of the tarball. */
  readonly tarball: string;
  readonly integrity: string;
}

/**
 * package.json and package-lock.json of a project that depends on the packed tarballs and on
 * `extraDeps` (third-party packages the program imports itself). Third-party packages are
 * exactly those the repository's lockfile resolved (same versions, same integrity, same
 * layout), so `npm ci --offline` installs them from npm's cache, which `npm ci` on the
 * repository filled: no network. Only the production closure is copied, so a dependency a
 * package uses without declaring it is missing, as it would be for a user.
 */
export function offlineProject(
  packed: readonly PackedPackage[],
  extraDeps: readonly string[],
): { manifest: object; lock: object } {
  const lock = repoLock();
  const ours = new Map(packed.map((p) => [p.manifest.name, p]));
  const rootDeps: Record<string, string> = {};
  const out: Record<string, object> = {};
  const wanted: [from: string, name: string][] = [];

  for (const p of packed) {
    const spec = `file:${p.tarball}`;
    rootDeps[p.manifest.name] = spec;
    const m = p.manifest;
    out[`node_modules/${m.name}`] = {
      version: m.version,
      resolved: spec,
      integrity: p.integrity,
      ...(m.license === undefined ? {} : { license: m.license }),
      ...(m.dependencies === undefined ? {} : { dependencies: m.dependencies }),
      ...(m.optionalDependencies === undefined
        ? {}
        : { optionalDependencies: m.optionalDependencies }),
      ...(m.peerDependencies === undefined ? {} : { peerDependencies: m.peerDependencies }),
      ...(m.peerDependenciesMeta === undefined
        ? {}
        : { peerDependenciesMeta: m.peerDependenciesMeta }),
      ...(m.bin === undefined ? {} : { bin: m.bin }),
      ...(m.engines === undefined ? {} : { engines: m.engines }),
    };
    for (const dep of installedDeps(m)) {
      if (!ours.has(dep)) wanted.push([`packages/${p.dir}`, dep]);
    }
  }
  for (const dep of extraDeps) {
    const at = resolveInLock(lock, '', dep);
    const version = at === undefined ? undefined : lock[at]?.version;
    if (version === undefined) throw new Error(`${dep} is not in the repository's lockfile`);
    rootDeps[dep] = version;
    wanted.push(['', dep]);
  }

  // A workspace's own nested node_modules become the installed package's nested node_modules.
  const relocate = (lockPath: string): string => {
    for (const p of packed) {
      const prefix = `packages/${p.dir}/`;
      if (lockPath.startsWith(prefix))
        return `node_modules/${p.manifest.name}/${lockPath.slice(prefix.length)}`;
    }
    return lockPath;
  };
  const copied = new Set<string>();
  while (wanted.length > 0) {
    const [from, name] = wanted.pop()!;
    const at = resolveInLock(lock, from, name);
    if (at === undefined) {
      const optional =
        from !== '' &&
        from.startsWith('node_modules/') &&
        lock[from]?.optionalDependencies?.[name] !== undefined;
      if (optional) continue;
      throw new Error(`${name} (needed by ${from || 'the project'}) is not in the lockfile`);
    }
    if (copied.has(at)) continue;
    copied.add(at);
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = lock[at]!;
    out[relocate(at)] = entry;
    for (const dep of installedDeps(entry)) if (!ours.has(dep)) wanted.push([at, dep]);
  }

  const name = 'kubecache-packaging-check';
  const manifest = {
    name,
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: rootDeps,
  };
  return {
    manifest,
    lock: {
      name,
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name, version: '1.0.0', dependencies: rootDeps }, ...out },
    },
  };
}

/** The lowest Node each third-party package in the production closure of `manifest` allows. */
export function dependencyNodeFloors(
  dir: string,
  manifest: Manifest,
  ours: ReadonlySet<string>,
): { name: string; range: string }[] {
  const lock = repoLock();
  const found: { name: string; range: string }[] = [];
  const seen = new Set<string>();
  const wanted: [string, string][] = installedDeps(manifest)
    .filter((d) => !ours.has(d))
    .map((d) => [`packages/${dir}`, d]);
  while (wanted.length > 0) {
    const [from, name] = wanted.pop()!;
    const at = resolveInLock(lock, from, name);
    if (at === undefined || seen.has(at)) continue;
    seen.add(at);
    const entry = lock[at]!;
    const engines = entry.engines;
    const range = Array.isArray(engines) ? undefined : (engines as { node?: string })?.node;
    if (range !== undefined) found.push({ name: `${name}@${entry.version}`, range });
    for (const dep of installedDeps(entry)) wanted.push([at, dep]);
  }
  return found;
}
