/**
 * --tls-client-auth-policy as Go's crypto/tls applies it (nsqd's buildTLSConfig): `require` is
 * RequireAnyClientCert (a certificate must come, unverified), `require-verify` is
 * RequireAndVerifyClientCert (it must also chain to --tls-root-ca-file, or to the system roots).
 *
 * Node verifies a client certificate only inside tls.Server, and without a way to demand one
 * that it does not verify; so both policies ask for the certificate with rejectUnauthorized off,
 * and clientCertError() judges the finished handshake: the TCP upgrade and the HTTPS listener
 * both refuse what Go's handshake would, with Go's error text.
 */
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Socket } from 'node:net';

/** A client certificate policy: '' (none), 'require' or 'require-verify'. */
export type ClientAuthPolicy = '' | 'require' | 'require-verify';

/** OpenSSL verify results that Go reports as an unknown authority. */
const UNKNOWN_AUTHORITY = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** A time as Go's time.RFC3339 prints a UTC time. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Why Go's handshake would refuse this client's certificate under `policy`, in crypto/tls's
 * words; null when it would not.
 */
export function clientCertError(sock: TLSSocket, policy: ClientAuthPolicy): Error | null {
  if (policy === '') return null;
  const peer = sock.getPeerCertificate();
  if (peer === null || Object.keys(peer).length === 0) return new Error("tls: client didn't provide a certificate");
  if (policy === 'require' || sock.authorized) return null;
  const code = String(sock.authorizationError ?? '');
  let reason: string;
  if (UNKNOWN_AUTHORITY.has(code)) {
    reason = 'x509: certificate signed by unknown authority';
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    const now = Date.now();
    const notBefore = Date.parse(peer.valid_from);
    reason = now < notBefore
      ? `x509: certificate has expired or is not yet valid: current time ${rfc3339(now)} is before ${rfc3339(notBefore)}`
      : `x509: certificate has expired or is not yet valid: current time ${rfc3339(now)} is after ${rfc3339(Date.parse(peer.valid_to))}`;
  } else {
    reason = `x509: ${code === '' ? 'certificate verification failed' : code}`;
  }
  return new Error(`tls: failed to verify certificate: ${reason}`);
}

/** How long a client has for its TLS handshake (nsqd's UpgradeTLS deadline). */
export const HANDSHAKE_MS = 5000;

/**
 * The server half of a TLS handshake over `socket`, judged by `policy`: the TLS socket once the
 * handshake is done and the client's certificate passes, or the error Go's handshake gives.
 */
export function serverHandshake(socket: Socket, options: TlsOptions, policy: ClientAuthPolicy): Promise<TLSSocket | Error> {
  return new Promise((resolve) => {
    // A tls.Server that never listens: it wraps this one socket, verifies the client's
    // certificate (setting authorized/authorizationError) and reports the handshake's end.
    const server = createTlsServer({ ...options, rejectUnauthorized: false, handshakeTimeout: HANDSHAKE_MS });
    let done = false;
    const finish = (r: TLSSocket | Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => finish(new Error('TLS handshake timeout')), HANDSHAKE_MS);
    server.once('secureConnection', (tlsSocket: TLSSocket) => {
      const err = clientCertError(tlsSocket, policy);
      finish(err ?? tlsSocket);
    });
    server.once('tlsClientError', (err: Error) => finish(err));
    server.emit('connection', socket);
  });
}
