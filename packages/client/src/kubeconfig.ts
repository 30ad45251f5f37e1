/**
 * Loading a kubeconfig the way kubectl finds it, with errors that say which file is wrong and
 * what to do.
 *
 * client-node's `loadFromDefault` silently falls back to `http://localhost:8080` when it finds
 * nothing, and the first request then fails with "HTTP protocol is not allowed when
 * skipTLSVerify is not set or false", which points nowhere near the real problem. A broken file
 * fails with a bare YAML or `clusters[0].cluster.server is missing` message that does not name
 * the file, and a current-context that names nothing shows up only later as "no active cluster".
 * {@link loadKubeConfig} finds the same configuration (an explicit path, then `KUBECONFIG`, then
 * `~/.kube/config`, then the pod's service account) and checks it at once, throwing
 * {@link KubeconfigNotFoundError} or {@link KubeconfigInvalidError}.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { KubecacheError } from '@kubecache/cache';
import { type Cluster, type Context, KubeConfig, type User } from '@kubernetes/client-node';

/** Where a pod's service account credentials are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * No kubeconfig was found anywhere it was looked for. `code` is `'KubeconfigNotFound'`;
 * `searched` lists the places, in order.
 *
 * @example
 * ```ts
 * try { loadKubeConfig(); } catch (err) {
 *   if (err instanceof KubeconfigNotFoundError) { console.error(err.message, err.hint); process.exit(2); }
 * }
 * ```
 */
export class KubeconfigNotFoundError extends KubecacheError {
  /** The places looked at, in order (files, and `in-cluster service account`). */
  readonly searched: readonly string[];

  constructor(searched: readonly string[], explicit: boolean) {
    super(
      'KubeconfigNotFound',
      explicit
        ? `kubeconfig ${searched[0]} does not exist`
        : `no kubeconfig found (looked at: ${searched.join(', ')})`,
      {
        hint: explicit
          ? 'check the path passed for the kubeconfig'
          : 'set KUBECONFIG to a kubeconfig file, pass { path }, create ~/.kube/config ' +
            '(e.g. with your cloud CLI), or run in a pod with a service account',
      },
    );
    this.searched = searched;
  }
}

/**
 * A kubeconfig was found but cannot be used: not YAML, an entry without its required fields,
 * no current context, a context naming a missing cluster or user, a server address that is not
 * an http(s) URL, or a plain-HTTP server that client-node would refuse. `code` is
 * `'KubeconfigInvalid'`; `file` names the file (or `in-cluster`, or `KubeConfig object`).
 *
 * @example
 * ```ts
 * try { loadKubeConfig({ path: './kubeconfig' }); } catch (err) {
 *   if (err instanceof KubeconfigInvalidError) console.error(`${err.file}: ${err.message}`, err.hint);
 * }
 * ```
 */
export class KubeconfigInvalidError extends KubecacheError {
  /** The file that is wrong (or a description of where the configuration came from). */
  readonly file: string;

  constructor(file: string, problem: string, options: { hint: string; cause?: unknown }) {
    super('KubeconfigInvalid', `kubeconfig ${file}: ${problem}`, options);
    this.file = file;
  }
}

/**
 * Options of {@link loadKubeConfig}. Every field is optional: by default it looks where kubectl
 * looks.
 *
 * @example
 * ```ts
 * loadKubeConfig({ path: '/etc/app/kubeconfig', context: 'staging' });
 * ```
 */
export interface LoadKubeConfigOptions {
  /** This kubeconfig file and no other (a missing file is an error). */
  readonly path?: string;
  /** Use this context instead of the file's `current-context`. */
  readonly context?: string;
  /**
   * Accept a plain-HTTP server address (e.g. `kubectl proxy` on `http://127.0.0.1:8001`).
   * client-node refuses plain HTTP unless the cluster sets `insecure-skip-tls-verify: true`
   * (which has nothing to verify on plain HTTP); with this option such clusters are marked so.
   * Default false: a plain-HTTP server is a {@link KubeconfigInvalidError}.
   */
  readonly allowPlainHttp?: boolean;
  /** Environment to read `KUBECONFIG`, `KUBERNETES_SERVICE_HOST/PORT` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Home directory holding `.kube/config` (default the user's). */
  readonly homeDir?: string;
  /** Where the service account is mounted (default {@link SERVICE_ACCOUNT_DIR}). */
  readonly serviceAccountDir?: string;
}

interface Loaded {
  readonly clusters: Cluster[];
  readonly users: User[];
  readonly contexts: Context[];
  readonly currentContext: string;
}

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // js-yaml appends a code excerpt on following lines; the first line says it.
  return text.split('\n')[0]!.trim();
}

