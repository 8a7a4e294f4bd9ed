/**
 * nsqd's TLS: the server options its --tls-* flags build (with the checks and error texts of
 * nsqd's buildTLSConfig and buildClientTLSConfig), and --tls-client-auth-policy as Go's
 * crypto/tls applies it: `require` is RequireAnyClientCert (a certificate must come,
 * unverified), `require-verify` is RequireAndVerifyClientCert (it must also chain to
 * --tls-root-ca-file, or to the system roots).
 *
 * Node verifies a client certificate only inside tls.Server, and cannot demand one it does not
 * verify. So the TCP upgrade asks for it with rejectUnauthorized off and clientCertError() judges
 * the finished handshake, under either policy. HTTPS does the same under `require`; under
 * `require-verify` OpenSSL refuses a missing certificate inside the handshake (the alert Go's
 * server sends) and Node drops an unverified one right after it. Every refusal is worded and
 * logged as Go's (../internal/go-tls.ts). Cipher suites are Go's, chosen as Go chooses them.
 */
import { X509Certificate, constants as cryptoConstants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureVersion, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { goPathError } from '../internal/config.js';
import { cipherListFor, clientCertError, goHandshakeError, type ClientAuthPolicy } from '../internal/go-tls.js';
import { errorText } from '../internal/log.js';
import type { NsqdOptions } from './options.js';

/** --tls-client-auth-policy as nsqd's buildTLSConfig reads it: any other value asks for no certificate. */
export function clientAuthPolicy(flag: string): ClientAuthPolicy {
  return flag === 'require' || flag === 'require-verify' ? flag : '';
}

/** How long a client has for its TLS handshake (nsqd's UpgradeTLS deadline). */
export const HANDSHAKE_MS = 5000;

/** Servers kept for later handshakes once theirs is done. */
const MAX_IDLE_SERVERS = 8;

/**
 * The server halves of TLS handshakes over accepted sockets, judged by the client certificate
 * policy. Each runs in a tls.Server that never listens: it wraps the one socket, verifies the
 * client's certificate (setting authorized/authorizationError) and reports the end of the
 * handshake. Building such a server parses the certificate and key (about 2 ms here), so one
 * whose handshake is over waits for the next; one handshake at a time runs in each, which is
 * how its events are known to be that socket's.
 */
export class TlsHandshaker {
  private readonly idle: TlsServer[] = [];

  constructor(
    private readonly options: TlsOptions,
    private readonly policy: ClientAuthPolicy,
  ) {}

  /** The lowest TLS version a client may speak (--tls-min-version). */
  get minVersion(): SecureVersion | undefined {
    return this.options.minVersion;
  }

  /** The TLS socket once the handshake is done and the client's certificate passes, or the error Go's handshake gives. */
  handshake(socket: Socket): Promise<TLSSocket | Error> {
    const server = this.idle.pop() ?? createTlsServer({ ...this.options, rejectUnauthorized: false });
    return new Promise((resolve) => {
      const finish = (r: TLSSocket | Error, reusable: boolean): void => {
        clearTimeout(timer);
        server.off('secureConnection', onSecure);
        server.off('tlsClientError', onError);
        if (reusable && this.idle.length < MAX_IDLE_SERVERS) this.idle.push(server);
        resolve(r);
      };
      const onSecure = (tlsSocket: TLSSocket): void => finish(clientCertError(tlsSocket, this.policy) ?? tlsSocket, true);
      const onError = (err: Error): void => finish(goHandshakeError(err), true);
      // A handshake that ran out of time may still end later: its server is not used again.
      const timer = setTimeout(() => finish(new Error('TLS handshake timeout'), false), HANDSHAKE_MS);
      server.on('secureConnection', onSecure);
      server.on('tlsClientError', onError);
      server.emit('connection', socket);
    });
  }
}

/**
 * The TLS 1.2 suites Go's crypto/tls enables by default (the same in Go 1.19, which built
 * shared/fixtures, and Go 1.21, which built the nsqd 1.3.0 release), in its preference order
 * (cipherSuitesPreferenceOrder), named as OpenSSL names them; 3DES, which OpenSSL 3 leaves out,
 * is skipped by OpenSSL. Node's defaults also offer DHE and CBC-SHA256/384 suites, which Go does
 * not negotiate.
 */
const GO_TLS12_AES_FIRST = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-RSA-AES256-SHA',
  'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'AES256-SHA', 'ECDHE-RSA-DES-CBC3-SHA', 'DES-CBC3-SHA',
];
/** Go's TLS 1.3 order when both ends have AES hardware (defaultCipherSuitesTLS13). */
const GO_TLS13_AES_FIRST = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** Go's order with ChaCha20-Poly1305 first (its ...NoAES lists): the rest keep their places. */
function chachaFirst(suites: readonly string[]): string[] {
  const chacha = suites.filter((s) => s.includes('CHACHA20'));
  return [...chacha, ...suites.filter((s) => !s.includes('CHACHA20'))];
}

/** Whether this CPU has what Go's hasAESGCMHardwareSupport asks for (AES and carry-less multiply). */
export function aesGcmHardware(): boolean {
  try {
    const info = readFileSync('/proc/cpuinfo', 'latin1');
    const flags = /^(?:flags|Features)\s*:(.*)$/m.exec(info)?.[1]?.split(/\s+/) ?? [];
    return flags.includes('aes') && (flags.includes('pclmulqdq') || flags.includes('pmull'));
  } catch {
    return process.arch === 'x64' || process.arch === 'arm64';
  }
}

