/**
 * A streaming newline-delimited JSON decoder for watch streams.
 *
 * Bytes are scanned for `\n` (0x0A) with the native `Buffer.indexOf`; each complete line is
 * decoded from UTF-8 exactly once and parsed once. A line split across chunks is kept as a list
 * of chunk views and joined only when its newline arrives, so a multi-megabyte line costs one
 * copy, and a multi-byte UTF-8 character split between chunks is decoded whole (decoding only
 * ever sees complete lines). No string concatenation of the buffer ever happens per chunk.
 */
import { MalformedWatchLineError, TruncatedWatchStreamError } from '@kubecache/cache';

const NL = 0x0a;
const CR = 0x0d;
const PREVIEW_CHARS = 160;

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
 * for await (const chunk of body) { decoder.write(chunk, out); for (const v of out) use(v); out.length = 0; }
 * decoder.end();
 * ```
 */
export class JsonLinesDecoder {
  /** Pieces of the current incomplete line (views into received chunks). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** Bytes of an incomplete line waiting for its newline. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Decodes every line completed by `chunk`, appending the parsed values to `out` in order.
   * Throws {@link MalformedWatchLineError} at the first line that is not JSON, after the values
   * of the lines before it have been appended; the decoder should then be discarded.
   */
  write(chunk: Uint8Array, out: unknown[]): void {
    const buf = asBuffer(chunk);
    const len = buf.length;
    let start = 0;
    let nl = buf.indexOf(NL, 0);
    if (nl !== -1 && this.#pendingBytes > 0) {
      // The newline completes a line begun in earlier chunks: join once, decode once.
      this.#pending.push(buf.subarray(0, nl));
      const line = Buffer.concat(this.#pending, this.#pendingBytes + nl);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#parse(line, 0, line.length, out);
      start = nl + 1;
      nl = start < len ? buf.indexOf(NL, start) : -1;
    }
    while (nl !== -1) {
      this.#parse(buf, start, nl, out);
      start = nl + 1;
      nl = start < len ? buf.indexOf(NL, start) : -1;
    }
    if (start < len) {
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

  #parse(buf: Buffer, start: number, end: number, out: unknown[]): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end === start) return;
    const text = buf.toString('utf8', start, end);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (isBlank(buf, start, end)) return;
      throw new MalformedWatchLineError(text.slice(0, PREVIEW_CHARS), end - start, 'invalid JSON', {
        cause: err,
      });
    }
    out.push(value);
  }
}

/**
 * Decodes a byte stream of JSON lines into values.
 *
 * @example
 * ```ts
 * for await (const value of readJsonLines(response.body)) console.log(value);
 * ```
 */
export async function* readJsonLines(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<unknown, void, undefined> {
  const decoder = new JsonLinesDecoder();
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
