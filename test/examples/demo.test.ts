import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const NODE = 'node_modules/.bin/node';
const DEMO = 'examples/deployment-informer.ts';

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runDemo(
  args: string[],
  onLine?: (line: string, kill: (s: NodeJS.Signals) => void) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env['KUBECONFIG'];
    const child = spawn(NODE, [DEMO, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine?.(line, (s) => child.kill(s));
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('examples/deployment-informer.ts (npm start)', () => {
  it('syncs, lists namespace default through the lister, fires every handler and exits 0', async () => {
    const run = await runDemo([]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    for (const name of ['default/api', 'default/nginx', 'default/worker', 'kube-system/coredns']) {
      assert.ok(lines.includes(`Deployment CREATED: ${name}`), `initial add of ${name}`);
    }
    assert.ok(lines.includes('Deployments cache synced'), run.stdout);
    const listed = lines.indexOf('Deployments in namespace default (3):');
    assert.ok(listed > 0, run.stdout);
    assert.deepEqual(lines.slice(listed + 1, listed + 4), [
      '  api  replicas=3',
      '  nginx  replicas=2',
      '  worker  replicas=1',
    ]);
    const tail = lines.slice(listed + 4);
    assert.deepEqual(tail.slice(0, 3), [
      'Deployment CREATED: default/demo',
      'Deployment UPDATED: default/demo (replicas 1 -> 3)',
      'Deployment DELETED: default/demo',
    ]);
    assert.ok(lines.includes('Done.'));
    assert.equal(run.stderr, '');
  });

  it('--watch keeps running until SIGINT, then exits 0', async () => {
    let watching = false;
    const run = await runDemo(['--watch'], (line, kill) => {
      if (line.startsWith('Watching deployments')) {
        watching = true;
        kill('SIGINT');
      }
    });
    assert.ok(watching, run.stdout);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes('Deployment DELETED: default/demo'));
    assert.ok(run.stdout.trimEnd().endsWith('Done.'));
  });

  it('--watch writes a kubeconfig to a temporary directory, prints it and removes it on exit', async () => {
    let path: string | undefined;
    let existed = false;
    const run = await runDemo(['--watch'], (line, kill) => {
      const m = /^Kubeconfig of the embedded API server: (.+)$/.exec(line);
      if (m !== null) path = m[1];
      if (line.startsWith('Watching deployments')) {
        existed = path !== undefined && existsSync(path);
        kill('SIGINT');
      }
    });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(path !== undefined, run.stdout);
    assert.ok(existed, 'the kubeconfig exists while watching');
    assert.ok(run.stdout.includes(`  try: kubectl --kubeconfig ${path} get deploy -w`), run.stdout);
    assert.equal(existsSync(path), false, 'the temporary kubeconfig is removed on exit');
  });

  it('--watch --kubeconfig-out: kubectl scales a deployment and the demo prints the update', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubecache-demo-test-'));
    const out = join(dir, 'kubeconfig');
    try {
      let scaled: Promise<string> | undefined;
      const run = await runDemo(['--watch', '--kubeconfig-out', out], (line, kill) => {
        if (line.startsWith('Watching deployments')) {
          scaled = kubectl(out, ['-n', 'default', 'scale', 'deployment', 'nginx', '--replicas=5']);
          scaled.catch(() => kill('SIGINT'));
        }
        if (line.startsWith('Deployment UPDATED: default/nginx')) kill('SIGINT');
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal((await scaled)?.trim(), 'deployment.apps/nginx scaled');
      assert.ok(
        run.stdout.includes('Deployment UPDATED: default/nginx (replicas 2 -> 5)'),
        run.stdout,
      );
      assert.ok(run.stdout.includes(`Kubeconfig of the embedded API server: ${out}`), run.stdout);
      // A path the user chose is the user's: it stays.
      assert.match(readFileSync(out, 'utf8'), /server: http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
