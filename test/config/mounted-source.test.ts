import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeClock, KubecacheError } from '@kubecache/cache';
import {
  ConfigFileMissingError,
  ConfigHolder,
  ConfigParseError,
  ConfigVolumeGoneError,
  MountedConfigSource,
  parseConfigText,
  type ConfigChange,
} from '@kubecache/config';
import { parse as parseYaml } from 'yaml';

/** Plays the kubelet's AtomicWriter on a directory, one step sequence per `write`. */
class AtomicVolume {
  #n = 0;
  #current: string | undefined;
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  /** Writes a new version; returns its timestamped directory name. */
  write(files: Record<string, string>): string {
    const ts = `..2026_11_22_10_00_00.${String(++this.#n).padStart(9, '0')}`;
    mkdirSync(join(this.dir, ts));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(this.dir, ts, name), text);
    symlinkSync(ts, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data')); // the atomic swap
    for (const name of Object.keys(files)) {
      if (!existsLink(join(this.dir, name))) symlinkSync(`..data/${name}`, join(this.dir, name));
    }
    if (this.#current !== undefined) rmSync(join(this.dir, this.#current), { recursive: true });
    this.#current = ts;
    return ts;
  }
}

function existsLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Bounded polling for things the kernel delivers (fs.watch events) — outcomes, not timings. */
async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Settings {
  greeting: string;
  n?: number;
}

describe('MountedConfigSource', () => {
  let dir: string;
  let volume: AtomicVolume;
  let clock: FakeClock;
  let stop: AbortController;
  let errors: KubecacheError[];
  let changes: ConfigChange<Settings>[];

  beforeEach(() => {
    const root = mkdtempSync(join(tmpdir(), 'kubecache-mounted-'));
    dir = join(root, 'config');
    mkdirSync(dir);
    volume = new AtomicVolume(dir);
    clock = new FakeClock();
    stop = new AbortController();
    errors = [];
    changes = [];
  });

  afterEach(() => {
    stop.abort();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  function source(
    extra: Partial<ConstructorParameters<typeof MountedConfigSource<Settings>>[0]> = {},
  ): MountedConfigSource<Settings> {
    const s = new MountedConfigSource<Settings>({
      dir,
      file: 'config.yaml',
      clock,
      debounceMs: 100,
      maxDelayMs: 1000,
      recheckMs: 500,
      onError: (e) => errors.push(e),
      ...extra,
    });
    s.holder.onChange((c) => changes.push(c));
    return s;
  }

  /** Waits for the watcher to arm the debounce timer, lets it fire, waits for the reload. */
  async function settle(s: MountedConfigSource<Settings>): Promise<void> {
    await waitFor('a directory event', () => clock.pendingTimers() > 0);
    await clock.advance(1000);
    await s.whenIdle();
  }

  /** Lets late events (the old directory's removal, ...) arrive and any timer they set run out. */
  async function quiesce(s: MountedConfigSource<Settings>): Promise<void> {
    await pause(50);
    await clock.advance(1000);
    await s.whenIdle();
  }

  it('loads the file through ..data on start', async () => {
    const ts = volume.write({ 'config.yaml': 'greeting: hello\n' });
    const s = source();
    await s.start(stop.signal);
    assert.deepEqual(s.holder.get(), { greeting: 'hello' });
    assert.equal(s.loadedFrom, ts);
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.origin, join(dir, 'config.yaml'));
    assert.deepEqual(errors, []);
  });

  it('reloads once per update, with the old and the new config', async () => {
    volume.write({ 'config.yaml': 'greeting: hello\n' });
    const s = source();
    await s.start(stop.signal);
    const ts2 = volume.write({ 'config.yaml': 'greeting: hi\nn: 2\n' });
    await settle(s);
    await quiesce(s);
    assert.equal(changes.length, 2, 'initial load + exactly one reload');
    assert.deepEqual(changes[1]!.previous, { greeting: 'hello' });
    assert.deepEqual(changes[1]!.current, { greeting: 'hi', n: 2 });
    assert.equal(s.loadedFrom, ts2);
    assert.deepEqual(errors, []);
  });

  it('coalesces two updates in quick succession and ends on the second, never a mix', async () => {
    volume.write({ 'config.yaml': 'greeting: v1\nn: 1\n' });
    const s = source();
    await s.start(stop.signal);
    volume.write({ 'config.yaml': 'greeting: v2\nn: 2\n' });
    volume.write({ 'config.yaml': 'greeting: v3\nn: 3\n' });
    await settle(s);
    await quiesce(s);
    const reloads = changes.slice(1);
    assert.ok(reloads.length >= 1 && reloads.length <= 2, `${reloads.length} reloads`);
    for (const c of reloads) {
      assert.ok(
        [
          JSON.stringify({ greeting: 'v2', n: 2 }),
          JSON.stringify({ greeting: 'v3', n: 3 }),
        ].includes(JSON.stringify(c.current)),
        `a whole version: ${JSON.stringify(c.current)}`,
      );
    }
    assert.deepEqual(s.holder.get(), { greeting: 'v3', n: 3 });
  });

  it('an update during a reload: the stale read is dropped, the newest version is loaded', async () => {
    volume.write({ 'config.yaml': 'greeting: v1\n' });
    let gate: Promise<void> | undefined;
    let parsing = 0;
    const s = source({
      parse: async (text) => {
        parsing++;
        if (gate !== undefined) await gate; // hold the reload between the read and the swap
        return parseYaml(text) as Settings;
      },
    });
    await s.start(stop.signal);
    let release!: () => void;
    gate = new Promise((r) => (release = r));

    volume.write({ 'config.yaml': 'greeting: v2\n' });
    await waitFor('a directory event', () => clock.pendingTimers() > 0);
    await clock.advance(1000);
    await waitFor('the v2 reload to be parsing', () => parsing === 2);

    // The kubelet swaps again (and removes v2's directory) while v2 is being parsed.
    const ts3 = volume.write({ 'config.yaml': 'greeting: v3\n' });
    await waitFor('a directory event', () => clock.pendingTimers() > 0);
    await clock.advance(1000);
    gate = undefined;
    release();
    await s.whenIdle();
    await quiesce(s);

    assert.deepEqual(s.holder.get(), { greeting: 'v3' });
    assert.equal(s.loadedFrom, ts3);
    assert.deepEqual(
      changes.map((c) => c.current.greeting),
      ['v1', 'v3'],
      'v2 was read whole but was stale by the time it parsed: not swapped in',
    );
    assert.deepEqual(errors, []);
  });

  it('a bad update keeps the last good config and names the file and line; a good one loads', async () => {
    volume.write({ 'config.yaml': 'greeting: hello\n' });
    const s = source();
    await s.start(stop.signal);

    volume.write({ 'config.yaml': 'greeting: broken\nn: 2\n  x: 3\n' });
    await settle(s);
    await quiesce(s);
    assert.equal(errors.length, 1, 'reported once');
    const err = errors[0];
    assert.ok(err instanceof ConfigParseError, String(err));
    assert.equal(err.code, 'ConfigParse');
    assert.equal(err.source, join(dir, 'config.yaml'));
    assert.equal(err.line, 2);
    assert.match(err.message, /config\.yaml line 2: /);
    assert.doesNotMatch(err.message, /\n/);
    assert.deepEqual(s.holder.get(), { greeting: 'hello' }, 'last good config kept');
    assert.equal(changes.length, 1);

    volume.write({ 'config.yaml': 'greeting: fixed\n' });
    await settle(s);
    assert.deepEqual(s.holder.get(), { greeting: 'fixed' });
    assert.deepEqual(changes[1]!.previous, { greeting: 'hello' });
    assert.equal(errors.length, 1);
  });

  it('a steady stream of updates still reloads within maxDelayMs of its first event', async () => {
    volume.write({ 'config.yaml': 'greeting: v0\n' });
    const s = source();
    await s.start(stop.signal);
    // An update every 60 ms (less than debounceMs): a pure debounce would never fire.
    let last = 0;
    for (let i = 1; clock.now() <= 900; i++) {
      const before = clock.nextDue();
      volume.write({ 'config.yaml': `greeting: v${i}\n` });
      await waitFor(`the event of update ${i}`, () => clock.nextDue() !== before);
      last = i;
      if (clock.now() < 900) await clock.advance(60);
      else break;
    }
    assert.equal(clock.nextDue(), 1000, 'the timer is capped at the first event + maxDelayMs');
    assert.equal(changes.length, 1, 'nothing reloaded while the updates kept coming');
    await clock.advance(100);
    await s.whenIdle();
    assert.equal(changes.length, 2, 'one reload for the whole stream so far');
    assert.deepEqual(s.holder.get(), { greeting: `v${last}` });
  });

  it('reports the volume going away as ConfigVolumeGoneError, keeps the config, resumes when it is back', async () => {
    volume.write({ 'config.yaml': 'greeting: hello\n' });
    const s = source();
    await s.start(stop.signal);

    rmSync(dir, { recursive: true });
    await settle(s);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ConfigVolumeGoneError, String(errors[0]));
    assert.equal(errors[0].code, 'ConfigVolumeGone');
    assert.equal(errors[0].dir, dir);
    assert.deepEqual(s.holder.get(), { greeting: 'hello' });
    await clock.advance(500); // a recheck while still gone: not reported again
    await s.whenIdle();
    assert.equal(errors.length, 1);

    mkdirSync(dir);
    const again = new AtomicVolume(dir);
    again.write({ 'config.yaml': 'greeting: back\n' });
    await clock.advance(500);
    await s.whenIdle();
    assert.deepEqual(s.holder.get(), { greeting: 'back' });

    // And it watches the new directory.
    again.write({ 'config.yaml': 'greeting: updated\n' });
    await settle(s);
    assert.deepEqual(s.holder.get(), { greeting: 'updated' });
    assert.equal(errors.length, 1);
  });

  it('a volume absent at start is reported, and loaded once it appears', async () => {
    rmSync(dir, { recursive: true });
    const s = source({ fallback: { greeting: 'default' } });
    await s.start(stop.signal);
    assert.ok(errors[0] instanceof ConfigVolumeGoneError);
    assert.equal(s.holder.get().greeting, 'default');
    mkdirSync(dir);
    new AtomicVolume(dir).write({ 'config.yaml': 'greeting: hello\n' });
    await clock.advance(500);
    await s.whenIdle();
    assert.deepEqual(s.holder.get(), { greeting: 'hello' });
  });

  it('a version without the file is reported as ConfigFileMissingError', async () => {
    volume.write({ 'config.yaml': 'greeting: hello\n' });
    const s = source();
    await s.start(stop.signal);
    volume.write({ 'other.yaml': 'x: 1\n' });
    await settle(s);
    assert.ok(errors[0] instanceof ConfigFileMissingError, String(errors[0]));
    assert.equal(errors[0].code, 'ConfigFileMissing');
    assert.deepEqual(s.holder.get(), { greeting: 'hello' });
  });

  it('abort closes the watcher and the timers', async () => {
    volume.write({ 'config.yaml': 'greeting: hello\n' });
    const s = source();
    await s.start(stop.signal);
    volume.write({ 'config.yaml': 'greeting: pending\n' });
    await waitFor('a directory event', () => clock.pendingTimers() > 0);
    stop.abort();
    assert.equal(clock.pendingTimers(), 0, 'the debounce timer was cleared');
    volume.write({ 'config.yaml': 'greeting: ignored\n' });
    await pause(50);
    assert.equal(clock.pendingTimers(), 0, 'no watcher left to arm one');
    await clock.advance(10_000);
    await s.whenIdle();
    assert.deepEqual(s.holder.get(), { greeting: 'hello' });
    assert.deepEqual(errors, []);
  });

  it('follows a plain directory (no ..data) by the file text', async () => {
    writeFileSync(join(dir, 'config.yaml'), 'greeting: plain\n');
    const s = source();
    await s.start(stop.signal);
    assert.deepEqual(s.holder.get(), { greeting: 'plain' });
    assert.equal(s.loadedFrom, undefined);
    writeFileSync(join(dir, 'config.yaml.tmp'), 'greeting: edited\n');
    renameSync(join(dir, 'config.yaml.tmp'), join(dir, 'config.yaml'));
    await settle(s);
    await quiesce(s);
    assert.deepEqual(
      changes.map((c) => c.current.greeting),
      ['plain', 'edited'],
    );
  });

  it('rejects holder together with fallback, and an extension without a default parser', () => {
    assert.throws(
      () => new MountedConfigSource({ dir, file: 'config.toml' }),
      (e: unknown) => e instanceof KubecacheError && e.code === 'InvalidArgument',
    );
    assert.throws(
      () =>
        new MountedConfigSource<Settings>({
          dir,
          file: 'config.yaml',
          holder: new ConfigHolder<Settings>(),
          fallback: { greeting: 'x' },
        }),
      (e: unknown) => e instanceof KubecacheError && e.code === 'InvalidArgument',
    );
    assert.ok(existsSync(dir));
  });
});

describe('parseConfigText', () => {
  it('parses YAML, JSON and key=value files by extension', () => {
    assert.deepEqual(parseConfigText('a: 1\nb: [x]\n', 'c.yml'), { a: 1, b: ['x'] });
    assert.deepEqual(parseConfigText('{"a": 1}', 'c.json'), { a: 1 });
    assert.deepEqual(parseConfigText('# comment\n\nqps = 5\nname=a=b\n', 'app.properties'), {
      qps: '5',
      name: 'a=b',
    });
    assert.deepEqual(parseConfigText('export TOKEN="s p"\nX=1\n', '.env'), {
      TOKEN: 's p',
      X: '1',
    });
  });

  it('names the line of a JSON error (from its position) and of a bad key=value line', () => {
    const lineOf = (text: string, file: string): number | undefined => {
      try {
        parseConfigText(text, file);
      } catch (err) {
        assert.ok(err instanceof ConfigParseError);
        assert.equal(err.source, file);
        return err.line;
      }
      assert.fail('no error');
    };
    assert.equal(lineOf('{\n  "a": 1,\n  "b" 2\n}', 'c.json'), 3);
    assert.equal(lineOf('{\n  "a": 1,\n', 'c.json'), 3, 'unexpected end: the last line');
    assert.equal(lineOf('a=1\n# ok\nnot a pair\n', 'c.conf'), 3);
    assert.equal(lineOf('a: 1\na: 2\n', 'c.yaml'), 2, 'duplicate keys are errors');
  });
});
