// Installable packages: every package under packages/ is packed with `npm pack`, its tarball
// checked (compiled JavaScript and types, sources for the maps, README, LICENSE, metadata; no
// tests, no build info), then the tarballs are installed into an empty project the way a user
// installs them (`npm ci` of that project, offline: third-party packages come from the npm cache
// that `npm ci` on this repository filled). There a TypeScript program and the README examples
// type-check against the installed types, the program runs on the pinned Node (type stripping)
// against the embedded API server, and the `kubecache-apiserver` command serves. When the machine
// also has a Node older than the client's floor (a system Node on PATH, or the binary named by
// KUBECACHE_OLDER_NODE), the packages whose `engines` allow it run on it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  compareVersions,
  dependencyNodeFloors,
  nodeFloor,
  offlineProject,
  parseVersion,
  readJson,
  ROOT,
  run,
  workspacePackages,
  type Manifest,
  type PackedPackage,
} from './helpers.ts';

const FIXTURE = join(ROOT, 'test', 'packaging', 'fixture');
/** The floor of @kubecache/client (client-node 2.x and undici 8). */
const CLIENT_FLOOR: [number, number, number] = [22, 19, 0];
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface PackJson {
  readonly name: string;
  readonly version: string;
  readonly filename: string;
  readonly integrity: string;
  readonly files: readonly { readonly path: string }[];
}

const packages = workspacePackages();
const ours = new Set(packages.map((p) => p.manifest.name));
/** npm and the programs run on the Node running this test (the repository's pinned Node 24). */
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
};
delete env['KUBECONFIG'];
delete env['NODE_OPTIONS'];

/** ```ts blocks preceded by `<!-- typecheck -->` in a README. */
function checkedExamples(readme: string): string[] {
  const blocks: string[] = [];
  const re = /<!-- typecheck -->\s*\n```ts\n([\s\S]*?)\n```/g;
  for (let m = re.exec(readme); m !== null; m = re.exec(readme)) blocks.push(m[1]!);
  return blocks;
}

/** `node` executables on PATH older than the client's floor (outside this repository). */
function olderNodes(): { path: string; version: string }[] {
  const explicit = process.env['KUBECACHE_OLDER_NODE'];
  const candidates =
    explicit !== undefined && explicit !== ''
      ? [explicit]
      : (process.env['PATH'] ?? '')
          .split(delimiter)
          .filter((d) => d !== '' && !`${d}${sep}`.startsWith(`${ROOT}${sep}`))
          .map((d) => join(d, process.platform === 'win32' ? 'node.exe' : 'node'));
  const found = new Map<string, { path: string; version: string }>();
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    const out = nodeVersion(path);
    if (out !== undefined && compareVersions(parseVersion(out), CLIENT_FLOOR) < 0)
      found.set(out, { path, version: out });
  }
  return [...found.values()];
}

