/**
 * `POST serviceaccounts/{name}/token`: an `authentication.k8s.io/v1` TokenRequest answered with
 * a service-account token, as the real server issues one (kubelets and `kubectl create token` ask
 * for them).
 *
 * The token is a JWT signed RS256 with a key made once per process, carrying the claims a real
 * server puts there (`aud`, `exp`, `iat`, `iss`, `nbf`, `sub`, and `kubernetes.io` with the
 * namespace and the service account's name and uid). Nothing is stored and the embedded server
 * does not accept these tokens as credentials (its users are the `token`/`auth.tokens` options).
 * As on the real server: the service account must exist (404), `expirationSeconds` defaults to
 * 3600 and may not be under 600 (422), audiences default to the issuer, the answer is 201.
 * `boundObjectRef` is echoed, not checked.
 */
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readObject } from './body.js';
import type { ServerContext } from './context.js';
import { sendJson } from './response.js';
import type { ResourceRequest } from './routing.js';
import { methodNotAllowed } from './status.js';
import { invalidField } from './subresources.js';

/** The issuer (and default audience) of the tokens, a cluster's usual one. */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;

let signingKey: { readonly key: KeyObject; readonly kid: string } | undefined;

function key(): { readonly key: KeyObject; readonly kid: string } {
  if (signingKey === undefined) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    signingKey = { key: privateKey, kid: randomBytes(16).toString('base64url') };
  }
  return signingKey;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A signed JWT with the claims a real service-account token has. */
function serviceAccountToken(claims: Record<string, unknown>): string {
  const { key: privateKey, kid } = key();
  const unsigned = `${base64url({ alg: 'RS256', kid })}.${base64url(claims)}`;
  const signature = createSign('RSA-SHA256')
    .update(unsigned)
    .sign(privateKey)
    .toString('base64url');
  return `${unsigned}.${signature}`;
}

/** RFC 3339 to the second, as the API writes times. */
function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Serves `POST serviceaccounts/{name}/token`. */
export async function serveTokenRequest(
  ctx: ServerContext,
  r: ResourceRequest,
  method: string,
): Promise<void> {
  if (method !== 'POST') {
    r.req.resume();
    throw methodNotAllowed();
  }
  const body = (await readObject(r.req, ctx.maxBodyBytes, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
  })) as {
    spec?: { audiences?: unknown; expirationSeconds?: unknown; boundObjectRef?: unknown };
  };
  ctx.stats.writes++;
  const { info, namespace, name } = r.route;
  const sa = ctx.db.get(info, namespace, name!);
  const spec = body.spec ?? {};
  const expiration =
    typeof spec.expirationSeconds === 'number'
      ? spec.expirationSeconds
      : DEFAULT_EXPIRATION_SECONDS;
  if (expiration < MIN_EXPIRATION_SECONDS) {
    throw invalidField(
      'authentication.k8s.io',
      'TokenRequest',
      '',
      'spec.expirationSeconds',
      `Invalid value: ${expiration}: may not specify a duration less than 10 minutes`,
    );
  }
  const audiences =
    Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences : [ISSUER];
  const now = Math.floor(Date.now() / 1000);
  const token = serviceAccountToken({
    aud: audiences,
    exp: now + expiration,
    iat: now,
    iss: ISSUER,
    'kubernetes.io': {
      namespace,
      serviceaccount: { name, uid: sa.obj.metadata?.uid },
    },
    nbf: now,
    sub: `system:serviceaccount:${namespace ?? ''}:${name!}`,
  });
  sendJson(
    r.res,
    201,
    JSON.stringify({
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: {
        audiences,
        expirationSeconds: expiration,
        boundObjectRef: spec.boundObjectRef ?? null,
      },
      status: { token, expirationTimestamp: rfc3339(now + expiration) },
    }),
  );
}
