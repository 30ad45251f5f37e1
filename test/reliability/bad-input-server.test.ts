// Bad-input catalog, part 2: what a real API server answers, from the embedded one over HTTP:
// rejected credentials, a real 403 from its authorization, a resource that is not served (a CRD
// not installed, or deleted while watched), 410 Gone again and again, invalid selectors, 429 and
// 5xx. Each case checks the typed error and its hint, and that the informer, still running,
// syncs to the server's state once the cause is gone, without a restart.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { ApiServer, ApiServerOptions } from '@kubecache/apiserver';
import { startApiServer } from '@kubecache/apiserver';
import {
  ApiStatusError,
  type KubeObject,
  parseLabelSelector,
  type ReflectorError,
  requirement,
  SelectorParseError,
  type SelectorOperator,
} from '@kubecache/cache';
import type { ResourceRef } from '@kubecache/client';
import {
  assertReflectorReports,
  cacheOf,
  causeOf,
  cleanUp,
  kubeConfigOf,
  reported,
  runInformer,
  serverState,
  track,
  until,
} from './helpers.ts';

async function server(options: ApiServerOptions = {}): Promise<ApiServer> {
  const s = await startApiServer({ bookmarkIntervalMs: 0, ...options });
  track(() => s.close());
  return s;
}

function cm(name: string, namespace = 'default', labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    data: { v: name },
  } as KubeObject;
}

function configMaps(s: ApiServer, namespace = 'default'): string[] {
  return serverState(s.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace }));
}

const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name });

const MYAPPS: ResourceRef = { group: 'my.domain', version: 'v1', resource: 'myapps' };

const MYAPP_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'myapps.my.domain' },
  spec: {
    group: 'my.domain',
    names: { kind: 'MyApp', listKind: 'MyAppList', plural: 'myapps', singular: 'myapp' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
      },
    ],
  },
} as KubeObject;

function myApp(name: string): KubeObject {
  return {
    apiVersion: 'my.domain/v1',
    kind: 'MyApp',
    metadata: { name, namespace: 'default' },
    spec: { appName: name },
  } as KubeObject;
}

