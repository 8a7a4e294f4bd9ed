// The real `nsqd` binary (dist/apps/nsqd.js) as scripts and test harnesses use it: Go flag syntax,
// exit codes, --config TOML, NSQ's log format, start-up validation and signal handling.
// Facts: spec nsqd.md §0 and §6, nsqlookupd-nsqadmin-tools-client.md §0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { http, tempDir, waitFor } from '../helpers/daemons.js';
import { freePort, Proc, repoRoot, requireBuilt, runToExit } from '../helpers/proc.js';
import { LOG_TIME, listeningLine as listeningLineFor } from '../helpers/log-lines.js';
import { WireConn } from '../helpers/wire.js';

let BIN = '';
const procs: Proc[] = [];
const dirs: string[] = [];

test.before(() => {
  try {
    BIN = requireBuilt('nsqd');
  } catch (err) {
    // uvu swallows errors thrown from before() hooks (it only counts the tests as not passed), so
    // say why loudly before rethrowing.
    console.error(`\n  cli.test.ts: ${(err as Error).message}\n`);
    process.exitCode = 1;
    throw err;
  }
});

test.after(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir('nsq-ts-cli-');
  dirs.push(d);
  return d;
}

function spawnNsqd(args: readonly string[]): Proc {
  const p = new Proc(BIN, args);
  procs.push(p);
  return p;
}

const listeningLine = (what: 'TCP' | 'HTTP', prefix = '[nsqd] '): RegExp => listeningLineFor(what, prefix);

interface Running {
  proc: Proc;
  tcpPort: number;
  httpPort: number;
  url: string;
  dataPath: string;
}

