import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import { DeletedFinalStateUnknown, type KubeObject } from '@kubecache/cache';
import { SharedInformerFactory, type ConfigMap } from '@kubecache/client';
import {
  ConfigMapSource,
  ConfigParseError,
  type ConfigChange,
  type ConfigMapSourceOptions,
} from '@kubecache/config';
import { KubeConfig } from '@kubernetes/client-node';

interface Settings {
  readonly endpoint: string;
  readonly port: number;
}

const FALLBACK: Settings = { endpoint: 'https://fallback', port: 80 };

function parseSettings(data: Readonly<Record<string, string>>, origin: string): Settings {
  const port = Number(data['port'] ?? '80');
  if (!Number.isInteger(port)) {
    throw new ConfigParseError({ source: origin, key: 'port', message: 'not an integer' });
  }
  if (data['endpoint'] === 'boom') throw new Error('endpoint exploded');
  return { endpoint: data['endpoint'] ?? FALLBACK.endpoint, port };
}

const ref = (name: string) =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name }) as const;

const configMap = (name: string, data: Record<string, string>): KubeObject =>
  ({ ...ref(name), metadata: { namespace: 'default', name }, data }) as KubeObject;

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ConfigMapSource over HTTP (embedded API server)', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  const stops: AbortController[] = [];
  const factories: SharedInformerFactory[] = [];

  before(async () => {
    server = await startApiServer({ bookmarkIntervalMs: 0 });
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
  });

  after(async () => {
    for (const s of stops) s.abort();
    await Promise.all(factories.map((f) => f.shutdown()));
    await server.close();
  });

  /** A single-object informer (field selector on the name), as a program would build it. */
  function setup(
    name: string,
    options: { startFactory?: boolean } & Partial<ConfigMapSourceOptions<Settings>> = {},
  ) {
    const stop = new AbortController();
    stops.push(stop);
    const factory = new SharedInformerFactory(kc, {
      namespace: 'default',
      fieldSelector: `metadata.name=${name}`,
      // The outage tests cut the connection on purpose; the reflector retries on its own.
      onError: () => {},
    });
    factories.push(factory);
    const informer = factory.core.v1.configmaps().informer();
    if (options.startFactory ?? true) factory.start(stop.signal);
    const errors: ConfigParseError[] = [];
    const source = new ConfigMapSource<Settings>({
      informer,
      namespace: 'default',
      name,
      parse: parseSettings,
      fallback: FALLBACK,
      onError: (err) => errors.push(err),
      ...options,
    });
    const changes: ConfigChange<Settings>[] = [];
    source.holder.onChange((c) => changes.push(c));
    return { stop, factory, informer, source, errors, changes };
  }

  it('start() resolves when the ConfigMap is absent; readers get the fallback', async () => {
    const { stop, source } = setup('absent');
    await source.start(stop.signal);
    assert.equal(source.synced, true);
    assert.equal(source.holder.loaded, false);
    assert.deepEqual(source.holder.get(), FALLBACK);
    assert.equal(source.origin, 'default/absent');
  });

  it('start() resolves with the ConfigMap loaded when it exists', async () => {
    server.create(configMap('present', { endpoint: 'https://present', port: '8443' }));
    const { stop, source } = setup('present');
    await source.start(stop.signal);
    assert.equal(source.synced, true);
    assert.deepEqual(source.holder.get(), { endpoint: 'https://present', port: 8443 });
  });

  it('follows create, edit, delete and re-create; other ConfigMaps are not seen', async () => {
    const { stop, informer, source, changes } = setup('app');
    await source.start(stop.signal);
    const endpoint = (): string => source.holder.get().endpoint;

    server.create(configMap('app', { endpoint: 'https://one' }));
    await until(() => endpoint() === 'https://one', 'created');
    assert.equal(Object.isFrozen(source.holder.get()), true);

    server.patch(ref('app'), { data: { endpoint: 'https://two', port: '81' } });
    await until(() => endpoint() === 'https://two', 'edited');
    assert.equal(source.holder.get().port, 81);

    // A sibling in the same namespace: outside the field selector, so outside the cache.
    server.create(configMap('app-other', { endpoint: 'https://other' }));

    server.delete(ref('app'));
    await until(() => !source.holder.loaded, 'deleted');
    assert.deepEqual(source.holder.get(), FALLBACK);

    server.create(configMap('app', { endpoint: 'https://three' }));
    await until(() => endpoint() === 'https://three', 're-created');
    assert.deepEqual(
      informer
        .getStore()
        .list()
        .map((cm) => cm.metadata?.name),
      ['app'],
      'the field selector keeps the sibling out of the cache',
    );

    assert.deepEqual(
      changes.map((c) => [c.previous?.endpoint, c.current.endpoint, c.origin]),
      [
        ['https://fallback', 'https://one', 'default/app'],
        ['https://one', 'https://two', 'default/app'],
        ['https://two', 'https://fallback', 'default/app'],
        ['https://fallback', 'https://three', 'default/app'],
      ],
    );
  });

  it('a deletion missed while disconnected arrives as a tombstone on relist and resets', async () => {
    server.create(configMap('gone', { endpoint: 'https://gone' }));
    const { stop, informer, source } = setup('gone');
    const deletes: unknown[] = [];
    informer.addEventHandler({ onDelete: (obj) => deletes.push(obj) });
    await source.start(stop.signal);
    assert.equal(source.holder.get().endpoint, 'https://gone');

    // Outage: the watch drops, the ConfigMap is deleted meanwhile and the history compacted, so
    // the reflector's re-watch gets 410 and relists; the informer diffs and emits a tombstone.
    await server.faults.pause();
    server.delete(ref('gone'));
    server.faults.compactHistory();
    await server.faults.resume();

    await until(() => !source.holder.loaded, 'reset by the tombstone', 20_000);
    assert.deepEqual(source.holder.get(), FALLBACK);
    assert.equal(deletes.length, 1);
    assert.ok(deletes[0] instanceof DeletedFinalStateUnknown, 'relist tombstone');
    assert.equal((deletes[0] as DeletedFinalStateUnknown<ConfigMap>).key, 'default/gone');
  });

  it('a ConfigMap that does not parse keeps the last good config and reports a typed error', async () => {
    server.create(configMap('bad', { endpoint: 'https://good', port: '8080' }));
    const { stop, source, errors } = setup('bad');
    await source.start(stop.signal);
    const good = source.holder.get();
    const version = source.holder.version;

    server.patch(ref('bad'), { data: { port: 'eighty' } });
    await until(() => errors.length === 1, 'the parse error');
    const err = errors[0]!;
    assert.ok(err instanceof ConfigParseError);
    assert.equal(err.code, 'ConfigParse');
    assert.equal(err.source, 'default/bad');
    assert.equal(err.key, 'port');
    assert.match(err.message, /default\/bad \(port\).*not an integer/);
    assert.equal(source.holder.get(), good, 'the same frozen config object');
    assert.equal(source.holder.version, version);

    // Any other throw is wrapped, naming the ConfigMap.
    server.patch(ref('bad'), { data: { port: '8080', endpoint: 'boom' } });
    await until(() => errors.length === 2, 'the second parse error');
    assert.ok(errors[1] instanceof ConfigParseError);
    assert.equal(errors[1].source, 'default/bad');
    assert.equal(errors[1].key, undefined);
    assert.ok(errors[1].cause instanceof Error);
    assert.match(errors[1].message, /default\/bad: endpoint exploded/);
    assert.equal(source.holder.get(), good);

    server.patch(ref('bad'), { data: { endpoint: 'https://fixed' } });
    await until(() => source.holder.get().endpoint === 'https://fixed', 'the fixed config');
    assert.equal(source.holder.get().port, 8080);
    assert.equal(errors.length, 2);
  });

  it('runs an informer nobody runs; stops with the signal', async () => {
    server.create(configMap('solo', { endpoint: 'https://solo' }));
    const { stop, informer, source } = setup('solo', { startFactory: false });
    assert.equal(informer.started, false);
    await source.start(stop.signal);
    assert.equal(informer.started, true);
    assert.equal(source.holder.get().endpoint, 'https://solo');
    stop.abort();
    server.patch(ref('solo'), { data: { endpoint: 'https://after-stop' } });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(source.holder.get().endpoint, 'https://solo', 'no updates after the abort');
  });

  it('start() resolves unsynced when the signal aborts before the informer syncs', async () => {
    await server.faults.pause();
    try {
      const { stop, source } = setup('never');
      const started = source.start(stop.signal);
      await new Promise((r) => setTimeout(r, 50));
      stop.abort();
      await started;
      assert.equal(source.synced, false);
      assert.deepEqual(source.holder.get(), FALLBACK);
    } finally {
      await server.faults.resume();
    }
  });
});
