/**
 * Request bodies: reading them under the size limit and decoding JSON (or YAML, for server-side
 * apply) into an object.
 *
 * Separate because the limit is enforced twice, on the declared `Content-Length` before reading
 * and on the bytes actually received (a chunked body declares nothing), and because the decode
 * errors are the real server's 400 messages, which clients and tests match on.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { ApiStatusError, KubeObject } from '@kubecache/cache';
import { badRequest, statusError } from './status.js';

/** The real server's default request body limit (3 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

function tooLarge(limit: number): ApiStatusError {
  return statusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

/** The body as text; 413 (and the rest of the body drained) when it exceeds `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a body as JSON (or YAML); 400 unless it is an object or an array. */
export function parseBody(text: string, yaml: boolean): KubeObject {
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(
      `couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (typeof value !== 'object' || value === null) {
    throw badRequest('the body of the request must be a JSON object or array');
  }
  return value as KubeObject;
}

/** Reads and parses a JSON object body (an object to create or replace); 400 for an array. */
export async function readJson(req: IncomingMessage, limit: number): Promise<KubeObject> {
  const value = parseBody(await readBody(req, limit), false);
  if (Array.isArray(value))
    throw badRequest("couldn't get version/kind; json parse error: expected an object");
  return value;
}
