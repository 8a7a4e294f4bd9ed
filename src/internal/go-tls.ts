/**
 * A server's TLS handshakes failing as Go's do: the first bytes of a connection judged before
 * OpenSSL sees them, as crypto/tls judges its first record header (readRecordOrCCS), so that a
 * plain HTTP request to an HTTPS port gets net/http's 400; and OpenSSL's failures put in
 * crypto/tls's words where the two say the same thing.
 */
import type { Socket } from 'node:net';
import { DEFAULT_CIPHERS, type SecureVersion, type TLSSocket } from 'node:tls';
import { goReadFullError } from './listen.js';

/**
 * A cipher list that lets OpenSSL speak TLS 1.0 and 1.1 when `minVersion` allows them, as Go's
 * crypto/tls does with such a MinVersion (nsqd's default --tls-min-version is tls1.0). OpenSSL 3
 * refuses both below security level 0 (their handshakes sign with SHA-1 or MD5+SHA-1), so the
 * level drops to 0 only then; which suites may be used is still the list's.
 */
export function cipherListFor(minVersion: SecureVersion | undefined, ciphers: string = DEFAULT_CIPHERS): string {
  return minVersion === 'TLSv1' || minVersion === 'TLSv1.1' ? `${ciphers}:@SECLEVEL=0` : ciphers;
}

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

/** Most bytes of a first record waited for (crypto/tls's largest record, maxCiphertext, and its header). */
const MAX_FIRST_RECORD = RECORD_HEADER_LENGTH + 16384 + 2048;

/**
 * The first bytes of a paused plain socket, as firstBytes gives them: a record header and, when
 * it can start a handshake, the rest of that record too (the ClientHello), or all that came before
 * the stream ended; null when `ms` pass first. They are consumed: unshift them.
 */
export async function firstRecord(socket: Socket, ms: number): Promise<Buffer | null> {
  const deadline = Date.now() + ms;
  const head = await firstBytes(socket, RECORD_HEADER_LENGTH, ms);
  if (head === null || firstRecordError(head) !== null) return head;
  const want = Math.min(firstRecordLength(head), MAX_FIRST_RECORD);
  if (head.length >= want || socket.readableEnded || socket.destroyed) return head;
  const rest = await firstBytes(socket, want - head.length, Math.max(0, deadline - Date.now()));
  return rest === null ? null : Buffer.concat([head, rest]);
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

/** The bytes of the record whose header is `head` (header included, its length field as sent). */
export function firstRecordLength(head: Uint8Array): number {
  return RECORD_HEADER_LENGTH + ((head[3]! << 8) | head[4]!);
}

/** The ClientHello of a handshake record, cut where its fields end; null when `record` holds none whole. */
function clientHelloBody(record: Uint8Array): Uint8Array | null {
  if (record.length < RECORD_HEADER_LENGTH + 4 || record[0] !== 22 || record[RECORD_HEADER_LENGTH] !== 1) return null;
  const at = RECORD_HEADER_LENGTH + 4;
  const len = (record[RECORD_HEADER_LENGTH + 1]! << 16) | (record[RECORD_HEADER_LENGTH + 2]! << 8) | record[RECORD_HEADER_LENGTH + 3]!;
  const end = Math.min(firstRecordLength(record), record.length);
  return at + len <= end ? record.subarray(at, at + len) : null;
}

/**
 * The versions a ClientHello offers, listed as crypto/tls lists them: its supported_versions
 * extension, or without one every version from its legacy version down to TLS 1.0
 * (supportedVersionsFromMax). Null when `record` is not a whole, well-formed ClientHello: OpenSSL
 * judges those.
 */
export function clientHelloVersions(record: Uint8Array): number[] | null {
  const h = clientHelloBody(record);
  if (h === null || h.length < 35) return null;
  const legacy = (h[0]! << 8) | h[1]!;
  let at = 34;
  at += 1 + h[at]!; // session id
  if (at + 2 > h.length) return null;
  at += 2 + ((h[at]! << 8) | h[at + 1]!); // cipher suites
  if (at + 1 > h.length) return null;
  at += 1 + h[at]!; // compression methods
  if (at > h.length) return null;
  if (at + 2 <= h.length) {
    const extEnd = at + 2 + ((h[at]! << 8) | h[at + 1]!);
    if (extEnd > h.length) return null;
    for (at += 2; at + 4 <= extEnd; ) {
      const type = (h[at]! << 8) | h[at + 1]!;
      const len = (h[at + 2]! << 8) | h[at + 3]!;
      at += 4;
      if (at + len > extEnd) return null;
      if (type === EXT_SUPPORTED_VERSIONS) {
        const n = h[at]!;
        if (len < 1 || n + 1 > len || n % 2 !== 0) return null;
        const versions: number[] = [];
        for (let i = at + 1; i < at + 1 + n; i += 2) versions.push((h[i]! << 8) | h[i + 1]!);
        return versions;
      }
      at += len;
    }
  }
  return [0x0304, 0x0303, 0x0302, 0x0301].filter((v) => v <= legacy);
}

/** The TLS extension listing the versions a client speaks. */
const EXT_SUPPORTED_VERSIONS = 43;

const VERSION_NUMBERS: Readonly<Record<SecureVersion, number>> = { TLSv1: 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 };

/** The fatal protocol_version alert crypto/tls sends before a version is agreed (record version TLS 1.0). */
export const PROTOCOL_VERSION_ALERT = Buffer.from([21, 3, 1, 0, 2, 2, 70]);

/**
 * crypto/tls's refusal of a ClientHello (the first record, `record`) that offers no version from
 * `minVersion` up, or null when it offers one or cannot be read (OpenSSL then judges it). Go
 * answers PROTOCOL_VERSION_ALERT; OpenSSL would too, in words Go does not use.
 */
export function versionRefusal(record: Uint8Array, minVersion: SecureVersion | undefined): string | null {
  const offered = clientHelloVersions(record);
  if (offered === null) return null;
  const min = VERSION_NUMBERS[minVersion ?? 'TLSv1'];
  if (offered.some((v) => v >= min && v <= 0x0304)) return null;
  return `tls: client offered only unsupported versions: [${offered.map((v) => v.toString(16)).join(' ')}]`;
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
