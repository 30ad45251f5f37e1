/**
 * Shard selectors (KEP-5866): the FNV-1a 64 hash against the published vectors and a BigInt
 * reference, the split of the hash space (client-go's ranges), the wire grammar's canonical form,
 * matching at range boundaries, and the typed errors of malformed selectors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compileShardSelector,
  fnv1a64,
  formatShardSelector,
  KubecacheError,
  matchesShard,
  parseShardSelector,
  rangeFor,
  SHARD_HASH_SPACE,
  type ShardField,
  type ShardRange,
  type ShardSelector,
  ShardSelectorParseError,
  shardHash,
  shardSelectorFor,
  splitHashSpace,
} from '@kubecache/cache';

const MASK = SHARD_HASH_SPACE - 1n;

/** FNV-1a 64 the textbook way, in BigInt: the reference the fast version must agree with. */
function referenceFnv(input: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(input)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & MASK;
  }
  return h;
}

const HALF = 1n << 63n;

describe('fnv1a64', () => {
  it('matches the published FNV-1a 64 test vectors', () => {
    assert.equal(fnv1a64(''), 0xcbf29ce484222325n);
    assert.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn);
    assert.equal(fnv1a64('foobar'), 0x85944171f73967e8n);
  });

  it('hashes UTF-8 bytes, not UTF-16 code units', () => {
    assert.equal(fnv1a64('é'), referenceFnv('é'));
    assert.equal(fnv1a64('名前'), referenceFnv('名前'));
    assert.equal(fnv1a64('😀'), referenceFnv('😀'));
    assert.notEqual(fnv1a64('é'), fnv1a64('\u00e9'.normalize('NFD')));
  });

  it('agrees with a BigInt reference on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        assert.equal(fnv1a64(s), referenceFnv(s));
      }),
      { numRuns: 500 },
    );
  });

  it('shardHash hashes metadata.uid by default, metadata.namespace on request, missing as ""', () => {
    const obj = { metadata: { name: 'a', namespace: 'ns', uid: 'u-1' } };
    assert.equal(shardHash(obj), fnv1a64('u-1'));
    assert.equal(shardHash(obj, 'metadata.namespace'), fnv1a64('ns'));
    assert.equal(
      shardHash({ metadata: { name: 'cluster-scoped' } }, 'metadata.namespace'),
      fnv1a64(''),
    );
    assert.equal(shardHash({}), fnv1a64(''));
  });
});

describe('splitHashSpace / rangeFor', () => {
  it("gives client-go's ranges for 1, 2, 3 and 4 shards", () => {
    assert.deepEqual(splitHashSpace(1), [{ start: 0n, end: SHARD_HASH_SPACE }]);
    assert.deepEqual(splitHashSpace(2), [
      { start: 0n, end: HALF },
      { start: HALF, end: SHARD_HASH_SPACE },
    ]);
    assert.deepEqual(
      splitHashSpace(3).map((r) => [r.start, r.end]),
      [
        [0n, 0x5555555555555555n],
        [0x5555555555555555n, 0xaaaaaaaaaaaaaaaan],
        [0xaaaaaaaaaaaaaaaan, SHARD_HASH_SPACE],
      ],
    );
    // The 4-shard split the KEP's API documentation lists.
    assert.deepEqual(
      splitHashSpace(4).map((r) => formatShardSelector({ field: 'metadata.uid', ranges: [r] })),
      [
        "shardRange(object.metadata.uid, '0x0000000000000000', '0x4000000000000000')",
        "shardRange(object.metadata.uid, '0x4000000000000000', '0x8000000000000000')",
        "shardRange(object.metadata.uid, '0x8000000000000000', '0xc000000000000000')",
        "shardRange(object.metadata.uid, '0xc000000000000000', '0x10000000000000000')",
      ],
    );
  });

  it('partitions [0, 2^64): contiguous, no gaps, no overlaps, sizes within one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), (n) => {
        const ranges = splitHashSpace(n);
        assert.equal(ranges.length, n);
        assert.equal(ranges[0]!.start, 0n);
        assert.equal(ranges[n - 1]!.end, SHARD_HASH_SPACE);
        let min = SHARD_HASH_SPACE;
        let max = 0n;
        for (let i = 0; i < n; i++) {
          const r = ranges[i]!;
          assert.ok(r.start < r.end, 'every range is non-empty');
          if (i > 0) assert.equal(r.start, ranges[i - 1]!.end, 'each starts where the last ended');
          assert.deepEqual(rangeFor(i, n), r);
          const size = r.end - r.start;
          if (size < min) min = size;
          if (size > max) max = size;
        }
        assert.ok(max - min <= 1n);
      }),
      { numRuns: 200 },
    );
  });

  it('puts every hash in exactly one shard', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (uid, n) => {
        const obj = { metadata: { name: 'x', uid } };
        const owners = splitHashSpace(n).filter((r) =>
          matchesShard(obj, { field: 'metadata.uid', ranges: [r] }),
        );
        assert.equal(owners.length, 1);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a non-positive or fractional count and an index out of range', () => {
    for (const n of [0, -1, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => splitHashSpace(n), RangeError);
      assert.throws(() => rangeFor(0, n), RangeError);
    }
    assert.throws(() => rangeFor(2, 2), RangeError);
    assert.throws(() => rangeFor(-1, 2), RangeError);
    assert.throws(() => rangeFor(0.5, 2), RangeError);
  });

  it('shardSelectorFor builds one range over the field asked for', () => {
    assert.deepEqual(shardSelectorFor(1, 2), {
      field: 'metadata.uid',
      ranges: [{ start: HALF, end: SHARD_HASH_SPACE }],
    });
    assert.equal(shardSelectorFor(0, 1, 'metadata.namespace').field, 'metadata.namespace');
  });
});