function nodeVersion(node: string): string | undefined {
  try {
    return execFileSync(node, ['-p', 'process.versions.node'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined; // a broken binary skips only itself
  }
}

describe('packaging: npm pack, install into an empty project, use', () => {
  let tmp: string;
  let project: string;
  const packed: PackedPackage[] = [];
  const listings = new Map<string, readonly string[]>();

  before(
    async () => {
      // `npm test` has built already (typecheck); alone, this builds (a no-op when up to date).
      await run(process.execPath, [TSC, '-b'], { cwd: ROOT, env });
      tmp = mkdtempSync(join(tmpdir(), 'kubecache-pack-'));
      const dest = join(tmp, 'tarballs');
      project = join(tmp, 'project');
      const args = ['pack', '--json', '--pack-destination', dest];
      for (const p of packages) args.push('--workspace', `packages/${p.dir}`);
      mkdirSync(dest);
      mkdirSync(project);
      const result = await run('npm', args, { cwd: ROOT, env, timeoutMs: 60_000 });
      const json = JSON.parse(result.stdout) as PackJson[];
      for (const p of packages) {
        const entry = json.find((j) => j.name === p.manifest.name);
        assert.ok(entry, `npm pack produced no tarball for ${p.manifest.name}`);
        listings.set(
          p.manifest.name,
          entry.files.map((f) => f.path),
        );
        packed.push({
          dir: p.dir,
          manifest: p.manifest,
          tarball: join(dest, entry.filename),
          integrity: entry.integrity,
        });
      }
    },
    { timeout: 120_000 },
  );

  after(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the packages under packages/', () => {
    assert.ok(packages.length >= 5, `only ${packages.map((p) => p.dir).join(', ')}`);
    for (const name of ['@kubecache/cache', '@kubecache/client', '@kubecache/apiserver'])
      assert.ok(ours.has(name), `${name} is missing`);
  });

  it('every package has the metadata a registry page and npm need', () => {
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
    const root = readJson<Manifest>(join(ROOT, 'package.json'));
    assert.match(root.version ?? '', /^\d+\.\d+\.\d+/, 'the root package.json has a version');
    assert.match(
      root.scripts?.['prepare'] ?? '',
      /\btsc -b\b/,
      'npm ci builds (root prepare), so bins like kubecache-apiserver work in a fresh clone',
    );
    for (const { dir, manifest: m } of packages) {
      const where = `packages/${dir}/package.json`;
      assert.equal(m.license, 'Apache-2.0', `${where}: license`);
      assert.equal(m.type, 'module', `${where}: type`);
      assert.ok((m.description ?? '').length > 20, `${where}: description`);
      assert.ok((m.keywords ?? []).includes('kubernetes'), `${where}: keywords`);
      assert.ok(m.files?.includes('dist'), `${where}: files ships dist`);
      const copy = join(ROOT, 'packages', dir, 'LICENSE');
      assert.ok(
        existsSync(copy),
        `packages/${dir}/LICENSE is missing (a copy of the root LICENSE)`,
      );
      assert.equal(
        readFileSync(copy, 'utf8'),
        license,
        `packages/${dir}/LICENSE is a copy of the root LICENSE`,
      );
      const readmePath = join(ROOT, 'packages', dir, 'README.md');
      assert.ok(existsSync(readmePath), `packages/${dir}/README.md is missing`);
      const readme = readFileSync(readmePath, 'utf8');
      assert.ok(
        readme.startsWith(`# ${m.name}\n`),
        `packages/${dir}/README.md is titled ${m.name}`,
      );
      for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
        if (!ours.has(dep)) continue;
        const target = packages.find((p) => p.manifest.name === dep)!.manifest.version;
        assert.ok(
          range === target || range === `^${target}` || range === `~${target}`,
          `${where}: ${dep}@${range} is not the workspace's ${target}`,
        );
      }
    }
  });

  it('engines.node is no lower than what the package and its dependencies need', () => {
    for (const { dir, manifest: m } of packages) {
      const where = `packages/${dir}/package.json`;
      const range = m.engines?.node ?? '';
      assert.match(range, /^>=\d+\.\d+\.\d+$/, `${where}: engines.node is a plain >=x.y.z`);
      const floor = nodeFloor(range)!;
      const needs = [...dependencyNodeFloors(dir, m, ours)];
      for (const dep of Object.keys(m.dependencies ?? {}).filter((d) => ours.has(d))) {
        const r = packages.find((p) => p.manifest.name === dep)!.manifest.engines?.node;
        if (r !== undefined) needs.push({ name: dep, range: r });
      }
      for (const need of needs) {
        const required = nodeFloor(need.range);
        if (required === undefined) continue;
        assert.ok(
          compareVersions(floor, required) >= 0,
          `${m.name} declares node ${range}, but its dependency ${need.name} needs ${need.range}`,
        );
      }
      if (
        Object.keys(m.dependencies ?? {}).includes('@kubernetes/client-node') ||
        needs.some((n) => n.name.startsWith('@kubecache/client'))
      ) {
        assert.ok(compareVersions(floor, CLIENT_FLOOR) >= 0, `${m.name}: client-node needs 22.19`);
      }
    }
  });

  it('each tarball holds dist (JS and types), sources, README, LICENSE; no tests, no build info', () => {
    for (const { dir, manifest: m } of packed) {
      const files = new Set(listings.get(m.name));
      const has = (f: string, why: string): void =>
        assert.ok(files.has(f), `${m.name}: tarball lacks ${f} (${why})`);
      has('package.json', 'always');
      has('README.md', `packages/${dir}/README.md`);
      has('LICENSE', `packages/${dir}/LICENSE`);
      has('dist/index.js', 'the entry point');
      has('dist/index.d.ts', 'the types');
      const targets = [
        m.main,
        m.types,
        ...Object.values(m.bin ?? {}),
        ...Object.values(m.exports ?? {}).flatMap((e) =>
          typeof e === 'string' ? [e] : Object.values(e),
        ),
      ].filter((t): t is string => t !== undefined);
      for (const t of targets) has(t.replace(/^\.\//, ''), 'named in package.json');
      for (const f of files) {
        assert.doesNotMatch(
          f,
          /(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[cm]?[jt]s$/,
          `${m.name}: ships a test file ${f}`,
        );
        assert.doesNotMatch(f, /tsbuildinfo|\.tgz$/, `${m.name}: ships ${f}`);
        // Every compiled file has its source: anything else is stale output of a deleted source.
        const compiled = /^dist\/(.+?)\.(js|d\.ts)$/.exec(f);
        if (compiled !== null)
          assert.ok(
            files.has(`src/${compiled[1]}.ts`),
            `${m.name}: ${f} has no src/${compiled[1]}.ts (stale build output: ` +
              'run `npx tsc -b --clean && npx tsc -b`)',
          );
      }
    }
  });

  it(
    'installs the tarballs into an empty project without the network',
    { timeout: 120_000 },
    async () => {
      const { manifest, lock } = offlineProject(packed, ['@kubernetes/client-node', '@types/node']);
      writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      writeFileSync(join(project, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
      try {
        await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], {
          cwd: project,
          env,
          timeoutMs: 120_000,
        });
      } catch (err) {
        throw new Error(
          'npm ci --offline of the tarballs failed. It installs third-party packages from ' +
            "npm's cache, which `npm ci` in this repository fills: run that first.",
          { cause: err },
        );
      }
      for (const { manifest: m } of packed) {
        const installed = join(project, 'node_modules', ...m.name.split('/'));
        assert.ok(
          !lstatSync(installed).isSymbolicLink(),
          `${m.name} is a link, not the tarball's content`,
        );
        assert.deepEqual(
          readJson<Manifest>(join(installed, 'package.json')).version,
          m.version,
          `${m.name}: installed version`,
        );
        assert.ok(
          !existsSync(join(installed, 'node_modules', '@kubecache')),
          `${m.name} has a nested @kubecache package`,
        );
        // Declaration and source maps point into src/, which ships: go-to-definition opens the source.
        for (const f of readdirSync(join(installed, 'dist'), { recursive: true })) {
          if (!String(f).endsWith('.map')) continue;
          const map = readJson<{ sources: string[] }>(join(installed, 'dist', String(f)));
          for (const s of map.sources) {
            const target = join(installed, 'dist', dirname(String(f)), s);
            assert.ok(
              existsSync(target),
              `${m.name}: dist/${String(f)} points at ${relative(installed, target)}, not shipped`,
            );
          }
        }
      }
    },
  );

  it(
    'a TypeScript program and the README examples type-check against the installed packages',
    { timeout: 120_000 },
    async () => {
      copyFileSync(join(FIXTURE, 'program.ts'), join(project, 'program.ts'));
      const files = ['program.ts'];
      for (const { dir, manifest: m } of packed) {
        const installed = join(project, 'node_modules', ...m.name.split('/'));
        checkedExamples(readFileSync(join(installed, 'README.md'), 'utf8')).forEach((code, i) => {
          const file = `readme-${dir}-${i + 1}.ts`;
          writeFileSync(join(project, file), `${code}\nexport {};\n`);
          files.push(file);
        });
      }
      assert.ok(files.length > 1, 'no README example is marked <!-- typecheck -->');
      const tsconfig = {
        compilerOptions: {
          target: 'ES2023',
          lib: ['ES2023'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          types: ['node'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          verbatimModuleSyntax: true,
          erasableSyntaxOnly: true,
        },
        files,
      };
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
      await run(process.execPath, [TSC, '-p', 'tsconfig.json'], {
        cwd: project,
        env,
        timeoutMs: 120_000,
      });
    },
  );

  it(
    'the program runs with Node type stripping against the embedded API server',
    { timeout: 60_000 },
    async () => {
      const { stdout } = await run(process.execPath, ['program.ts'], {
        cwd: project,
        env,
        timeoutMs: 60_000,
      });
      assert.equal(
        stdout,
        [
          'synced: true',
          'all: api,web',
          'backend: api',
          'backend after create: api,worker',
          'handler saw: api,web,worker',
          '',
        ].join('\n'),
      );
    },
  );

  it('the kubecache-apiserver command of the installed package serves', async () => {
    const bin = join(project, 'node_modules', '.bin', 'kubecache-apiserver');
    const help = await run(bin, ['--help'], { cwd: project, env, timeoutMs: 30_000 });
    assert.match(help.stdout, /^Usage: kubecache-apiserver/);
    const kubeconfig = join(project, 'kubeconfig');
    const child = spawn(bin, ['--port', '0', '--kubeconfig-out', kubeconfig], {
      cwd: project,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no address; got: ${out}`)), 30_000);
        child.stdout.setEncoding('utf8').on('data', (c: string) => {
          out += c;
          const m = /listening on (\S+)/.exec(out);
          if (m !== null && out.includes('kubeconfig written')) {
            clearTimeout(timer);
            resolveUrl(m[1]!);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const res = await fetch(`${url}/api/v1/namespaces`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { items: { metadata: { name: string } }[] };
      assert.ok(body.items.some((n) => n.metadata.name === 'default'));
      assert.match(readFileSync(kubeconfig, 'utf8'), new RegExp(`server: ${url}`));
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('packages that declare an older Node run on one (when the machine has one)', async (t) => {
    const olders = olderNodes();
    if (olders.length === 0) {
      t.skip(`no Node older than ${CLIENT_FLOOR.join('.')} on PATH (or KUBECACHE_OLDER_NODE)`);
      return;
    }
    for (const older of olders) {
      const supported = packed
        .filter((p) => {
          const floor = nodeFloor(p.manifest.engines?.node ?? '');
          return floor !== undefined && compareVersions(parseVersion(older.version), floor) >= 0;
        })
        .map((p) => p.manifest.name);
      if (supported.length === 0) continue;
      copyFileSync(join(FIXTURE, 'older-node.mjs'), join(project, 'older-node.mjs'));
      const { stdout } = await run(older.path, ['older-node.mjs', ...supported], {
        cwd: project,
        env: { ...env, PATH: process.env['PATH'] ?? '' },
        timeoutMs: 60_000,
      });
      const expected = supported.map((n) => `loaded ${n}`);
      const has = (n: string): boolean => supported.includes(`@kubecache/${n}`);
      if (has('cache')) expected.push('cache: x');
      if (has('cache') && has('apiserver')) {
        expected.push('informer synced: true', 'informer: app,other (handler saw app,other)');
        if (has('config')) expected.push('config: mode=blue');
      }
      assert.equal(stdout, `${expected.join('\n')}\n`, `on Node ${older.version}`);
      t.diagnostic(`Node ${older.version}: ${supported.join(', ')}`);
    }
  });
});
