/** Running the real `kubectl` binary (on PATH, or `KUBECTL`) against a kubeconfig file. */
import { execFile } from 'node:child_process';

export const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

/** Runs kubectl with `--kubeconfig`; resolves with its exit code and output (never rejects). */
export function kubectl(
  kubeconfig: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
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