/** Start nsqd on ephemeral loopback ports and read the ports back from its log. */
async function startBin(extra: readonly string[] = [], dataPath = dir(), prefix = '[nsqd] '): Promise<Running> {
  const proc = spawnNsqd(['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dataPath}`, ...extra]);
  const tcp = await proc.waitForOutput(listeningLine('TCP', prefix));
  const httpm = await proc.waitForOutput(listeningLine('HTTP', prefix));
  const httpPort = Number(httpm[1]);
  return { proc, tcpPort: Number(tcp[1]), httpPort, url: `http://127.0.0.1:${httpPort}`, dataPath };
}

/** GET /config/<name> → the body text (raw string, or JSON for numbers/arrays/bools). */
async function config(r: { url: string }, name: string): Promise<string> {
  const res = await http('GET', `${r.url}/config/${name}`);
  assert.is(res.status, 200, `GET /config/${name} answered ${res.status}: ${res.text}`);
  return res.text.trim();
}

async function stop(r: Running, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  r.proc.signal(sig);
  const st = await r.proc.exited();
  assert.equal(st, { code: 0, signal: null }, `exit after ${sig}; stderr:\n${r.proc.stderr}`);
}

// ---------------------------------------------------------------------------------------------
// Flags that end the process at once

test('--version and -version print "nsqd v1.3.0 (built w/...)" on stdout and exit 0', async () => {
  for (const flag of ['--version', '-version']) {
    const r = await runToExit(BIN, [flag]);
    assert.equal({ code: r.code, signal: r.signal }, { code: 0, signal: null }, flag);
    assert.match(r.stdout, /^nsqd v1\.3\.0 \(built w\/\S.*\)\n$/, `${flag} stdout: ${JSON.stringify(r.stdout)}`);
  }
});

test('-h and --help print Go-style usage on stderr and exit 0', async () => {
  for (const flag of ['-h', '--help', '-help']) {
    const r = await runToExit(BIN, [flag]);
    assert.equal({ code: r.code, signal: r.signal }, { code: 0, signal: null }, flag);
    const usage = r.stderr + r.stdout;
    assert.match(usage, /^Usage of nsqd:\n/, `${flag}: usage header`);
    assert.match(usage, /^ {2}-mem-queue-size int\n\s+.*\(default 10000\)$/m, `${flag}: -mem-queue-size line`);
    assert.match(usage, /^ {2}-msg-timeout duration\n\s+.*\(default 1m0s\)$/m);
    assert.match(usage, /^ {2}-lookupd-tcp-address value$/m);
    assert.match(usage, /^ {2}-tcp-address string\n\s+.*\(default "0\.0\.0\.0:4150"\)$/m);
  }
});

test('-h shows the -log-level default as INFO and -tls-min-version\'s as tls1.0, as Go nsqd (their String()) does', async () => {
  const r = await runToExit(BIN, ['-h']);
  assert.match(r.stderr, /^ {2}-log-level value\n\s+.*\(default INFO\)$/m, `usage was:\n${/^ {2}-log-level.*\n.*$/m.exec(r.stderr)?.[0]}`);
  assert.match(r.stderr, /^ {2}-tls-min-version value\n\s+.*\(default tls1\.0\)$/m, `usage was:\n${/^ {2}-tls-min-version.*\n.*$/m.exec(r.stderr)?.[0]}`);
});

test('an unknown flag prints "flag provided but not defined: -nope" and usage, exit 2', async () => {
  for (const flag of ['-nope', '--nope', '--nope=1']) {
    const r = await runToExit(BIN, [flag]);
    assert.equal({ code: r.code, signal: r.signal }, { code: 2, signal: null }, flag);
    assert.ok(r.stderr.startsWith('flag provided but not defined: -nope\n'), `${flag}: stderr ${JSON.stringify(r.stderr.slice(0, 120))}`);
    assert.match(r.stderr, /Usage of nsqd:/);
  }
});

test('a bad flag value or a missing argument exits 2 with Go flag messages', async () => {
  let r = await runToExit(BIN, ['--mem-queue-size=abc']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('invalid value "abc" for flag -mem-queue-size: parse error\n'), JSON.stringify(r.stderr.slice(0, 120)));
  r = await runToExit(BIN, ['-mem-queue-size']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('flag needs an argument: -mem-queue-size\n'), JSON.stringify(r.stderr.slice(0, 120)));
  r = await runToExit(BIN, ['--log-level=loud']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith(`invalid value "loud" for flag -log-level: invalid log level 'loud' (debug, info, warn, error, fatal)\n`), JSON.stringify(r.stderr.slice(0, 160)));
});

// ---------------------------------------------------------------------------------------------
// Start-up, logging, talking to the daemon

test('starts on 127.0.0.1:0, logs NSQ-format listening lines, and serves TCP and HTTP on those ports', async () => {
  const r = await startBin();
  // Every log line is in NSQ's text format with the default "[nsqd] " prefix.
  for (const line of r.proc.stderr.split('\n').filter((l) => l !== '')) {
    assert.match(line, new RegExp(String.raw`^\[nsqd\] ${LOG_TIME} (DEBUG|INFO|WARNING|ERROR|FATAL): `), `log line: ${line}`);
  }
  assert.match(r.proc.stderr, new RegExp(String.raw`^\[nsqd\] ${LOG_TIME} INFO: nsqd v1\.3\.0 \(built w/.+\)$`, 'm'));

  const ping = await http('GET', `${r.url}/ping`);
  assert.equal([ping.status, ping.text], [200, 'OK']);
  const info = JSON.parse((await http('GET', `${r.url}/info`)).text) as { version: string; tcp_port: number; http_port: number };
  assert.is(info.version, '1.3.0');
  assert.is(info.tcp_port, r.tcpPort);
  assert.is(info.http_port, r.httpPort);

  const c = await WireConn.open(r.tcpPort);
  await c.pub('cli_topic', 'hello from the binary');
  c.close();
  const stats = JSON.parse((await http('GET', `${r.url}/stats?format=json&topic=cli_topic`)).text) as { topics: { topic_name: string; message_count: number }[] };
  assert.equal(stats.topics.map((t) => [t.topic_name, t.message_count]), [['cli_topic', 1]]);
  await stop(r);
});

test('Go flag syntax: -flag value, -flag=value, --flag value, --flag=value, bools as -flag=false', async () => {
  const r = await startBin([
    '-mem-queue-size', '5',
    '-max-rdy-count=7',
    '--max-msg-size', '4096',
    '--max-body-size=8192',
    '-snappy=false',
    '--deflate=false',
    '-msg-timeout', '2.5s',
  ]);
  assert.is(await config(r, 'mem_queue_size'), '5');
  assert.is(await config(r, 'max_rdy_count'), '7');
  assert.is(await config(r, 'max_msg_size'), '4096');
  assert.is(await config(r, 'max_body_size'), '8192');
  assert.is(await config(r, 'snappy'), 'false');
  assert.is(await config(r, 'deflate'), 'false');
  assert.is(await config(r, 'msg_timeout'), '2500000000');
  await stop(r);
});

test('durations in GET /config come out as integer nanoseconds', async () => {
  let r = await startBin();
  assert.is(await config(r, 'msg_timeout'), '60000000000');
  assert.is(await config(r, 'max_msg_timeout'), '900000000000');
  assert.is(await config(r, 'max_req_timeout'), '3600000000000');
  assert.is(await config(r, 'output_buffer_timeout'), '250000000');
  assert.is(await config(r, 'min_output_buffer_timeout'), '25000000');
  assert.is(await config(r, 'sync_timeout'), '2000000000');
  await stop(r);
  r = await startBin(['--msg-timeout=1m30s', '--max-msg-timeout', '1h', '--output-buffer-timeout=100ms']);
  assert.is(await config(r, 'msg_timeout'), '90000000000');
  assert.is(await config(r, 'max_msg_timeout'), '3600000000000');
  assert.is(await config(r, 'output_buffer_timeout'), '100000000');
  await stop(r);
});

test('--lookupd-tcp-address may be given twice; both show in GET /config/nsqlookupd_tcp_addresses', async () => {
  // Closed loopback ports: nsqd may log connection failures, but the option must hold both.
  const a = await freePort();
  const b = await freePort();
  const r = await startBin([`--lookupd-tcp-address=127.0.0.1:${a}`, '-lookupd-tcp-address', `127.0.0.1:${b}`]);
  assert.equal(JSON.parse(await config(r, 'nsqlookupd_tcp_addresses')), [`127.0.0.1:${a}`, `127.0.0.1:${b}`]);
  await stop(r);
});

test('--config TOML: file values apply, and a command-line flag overrides the file', async () => {
  const d = dir();
  const dataPath = join(d, 'data-from-config');
  const cfg = join(d, 'nsqd.cfg');
  writeFileSync(
    cfg,
    [
      '# nsqd config used by cli.test.ts',
      'http_address = "127.0.0.1:0"',
      `data_path = ${JSON.stringify(dataPath)}`,
      'mem_queue_size = 123',
      'max_rdy_count = 50',
      'msg_timeout = "30s"',
      'max_req_timeout = 5000', // integer durations in a config file are milliseconds
      'nsqlookupd_tcp_addresses = ["127.0.0.1:1", "127.0.0.1:2"]',
      'id = 77',
      'log_prefix = "[cfg] "',
      '',
    ].join('\n'),
  );
  const proc = spawnNsqd([`--config=${cfg}`, '--tcp-address', '127.0.0.1:0', '--max-rdy-count=60', '--lookupd-tcp-address=127.0.0.1:3']);
  const httpm = await proc.waitForOutput(listeningLine('HTTP', '[cfg] '));
  const r = { url: `http://127.0.0.1:${httpm[1]}` };
  assert.is(await config(r, 'mem_queue_size'), '123', 'from the file');
  assert.is(await config(r, 'max_rdy_count'), '60', 'flag beats file');
  assert.is(await config(r, 'msg_timeout'), '30000000000', 'duration string from the file');
  assert.is(await config(r, 'max_req_timeout'), '5000000000', 'integer ms from the file');
  assert.is(await config(r, 'data_path'), dataPath);
  assert.is(await config(r, 'id'), '77', 'node id from config key "id"');
  assert.equal(JSON.parse(await config(r, 'nsqlookupd_tcp_addresses')), ['127.0.0.1:3'], 'repeatable flag replaces the file list');
  await waitFor(() => existsSync(join(dataPath, 'nsqd.dat')), 5000, 'nsqd.dat in the data_path from the config file');
  proc.signal('SIGTERM');
  assert.equal(await proc.exited(), { code: 0, signal: null });
});

test('--config pointing at a missing or broken file exits non-zero', async () => {
  const d = dir();
  let r = await runToExit(BIN, [`--config=${join(d, 'missing.cfg')}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${d}`]);
  assert.ok(r.code !== 0 && r.code !== null, `missing file: exit ${r.code}`);
  const bad = join(d, 'bad.cfg');
  writeFileSync(bad, 'mem_queue_size = = 3\n');
  r = await runToExit(BIN, [`--config=${bad}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${d}`]);
  assert.ok(r.code !== 0 && r.code !== null, `broken file: exit ${r.code}`);
});

test('a missing config file is Go\'s lg.LogFatal line; --version is answered before the file is read', async () => {
  const d = dir();
  const missing = join(d, 'missing.cfg');
  let r = await runToExit(BIN, [`--config=${missing}`]);
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`^\\[nsqd\\] ${LOG_TIME} FATAL: failed to load config file ${missing} - open ${missing}: no such file or directory\n$`));
  r = await runToExit(BIN, ['--version', `--config=${missing}`]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^nsqd v1\.3\.0 /);
});

