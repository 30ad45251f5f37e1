/**
 * Defaulting and validation (defaults.ts, validation.ts, go-decoding.ts). The expected texts are
 * the real v1.23 server's answers to the same requests (the golden transcripts `defaulting` and
 * `validation` replay most of them; these cover what a transcript cannot show well: the
 * in-process helpers, no-op writes after defaulting, watch silence, and the pure functions).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '@kubecache/apiserver';
import type { KubeObject } from '@kubecache/cache';
import { ApiStatusError } from '@kubecache/cache';
import { MYAPP_CRD, openWatch, setup } from './helpers.ts';

type Json = Record<string, unknown> & { metadata?: Record<string, unknown> };

async function send(
  server: ApiServer,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: Json }> {
  const res = await fetch(server.url + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

function causes(body: Json): { field?: string; reason: string; message: string }[] {
  return (body['details'] as { causes: { field?: string; reason: string; message: string }[] })
    .causes;
}

const LABEL_VALUE_ERROR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
});

function deployment(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'val' },
    spec: { selector: { matchLabels: { app: name } }, template: template(name), ...extra },
  };
}

describe('Go decoding and defaulting rules', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
  });
  after(() => server.close());

  it('reports the byte offsets Go base64.StdEncoding reports', async () => {
    // Offsets observed on the real server (`illegal base64 data at input byte N`).
    const cases: [string, number | undefined][] = [
      ['eA=x', 2],
      ['eAAAeA=', 7],
      ['eA', 0],
      ['e', 0],
      ['!!!', 0],
      ['not base64!', 3],
      ['eA==x', 4],
      ['e=A=', 1],
      ['', undefined],
      ['eA==', undefined],
      ['eA==\n', undefined],
      ['eA\r\n==', undefined],
      ['aGVsbG8gd29ybGQ=', undefined],
    ];
    let i = 0;
    for (const [value, offset] of cases) {
      const res = await send(server, 'POST', '/api/v1/namespaces/default/secrets', {
        metadata: { name: `s${i++}` },
        data: { k: value },
      });
      if (offset === undefined) {
        assert.equal(res.status, 201, value);
        assert.equal(
          (res.body['data'] as Record<string, string>)['k'],
          Buffer.from(value, 'base64').toString('base64'),
          'stored in canonical base64',
        );
      } else {
        assert.equal(res.status, 400, value);
        assert.equal(
          res.body['message'],
          `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${offset}`,
          value,
        );
      }
    }
  });

  function pod(name: string, containers: unknown[], initContainers?: unknown[]): Json {
    return server.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers, ...(initContainers ? { initContainers } : {}) },
    } as KubeObject) as Json;
  }

  it('imagePullPolicy: Always for latest or no tag, IfNotPresent otherwise and for bad names', () => {
    const cases: [string, string][] = [
      ['nginx', 'Always'],
      ['nginx:latest', 'Always'],
      ['nginx:1.25', 'IfNotPresent'],
      ['localhost:5000/team/app', 'Always'],
      ['registry.example.com:5000/team/app:1.2', 'IfNotPresent'],
      ['Registry.Example.com/app', 'Always'],
      [`busybox@sha256:${'a'.repeat(64)}`, 'IfNotPresent'],
      [`busybox:latest@sha256:${'a'.repeat(64)}`, 'Always'],
      ['Bad/Image:latest', 'IfNotPresent'],
      ['UPPER', 'IfNotPresent'],
    ];
    const created = pod(
      'images',
      cases.map(([image], i) => ({ name: `c${i}`, image })),
    );
    const containers = (created['spec'] as { containers: { imagePullPolicy: string }[] })
      .containers;
    assert.deepEqual(
      containers.map((c, i) => [cases[i]![0], c.imagePullPolicy]),
      cases,
    );
  });

  it('QoS class over cpu and memory of all containers', () => {
    const qos = (name: string, containers: unknown[], init?: unknown[]) =>
      (pod(name, containers, init)['status'] as { qosClass: string }).qosClass;
    const c = (resources: unknown) => ({ name: 'c', image: 'x', resources });
    const i = (resources: unknown) => ({ name: 'i', image: 'x', resources });
    assert.equal(qos('q1', [c({})]), 'BestEffort');
    assert.equal(
      qos('q2', [c({ requests: { 'ephemeral-storage': '1Gi' } })]),
      'BestEffort',
      'other resources do not count',
    );
    assert.equal(qos('q3', [c({ requests: { cpu: '100m' } })]), 'Burstable');
    const full = {
      limits: { cpu: '1', memory: '1Gi' },
      requests: { cpu: '1000m', memory: '1024Mi' },
    };
    assert.equal(qos('q4', [c(full)]), 'Guaranteed', 'equal quantities in other spellings');
    assert.equal(
      qos('q5', [c({ limits: { cpu: '2', memory: '1Gi' } })]),
      'Guaranteed',
      'requests default to limits',
    );
    assert.equal(qos('q6', [c(full)], [i({})]), 'Burstable', 'an init container without limits');
    assert.equal(
      qos('q7', [c({ ...full, requests: { cpu: '500m', memory: '1Gi' } })]),
      'Burstable',
    );
  });
});

describe('defaulting and validation through the server', () => {
  let server: ApiServer;
  before(async () => {
    ({ server } = await setup({ bookmarkIntervalMs: 0 }));
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'val' } });
  });
  after(() => server.close());

  it("defaulting never writes into the caller's object", () => {
    const input = deployment('mine');
    const before = JSON.stringify(input);
    const stored = server.create(input as KubeObject) as Json;
    assert.equal(JSON.stringify(input), before);
    assert.equal((stored['spec'] as Json)['revisionHistoryLimit'], 10);
  });

  it('in-process create defaults too, and keeps a status the caller wrote', () => {
    const pending = server.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1', namespace: 'val' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    } as KubeObject) as Json;
    const spec = pending['spec'] as Json & { containers: Json[] };
    assert.equal(spec['restartPolicy'], 'Always');
    assert.equal(spec['enableServiceLinks'], true);
    assert.equal(spec.containers[0]!['imagePullPolicy'], 'Always');
    assert.deepEqual(spec.containers[0]!['resources'], {});
    assert.deepEqual(pending['status'], { phase: 'Pending', qosClass: 'BestEffort' });
    const running = server.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p2', namespace: 'val' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
      status: { phase: 'Running' },
    } as KubeObject) as Json;
    assert.deepEqual(running['status'], { phase: 'Running' }, 'test setup may write a status');
  });

  it('over HTTP a create body status is replaced, as the registry does', async () => {
    const res = await send(server, 'POST', '/api/v1/namespaces/val/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p3' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
      status: { phase: 'Running' },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body['status'], { phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('writing the same minimal manifest again is a no-op: defaults make it equal', async () => {
    const path = '/apis/apps/v1/namespaces/val/deployments';
    const created = await send(server, 'POST', path, deployment('same'));
    assert.equal(created.status, 201);
    const rv = created.body.metadata!['resourceVersion'] as string;
    const watch = await openWatch(server, `${path}?watch=true&resourceVersion=${rv}`);
    const again = await send(server, 'PUT', `${path}/same`, deployment('same'));
    assert.equal(again.status, 200);
    assert.equal(again.body.metadata!['resourceVersion'], rv);
    assert.equal(again.body.metadata!['generation'], 1);
    const scaled = await send(server, 'PUT', `${path}/same`, deployment('same', { replicas: 2 }));
    assert.notEqual(scaled.body.metadata!['resourceVersion'], rv);
    const events = await watch.next(1);
    watch.close();
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata?.resourceVersion]),
      [['MODIFIED', scaled.body.metadata!['resourceVersion']]],
      'only the real change is an event',
    );
  });

  it('an invalid update fails whole: labels once per validation pass, as the real server', async () => {
    const dep = server.create(deployment('upd') as KubeObject);
    const res = await send(server, 'PUT', '/apis/apps/v1/namespaces/val/deployments/upd', {
      ...dep,
      metadata: { ...dep.metadata, labels: { k: 'bad value' } },
    });
    assert.equal(res.status, 422);
    assert.equal(
      res.body['message'],
      `Deployment.apps "upd" is invalid: metadata.labels: Invalid value: "bad value": ${LABEL_VALUE_ERROR}`,
    );
    assert.equal(causes(res.body).length, 3, 'Deployments: two common passes and ValidateUpdate');
    server.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l', namespace: 'val' },
    });
    const lease = await send(
      server,
      'PATCH',
      '/apis/coordination.k8s.io/v1/namespaces/val/leases/l',
      { metadata: { labels: { k: 'bad value' } } },
      'application/merge-patch+json',
    );
    assert.equal(lease.status, 422);
    assert.equal(causes(lease.body).length, 3);
    server.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'sa', namespace: 'val' },
    });
    const sa = await send(
      server,
      'PATCH',
      '/api/v1/namespaces/val/serviceaccounts/sa',
      { metadata: { labels: { k: 'bad value' } } },
      'application/merge-patch+json',
    );
    assert.equal(causes(sa.body).length, 4, 'core kinds validate the new object once more');
    const after = server.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'val',
      name: 'upd',
    });
    assert.equal(after?.metadata?.resourceVersion, dep.metadata?.resourceVersion, 'nothing stored');
  });

  it('Secrets: stringData through a merge patch, type immutable, immutable data', async () => {
    const path = '/api/v1/namespaces/val/secrets';
    const created = await send(server, 'POST', path, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { a: 'YQ==' },
    });
    assert.equal(created.body['type'], 'Opaque');
    const patched = await send(
      server,
      'PATCH',
      `${path}/s`,
      { stringData: { b: 'bee' } },
      'application/merge-patch+json',
    );
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body['data'], { a: 'YQ==', b: 'YmVl' });
    assert.equal(patched.body['stringData'], undefined);
    const retyped = await send(
      server,
      'PATCH',
      `${path}/s`,
      { type: 'kubernetes.io/tls' },
      'application/merge-patch+json',
    );
    assert.equal(retyped.status, 422);
    assert.equal(
      retyped.body['message'],
      'Secret "s" is invalid: [type: Invalid value: "kubernetes.io/tls": field is immutable, data[tls.crt]: Required value, data[tls.key]: Required value]',
    );
    const frozen = await send(
      server,
      'PATCH',
      `${path}/s`,
      { immutable: true },
      'application/merge-patch+json',
    );
    assert.equal(frozen.status, 200);
    const changed = await send(
      server,
      'PATCH',
      `${path}/s`,
      { stringData: { a: 'changed' } },
      'application/merge-patch+json',
    );
    assert.equal(changed.status, 422);
    assert.equal(
      changed.body['message'],
      'Secret "s" is invalid: data: Forbidden: field is immutable when `immutable` is set',
    );
    const bad = await send(server, 'POST', path, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bad' },
      data: { ok: 'eA==', broken: 'e', later: 5 },
    });
    assert.equal(bad.status, 400);
    assert.equal(
      bad.body['message'],
      'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0',
      'the first error in document order',
    );
  });

  it('a DaemonSet template generation starts at 1 and follows template changes only', () => {
    const ref = { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'val', name: 'ds' };
    const key = 'deprecated.daemonset.template.generation';
    const ds = server.create({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'ds', namespace: 'val' },
      spec: { selector: { matchLabels: { app: 'ds' } }, template: template('ds') },
    } as KubeObject);
    assert.equal(ds.metadata?.annotations?.[key], '1');
    const relabelled = server.patch(ref, { metadata: { annotations: { [key]: '7', other: 'x' } } });
    assert.equal(relabelled.metadata?.annotations?.[key], '1', 'a client cannot set it');
    const changed = server.patch(ref, { spec: { template: { metadata: { labels: { v: '2' } } } } });
    assert.equal(changed.metadata?.annotations?.[key], '2');
    assert.equal(changed.metadata?.generation, 2);
    assert.equal(ds.metadata?.annotations?.[key], '1', 'the earlier stored version is untouched');
    assert.equal(relabelled.metadata?.annotations?.[key], '1');
  });

  it('a Job is defaulted and gets the generated controller-uid selector (unless manualSelector)', () => {
    const job = (name: string, spec: Record<string, unknown> = {}) =>
      ({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name, namespace: 'val' },
        spec: {
          ...spec,
          template: {
            spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36' }] },
          },
        },
      }) as KubeObject;
    const created = server.create(job('j')) as KubeObject & {
      spec: Record<string, unknown> & {
        selector: unknown;
        template: { metadata: { labels: unknown } };
      };
    };
    const uid = created.metadata!.uid!;
    const labels = { 'job-name': 'j', 'controller-uid': uid };
    // As a real v1.23 server stores `kubectl create job`'s Job.
    assert.deepEqual(created.metadata?.labels, labels);
    assert.deepEqual(created.spec.selector, { matchLabels: { 'controller-uid': uid } });
    assert.deepEqual(created.spec.template.metadata.labels, labels);
    assert.equal(created.spec['completions'], 1);
    assert.equal(created.spec['parallelism'], 1);
    assert.equal(created.spec['backoffLimit'], 6);
    assert.equal(created.spec['completionMode'], 'NonIndexed');
    assert.equal(created.spec['suspend'], false);
    assert.deepEqual((created as { status?: unknown }).status, {});
    const manual = server.create(
      job('m', { manualSelector: true, parallelism: 2, selector: { matchLabels: { a: 'b' } } }),
    ) as KubeObject & { spec: Record<string, unknown> };
    assert.deepEqual(manual.spec['selector'], { matchLabels: { a: 'b' } });
    assert.equal(manual.spec['completions'], undefined, 'parallelism set: no completions default');
    assert.equal(manual.metadata?.labels, undefined);
  });

  it('validation precedes AlreadyExists, dryRun validates, generateName is cut to 58', async () => {
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'taken', namespace: 'val' },
    });
    const path = '/api/v1/namespaces/val/configmaps';
    const dup = await send(server, 'POST', path, {
      metadata: { name: 'taken', labels: { k: 'bad value' } },
    });
    assert.equal(dup.status, 422);
    const dry = await send(server, 'POST', `${path}?dryRun=All`, {
      metadata: { name: 'f1', finalizers: ['orphan', 'foregroundDeletion'] },
    });
    assert.equal(dry.status, 422);
    assert.equal(
      dry.body['message'],
      'ConfigMap "f1" is invalid: metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: finalizer orphan and foregroundDeletion cannot be both set',
    );
    const generated = await send(server, 'POST', path, {
      metadata: { generateName: 'a'.repeat(70) },
    });
    assert.equal(generated.status, 201);
    assert.match(generated.body.metadata!['name'] as string, /^a{58}[a-z0-9]{5}$/);
  });

  it('metadata rules: owner references, the annotation size, selector operators', async () => {
    const path = '/api/v1/namespaces/val/configmaps';
    const owners = await send(server, 'POST', path, {
      metadata: { name: 'f2', ownerReferences: [{ apiVersion: '', kind: '', name: '', uid: '' }] },
    });
    assert.equal(
      owners.body['message'],
      'ConfigMap "f2" is invalid: [metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty, metadata.ownerReferences.kind: Invalid value: "": kind must not be empty, metadata.ownerReferences.name: Invalid value: "": name must not be empty, metadata.ownerReferences.uid: Invalid value: "": uid must not be empty]',
    );
    const big = await send(server, 'POST', path, {
      metadata: { name: 'f3', annotations: { a: 'x'.repeat(262144) } },
    });
    assert.equal(
      big.body['message'],
      'ConfigMap "f3" is invalid: metadata.annotations: Too long: must have at most 262144 bytes',
    );
    assert.deepEqual(causes(big.body), [
      {
        reason: 'FieldValueTooLong',
        message: 'Too long: must have at most 262144 bytes',
        field: 'metadata.annotations',
      },
    ]);
    const bigData = await send(server, 'POST', path, {
      metadata: { name: 'f4' },
      data: { a: 'a'.repeat(1048577) },
    });
    assert.equal(
      bigData.body['message'],
      'ConfigMap "f4" is invalid: []: Too long: must have at most 1048576 bytes',
    );
    const operator = await send(server, 'POST', '/apis/apps/v1/namespaces/val/deployments', {
      ...deployment('x'),
      spec: {
        selector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] },
        template: template('b'),
      },
    });
    assert.equal(
      operator.body['message'],
      'Deployment.apps "x" is invalid: [spec.selector.matchExpressions[0].operator: Invalid value: "Bogus": not a valid selector operator, spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"a", Operator:"Bogus", Values:[]string(nil)}}}: invalid label selector]',
    );
    for (const [kind, word] of [
      ['statefulsets', 'statefulset'],
      ['daemonsets', 'daemonset'],
      ['replicasets', 'deployment'],
    ]) {
      const res = await send(server, 'POST', `/apis/apps/v1/namespaces/val/${kind}`, {
        metadata: { name: 'x' },
        spec: { selector: {}, template: template('a') },
      });
      assert.equal(
        causes(res.body)[0]?.message,
        `Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for ${word}`,
        kind,
      );
    }
  });

  it('no new finalizers on an object being deleted', async () => {
    const path = '/api/v1/namespaces/val/configmaps';
    server.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'held', namespace: 'val', finalizers: ['example.com/a'] },
    });
    assert.equal((await send(server, 'DELETE', `${path}/held`)).status, 200);
    const res = await send(
      server,
      'PATCH',
      `${path}/held`,
      { metadata: { finalizers: ['example.com/a', 'example.com/z', 'example.com/b'] } },
      'application/merge-patch+json',
    );
    assert.equal(res.status, 422);
    assert.equal(
      res.body['message'],
      'ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/b", "example.com/z"}',
    );
    assert.equal(causes(res.body).length, 2);
  });

  it('custom resources: metadata only, no core finalizer rule, three causes on update', async () => {
    server.create(MYAPP_CRD);
    const path = '/apis/my.domain/v1/namespaces/val/myapps';
    const plain = await send(server, 'POST', path, {
      apiVersion: 'my.domain/v1',
      kind: 'MyApp',
      metadata: { name: 'a', finalizers: ['plain'] },
    });
    assert.equal(plain.status, 201, 'a finalizer without a prefix is fine on a custom resource');
    const res = await send(
      server,
      'PATCH',
      `${path}/a`,
      { metadata: { labels: { k: 'bad value' } } },
      'application/merge-patch+json',
    );
    assert.equal(res.status, 422);
    assert.match(
      res.body['message'] as string,
      /^MyApp\.my\.domain "a" is invalid: metadata\.labels: /,
    );
    assert.equal(causes(res.body).length, 3);
  });

  it('in-process helpers throw the same 422', () => {
    assert.throws(
      () =>
        server.create({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'empty', namespace: 'val' },
          spec: { containers: [] },
        } as KubeObject),
      (err) =>
        err instanceof ApiStatusError &&
        err.statusCode === 422 &&
        err.message === 'Pod "empty" is invalid: spec.containers: Required value',
    );
  });
});
