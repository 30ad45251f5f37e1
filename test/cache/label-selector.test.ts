import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  everything,
  type LabelSelectorObject,
  type SelectorOperator,
  labelSelectorFromObject,
  nothing,
  parseLabelSelector,
  requirement,
  SelectorParseError,
  toLabelSelector,
  validateLabelKey,
  validateLabelValue,
} from '@kubecache/cache';

describe('parseLabelSelector: valid input', () => {
  // Cases in the spirit of apimachinery's selector parse tests: [input, canonical form].
  const cases: [string, string][] = [
    ['', ''],
    ['   ', ''],
    ['x=a,y=b,z=c', 'x=a,y=b,z=c'],
    ['z=c,x=a,y=b', 'x=a,y=b,z=c'],
    ['x==a', 'x=a'],
    ['x!=a,y=b', 'x!=a,y=b'],
    ['x=,z= ', 'x=,z='],
    ['x= ,z= ', 'x=,z='],
    ['!x', '!x'],
    ['x', 'x'],
    ['x>1', 'x>1'],
    ['x>1,z<5', 'x>1,z<5'],
    ['x<-3', 'x<-3'],
    ['x in (a,b)', 'x in (a,b)'],
    ['x in ( b , a )', 'x in (a,b)'],
    ['x in (a,a,b)', 'x in (a,b)'],
    ['x notin (a)', 'x notin (a)'],
    ['x in (a,)', 'x in (,a)'],
    ['x in (,a)', 'x in (,a)'],
    ['x in (a,,b)', 'x in (,a,b)'],
    ['x=a, y in (c), !z , w', 'w,x=a,y in (c),!z'],
    ['x in (,)', 'x in ()'],
    ['x in ()', 'x in ()'],
    ['x notin ( )', 'x notin ()'],
    ['x in (),y', 'x in (),y'],
    ['example.com/app=web', 'example.com/app=web'],
    ['in=a', 'in=a'],
    ['x=in', 'x=in'],
    ['x in (in,notin)', 'x in (in,notin)'],
    ['a.b-c_d=e.f-g_h', 'a.b-c_d=e.f-g_h'],
    [`k=${'v'.repeat(63)}`, `k=${'v'.repeat(63)}`],
  ];
  for (const [input, canonical] of cases) {
    it(`parses ${JSON.stringify(input)} to ${JSON.stringify(canonical)}`, () => {
      const sel = parseLabelSelector(input);
      assert.equal(sel.toString(), canonical);
      assert.equal(parseLabelSelector(sel.toString()).toString(), canonical);
    });
  }

  it('exposes sorted requirements with normalized operators', () => {
    const sel = parseLabelSelector('z notin (b,a), a==x, !m');
    assert.deepEqual(
      sel.requirements.map((r) => [r.key, r.operator, [...r.values]]),
      [
        ['a', '=', ['x']],
        ['m', '!', []],
        ['z', 'notin', ['a', 'b']],
      ],
    );
  });
});

describe('parseLabelSelector: invalid input', () => {
  // [input, position, reason fragment]
  const cases: [string, number, RegExp][] = [
    ['x=a||y=b', 2, /invalid label value/],
    ['x==a==b', 4, /expected ',' or end of string/],
    ['!x=a', 2, /expected ',' or end of string/],
    ['x<a', 2, /must be an integer/],
    ['x>', 2, /expected an integer/],
    ['x in (a', 7, /expected ',' or '\)'/],
    ['x in a', 5, /expected '\('/],
    ['x in (', 6, /expected a value/],
    ['x in (a,', 8, /expected a value/],
    ['x notin', 7, /expected '\('/],
    ['x in (a)b', 8, /expected ',' or end of string/],
    ['x=a,', 4, /expected a requirement/],
    [',x=a', 0, /expected a label key/],
    ['=a', 0, /expected a label key/],
    ['x y', 2, /expected one of/],
    ['-x=a', 0, /invalid label key/],
    ['x-=a', 0, /invalid label key/],
    ['/x=a', 0, /prefix part must be non-empty/],
    ['Example.com/x=a', 0, /subdomain/],
    ['example.com/=a', 0, /name part must be non-empty/],
    [`${'k'.repeat(64)}=a`, 0, /no more than 63/],
    [`k=${'v'.repeat(64)}`, 2, /no more than 63/],
    ['x=-a', 2, /invalid label value/],
    ['x in (a b)', 8, /expected ',' or '\)'/],
    ['x=(a)', 2, /expected a value/],
    ['!', 1, /expected a label key/],
    ['!!x', 1, /expected a label key/],
  ];
  for (const [input, position, reason] of cases) {
    it(`rejects ${JSON.stringify(input)} at ${position}`, () => {
      assert.throws(
        () => parseLabelSelector(input),
        (err: unknown) => {
          assert.ok(err instanceof SelectorParseError, `expected SelectorParseError, got ${err}`);
          assert.equal(err.code, 'SelectorParseError');
          assert.equal(err.input, input);
          assert.equal(err.position, position, `position for ${input}: ${err.message}`);
          assert.match(err.reason, reason);
          assert.match(err.message, /position/);
          return true;
        },
      );
    });
  }
});

