// The real `nsqlookupd` binary (dist/apps/nsqlookupd.js): Go flag syntax and exit codes, usage
// text, --version, --config TOML (flag > config file > default, integer durations as ms), the
// contrib example, NSQ's log format and level filter, start-up failure, SIGTERM/SIGINT.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §0 and §1.1.
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { http, tempDir, waitFor } from '../helpers/daemons.js';
import { LOG_TIME, listeningLine } from '../helpers/log-lines.js';
import { identifyBody, LookupConn } from '../helpers/lookup-wire.js';
import { freePort, Proc, repoRoot, requireBuilt, runToExit } from '../helpers/proc.js';

// Resolved at load time: a missing build fails this file at once with a clear message.
const BIN = requireBuilt('nsqlookupd');
const procs: Proc[] = [];
const dirs: string[] = [];

test.after(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Running {
  proc: Proc;
  tcpPort: number;
  httpPort: number;
  url: string;
}

/** Start the binary (on ephemeral loopback ports unless the args say otherwise) and read its ports from the log. */
async function startBin(args: readonly string[], prefix = '[nsqlookupd] ', ports = true): Promise<Running> {
  const proc = new Proc(BIN, [...(ports ? ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'] : []), ...args]);
  procs.push(proc);
  const tcp = await proc.waitForOutput(listeningLine('TCP', prefix));
  const httpm = await proc.waitForOutput(listeningLine('HTTP', prefix));
  return { proc, tcpPort: Number(tcp[1]), httpPort: Number(httpm[1]), url: `http://127.0.0.1:${httpm[1]}` };
}

async function stop(r: Running, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  r.proc.signal(sig);
  const st = await r.proc.exited();
  assert.equal(st, { code: 0, signal: null }, `exit after ${sig}; stderr:\n${r.proc.stderr}`);
}

function configFile(text: string): string {
  const dir = tempDir('nsq-ts-lookupd-bin-');
  dirs.push(dir);
  const path = join(dir, 'nsqlookupd.cfg');
  writeFileSync(path, text);
  return path;
}

/** The broadcast address the daemon reports in its IDENTIFY reply. */
async function identifyReply(r: Running): Promise<Record<string, unknown>> {
  const c = await LookupConn.open(r.tcpPort);
  try {
    return JSON.parse(await c.identify(identifyBody())) as Record<string, unknown>;
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Flags that end the process at once

test('--version and -version print "nsqlookupd v1.3.0 (built w/...)" and exit 0', async () => {
  for (const flag of ['--version', '-version']) {
    const r = await runToExit(BIN, [flag]);
    assert.equal({ code: r.code, signal: r.signal }, { code: 0, signal: null }, flag);
    assert.is(r.stdout, `nsqlookupd v1.3.0 (built w/${process.version})\n`);
  }
});

test('-h prints Go-style usage with NSQ\'s flags, help texts and defaults, exit 0', async () => {
  for (const flag of ['-h', '--help', '-help']) {
    const r = await runToExit(BIN, [flag]);
    assert.equal({ code: r.code, signal: r.signal }, { code: 0, signal: null }, flag);
    const u = r.stderr;
    assert.match(u, /^Usage of nsqlookupd:\n/);
    assert.match(u, /^ {2}-tcp-address string\n\s+<addr>:<port> to listen on for TCP clients \(default "0\.0\.0\.0:4160"\)$/m);
    assert.match(u, /^ {2}-http-address string\n\s+<addr>:<port> to listen on for HTTP clients \(default "0\.0\.0\.0:4161"\)$/m);
    assert.match(u, /^ {2}-broadcast-address string\n\s+address of this lookupd node, \(default to the OS hostname\) \(default ".+"\)$/m);
    assert.match(u, /^ {2}-inactive-producer-timeout duration\n\s+.*since its last ping \(default 5m0s\)$/m);
    assert.match(u, /^ {2}-tombstone-lifetime duration\n\s+.*if registration remains \(default 45s\)$/m);
    assert.match(u, /^ {2}-log-level value\n\s+set log verbosity: debug, info, warn, error, or fatal \(default INFO\)$/m);
    assert.match(u, /^ {2}-log-prefix string\n\s+log message prefix \(default "\[nsqlookupd\] "\)$/m);
    assert.match(u, /^ {2}-config string\n\s+path to config file$/m);
    assert.match(u, /^ {2}-verbose\n\s+\[deprecated\] has no effect, use --log-level$/m);
    assert.match(u, /^ {2}-version\n\s+print version string$/m);
  }
});

test('an unknown flag exits 2 with "flag provided but not defined" and usage', async () => {
  for (const flag of ['-nope', '--nope=1', '--lookupd-tcp-address=x']) {
    const r = await runToExit(BIN, [flag]);
    assert.is(r.code, 2, flag);
    assert.match(r.stderr, /^flag provided but not defined: -(nope|lookupd-tcp-address)\nUsage of nsqlookupd:\n/);
  }
});

test('bad flag values exit 2 with Go flag messages', async () => {
  let r = await runToExit(BIN, ['--tombstone-lifetime=abc']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('invalid value "abc" for flag -tombstone-lifetime: parse error\n'), r.stderr.slice(0, 120));
  r = await runToExit(BIN, ['-log-level', 'loud']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith(`invalid value "loud" for flag -log-level: invalid log level 'loud' (debug, info, warn, error, fatal)\n`), r.stderr.slice(0, 160));
  r = await runToExit(BIN, ['-tcp-address']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('flag needs an argument: -tcp-address\n'));
});

// ---------------------------------------------------------------------------------------------
// Running

test('starts, logs in NSQ\'s format, serves TCP and HTTP, and exits 0 on SIGTERM', async () => {
  const r = await startBin(['--broadcast-address=bin-host', '-verbose']);
  assert.match(r.proc.stderr, new RegExp(String.raw`^\[nsqlookupd\] ${LOG_TIME} INFO: nsqlookupd v1\.3\.0 \(built w/.+\)$`, 'm'));
  const ping = await http('GET', `${r.url}/ping`);
  assert.equal([ping.status, ping.text], [200, 'OK']);
  const reply = await identifyReply(r);
  assert.equal([reply.broadcast_address, reply.tcp_port, reply.http_port, reply.version], ['bin-host', r.tcpPort, r.httpPort, '1.3.0']);
  await stop(r);
  for (const line of r.proc.stderr.split('\n').filter((l) => l !== '')) {
    assert.match(line, new RegExp(String.raw`^\[nsqlookupd\] ${LOG_TIME} (DEBUG|INFO|WARNING|ERROR|FATAL): `), `log line: ${line}`);
  }
  assert.match(r.proc.stderr, /INFO: TCP: closing 127\.0\.0\.1:\d+$/m);
});

test('SIGINT also exits 0', async () => {
  await stop(await startBin([]), 'SIGINT');
});

test('--log-level=warn hides INFO lines; the prefix comes from --log-prefix', async () => {
  // No INFO line says when it listens, so it gets a port picked here and is asked for /ping.
  const httpPort = await freePort();
  const quiet = new Proc(BIN, ['--tcp-address=127.0.0.1:0', `--http-address=127.0.0.1:${httpPort}`, '--log-level=warn', '--log-prefix=[lk] ']);
  procs.push(quiet);
  await waitFor(async () => (await http('GET', `http://127.0.0.1:${httpPort}/ping`).catch(() => null))?.text === 'OK', 10_000, 'nsqlookupd answering /ping');
  assert.is(quiet.stderr, '', 'nothing below WARNING is logged');
  quiet.signal('SIGTERM');
  assert.equal(await quiet.exited(), { code: 0, signal: null });
});

test('--config TOML: config values apply, flags win, integer durations are milliseconds', async () => {
  const cfg = configFile([
    'tcp_address = "127.0.0.1:0"',
    'http_address = "127.0.0.1:0"',
    'broadcast_address = "cfg-host"',
    'log_prefix = "[cfg] "',
    'inactive_producer_timeout = 250',
    'tombstone_lifetime = "1m"',
    'unknown_key = 1',
  ].join('\n'));
  let r = await startBin([`--config=${cfg}`], '[cfg] ', false);
  assert.is((await identifyReply(r)).broadcast_address, 'cfg-host');
  // inactive_producer_timeout = 250 ms: a silent producer drops out of /lookup quickly.
  const c = await LookupConn.open(r.tcpPort);
  JSON.parse(await c.identify(identifyBody()));
  await c.ok('REGISTER cfg_t');
  assert.is(JSON.parse((await http('GET', `${r.url}/lookup?topic=cfg_t`)).text).producers.length, 1);
  await new Promise((res) => setTimeout(res, 350));
  assert.is(JSON.parse((await http('GET', `${r.url}/lookup?topic=cfg_t`)).text).producers.length, 0);
  c.close();
  await stop(r);

  // log_level from the config file: warnings only (nsqlookupd's unexpected UNREGISTER of a channel).
  const [tcpPort, httpPort] = [await freePort(), await freePort()];
  const quiet = new Proc(BIN, [`--config=${configFile(`log_prefix = "[cfg] "\nlog_level = "warn"\ntcp_address = "127.0.0.1:${tcpPort}"\nhttp_address = "127.0.0.1:${httpPort}"\n`)}`]);
  procs.push(quiet);
  await waitFor(async () => (await http('GET', `http://127.0.0.1:${httpPort}/ping`).catch(() => null))?.text === 'OK', 10_000, 'nsqlookupd answering /ping');
  const w = await LookupConn.open(tcpPort);
  JSON.parse(await w.identify(identifyBody()));
  await w.ok('REGISTER warn_t warn_c');
  await w.ok('UNREGISTER warn_t');
  w.close();
  await waitFor(() => quiet.stderr.includes('WARNING: client('), 5000, 'the warning');
  assert.not.match(quiet.stderr, / INFO: /, 'nothing below WARNING');
  assert.match(quiet.stderr, /^\[cfg\] .* WARNING: client\(.*\) unexpected UNREGISTER category:channel key:warn_t subkey:warn_c$/m);
  quiet.signal('SIGTERM');
  assert.equal(await quiet.exited(), { code: 0, signal: null });

  r = await startBin([`--config=${cfg}`, '--broadcast-address=flag-host', '--log-prefix=[flag] '], '[flag] ', false);
  assert.is((await identifyReply(r)).broadcast_address, 'flag-host');
  await stop(r);
});

test('the contrib example config loads', async () => {
  const r = await startBin([`--config=${join(repoRoot, 'contrib', 'nsqlookupd.cfg.example')}`]);
  assert.is((await http('GET', `${r.url}/ping`)).text, 'OK');
  await stop(r);
});

test('a bad config file exits 1 with a FATAL message', async () => {
  let r = await runToExit(BIN, [`--config=${configFile('log_level = "loud"')}`]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /FATAL: .*log_level.*loud/);
  r = await runToExit(BIN, [`--config=${configFile('tombstone_lifetime = "forever"')}`]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /FATAL: .*tombstone_lifetime/);
  // Go's lg.LogFatal line: prefix, log time, the os.PathError text; --version is answered first.
  r = await runToExit(BIN, ['--config=/nonexistent/nsqlookupd.cfg']);
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`^\\[nsqlookupd\\] ${LOG_TIME} FATAL: failed to load config file /nonexistent/nsqlookupd\\.cfg - open /nonexistent/nsqlookupd\\.cfg: no such file or directory\n$`));
  r = await runToExit(BIN, ['--version', '--config=/nonexistent/nsqlookupd.cfg']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `nsqlookupd v1.3.0 (built w/${process.version})\n`);
  r = await runToExit(BIN, [`--config=${configFile('tcp_address = ')}`]);
  assert.is(r.code, 1);
});

test('a port in use or a bad address is fatal at start-up (exit 1)', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
  const addr = blocker.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  try {
    let r = await runToExit(BIN, [`--tcp-address=127.0.0.1:${port}`, '--http-address=127.0.0.1:0']);
    assert.is(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(String.raw`FATAL: failed to instantiate nsqlookupd - listen \(127\.0\.0\.1:${port}\) failed - listen tcp 127\.0\.0\.1:${port}: bind: address already in use`),
    );
    r = await runToExit(BIN, ['--tcp-address=127.0.0.1:0', `--http-address=127.0.0.1:${port}`]);
    assert.is(r.code, 1);
    assert.match(r.stderr, new RegExp(String.raw`FATAL: failed to instantiate nsqlookupd - listen \(127\.0\.0\.1:${port}\) failed - listen tcp 127\.0\.0\.1:${port}: bind: address already in use`));
    r = await runToExit(BIN, ['--tcp-address=nocolon', '--http-address=127.0.0.1:0']);
    assert.is(r.code, 1);
    assert.match(r.stderr, /FATAL: failed to instantiate nsqlookupd - listen \(nocolon\) failed - listen tcp: address nocolon: missing port in address/);
  } finally {
    blocker.close();
  }
});

test.run();
