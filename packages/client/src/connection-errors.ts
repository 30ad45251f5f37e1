/**
 * Failures to reach the API server at all (before any HTTP answer): DNS, refused or timed-out
 * connections, and TLS verification. undici and Node report them with terse system codes
 * (`ENOTFOUND`, `DEPTH_ZERO_SELF_SIGNED_CERT`, …); {@link connectionErrorFrom} turns them into a
 * {@link ConnectionError} that names the server and says what to check.
 *
 * @module
 */
import { KubecacheError } from '@kubecache/cache';

/**
 * The stable codes of {@link ConnectionError}.
 *
 * @example
 * ```ts
 * const retryable: ConnectionErrorCode[] = ['ConnectionRefused', 'ConnectTimeout', 'ConnectionReset'];
 * ```
 */
export type ConnectionErrorCode =
  | 'DnsLookupFailed'
  | 'ConnectionRefused'
  | 'ConnectTimeout'
  | 'ConnectionReset'
  | 'HostUnreachable'
  | 'TlsVerificationFailed'
  | 'TlsCertificateExpired'
  | 'TlsHostnameMismatch'
  | 'TlsHandshakeFailed';

/**
 * The API server could not be reached: no HTTP answer came back. `code` says why (see
 * {@link ConnectionErrorCode}), `systemCode` is the underlying Node/undici code, `server` the
 * address that was tried; the original error is the `cause`. An informer reports it and retries
 * with backoff.
 *
 * @example
 * ```ts
 * // An informer's onError receives a ReflectorError whose cause is a ConnectionError.
 * const cause = err instanceof ReflectorError ? err.cause : err;
 * if (cause instanceof ConnectionError && cause.code === 'TlsVerificationFailed') console.error(cause.hint);
 * ```
 */
export class ConnectionError extends KubecacheError {
  declare readonly code: ConnectionErrorCode;
  /** The API server address that was tried, e.g. `https://10.0.0.1:6443`. */
  readonly server: string;
  /** The Node or undici code behind it, e.g. `ENOTFOUND`, `ERR_TLS_CERT_ALTNAME_INVALID`. */
  readonly systemCode: string;

  constructor(
    code: ConnectionErrorCode,
    message: string,
    init: { server: string; systemCode: string; hint: string; cause?: unknown },
  ) {
    super(code, message, { cause: init.cause, hint: init.hint });
    this.server = init.server;
    this.systemCode = init.systemCode;
  }
}

interface Mapping {
  readonly code: ConnectionErrorCode;
  readonly what: (host: string) => string;
  readonly hint: string;
}

const CHECK_SERVER = "check the cluster's server address in the kubeconfig";
const CA_HINT =
  'the CA in the kubeconfig (certificate-authority or certificate-authority-data) does not match ' +
  "the server's certificate: fetch the cluster's CA again, or check that the server address is " +
  'the right cluster';

const DNS: Mapping = {
  code: 'DnsLookupFailed',
  what: (host) => `the host name ${JSON.stringify(host)} does not resolve`,
  hint: `${CHECK_SERVER} (a typo, or a cluster that no longer exists?) and this machine's DNS`,
};
const TLS_UNTRUSTED: Mapping = {
  code: 'TlsVerificationFailed',
  what: () => "the server's TLS certificate is not trusted",
  hint: CA_HINT,
};