describe('LabelSelector.matches', () => {
  const matching: [string, Record<string, string> | undefined][] = [
    ['', { x: 'y' }],
    ['', undefined],
    ['x=y', { x: 'y' }],
    ['x=y,z=w', { x: 'y', z: 'w' }],
    ['x!=y,z!=w', { x: 'z', z: 'a' }],
    ['x!=y', {}],
    ['x notin (y)', {}],
    ['x notin (y,z)', { x: 'w' }],
    ['x in (y,z)', { x: 'z' }],
    ['x', { x: '' }],
    ['!x', { y: 'x' }],
    ['x=', { x: '' }],
    ['x>1', { x: '2' }],
    ['x<1', { x: '-5' }],
    ['x>-2', { x: '0' }],
    ['x in ()', { x: '' }],
    ['x notin ()', {}],
    ['x notin ()', { x: 'a' }],
    ['x in (a,)', { x: '' }],
  ];
  for (const [sel, labels] of matching) {
    it(`${JSON.stringify(sel)} matches ${JSON.stringify(labels)}`, () => {
      assert.equal(parseLabelSelector(sel).matches(labels), true);
    });
  }
  const notMatching: [string, Record<string, string> | undefined][] = [
    ['x=y', {}],
    ['x=y', undefined],
    ['x=y', { x: 'z' }],
    ['x=y,z=w', { x: 'w', z: 'w' }],
    ['x!=y,z!=w', { x: 'z', z: 'w' }],
    ['x in (y)', { x: 'z' }],
    ['x in (y)', {}],
    ['x notin (y,z)', { x: 'z' }],
    ['x', {}],
    ['!x', { x: '' }],
    ['x>1', { x: '1' }],
    ['x>1', { x: 'a' }],
    ['x>1', {}],
    ['x<1', { x: '1.5' }],
    ['toString', {}],
    ['constructor', {}],
    ['x in ()', {}],
    ['x in ()', { x: 'a' }],
    ['x notin ()', { x: '' }],
  ];
  for (const [sel, labels] of notMatching) {
    it(`${JSON.stringify(sel)} does not match ${JSON.stringify(labels)}`, () => {
      assert.equal(parseLabelSelector(sel).matches(labels), false);
    });
  }

  it('everything and nothing', () => {
    assert.equal(everything.isEverything(), true);
    assert.equal(everything.matches(undefined), true);
    assert.equal(nothing.isNothing(), true);
    assert.equal(nothing.isEverything(), false);
    assert.equal(nothing.matches({}), false);
    assert.equal(parseLabelSelector('').isEverything(), true);
    assert.equal(parseLabelSelector('x').isEverything(), false);
  });
});

