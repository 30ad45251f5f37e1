/** Running the real `kubectl` binary (on PATH, or `$KUBECTL`) against a test server. */
import { execFile } from 'node:child_process';

export const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

/** Runs `kubectl --kubeconfig <file> <args>` (optionally with stdin) and collects its output. */
export function kubectl(
  kubeconfig: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfig, ...args],
      { timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({
          code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1,
          stdout,
          stderr,
        });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}
