/**
 * Follows a config file in a mounted ConfigMap volume and prints every change and error.
 *
 *   npm run example:mounted-config -- --demo                       # plays the kubelet's updates
 *   npm run example:mounted-config -- --dir /etc/config --file config.yaml
 *
 * `--demo` makes a temporary directory and updates it the way the kubelet's AtomicWriter updates
 * a ConfigMap volume — data in a new `..<timestamp>` directory, a `..data_tmp` symlink to it
 * renamed over `..data`, `config.yaml` a symlink to `..data/config.yaml`, the old directory
 * removed — and shows one reload per update, two quick updates coalesced, and a bad file
 * reported while the last good config stays.
 *
 * In a cluster, mount the ConfigMap as a volume (not with `subPath`: the kubelet never updates
 * subPath mounts) and run this in the pod:
 *
 *   volumes:
 *     - name: config
 *       configMap: { name: my-config }           # data: { config.yaml: "greeting: hello\n" }
 *   containers:
 *     - name: app
 *       command: [node, examples/mounted-config.ts, --dir, /etc/config, --file, config.yaml]
 *       volumeMounts: [{ name: config, mountPath: /etc/config, readOnly: true }]
 *
 * then `kubectl edit configmap my-config`: the kubelet swaps the volume within its sync period
 * (about a minute plus the ConfigMap cache TTL), and the change is printed once.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { MountedConfigSource } from '@kubecache/config';

const { values: args } = parseArgs({
  options: {
    dir: { type: 'string', default: '/etc/config' },
    file: { type: 'string', default: 'config.yaml' },
    demo: { type: 'boolean', default: false },
  },
});

const demoRoot = args.demo ? mkdtempSync(join(tmpdir(), 'kubecache-mounted-config-')) : undefined;
const dir = demoRoot === undefined ? args.dir : join(demoRoot, 'config');
const file = args.demo ? 'config.yaml' : args.file;
if (demoRoot !== undefined) {
  mkdirSync(dir);
  await atomicWrite(dir, { [file]: 'greeting: hello\nreplicas: 1\n' });
}

const show = (v: unknown): string => (v === undefined ? '(none)' : JSON.stringify(v));
let reloads = 0;
let errors = 0;
const stop = new AbortController();

// Every config is whole: a reader sees the old one or the new one, never a mix.
const source = new MountedConfigSource<Record<string, unknown>>({
  dir,
  file,
  onError: (err) => {
    errors++;
    console.log(`error ${err.code}: ${err.message}`);
  },
});
source.holder.onChange(({ previous, current }) => {
  reloads++;
  console.log(`config: ${show(previous)} → ${show(current)}`);
});
console.log(`watching ${dir} (${file})`);
await source.start(stop.signal);

if (demoRoot === undefined) {
  // Pods are stopped with SIGTERM; Ctrl-C sends SIGINT.
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  stop.abort();
} else {
  let ok = true;
  /** Plays one step, waits for what the watcher makes of it, and checks nothing more comes. */
  const step = async (
    what: string,
    files: Record<string, string>[],
    expect: { reloads: number; errors: number },
  ): Promise<void> => {
    console.log(`update: ${what}`);
    const before = { reloads, errors };
    for (const f of files) await atomicWrite(dir, f);
    const deadline = Date.now() + 10_000;
    while (reloads + errors === before.reloads + before.errors && Date.now() < deadline) {
      await sleep(10);
    }
    await sleep(400); // well past the 100 ms debounce: any extra reload would show up by now
    const saw = { reloads: reloads - before.reloads, errors: errors - before.errors };
    if (saw.reloads !== expect.reloads || saw.errors !== expect.errors) {
      ok = false;
      console.log(`unexpected: ${JSON.stringify(saw)}, wanted ${JSON.stringify(expect)}`);
    }
  };
  try {
    await step('greeting: hi', [{ [file]: 'greeting: hi\nreplicas: 1\n' }], {
      reloads: 1,
      errors: 0,
    });
    await step(
      'two in quick succession (replicas: 2, then replicas: 3)',
      [{ [file]: 'greeting: hi\nreplicas: 2\n' }, { [file]: 'greeting: hi\nreplicas: 3\n' }],
      { reloads: 1, errors: 0 },
    );
    await step('a bad file', [{ [file]: 'greeting: oops\nreplicas: 4\n  nested: x\n' }], {
      reloads: 0,
      errors: 1,
    });
    console.log(`still: ${show(source.holder.get())}`);
    await step('a good file again', [{ [file]: 'greeting: fixed\nreplicas: 5\n' }], {
      reloads: 1,
      errors: 0,
    });
  } finally {
    stop.abort();
    rmSync(demoRoot, { recursive: true, force: true });
  }
  console.log(`demo: 5 updates, ${reloads - 1} reloads after the initial load, ${errors} error`);
  if (!ok) process.exitCode = 1;
}
console.log('Done.');

/**
 * Writes `files` into `dir` the way the kubelet's AtomicWriter does, so the demo exercises the
 * same directory events as a real ConfigMap volume.
 */
async function atomicWrite(dir: string, files: Record<string, string>): Promise<void> {
  const dataLink = join(dir, '..data');
  const old = await readlink(dataLink).catch(() => undefined);
  // A fresh hidden directory named after the time (the kubelet adds a random suffix the same way).
  const stamp = new Date().toISOString().replace(/[-T:]/g, '_').replace(/\..*$/, '');
  const tsDir = mkdtempSync(join(dir, `..${stamp}.`));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(tsDir, name), text);
  symlinkSync(basename(tsDir), join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), dataLink); // the atomic switch
  for (const name of Object.keys(files)) {
    const visible = join(dir, name);
    if (
      !(await lstat(visible).then(
        () => true,
        () => false,
      ))
    ) {
      symlinkSync(join('..data', name), visible);
    }
  }
  if (old !== undefined) rmSync(join(dir, old), { recursive: true, force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
