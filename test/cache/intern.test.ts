import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { internStrings, type KubeObject } from '@kubecache/cache';

/**
 * A ConfigMap as JSON.parse makes it: every string value longer than V8's internalization limit
 * (10 characters) is its own copy.
 */
function parsed(i: number): KubeObject {
  return JSON.parse(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `cm-${i}`,
        namespace: 'team-alpha-production',
        creationTimestamp: '2026-11-30T10:00:00Z',
        uid: `uid-${i}`,
        resourceVersion: String(100 + i),
        labels: {
          'app.kubernetes.io/name': 'checkout-service',
          'app.kubernetes.io/part-of': 'storefront',
        },
        managedFields: [
          {
            manager: 'kubectl-client-side-apply',
            operation: 'Update',
            time: '2026-11-30T10:00:00Z',
            apiVersion: 'v1',
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:data': { '.': {}, 'f:key': {} } },
          },
        ],
      },
      data: { key: `value-${i}` },
    }),
  ) as KubeObject;
}

describe('internStrings', () => {
  it('keeps objects deep-equal to what was parsed', () => {
    const intern = internStrings<KubeObject>();
    for (let i = 0; i < 3; i++) assert.deepEqual(intern(parsed(i)), parsed(i));
  });

  it('shares one frozen {} for every empty object, across objects', () => {
    const intern = internStrings<KubeObject>();
    const a = intern(parsed(1)) as unknown as {
      metadata: { managedFields: { fieldsV1: Record<string, Record<string, unknown>> }[] };
    };
    const b = intern(parsed(2)) as unknown as typeof a;
    const leafA = a.metadata.managedFields[0]!.fieldsV1['f:data']!['f:key'];
    const leafB = b.metadata.managedFields[0]!.fieldsV1['f:data']!['.'];
    assert.equal(leafA, leafB, 'the same object');
    assert.ok(Object.isFrozen(leafA));
    assert.throws(() => {
      'use strict';
      (leafA as Record<string, unknown>)['x'] = 1;
    }, TypeError);
  });

  it('leaves empty objects alone when asked, and never touches non-plain objects', () => {
    const intern = internStrings<KubeObject>({ shareEmptyObjects: false });
    const a = intern(parsed(1)) as unknown as {
      metadata: { managedFields: { fieldsV1: Record<string, Record<string, unknown>> }[] };
    };
    const leaf = a.metadata.managedFields[0]!.fieldsV1['f:data']!['f:key'];
    assert.equal(Object.isFrozen(leaf), false);
  });

  it('shares repeated strings: 20k similar objects take clearly less heap (string identity is only visible in the heap)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const retained = (make: (i: number) => KubeObject): number => {
      gc();
      const before = process.memoryUsage().heapUsed;
      const kept: KubeObject[] = [];
      for (let i = 0; i < 20_000; i++) kept.push(make(i));
      gc();
      const bytes = process.memoryUsage().heapUsed - before;
      assert.equal(kept.length, 20_000);
      return bytes;
    };
    const plain = retained(parsed);
    const intern = internStrings<KubeObject>();
    const interned = retained((i) => intern(parsed(i)));
    assert.ok(
      interned < 0.85 * plain,
      `interned ${Math.round(interned / 20_000)} bytes/object vs ${Math.round(plain / 20_000)} plain`,
    );
  });

  it('skips uid and resourceVersion and long values, and starts its table over when full', () => {
    const seen: string[] = [];
    const intern = internStrings<KubeObject>({ maxEntries: 4, maxLength: 16 });
    for (let i = 0; i < 50; i++) {
      const o = intern(parsed(i));
      seen.push(String(o.metadata?.uid));
    }
    assert.equal(new Set(seen).size, 50, 'unique values stay what they were');
    assert.deepEqual(intern(parsed(7)), parsed(7));
  });
});
