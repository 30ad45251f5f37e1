import { seededRandom } from '@kubecache/cache';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedWatchLineError, TruncatedWatchStreamError } from '@kubecache/cache';
import { JsonLinesDecoder, readJsonLines } from '@kubecache/client';

const SEED = Number(process.env.JSON_LINES_SEED ?? 20261123);

function decodeAll(chunks: Uint8Array[]): unknown[] {
  const decoder = new JsonLinesDecoder();
  const out: unknown[] = [];
  for (const c of chunks) decoder.write(c, out);
  decoder.end();
  return out;
}

/** Splits `bytes` at random points (some chunks empty, some a single byte). */
function randomChunks(bytes: Buffer, rand: () => number, maxChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  let i = 0;
  while (i < bytes.length) {
    const n = Math.floor(rand() * maxChunk);
    chunks.push(bytes.subarray(i, i + n));
    i += n;
  }
  return chunks;
}

describe('JsonLinesDecoder', () => {
  it('decodes lines within, across and at chunk boundaries', () => {
    const values = [{ a: 1 }, { b: 'two' }, { c: [3] }];
    const text = values.map((v) => JSON.stringify(v)).join('\n') + '\n';
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepEqual(
        decodeAll([bytes.subarray(0, cut), bytes.subarray(cut)]),
        values,
        `cut at ${cut}`,
      );
    }
  });

  it('decodes multi-byte UTF-8 split between chunks, at every split point', () => {
    const value = { s: 'héllo wörld — 日本語 🚀 ünïcödé', t: '€' };
    const bytes = Buffer.from(JSON.stringify(value) + '\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      for (let cut2 = cut; cut2 < bytes.length; cut2 += 3) {
        const got = decodeAll([
          bytes.subarray(0, cut),
          bytes.subarray(cut, cut2),
          bytes.subarray(cut2),
        ]);
        assert.deepEqual(got, [value], `cuts ${cut}/${cut2}`);
      }
    }
  });

  it('survives random chunkings of a mixed stream (seeded)', () => {
    const rand = seededRandom(SEED);
    const values: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      values.push({ i, s: 'ü€🚀x'.repeat(Math.floor(rand() * 50)), n: [i, -i - 1, 0.5] });
    }
    const bytes = Buffer.from(values.map((v) => JSON.stringify(v)).join('\n') + '\n');
    for (let round = 0; round < 20; round++) {
      const chunks = randomChunks(bytes, rand, 1 + Math.floor(rand() * 400));
      assert.deepEqual(decodeAll(chunks), values, `seed ${SEED} round ${round}`);
    }
  });

  it('handles multi-megabyte lines delivered in small chunks', () => {
    const big = { data: 'é'.repeat(3 * 1024 * 1024), tail: 'end' };
    const bytes = Buffer.from(`{"small":1}\n${JSON.stringify(big)}\n{"small":2}\n`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 16 * 1024 + 1)
      chunks.push(bytes.subarray(i, i + 16 * 1024 + 1));
    const out = decodeAll(chunks) as { data?: string; tail?: string; small?: number }[];
    assert.equal(out.length, 3);
    assert.equal(out[0]!.small, 1);
    assert.equal(out[1]!.data!.length, 3 * 1024 * 1024);
    assert.equal(out[1]!.tail, 'end');
    assert.equal(out[2]!.small, 2);
  });

  it('accepts CRLF line ends and skips blank lines', () => {
    assert.deepEqual(decodeAll([Buffer.from('{"a":1}\r\n\n  \r\n{"b":2}\n')]), [
      { a: 1 },
      { b: 2 },
    ]);
  });

  it('reports a malformed line as a typed error after delivering the lines before it', () => {
    const decoder = new JsonLinesDecoder();
    const out: unknown[] = [];
    assert.throws(
      () => decoder.write(Buffer.from('{"ok":1}\n{"ok":2}\n{not json at all}\n{"ok":3}\n'), out),
      (err: unknown) => {
        assert.ok(err instanceof MalformedWatchLineError);
        assert.equal(err.code, 'MalformedWatchLine');
        assert.equal(err.preview, '{not json at all}');
        assert.equal(err.byteLength, 17);
        return true;
      },
    );
    assert.deepEqual(out, [{ ok: 1 }, { ok: 2 }]);
  });

  it('truncates the preview of a huge malformed line', () => {
    const decoder = new JsonLinesDecoder();
    assert.throws(
      () => decoder.write(Buffer.from(`{"x":"${'a'.repeat(10_000)}"\n`), []),
      (err: unknown) =>
        err instanceof MalformedWatchLineError &&
        err.preview.length === 160 &&
        err.byteLength === 10_007,
    );
  });

  it('reports a stream cut in the middle of a line on end()', () => {
    const decoder = new JsonLinesDecoder();
    const out: unknown[] = [];
    decoder.write(Buffer.from('{"a":1}\n{"b":'), out);
    assert.deepEqual(out, [{ a: 1 }]);
    assert.equal(decoder.pendingBytes, 5);
    assert.throws(
      () => decoder.end(),
      (err: unknown) => err instanceof TruncatedWatchStreamError && err.pendingBytes === 5,
    );
  });

  it('accepts plain Uint8Array chunks (not Buffers)', () => {
    const bytes = new TextEncoder().encode('{"a":"ü"}\n{"b":2}\n');
    assert.deepEqual(decodeAll([bytes.subarray(0, 7), bytes.subarray(7)]), [{ a: 'ü' }, { b: 2 }]);
  });

  it('readJsonLines yields values from an async byte source and rethrows decode errors in order', async () => {
    async function* source(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('{"a":1}\n{"b"');
      yield Buffer.from(':2}\nnope\n');
    }
    const seen: unknown[] = [];
    await assert.rejects(async () => {
      for await (const v of readJsonLines(source())) seen.push(v);
    }, MalformedWatchLineError);
    assert.deepEqual(seen, [{ a: 1 }, { b: 2 }]);
  });
});
