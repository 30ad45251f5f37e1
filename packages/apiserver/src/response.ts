/**
 * Writing responses: a JSON body, a `Status` error, and a large LIST body streamed with
 * backpressure.
 *
 * Separate because every handler (discovery, CRUD, LIST, injected faults, the top-level error
 * catch) answers through these few functions, and they carry the two rules that keep a response
 * well-formed: nothing is written after the headers went out (an error half-way through a stream
 * only ends it), and a writer waiting for `drain` also wakes on `close`, so a client that leaves
 * never strands it.
 */
import type { ServerResponse } from 'node:http';
import type { ApiStatusError } from '@kubecache/cache';
import { failureStatus } from './status.js';

/** Size of the writes a large body (LIST, a watch's initial events) is concatenated into. */
export const CHUNK = 1 << 20;

const COMMA = Buffer.from(',');

/** Sends a complete JSON response, or just ends the response if its headers are already out. */
export function sendJson(
  res: ServerResponse,
  code: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    ...headers,
  });
  res.end(body);
}

/** Sends an error as the `Status` object of its code, with `Retry-After` when it has one. */
export function sendStatus(
  res: ServerResponse,
  err: ApiStatusError,
  headers: Record<string, string> = {},
): void {
  const status = err.status ?? failureStatus(err.statusCode, '', err.message);
  const extra = { ...headers };
  if (err.retryAfterSeconds !== undefined) extra['Retry-After'] = String(err.retryAfterSeconds);
  sendJson(res, err.statusCode, JSON.stringify(status), extra);
}

/** Resolves on `drain`, or at once (or on `close`) when the response is gone. */
export function waitDrain(res: ServerResponse): Promise<void> {
  // A response already gone emits neither `drain` nor `close` again: do not wait forever.
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes a list body: a head, then items separated by commas, then a tail, as ~1 MiB chunks
 * concatenated from the items' cached bytes, waiting for `drain` when the socket is full.
 */
export async function writeListBody(
  res: ServerResponse,
  head: string,
  items: readonly Buffer[],
  tail: string,
): Promise<void> {
  let parts: Buffer[] = [Buffer.from(head)];
  let size = parts[0]!.length;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) {
      parts.push(COMMA);
      size++;
    }
    const item = items[i]!;
    parts.push(item);
    size += item.length;
    if (size >= CHUNK) {
      if (!res.write(Buffer.concat(parts, size))) await waitDrain(res);
      if (res.destroyed) return;
      parts = [];
      size = 0;
    }
  }
  parts.push(Buffer.from(tail));
  res.end(Buffer.concat(parts));
}
