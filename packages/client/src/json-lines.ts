/**
 * A streaming newline-delimited JSON decoder for watch streams.
 *
 * Bytes are scanned for `\n` (0x0A) with the native `Buffer.indexOf`; each complete line is
 * decoded from UTF-8 exactly once and parsed once. A line split across chunks is kept as a list
 * of chunk views and joined only when its newline arrives, so a multi-megabyte line costs one
 * copy, and a multi-byte UTF-8 character split between chunks is decoded whole (decoding only
 * ever sees complete lines). No string concatenation of the buffer ever happens per chunk.
 *
 * A line may not grow past `maxLineBytes` ({@link DEFAULT_MAX_LINE_BYTES} by default): once an
 * incomplete line exceeds it, the decoder drops what it buffered and throws
 * {@link WatchLineTooLongError}, so a stream that never sends a newline cannot make it buffer
 * without bound.
 */
import {
  type KubecacheErrorOptions,
  MalformedWatchLineError,
  TruncatedWatchStreamError,
  WatchLineTooLongError,
} from '@kubecache/cache';
import { malformedLineHint } from './hints.js';

const NL = 0x0a;
const CR = 0x0d;
const PREVIEW_CHARS = 160;

/**
 * The default longest watch line, 8 MiB. A line is one event carrying one object, and objects are
 * bounded upstream: etcd refuses writes over 1.5 MiB by default and the API server request
 * bodies over 3 MiB, so even an object written as protobuf and re-encoded as JSON stays far
 * below. A longer line means something other than the API server is talking (or the cluster's
 * limits were raised: then pass a larger `maxLineBytes`).
 *
 * @example
 * ```ts
 * new JsonLinesDecoder({ maxLineBytes: 4 * DEFAULT_MAX_LINE_BYTES }); // a cluster with raised etcd limits
 * ```
 */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;

/**
 * Options of {@link JsonLinesDecoder} and {@link readJsonLines}.
 *
 * @example
 * ```ts
 * const decoder = new JsonLinesDecoder({ maxLineBytes: 1024 * 1024 });
 * ```
 */
export interface JsonLinesOptions {
  /**
   * Longest line accepted, in bytes (newline excluded); default {@link DEFAULT_MAX_LINE_BYTES}.
   * `Infinity` lifts the limit.
   */
  readonly maxLineBytes?: number;
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk)
    ? chunk
    : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}

/**
 * Splits a byte stream into JSON values, one per line.
 *
 * @example
 * ```ts
 * const decoder = new JsonLinesDecoder();
 * const out: unknown[] = [];
 * const res = await fetch('http://127.0.0.1:8001/api/v1/pods?watch=1'); // kubectl proxy
 * for await (const chunk of res.body!) { decoder.write(chunk, out); for (const v of out) console.log(v); out.length = 0; }
 * decoder.end();
 * ```
 */
export class JsonLinesDecoder {
  /** Pieces of the current incomplete line (views into received chunks). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly #maxLineBytes: number;

  constructor(options: JsonLinesOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!(max > 0)) throw new RangeError(`maxLineBytes must be positive, got ${max}`);
    this.#maxLineBytes = max;
  }

  /** The longest line this decoder accepts, in bytes. */
  get maxLineBytes(): number {
    return this.#maxLineBytes;
  }

  /** Bytes of an incomplete line waiting for its newline. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Decodes every line completed by `chunk`, appending the parsed values to `out` in order.
   * Throws {@link MalformedWatchLineError} at the first line that is not JSON, and
   * {@link WatchLineTooLongError} at the first line longer than `maxLineBytes` (as soon as it is,
   * without waiting for its end), after the values of the lines before it have been appended;
   * the decoder should then be discarded.
   */
  write(chunk: Uint8Array, out: unknown[]): void {
    const buf = asBuffer(chunk);
    const len = buf.length;
    const max = this.#maxLineBytes;
    let start = 0;
    let nl = buf.indexOf(NL, 0);
    if (nl !== -1 && this.#pendingBytes > 0) {
      // The newline completes a line begun in earlier chunks: join once, decode once.
      if (this.#pendingBytes + nl > max) this.#tooLong(buf, nl);
      this.#pending.push(buf.subarray(0, nl));
      const line = Buffer.concat(this.#pending, this.#pendingBytes + nl);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#parse(line, 0, line.length, out);
      start = nl + 1;
      nl = start < len ? buf.indexOf(NL, start) : -1;
    }
    while (nl !== -1) {
      if (nl - start > max) this.#tooLong(buf.subarray(start), nl - start);
      this.#parse(buf, start, nl, out);
      start = nl + 1;
      nl = start < len ? buf.indexOf(NL, start) : -1;
    }
    if (start < len) {
      // No newline yet: stop buffering as soon as the line is known to be too long.
      if (this.#pendingBytes + (len - start) > max) {
        this.#tooLong(buf.subarray(start), len - start);
      }
      this.#pending.push(start === 0 ? buf : buf.subarray(start));
      this.#pendingBytes += len - start;
    }
  }

  /**
   * Ends the stream. Throws {@link TruncatedWatchStreamError} when an incomplete, non-blank line
   * remains (the connection was cut mid-line); that line is dropped, never half-applied.
   */
  end(): void {
    if (this.#pendingBytes === 0) return;
    const rest = Buffer.concat(this.#pending, this.#pendingBytes);
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (!isBlank(rest, 0, rest.length)) throw new TruncatedWatchStreamError(bytes);
  }

  /** Drops the buffered line and throws: `rest` holds its latest `restBytes` bytes. */
  #tooLong(rest: Buffer, restBytes: number): never {
    const head = this.#pending.length > 0 ? this.#pending[0]! : rest;
    const received = this.#pendingBytes + restBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    const preview = head.toString('utf8', 0, Math.min(head.length, PREVIEW_CHARS));
    throw new WatchLineTooLongError(this.#maxLineBytes, received, preview);
  }

  #parse(buf: Buffer, start: number, end: number, out: unknown[]): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end === start) return;
    const text = buf.toString('utf8', start, end);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (isBlank(buf, start, end)) return;
      const preview = text.slice(0, PREVIEW_CHARS);
      const options: KubecacheErrorOptions = { cause: err, hint: malformedLineHint(preview) };
      throw new MalformedWatchLineError(preview, end - start, 'invalid JSON', options);
    }
    out.push(value);
  }
}

/**
 * Decodes a byte stream of JSON lines into values.
 *
 * @example
 * ```ts
 * const res = await fetch('http://127.0.0.1:8001/api/v1/pods?watch=1'); // kubectl proxy
 * for await (const value of readJsonLines(res.body!)) console.log(value);
 * ```
 */
export async function* readJsonLines(
  source: AsyncIterable<Uint8Array>,
  options: JsonLinesOptions = {},
): AsyncGenerator<unknown, void, undefined> {
  const decoder = new JsonLinesDecoder(options);
  const out: unknown[] = [];
  for await (const chunk of source) {
    let failure: unknown;
    try {
      decoder.write(chunk, out);
    } catch (err) {
      failure = err;
    }
    for (let i = 0; i < out.length; i++) yield out[i];
    out.length = 0;
    if (failure !== undefined) throw failure;
  }
  decoder.end();
}
