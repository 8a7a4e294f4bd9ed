import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { clientHelloVersions, firstRecordLength, versionRefusal } from '../../src/internal/go-tls.js';

/** The first record a Node TLS client with `opts` sends (its ClientHello). */
async function helloOf(opts: ConnectionOptions): Promise<Buffer> {
  let sock: Socket | null = null;
  const server = createServer((s) => (sock = s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const t = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, ...opts });
  t.on('error', () => undefined);
  let got = Buffer.alloc(0);
  await new Promise<void>((r) => {
    const wait = (): void => {
      if (sock === null) return void setTimeout(wait, 5);
      const s: Socket = sock;
      s.on('data', (b: Buffer) => {
        got = Buffer.concat([got, b]);
        if (got.length >= 5 && got.length >= firstRecordLength(got)) r();
      });
    };
    wait();
  });
  t.destroy();
  (sock as Socket | null)?.destroy();
  server.close();
  return got.subarray(0, firstRecordLength(got));
}

const legacy = (v: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2'): ConnectionOptions => ({ minVersion: v, maxVersion: v, ciphers: 'DEFAULT:@SECLEVEL=0' });

test('the versions a ClientHello offers, as crypto/tls lists them', async () => {
  // No supported_versions extension below TLS 1.3: every version from the legacy one down.
  assert.equal(clientHelloVersions(await helloOf(legacy('TLSv1'))), [0x0301]);
  assert.equal(clientHelloVersions(await helloOf(legacy('TLSv1.1'))), [0x0302, 0x0301]);
  assert.equal(clientHelloVersions(await helloOf(legacy('TLSv1.2'))), [0x0303, 0x0302, 0x0301]);
  // With TLS 1.3 the extension lists what the client speaks.
  assert.equal(clientHelloVersions(await helloOf({})), [0x0304, 0x0303]);
  assert.equal(clientHelloVersions(await helloOf({ minVersion: 'TLSv1.3' })), [0x0304]);
});

test('versionRefusal: Go\'s words when no offered version reaches the minimum, null otherwise', async () => {
  const v11 = await helloOf(legacy('TLSv1.1'));
  const v13 = await helloOf({ minVersion: 'TLSv1.3' });
  assert.is(versionRefusal(v11, 'TLSv1'), null);
  assert.is(versionRefusal(v11, 'TLSv1.1'), null);
  assert.is(versionRefusal(v11, 'TLSv1.2'), 'tls: client offered only unsupported versions: [302 301]');
  assert.is(versionRefusal(v11, undefined), null);
  assert.is(versionRefusal(v13, 'TLSv1.3'), null);
  assert.is(versionRefusal(await helloOf(legacy('TLSv1.2')), 'TLSv1.3'), 'tls: client offered only unsupported versions: [303 302 301]');
});

test('a ClientHello cut short or mangled anywhere is null or a list, never a throw', async () => {
  const hello = await helloOf({});
  for (let n = 0; n < hello.length; n++) assert.is(clientHelloVersions(hello.subarray(0, n)), null, `cut at ${n}`);
  let seed = 12345;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.from(hello);
    for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    const got = clientHelloVersions(b.subarray(0, Math.floor(rand() * (b.length + 1))));
    assert.ok(got === null || (Array.isArray(got) && got.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffff)));
  }
  // Not a handshake record, or not a ClientHello.
  assert.is(clientHelloVersions(Buffer.from([21, 3, 1, 0, 2, 2, 70])), null);
  const notHello = Buffer.from(hello);
  notHello[5] = 2;
  assert.is(clientHelloVersions(notHello), null);
});

test.run();
