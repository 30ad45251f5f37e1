import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '@kubecache/cache';
import {
  allOf,
  annotationsChanged,
  anyOf,
  generationChanged,
  labelsChanged,
  resourceVersionChanged,
} from '@kubecache/workqueue';

const obj = (meta: KubeObject['metadata']): KubeObject => ({ metadata: meta });

describe('update predicates', () => {
  const base = obj({
    generation: 1,
    resourceVersion: '5',
    labels: { a: '1' },
    annotations: { x: 'y' },
  });

  it('generationChanged: spec changes only; objects without a generation always pass', () => {
    assert.equal(generationChanged(base, obj({ ...base.metadata, resourceVersion: '6' })), false);
    assert.equal(generationChanged(base, obj({ ...base.metadata, generation: 2 })), true);
    assert.equal(generationChanged(base, base), false, 'resync filtered');
    assert.equal(generationChanged(obj({}), obj({})), true);
  });

  it('labelsChanged / annotationsChanged compare contents, not identity', () => {
    assert.equal(labelsChanged(base, obj({ ...base.metadata, labels: { a: '1' } })), false);
    assert.equal(labelsChanged(base, obj({ ...base.metadata, labels: { a: '2' } })), true);
    assert.equal(labelsChanged(base, obj({ ...base.metadata, labels: { a: '1', b: '' } })), true);
    assert.equal(labelsChanged(base, obj({ ...base.metadata, labels: undefined })), true);
    assert.equal(annotationsChanged(base, obj({ ...base.metadata })), false);
    assert.equal(annotationsChanged(base, obj({ ...base.metadata, annotations: {} })), true);
  });

  it('resourceVersionChanged skips resyncs only', () => {
    assert.equal(resourceVersionChanged(base, base), false);
    assert.equal(
      resourceVersionChanged(base, obj({ ...base.metadata, resourceVersion: '6' })),
      true,
    );
  });

  it('anyOf and allOf combine', () => {
    const relabelled = obj({ ...base.metadata, resourceVersion: '6', labels: { a: '2' } });
    assert.equal(anyOf(generationChanged, labelsChanged)(base, relabelled), true);
    assert.equal(allOf(generationChanged, labelsChanged)(base, relabelled), false);
    assert.equal(allOf(resourceVersionChanged, labelsChanged)(base, relabelled), true);
    assert.equal(anyOf()(base, relabelled), false);
    assert.equal(allOf()(base, relabelled), true);
  });
});