test('TLS flags as Go parses them: --tls-required lower-cased (TCP-HTTPS), an empty --tls-min-version keeps the default', async () => {
  const certs = join(repoRoot, 'test', 'fixtures', 'certs');
  const r = await startBin([`--tls-cert=${join(certs, 'server.pem')}`, `--tls-key=${join(certs, 'server.key')}`, '--tls-required=TCP-HTTPS', '--tls-min-version=']);
  assert.is(await config(r, 'tls_required'), '1', 'TLSRequiredExceptHTTP');
  assert.is(await config(r, 'tls_min_version'), String(0x0301), 'tls1.0, the default');
  await stop(r);
  const bad = await runToExit(BIN, ['--tls-required=YES']);
  assert.is(bad.code, 2);
  assert.ok(bad.stderr.startsWith('invalid boolean value "YES" for -tls-required: strconv.ParseBool: parsing "yes": invalid syntax\n'), bad.stderr);
});

test('config.Validate as nsqd\'s: a bad log_level, tls_required or tls_min_version in the file is fatal even when a flag sets it; lists split from a string are trimmed; integers past 2^53 are taken', async () => {
  const d = dir();
  const cfg = join(d, 'nsqd.cfg');
  for (const [line, shown] of [['log_level = "loud"', 'log_level loud'], ['tls_required = "maybe"', 'tls_required maybe'], ['tls_min_version = "tls9"', 'tls_min_version tls9'], ['log_level = 1', 'log_level 1']] as const) {
    writeFileSync(cfg, `${line}\n`);
    const r = await runToExit(BIN, [`--config=${cfg}`, '--log-level=warn', '--tls-required=false', '--tls-min-version=tls1.2', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${d}`]);
    assert.is(r.code, 1, line);
    assert.match(r.stderr, new RegExp(`^\\[nsqd\\] ${LOG_TIME} FATAL: failed parsing ${shown.replace('.', '\\.')}\n$`), line);
  }
  writeFileSync(cfg, 'e2e_processing_latency_percentiles = "0.5, 0.99"\nmax_bytes_per_file = 9007199254740993\n');
  const r = await startBin([`--config=${cfg}`]);
  assert.equal(JSON.parse(await config(r, 'e2e_processing_latency_percentiles')), [0.5, 0.99]);
  assert.ok(Number(await config(r, 'max_bytes_per_file')) > 9e15);
  await stop(r);
});

test('e2e percentiles: given as flags they are sorted highest first (Go FloatArray); from a config file they keep their order', async () => {
  const d = dir();
  const cfg = join(d, 'nsqd.cfg');
  writeFileSync(cfg, 'e2e_processing_latency_percentiles = [0.5, 0.99]\n');
  let r = await startBin([`--config=${cfg}`]);
  assert.equal(JSON.parse(await config(r, 'e2e_processing_latency_percentiles')), [0.5, 0.99]);
  await stop(r);
  r = await startBin(['--e2e-processing-latency-percentile=0.5', '--e2e-processing-latency-percentile=0.99,0.75']);
  assert.equal(JSON.parse(await config(r, 'e2e_processing_latency_percentiles')), [0.99, 0.75, 0.5]);
  await stop(r);
});

test('a percentile that is not a number ends nsqd as FloatArray.Set does: log.Fatalf "Could not parse: abc", exit 1, no usage', async () => {
  const r = await runToExit(BIN, ['--e2e-processing-latency-percentile=0.5,abc']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Could not parse: abc\n$/);
  const range = await runToExit(BIN, ['--e2e-processing-latency-percentile', '1.5']);
  assert.is(range.code, 1);
  assert.match(range.stderr, /FATAL: failed to instantiate nsqd - invalid E2E processing latency percentile: 1\.5\n/);
});

test('--log-level=error suppresses INFO lines; GET /config/log_level is 4', async () => {
  const tcpPort = await freePort();
  const httpPort = await freePort();
  const proc = spawnNsqd([`--tcp-address=127.0.0.1:${tcpPort}`, `--http-address=127.0.0.1:${httpPort}`, `--data-path=${dir()}`, '--log-level=error']);
  const url = `http://127.0.0.1:${httpPort}`;
  await waitFor(async () => {
    if (proc.exitStatus !== null) throw new Error(`nsqd exited: ${proc.stderr}`);
    try {
      return (await http('GET', `${url}/ping`)).status === 200;
    } catch {
      return false;
    }
  }, 10_000, 'nsqd /ping');
  assert.is(await config({ url }, 'log_level'), '4');
  const c = await WireConn.open(tcpPort);
  await c.pub('quiet', 'x'); // would log "TOPIC(quiet): created" at INFO
  c.close();
  proc.signal('SIGTERM');
  assert.equal(await proc.exited(), { code: 0, signal: null });
  assert.not.match(proc.stderr, /INFO:/, `stderr: ${proc.stderr}`);
});

test("--log-prefix='[x] ' starts every log line with [x]", async () => {
  const r = await startBin(['--log-prefix=[x] '], dir(), '[x] ');
  assert.is((await http('GET', `${r.url}/ping`)).text, 'OK');
  for (const line of r.proc.stderr.split('\n').filter((l) => l !== '')) {
    assert.ok(line.startsWith('[x] '), `log line without prefix: ${line}`);
  }
  assert.not.match(r.proc.stderr, /\[nsqd\]/);
  await stop(r);
});

// ---------------------------------------------------------------------------------------------
// Start-up failures

test('--node-id=2000 exits non-zero with "--node-id must be [0,1024)" on stderr', async () => {
  for (const id of ['2000', '1024', '-1']) {
    const r = await runToExit(BIN, [`--node-id=${id}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dir()}`]);
    assert.ok(r.code !== 0 && r.code !== null, `--node-id=${id}: exit ${r.code}`);
    assert.match(r.stderr, '--node-id must be [0,1024)', `--node-id=${id}: ${r.stderr}`);
  }
});

test('--max-deflate-level=10 (or 0) exits non-zero with "--max-deflate-level must be [1,9]"', async () => {
  for (const lvl of ['10', '0']) {
    const r = await runToExit(BIN, [`--max-deflate-level=${lvl}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dir()}`]);
    assert.ok(r.code !== 0 && r.code !== null, `--max-deflate-level=${lvl}: exit ${r.code}`);
    assert.match(r.stderr, '--max-deflate-level must be [1,9]', `--max-deflate-level=${lvl}: ${r.stderr}`);
  }
});

test('a wildcard address listens dual-stack and is printed as Go prints it ([::]:port)', async () => {
  const p = spawnNsqd(['--tcp-address=0.0.0.0:0', '--http-address=:0', `--data-path=${dir()}`]);
  const tcp = await p.waitForOutput(/INFO: TCP: listening on (\[::\]|0\.0\.0\.0):(\d+)$/m);
  const http4 = await p.waitForOutput(/INFO: HTTP: listening on (\[::\]|0\.0\.0\.0):(\d+)$/m);
  // Where the host has IPv6 ([::]), IPv4 clients are served too, as by Go's dual-stack listener.
  const res = await http('GET', `http://127.0.0.1:${http4[2]}/ping`);
  assert.is(res.text, 'OK');
  const c = await WireConn.open(Number(tcp[2]));
  await c.sub('dual_t', 'c');
  // An IPv4 client of the dual-stack listener is named as Go names it, not ::ffff:127.0.0.1.
  const stats = JSON.parse((await http('GET', `http://127.0.0.1:${http4[2]}/stats?format=json`)).text) as { topics: { channels: { clients: { remote_address: string; client_id: string; hostname: string }[] }[] }[] };
  const client = stats.topics[0]!.channels[0]!.clients[0]!;
  assert.match(client.remote_address, /^127\.0\.0\.1:\d+$/);
  assert.is(client.client_id, '127.0.0.1');
  assert.is(client.hostname, '127.0.0.1');
  assert.ok(p.stderr.includes(`TCP: new client(${client.remote_address})`), p.stderr);
  c.close();
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null }, p.stderr);
});

test('a TCP or HTTP port already in use makes nsqd exit 1 with nsqd\'s fatal line', async () => {
  const busy: Server = createServer();
  await new Promise<void>((res) => busy.listen(0, '127.0.0.1', () => res()));
  const port = (busy.address() as { port: number }).port;
  try {
    // nsqd.New's listen error under main's logFatal, with Go's net.Listen text.
    let r = await runToExit(BIN, [`--tcp-address=127.0.0.1:${port}`, '--http-address=127.0.0.1:0', `--data-path=${dir()}`]);
    assert.is(r.code, 1, `tcp in use: exit ${r.code}`);
    assert.match(r.stderr, new RegExp(`FATAL: failed to instantiate nsqd - listen \\(127\\.0\\.0\\.1:${port}\\) failed - listen tcp 127\\.0\\.0\\.1:${port}: bind: address already in use\n`), r.stderr);
    r = await runToExit(BIN, ['--tcp-address=127.0.0.1:0', `--http-address=127.0.0.1:${port}`, `--data-path=${dir()}`]);
    assert.is(r.code, 1, `http in use: exit ${r.code}`);
    assert.match(r.stderr, new RegExp(`FATAL: failed to instantiate nsqd - listen \\(127\\.0\\.0\\.1:${port}\\) failed - listen tcp 127\\.0\\.0\\.1:${port}: bind: address already in use\n`), r.stderr);
  } finally {
    await new Promise<void>((res) => busy.close(() => res()));
  }
});

// Go 1.3.0's nsqd.New wraps the dirlock error as "--data-path=<dir> in use (possibly by another
// instance of nsqd)"; the spec's "possibly in use by ..." paraphrases dirlock's inner text.
test('a second nsqd on the same --data-path fails: "in use (possibly by another instance of nsqd)"', async () => {
  const first = await startBin();
  const second = spawnNsqd(['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${first.dataPath}`]);
  const outcome = await Promise.race([
    second.exited().then((st) => ({ exited: st })),
    second.waitForOutput(listeningLine('HTTP')).then(() => ({ exited: null }), () => ({ exited: null })),
  ]);
  const st = outcome.exited;
  if (st === null) {
    await second.kill();
    await stop(first);
    assert.unreachable(`a second nsqd started on the data path of a running one and is serving; stderr:\n${second.stderr}`);
    return;
  }
  assert.ok(st.code !== 0 && st.code !== null, `second instance exit ${JSON.stringify(st)}`);
  assert.match(second.stderr, `--data-path=${first.dataPath} in use (possibly by another instance of nsqd)`);
  await stop(first);
});

// ---------------------------------------------------------------------------------------------
// Signals

interface MetaTopic {
  name: string;
  paused: boolean;
  channels: { name: string; paused: boolean }[] | null;
}

async function createTopology(r: Running): Promise<void> {
  for (const [path, want] of [
    ['/topic/create?topic=sig_topic', 200],
    ['/channel/create?topic=sig_topic&channel=sig_channel', 200],
    ['/channel/create?topic=sig_topic&channel=paused_channel', 200],
    ['/channel/pause?topic=sig_topic&channel=paused_channel', 200],
    ['/topic/create?topic=lonely_topic', 200],
  ] as const) {
    const res = await http('POST', `${r.url}${path}`);
    assert.is(res.status, want, `POST ${path}: ${res.status} ${res.text}`);
  }
}

function readMetadata(dataPath: string): { topics: MetaTopic[] | null; version: string } {
  return JSON.parse(readFileSync(join(dataPath, 'nsqd.dat'), 'utf8')) as { topics: MetaTopic[] | null; version: string };
}

function assertTopology(meta: { topics: MetaTopic[] | null; version: string }): void {
  assert.is(meta.version, '1.3.0');
  const topics = [...(meta.topics ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  assert.equal(topics.map((t) => [t.name, t.paused]), [['lonely_topic', false], ['sig_topic', false]]);
  assert.is(topics[0]!.channels, null, 'a topic without channels has "channels":null');
  const chans = [...(topics[1]!.channels ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  assert.equal(chans, [{ name: 'paused_channel', paused: true }, { name: 'sig_channel', paused: false }]);
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  test(`${sig} shuts down gracefully with nsqd's Exit log lines: exit 0, nsqd.dat lists topics and channels`, async () => {
    const r = await startBin();
    await createTopology(r);
    // A connected consumer must not keep the process alive.
    const c = await WireConn.open(r.tcpPort);
    await c.sub('sig_topic', 'sig_channel');
    c.cmd('RDY 1');
    // What is left at exit is flushed to disk and counted: one in flight, one in memory per channel.
    assert.is((await http('POST', `${r.url}/mpub?topic=sig_topic`, 'a\nb')).status, 200);
    assert.is((await http('POST', `${r.url}/pub?topic=lonely_topic`, 'x')).status, 200);
    await c.readMessage();
    await stop(r, sig);
    c.close();
    const exitLines = r.proc.stderr.split('\n').map((l) => l.replace(/^\[nsqd\] \S+ \S+ /, ''));
    const at = (line: string): number => exitLines.indexOf(line);
    const order = ['INFO: NSQ: closing topics', 'INFO: TOPIC(sig_topic): closing', 'INFO: CHANNEL(sig_channel): closing', 'INFO: NSQ: stopping subsystems', 'INFO: NSQ: bye'];
    for (const l of order) assert.ok(at(l) >= 0, `${l} in\n${r.proc.stderr}`);
    assert.equal([...order].sort((x, y) => at(x) - at(y)), order);
    assert.ok(exitLines.includes('INFO: CHANNEL(sig_channel): flushing 1 memory 1 in-flight 0 deferred messages to backend'), r.proc.stderr);
    assert.ok(exitLines.includes('INFO: CHANNEL(paused_channel): flushing 2 memory 0 in-flight 0 deferred messages to backend'), r.proc.stderr);
    assert.ok(exitLines.includes('INFO: TOPIC(lonely_topic): flushing 1 memory messages to backend'), r.proc.stderr);
    assert.ok(exitLines.includes(`INFO: TCP: closing 127.0.0.1:${r.tcpPort}`), r.proc.stderr);
    assert.ok(exitLines.includes(`INFO: HTTP: closing 127.0.0.1:${r.httpPort}`), r.proc.stderr);
    assertTopology(readMetadata(r.dataPath));
    const raw = readFileSync(join(r.dataPath, 'nsqd.dat'), 'utf8');
    assert.ok(raw.startsWith('{"topics":['), `compact JSON with topics first: ${raw}`);
  });
}

test('a restarted nsqd re-creates topics and channels (with paused state) from nsqd.dat', async () => {
  const first = await startBin();
  await createTopology(first);
  await stop(first);
  const second = await startBin([], first.dataPath);
  const stats = JSON.parse((await http('GET', `${second.url}/stats?format=json`)).text) as {
    topics: { topic_name: string; channels: { channel_name: string; paused: boolean }[] }[];
  };
  assert.equal(
    stats.topics.map((t) => [t.topic_name, t.channels.map((c) => [c.channel_name, c.paused])]),
    [['lonely_topic', []], ['sig_topic', [['paused_channel', true], ['sig_channel', false]]]],
  );
  await stop(second);
});

test('a second SIGINT during shutdown is ignored, as by Go nsqd: the graceful close finishes (exit 0) and every message is on disk', async () => {
  const r = await startBin(['--mem-queue-size=1000000']);
  await createTopology(r);
  // Make shutdown do some work: messages in memory are written to the backend on close.
  const body = 'x'.repeat(512);
  const batch = Array.from({ length: 5000 }, () => body).join('\n');
  for (let i = 0; i < 10; i++) {
    const res = await http('POST', `${r.url}/mpub?topic=sig_topic`, batch);
    assert.is(res.status, 200, res.text);
  }
  r.proc.signal('SIGINT');
  await r.proc.waitForOutput(/NSQ: closing topics/).catch(() => undefined);
  r.proc.signal('SIGINT');
  r.proc.signal('SIGTERM');
  assert.equal(await r.proc.exited(60_000), { code: 0, signal: null }, r.proc.stderr);
  const again = await startBin([], r.dataPath);
  const stats = JSON.parse((await http('GET', `${again.url}/stats?format=json&topic=sig_topic`)).text) as { topics: { depth: number; channels: { channel_name: string; depth: number }[] }[] };
  assert.equal(stats.topics[0]!.channels.map((c) => [c.channel_name, c.depth]), [['paused_channel', 50_000], ['sig_channel', 50_000]]);
  await stop(again);
});

test.run();
