/**
 * A server's TLS handshakes failing as Go's do: the first bytes of a connection judged before
 * OpenSSL sees them, as crypto/tls judges its first record header (readRecordOrCCS), so that a
 * plain HTTP request to an HTTPS port gets net/http's 400; and OpenSSL's failures put in
 * crypto/tls's words where the two say the same thing.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { goReadFullError } from './listen.js';

/** Bytes of a TLS record header. */
export const RECORD_HEADER_LENGTH = 5;

/**
 * The bytes a paused plain socket holds once at least `n` have arrived, or all it got when the
 * stream ended first (possibly none); null after `ms` without them. They are consumed: unshift them.
 */
export function firstBytes(socket: Socket, n: number, ms: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = (b: Buffer | null): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve(b);
    };
    const take = (): void => {
      for (let c = socket.read() as Buffer | null; c !== null; c = socket.read() as Buffer | null) {
        chunks.push(c);
        got += c.length;
      }
    };
    const onReadable = (): void => {
      take();
      if (got >= n) done(Buffer.concat(chunks, got));
    };
    const onEnd = (): void => {
      take();
      done(Buffer.concat(chunks, got));
    };
    const timer = setTimeout(() => done(null), ms);
    socket.pause();
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/**
 * crypto/tls's error for a connection whose first bytes (all it sent, when fewer than a record
 * header) cannot start a handshake, or null when they may.
 */
export function firstRecordError(head: Uint8Array): string | null {
  // crypto/tls reads the header with io.ReadFull.
  if (head.length < RECORD_HEADER_LENGTH) return goReadFullError(head.length);
  // An SSLv2 hello starts with a length whose top bit is set.
  if (head[0] === 0x80) return 'tls: unsupported SSLv2 handshake received';
  // A first record must be a handshake (22) or an alert (21) of a version below 16.0.
  if ((head[0] !== 22 && head[0] !== 21) || ((head[1]! << 8) | head[2]!) >= 0x1000) return 'tls: first record does not look like a TLS handshake';
  return null;
}

/** net/http's tlsRecordHeaderLooksLikeHTTP: the first five bytes start a plain HTTP request. */
export function looksLikeHttp(head: Uint8Array): boolean {
  if (head.length < RECORD_HEADER_LENGTH) return false;
  const s = String.fromCharCode(head[0]!, head[1]!, head[2]!, head[3]!, head[4]!);
  return s === 'GET /' || s === 'HEAD ' || s === 'POST ' || s === 'PUT /' || s === 'OPTIO';
}

/** What net/http writes on the raw connection to a plain HTTP request at an HTTPS port, then closes. */
export const HTTP_TO_HTTPS_RESPONSE = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

/** OpenSSL handshake failures (by Node's error code) that crypto/tls reports in words of its own. */
const GO_HANDSHAKE_ERRORS: Readonly<Record<string, string>> = {
  ERR_SSL_NO_SHARED_CIPHER: 'tls: no cipher suite supported by both client and server',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: "tls: client didn't provide a certificate",
};

/**
 * A failed server handshake (a tls.Server's tlsClientError) as Go's would read, where the two
 * say the same thing differently. A client certificate that fails verification under
 * rejectUnauthorized ends the socket after OpenSSL's handshake (Node says `socket hang up`);
 * crypto/tls fails the handshake with the verification error.
 */
export function goHandshakeError(err: Error, sock?: TLSSocket): Error {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  // Node has let go of the certificate by then: only the verification's code is left.
  const refused = sock?.authorizationError;
  if (refused !== undefined && refused !== null) return new Error(verifyFailure(String(refused), null), { cause: err });
  // The client closed before the handshake ended: crypto/tls's next record read gets EOF.
  const text = err.message.startsWith('Client network socket disconnected before secure TLS connection') ? 'EOF' : GO_HANDSHAKE_ERRORS[code];
  return text === undefined ? err : new Error(text, { cause: err });
}

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
  return new Error(verifyFailure(String(sock.authorizationError ?? ''), peer));
}

/**
 * crypto/tls's text for a certificate OpenSSL's verification refused with `code`; the validity
 * dates Go quotes for an expired certificate need the certificate (`peer`).
 */
function verifyFailure(code: string, peer: { valid_from: string; valid_to: string } | null): string {
  let reason: string;
  if (UNKNOWN_AUTHORITY.has(code)) {
    reason = 'x509: certificate signed by unknown authority';
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    reason = 'x509: certificate has expired or is not yet valid';
    if (peer !== null) {
      const now = Date.now();
      const notBefore = Date.parse(peer.valid_from);
      reason += now < notBefore ? `: current time ${rfc3339(now)} is before ${rfc3339(notBefore)}` : `: current time ${rfc3339(now)} is after ${rfc3339(Date.parse(peer.valid_to))}`;
    }
  } else {
    reason = `x509: ${code === '' ? 'certificate verification failed' : code}`;
  }
  return `tls: failed to verify certificate: ${reason}`;
}