const MAPPINGS: Readonly<Record<string, Mapping>> = {
  ENOTFOUND: DNS,
  EAI_NONAME: DNS,
  EAI_FAIL: DNS,
  EAI_AGAIN: {
    code: 'DnsLookupFailed',
    what: (host) => `the host name ${JSON.stringify(host)} could not be resolved right now`,
    hint: `a temporary DNS failure: retrying; if it persists, ${CHECK_SERVER} and this machine's DNS`,
  },
  ECONNREFUSED: {
    code: 'ConnectionRefused',
    what: () => 'the connection was refused (nothing listens at that address and port)',
    hint: `is the API server running? If so, ${CHECK_SERVER} (host and port); retrying`,
  },
  ETIMEDOUT: {
    code: 'ConnectTimeout',
    what: () => 'the connection timed out',
    hint: `the server does not answer: a firewall, a VPN that is down, or a wrong address? ${CHECK_SERVER}; retrying`,
  },
  UND_ERR_CONNECT_TIMEOUT: {
    code: 'ConnectTimeout',
    what: () => 'the connection timed out',
    hint: `the server does not answer: a firewall, a VPN that is down, or a wrong address? ${CHECK_SERVER}; retrying`,
  },
  ECONNRESET: {
    code: 'ConnectionReset',
    what: () => 'the connection was reset while connecting',
    hint: `something closed the connection before the API server answered (a proxy or load balancer?); an https:// address on a plain-HTTP port also does this; retrying`,
  },
  EHOSTUNREACH: {
    code: 'HostUnreachable',
    what: () => 'the host is unreachable',
    hint: `no route to the server: check the network (VPN, firewall) and ${CHECK_SERVER}; retrying`,
  },
  ENETUNREACH: {
    code: 'HostUnreachable',
    what: () => 'the network is unreachable',
    hint: `no route to the server: check the network (VPN, firewall) and ${CHECK_SERVER}; retrying`,
  },
  DEPTH_ZERO_SELF_SIGNED_CERT: {
    code: 'TlsVerificationFailed',
    what: () => "the server's TLS certificate is self-signed and not trusted",
    hint: CA_HINT,
  },
  SELF_SIGNED_CERT_IN_CHAIN: TLS_UNTRUSTED,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: TLS_UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT: TLS_UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: TLS_UNTRUSTED,
  CERT_SIGNATURE_FAILURE: TLS_UNTRUSTED,
  CERT_UNTRUSTED: TLS_UNTRUSTED,
  CERT_REJECTED: TLS_UNTRUSTED,
  CERT_HAS_EXPIRED: {
    code: 'TlsCertificateExpired',
    what: () => "the server's TLS certificate has expired",
    hint: "the cluster's serving certificate must be renewed (or the local clock is wrong)",
  },
  CERT_NOT_YET_VALID: {
    code: 'TlsCertificateExpired',
    what: () => "the server's TLS certificate is not valid yet",
    hint: "check this machine's clock, and the cluster's serving certificate",
  },
  ERR_TLS_CERT_ALTNAME_INVALID: {
    code: 'TlsHostnameMismatch',
    what: (host) => `the server's TLS certificate is not valid for ${JSON.stringify(host)}`,
    hint:
      "the server address (or tls-server-name) in the kubeconfig is not one of the certificate's " +
      'names: use an address the certificate lists, or set tls-server-name to one of its names',
  },
  EPROTO: {
    code: 'TlsHandshakeFailed',
    what: () => 'the TLS handshake failed',
    hint: `is the address an https:// endpoint of the API server (not a plain-HTTP port)? ${CHECK_SERVER}`,
  },
  ERR_SSL_WRONG_VERSION_NUMBER: {
    code: 'TlsHandshakeFailed',
    what: () => 'the TLS handshake failed (the server did not answer in TLS)',
    hint: `the address is https:// but the port speaks plain HTTP? ${CHECK_SERVER}`,
  },
};

/** The first error in `err`'s cause chain (and AggregateError members) with a code we know. */
function findCoded(
  err: unknown,
  depth = 0,
): { code: string; error: Record<string, unknown> } | undefined {
  if (depth > 8 || err === null || typeof err !== 'object') return undefined;
  const e = err as Record<string, unknown>;
  if (typeof e['code'] === 'string' && MAPPINGS[e['code']] !== undefined) {
    return { code: e['code'], error: e };
  }
  if (Array.isArray(e['errors'])) {
    for (const inner of e['errors']) {
      const found = findCoded(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return findCoded(e['cause'], depth + 1);
}

/**
 * The {@link ConnectionError} of a request that failed before any answer, or undefined when
 * `err` is not a connection failure we recognise (it is then best rethrown as is). `server` is
 * the address that was tried.
 *
 * @example
 * ```ts
 * const url = new URL('https://api.cluster.invalid:6443/version');
 * try { await fetch(url); } catch (e) { throw connectionErrorFrom(e, url.origin) ?? e; }
 * ```
 */
export function connectionErrorFrom(err: unknown, server: string): ConnectionError | undefined {
  const found = findCoded(err);
  if (found === undefined) return undefined;
  const mapping = MAPPINGS[found.code]!;
  // DNS errors carry `hostname`, certificate name errors `host` (the name checked).
  const named = found.error['hostname'] ?? found.error['host'];
  let host = typeof named === 'string' ? named : '';
  if (host === '') {
    try {
      host = new URL(server).hostname;
    } catch {
      host = server;
    }
  }
  const message = typeof found.error['message'] === 'string' ? found.error['message'] : '';
  const detail = message.includes(found.code) ? message : `${found.code}: ${message || 'failed'}`;
  return new ConnectionError(
    mapping.code,
    `cannot reach the API server at ${server}: ${mapping.what(host)} (${detail})`,
    { server, systemCode: found.code, hint: mapping.hint, cause: err },
  );
}