describe('bad input from the API server', () => {
  afterEach(cleanUp);

  it('401: the credentials were rejected; once the kubeconfig user is fixed the informer syncs', async () => {
    const s = await server({ token: 'right-token' });
    s.create(cm('a'));
    const kc = kubeConfigOf(s);
    const user = kc.getCurrentUser() as { token?: string };
    user.token = 'expired-token';
    const run = runInformer(kc, { lw: { namespace: 'default' } });
    await until(() => run.reports.length >= 2, 'two failed attempts', run.clock);
    const errs = reported(run.reports, ApiStatusError);
    assert.equal(errs.length, run.reports.length);
    const err = errs[0]!;
    assert.equal(err.code, 'ApiStatusError');
    assert.equal(err.statusCode, 401);
    assert.equal(err.reason, 'Unauthorized');
    assert.match(err.message, /^GET \/api\/v1\/namespaces\/default\/configmaps: 401 Unauthorized/);
    assert.match(err.hint!, /^the credentials were rejected: check the kubeconfig user/);
    assert.equal(run.informer.hasSynced(), false);
    assert.ok(!JSON.stringify(errs.map((e) => [e.message, e.hint])).includes('expired-token'));
    user.token = 'right-token';
    await until(() => run.informer.hasSynced(), 'the sync with the fixed token', run.clock);
    assert.deepEqual(cacheOf(run.informer), configMaps(s));
    assertReflectorReports(run.reports);
  });

  it('403 from the server authorization: names the verb and resource; granting list then watch heals it without a restart', async () => {
    const s = await server({
      auth: { tokens: { 'ci-token': { user: 'ci-bot' } }, rules: [] },
    });
    s.create(cm('a', 'team-a'));
    const kc = kubeConfigOf(s);
    (kc.getCurrentUser() as { token?: string }).token = 'ci-token';
    const run = runInformer(kc, { lw: { namespace: 'team-a' } });
    await until(() => run.reports.length >= 1, 'the 403 on list', run.clock);
    const listErr = reported(run.reports, ApiStatusError)[0]!;
    assert.equal(listErr.statusCode, 403);
    assert.equal(listErr.reason, 'Forbidden');
    assert.equal(
      listErr.message,
      'GET /api/v1/namespaces/team-a/configmaps: 403 configmaps is forbidden: User "ci-bot" ' +
        'cannot list resource "configmaps" in API group "" in the namespace "team-a"',
    );
    assert.equal(
      listErr.hint,
      'the identity lacks `list` on `configmaps` in namespace "team-a": grant it with a Role and ' +
        'a RoleBinding in that namespace (or a ClusterRole and a RoleBinding); an informer needs ' +
        'both `list` and `watch`',
    );
    assert.equal((run.reports[0]!.error as ReflectorError).stage, 'list');

    // Grant list only: the informer syncs, then the watch is refused, naming `watch`.
    const before = run.reports.length;
    s.auth.setRules([{ users: ['ci-bot'], verbs: ['list'], resources: ['configmaps'] }]);
    await until(() => run.informer.hasSynced(), 'the list once granted', run.clock);
    await until(() => run.reports.length > before, 'the 403 on watch', run.clock);
    const watchErr = reported(run.reports.slice(before), ApiStatusError)[0]!;
    assert.equal(watchErr.statusCode, 403);
    assert.match(watchErr.message, /cannot watch resource "configmaps"/);
    assert.match(
      watchErr.hint!,
      /^the identity lacks `watch` on `configmaps` in namespace "team-a"/,
    );
    assert.equal((run.reports.at(-1)!.error as ReflectorError).stage, 'watch-start');

    s.auth.setRules([{ users: ['ci-bot'], verbs: ['list', 'watch'], resources: ['configmaps'] }]);
    s.create(cm('b', 'team-a'));
    await until(() => cacheOf(run.informer).length === 2, 'b through the watch', run.clock);
    assert.deepEqual(cacheOf(run.informer), configMaps(s, 'team-a'));
    assert.ok(reported(run.reports, ApiStatusError).every((e) => e.statusCode === 403));
    assertReflectorReports(run.reports);
  });

  it('404: the CRD is not installed (hint says so); once installed the informer syncs without a restart', async () => {
    const s = await server();
    const run = runInformer(kubeConfigOf(s), { lw: { resource: MYAPPS } });
    await until(() => run.reports.length >= 2, 'two 404s', run.clock);
    const err = reported(run.reports, ApiStatusError)[0]!;
    assert.equal(err.statusCode, 404);
    assert.equal(err.reason, 'NotFound');
    assert.match(err.message, /^GET \/apis\/my\.domain\/v1\/myapps: 404 /);
    assert.equal(
      err.hint,
      'the API server does not serve `myapps` in my.domain/v1: is the CRD installed (and ' +
        'established), or the API group and version enabled? The informer keeps retrying and ' +
        'syncs once it is served',
    );
    assert.equal(run.outcome.settled, false, 'still running');
    s.create(MYAPP_CRD);
    s.create(myApp('first'));
    await until(() => run.informer.hasSynced(), 'the sync once the CRD is served', run.clock);
    s.create(myApp('second'));
    await until(() => run.informer.getStore().list().length === 2, 'the watch', run.clock);
    assert.deepEqual(
      cacheOf(run.informer),
      serverState(s.list({ apiVersion: 'my.domain/v1', kind: 'MyApp', namespace: 'default' })),
    );
  });

  it('the CRD is deleted while watched: its objects are deleted from the cache, then 404 with the CRD hint; reinstalled, it syncs again', async () => {
    const s = await server();
    s.create(MYAPP_CRD);
    s.create(myApp('one'));
    s.create(myApp('two'));
    const run = runInformer(kubeConfigOf(s), { lw: { resource: MYAPPS } });
    const deleted: string[] = [];
    run.informer.addEventHandler({
      onDelete: (o) => deleted.push(('obj' in o ? o.obj : o)?.metadata?.name ?? ''),
    });
    await until(() => run.informer.hasSynced(), 'the sync', run.clock);
    await until(() => s.stats.log.some((r) => r.url.includes('watch')), 'the watch');
    s.delete({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'myapps.my.domain',
    });
    await until(() => run.informer.getStore().list().length === 0, 'the deletes', run.clock);
    await run.informer.drained();
    assert.deepEqual(deleted.sort(), ['one', 'two']);
    // A real API server destroys the resource's storage with its CRD, which ends every watch on
    // it; the embedded one leaves them open, so end them here as the real one would.
    s.faults.closeWatches();
    await until(
      () => reported(run.reports, ApiStatusError).some((e) => e.statusCode === 404),
      () => `a 404 once the watch ends: ${run.reports.map((r) => String(r.error)).join('; ')}`,
      run.clock,
    );
    const err = reported(run.reports, ApiStatusError).find((e) => e.statusCode === 404)!;
    assert.match(err.hint!, /does not serve `myapps` in my\.domain\/v1: is the CRD installed/);
    s.create(MYAPP_CRD);
    s.create(myApp('three'));
    await until(() => cacheOf(run.informer).length === 1, 'three', run.clock);
    assert.deepEqual(
      cacheOf(run.informer),
      serverState(s.list({ apiVersion: 'my.domain/v1', kind: 'MyApp', namespace: 'default' })),
    );
  });

  it('410 again and again: each 410 is reported once with the relist hint, consecutive ones back off, and the cache converges', async () => {
    const s = await server();
    for (const n of ['a', 'b', 'c']) s.create(cm(n));
    const run = runInformer(kubeConfigOf(s), { lw: { namespace: 'default' } });
    await until(() => run.informer.hasSynced(), 'the sync', run.clock);
    await until(() => run.informer.health().watching, 'the watch', run.clock);
    const listsBefore = run.informer.stats().lists;
    // The next five watches are answered 410 Gone (a compaction storm, or a server whose watch
    // cache keeps restarting): every relist is followed by a watch that is refused again.
    s.faults.failNext({ status: 410, count: 5, path: '/configmaps', watch: true });
    s.faults.closeWatches();
    s.delete(ref('a'));
    s.create(cm('d'));
    await until(
      () => reported(run.reports, ApiStatusError).filter((e) => e.isGone()).length === 5,
      'five 410s',
      run.clock,
    );
    await until(
      () => JSON.stringify(cacheOf(run.informer)) === JSON.stringify(configMaps(s)),
      () => `convergence: ${cacheOf(run.informer)} vs ${configMaps(s)}`,
      run.clock,
    );
    const gone = run.reports.filter((r) => causeOf(r.error, ApiStatusError)?.isGone());
    assert.equal(gone.length, 5, 'each 410 reported once');
    for (const r of gone) {
      const e = causeOf(r.error, ApiStatusError)!;
      assert.equal(e.statusCode, 410);
      assert.match(e.hint!, /too old \(compacted away\): the informer relists/);
      assert.equal(r.context.source, 'watch');
    }
    // The first 410 is answered by a relist at once; a 410 right after a relist waits a backoff.
    const delays = gone.map((r) => ('retryInMs' in r.context ? r.context.retryInMs : -1));
    assert.equal(delays[0], 0);
    for (const d of delays.slice(1)) assert.ok(d! >= 100, `backoff after a relist: ${delays}`);
    await until(
      () => run.informer.stats().lists - listsBefore === 5,
      'the fifth relist',
      run.clock,
    );
    assert.equal(run.informer.stats().lists - listsBefore, 5, 'one relist per 410, no hot loop');
    assert.equal(run.outcome.settled, false);
    assertReflectorReports(run.reports);
  });

  it('an invalid label selector: refused by the parser and requirement() (typed, with the position), and by the server (400 with a selector hint)', async () => {
    assert.throws(
      () => parseLabelSelector('app in (web'),
      (err: unknown) => {
        assert.ok(err instanceof SelectorParseError);
        assert.equal(err.code, 'SelectorParseError');
        assert.equal(err.input, 'app in (web');
        assert.ok(err.position >= 0);
        assert.match(err.message, /^invalid selector "app in \(web" at position \d+: /);
        return true;
      },
    );
    assert.throws(
      () => requirement('tier', 'unsupportedOp' as SelectorOperator, []),
      (err: unknown) => {
        assert.ok(err instanceof SelectorParseError);
        assert.match(
          err.message,
          /unsupported operator "unsupportedOp": expected one of =, !=, in, notin, exists, !, >, </,
        );
        return true;
      },
    );
    const s = await server();
    s.create(cm('a', 'default', { app: 'web' }));
    const run = runInformer(kubeConfigOf(s), {
      informer: { reflector: { labelSelector: 'app in (web' } },
    });
    await until(() => run.reports.length >= 2, 'two failures', run.clock);
    const err = reported(run.reports, ApiStatusError)[0]!;
    assert.equal(err.statusCode, 400);
    assert.equal(err.reason, 'BadRequest');
    assert.match(err.message, /^GET \/api\/v1\/configmaps: 400 /);
    assert.match(
      err.hint!,
      /^the server refused the label selector "app in \(web": check its syntax \(key=value, /,
    );
    assert.equal(run.informer.hasSynced(), false);
  });

  it('an invalid field selector: the server 400 names the field, the hint says which fields can be selected', async () => {
    const s = await server();
    s.create(cm('a'));
    const run = runInformer(kubeConfigOf(s), {
      informer: { reflector: { fieldSelector: 'spec.nodeName=n1' } },
    });
    await until(() => run.reports.length >= 2, 'two failures', run.clock);
    const err = reported(run.reports, ApiStatusError)[0]!;
    assert.equal(err.statusCode, 400);
    assert.match(err.message, /spec\.nodeName/);
    assert.match(
      err.hint!,
      /^the server refused the field selector "spec\.nodeName=n1": configmaps can be selected only by metadata\.name, metadata\.namespace and the field labels its kind supports/,
    );
  });

  it('429 with Retry-After and 5xx: hints say the informer waits or retries; it syncs afterwards', async () => {
    const s = await server();
    s.create(cm('a'));
    s.faults.failNext({ status: 429, retryAfterSeconds: 7, path: '/configmaps', watch: false });
    s.faults.failNext({ status: 500, path: '/configmaps', watch: false });
    s.faults.failNext({ status: 503, path: '/configmaps', watch: false });
    const run = runInformer(kubeConfigOf(s));
    const start = run.clock.now();
    await until(() => run.informer.hasSynced(), 'the sync', run.clock);
    const errs = reported(run.reports, ApiStatusError);
    assert.deepEqual(
      errs.map((e) => e.statusCode),
      [429, 500, 503],
    );
    assert.equal(errs[0]!.retryAfterSeconds, 7);
    assert.match(
      errs[0]!.hint!,
      /shedding load \(API Priority and Fairness\): the informer waits the 7 s it asked for/,
    );
    assert.match(
      errs[1]!.hint!,
      /an internal error of the API server: the informer retries with backoff/,
    );
    assert.match(errs[2]!.hint!, /is unavailable \(restarting, overloaded, no healthy backend\)/);
    assert.ok(run.clock.now() - start >= 7000, 'Retry-After was honoured (on the fake clock)');
    assert.deepEqual(cacheOf(run.informer), configMaps(s));
  });
});
