import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  escapeFieldValue,
  everythingFields,
  parseFieldSelector,
  SelectorParseError,
  toFieldSelector,
} from '@kubecache/cache';

const web = { metadata: { name: 'web', namespace: 'default' } };
const api = { metadata: { name: 'api', namespace: 'kube-system' } };
const node = { metadata: { name: 'node-1' } };

describe('parseFieldSelector', () => {
  it('parses =, == and != on metadata.name and metadata.namespace', () => {
    const sel = parseFieldSelector('metadata.namespace==default, metadata.name!=api');
    assert.deepEqual(sel.requirements, [
      { field: 'metadata.name', operator: '!=', value: 'api' },
      { field: 'metadata.namespace', operator: '=', value: 'default' },
    ]);
    assert.equal(sel.matches(web), true);
    assert.equal(sel.matches(api), false);
    assert.equal(sel.toString(), 'metadata.name!=api,metadata.namespace=default');
  });

  it('treats a missing namespace as the empty string (cluster-scoped objects)', () => {
    assert.equal(parseFieldSelector('metadata.namespace=').matches(node), true);
    assert.equal(parseFieldSelector('metadata.namespace!=').matches(node), false);
    assert.equal(parseFieldSelector('metadata.namespace!=').matches(web), true);
  });

  it('the empty selector matches everything and empty terms are skipped', () => {
    assert.equal(parseFieldSelector('').isEverything(), true);
    assert.equal(everythingFields.matches(node), true);
    assert.equal(parseFieldSelector('metadata.name=web,').requirements.length, 1);
    assert.equal(toFieldSelector(undefined).isEverything(), true);
  });

  it('unescapes \\, \\= and \\\\ in values and escapes them back', () => {
    const sel = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d');
    assert.equal(sel.requirements[0]!.value, 'a,b=c\\d');
    assert.equal(sel.matches({ metadata: { name: 'a,b=c\\d' } }), true);
    assert.equal(parseFieldSelector(sel.toString()).requirements[0]!.value, 'a,b=c\\d');
    assert.equal(escapeFieldValue('a,b=c\\d'), 'a\\,b\\=c\\\\d');
  });

  it('ports apimachinery fields cases: escaped operators in values, deterministic order', () => {
    const sel = parseFieldSelector('metadata.name=a||b\\=c');
    assert.equal(sel.requirements[0]!.value, 'a||b=c');
    assert.equal(sel.toString(), 'metadata.name=a||b\\=c');
    assert.equal(
      parseFieldSelector('metadata.name=a,metadata.namespace=b').toString(),
      parseFieldSelector('metadata.namespace=b,metadata.name=a').toString(),
    );
    // Two terms on one field are ANDed, not ORed.
    const both = parseFieldSelector('metadata.name=web,metadata.name=api');
    assert.equal(both.matches(web), false);
    assert.equal(both.matches(api), false);
    const neither = parseFieldSelector('metadata.name!=web,metadata.name!=api');
    assert.equal(neither.matches(web), false);
    assert.equal(neither.matches(node), true);
  });

  const invalid: [string, number, RegExp][] = [
    ['metadata.name=a\\\\\\', 17, /invalid escape/],
    ['metadata.name=a,b', 16, /no operator/],
    ['spec.nodeName=n1', 0, /not supported/],
    ['metadata.name', 0, /no operator/],
    ['metadata.name=web,status.phase=Running', 18, /not supported/],
    ['=web', 0, /missing field name/],
    ['metadata.name=a\\x', 15, /invalid escape/],
    ['metadata.name=a\\', 15, /invalid escape/],
    ['metadata.name=a=b', 15, /unescaped '='/],
  ];
  for (const [input, position, reason] of invalid) {
    it(`rejects ${JSON.stringify(input)} with a typed error at ${position}`, () => {
      assert.throws(
        () => parseFieldSelector(input),
        (err: unknown) => {
          assert.ok(err instanceof SelectorParseError);
          assert.equal(err.code, 'SelectorParseError');
          assert.equal(err.position, position, err.message);
          assert.match(err.reason, reason);
          return true;
        },
      );
    });
  }
});
