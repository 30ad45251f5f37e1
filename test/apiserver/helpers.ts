import { KubeConfig } from '@kubernetes/client-node';
import { startApiServer } from '@kubecache/apiserver';
import type { ApiServer, ApiServerOptions } from '@kubecache/apiserver';

/** Starts a server and a client-node KubeConfig pointing at it. */
export async function setup(
  options: ApiServerOptions = {},
): Promise<{ server: ApiServer; kc: KubeConfig }> {
  const server = await startApiServer(options);
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfigYaml);
  return { server, kc };
}

/** A parsed watch event as it came off the wire. */
export interface WireEvent {
  type: string;
  object: {
    kind?: string;
    apiVersion?: string;
    metadata?: {
      name?: string;
      resourceVersion?: string;
      annotations?: Record<string, string>;
      labels?: Record<string, string>;
    };
    code?: number;
    reason?: string;
    [key: string]: unknown;
  };
}

/**
 * Opens a watch with plain fetch and collects its events. `next(n)` waits for n more events;
 * `done` resolves when the server ends the stream (or it breaks).
 */
export async function openWatch(
  server: ApiServer,
  pathAndQuery: string,
  headers: Record<string, string> = {},
): Promise<{
  events: WireEvent[];
  status: number;
  next: (count: number, timeoutMs?: number) => Promise<WireEvent[]>;
  done: Promise<{ broken: boolean }>;
  raw: () => string;
  close: () => void;
}> {
  const controller = new AbortController();
  const res = await fetch(server.url + pathAndQuery, { signal: controller.signal, headers });
  const events: WireEvent[] = [];
  let text = '';
  let buffer = '';
  const waiters: (() => void)[] = [];
  const notify = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const done = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        const s = decoder.decode(chunk, { stream: true });
        text += s;
        buffer += s;
        let idx: number;
        while ((idx = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, idx);
          buffer = buffer.slice(idx + 1);
          if (line.trim() !== '') events.push(JSON.parse(line) as WireEvent);
        }
        notify();
      }
      return { broken: false };
    } catch {
      return { broken: true };
    } finally {
      notify();
    }
  })();
  let consumed = 0;
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  const next = async (count: number, timeoutMs = 3000): Promise<WireEvent[]> => {
    const deadline = Date.now() + timeoutMs;
    while (events.length < consumed + count) {
      if (finished) break;
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, remaining);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const out = events.slice(consumed, consumed + count);
    consumed += out.length;
    return out;
  };
  return {
    events,
    status: res.status,
    next,
    done,
    raw: () => text,
    close: () => controller.abort(),
  };
}

export function cm(
  name: string,
  namespace = 'default',
  labels?: Record<string, string>,
  data: Record<string, string> = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    data,
  };
}

export async function json(
  server: ApiServer,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body, headers: res.headers };
}

export const MYAPP_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'myapps.my.domain' },
  spec: {
    group: 'my.domain',
    names: {
      kind: 'MyApp',
      listKind: 'MyAppList',
      plural: 'myapps',
      singular: 'myapp',
      shortNames: ['ma'],
    },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { appName: { type: 'string' }, version: { type: 'string' } },
              },
            },
          },
        },
        subresources: { status: {} },
        additionalPrinterColumns: [{ name: 'App', type: 'string', jsonPath: '.spec.appName' }],
      },
    ],
  },
};
