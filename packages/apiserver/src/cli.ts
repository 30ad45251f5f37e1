#!/usr/bin/env node
/**
 * `kubecache-apiserver`: runs the embedded API server as a process.
 *
 * @example
 * ```sh
 * npx kubecache-apiserver --port 8080 --kubeconfig-out ./kubeconfig
 * kubectl --kubeconfig ./kubeconfig get configmaps
 * ```
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startApiServer } from './server.js';

const USAGE = `Usage: kubecache-apiserver [--port 8080] [--host 127.0.0.1] [--kubeconfig-out ./kubeconfig]
                           [--tls] [--token T] [--bookmark-interval-ms 60000] [--history-size 100000]
                           [--allow-non-loopback]   (needed for a --host other than loopback)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      'kubeconfig-out': { type: 'string' },
      tls: { type: 'boolean', default: false },
      token: { type: 'string' },
      'bookmark-interval-ms': { type: 'string' },
      'history-size': { type: 'string' },
      'allow-non-loopback': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`invalid --port ${values.port}`);
  const server = await startApiServer({
    port,
    host: values.host,
    allowNonLoopback: values['allow-non-loopback'],
    tls: values.tls,
    token: values.token,
    bookmarkIntervalMs:
      values['bookmark-interval-ms'] !== undefined
        ? Number(values['bookmark-interval-ms'])
        : undefined,
    historySize: values['history-size'] !== undefined ? Number(values['history-size']) : undefined,
  });
  const out = values['kubeconfig-out'];
  if (out !== undefined) writeFileSync(out, server.kubeconfigYaml, { mode: 0o600 });
  process.stdout.write(`kubecache-apiserver listening on ${server.url}\n`);
  if (out !== undefined) process.stdout.write(`kubeconfig written to ${out}\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `kubecache-apiserver: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`,
  );
  process.exit(1);
});
