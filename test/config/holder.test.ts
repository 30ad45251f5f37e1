import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigHolder, ConfigNotLoadedError, type ConfigChange } from '@kubecache/config';

interface Settings {
  endpoint: string;
  limits: { qps: number };
}

describe('ConfigHolder', () => {
  it('answers the fallback until a source loads a config, then swaps whole configs', () => {
    const holder = new ConfigHolder<Settings>({
      fallback: { endpoint: 'https://default', limits: { qps: 1 } },
    });
    assert.equal(holder.loaded, false);
    assert.equal(holder.get().endpoint, 'https://default');
    const changes: ConfigChange<Settings>[] = [];
    holder.onChange((c) => changes.push(c));
    holder.set({ endpoint: 'https://a', limits: { qps: 5 } }, 'default/cfg');
    assert.equal(holder.loaded, true);
    assert.equal(holder.version, 1);
    assert.deepEqual(holder.get(), { endpoint: 'https://a', limits: { qps: 5 } });
    assert.equal(changes[0]?.previous?.endpoint, 'https://default');
    assert.equal(changes[0]?.origin, 'default/cfg');
    holder.reset('deleted');
    assert.equal(holder.get().endpoint, 'https://default');
    assert.equal(changes[1]?.previous?.endpoint, 'https://a');
    assert.equal(changes[1]?.current.endpoint, 'https://default');
  });

  it('freezes configs so no reader can change what another reads', () => {
    const holder = new ConfigHolder<Settings>();
    holder.set({ endpoint: 'x', limits: { qps: 1 } }, 'test');
    assert.throws(() => {
      (holder.get().limits as { qps: number }).qps = 2;
    }, TypeError);
  });

  it('throws a typed error without a config or a fallback; a throwing listener does not stop the others', () => {
    const holder = new ConfigHolder<Settings>({ onListenerError: () => {} });
    assert.throws(() => holder.get(), ConfigNotLoadedError);
    assert.equal(holder.tryGet(), undefined);
    let second = 0;
    holder.onChange(() => {
      throw new Error('listener bug');
    });
    const off = holder.onChange(() => void second++);
    holder.set({ endpoint: 'y', limits: { qps: 1 } }, 'test');
    assert.equal(second, 1);
    off();
    holder.set({ endpoint: 'z', limits: { qps: 1 } }, 'test');
    assert.equal(second, 1, 'unsubscribed');
  });
});
