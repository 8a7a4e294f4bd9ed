// nsqadmin against an nsqd with --tls-required=true (its plain HTTP port answers 403
// TLS_REQUIRED with the https_port): nsqadmin retries once over https on that port (spec §2.2),
// verifying the server with --http-client-tls-root-ca-file, or not with
// --http-client-tls-insecure-skip-verify; without either the certificate is refused and the
// API says so instead of answering with made-up data. Real binaries, test-only certificates.
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { http, tempDir } from '../helpers/daemons.js';
import { listeningLine } from '../helpers/log-lines.js';
import { BinSession, type Bin } from '../helpers/nsqadmin-cluster.js';
import { Proc, requireBuilt } from '../helpers/proc.js';

const CERTS = fileURLToPath(new URL('../fixtures/certs/', import.meta.url));
const s = new BinSession();
let nsqd: Proc;
let httpAddr = '';
let httpsPort = 0;
let dir = '';

/** A request to the nsqd's https port, trusting the test CA. */
function https(method: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: httpsPort, method, path, ca: readFileSync(`${CERTS}ca.pem`) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function topicPaused(topic: string): Promise<boolean | undefined> {
  const r = await https('GET', `/stats?format=json&topic=${topic}`);
  return (JSON.parse(r.text) as { topics: { topic_name: string; paused: boolean }[] }).topics.find((t) => t.topic_name === topic)?.paused;
}

test.before(async () => {
  dir = tempDir('nsq-ts-admin-tls-');
  nsqd = new Proc(requireBuilt('nsqd'), [
    '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--https-address=127.0.0.1:0', '--broadcast-address=127.0.0.1', `--data-path=${dir}`,
    `--tls-cert=${CERTS}server.pem`, `--tls-key=${CERTS}server.key`, '--tls-required=true',
  ]);
  const h = await nsqd.waitForOutput(listeningLine('HTTP', '[nsqd] '));
  const hs = await nsqd.waitForOutput(listeningLine('HTTPS', '[nsqd] '));
  httpAddr = `127.0.0.1:${h[1]}`;
  httpsPort = Number(hs[1]);
  const r = await https('POST', '/topic/create?topic=secure');
  assert.is(r.status, 200, r.text);
});

test.after(async () => {
  await nsqd.kill();
  await s.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function get(admin: Bin, path: string): Promise<{ status: number; doc: Record<string, unknown> }> {
  const r = await http('GET', `${admin.url}${path}`);
  return { status: r.status, doc: JSON.parse(r.text) as Record<string, unknown> };
}

test('the plain HTTP port of a --tls-required nsqd answers 403 TLS_REQUIRED with its https_port', async () => {
  const r = await http('GET', `http://${httpAddr}/stats?format=json`);
  assert.is(r.status, 403);
  assert.equal(JSON.parse(r.text), { message: 'TLS_REQUIRED', https_port: httpsPort });
});

test('with the CA: nsqadmin retries over https, lists the topic, and its pause action reaches the nsqd', async () => {
  const admin = await s.nsqadmin([`--nsqd-http-address=${httpAddr}`, `--http-client-tls-root-ca-file=${CERTS}ca.pem`]);
  assert.equal(await get(admin, '/api/topics'), { status: 200, doc: { topics: ['secure'], message: '' } });
  const t = await get(admin, '/api/topics/secure');
  assert.equal([t.status, t.doc.topic_name, t.doc.message], [200, 'secure', '']);
  const r = await http('POST', `${admin.url}/api/topics/secure`, JSON.stringify({ action: 'pause' }));
  assert.is(r.status, 200, r.text);
  assert.is(await topicPaused('secure'), true);
  await http('POST', `${admin.url}/api/topics/secure`, JSON.stringify({ action: 'unpause' }));
  assert.is(await topicPaused('secure'), false);
});

test('--http-client-tls-insecure-skip-verify: the retry works without the CA', async () => {
  const admin = await s.nsqadmin([`--nsqd-http-address=${httpAddr}`, '--http-client-tls-insecure-skip-verify']);
  assert.equal(await get(admin, '/api/topics'), { status: 200, doc: { topics: ['secure'], message: '' } });
});

test('neither CA nor skip-verify: the certificate is refused, the API reports it (502), nsqadmin stays up', async () => {
  const admin = await s.nsqadmin([`--nsqd-http-address=${httpAddr}`]);
  const t = await get(admin, '/api/topics');
  assert.is(t.status, 502, JSON.stringify(t.doc));
  assert.match(String(t.doc.message), /^UPSTREAM_ERROR: failed to query any nsqd: /);
  assert.is((await http('GET', `${admin.url}/ping`)).text, 'OK');
});

test('an nsqd that demands client certificates (--tls-client-auth-policy=require-verify): nsqadmin gets in with --http-client-tls-cert/--http-client-tls-key, not without', async () => {
  const dir2 = tempDir('nsq-ts-admin-tls-');
  const strict = new Proc(requireBuilt('nsqd'), [
    '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--https-address=127.0.0.1:0', '--broadcast-address=127.0.0.1', `--data-path=${dir2}`,
    `--tls-cert=${CERTS}server.pem`, `--tls-key=${CERTS}server.key`, `--tls-root-ca-file=${CERTS}ca.pem`, '--tls-client-auth-policy=require-verify',
  ]);
  try {
    const h = await strict.waitForOutput(listeningLine('HTTP', '[nsqd] '));
    const addr = `127.0.0.1:${h[1]}`;
    const withCert = await s.nsqadmin([`--nsqd-http-address=${addr}`, `--http-client-tls-root-ca-file=${CERTS}ca.pem`, `--http-client-tls-cert=${CERTS}client.pem`, `--http-client-tls-key=${CERTS}client.key`]);
    const ok = await get(withCert, '/api/nodes');
    assert.equal([ok.status, ok.doc.message], [200, ''], JSON.stringify(ok.doc));
    const without = await s.nsqadmin([`--nsqd-http-address=${addr}`, `--http-client-tls-root-ca-file=${CERTS}ca.pem`]);
    const refused = await get(without, '/api/nodes');
    assert.is(refused.status, 502, JSON.stringify(refused.doc));
    assert.match(String(refused.doc.message), /certificate required/);
  } finally {
    await strict.kill();
    rmSync(dir2, { recursive: true, force: true });
  }
});

test.run();
