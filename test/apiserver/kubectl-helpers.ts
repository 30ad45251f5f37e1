/**
 * Running the real `kubectl` binary (on PATH, or `$KUBECTL`) against an embedded server in tests:
 * one-shot commands (with stdin or extra environment, e.g. a non-interactive `EDITOR`), and
 * `kubectl get -w` until its output matches.
 */
import { execFile, spawn } from 'node:child_process';
import type { ApiServer } from '@kubecache/apiserver';

export const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

/** What a one-shot kubectl run printed. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of a one-shot run: text on stdin, and variables added to the environment. */
export interface KubectlOptions {
  readonly stdin?: string;
  readonly env?: Record<string, string>;
}

/**
 * Runs `kubectl --kubeconfig <file> <args>` and collects its output; resolves with its exit code
 * (never rejects). The third argument is stdin text, or options.
 */
export function kubectl(
  kubeconfig: string,
  args: string[],
  stdinOrOptions: string | KubectlOptions = {},
): Promise<KubectlResult> {
  const options: KubectlOptions =
    typeof stdinOrOptions === 'string' ? { stdin: stdinOrOptions } : stdinOrOptions;
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfig, ...args],
      { timeout: 20_000, env: { ...process.env, ...options.env } },
      (err, stdout, stderr) => {
        resolve({
          code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1,
          stdout,
          stderr,
        });
      },
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}

/** Runs `kubectl get -w`, acts once its watch is open, and resolves once `until` matches its output. */
export function watchUntil(
  server: ApiServer,
  kubeconfig: string,
  args: string[],
  until: RegExp,
  act: () => Promise<void> | void,
): Promise<string> {
  const watchesBefore = server.stats.watches;
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let acted = false;
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`kubectl ${args.join(' ')} never printed ${String(until)}; got:\n${out}`));
    }, 15_000);
    // Act once kubectl has opened its watch (it lists first, then watches from the list RV).
    const poll = setInterval(() => {
      if (acted || server.stats.watches === watchesBefore) return;
      acted = true;
      clearInterval(poll);
      void Promise.resolve(act()).catch(reject);
    }, 20);
    child.on('exit', () => clearInterval(poll));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (until.test(out)) {
        clearTimeout(timer);
        child.kill();
        resolve(out);
      }
    });
  });
}
