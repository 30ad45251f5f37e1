/**
 * The self-signed certificate of a TLS server: valid for `localhost`, `127.0.0.1` and the bind
 * address when that is an IPv4 address, and its own CA (the kubeconfig carries it as
 * `certificate-authority-data`), so clients verify it with no extra setup.
 *
 * Separate because it is the only slow step of a start (an RSA key) and loads `selfsigned` only
 * when TLS is asked for.
 */

/** A PEM private key and certificate, as `https.createServer` takes them. */
export interface TlsCredentials {
  readonly key: string;
  readonly cert: string;
}

/** Generates a fresh key and self-signed CA certificate for a server bound to `host`. */
export async function selfSignedCertificate(host: string): Promise<TlsCredentials> {
  const selfsigned = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'kubecache-apiserver' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          ...(host !== '127.0.0.1' && host !== 'localhost' && /^[\d.]+$/.test(host)
            ? [{ type: 7 as const, ip: host }]
            : []),
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
