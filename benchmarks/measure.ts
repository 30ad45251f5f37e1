// Small measuring helpers shared by the benchmark scenarios.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

/** One measured figure (the `--json` schema). */
export interface Result {
  scenario: string;
  impl: 'kubecache' | 'client-node' | 'floor';
  metric: string;
  value: number;
  unit: string;
}

/**
 * The median of `xs` (the lower middle for even lengths).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Collects garbage thoroughly (several full GCs with event-loop turns in between, so finalizers
 * and weak references settle). Requires `--expose-gc`.
 *
 * @example
 * ```ts
 * await settle();
 * const used = process.memoryUsage().heapUsed;
 * ```
 */
export async function settle(): Promise<void> {
  if (!gc) throw new Error('run node with --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Writes a progress line to stderr.
 *
 * @example
 * ```ts
 * progress('sync 10k: kubecache 123 ms');
 * ```
 */
export function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** The machine a run was measured on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  clientNode: string;
  /** 1-minute load average when the run started (other work on the machine skews figures). */
  loadAverage: number;
}

/**
 * CPU model, cores, memory, Node and client-node versions.
 *
 * @example
 * ```ts
 * console.log(machineInfo().cpu);
 * ```
 */
export function machineInfo(): MachineInfo {
  const cpu = cpus();
  let clientNode = 'unknown';
  try {
    const pkg = JSON.parse(
      readFileSync(
        new URL('../node_modules/@kubernetes/client-node/package.json', import.meta.url),
        'utf8',
      ),
    ) as { version: string };
    clientNode = pkg.version;
  } catch {
    // leave unknown
  }
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    clientNode,
    loadAverage: loadavg()[0],
  };
}
