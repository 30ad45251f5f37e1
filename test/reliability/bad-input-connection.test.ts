// Bad-input catalog, part 3: getting to the API server at all. A kubeconfig that is missing or
// broken, client-node's silent fallback to http://localhost:8080, a server certificate the
// kubeconfig's CA does not trust or whose names do not match, a host name that does not resolve
// (.invalid never does, no network needed) and a refused connection. Each is a typed error that
// names what is wrong and what to check; the informer keeps retrying the connection failures.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { type ApiServer, startApiServer } from '@kubecache/apiserver';
import type { KubeObject } from '@kubecache/cache';
import {
  ConnectionError,
  KubeconfigInvalidError,
  KubeconfigNotFoundError,
  KubeListerWatcher,
  loadKubeConfig,
} from '@kubecache/client';
import { KubeConfig } from '@kubernetes/client-node';
import {
  assertReflectorReports,
  cacheOf,
  cleanUp,
  CONFIGMAPS,
  reported,
  runInformer,
  until,
} from './helpers.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubecache-badinput-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(text: string): string {
  const path = join(dir, `kubeconfig-${++files}`);
  writeFileSync(path, text);
  return path;
}

function kubeconfigYaml(
  server: string,
  extra: { cluster?: string; currentContext?: string; contextCluster?: string; user?: string } = {},
): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: prod',
    '  cluster:',
    `    server: ${server}`,
    ...(extra.cluster ? [`    ${extra.cluster}`] : []),
    'users:',
    `- name: ${extra.user ?? 'admin'}`,
    '  user:',
    '    token: t0ps3cret',
    'contexts:',
    '- name: prod',
    '  context:',
    `    cluster: ${extra.contextCluster ?? 'prod'}`,
    '    user: admin',
    `current-context: ${extra.currentContext ?? 'prod'}`,
    '',
  ].join('\n');
}

/** Asserts that `fn` throws a KubeconfigInvalidError naming `file` and matching `problem`. */
function assertInvalid(fn: () => unknown, where: string, problem: RegExp, hint: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KubeconfigInvalidError, String(err));
    assert.equal(err.code, 'KubeconfigInvalid');
    assert.equal(err.file, where);
    assert.ok(err.message.startsWith(`kubeconfig ${where}: `), err.message);
    assert.match(err.message, problem);
    assert.match(err.hint!, hint);
    assert.ok(!err.message.includes('t0ps3cret'), 'no token in the message');
    return true;
  });
}

/** An environment with no kubeconfig anywhere (and no service account). */
function emptyPlaces() {
  const home = join(dir, `home-${++files}`);
  mkdirSync(home);
  return { env: {}, homeDir: home, serviceAccountDir: join(dir, 'no-such-sa') };
}

