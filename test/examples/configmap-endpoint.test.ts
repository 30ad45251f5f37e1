import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '@kubecache/apiserver';
import type { KubeObject } from '@kubecache/cache';

const NODE = 'node_modules/.bin/node';
const EXAMPLE = 'examples/configmap-endpoint.ts';
const DEFAULT = 'https://wazanga.partytime';
const FOO = 'https://foo.com';
const BAR = 'https://bar.com';
const INFORMER = 'core/v1/configmaps[ns=default,fields=metadata.name=clusters-config]';
// The kubeconfig's bearer token: it must appear in no probe body and no metric.
const TOKEN = 'kubecache-test-token-0123456789abcdef';

interface Run {
  readonly child: ChildProcess;
  /** Resolves with the first stdout line matching `re` (already printed or still to come). */
  line(re: RegExp): Promise<RegExpExecArray>;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

function start(args: string[]): Run {
  const env = { ...process.env };
  delete env['KUBECONFIG'];
  const child = spawn(NODE, [EXAMPLE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const m = w.re.exec(stdout);
      if (m !== null) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  // Bounded: whatever happens, the child is gone after 30 s.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    check();
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    },
  );
  return {
    child,
    done,
    stdout: () => stdout,
    stderr: () => stderr,
    line: (re) =>
      new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        check();
        void done.then(() => reject(new Error(`exited before printing ${re}:\n${stdout}`)));
      }),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function get(port: number, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  assert.equal(res.headers.get('content-type'), 'application/json', path);
  return { status: res.status, body: await res.json() };
}

/** Polls `GET path` every 20 ms until `ok` holds for the answer; fails after `timeoutMs`. */
async function until(
  port: number,
  path: string,
  ok: (a: { status: number; body: unknown }) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const answer = await get(port, path);
    if (ok(answer)) return;
    last = answer;
    if (Date.now() > deadline) {
      assert.fail(`timed out waiting for ${what}; last ${path}: ${JSON.stringify(last)}`);
    }
    await sleep(20);
  }
}

/** `GET /metrics`: Prometheus text; `metric(name, labels)` reads one sample of it. */
async function scrape(port: number): Promise<{
  text: string;
  metric: (name: string, labels?: Record<string, string>) => number | undefined;
}> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, metric: (name, labels = {}) => metricValue(text, name, labels) };
}

/** The value of the sample `name{labels…}` (labels a subset, matched in any order). */
function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  const found = text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => wanted.every((w) => l.includes(w)));
  assert.ok(found.length <= 1, `several samples of ${name} ${JSON.stringify(labels)}`);
  return found[0] === undefined ? undefined : Number(found[0].slice(found[0].lastIndexOf(' ') + 1));
}

const endpointIs =
  (url: string) =>
  ({ status, body }: { status: number; body: unknown }): boolean =>
    status === 200 && (body as { current_endpoint?: string }).current_endpoint === url;

