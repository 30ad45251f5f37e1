// Where the benchmarks' objects come from: the replay server (replay-server.ts: pre-serialized
// bytes, never the bottleneck) or the project's embedded API server (embedded-server.ts), either
// in a child process (default: the server's CPU work stays off the measured thread) or in this
// process.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import type { FixtureKind } from './fixtures.ts';
import type { DataServer, IpcReply, IpcRequest } from './ipc.ts';
import type { DatasetInfo, DatasetSpec } from './replay-server.ts';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** Which data server. */
export type SourceKind = 'replay' | 'embedded';

/** A running data source. */
export interface Source {
  /** Address of the last loaded data set. */
  readonly url: string;
  readonly kind: SourceKind;
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

const SCRIPTS: Record<SourceKind, string> = {
  replay: './replay-server.ts',
  embedded: './embedded-server.ts',
};

async function inProcess(kind: SourceKind): Promise<DataServer> {
  if (kind === 'replay') return (await import('./replay-server.ts')).startReplayServer();
  return (await import('./embedded-server.ts')).startEmbeddedServer();
}

/**
 * Starts a data server as a child process or in this process.
 *
 * @example
 * ```ts
 * const source = await startSource('replay', 'child');
 * await source.load({ resource: 'pods', count: 10_000 });
 * ```
 */
export async function startSource(kind: SourceKind, mode: 'child' | 'in-process'): Promise<Source> {
  if (mode === 'in-process') {
    const server = await inProcess(kind);
    return {
      get url() {
        return server.url;
      },
      kind,
      mode,
      load: (spec) => server.load(spec),
      unload: async (resource) => {
        await server.load({ resource, count: 0 });
      },
      close: () => server.close(),
    };
  }
  const child: ChildProcess = fork(fileURLToPath(new URL(SCRIPTS[kind], import.meta.url)), {
    execPath: process.execPath,
    execArgv: ['--max-old-space-size=12288'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (reply: IpcReply & { type: 'reply' }) => void>();
  let url = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    child.on('message', (msg: IpcReply) => {
      if (msg.type === 'ready') {
        url = msg.url;
        resolve();
      } else {
        pending.get(msg.id)?.(msg);
        pending.delete(msg.id);
      }
    });
  });
  let nextId = 1;
  const call = (req: WithoutId<IpcRequest>) =>
    new Promise<IpcReply & { type: 'reply' }>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      child.send({ ...req, id });
    });
  return {
    get url() {
      return url;
    },
    kind,
    mode,
    async load(spec) {
      const reply = await call({ op: 'load', spec });
      if (!reply.info) throw new Error(`${kind} server sent no data set info`);
      url = reply.info.url;
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
