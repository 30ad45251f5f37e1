/**
 * The protobuf body decoder: bodies encoded with protobufjs and the server's own schema, and the
 * real server's encoding (`fixtures/protobuf-objects.json`: objects created with kubectl on a
 * kube-apiserver v1.23.16, then read once with `Accept: application/vnd.kubernetes.protobuf` and
 * once as JSON), decoded and compared with the JSON.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  decodeProtobufBody,
  protobufMessageType,
  PROTOBUF_CONTENT_TYPE,
} from '@kubecache/apiserver';
import { ApiStatusError } from '@kubecache/cache';
import { setup } from './helpers.ts';

/** `k8s\0` + runtime.Unknown{typeMeta, raw}, raw being `value` encoded as `message`. */
function protobufBody(
  apiVersion: string,
  kind: string,
  message: string,
  value: Record<string, unknown>,
): Buffer {
  const raw = protobufMessageType(message).encode(value).finish();
  const unknown = protobufMessageType('Unknown')
    .encode({ typeMeta: { apiVersion, kind }, raw })
    .finish();
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}

const EXPECTED = { apiVersion: 'v1', kind: 'ConfigMap' };

function decodeError(body: Buffer): ApiStatusError {
  try {
    decodeProtobufBody(body, EXPECTED);
  } catch (err) {
    assert.ok(err instanceof ApiStatusError);
    return err;
  }
  assert.fail('decoded');
}

