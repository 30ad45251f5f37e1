// The parent/child protocol of the benchmark data servers (replay-server.ts, embedded-server.ts):
// the child says `ready`, then answers `load`/`unload` requests until `close` or disconnect.
import type { DatasetInfo, DatasetSpec } from './replay-server.ts';
import type { FixtureKind } from './fixtures.ts';

/** A data server the benchmarks read from, in this process or behind IPC. */
export interface DataServer {
  /** Current address (may change on `load` for servers that restart per data set). */
  readonly url: string;
  load(spec: DatasetSpec): Promise<DatasetInfo>;
  close(): Promise<void>;
}

/** Messages parent -> child. */
export type IpcRequest =
  | { id: number; op: 'load'; spec: DatasetSpec }
  | { id: number; op: 'unload'; resource: FixtureKind }
  | { id: number; op: 'close' };

/** Messages child -> parent. */
export type IpcReply =
  | { type: 'ready'; url: string }
  | { type: 'reply'; id: number; info?: DatasetInfo; error?: string };

/**
 * Serves `server` to the parent process over the IPC channel.
 *
 * @example
 * ```ts
 * serveOverIpc(await startReplayServer());
 * ```
 */
export function serveOverIpc(server: DataServer): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a benchmark data server must be started with an IPC channel');
  process.on('message', (msg: IpcRequest) => {
    const reply = (r: Omit<IpcReply & { type: 'reply' }, 'type' | 'id'>) =>
      send({ type: 'reply', id: msg.id, ...r } satisfies IpcReply);
    if (msg.op === 'close') {
      void server.close().then(() => process.exit(0));
      return;
    }
    const spec: DatasetSpec = msg.op === 'load' ? msg.spec : { resource: msg.resource, count: 0 };
    server.load(spec).then(
      (info) => reply({ info }),
      (error: unknown) => reply({ error: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url: server.url } satisfies IpcReply);
}
