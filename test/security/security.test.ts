// Security: credentials never appear in what kubecache says (errors, logs, health), TLS is
// verified unless the kubeconfig says otherwise, and the embedded server binds loopback only
// unless asked.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  isLoopbackHost,
  NonLoopbackBindError,
  startApiServer,
  type ApiServer,
} from '@kubecache/apiserver';
import { consoleLogger } from '@kubecache/cache';
import { CacheSyncError, SharedInformerFactory } from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';

// Distinctive values: any appearance in output is a leak, never a coincidence.
const TOKEN = 'sekret-token-4f1d9c2a7b';
const UNKNOWN_TOKEN = 'sekret-unknown-8e3b51f0c6';
const EXEC_TOKEN = 'sekret-exec-2c7a94d1e5';
const SECRETS = [TOKEN, UNKNOWN_TOKEN, EXEC_TOKEN];

interface Cluster {
  readonly caData?: string;
  readonly skipTLSVerify?: boolean;
}

function kubeConfig(
  server: ApiServer,
  user: Record<string, unknown>,
  cluster: Cluster = { caData: Buffer.from(server.caPem ?? '').toString('base64') },
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: server.url, ...cluster }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace: 'default' }],
    currentContext: 'x',
  });
  return kc;
}

/** An exec credential plugin (a node one-liner) that prints EXEC_TOKEN as client-go expects. */
const execUser = {
  exec: {
    apiVersion: 'client.authentication.k8s.io/v1',
    command: process.execPath,
    args: [
      '-e',
      'process.stdout.write(JSON.stringify({apiVersion:"client.authentication.k8s.io/v1",kind:"ExecCredential",status:{token:process.env.PLUGIN_TOKEN}}))',
    ],
    env: [{ name: 'PLUGIN_TOKEN', value: EXEC_TOKEN }],
    interactiveMode: 'Never',
  },
};

/** Everything a factory says: log lines (at debug, stacks included), errors inspected deeply, health. */
class Transcript {
  readonly lines: string[] = [];
  readonly errors: unknown[] = [];

  factory(kc: KubeConfig, retryBudget?: number): SharedInformerFactory {
    const logger = consoleLogger({ level: 'debug', write: (l) => this.lines.push(l) });
    return new SharedInformerFactory(kc, {
      logger,
      reflector: {
        backoff: { initialMs: 5, maxMs: 20 },
        ...(retryBudget === undefined ? {} : { retryBudget }),
      },
    });
  }

  text(): string {
    return [...this.lines, ...this.errors.map((e) => inspect(e, { depth: 20 }))].join('\n');
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('security', () => {
  let server: ApiServer;

  before(async () => {
    server = await startApiServer({
      tls: true,
      bookmarkIntervalMs: 0,
      auth: {
        tokens: { [TOKEN]: { user: 'operator' }, [EXEC_TOKEN]: { user: 'operator' } },
        rules: [{ users: ['operator'], verbs: ['list', 'watch'], resources: ['configmaps'] }],
      },
    });
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: 'default', name: 'c' },
    });
  });
  after(() => server.close());

