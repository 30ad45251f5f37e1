import { stringify } from 'yaml';

/** A kubeconfig document (the subset this server writes).
 *
 * @example
 * ```ts
 * const { object } = buildKubeConfig({ url: server.url });
 * object.contexts[0]!.context.namespace = 'team-a';
 * ```
 */
export interface KubeConfigObject {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: {
    name: string;
    cluster: {
      server: string;
      'certificate-authority-data'?: string;
      'insecure-skip-tls-verify'?: boolean;
    };
  }[];
  users: { name: string; user: { token?: string } }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  'current-context': string;
  preferences: Record<string, never>;
}

/**
 * Builds the kubeconfig of a server URL, with the CA (the self-signed certificate) and bearer
 * token when given.
 *
 * @example
 * ```ts
 * const { yaml } = buildKubeConfig({ url: 'http://127.0.0.1:8080' });
 * const kc = new KubeConfig();
 * kc.loadFromString(yaml);
 * ```
 */
export function buildKubeConfig(options: {
  url: string;
  caPem?: string;
  token?: string;
  name?: string;
}): {
  object: KubeConfigObject;
  yaml: string;
} {
  const name = options.name ?? 'kubecache';
  const cluster: KubeConfigObject['clusters'][number]['cluster'] = { server: options.url };
  if (options.caPem !== undefined) {
    cluster['certificate-authority-data'] = Buffer.from(options.caPem).toString('base64');
  } else if (options.url.startsWith('http:')) {
    // client-node 2.x refuses plain-HTTP clusters unless TLS verification is explicitly skipped.
    cluster['insecure-skip-tls-verify'] = true;
  }
  const object: KubeConfigObject = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name, user: options.token !== undefined ? { token: options.token } : {} }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  };
  return { object, yaml: stringify(object) };
}