describe('bad input on the way to the API server', () => {
  afterEach(cleanUp);

  it('an invalid kubeconfig: KubeconfigInvalid naming the file, the problem and the fix', () => {
    const broken = file('apiVersion: v1\nclusters:\n- name: x\n   cluster: {server: https://a\n');
    assertInvalid(
      () => loadKubeConfig({ path: broken }),
      broken,
      /not valid YAML: /,
      /fix the YAML/,
    );
    const empty = file('   \n');
    assertInvalid(
      () => loadKubeConfig({ path: empty }),
      empty,
      /the file is empty$/,
      /kubectl config view/,
    );
    const noServer = file(kubeconfigYaml('""'));
    assertInvalid(
      () => loadKubeConfig({ path: noServer }),
      noServer,
      /clusters\[0\]\.cluster\.server is missing/,
      /every cluster needs a name and a server/,
    );
    const tokenFile = join(dir, 'no-such-token');
    const missingToken = file(
      kubeconfigYaml('https://10.0.0.1:6443').replace(
        'token: t0ps3cret',
        `token-file: ${tokenFile}`,
      ),
    );
    assertInvalid(
      () => loadKubeConfig({ path: missingToken }),
      missingToken,
      new RegExp(`it names a file that does not exist: ${tokenFile}$`),
      /check the token-file, certificate and key paths/,
    );
    const noContext = file(kubeconfigYaml('https://10.0.0.1:6443', { currentContext: 'staging' }));
    assertInvalid(
      () => loadKubeConfig({ path: noContext }),
      noContext,
      /context "staging" does not exist \(contexts: prod\)/,
      /kubectl config use-context NAME/,
    );
    const noCurrent = file(kubeconfigYaml('https://10.0.0.1:6443', { currentContext: '""' }));
    assertInvalid(
      () => loadKubeConfig({ path: noCurrent }),
      noCurrent,
      /no current-context is set/,
      /kubectl config use-context NAME` or pass \{ context \} \(contexts: prod\)/,
    );
    // The same file works once a context is chosen.
    assert.equal(
      loadKubeConfig({ path: noCurrent, context: 'prod' }).getCurrentCluster()?.name,
      'prod',
    );
    const noCluster = file(kubeconfigYaml('https://10.0.0.1:6443', { contextCluster: 'gone' }));
    assertInvalid(
      () => loadKubeConfig({ path: noCluster }),
      noCluster,
      /context "prod" names cluster "gone", which does not exist \(clusters: prod\)/,
      /regenerate it/,
    );
    const noUser = file(kubeconfigYaml('https://10.0.0.1:6443', { user: 'someone-else' }));
    assertInvalid(
      () => loadKubeConfig({ path: noUser }),
      noUser,
      /context "prod" names user "admin", which does not exist \(users: someone-else\)/,
      /regenerate it/,
    );
    const notUrl = file(kubeconfigYaml('10.0.0.1:6443'));
    assertInvalid(
      () => loadKubeConfig({ path: notUrl }),
      notUrl,
      /cluster "prod" has server "10\.0\.0\.1:6443", which is not a URL/,
      /the server must be a URL such as https:\/\/10\.0\.0\.1:6443/,
    );
    const ftp = file(kubeconfigYaml('ftp://10.0.0.1'));
    assertInvalid(
      () => loadKubeConfig({ path: ftp }),
      ftp,
      /server "ftp:\/\/10\.0\.0\.1": only https:\/\/ \(or http:\/\/\) addresses are supported/,
      /https:\/\/10\.0\.0\.1:6443/,
    );
    // Plain HTTP: client-node would fail the first request with "HTTP protocol is not allowed
    // when skipTLSVerify is not set or false"; here it is said at load time, with the way out.
    const http = file(kubeconfigYaml('http://127.0.0.1:8001'));
    assertInvalid(
      () => loadKubeConfig({ path: http }),
      http,
      /cluster "prod" has a plain-HTTP server http:\/\/127\.0\.0\.1:8001/,
      /allowPlainHttp: true/,
    );
    assert.equal(
      loadKubeConfig({ path: http, allowPlainHttp: true }).getCurrentCluster()?.skipTLSVerify,
      true,
    );
  });

  it('a missing kubeconfig: KubeconfigNotFound listing where it looked, instead of client-node falling back to localhost:8080', () => {
    const missing = join(dir, 'nope', 'config');
    assert.throws(
      () => loadKubeConfig({ path: missing }),
      (err: unknown) => {
        assert.ok(err instanceof KubeconfigNotFoundError);
        assert.equal(err.code, 'KubeconfigNotFound');
        assert.equal(err.message, `kubeconfig ${missing} does not exist`);
        assert.deepEqual(err.searched, [missing]);
        assert.match(err.hint!, /check the path/);
        return true;
      },
    );
    const places = emptyPlaces();
    assert.throws(
      () => loadKubeConfig(places),
      (err: unknown) => {
        assert.ok(err instanceof KubeconfigNotFoundError);
        assert.deepEqual(err.searched, [
          join(places.homeDir, '.kube', 'config'),
          `in-cluster service account (${places.serviceAccountDir})`,
        ]);
        assert.match(err.message, /^no kubeconfig found \(looked at: /);
        assert.match(err.hint!, /^set KUBECONFIG to a kubeconfig file, pass \{ path \}/);
        return true;
      },
    );
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    assert.throws(
      () => loadKubeConfig({ ...places, env: { KUBECONFIG: [a, b].join(delimiter) } }),
      (err: unknown) =>
        err instanceof KubeconfigNotFoundError &&
        err.searched[0] === `${a} (KUBECONFIG)` &&
        err.searched[1] === `${b} (KUBECONFIG)`,
    );
    // KUBECONFIG lists are merged as kubectl does: missing files skipped, first definition wins.
    writeFileSync(b, kubeconfigYaml('https://b.example:6443'));
    const second = file(kubeconfigYaml('https://second.example:6443', { currentContext: 'other' }));
    const kc = loadKubeConfig({ ...places, env: { KUBECONFIG: [a, b, second].join(delimiter) } });
    assert.equal(kc.getCurrentCluster()?.server, 'https://b.example:6443');
  });

  it('no kubeconfig loaded, or client-node fell back to http://localhost:8080: the lister-watcher says so (typed) instead of "HTTP protocol is not allowed"', async () => {
    // What client-node's loadFromDefault() does when it finds nothing.
    const fallback = new KubeConfig();
    fallback.loadFromClusterAndUser(
      { name: 'cluster', server: 'http://localhost:8080', skipTLSVerify: false },
      { name: 'user' },
    );
    const lw = new KubeListerWatcher<KubeObject>(fallback, { resource: CONFIGMAPS });
    await assert.rejects(lw.list({ signal: AbortSignal.timeout(5000) }), (err: unknown) => {
      assert.ok(err instanceof KubeconfigInvalidError, String(err));
      assert.equal(err.code, 'KubeconfigInvalid');
      assert.match(
        err.message,
        /no kubeconfig was found: client-node fell back to http:\/\/localhost:8080/,
      );
      assert.doesNotMatch(err.message, /skipTLSVerify/);
      assert.match(err.hint!, /set KUBECONFIG/);
      return true;
    });
    const nothing = new KubeListerWatcher<KubeObject>(new KubeConfig(), { resource: CONFIGMAPS });
    await assert.rejects(nothing.list({ signal: AbortSignal.timeout(5000) }), (err: unknown) => {
      assert.ok(err instanceof KubeconfigInvalidError);
      assert.equal(
        err.message,
        'kubeconfig KubeConfig object: no current context (nothing was loaded?)',
      );
      assert.match(err.hint!, /loadKubeConfig\(\)/);
      return true;
    });
  });

  describe('over TLS', () => {
    let good: ApiServer;
    let other: ApiServer;
    before(async () => {
      [good, other] = await Promise.all([
        startApiServer({ tls: true }),
        startApiServer({ tls: true }),
      ]);
      good.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'a', namespace: 'default' },
      } as KubeObject);
    });
    after(async () => {
      await good.close();
      await other.close();
    });

    it('in-cluster (service account) config found by loadKubeConfig reaches the server', async () => {
      const sa = join(dir, `sa-${++files}`);
      mkdirSync(sa);
      writeFileSync(join(sa, 'token'), good.token!);
      writeFileSync(join(sa, 'ca.crt'), good.caPem!);
      writeFileSync(join(sa, 'namespace'), 'default');
      const port = new URL(good.url).port;
      const kc = loadKubeConfig({
        ...emptyPlaces(),
        serviceAccountDir: sa,
        env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
      });
      assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, 'default');
      const run = runInformer(kc);
      await until(() => run.informer.hasSynced(), 'the sync', run.clock);
      assert.deepEqual(
        cacheOf(run.informer).map((k) => k.split('@')[0]),
        ['a'],
      );
    });

    it("TLS certificate mismatch (the kubeconfig CA is another cluster's): TlsVerificationFailed with the CA hint, retried", async () => {
      const kc = new KubeConfig();
      // The right server address and token, but the CA of another cluster.
      kc.loadFromString(
        good.kubeconfigYaml.replace(
          /certificate-authority-data: .*/,
          `certificate-authority-data: ${Buffer.from(other.caPem!).toString('base64')}`,
        ),
      );
      const run = runInformer(kc);
      await until(() => run.reports.length >= 2, 'two failures', run.clock);
      const errs = reported(run.reports, ConnectionError);
      assert.equal(errs.length, run.reports.length);
      const err = errs[0]!;
      assert.equal(err.code, 'TlsVerificationFailed');
      assert.equal(err.server, good.url);
      assert.ok(
        [
          'DEPTH_ZERO_SELF_SIGNED_CERT',
          'SELF_SIGNED_CERT_IN_CHAIN',
          'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        ].includes(err.systemCode),
        err.systemCode,
      );
      assert.match(
        err.message,
        new RegExp(`^cannot reach the API server at ${good.url}: the server's TLS certificate`),
      );
      assert.match(
        err.hint!,
        /the CA in the kubeconfig \(certificate-authority or certificate-authority-data\) does not match the server's certificate/,
      );
      assert.equal(run.informer.hasSynced(), false);
      assert.equal(run.outcome.settled, false, 'still retrying');
      assertReflectorReports(run.reports);
    });

    it('TLS server name mismatch (tls-server-name not in the certificate): TlsHostnameMismatch', async () => {
      const kc = new KubeConfig();
      kc.loadFromString(
        good.kubeconfigYaml.replace(
          /( *)(certificate-authority-data: .*)/,
          '$1$2\n$1tls-server-name: api.other-cluster.example',
        ),
      );
      assert.equal(kc.getCurrentCluster()?.tlsServerName, 'api.other-cluster.example');
      const run = runInformer(kc);
      await until(() => run.reports.length >= 1, 'the failure', run.clock);
      const err = reported(run.reports, ConnectionError)[0]!;
      assert.equal(err.code, 'TlsHostnameMismatch');
      assert.equal(err.systemCode, 'ERR_TLS_CERT_ALTNAME_INVALID');
      assert.match(
        err.message,
        /the server's TLS certificate is not valid for "api\.other-cluster\.example"/,
      );
      assert.match(err.hint!, /set tls-server-name to one of its names/);
    });
  });

  it('DNS failure (a host that does not resolve): DnsLookupFailed naming the host, retried', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml('https://api.nonexistent.invalid:6443'));
    const run = runInformer(kc);
    await until(() => run.reports.length >= 2, 'two failures', run.clock);
    const errs = reported(run.reports, ConnectionError);
    assert.equal(errs.length, run.reports.length);
    const err = errs[0]!;
    assert.equal(err.code, 'DnsLookupFailed');
    assert.ok(['ENOTFOUND', 'EAI_AGAIN'].includes(err.systemCode), err.systemCode);
    assert.equal(err.server, 'https://api.nonexistent.invalid:6443');
    assert.match(
      err.message,
      /^cannot reach the API server at https:\/\/api\.nonexistent\.invalid:6443: the host name "api\.nonexistent\.invalid"/,
    );
    assert.match(err.hint!, /check the cluster's server address in the kubeconfig/);
    assert.ok(!JSON.stringify(errs.map((e) => [e.message, e.hint])).includes('t0ps3cret'));
    assert.equal(run.outcome.settled, false, 'still retrying');
  });

  it('connection refused (nothing listens there): ConnectionRefused, retried; the informer syncs once a server is up', async () => {
    // A port that was free a moment ago; nothing listens on it now.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const run = runInformer(kc);
    await until(() => run.reports.length >= 2, 'two failures', run.clock);
    const err = reported(run.reports, ConnectionError)[0]!;
    assert.equal(err.code, 'ConnectionRefused');
    assert.equal(err.systemCode, 'ECONNREFUSED');
    assert.match(err.message, /the connection was refused/);
    assert.match(err.hint!, /is the API server running\?/);
    const s = await startApiServer({ port, bookmarkIntervalMs: 0 });
    try {
      s.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'late', namespace: 'default' },
      } as KubeObject);
      await until(() => run.informer.hasSynced(), 'the sync once the server is up', run.clock);
      assert.deepEqual(
        cacheOf(run.informer).map((k) => k.split('@')[0]),
        ['late'],
      );
      await run.stop();
    } finally {
      await s.close();
    }
  });
});