describe('examples/configmap-endpoint.ts', () => {
  it('--demo plays every step, answers each GET /config as expected and exits 0', async () => {
    const run = start(['--demo', '--port', '0']);
    const { code } = await run.done;
    const stdout = run.stdout();
    assert.equal(code, 0, `${stdout}\n${run.stderr()}`);
    const lines = stdout.split('\n');
    assert.ok(lines.includes('GET /readyz -> 200 {"status":"ok"}'), stdout);
    const answers = lines
      .filter((l) => l.startsWith('GET /config -> '))
      .map((l) => l.slice('GET /config -> '.length));
    const expected = [
      DEFAULT, // 1 absent
      FOO, // 2 created
      BAR, // 3 current.target edited
      DEFAULT, // 4 target names a missing key
      FOO, // 5 after closeWatches, an edit
      BAR, // 6 after 410, an edit
      BAR, // 7 API server down: the last value
      FOO, // 7 after resume, an edit
      DEFAULT, // 8 deleted
      BAR, // 9 re-created
    ];
    assert.deepEqual(
      answers,
      expected.map((url) => `200 ${JSON.stringify({ current_endpoint: url })}`),
      stdout,
    );
    const steps = lines.filter((l) => /^\[\d\] /.test(l)).map((l) => l.slice(1, 2));
    assert.deepEqual(steps, ['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.ok(lines.includes('Every answer as expected.'), stdout);
    // The /metrics excerpt it prints: step 6's 410 was a relist, the store holds the ConfigMap.
    const i = { informer: INFORMER };
    const excerpt = lines
      .filter((l) => l.startsWith('  kubecache_'))
      .map((l) => l.trim())
      .join('\n');
    assert.equal(metricValue(excerpt, 'kubecache_informer_relists_total', i), 1, excerpt);
    assert.equal(
      metricValue(excerpt, 'kubecache_informer_events_total', { ...i, type: 'ERROR' }),
      1,
    );
    assert.equal(metricValue(excerpt, 'kubecache_informer_store_objects', i), 1);
    assert.match(stdout, /Done\.\n$/);
  });

  describe('as a server against an API server of the test (--kubeconfig, --port 0)', () => {
    let server: ApiServer;
    let dir: string;
    let kubeconfig: string;

    before(async () => {
      server = await startApiServer({ bookmarkIntervalMs: 0, token: TOKEN });
      dir = mkdtempSync(join(tmpdir(), 'configmap-endpoint-'));
      kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, server.kubeconfigYaml);
    });

    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('follows the ConfigMap through edits and cut watches, then stops cleanly on SIGTERM', async () => {
      const ref = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'default',
        name: 'clusters-config',
      };
      const configMap = (target: string): KubeObject =>
        ({
          ...ref,
          metadata: { namespace: 'default', name: 'clusters-config' },
          data: {
            'cluster1.endpoint': FOO,
            'cluster2.endpoint': BAR,
            'current.target': target,
          },
        }) as KubeObject;
      const retarget = (target: string): void => {
        server.patch(ref, { data: { 'current.target': target } });
      };

      // Down before the program starts: it serves at once, but is not ready until it synced.
      await server.faults.pause();
      const run = start(['--kubeconfig', kubeconfig, '--port', '0']);
      try {
        const port = Number((await run.line(/Listening on http:\/\/localhost:(\d+)/))[1]);
        const i = { informer: INFORMER };
        assert.ok(port > 0);
        assert.deepEqual(await get(port, '/livez'), { status: 200, body: { status: 'ok' } });
        const unhealthy = await get(port, '/healthz');
        assert.equal(unhealthy.status, 503);
        assert.deepEqual(
          {
            ...(unhealthy.body as object),
            informers: Object.keys((unhealthy.body as { informers: object }).informers),
          },
          { status: 'unavailable', ready: false, informers: [INFORMER] },
        );
        assert.equal((await get(port, '/readyz')).status, 503);
        assert.equal((await scrape(port)).metric('kubecache_informer_synced', i), 0);
        assert.ok(endpointIs(DEFAULT)(await get(port, '/config')), 'the default before sync');
        assert.equal((await get(port, '/nope')).status, 404);
        assert.equal((await get(port, '/constructor')).status, 404);

        await server.faults.resume();
        await until(port, '/readyz', (a) => a.status === 200, 'ready after the API server is back');
        assert.ok(endpointIs(DEFAULT)(await get(port, '/config')), 'absent: the default');
        const healthy = await get(port, '/healthz');
        assert.equal(healthy.status, 200);
        const health = healthy.body as {
          status: string;
          ready: boolean;
          informers: Record<string, { synced: boolean; storeSize: number }>;
        };
        assert.equal(health.status, 'ok');
        assert.equal(health.ready, true);
        assert.equal(health.informers[INFORMER]?.synced, true);
        assert.equal(health.informers[INFORMER]?.storeSize, 0);

        server.create(configMap('cluster1.endpoint'));
        await until(port, '/config', endpointIs(FOO), 'created');
        // The metrics move with what the informer sees.
        let m = await scrape(port);
        assert.equal(m.metric('kubecache_informer_synced', i), 1);
        assert.equal(m.metric('kubecache_informer_store_objects', i), 1);
        assert.equal(m.metric('kubecache_informer_events_total', { ...i, type: 'ADDED' }), 1);
        const modified = m.metric('kubecache_informer_events_total', { ...i, type: 'MODIFIED' })!;
        retarget('cluster2.endpoint');
        await until(port, '/config', endpointIs(BAR), 'edited');
        m = await scrape(port);
        assert.equal(
          m.metric('kubecache_informer_events_total', { ...i, type: 'MODIFIED' }),
          modified + 1,
        );
        retarget('cluster3.endpoint');
        await until(port, '/config', endpointIs(DEFAULT), 'a dangling current.target');

        const restarts = m.metric('kubecache_informer_watch_restarts_total', i)!;
        server.faults.closeWatches();
        retarget('cluster1.endpoint');
        await until(port, '/config', endpointIs(FOO), 'an edit after closed watches');
        m = await scrape(port);
        assert.ok(m.metric('kubecache_informer_watch_restarts_total', i)! > restarts);
        assert.ok(m.metric('kubecache_informer_watch_duration_seconds_count', i)! >= 1);

        server.faults.breakWatches();
        retarget('cluster2.endpoint');
        await until(port, '/config', endpointIs(BAR), 'an edit after broken watches');

        // (Deletions noticed only by a relist, as tombstones: test/config/configmap-source.test.ts.)
        server.delete(ref);
        await until(port, '/config', endpointIs(DEFAULT), 'deleted');
        m = await scrape(port);
        assert.equal(m.metric('kubecache_informer_store_objects', i), 0);
        assert.equal(m.metric('kubecache_informer_events_total', { ...i, type: 'DELETED' }), 1);

        server.create(configMap('cluster1.endpoint'));
        await until(port, '/config', endpointIs(FOO), 're-created');

        // An outage: answers continue from the cache, and readiness does not flap.
        await server.faults.pause();
        await sleep(300);
        assert.ok(endpointIs(FOO)(await get(port, '/config')), 'the last value while down');
        assert.equal((await get(port, '/readyz')).status, 200);
        await server.faults.resume();
        retarget('cluster2.endpoint');
        await until(port, '/config', endpointIs(BAR), 'an edit after the outage', 20_000);
        m = await scrape(port);
        assert.ok(m.metric('kubecache_informer_failures_total', i)! >= 1, 'the outage was seen');
        assert.equal(m.metric('kubecache_informer_consecutive_failures', i), 0);

        // Nothing a probe or a scrape returns carries the credentials or the server's URL.
        const probes = [m.text, JSON.stringify((await get(port, '/healthz')).body)];
        for (const out of probes) assert.ok(!out.includes(TOKEN), 'the token leaked');
        assert.ok(!m.text.includes(server.url), 'the server URL is in a metric');

        run.child.kill('SIGTERM');
        const { code, signal } = await run.done;
        assert.equal(signal, null, run.stderr());
        assert.equal(code, 0, run.stderr());
        assert.match(run.stdout(), /SIGTERM: shutting down\n[\s\S]*Done\.\n$/);
      } finally {
        run.child.kill('SIGKILL');
        await run.done;
      }
    });
  });
});
