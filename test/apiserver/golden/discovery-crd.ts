/**
 * Shared by `record-discovery.ts` (which records the discovery documents of a real server) and
 * `test/apiserver/discovery.test.ts` (which compares the embedded server's with them).
 */

/** The recorded form of one discovery document (`discovery/*.json`). */
export interface DiscoveryGolden {
  recordedFrom: string;
  path: string;
  body: unknown;
}

/** The CRD both servers get, to compare how a custom resource is listed. */
export const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.golden.example.com' },
  spec: {
    group: 'golden.example.com',
    scope: 'Namespaced',
    names: {
      plural: 'widgets',
      singular: 'widget',
      kind: 'Widget',
      listKind: 'WidgetList',
      shortNames: ['wd'],
      categories: ['all', 'golden'],
    },
    versions: ['v1beta1', 'v1'].map((name) => ({
      name,
      served: true,
      storage: name === 'v1',
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: { type: 'object', properties: { replicas: { type: 'integer' } } },
            status: {
              type: 'object',
              properties: { replicas: { type: 'integer' }, selector: { type: 'string' } },
            },
          },
        },
      },
      subresources: {
        status: {},
        scale: {
          specReplicasPath: '.spec.replicas',
          statusReplicasPath: '.status.replicas',
          labelSelectorPath: '.status.selector',
        },
      },
    })),
  },
};