describe('protobuf request bodies', () => {
  it('decodes a ConfigMap: maps are entries, empty values kept, zero scalars left out', () => {
    const body = protobufBody('v1', 'ConfigMap', 'ConfigMap', {
      metadata: {
        name: 'a',
        namespace: '',
        generation: 0,
        labels: { app: 'x' },
        annotations: { note: '' },
        finalizers: ['example.com/f'],
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u1', controller: false },
        ],
        creationTimestamp: {},
      },
      data: { k: 'v', empty: '' },
      binaryData: { b: Buffer.from([0, 1, 2, 255]) },
      immutable: false,
    });
    assert.deepEqual(decodeProtobufBody(body, EXPECTED), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'a',
        creationTimestamp: null,
        labels: { app: 'x' },
        annotations: { note: '' },
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u1', controller: false },
        ],
        finalizers: ['example.com/f'],
      },
      immutable: false,
      data: { k: 'v', empty: '' },
      binaryData: { b: 'AAEC/w==' },
    });
  });

  it('decodes Secret bytes as base64 and stringData as strings', () => {
    const body = protobufBody('v1', 'Secret', 'Secret', {
      metadata: { name: 's' },
      data: { password: Buffer.from('s3cr3t') },
      stringData: { user: 'admin' },
      type: 'Opaque',
    });
    assert.deepEqual(decodeProtobufBody(body, EXPECTED), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { password: 'czNjcjN0' },
      stringData: { user: 'admin' },
      type: 'Opaque',
    });
  });

  it('decodes quantities, intOrString, times, micro-times and inline structs', () => {
    const body = protobufBody('apps/v1', 'Deployment', 'Deployment', {
      metadata: { name: 'd', deletionTimestamp: { seconds: 1767323045 } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'd' } },
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: {
            maxSurge: { type: 1, strVal: '25%' },
            maxUnavailable: { type: 0, intVal: 1 },
          },
        },
        template: {
          metadata: { labels: { app: 'd' } },
          spec: {
            terminationGracePeriodSeconds: 30,
            volumes: [
              { name: 'cfg', source: { configMap: { ref: { name: 'cm' }, defaultMode: 420 } } },
            ],
            containers: [
              {
                name: 'web',
                image: 'nginx',
                resources: {
                  limits: { cpu: { string: '500m' }, memory: { string: '128Mi' } },
                  requests: { cpu: { string: '0.25' } },
                },
                ports: [{ containerPort: 80, protocol: 'TCP' }],
                env: [
                  { name: 'A', value: '' },
                  {
                    name: 'B',
                    valueFrom: { secretKeyRef: { ref: { name: 's' }, key: 'k', optional: false } },
                  },
                ],
                livenessProbe: {
                  handler: { httpGet: { path: '/', port: { type: 1, strVal: 'http' } } },
                  periodSeconds: 10,
                },
                stdin: false,
              },
            ],
          },
        },
      },
      status: { replicas: 0 },
    });
    assert.deepEqual(decodeProtobufBody(body, EXPECTED), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', deletionTimestamp: '2026-01-02T03:04:05Z' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'd' } },
        template: {
          metadata: { labels: { app: 'd' } },
          spec: {
            volumes: [{ name: 'cfg', configMap: { name: 'cm', defaultMode: 420 } }],
            containers: [
              {
                name: 'web',
                image: 'nginx',
                ports: [{ containerPort: 80, protocol: 'TCP' }],
                env: [
                  { name: 'A' },
                  {
                    name: 'B',
                    valueFrom: { secretKeyRef: { name: 's', key: 'k', optional: false } },
                  },
                ],
                resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '0.25' } },
                livenessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 10 },
              },
            ],
            terminationGracePeriodSeconds: 30,
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' } },
      },
      status: {},
    });
  });

  it('decodes a Lease with micro-times and a DeleteOptions', () => {
    const lease = protobufBody('coordination.k8s.io/v1', 'Lease', 'Lease', {
      metadata: { name: 'l' },
      spec: {
        holderIdentity: '',
        leaseDurationSeconds: 15,
        acquireTime: { seconds: 1767323045, nanos: 123456789 },
        leaseTransitions: 0,
      },
    });
    assert.deepEqual(decodeProtobufBody(lease, EXPECTED), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l' },
      spec: {
        holderIdentity: '',
        leaseDurationSeconds: 15,
        acquireTime: '2026-01-02T03:04:05.123456Z',
        leaseTransitions: 0,
      },
    });
    const options = protobufBody('v1', 'DeleteOptions', 'DeleteOptions', {
      gracePeriodSeconds: 0,
      propagationPolicy: 'Foreground',
      preconditions: { uid: 'u' },
    });
    assert.deepEqual(decodeProtobufBody(options, EXPECTED), {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
      preconditions: { uid: 'u' },
      propagationPolicy: 'Foreground',
    });
  });

  it('reads a body without a kind as the kind the path expects', () => {
    const raw = protobufMessageType('ConfigMap')
      .encode({ metadata: { name: 'k' } })
      .finish();
    const unknown = protobufMessageType('Unknown').encode({ typeMeta: {}, raw }).finish();
    const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
    assert.deepEqual(decodeProtobufBody(body, EXPECTED), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'k' },
    });
  });

  it('refuses what it cannot decode: no magic (400), unknown kind or field (415)', () => {
    const noMagic = decodeError(Buffer.from('hello'));
    assert.equal(noMagic.statusCode, 400);
    assert.equal(
      noMagic.status?.message,
      'the object provided is unrecognized (must be of type ConfigMap): provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] (68656c6c6f)',
    );
    const kind = decodeError(protobufBody('apps/v1', 'StatefulSet', 'ConfigMap', {}));
    assert.equal(kind.statusCode, 415);
    assert.equal(kind.status?.reason, 'UnsupportedMediaType');
    assert.match(kind.status?.message ?? '', /cannot decode kind StatefulSet of apps\/v1/);
    // Field 18 of PodSpec is `affinity`, not modelled: refused, never silently dropped.
    const podSpec = protobufMessageType('PodSpec').encode({ hostname: 'h' }).finish();
    const withAffinity = Buffer.concat([podSpec, Buffer.from([0x92, 0x01, 0x00])]);
    const pod = protobufMessageType('Pod')
      .encode({ metadata: { name: 'p' } })
      .finish();
    const podWithSpec = Buffer.concat([
      pod,
      Buffer.from([0x12, withAffinity.length]),
      withAffinity,
    ]);
    const unknown = protobufMessageType('Unknown')
      .encode({ typeMeta: { apiVersion: 'v1', kind: 'Pod' }, raw: podWithSpec })
      .finish();
    const field = decodeError(Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]));
    assert.equal(field.statusCode, 415);
    assert.match(field.status?.message ?? '', /a field of PodSpec at Pod\.spec/);
  });

  it("decodes the real server's protobuf encoding of every modelled kind to its JSON", () => {
    const fixture = JSON.parse(
      readFileSync(new URL('./fixtures/protobuf-objects.json', import.meta.url), 'utf8'),
    ) as { objects: { path: string; protobuf: string; json: unknown }[] };
    assert.ok(fixture.objects.length >= 10);
    for (const { path, protobuf, json } of fixture.objects) {
      const decoded = decodeProtobufBody(Buffer.from(protobuf, 'base64'), EXPECTED);
      assert.deepEqual(decoded, json, path);
    }
  });

  it('the server stores a protobuf create as its JSON', async () => {
    const { server } = await setup();
    try {
      const res = await fetch(`${server.url}/api/v1/namespaces/default/secrets`, {
        method: 'POST',
        headers: { 'Content-Type': PROTOBUF_CONTENT_TYPE },
        body: protobufBody('v1', 'Secret', 'Secret', {
          metadata: { name: 'pb' },
          data: { k: Buffer.from('v') },
        }),
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('content-type'), 'application/json');
      const got = (await res.json()) as { data: unknown };
      assert.deepEqual(got.data, { k: 'dg==' });
    } finally {
      await server.close();
    }
  });
});