/** Parses one kubeconfig file, relative paths resolved against its directory. */
function parseFile(file: string): Loaded {
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') {
    throw new KubeconfigInvalidError(file, 'the file is empty', {
      hint: 'write a kubeconfig into it (kubectl config view --raw > file), or point KUBECONFIG elsewhere',
    });
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
    kc.makePathsAbsolute(dirname(file));
  } catch (err) {
    const yaml = (err as { name?: unknown }).name === 'YAMLException';
    const missing = (err as { code?: unknown; path?: unknown }).code === 'ENOENT';
    if (missing) {
      const path = String((err as { path?: unknown }).path ?? '');
      throw new KubeconfigInvalidError(file, `it names a file that does not exist: ${path}`, {
        hint:
          'check the token-file, certificate and key paths of its users and clusters (relative ' +
          'paths are resolved against the current directory for token-file)',
        cause: err,
      });
    }
    throw new KubeconfigInvalidError(
      file,
      yaml ? `not valid YAML: ${messageOf(err)}` : messageOf(err),
      {
        hint: yaml
          ? 'fix the YAML (indentation, quotes), or regenerate the file with kubectl or your cloud CLI'
          : 'every cluster needs a name and a server, every user and context a name; regenerate ' +
            'the file with kubectl or your cloud CLI',
        cause: err,
      },
    );
  }
  return {
    clusters: kc.getClusters(),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext() ?? '',
  };
}

/** kubectl's merge of several files: the first file to define a name (or current-context) wins. */
function merge(files: readonly Loaded[]): Loaded {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  for (const f of files) {
    for (const c of f.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of f.users) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of f.contexts) if (!contexts.has(c.name)) contexts.set(c.name, c);
    if (currentContext === '' && f.currentContext) currentContext = f.currentContext;
  }
  return {
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext,
  };
}