describe('labelSelectorFromObject (metav1.LabelSelector)', () => {
  it('null or undefined selects nothing, an empty object everything', () => {
    assert.equal(labelSelectorFromObject(null).isNothing(), true);
    assert.equal(labelSelectorFromObject(undefined).isNothing(), true);
    assert.equal(labelSelectorFromObject({}).isEverything(), true);
    assert.equal(
      labelSelectorFromObject({ matchLabels: {}, matchExpressions: [] }).isEverything(),
      true,
    );
  });

  it('combines matchLabels and matchExpressions', () => {
    const sel = labelSelectorFromObject({
      matchLabels: { app: 'web', tier: 'frontend' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'qa'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'zone', operator: 'NotIn', values: ['b'] },
        { key: 'team', operator: 'Exists', values: [] },
      ],
    });
    assert.equal(
      sel.toString(),
      'app=web,!canary,env in (prod,qa),team,tier=frontend,zone notin (b)',
    );
    assert.equal(sel.matches({ app: 'web', tier: 'frontend', env: 'qa', team: 'a' }), true);
    assert.equal(
      sel.matches({ app: 'web', tier: 'frontend', env: 'qa', team: 'a', canary: '1' }),
      false,
    );
    assert.equal(sel.matches({ app: 'web', tier: 'frontend', env: 'dev', team: 'a' }), false);
  });

  it('ports metav1.LabelSelectorAsSelector cases', () => {
    const sel = labelSelectorFromObject({
      matchLabels: { foo: 'bar' },
      matchExpressions: [{ key: 'baz', operator: 'In', values: ['qux', 'norf'] }],
    });
    assert.equal(sel.toString(), 'baz in (norf,qux),foo=bar');
    assert.equal(sel.matches({ foo: 'bar', baz: 'norf' }), true);
    assert.equal(sel.matches({ foo: 'bar' }), false);
    assert.throws(
      () =>
        labelSelectorFromObject({
          matchExpressions: [{ key: 'baz', operator: 'Exists', values: ['qux', 'norf'] }],
        }),
      SelectorParseError,
    );
    // A key constrained by both matchLabels and an expression keeps both requirements.
    const both = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }],
    });
    assert.equal(both.requirements.length, 2);
    assert.equal(both.matches({ app: 'web' }), false);
    assert.equal(parseLabelSelector(both.toString()).toString(), both.toString());
  });

  it('rejects bad operators, missing or extra values and bad keys with a typed error', () => {
    const bad: LabelSelectorObject[] = [
      { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] },
      { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
      { matchExpressions: [{ key: 'a', operator: 'NotIn' }] },
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      { matchLabels: { '-bad': 'x' } },
      { matchLabels: { ok: 'bad value' } },
    ];
    for (const sel of bad) {
      assert.throws(() => labelSelectorFromObject(sel), SelectorParseError, JSON.stringify(sel));
    }
  });
});

describe('requirement helpers', () => {
  it('builds and validates requirements', () => {
    assert.deepEqual(requirement('a', 'in', ['y', 'x', 'y']).values, ['x', 'y']);
    assert.throws(() => requirement('a', '=', []), SelectorParseError);
    assert.throws(() => requirement('a', '>', ['x']), SelectorParseError);
    // An operator outside the type (from JavaScript or a cast) is refused when the requirement
    // is built, naming it, instead of failing later inside matches().
    assert.throws(
      () => requirement('x', 'unsupportedOp' as unknown as SelectorOperator, []),
      (err: unknown) =>
        err instanceof SelectorParseError &&
        /unsupported operator "unsupportedOp"/.test(err.message),
    );
    assert.equal(toLabelSelector('a=b').toString(), 'a=b');
    assert.equal(toLabelSelector(undefined).isEverything(), true);
  });

  it('validates keys and values like apimachinery', () => {
    assert.equal(validateLabelKey('app.kubernetes.io/name'), undefined);
    assert.match(validateLabelKey(`${'a'.repeat(254)}/x`) ?? '', /253/);
    assert.equal(validateLabelValue(''), undefined);
    assert.match(validateLabelValue('a b') ?? '', /invalid label value/);
  });
});

