import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DeletedFinalStateUnknown,
  deletionHandlingKeyFunc,
  deletionHandlingMetaNamespaceKeyFunc,
  KeyError,
  KubecacheError,
  type KubeObject,
  metaNamespaceKeyFunc,
  splitMetaNamespaceKey,
} from '@kubecache/cache';

function isKeyError(err: unknown): boolean {
  return err instanceof KeyError && err instanceof KubecacheError && err.code === 'KeyError';
}

describe('metaNamespaceKeyFunc', () => {
  it('keys namespaced objects as namespace/name', () => {
    assert.equal(
      metaNamespaceKeyFunc({ metadata: { namespace: 'default', name: 'web' } }),
      'default/web',
    );
  });

  it('keys cluster-scoped objects by name alone (no or empty namespace)', () => {
    assert.equal(metaNamespaceKeyFunc({ kind: 'Node', metadata: { name: 'node-1' } }), 'node-1');
    assert.equal(metaNamespaceKeyFunc({ metadata: { namespace: '', name: 'pv-1' } }), 'pv-1');
  });

  it('throws a typed KeyError for objects without metadata or name', () => {
    assert.throws(() => metaNamespaceKeyFunc({ kind: 'Pod' }), isKeyError);
    assert.throws(() => metaNamespaceKeyFunc({ metadata: { namespace: 'default' } }), isKeyError);
    assert.throws(() => metaNamespaceKeyFunc({ metadata: { name: '' } }), isKeyError);
    assert.throws(() => metaNamespaceKeyFunc(null as unknown as KubeObject), isKeyError);
    assert.throws(
      () => metaNamespaceKeyFunc({ metadata: 'nope' } as unknown as KubeObject),
      isKeyError,
    );
  });
});

describe('deletionHandlingMetaNamespaceKeyFunc', () => {
  it('uses the key a tombstone carries, whatever its last known object says', () => {
    const stale: KubeObject = { metadata: { namespace: 'other', name: 'renamed' } };
    assert.equal(
      deletionHandlingMetaNamespaceKeyFunc(new DeletedFinalStateUnknown('default/web', stale)),
      'default/web',
    );
    assert.equal(
      deletionHandlingMetaNamespaceKeyFunc(
        new DeletedFinalStateUnknown<KubeObject>('node-1', undefined),
      ),
      'node-1',
    );
  });

  it('falls back to the namespace/name key, with the same errors', () => {
    assert.equal(
      deletionHandlingMetaNamespaceKeyFunc({ metadata: { namespace: 'ns', name: 'a' } }),
      'ns/a',
    );
    assert.throws(() => deletionHandlingMetaNamespaceKeyFunc({}), isKeyError);
  });

  it('deletionHandlingKeyFunc wraps any key function', () => {
    const byUid = deletionHandlingKeyFunc<KubeObject>((o) => o.metadata?.uid ?? '?');
    assert.equal(byUid({ metadata: { name: 'a', uid: 'u-1' } }), 'u-1');
    assert.equal(byUid(new DeletedFinalStateUnknown<KubeObject>('u-2', undefined)), 'u-2');
  });

  it('tombstones expose key and last state', () => {
    const obj: KubeObject = { metadata: { name: 'a' } };
    const tombstone = new DeletedFinalStateUnknown('a', obj);
    assert.equal(tombstone.key, 'a');
    assert.equal(tombstone.obj, obj);
  });
});

describe('splitMetaNamespaceKey', () => {
  it('splits namespaced and cluster-scoped keys', () => {
    assert.deepEqual(splitMetaNamespaceKey('default/web'), { namespace: 'default', name: 'web' });
    assert.deepEqual(splitMetaNamespaceKey('node-1'), { namespace: '', name: 'node-1' });
  });

  it('round-trips with metaNamespaceKeyFunc', () => {
    for (const namespace of ['', 'default', 'kube-system', 'a']) {
      for (const name of ['x', 'web-7d9f8', 'a.b.c']) {
        const key = metaNamespaceKeyFunc({ metadata: { namespace, name } });
        assert.deepEqual(splitMetaNamespaceKey(key), { namespace, name });
      }
    }
  });

  it('rejects malformed keys with a KeyError naming the key', () => {
    for (const key of ['', 'a/b/c', '/web', 'default/', '/', 'a//b']) {
      assert.throws(
        () => splitMetaNamespaceKey(key),
        (err: unknown) => isKeyError(err) && (err as KeyError).key === key,
        `key ${JSON.stringify(key)}`,
      );
    }
  });
});
