// IDENTIFY upgrades (spec §2.2): TLS, snappy and deflate, checked with the third-party client
// nsqjs (publish and consume through each layer) and on the wire (the OK arrives through the
// new layer), plus --tls-required and client certificate policies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import nsq, { type Message } from 'nsqjs';
import { Logger } from '../../src/internal/log.js';
import { http, startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { WireConn, sized, withTimeout } from '../helpers/wire.js';
import { TLS_REQUIRED, TLS_REQUIRED_EXCEPT_HTTP } from '../../src/nsqd/options.js';
import { aesGcmHardware, goCipherOptions } from '../../src/nsqd/tls.js';

const certs = fileURLToPath(new URL('../fixtures/certs/', import.meta.url));
const tlsOpts = { tlsCert: join(certs, 'server.pem'), tlsKey: join(certs, 'server.key') };
const ca = readFileSync(join(certs, 'ca.pem'));

interface ChannelClient {
  tls: boolean;
  tls_version: string;
  tls_cipher_suite: string;
  tls_negotiated_protocol_is_mutual: boolean;
  deflate: boolean;
  snappy: boolean;
}

/** GET over HTTPS with the test CA (plain HTTP is closed under --tls-required=true). */
async function httpsGet(port: number, path: string): Promise<string> {
  const { request } = await import('node:https');
  return new Promise<string>((res, rej) => {
    // The client certificate satisfies --tls-client-auth-policy, which HTTPS enforces too.
    const cert = readFileSync(join(certs, 'client.pem'));
    const key = readFileSync(join(certs, 'client.key'));
    const req = request({ host: '127.0.0.1', port, path, ca, cert, key, servername: 'localhost' }, (r) => {
      let s = '';
      r.on('data', (c: Buffer) => (s += c));
      r.on('end', () => res(s));
    });
    req.on('error', rej);
    req.end();
  });
}

async function consumerStats(d: TestNsqd, topic: string): Promise<ChannelClient[]> {
  const path = `/stats?format=json&topic=${topic}`;
  const text = d.nsqd.httpsPort > 0 ? await httpsGet(d.nsqd.httpsPort, path) : (await http('GET', `${d.url}${path}`)).text;
  const s = JSON.parse(text) as { topics: { channels: { clients: ChannelClient[] }[] }[] };
  return s.topics[0]?.channels[0]?.clients ?? [];
}

/** Publish n messages with an nsqjs Writer and consume them with an nsqjs Reader, both using `opts`. */
async function roundTrip(d: TestNsqd, topic: string, opts: Record<string, unknown>, n: number): Promise<ChannelClient[]> {
  const w = new nsq.Writer('127.0.0.1', d.tcpPort, opts);
  await withTimeout(new Promise<void>((res, rej) => {
    w.once('ready', () => res());
    w.once('error', rej);
    w.connect();
  }), 5000, 'writer ready');
  const bodies = Array.from({ length: n }, (_, i) => `m-${i}-${'x'.repeat(i % 300)}`);
  for (let i = 0; i < n; i += 100) {
    await new Promise<void>((res, rej) => w.publish(topic, bodies.slice(i, i + 100), (err) => (err ? rej(err) : res())));
  }
  const r = new nsq.Reader(topic, 'ch', { nsqdTCPAddresses: [`127.0.0.1:${d.tcpPort}`], maxInFlight: 50, ...opts });
  const seen = new Set<string>();
  let statsDuringRun: ChannelClient[] = [];
  try {
    await withTimeout(new Promise<void>((res, rej) => {
      r.on('error', rej);
      r.on('message', (m: Message) => {
        seen.add(m.body.toString());
        m.finish();
        if (seen.size === n) res();
      });
      r.connect();
    }), 20000, `${n} messages`);
    statsDuringRun = await consumerStats(d, topic);
  } finally {
    r.close();
    w.close();
  }
  assert.is(seen.size, n);
  for (const b of bodies) assert.ok(seen.has(b), `missing ${b.slice(0, 20)}`);
  return statsDuringRun;
}

test('deflate: nsqjs publishes and consumes 2,000 messages through raw DEFLATE', async () => {
  const d = await startNsqd();
  try {
    const clients = await roundTrip(d, 'deflated', { deflate: true, deflateLevel: 3 }, 2000);
    assert.is(clients.length, 1);
    assert.is(clients[0]!.deflate, true);
    assert.is(clients[0]!.snappy, false);
  } finally {
    await d.close();
  }
});

test('snappy: nsqjs (snappystream) publishes and consumes 2,000 messages through snappy frames', async () => {
  const d = await startNsqd();
  try {
    const clients = await roundTrip(d, 'snappied', { snappy: true }, 2000);
    assert.is(clients[0]!.snappy, true);
    assert.is(clients[0]!.deflate, false);
  } finally {
    await d.close();
  }
});

test('TLS: nsqjs over TLS, then TLS with deflate; /stats reports the version and cipher', async () => {
  const d = await startNsqd(tlsOpts);
  try {
    const clients = await roundTrip(d, 'secure', { tls: true, ca }, 500);
    assert.is(clients[0]!.tls, true);
    assert.match(clients[0]!.tls_version, /^TLS1\.[23]$/);
    // As nsqd names suites: one of its 13 TLS 1.0-1.2 names, else `Unknown <IANA id>` (4865 is TLS 1.3's TLS_AES_128_GCM_SHA256).
    if (clients[0]!.tls_version === 'TLS1.3') assert.match(clients[0]!.tls_cipher_suite, /^Unknown 486[5-7]$/);
    else assert.match(clients[0]!.tls_cipher_suite, /^(TLS_ECDHE_(RSA|ECDSA)_WITH_AES_128_GCM_SHA256|Unknown \d+)$/);
    assert.is(clients[0]!.tls_negotiated_protocol_is_mutual, true);
    const both = await roundTrip(d, 'secure-deflate', { tls: true, ca, deflate: true }, 500);
    assert.is(both[0]!.tls && both[0]!.deflate, true);
    const snappy = await roundTrip(d, 'secure-snappy', { tls: true, ca, snappy: true }, 500);
    assert.is(snappy[0]!.tls && snappy[0]!.snappy, true);
  } finally {
    await d.close();
  }
});

test('the JSON answer is plain and the OK after it comes through the TLS layer', async () => {
  const d = await startNsqd(tlsOpts);
  try {
    const c = await WireConn.open(d.tcpPort);
    const json = JSON.parse(await c.identify({ feature_negotiation: true, tls_v1: true })) as { tls_v1: boolean };
    assert.is(json.tls_v1, true);
    const raw = c.socket;
    raw.removeAllListeners('data');
    const t = tlsConnect({ socket: raw, ca, servername: 'localhost' });
    const got = await withTimeout(new Promise<Buffer>((res) => t.once('data', (b: Buffer) => res(b))), 5000, 'OK over TLS');
    assert.equal([...got], [0, 0, 0, 6, 0, 0, 0, 0, 0x4f, 0x4b]);
    t.write(Buffer.concat([Buffer.from('PUB t\n'), sized('over tls')]));
    const ok = await withTimeout(new Promise<Buffer>((res) => t.once('data', (b: Buffer) => res(b))), 5000, 'PUB OK');
    assert.equal([...ok], [0, 0, 0, 6, 0, 0, 0, 0, 0x4f, 0x4b]);
    t.destroy();
  } finally {
    await d.close();
  }
});

test('negotiating both deflate and snappy is E_IDENTIFY_FAILED; with --snappy=false only deflate is granted', async () => {
  const d = await startNsqd();
  try {
    const c = await WireConn.open(d.tcpPort);
    c.cmd('IDENTIFY', JSON.stringify({ feature_negotiation: true, deflate: true, snappy: true }));
    await c.expectError('E_IDENTIFY_FAILED cannot enable both deflate and snappy compression');
    await c.expectClosed();
  } finally {
    await d.close();
  }
  const e = await startNsqd({ snappy: false });
  try {
    const c = await WireConn.open(e.tcpPort);
    const json = JSON.parse(await c.identify({ feature_negotiation: true, deflate: true, snappy: true, deflate_level: 9 })) as Record<string, unknown>;
    assert.is(json.snappy, false);
    assert.is(json.deflate, true);
    assert.is(json.deflate_level, 6, 'clamped to --max-deflate-level');
    c.close();
  } finally {
    await e.close();
  }
});

test('--tls-required=true: commands before TLS are refused, plain HTTP answers 403 with the https_port', async () => {
  const d = await startNsqd({ ...tlsOpts, tlsRequired: TLS_REQUIRED, httpsAddress: '127.0.0.1:0' });
  try {
    const c = await WireConn.open(d.tcpPort);
    c.cmd('PUB t', 'x');
    await c.expectError('E_INVALID cannot PUB in current state (TLS required)');
    await c.expectClosed();
    const res = await http('GET', `${d.url}/ping`);
    assert.is(res.status, 403);
    assert.is(res.text, `{"message": "TLS_REQUIRED", "https_port": ${d.nsqd.httpsPort}}`);
    assert.is(res.headers.get('x-nsq-content-type'), 'nsq; version=1.0');
    const clients = await roundTrip(d, 'required', { tls: true, ca }, 100);
    assert.is(clients[0]!.tls, true);
  } finally {
    await d.close();
  }
  const e = await startNsqd({ ...tlsOpts, tlsRequired: TLS_REQUIRED_EXCEPT_HTTP });
  try {
    assert.is((await http('GET', `${e.url}/ping`)).status, 200, 'tcp-https leaves plain HTTP open');
  } finally {
    await e.close();
  }
});

test('--tls-client-auth-policy=require-verify: a CA-signed client certificate is needed', async () => {
  const d = await startNsqd({ ...tlsOpts, tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: join(certs, 'ca.pem') });
  try {
    const withCert = await roundTrip(d, 'mutual', {
      tls: true,
      ca,
      cert: readFileSync(join(certs, 'client.pem')),
      key: readFileSync(join(certs, 'client.key')),
    }, 50);
    assert.is(withCert[0]!.tls, true);
    const c = await WireConn.open(d.tcpPort);
    await c.identify({ feature_negotiation: true, tls_v1: true });
    const raw = c.socket;
    raw.removeAllListeners('data');
    const t = tlsConnect({ socket: raw, ca, servername: 'localhost' });
    t.on('error', () => undefined);
    await withTimeout(new Promise<void>((res) => t.once('close', () => res())), 5000, 'server to drop a client without a certificate');
  } finally {
    await d.close();
  }
});

/**
 * IDENTIFY tls_v1 with `cert` (a {cert, key} pair, or none) on a fresh connection: the TLS
 * client's fate (the upgrade's OK through TLS, or the connection dropped) and nsqd's log.
 */
async function upgradeWith(d: TestNsqd, lines: string[], who: 'client' | 'rogue' | null): Promise<{ ok: boolean; logged: string[] }> {
  const c = await WireConn.open(d.tcpPort);
  const port = c.socket.localPort!;
  await c.identify({ feature_negotiation: true, tls_v1: true });
  const raw = c.socket;
  raw.removeAllListeners('data');
  const creds = who === null ? {} : { cert: readFileSync(join(certs, `${who}.pem`)), key: readFileSync(join(certs, `${who}.key`)) };
  const t = tlsConnect({ socket: raw, ca, servername: 'localhost', ...creds });
  t.on('error', () => undefined);
  let got = Buffer.alloc(0);
  t.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
  // The upgrade's answer is the frame [size 6][type 0]OK through TLS.
  const ok = await withTimeout(new Promise<boolean>((res) => {
    t.on('data', () => {
      if (got.length >= 10) res(got.subarray(8, 10).toString() === 'OK');
    });
    t.once('close', () => res(false));
  }), 5000, 'the upgrade to end');
  t.destroy();
  return { ok, logged: lines.filter((l) => l.includes(`127.0.0.1:${port}]`) && l.includes('IDENTIFY failed')) };
}

test('client certificate policies as Go\'s crypto/tls: require-verify refuses a certificate no CA vouches for and a missing one; require takes any certificate but not none, on TCP and HTTPS', async () => {
  const lines: string[] = [];
  const logger = new Logger({ prefix: '', level: 2, write: (l) => void lines.push(l.replace(/^\S+ \S+ /, '').trimEnd()) });
  const verify = await startNsqd({ ...tlsOpts, tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: join(certs, 'ca.pem'), logger });
  try {
    assert.equal(await upgradeWith(verify, lines, 'client'), { ok: true, logged: [] });
    const rogue = await upgradeWith(verify, lines, 'rogue');
    assert.is(rogue.ok, false, 'a self-signed client certificate is refused');
    const unknown = 'IDENTIFY failed tls: failed to verify certificate: x509: certificate signed by unknown authority';
    assert.ok(rogue.logged.some((l) => l.endsWith(`- E_IDENTIFY_FAILED ${unknown} - tls: failed to verify certificate: x509: certificate signed by unknown authority`)), rogue.logged.join('\n'));
    const none = await upgradeWith(verify, lines, null);
    assert.is(none.ok, false, 'no client certificate is refused');
  } finally {
    await verify.close();
  }
  const any = await startNsqd({ ...tlsOpts, tlsClientAuthPolicy: 'require', httpsAddress: '127.0.0.1:0', logger });
  try {
    assert.equal(await upgradeWith(any, lines, 'rogue'), { ok: true, logged: [] }, 'require does not verify');
    const none = await upgradeWith(any, lines, null);
    assert.is(none.ok, false);
    assert.ok(none.logged.some((l) => l.endsWith("- E_IDENTIFY_FAILED IDENTIFY failed tls: client didn't provide a certificate - tls: client didn't provide a certificate")), none.logged.join('\n'));
    // HTTPS applies the policy too: a certificate of any issuer gets in, none does not.
    const { request } = await import('node:https');
    const get = (creds: object): Promise<string> => new Promise((res) => {
      const req = request({ host: '127.0.0.1', port: any.nsqd.httpsPort, path: '/ping', ca, servername: 'localhost', ...creds }, (r) => {
        let s = '';
        r.on('data', (b: Buffer) => (s += b));
        r.on('end', () => res(s));
      });
      req.on('error', (e) => res(`error ${e.message}`));
      req.end();
    });
    assert.is(await get({ cert: readFileSync(join(certs, 'rogue.pem')), key: readFileSync(join(certs, 'rogue.key')) }), 'OK');
    assert.match(await get({}), /^error /);
    await waitFor(() => lines.some((l) => /^WARNING: http: TLS handshake error from 127\.0\.0\.1:\d+: tls: client didn't provide a certificate$/.test(l)), 5000, 'the HTTPS refusal logged');
  } finally {
    await any.close();
  }
  // Any other value asks for no certificate (buildTLSConfig's default: NoClientCert), though it
  // still makes TLS required.
  const other = await startNsqd({ ...tlsOpts, tlsClientAuthPolicy: 'sometimes', logger });
  try {
    assert.equal(await upgradeWith(other, lines, null), { ok: true, logged: [] });
  } finally {
    await other.close();
  }
});

test('TLS files are checked at start as nsqd\'s buildTLSConfig checks them, in its words', async () => {
  const { Nsqd } = await import('../../src/nsqd/nsqd.js');
  const refusal = (o: Record<string, unknown>): string => {
    try {
      new Nsqd({ dataPath: tmpdir(), ...o });
    } catch (err) {
      return (err as Error).message;
    }
    return 'started';
  };
  const pem = (f: string): string => join(certs, f);
  assert.is(refusal({ tlsCert: pem('server.pem') }), 'failed to build TLS config - open : no such file or directory');
  assert.is(refusal({ tlsKey: pem('server.key'), tlsRequired: TLS_REQUIRED }), 'failed to build TLS config - open : no such file or directory');
  assert.is(refusal({ tlsRequired: TLS_REQUIRED }), 'cannot require TLS client connections without TLS key and cert');
  assert.is(refusal({ tlsCert: '/nonexistent/nope.pem', tlsKey: pem('server.key') }), 'failed to build TLS config - open /nonexistent/nope.pem: no such file or directory');
  assert.is(refusal({ tlsCert: pem('server.pem'), tlsKey: pem('client.key') }), 'failed to build TLS config - tls: private key does not match public key');
  assert.is(refusal({ tlsCert: pem('README.md'), tlsKey: pem('server.key') }), 'failed to build TLS config - tls: failed to find any PEM data in certificate input');
  assert.is(refusal({ tlsCert: pem('server.pem'), tlsKey: pem('README.md') }), 'failed to build TLS config - tls: failed to find any PEM data in key input');
  assert.is(refusal({ tlsCert: pem('server.pem'), tlsKey: pem('server.pem') }), 'failed to build TLS config - tls: found a certificate rather than a key in the PEM for the private key');
  assert.is(refusal({ tlsCert: pem('server.key'), tlsKey: pem('server.pem') }), 'failed to build TLS config - tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched');
  assert.is(refusal({ ...tlsOpts, tlsRootCaFile: pem('server.key') }), 'failed to build TLS config - failed to append certificate to pool');
  assert.is(refusal({ tlsRootCaFile: pem('README.md') }), 'failed to build client TLS config - failed to append certificate to pool');
  assert.is(refusal({ tlsRootCaFile: '/nonexistent/ca.pem' }), 'failed to build client TLS config - open /nonexistent/ca.pem: no such file or directory');
  assert.is(refusal({ ...tlsOpts, tlsRootCaFile: pem('ca.pem') }), 'started');
});

/** IDENTIFY tls_v1 on a fresh connection, then a TLS client with `opts`: the suite it got (or null when refused) and the refusal nsqd logged. */
async function upgradeCipher(d: TestNsqd, lines: string[], opts: object): Promise<{ suite: string | null; logged: string[] }> {
  const c = await WireConn.open(d.tcpPort);
  const port = c.socket.localPort!;
  await c.identify({ feature_negotiation: true, tls_v1: true });
  const raw = c.socket;
  raw.removeAllListeners('data');
  const t = tlsConnect({ socket: raw, ca, servername: 'localhost', ...opts });
  t.on('error', () => undefined);
  const suite = await withTimeout(new Promise<string | null>((res) => {
    t.once('secureConnect', () => res(t.getCipher().standardName));
    t.once('close', () => res(null));
  }), 5000, 'the handshake to end');
  t.destroy();
  await waitFor(() => suite !== null || lines.some((l) => l.includes(`127.0.0.1:${port}]`) && l.includes('IDENTIFY failed')), 5000, 'the refusal logged');
  return { suite, logged: lines.filter((l) => l.includes(`127.0.0.1:${port}]`) && l.includes('IDENTIFY failed')) };
}

test('cipher suites chosen as Go\'s TLS server chooses them: its own order, AES-128-GCM first, ChaCha20 for a client that lists it first; suites Go does not enable are refused in its words', async () => {
  const lines: string[] = [];
  const logger = new Logger({ prefix: '', level: 2, write: (l) => void lines.push(l.replace(/^\S+ \S+ /, '').trimEnd()) });
  const d = await startNsqd({ ...tlsOpts, logger });
  // Go orders by its CPU: AES-GCM first only with AES hardware (hasAESGCMHardwareSupport).
  const aesFirst = aesGcmHardware();
  try {
    // Node's client lists TLS_AES_256_GCM_SHA384 first; Go's server prefers AES-128.
    assert.is((await upgradeCipher(d, lines, {})).suite, aesFirst ? 'TLS_AES_128_GCM_SHA256' : 'TLS_CHACHA20_POLY1305_SHA256');
    // A client without AES hardware lists ChaCha20 first, and gets it.
    assert.is((await upgradeCipher(d, lines, { ciphers: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256' })).suite, 'TLS_CHACHA20_POLY1305_SHA256');
    const tls12 = { maxVersion: 'TLSv1.2' as const };
    assert.is((await upgradeCipher(d, lines, { ...tls12, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256' })).suite, aesFirst ? 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' : 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256');
    assert.is((await upgradeCipher(d, lines, { ...tls12, ciphers: 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256' })).suite, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256');
    // CBC with SHA-256 (off by default in Go) and DHE (not in Go) are Node defaults Go refuses.
    for (const only of ['ECDHE-RSA-AES128-SHA256', 'DHE-RSA-AES128-GCM-SHA256']) {
      const refused = await upgradeCipher(d, lines, { ...tls12, ciphers: only });
      assert.is(refused.suite, null, only);
      const text = 'tls: no cipher suite supported by both client and server';
      assert.ok(refused.logged.some((l) => l.endsWith(`- E_IDENTIFY_FAILED IDENTIFY failed ${text} - ${text}`)), refused.logged.join('\n'));
    }
  } finally {
    await d.close();
  }
  // Without AES hardware Go puts ChaCha20 first whatever the client prefers.
  const { createServer } = await import('node:tls');
  const srv = createServer({ cert: readFileSync(tlsOpts.tlsCert), key: readFileSync(tlsOpts.tlsKey), ...goCipherOptions(false) }, (s) => s.end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = (srv.address() as { port: number }).port;
    const got = (o: object): Promise<string> => new Promise((res, rej) => {
      const t = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...o }, () => {
        res(t.getCipher().standardName);
        t.destroy();
      });
      t.on('error', rej);
    });
    assert.is(await got({}), 'TLS_CHACHA20_POLY1305_SHA256');
    assert.is(await got({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305' }), 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256');
  } finally {
    srv.close();
  }
});

test('TLS 1.0 and 1.1 clients are served as Go serves them under the default --tls-min-version=tls1.0 (OpenSSL 3 refuses both unless told), on TCP and HTTPS; --tls-min-version=tls1.2 refuses them', async () => {
  const lines: string[] = [];
  const logger = new Logger({ prefix: '', level: 2, write: (l) => void lines.push(l.replace(/^\S+ \S+ /, '').trimEnd()) });
  // A client that can speak the old versions at all needs the lower security level too.
  const old = (v: 'TLSv1' | 'TLSv1.1'): object => ({ minVersion: v, maxVersion: v, ciphers: 'DEFAULT:@SECLEVEL=0' });
  const { request } = await import('node:https');
  const httpsGet = (port: number, o: object): Promise<string> => new Promise((res) => {
    const req = request({ host: '127.0.0.1', port, path: '/ping', ca, servername: 'localhost', agent: false, ...o }, (r) => {
      let body = '';
      r.on('data', (b: Buffer) => (body += b));
      r.on('end', () => res(`${(r.socket as import('node:tls').TLSSocket).getProtocol() ?? ''} ${body}`));
    });
    req.on('error', (e) => res(`error ${e.message}`));
    req.end();
  });
  const d = await startNsqd({ ...tlsOpts, logger });
  try {
    await waitFor(() => d.nsqd.httpsPort > 0);
    // Go's order among the suites TLS 1.0 and 1.1 can use: ECDHE-RSA with AES-128-CBC first.
    assert.is((await upgradeCipher(d, lines, old('TLSv1'))).suite, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA');
    assert.is((await upgradeCipher(d, lines, old('TLSv1.1'))).suite, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA');
    // The upgraded connection works: a TLS 1.0 client publishes and reads the OK.
    const c = await WireConn.open(d.tcpPort);
    await c.identify({ feature_negotiation: true, tls_v1: true });
    const raw = c.socket;
    raw.removeAllListeners('data');
    const t = tlsConnect({ socket: raw, ca, servername: 'localhost', ...old('TLSv1') });
    let got = Buffer.alloc(0);
    t.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
    await withTimeout(new Promise<void>((r) => t.once('secureConnect', () => r())), 5000, 'the TLS 1.0 handshake');
    assert.is(t.getProtocol(), 'TLSv1');
    // The OK to IDENTIFY comes over TLS, then the PUB's.
    t.write(Buffer.concat([Buffer.from('PUB tls10\n'), sized('old client')]));
    const ok = Buffer.from([0, 0, 0, 6, 0, 0, 0, 0, 0x4f, 0x4b]);
    await waitFor(() => got.length >= 2 * ok.length, 5000, 'two OKs');
    assert.equal(got, Buffer.concat([ok, ok]));
    t.destroy();
    assert.is(await httpsGet(d.nsqd.httpsPort, old('TLSv1')), 'TLSv1 OK');
    assert.is(await httpsGet(d.nsqd.httpsPort, old('TLSv1.1')), 'TLSv1.1 OK');
    assert.is(await httpsGet(d.nsqd.httpsPort, {}), 'TLSv1.3 OK');
  } finally {
    await d.close();
  }
  const strict = await startNsqd({ ...tlsOpts, tlsMinVersion: 0x0303, logger });
  try {
    await waitFor(() => strict.nsqd.httpsPort > 0);
    // Refused before OpenSSL sees the hello, as crypto/tls refuses it: a protocol_version alert,
    // then the error frame in the clear, in Go's words (the versions are the hello's, in hex).
    const refused = await upgradeCipher(strict, lines, old('TLSv1.1'));
    assert.is(refused.suite, null);
    const text = 'tls: client offered only unsupported versions: [302 301]';
    assert.ok(refused.logged.some((l) => l.endsWith(`- E_IDENTIFY_FAILED IDENTIFY failed ${text} - ${text}`)), refused.logged.join('\n'));
    assert.match(await httpsGet(strict.nsqd.httpsPort, old('TLSv1')), /^error .*alert protocol version/);
    await waitFor(() => lines.some((l) => /^WARNING: http: TLS handshake error from 127\.0\.0\.1:\d+: tls: client offered only unsupported versions: \[301\]$/.test(l)), 5000, 'the HTTPS refusal logged');
    assert.is(await httpsGet(strict.nsqd.httpsPort, {}), 'TLSv1.3 OK');
    assert.is((await upgradeCipher(strict, lines, { maxVersion: 'TLSv1.2' })).suite, aesGcmHardware() ? 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' : 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256');
  } finally {
    await strict.close();
  }
});

test('HTTPS before and during the handshake as net/http: a plain HTTP request gets its 400, and every failed handshake is logged in crypto/tls\'s words', async () => {
  const lines: string[] = [];
  const logger = new Logger({ prefix: '', level: 2, write: (l) => void lines.push(l.replace(/^\S+ \S+ /, '').trimEnd()) });
  const d = await startNsqd({ ...tlsOpts, tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: join(certs, 'ca.pem'), logger });
  const { connect } = await import('node:net');
  try {
    await waitFor(() => d.nsqd.httpsPort > 0);
    const port = d.nsqd.httpsPort;
    /** Send `bytes` (then end) on a raw connection: what came back, and the handshake error logged for its port. */
    const raw = async (bytes: Buffer | string, end: boolean): Promise<{ answer: string; logged: string | undefined }> => {
      const s = connect(port, '127.0.0.1');
      await new Promise<void>((r) => s.once('connect', () => r()));
      const local = s.localPort!;
      let answer = '';
      s.on('data', (b: Buffer) => (answer += b.toString('latin1')));
      s.on('error', () => undefined);
      if (end) s.end(bytes);
      else s.write(bytes);
      await withTimeout(new Promise<void>((r) => s.once('close', () => r())), 5000, 'nsqd to close the connection');
      const re = new RegExp(`^WARNING: http: TLS handshake error from 127\\.0\\.0\\.1:${local}: (.*)$`);
      await new Promise((r) => setTimeout(r, 50));
      return { answer, logged: lines.map((l) => re.exec(l)?.[1]).find((m) => m !== undefined) };
    };
    assert.equal(await raw('GET /ping HTTP/1.1\r\nHost: x\r\n\r\n', false), { answer: 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n', logged: undefined });
    assert.equal(await raw('hello world\n', false), { answer: '', logged: 'tls: first record does not look like a TLS handshake' });
    assert.equal(await raw(Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]), false), { answer: '', logged: 'tls: unsupported SSLv2 handshake received' });
    assert.equal(await raw('', true), { answer: '', logged: 'EOF' });
    assert.equal(await raw(Buffer.from([22, 3, 1]), true), { answer: '', logged: 'unexpected EOF' });
    // A reset before the handshake starts is a read error (it took nsqd down: no 'error' listener).
    for (const bytes of [Buffer.alloc(0), Buffer.from([22])]) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise<void>((r) => s.once('connect', () => r()));
      const local = s.localPort!;
      if (bytes.length > 0) s.write(bytes);
      await new Promise((r) => setTimeout(r, 50));
      s.resetAndDestroy();
      const re = new RegExp(`^WARNING: http: TLS handshake error from 127\\.0\\.0\\.1:${local}: read tcp 127\\.0\\.0\\.1:${port}->127\\.0\\.0\\.1:${local}: read: connection reset by peer$`);
      await waitFor(() => lines.some((l) => re.test(l)), 5000, 'the reset logged');
    }
    const { request } = await import('node:https');
    const get = (o: object): Promise<string> => new Promise((res) => {
      const req = request({ host: '127.0.0.1', port, path: '/ping', ca, servername: 'localhost', ...o }, (r) => {
        let body = '';
        r.on('data', (b: Buffer) => (body += b));
        r.on('end', () => res(body));
      });
      req.on('error', (e) => res(`error ${e.message}`));
      req.end();
    });
    const logged = (text: string, from = '127\\.0\\.0\\.1:\\d+'): Promise<void> => waitFor(() => lines.some((l) => new RegExp(`^WARNING: http: TLS handshake error from ${from}: ${text}$`).test(l)), 5000, text);
    const client = { cert: readFileSync(join(certs, 'client.pem')), key: readFileSync(join(certs, 'client.key')) };
    assert.is(await get(client), 'OK');
    assert.match(await get({ ...client, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256' }), /^error /);
    await logged('tls: no cipher suite supported by both client and server');
    assert.match(await get({ cert: readFileSync(join(certs, 'rogue.pem')), key: readFileSync(join(certs, 'rogue.key')) }), /^error /);
    // Node ends such a connection itself after OpenSSL's handshake, and its address with it.
    await logged('tls: failed to verify certificate: x509: certificate signed by unknown authority', '\\S+');
    assert.match(await get({}), /^error /);
    await logged("tls: client didn't provide a certificate");
  } finally {
    await d.close();
  }
});

test('stopping nsqd ends HTTPS connections whose TLS handshake is not done (it waited for Node\'s 120 s handshake timeout)', async () => {
  const d = await startNsqd(tlsOpts);
  const { connect } = await import('node:net');
  await waitFor(() => d.nsqd.httpsPort > 0);
  const silent = connect(d.nsqd.httpsPort, '127.0.0.1');
  const partial = connect(d.nsqd.httpsPort, '127.0.0.1', () => partial.write(Buffer.from([22, 3])));
  const hello = tlsConnect({ port: d.nsqd.httpsPort, host: '127.0.0.1', ca, servername: 'localhost' });
  const closed = [silent, partial, hello].map((s) => {
    s.on('error', () => undefined);
    return new Promise<void>((r) => s.once('close', () => r()));
  });
  await Promise.all([silent, partial, hello].map((s) => new Promise<void>((r) => (s.readyState === 'open' ? r() : s.once(s === hello ? 'secureConnect' : 'connect', () => r())))));
  await withTimeout(d.close(), 10_000, 'nsqd to stop');
  await withTimeout(Promise.all(closed), 5000, 'the connections to be closed');
});

test('HTTPS serves the same API when a certificate is configured', async () => {
  const d = await startNsqd({ ...tlsOpts, httpsAddress: '127.0.0.1:0' });
  try {
    await waitFor(() => d.nsqd.httpsPort > 0);
    const body = await httpsGet(d.nsqd.httpsPort, '/ping');
    assert.is(body, 'OK');
  } finally {
    await d.close();
  }
});

test.run();