function inCluster(env: LoadKubeConfigOptions['env'] & object, dir: string): Loaded | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  const tokenFile = join(dir, 'token');
  if (!host || !port || !existsSync(tokenFile)) return undefined;
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const namespaceFile = join(dir, 'namespace');
  const namespace = existsSync(namespaceFile)
    ? readFileSync(namespaceFile, 'utf8').trim()
    : undefined;
  return {
    clusters: [{ name: 'inCluster', server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
    // client-node's tokenFile provider re-reads the projected token as the kubelet rotates it.
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [
      {
        name: 'inClusterContext',
        cluster: 'inCluster',
        user: 'inClusterUser',
        ...(namespace ? { namespace } : {}),
      },
    ],
    currentContext: 'inClusterContext',
  };
}

const REGENERATE = 'fix the kubeconfig, or regenerate it with kubectl or your cloud CLI';

/**
 * Checks that `loaded` names a usable context, cluster and user; returns it with plain-HTTP
 * clusters marked when they are allowed.
 */
function validate(source: string, loaded: Loaded, options: LoadKubeConfigOptions): Loaded {
  const contextName = options.context ?? loaded.currentContext;
  const names = (list: readonly { name: string }[]): string =>
    list.length === 0 ? 'none' : list.map((x) => x.name).join(', ');
  if (!contextName) {
    throw new KubeconfigInvalidError(source, 'no current-context is set', {
      hint: `choose one with \`kubectl config use-context NAME\` or pass { context } (contexts: ${names(loaded.contexts)})`,
    });
  }
  const context = loaded.contexts.find((c) => c.name === contextName);
  if (context === undefined) {
    throw new KubeconfigInvalidError(
      source,
      `context ${JSON.stringify(contextName)} does not exist (contexts: ${names(loaded.contexts)})`,
      {
        hint: `choose an existing one with \`kubectl config use-context NAME\` or pass { context }`,
      },
    );
  }
  const cluster = loaded.clusters.find((c) => c.name === context.cluster);
  if (cluster === undefined) {
    throw new KubeconfigInvalidError(
      source,
      `context ${JSON.stringify(contextName)} names cluster ${JSON.stringify(context.cluster)}, which does not exist (clusters: ${names(loaded.clusters)})`,
      { hint: REGENERATE },
    );
  }
  if (!loaded.users.some((u) => u.name === context.user)) {
    throw new KubeconfigInvalidError(
      source,
      `context ${JSON.stringify(contextName)} names user ${JSON.stringify(context.user)}, which does not exist (users: ${names(loaded.users)})`,
      { hint: REGENERATE },
    );
  }
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch (err) {
    throw new KubeconfigInvalidError(
      source,
      `cluster ${JSON.stringify(cluster.name)} has server ${JSON.stringify(cluster.server)}, which is not a URL`,
      { hint: 'the server must be a URL such as https://10.0.0.1:6443', cause: err },
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeconfigInvalidError(
      source,
      `cluster ${JSON.stringify(cluster.name)} has server ${JSON.stringify(cluster.server)}: only https:// (or http://) addresses are supported`,
      { hint: 'the server must be a URL such as https://10.0.0.1:6443' },
    );
  }
  let clusters = loaded.clusters;
  if (url.protocol === 'http:' && !cluster.skipTLSVerify) {
    if (!options.allowPlainHttp) throw plainHttpError(source, cluster);
    clusters = clusters.map((c) => (c === cluster ? { ...c, skipTLSVerify: true } : c));
  }
  return { ...loaded, clusters, currentContext: contextName };
}

/**
 * The error of a plain-HTTP server that client-node would refuse with "HTTP protocol is not
 * allowed when skipTLSVerify is not set or false". Also used by the lister-watcher when such a
 * KubeConfig reaches it (client-node's `loadFromDefault` falls back to `http://localhost:8080`
 * when it finds no kubeconfig at all).
 *
 * @example
 * ```ts
 * const cluster = kc.getCurrentCluster();
 * if (cluster?.server.startsWith('http:') && !cluster.skipTLSVerify) throw plainHttpError('KubeConfig object', cluster);
 * ```
 */
export function plainHttpError(source: string, cluster: Cluster): KubeconfigInvalidError {
  if (cluster.name === 'cluster' && cluster.server === 'http://localhost:8080') {
    // client-node's loadFromDefault found nothing and made this up.
    return new KubeconfigInvalidError(
      source,
      'no kubeconfig was found: client-node fell back to http://localhost:8080, which it then refuses as plain HTTP',
      {
        hint:
          'set KUBECONFIG to a kubeconfig file, create ~/.kube/config, or run in a pod with a ' +
          'service account; loadKubeConfig() says where it looked',
      },
    );
  }
  return new KubeconfigInvalidError(
    source,
    `cluster ${JSON.stringify(cluster.name)} has a plain-HTTP server ${cluster.server}, which client-node refuses unless the cluster sets insecure-skip-tls-verify`,
    {
      hint:
        "use the API server's https:// address; for a local plain-HTTP endpoint such as " +
        '`kubectl proxy`, pass { allowPlainHttp: true } to loadKubeConfig or set ' +
        'insecure-skip-tls-verify: true on the cluster',
    },
  );
}

/**
 * Loads a kubeconfig like kubectl (and client-node's `loadFromDefault`) finds it, and checks it:
 *
 * 1. `options.path` when given (it must exist);
 * 2. else every file of `KUBECONFIG` (separated by `:`, `;` on Windows; missing files are
 *    skipped, as kubectl does; the first file to define a name or current-context wins);
 * 3. else `~/.kube/config`;
 * 4. else the pod's service account (`KUBERNETES_SERVICE_HOST`/`PORT` and its token).
 *
 * Throws {@link KubeconfigNotFoundError} when there is nothing, and
 * {@link KubeconfigInvalidError} when what it found is unusable (naming the file and the
 * problem). Unlike client-node, it never falls back to `http://localhost:8080`.
 *
 * @example
 * ```ts
 * const kc = loadKubeConfig();
 * const factory = new SharedInformerFactory(kc);
 * ```
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const env = options.env ?? process.env;
  const searched: string[] = [];
  let source: string | undefined;
  let loaded: Loaded | undefined;
  if (options.path !== undefined) {
    if (!existsSync(options.path)) throw new KubeconfigNotFoundError([options.path], true);
    source = options.path;
    loaded = parseFile(options.path);
  } else {
    const list = (env['KUBECONFIG'] ?? '').split(delimiter).filter((f) => f !== '');
    if (list.length > 0) {
      searched.push(...list.map((f) => `${f} (KUBECONFIG)`));
      const present = list.filter((f) => existsSync(f));
      if (present.length > 0) {
        source = present.join(delimiter);
        loaded = merge(present.map(parseFile));
      }
    } else {
      const home = options.homeDir ?? (env['HOME'] || homedir());
      const file = join(home, '.kube', 'config');
      searched.push(file);
      if (existsSync(file)) {
        source = file;
        loaded = parseFile(file);
      }
    }
    if (loaded === undefined) {
      const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
      searched.push(`in-cluster service account (${dir})`);
      loaded = inCluster(env, dir);
      if (loaded !== undefined) source = 'in-cluster';
    }
  }
  if (loaded === undefined || source === undefined) {
    throw new KubeconfigNotFoundError(searched, false);
  }
  const valid = validate(source, loaded, options);
  const kc = new KubeConfig();
  kc.loadFromOptions(valid);
  return kc;
}