  it('no bearer token or exec-plugin credential appears in errors, logs or health, on any failure path', async () => {
    const t = new Transcript();
    const ac = new AbortController();
    const factories: SharedInformerFactory[] = [];
    const run = (kc: KubeConfig, budget?: number): SharedInformerFactory => {
      const f = t.factory(kc, budget);
      factories.push(f);
      return f;
    };
    try {
      // 1. Allowed: list and watch configmaps, then server-side failures while watching.
      const ok = run(kubeConfig(server, { token: TOKEN }));
      const cms = ok.core.v1.configmaps();
      // 2. 403 from RBAC: secrets are not allowed.
      const forbidden = run(kubeConfig(server, { token: TOKEN }), 2);
      forbidden.core.v1.secrets();
      // 3. 401: a token the server does not know.
      const unknown = run(kubeConfig(server, { token: UNKNOWN_TOKEN }), 2);
      unknown.core.v1.configmaps();
      // 4. An exec plugin's credential, on both an allowed and a forbidden resource.
      const exec = run(kubeConfig(server, execUser));
      exec.core.v1.configmaps();
      const execForbidden = run(kubeConfig(server, execUser), 1);
      execForbidden.core.v1.pods();
      // 5. TLS verification failure (no CA), with the token in the kubeconfig.
      const untrusted = run(kubeConfig(server, { token: TOKEN }, {}), 1);
      untrusted.core.v1.configmaps();
      for (const f of factories) f.start(ac.signal);
      const outcomes = await Promise.all(
        factories.map((f) =>
          f.waitForCacheSync(AbortSignal.timeout(10_000)).then(
            (r) => r,
            (err: unknown) => {
              t.errors.push(err);
              return err;
            },
          ),
        ),
      );
      assert.deepEqual(outcomes[0], { 'core/v1/configmaps': true });
      assert.deepEqual(outcomes[3], { 'core/v1/configmaps': true }, 'the exec plugin works');
      for (const i of [1, 2, 4, 5])
        assert.ok(outcomes[i] instanceof CacheSyncError, `factory ${i}`);
      // Failures while watching, on the allowed informer.
      await until(() => cms.informer().health().watching, 'watching');
      server.faults.failNext({ status: 500, count: 1, watch: true });
      server.faults.injectWatchError(500);
      await until(
        // Either informer watching configmaps may take the failing re-watch: count on neither.
        () => cms.informer().stats().events.ERROR >= 1 && cms.informer().health().watching,
        'watching again after the ERROR event',
      );
      server.faults.failNext({ status: 429, count: 1, retryAfterSeconds: 0 });
      server.faults.injectWatchError(410);
      await until(() => cms.informer().stats().relists >= 1, 'relist after 410');
      for (const f of factories) t.lines.push(JSON.stringify(f.health()));

      const text = t.text();
      if (process.env.SHOW_TRANSCRIPT) console.log(text);
      // The transcript is real: every failure path is in it.
      for (const expected of [
        /status=403/,
        /status=401/,
        /cannot list resource \\"secrets\\"|cannot list resource "secrets"/,
        /certificate|self[- ]signed/i,
        /status=500/,
      ]) {
        assert.match(text, expected);
      }
      for (const secret of SECRETS) {
        assert.equal(
          text.includes(secret),
          false,
          `credential leaked: ${text.split('\n').find((l) => l.includes(secret))}`,
        );
      }
    } finally {
      ac.abort();
      await Promise.all(factories.map((f) => f.shutdown()));
    }
  });

  it('verifies TLS unless the kubeconfig says otherwise', async () => {
    const attempt = async (cluster: Cluster): Promise<{ synced: boolean; error: string }> => {
      const t = new Transcript();
      const f = t.factory(kubeConfig(server, { token: TOKEN }, cluster), 0);
      const pair = f.core.v1.configmaps();
      const ac = new AbortController();
      f.start(ac.signal);
      try {
        const r = await f.waitForCacheSync(AbortSignal.timeout(5000));
        return { synced: r['core/v1/configmaps'] === true, error: '' };
      } catch (err) {
        return {
          synced: false,
          error: pair.informer().health().terminalError?.message ?? String(err),
        };
      } finally {
        ac.abort();
        await f.shutdown();
      }
    };
    const noCa = await attempt({});
    assert.equal(noCa.synced, false, 'a self-signed server is not trusted without its CA');
    assert.match(noCa.error, /certificate|self[- ]signed/i);
    const withCa = await attempt({ caData: Buffer.from(server.caPem ?? '').toString('base64') });
    assert.equal(withCa.synced, true);
    const skip = await attempt({ skipTLSVerify: true });
    assert.equal(skip.synced, true, 'insecure-skip-tls-verify in the kubeconfig is honoured');
  });

  it('the embedded server binds loopback only unless allowNonLoopback is set', async () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      assert.equal(isLoopbackHost(host), true, host);
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '192.168.1.1',
      'example.com',
      '::ffff:10.0.0.1',
    ])
      assert.equal(isLoopbackHost(host), false, host);
    await assert.rejects(
      startApiServer({ host: '0.0.0.0' }),
      (err: unknown) =>
        err instanceof NonLoopbackBindError &&
        err.code === 'NonLoopbackBind' &&
        err.message.includes('0.0.0.0') &&
        /allowNonLoopback/.test(err.hint ?? ''),
    );
    const open = await startApiServer({ host: '0.0.0.0', allowNonLoopback: true });
    try {
      assert.ok(open.port > 0);
    } finally {
      await open.close();
    }
  });
});