/**
 * Cipher suite choice as Go's TLS server makes it (Go 1.17 on): its own order, not the
 * client's, with AES-GCM first when this CPU has AES hardware and the client's first suite is
 * AES-GCM, else ChaCha20-Poly1305 first. OpenSSL's PRIORITIZE_CHACHA makes the same switch when
 * the client lists ChaCha20-Poly1305 first.
 */
export function goCipherOptions(aesHardware = aesGcmHardware()): Pick<TlsOptions, 'ciphers' | 'honorCipherOrder' | 'secureOptions'> {
  if (!aesHardware) return { ciphers: [...chachaFirst(GO_TLS13_AES_FIRST), ...chachaFirst(GO_TLS12_AES_FIRST)].join(':'), honorCipherOrder: true };
  return { ciphers: [...GO_TLS13_AES_FIRST, ...GO_TLS12_AES_FIRST].join(':'), honorCipherOrder: true, secureOptions: cryptoConstants.SSL_OP_PRIORITIZE_CHACHA };
}

/** --tls-min-version (Go's tls.VersionTLS10 ... VersionTLS13) as Node names the version. */
export function secureVersion(v: number): SecureVersion {
  return ({ 0x0301: 'TLSv1', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' } as const)[v] ?? 'TLSv1';
}

/** A file's bytes, or Go's os.PathError text (`open <path>: no such file or directory`). */
function readTlsFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(goPathError(path, err));
  }
}

/**
 * A --tls-root-ca-file's bytes, refused as x509.CertPool.AppendCertsFromPEM refuses a file
 * without a certificate it can parse (`failed to append certificate to pool`).
 */
function readCaFile(path: string): Buffer {
  const pem = readTlsFile(path);
  for (const m of pem.toString('latin1').matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) {
    try {
      new X509Certificate(m[0]);
      return pem;
    } catch {
      // Not a certificate Go would parse either; look at the next block.
    }
  }
  throw new Error('failed to append certificate to pool');
}

/** The types of the PEM blocks in a file, in order. */
function pemTypes(pem: Buffer): string[] {
  return [...pem.toString('latin1').matchAll(/-----BEGIN ([^-\r\n]*)-----/g)].map((m) => m[1]!);
}

/** tls.X509KeyPair's refusals, in Go's words. */
function checkKeyPair(cert: Buffer, key: Buffer): void {
  const certTypes = pemTypes(cert);
  if (!certTypes.includes('CERTIFICATE')) {
    if (certTypes.length === 0) throw new Error('tls: failed to find any PEM data in certificate input');
    if (certTypes[0]!.endsWith('PRIVATE KEY')) throw new Error('tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched');
    throw new Error(`tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [${certTypes.join(' ')}]`);
  }
  const keyTypes = pemTypes(key);
  if (!keyTypes.some((t) => t === 'PRIVATE KEY' || t.endsWith(' PRIVATE KEY'))) {
    if (keyTypes.length === 0) throw new Error('tls: failed to find any PEM data in key input');
    if (keyTypes.length === 1 && keyTypes[0] === 'CERTIFICATE') throw new Error('tls: found a certificate rather than a key in the PEM for the private key');
    throw new Error(`tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [${keyTypes.join(' ')}]`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new Error(code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' ? 'tls: private key does not match public key' : errorText(err));
  }
}

/**
 * TLS options for client upgrades and HTTPS from --tls-* flags, with nsqd's buildTLSConfig
 * checks: null when neither cert nor key is given; either one alone, a file that cannot be read,
 * a mismatched pair or a --tls-root-ca-file without a certificate is `failed to build TLS config
 * - <Go's error>`.
 */
export function buildTlsOptions(o: NsqdOptions): TlsOptions | null {
  if (o.tlsCert === '' && o.tlsKey === '') return null;
  try {
    const cert = readTlsFile(o.tlsCert);
    const key = readTlsFile(o.tlsKey);
    checkKeyPair(cert, key);
    const minVersion = secureVersion(o.tlsMinVersion);
    const suites = goCipherOptions();
    const opts: TlsOptions = { cert, key, minVersion, ...suites, ciphers: cipherListFor(minVersion, suites.ciphers) };
    if (o.tlsRootCaFile !== '') opts.ca = readCaFile(o.tlsRootCaFile);
    const policy = clientAuthPolicy(o.tlsClientAuthPolicy);
    if (policy !== '') {
      opts.requestCert = true;
      opts.rejectUnauthorized = policy === 'require-verify';
    }
    return opts;
  } catch (err) {
    throw new Error(`failed to build TLS config - ${(err as Error).message}`);
  }
}

/** nsqd's client TLS settings (its auth requests over https): the root CAs and lowest version. */
export interface ClientTls {
  ca: Buffer;
  minVersion: SecureVersion;
}

/**
 * nsqd's buildClientTLSConfig, built once at start after the server's: null without
 * --tls-root-ca-file; a file without a certificate Go can parse is `failed to build client TLS
 * config - <Go's error>`.
 */
export function buildClientTls(o: NsqdOptions): ClientTls | null {
  if (o.tlsRootCaFile === '') return null;
  try {
    return { ca: readCaFile(o.tlsRootCaFile), minVersion: secureVersion(o.tlsMinVersion) };
  } catch (err) {
    throw new Error(`failed to build client TLS config - ${(err as Error).message}`);
  }
}
