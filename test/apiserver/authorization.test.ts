// Authorization a test can configure: bearer tokens mapped to users and groups, allow rules checked
// per request, the real 403 Status, impersonation, and rules changed at run time under a running
// reflector.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer, ApiServerOptions } from '@kubecache/apiserver';
import { cm, json, setup } from './helpers.ts';
import { nextBackoff, startHarness, waitFor } from '../cache/reflector-helpers.ts';

const AUTH: ApiServerOptions['auth'] = {
  tokens: { 'alice-token': { user: 'alice', groups: ['dev'] }, 'bob-token': { user: 'bob' } },
  rules: [
    { users: ['alice'], verbs: ['get', 'list'], resources: ['pods'], namespaces: ['default'] },
    { groups: ['dev'], verbs: ['*'], apiGroups: ['apps'], resources: ['deployments'] },
    { users: ['bob'], verbs: ['get'], resources: ['configmaps'], resourceNames: ['open'] },
    { users: ['bob'], verbs: ['update'], resources: ['pods/status'] },
  ],
};

function as(token: string, extra: Record<string, string> = {}): RequestInit {
  return { headers: { Authorization: `Bearer ${token}`, ...extra } };
}

describe('apiserver authorization', () => {
  let server: ApiServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('allows what a rule allows and answers the real 403 Status otherwise', async () => {
    ({ server } = await setup({ auth: AUTH }));
    server.create(cm('open'));
    server.create(cm('closed'));
    const s = server;
    const get = (path: string, token: string) => json(s, path, as(token));
    assert.equal((await get('/api/v1/namespaces/default/pods', 'alice-token')).status, 200);
    assert.equal((await get('/apis/apps/v1/deployments', 'alice-token')).status, 200, 'by group');
    const cases: [string, string, string, Record<string, string>][] = [
      [
        '/api/v1/namespaces/default/pods?watch=true',
        'alice-token',
        'pods is forbidden: User "alice" cannot watch resource "pods" in API group "" in the namespace "default"',
        { kind: 'pods' },
      ],
      [
        '/api/v1/pods',
        'alice-token',
        'pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope',
        { kind: 'pods' },
      ],
      [
        '/api/v1/namespaces/kube-system/pods/web',
        'alice-token',
        'pods "web" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "kube-system"',
        { name: 'web', kind: 'pods' },
      ],
      [
        '/api/v1/namespaces/default/configmaps/closed',
        'bob-token',
        'configmaps "closed" is forbidden: User "bob" cannot get resource "configmaps" in API group "" in the namespace "default"',
        { name: 'closed', kind: 'configmaps' },
      ],
      [
        '/apis/apps/v1/namespaces/default/deployments',
        'bob-token',
        'deployments.apps is forbidden: User "bob" cannot list resource "deployments" in API group "apps" in the namespace "default"',
        { group: 'apps', kind: 'deployments' },
      ],
      [
        '/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dclosed',
        'bob-token',
        'configmaps "closed" is forbidden: User "bob" cannot list resource "configmaps" in API group "" in the namespace "default"',
        { name: 'closed', kind: 'configmaps' },
      ],
      [
        '/api/v1/nodes',
        'bob-token',
        'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope',
        { kind: 'nodes' },
      ],
    ];
    for (const [path, token, message, details] of cases) {
      const { status, body } = await get(path, token);
      assert.equal(status, 403, path);
      assert.deepEqual(
        body,
        {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message,
          reason: 'Forbidden',
          details,
          code: 403,
        },
        path,
      );
    }
    assert.equal(
      (await get('/api/v1/namespaces/default/configmaps/open', 'bob-token')).status,
      200,
    );
    // Writes: the verb of each method, subresources as resource/subresource.
    const post = await json(server, '/api/v1/namespaces/default/pods', {
      method: 'POST',
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }),
      headers: { Authorization: 'Bearer alice-token', 'Content-Type': 'application/json' },
    });
    assert.equal(post.status, 403);
    assert.equal(
      post.body['message'],
      'pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "default"',
    );
    const status = await json(server, '/api/v1/namespaces/default/pods/p/status', {
      method: 'PATCH',
      body: '{}',
      headers: {
        Authorization: 'Bearer bob-token',
        'Content-Type': 'application/merge-patch+json',
      },
    });
    assert.equal(
      status.body['message'],
      'pods "p" is forbidden: User "bob" cannot patch resource "pods/status" in API group "" in the namespace "default"',
    );
    assert.deepEqual(status.body['details'], { name: 'p', kind: 'pods' });
    const collection = await json(server, '/api/v1/namespaces/default/configmaps', {
      method: 'DELETE',
      ...as('bob-token'),
    });
    assert.match(
      String(collection.body['message']),
      /cannot deletecollection resource "configmaps"/,
    );
    // An unknown token is 401; discovery is open to every user.
    assert.equal((await get('/api/v1/pods', 'nobody')).status, 401);
    assert.equal((await get('/api/v1', 'bob-token')).status, 200);
    assert.equal((await get('/version', 'bob-token')).status, 200);
  });

  it('allows everything by default, anonymous requests are system:anonymous, impersonation switches user', async () => {
    ({ server } = await setup());
    assert.equal((await json(server, '/api/v1/namespaces/default/configmaps')).status, 200);
    server.auth.setRules([
      { users: ['system:anonymous'], verbs: ['impersonate'], resources: ['users', 'groups'] },
    ]);
    const denied = await json(server, '/api/v1/namespaces/default/configmaps');
    assert.equal(
      denied.body['message'],
      'configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    server.auth.addRule({ groups: ['viewers'], verbs: ['list'], resources: ['configmaps'] });
    const nobody = await json(server, '/api/v1/namespaces/default/configmaps', {
      headers: { 'Impersonate-User': 'nobody' },
    });
    assert.match(
      String(nobody.body['message']),
      /^configmaps is forbidden: User "nobody" cannot list/,
    );
    const viewer = await json(server, '/api/v1/namespaces/default/configmaps', {
      headers: { 'Impersonate-User': 'nobody', 'Impersonate-Group': 'viewers' },
    });
    assert.equal(viewer.status, 200);
    // Impersonating needs the impersonate verb.
    server.auth.setRules([]);
    const cannot = await json(server, '/api/v1/namespaces/default/configmaps', {
      headers: { 'Impersonate-User': 'nobody' },
    });
    assert.equal(
      cannot.body['message'],
      'users "nobody" is forbidden: User "system:anonymous" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    server.auth.setRules(undefined);
    assert.equal((await json(server, '/api/v1/namespaces/default/configmaps')).status, 200);
  });

  it('the server token is an admin that rules never deny', async () => {
    ({ server } = await setup({ token: 's3cret', auth: { rules: [] } }));
    assert.equal((await json(server, '/api/v1/pods', as('s3cret'))).status, 200);
    assert.equal((await json(server, '/api/v1/pods')).status, 401);
  });

  it('a reflector against a denied resource reports typed 403s, keeps running, and syncs once allowed', async () => {
    const h = await startHarness({
      objects: [cm('a') as never],
      server: { auth: { rules: [] } },
    });
    try {
      await nextBackoff(h);
      const error = h.errors[0]!;
      assert.equal(error.stage, 'list');
      assert.equal(error.apiStatus?.statusCode, 403);
      assert.equal(error.apiStatus?.status?.reason, 'Forbidden');
      assert.ok(!h.reflector.hasSynced());
      h.server.auth.addRule({
        users: ['system:anonymous'],
        verbs: ['list', 'watch'],
        resources: ['configmaps'],
      });
      await h.clock.advance(60_000);
      await waitFor(() => h.reflector.hasSynced() && h.reflector.isWatching(), 'synced');
      assert.ok(h.store.objects.has('default/a'));
      h.server.create(cm('b'));
      await waitFor(() => h.store.objects.has('default/b'), 'a live event');
    } finally {
      await h.stop();
    }
  });
});
