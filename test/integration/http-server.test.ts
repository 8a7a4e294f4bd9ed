// The HTTP servers of nsqd (HTTP and HTTPS), nsqlookupd and nsqadmin read requests as Go's
// net/http server does: headers up to 1 MiB + 4096 bytes (Node's own limit is 16 KiB), and
// net/http's raw answers to requests it refuses (conn.serve / readRequest), byte for byte.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nullLogger } from '../../src/internal/log.js';
import { NSQAdmin } from '../../src/nsqadmin/nsqadmin.js';
import { startNsqd, startNsqlookupd } from '../helpers/daemons.js';

const certs = fileURLToPath(new URL('../fixtures/certs/', import.meta.url));
const HEADERS = '\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n';
const refusal = (status: string, body = status): string => `HTTP/1.1 ${status}${HEADERS}${body}`;

const nsqd = await startNsqd({ tlsCert: join(certs, 'server.pem'), tlsKey: join(certs, 'server.key') });
const lookupd = await startNsqlookupd();
const admin = new NSQAdmin({ httpAddress: '127.0.0.1:0', nsqlookupdHttpAddresses: [`127.0.0.1:${lookupd.httpPort}`], logger: nullLogger });
await admin.start();

/** Write `raw` on a fresh connection and collect everything until the server closes it. */
function exchange(port: number, raw: string | Buffer, tls = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock: Socket = tls ? tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(join(certs, 'ca.pem')), servername: 'localhost' }) : connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close within 10 s; got ${JSON.stringify(Buffer.concat(parts).toString('latin1').slice(0, 300))}`));
    }, 10_000);
    sock.once(tls ? 'secureConnect' : 'connect', () => sock.write(raw));
    sock.on('data', (d: Buffer) => parts.push(d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString('latin1'));
    });
  });
}

/** Status line and body of a single response. */
function statusAndBody(raw: string): { status: string; body: string } {
  const head = raw.indexOf('\r\n\r\n');
  return { status: raw.slice(0, raw.indexOf('\r\n')), body: raw.slice(head + 4) };
}

const servers: [string, () => number, boolean][] = [
  ['nsqd HTTP', () => nsqd.httpPort, false],
  ['nsqd HTTPS', () => nsqd.nsqd.httpsPort, true],
  ['nsqlookupd', () => lookupd.httpPort, false],
  ['nsqadmin', () => admin.httpPort, false],
];

for (const [name, port, tls] of servers) {
  test(`${name}: a 20 KB header is read (net/http allows 1 MiB), one past 1 MiB + 4096 gets net/http's 431`, async () => {
    const big = await exchange(port(), `GET /ping HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`, tls);
    assert.equal(statusAndBody(big), { status: 'HTTP/1.1 200 OK', body: 'OK' });
    const huge = await exchange(port(), `GET /ping HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat((1 << 20) + 5000)}\r\n\r\n`, tls);
    assert.is(huge, refusal('431 Request Header Fields Too Large'));
  });

  test(`${name}: HTTP/1.1 without Host, a malformed Host, HTTP/2.0, an unknown transfer coding and garbage get net/http's raw answers`, async () => {
    assert.is(await exchange(port(), 'GET /ping HTTP/1.1\r\n\r\n', tls), refusal('400 Bad Request: missing required Host header'));
    assert.equal(statusAndBody(await exchange(port(), 'GET /ping HTTP/1.0\r\n\r\n', tls)), { status: 'HTTP/1.1 200 OK', body: 'OK' }, 'HTTP/1.0 needs no Host');
    assert.is(await exchange(port(), 'GET /ping HTTP/1.0\r\nHost: a b\r\n\r\n', tls), refusal('400 Bad Request: malformed Host header'));
    assert.equal(statusAndBody(await exchange(port(), "GET /ping HTTP/1.1\r\nHost: [::1]:80!$&'()*+,;=_~%\r\nConnection: close\r\n\r\n", tls)), { status: 'HTTP/1.1 200 OK', body: 'OK' }, 'every byte Go allows in Host');
    assert.is(await exchange(port(), 'GET /ping HTTP/2.0\r\nHost: x\r\n\r\n', tls), refusal('505 HTTP Version Not Supported: unsupported protocol version'));
    assert.is(await exchange(port(), 'POST /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc', tls), refusal('501 Not Implemented', 'Unsupported transfer encoding'));
    assert.is(await exchange(port(), '  V2IDENTIFY\n\n', tls), refusal('400 Bad Request'));
  });
}

test('a refused request pipelined behind others is answered after them, in order', async () => {
  const raw = await exchange(nsqd.httpPort, 'GET /stats?format=json HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n');
  const first = raw.indexOf('HTTP/1.1 200 OK');
  const second = raw.indexOf('HTTP/1.1 200 OK', first + 1);
  assert.ok(first === 0 && raw.includes('"version":"1.3.0"'), raw.slice(0, 200));
  assert.ok(second > raw.indexOf('"version":"1.3.0"') && raw.slice(second).includes('\r\n\r\nOK'), 'the /ping answer follows /stats');
  assert.ok(raw.endsWith(`OK${refusal('400 Bad Request: missing required Host header')}`), `the refusal comes last and closes the connection: ${JSON.stringify(raw.slice(-160))}`);
});

test.after(async () => {
  await admin.close();
  await lookupd.close();
  await nsqd.close();
});

test.run();