describe('property: canonical form round-trips', () => {
  const seed = Number(process.env.KUBECACHE_SEED ?? Date.now() % 2147483647);
  const name = fc.stringMatching(/^[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?$/);
  const value = fc.oneof(fc.constant(''), name);
  const req = fc.oneof(
    fc.tuple(name, fc.constantFrom('=', '==', '!='), value).map(([k, op, v]) => `${k}${op}${v}`),
    fc
      .tuple(name, fc.constantFrom('in', 'notin'), fc.array(value, { minLength: 1, maxLength: 4 }))
      .map(([k, op, vs]) => `${k} ${op} (${vs.join(', ')})`),
    name,
    name.map((k) => `!${k}`),
    fc
      .tuple(name, fc.constantFrom('>', '<'), fc.integer({ min: -99, max: 99 }))
      .map(([k, op, n]) => `${k}${op}${n}`),
  );
  const labels = fc.dictionary(name, value, { maxKeys: 5 });

  it(`parse(toString(s)) is s, and matching agrees (seed ${seed}; set KUBECACHE_SEED to replay)`, () => {
    fc.assert(
      fc.property(
        fc.array(req, { maxLength: 5 }),
        fc.array(labels, { maxLength: 5 }),
        (reqs, samples) => {
          const sel = parseLabelSelector(reqs.join(','));
          const text = sel.toString();
          const again = parseLabelSelector(text);
          assert.equal(again.toString(), text);
          for (const l of samples) assert.equal(again.matches(l), sel.matches(l));
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});

describe('property: matching agrees with a naive reference model', () => {
  const seed = Number(process.env.KUBECACHE_SEED ?? Date.now() % 2147483647);
  const key = fc.constantFrom('a', 'b', 'example.com/c', 'in');
  const value = fc.constantFrom('', 'x', 'y', '1', '2', '10');
  type Req = { key: string; op: string; values: readonly string[] };
  const req = fc.oneof(
    fc.record({ key, op: fc.constantFrom('=', '==', '!='), values: fc.tuple(value) }),
    fc.record({
      key,
      op: fc.constantFrom('in', 'notin'),
      values: fc.array(value, { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ key, op: fc.constantFrom('exists', '!'), values: fc.constant([]) }),
    fc.record({
      key,
      op: fc.constantFrom('>', '<'),
      values: fc.tuple(fc.constantFrom('0', '1', '-2', '5')),
    }),
  );
  const render = (r: Req): string =>
    r.op === 'exists'
      ? r.key
      : r.op === '!'
        ? `!${r.key}`
        : r.op === 'in' || r.op === 'notin'
          ? `${r.key} ${r.op} (${r.values.join(',')})`
          : `${r.key}${r.op}${r.values[0]}`;
  // The apimachinery semantics, spelled out as plainly as possible.
  const holds = (r: Req, labels: Record<string, string>): boolean => {
    const has = Object.hasOwn(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
      case '==':
      case 'in':
        return has && r.values.includes(v!);
      case '!=':
      case 'notin':
        return !has || !r.values.includes(v!);
      default:
        if (!has || !/^-?[0-9]+$/.test(v!)) return false;
        return r.op === '>' ? Number(v) > Number(r.values[0]) : Number(v) < Number(r.values[0]);
    }
  };
  const labels = fc.dictionary(key, value, { maxKeys: 4 });

  it(`agrees on random selectors and label sets (seed ${seed}; set KUBECACHE_SEED to replay)`, () => {
    fc.assert(
      fc.property(
        fc.array(req, { maxLength: 4 }),
        fc.array(labels, { maxLength: 6 }),
        (reqs, samples) => {
          const text = reqs.map(render).join(', ');
          const sel = parseLabelSelector(text);
          const canonical = parseLabelSelector(sel.toString());
          for (const l of samples) {
            const expected = reqs.every((r) => holds(r, l));
            assert.equal(sel.matches(l), expected, `${text} on ${JSON.stringify(l)}`);
            assert.equal(
              canonical.matches(l),
              expected,
              `${sel.toString()} on ${JSON.stringify(l)}`,
            );
          }
        },
      ),
      { seed, numRuns: 500 },
    );
  });

  it(`arbitrary text either parses or throws a SelectorParseError within the input (seed ${seed})`, () => {
    const alphabet = fc.constantFrom(
      'a',
      'b',
      '=',
      '!',
      '(',
      ')',
      ',',
      ' ',
      'in',
      'notin',
      '/',
      '-',
      '>',
      '1',
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        try {
          const sel = parseLabelSelector(text);
          assert.equal(parseLabelSelector(sel.toString()).toString(), sel.toString());
        } catch (err) {
          assert.ok(err instanceof SelectorParseError, `${text}: ${String(err)}`);
          assert.ok(err.position >= 0 && err.position <= text.length, `${text}: ${err.message}`);
        }
      }),
      { seed, numRuns: 2000 },
    );
  });
});
