// The project's embedded API server (`@kubecache/apiserver`) as a benchmark data source: every
// `load` starts a fresh server seeded with the fixture objects. Run in-process or as a child
// process (`node benchmarks/embedded-server.ts` with an IPC channel; see source.ts).
import { pathToFileURL } from 'node:url';
import { type ApiServer, startApiServer } from '@kubecache/apiserver';
import type { KubeObject } from '@kubecache/cache';
import { makeObject } from './fixtures.ts';
import { type DataServer, serveOverIpc } from './ipc.ts';
import type { DatasetInfo, DatasetSpec } from './replay-server.ts';

/**
 * Starts an embedded-API-server data source (the server itself starts on the first `load`).
 *
 * @example
 * ```ts
 * const source = await startEmbeddedServer();
 * await source.load({ resource: 'configmaps', count: 10_000 });
 * ```
 */
export async function startEmbeddedServer(): Promise<DataServer> {
  let server: ApiServer | undefined;
  return {
    get url() {
      return server?.url ?? '';
    },
    async load(spec: DatasetSpec): Promise<DatasetInfo> {
      if ((spec.events ?? 0) > 0)
        throw new Error('the embedded source serves initial state only (use the replay server)');
      await server?.close();
      server = undefined;
      const objects: KubeObject[] = [];
      let bytes = 0;
      for (let i = 0; i < spec.count; i++) {
        const obj = makeObject({
          kind: spec.resource,
          index: i,
          resourceVersion: i + 1,
          seed: spec.seed,
        });
        bytes += JSON.stringify(obj).length;
        // The server assigns resourceVersions on create.
        delete (obj.metadata as { resourceVersion?: string }).resourceVersion;
        objects.push(obj);
      }
      server = await startApiServer({ objects, host: '127.0.0.1' });
      return {
        listBytes: bytes,
        metadataListBytes: 0,
        eventBytes: 0,
        resourceVersion: '',
        url: server.url,
      };
    },
    async close() {
      await server?.close();
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serveOverIpc(await startEmbeddedServer());
}
