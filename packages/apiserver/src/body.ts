/**
 * Request bodies: reading them under the size limit and decoding JSON, YAML or Kubernetes
 * protobuf (`protobuf.ts`) into an object, by the media type `media.ts` accepts.
 *
 * Separate because the limit is enforced twice, on the declared `Content-Length` before reading
 * and on the bytes actually received (a chunked body declares nothing), and because the decode
 * errors are the real server's 400 messages, which clients and tests match on.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { ApiStatusError, KubeObject } from '@kubecache/cache';
import { bodyMediaType } from './media.js';
import { decodeProtobufBody } from './protobuf.js';
import type { ExpectedKind } from './protobuf.js';
import { badRequest, statusError } from './status.js';

/** The real server's default request body limit (3 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

function tooLarge(limit: number): ApiStatusError {
  return statusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

/** The body as text; 413 (and the rest of the body drained) when it exceeds `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return (await readBodyBytes(req, limit)).toString('utf8');
}

/** The body's bytes; 413 (and the rest of the body drained) when it exceeds `limit` bytes. */
export async function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
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
  return Buffer.concat(chunks);
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

/**
 * Reads an object body (an object to create or replace) in the media type its `Content-Type`
 * names: JSON (also with none), YAML or Kubernetes protobuf (decoded as `expected` when it names
 * no kind); 415 for another type, 400 for an array or a malformed body.
 */
export async function readObject(
  req: IncomingMessage,
  limit: number,
  expected: ExpectedKind,
): Promise<KubeObject> {
  const bytes = await readBodyBytes(req, limit);
  const media = bodyMediaType(req);
  if (media === 'protobuf') return decodeProtobufBody(bytes, expected);
  const value = parseBody(bytes.toString('utf8'), media === 'yaml');
  if (Array.isArray(value))
    throw badRequest("couldn't get version/kind; json parse error: expected an object");
  return value;
}

/**
 * Reads a DELETE's body (DeleteOptions) as JSON text for `deleteOptions`: empty stays empty, YAML
 * and protobuf bodies are converted; 415 for another media type (only when there is a body).
 */
export async function readDeleteBody(req: IncomingMessage, limit: number): Promise<string> {
  const bytes = await readBodyBytes(req, limit);
  if (bytes.length === 0) return '';
  const media = bodyMediaType(req);
  if (media === 'json') return bytes.toString('utf8');
  const expected = { apiVersion: 'v1', kind: 'DeleteOptions' };
  return JSON.stringify(
    media === 'yaml'
      ? parseBody(bytes.toString('utf8'), true)
      : decodeProtobufBody(bytes, expected),
  );
}
