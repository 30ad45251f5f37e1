// Where the benchmarks' objects come from: the replay server (see replay-server.ts), either in a
// child process (default: its CPU work stays off the measured thread) or in this process.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import {
  type DatasetInfo,
  type DatasetSpec,
  type ReplayReply,
  type ReplayRequest,
  startReplayServer,
} from './replay-server.ts';
import type { FixtureKind } from './fixtures.ts';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** A running data source. */
export interface Source {
  readonly url: string;
  readonly mode: 'child' | 'in-process';
  /** (Re)loads the data set of one resource. */
  load(spec: DatasetSpec): Promise<DatasetInfo>;
  unload(resource: FixtureKind): Promise<void>;
  close(): Promise<void>;
}

/**
 * A KubeConfig pointing at `url` (plain HTTP, no auth), loadable by client-node and kubecache.
 *
 * @example
 * ```ts
 * const kc = kubeConfigFor('http://127.0.0.1:8080');
 * ```
 */
export function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'bench', server: url, skipTLSVerify: true }],
    users: [{ name: 'bench' }],
    contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
    currentContext: 'bench',
  });
  return kc;
}

/**
 * Starts the replay server as a child process or in this process.
 *
 * @example
 * ```ts
 * const source = await startSource('child');
 * await source.load({ resource: 'pods', count: 10_000 });
 * ```
 */
export async function startSource(mode: 'child' | 'in-process'): Promise<Source> {
  if (mode === 'in-process') {
    const server = await startReplayServer();
    return {
      url: server.url,
      mode,
      load: (spec) => Promise.resolve(server.load(spec)),
      unload: async (resource) => {
        server.load({ resource, count: 0 });
      },
      close: () => server.close(),
    };
  }
  const child: ChildProcess = fork(fileURLToPath(new URL('./replay-server.ts', import.meta.url)), {
    execPath: process.execPath,
    execArgv: ['--max-old-space-size=8192'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (reply: ReplayReply & { type: 'reply' }) => void>();
  let url = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`replay server exited with ${code}`)));
    child.on('message', (msg: ReplayReply) => {
      if (msg.type === 'ready') {
        url = msg.url;
        resolve();
      } else {
        pending.get(msg.id)?.(msg);
        pending.delete(msg.id);
      }
    });
  });
  await ready;
  let nextId = 1;
  const call = (req: WithoutId<ReplayRequest>) =>
    new Promise<ReplayReply & { type: 'reply' }>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      child.send({ ...req, id });
    });
  return {
    url,
    mode,
    async load(spec) {
      const reply = await call({ op: 'load', spec });
      if (!reply.info) throw new Error('replay server sent no data set info');
      return reply.info;
    },
    async unload(resource) {
      await call({ op: 'unload', resource });
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}
