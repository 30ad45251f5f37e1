// Runs an example program as a user would (the pinned Node, no KUBECONFIG so it starts the
// embedded API server) and collects its output; killed after `timeoutMs` so a hang fails fast.
import { spawn } from 'node:child_process';

export interface ExampleRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runExample(
  script: string,
  args: readonly string[] = [],
  timeoutMs = 30_000,
): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env['KUBECONFIG'];
    const child = spawn('node_modules/.bin/node', [script, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