// Arbitrary valid selectors: bounds drawn near the edges and anywhere in between.
const bound = fc.oneof(
  fc.bigInt({ min: 0n, max: SHARD_HASH_SPACE }),
  fc.constantFrom(0n, 1n, HALF - 1n, HALF, HALF + 1n, SHARD_HASH_SPACE - 1n, SHARD_HASH_SPACE),
);
const range: fc.Arbitrary<ShardRange> = fc
  .tuple(bound, bound)
  .filter(([a, b]) => a !== b)
  .map(([a, b]) => (a < b ? { start: a, end: b } : { start: b, end: a }));
const field = fc.constantFrom<ShardField>('metadata.uid', 'metadata.namespace');
const selector: fc.Arbitrary<ShardSelector> = fc.record({
  field,
  ranges: fc.array(range, { minLength: 1, maxLength: 5 }),
});

describe('parseShardSelector / formatShardSelector', () => {
  it('parses the examples of the KEP and its documentation', () => {
    const lower = "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')";
    assert.deepEqual(parseShardSelector(lower), {
      field: 'metadata.uid',
      ranges: [{ start: 0n, end: HALF }],
    });
    const two =
      "shardRange(object.metadata.uid, '0x0000000000000000', '0x4000000000000000') || " +
      "shardRange(object.metadata.uid, '0x8000000000000000', '0xc000000000000000')";
    assert.deepEqual(parseShardSelector(two).ranges, [
      { start: 0n, end: 0x4000000000000000n },
      { start: HALF, end: 0xc000000000000000n },
    ]);
    assert.equal(formatShardSelector(parseShardSelector(two)), two);
    assert.deepEqual(
      parseShardSelector(
        "shardRange(object.metadata.namespace, '0x8000000000000000', '0x10000000000000000')",
      ),
      { field: 'metadata.namespace', ranges: [{ start: HALF, end: SHARD_HASH_SPACE }] },
    );
  });

  it('takes free whitespace, double quotes and parentheses, as CEL does', () => {
    const canonical =
      "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000') || " +
      "shardRange(object.metadata.uid, '0x8000000000000000', '0x10000000000000000')";
    for (const text of [
      "shardRange(object.metadata.uid,'0x0000000000000000','0x8000000000000000')||shardRange(object.metadata.uid,'0x8000000000000000','0x10000000000000000')",
      ' ( shardRange ( object . metadata . uid , "0x0000000000000000" , "0x8000000000000000" ) )\n|| (shardRange(object.metadata.uid, \'0x8000000000000000\', \'0x10000000000000000\')) ',
    ]) {
      assert.equal(formatShardSelector(parseShardSelector(text)), canonical);
    }
  });

  it('property: parse ∘ format is the identity on selectors, format ∘ parse on canonical text', () => {
    fc.assert(
      fc.property(selector, (sel) => {
        const text = formatShardSelector(sel);
        const back = parseShardSelector(text);
        assert.deepEqual(back, { field: sel.field, ranges: [...sel.ranges] });
        assert.equal(formatShardSelector(back), text);
      }),
      { numRuns: 500 },
    );
  });

  it('property: any string either parses to a valid selector or throws the typed error', () => {
    const pieces = fc.constantFrom(
      'shardRange',
      '(',
      ')',
      ',',
      ' ',
      '||',
      '&&',
      'object.metadata.uid',
      'object.metadata.namespace',
      'metadata.uid',
      "'0x0000000000000000'",
      "'0x8000000000000000'",
      "'0x10000000000000000'",
      "'0x8'",
      '"0xffffffffffffffff"',
      "'",
      'x',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(pieces, { maxLength: 16 }).map((a) => a.join('')),
        ),
        (text) => {
          let sel: ShardSelector;
          try {
            sel = parseShardSelector(text);
          } catch (err) {
            assert.ok(err instanceof ShardSelectorParseError, String(err));
            assert.ok(err.position >= 0 && err.position <= text.length);
            assert.equal(err.input, text);
            return;
          }
          assert.equal(
            parseShardSelector(formatShardSelector(sel)).ranges.length,
            sel.ranges.length,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('parseShardSelector: invalid input', () => {
  const ok = "'0x0000000000000000'";
  const hi = "'0x8000000000000000'";
  // [input, position, reason pattern]
  const cases: [string, number, RegExp][] = [
    ['', 0, /empty shard selector/],
    ['   ', 3, /empty shard selector/],
    [
      `shardRange(object.metadata.uid, '0x0', ${hi})`,
      33,
      /hexStart must be '0x' and 16 hex digits/,
    ],
    [`shardRange(object.metadata.uid, ${ok}, '0x8')`, 55, /hexEnd must be '0x' and 16 hex digits/],
    [`shardRange(object.metadata.uid, 0x0000000000000000, ${hi})`, 32, /must be a string literal/],
    [`shardRange(object.metadata.uid, '0000000000000000', ${hi})`, 33, /must start with '0x'/],
    [`shardRange(object.metadata.uid, '0X0000000000000000', ${hi})`, 33, /must start with '0x'/],
    [
      `shardRange(object.metadata.uid, '0x000000000000000A', ${hi})`,
      50,
      /invalid hex character "A"/,
    ],
    [`shardRange(object.metadata.uid, '0x', ${hi})`, 33, /needs hex digits/],
    [
      `shardRange(object.metadata.uid, ${ok}, '0x20000000000000000')`,
      55,
      /only be '0x10000000000000000'/,
    ],
    [`shardRange(object.metadata.uid, ${ok}, '0x100000000000000000')`, 55, /too long/],
    [
      `shardRange(object.metadata.uid, ${hi}, ${ok})`,
      0,
      /start 0x8000000000000000 must be less than end/,
    ],
    [`shardRange(object.metadata.uid, ${hi}, ${hi})`, 0, /must be less than end/],
    [
      `shardRange(object.metadata.name, ${ok}, ${hi})`,
      11,
      /unsupported field path "object.metadata.name"/,
    ],
    [`shardRange(metadata.uid, ${ok}, ${hi})`, 11, /unsupported field path "metadata.uid"/],
    [`shardRange(${ok}, ${ok}, ${hi})`, 11, /first argument must be a field path/],
    [`shardRange(object.metadata.uid, ${ok})`, 52, /exactly 3 arguments .*got 2/],
    [`shardRange(object.metadata.uid)`, 30, /exactly 3 arguments .*got 1/],
    [`shardRange(object.metadata.uid, ${ok}, ${hi}, ${hi})`, 74, /exactly 3 arguments/],
    [`shardRange(object.metadata.uid, ${ok}, ${hi}`, 74, /expected "\)"/],
    [`shardRange(object.metadata.uid, '0x0000000000000000, ${hi})`, 33, /too long/],
    [
      `shardRange(object.metadata.uid, ${ok}, '0x8000000000000000)`,
      54,
      /unterminated string literal for hexEnd/,
    ],
    [`shardRange(object.metadata.uid, '0x00000000\\00000000', ${hi})`, 43, /escapes/],
    [`hashRange(object.metadata.uid, ${ok}, ${hi})`, 0, /unsupported function "hashRange"/],
    [
      `shardRange(object.metadata.uid, ${ok}, ${hi}) && shardRange(object.metadata.uid, ${ok}, ${hi})`,
      76,
      /unsupported operator "&&"/,
    ],
    [`!shardRange(object.metadata.uid, ${ok}, ${hi})`, 0, /unsupported operator "!"/],
    [
      `shardRange(object.metadata.uid, ${ok}, ${hi}) ||`,
      78,
      /expected a shardRange\(\) term, found the end/,
    ],
    [`shardRange(object.metadata.uid, ${ok}, ${hi}) shardRange`, 76, /unexpected "s"/],
    [`shardRange(object.metadata.uid, ${ok}, ${hi}))`, 75, /unbalanced '\)'/],
    [`(shardRange(object.metadata.uid, ${ok}, ${hi})`, 76, /to close the group/],
    [`true`, 0, /expected a shardRange\(\) term, found "true"/],
    [
      `shardRange(object.metadata.uid, ${ok}, ${hi}) || shardRange(object.metadata.namespace, ${ok}, ${hi})`,
      90,
      /same field, got object.metadata.uid and object.metadata.namespace/,
    ],
  ];
  for (const [input, position, reason] of cases) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseShardSelector(input),
        (err: unknown) => {
          assert.ok(err instanceof ShardSelectorParseError);
          assert.ok(err instanceof KubecacheError);
          assert.equal(err.code, 'ShardSelectorParseError');
          assert.equal(err.input, input);
          assert.match(err.reason, reason);
          assert.equal(err.position, position, err.message);
          assert.ok(err.message.includes(`at position ${position}`));
          assert.ok(err.hint !== undefined && err.hint.length > 0);
          return true;
        },
      );
    });
  }

  it('hints at the fix: the padded bound, the object-rooted path', () => {
    const short = () => parseShardSelector("shardRange(object.metadata.uid, '0x0', '0x8')");
    assert.throws(short, (err: ShardSelectorParseError) =>
      /did you mean '0x0000000000000000'/.test(err.hint ?? ''),
    );
    const path = () =>
      parseShardSelector("shardRange(metadata.uid, '0x0000000000000000', '0x8000000000000000')");
    assert.throws(path, (err: ShardSelectorParseError) =>
      /object\.metadata\.uid/.test(err.hint ?? ''),
    );
  });

  it('refuses to format or match an invalid built selector (position -1)', () => {
    const bad: ShardSelector[] = [
      { field: 'metadata.uid', ranges: [] },
      { field: 'metadata.uid', ranges: [{ start: 5n, end: 5n }] },
      { field: 'metadata.uid', ranges: [{ start: -1n, end: 5n }] },
      { field: 'metadata.uid', ranges: [{ start: 0n, end: SHARD_HASH_SPACE + 1n }] },
      { field: 'metadata.name' as ShardField, ranges: [{ start: 0n, end: 1n }] },
    ];
    for (const sel of bad) {
      for (const fn of [
        () => formatShardSelector(sel),
        () => compileShardSelector(sel),
        () => matchesShard({}, sel),
      ]) {
        assert.throws(
          fn,
          (err: unknown) => err instanceof ShardSelectorParseError && err.position === -1,
        );
      }
    }
  });
});

describe('matchesShard', () => {
  it('is the half-open range test on the hash, at the exact boundaries', () => {
    const uid = '0b6f2a54-3c1e-4d0a-9f57-1a2b3c4d5e6f';
    const obj = { metadata: { name: 'x', uid } };
    const h = fnv1a64(uid);
    const sel = (start: bigint, end: bigint): ShardSelector => ({
      field: 'metadata.uid',
      ranges: [{ start, end }],
    });
    assert.ok(matchesShard(obj, sel(h, h + 1n)), 'start is inclusive');
    assert.ok(!matchesShard(obj, sel(h - 1n, h)), 'end is exclusive');
    assert.ok(!matchesShard(obj, sel(h + 1n, h + 2n)));
    assert.ok(matchesShard(obj, sel(0n, SHARD_HASH_SPACE)));
  });

  it('property: agrees with the BigInt test over every range (the union)', () => {
    fc.assert(
      fc.property(
        selector,
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 20 }),
        (sel, uid, ns) => {
          const obj = { metadata: { name: 'x', namespace: ns, uid } };
          const h = referenceFnv(sel.field === 'metadata.uid' ? uid : ns);
          const expected = sel.ranges.some((r) => r.start <= h && h < r.end);
          assert.equal(matchesShard(obj, sel), expected);
          assert.equal(compileShardSelector(sel)(obj), expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: ranges placed right at the hash hit and miss as the range test says', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: -2, max: 2 }), (uid, shift) => {
        const h = fnv1a64(uid);
        const start = h + BigInt(shift);
        fc.pre(start >= 0n && start + 1n <= SHARD_HASH_SPACE);
        const sel: ShardSelector = { field: 'metadata.uid', ranges: [{ start, end: start + 1n }] };
        assert.equal(matchesShard({ metadata: { uid } }, sel), shift === 0);
      }),
      { numRuns: 300 },
    );
  });
});
