/**
 * Differential check against Go's nsqd: the same TCP and HTTP inputs go to our nsqd and to a Go
 * nsqd binary started with the same flags, and their answers are compared after masking what
 * must differ (message IDs and timestamps, start times, uptimes, memory figures, ports).
 *
 * Not part of `npm test` (CI has no Go nsqd). Run it by hand where a Go nsqd is at hand:
 *
 *   npm run compile
 *   node --import tsx test/go-diff/run.ts --go=/path/to/go/nsqd [--filter=substring] [--show]
 *        [--fuzz=N [--seed=S]]
 *
 * Each scenario runs on fresh connections to both daemons at once; HTTP scenarios run in order,
 * since they change the daemons' state the same way. --fuzz adds N random conversations
 * (scenarios.ts tcpFuzzScenarios; --seed reproduces them), run a few at a time, before the
 * HTTP scenarios, whose /stats answers then also compare what they left, and N random HTTP
 * requests (httpFuzzScenarios) after them. Prints every difference and ends with
 * `N same, N differ`; exits 1 when any differ. --show prints every transcript.
 *
 * A step's answer is what arrives until the line has been quiet for 60 ms (300-400 ms where a
 * flush timer or an auth round trip is awaited), so run it on an otherwise idle machine: under
 * load a late answer lands in the next step's and shows as a difference. After random
 * conversations, /stats can also differ by a race neither side controls: a conversation that
 * ends right after RDY may or may not have been sent a message before its close was seen, and
 * if it was, that message later times out (timeout_count).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { constants as zconstants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../../src/protocol/snappy-stream.js';
import { freePort, repoRoot } from '../helpers/proc.js';
import { argvOf, openConn, QuietConn, sleep, startDaemon, stopDaemon, waitUntil, type Daemon } from './common.js';
import { authAnswer, authScenarios, httpFuzzScenarios, httpScenarios, liveClients, tcpFuzzScenarios, tcpScenarios, tlsMinScenarios, tlsScenarios, type HttpScenario, type Step, type TcpScenario } from './scenarios.js';

/**
 * Error texts nsqd 1.3.0 words differently from the 1.2.x nsqds this was run against (NSQ's
 * sources of that cycle capitalise this one; shared/spec, from 1.3.0, has it lower-case): an
 * answer that matches ours once rewritten is counted apart, not as a difference.
 */
const V13_WORDING: [string, string][] = [['E_INVALID Invalid Message ID', 'E_INVALID invalid message ID']];

/** Random conversations run at once (each on its own topics). */
const FUZZ_BATCH = 8;

const { values } = parseArgs({
  options: {
    go: { type: 'string', default: process.env.GO_NSQD ?? '' },
    filter: { type: 'string', default: '' },
    show: { type: 'boolean', default: false },
    fuzz: { type: 'string', default: '0' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
  },
});
if (values.go === '') {
  process.stderr.write('usage: node --import tsx test/go-diff/run.ts --go=/path/to/go/nsqd\n');
  process.exit(2);
}

/** Flags both daemons start with (besides addresses and data path): small limits, to reach them cheaply. */
export const COMMON_FLAGS = [
  '--broadcast-address=127.0.0.1',
  '--max-msg-size=1024',
  '--max-body-size=4096',
  '--max-rdy-count=100',
  '--max-msg-timeout=60s',
  '--max-req-timeout=30s',
  // Long enough that no message handed to a closed conversation times out before /stats is compared.
  '--msg-timeout=50s',
  '--max-heartbeat-interval=20s',
  '--max-output-buffer-size=65536',
  '--max-output-buffer-timeout=5s',
  '--max-channel-consumers=3',
];

/**
 * A connection that decodes what arrives into frame descriptions and tells when the line has
 * been quiet for a while. After an IDENTIFY response that turns on TLS it continues through a
 * TLS handshake; after one that turns on deflate or snappy, what it sends is compressed and what
 * arrives is decompressed, so compressed conversations compare by content (the two servers'
 * compressed bytes legitimately differ).
 */
class Conn extends QuietConn {
  private plain = Buffer.alloc(0);
  private frames: string[] = [];
  /** After an IDENTIFY response with tls_v1: the TLS socket over this connection. */
  private tls: TLSSocket | null = null;
  /** After one with deflate or snappy: what decompresses arriving bytes and compresses sent ones. */
  private codec: { in(d: Buffer): void; out(b: Buffer): void } | null = null;
  lastId = '';

  /** The client's TLS settings for an upgrade. */
  tlsOptions: ConnectionOptions = {};

  static open(port: number): Promise<Conn> {
    return openConn(port, (s) => new Conn(s));
  }

  /** Bytes off the socket, decompressed once compression is on. */
  protected receive(d: Buffer): void {
    if (this.codec !== null) this.codec.in(d);
    else this.decode(d);
  }

  private decode(d: Buffer): void {
    this.plain = Buffer.concat([this.plain, d]);
    while (this.plain.length >= 4) {
      const size = this.plain.readInt32BE(0);
      if (size < 4 || this.plain.length < 4 + size) break;
      const type = this.plain.readInt32BE(4);
      const data = this.plain.subarray(8, 4 + size);
      this.plain = this.plain.subarray(4 + size);
      if (type === 0) {
        this.frames.push(`R ${describeText(data)}`);
        if (this.codec === null && this.tls === null && data[0] === 0x7b) this.maybeUpgrade(data);
      } else if (type === 1) this.frames.push(`E ${data.toString('latin1').replace(/\b[0-9a-f]{16}\b/g, '<id>')}`);
      else if (type === 2 && data.length >= 26) {
        this.lastId = data.subarray(10, 26).toString('latin1');
        this.frames.push(`M attempts=${data.readUInt16BE(8)} body=${JSON.stringify(data.subarray(26).toString('latin1'))}`);
      } else this.frames.push(`? type=${type} ${data.toString('hex')}`);
    }
  }

  /**
   * After an IDENTIFY response turning on TLS, the client starts its handshake (and then reads
   * through TLS); one turning on compression makes the rest of the stream compressed.
   */
  private maybeUpgrade(json: Buffer): void {
    let o: { tls_v1?: boolean; deflate?: boolean; deflate_level?: number; snappy?: boolean };
    try {
      o = JSON.parse(json.toString()) as typeof o;
    } catch {
      return;
    }
    if (o.tls_v1 === true) {
      // (Compression after TLS is not followed: no scenario asks for both.)
      const tls = tlsConnect({ ...this.tlsOptions, socket: this.socket, rejectUnauthorized: false });
      this.tls = tls;
      // Which version and suite the server chose are part of its answer.
      tls.once('secureConnect', () => this.frames.push(`<tls ${tls.getProtocol() ?? ''} ${tls.getCipher().standardName}>`));
      tls.on('data', (d: Buffer) => {
        this.touch();
        this.decode(d);
      });
      tls.on('error', (e) => this.frames.push(`<tls error: ${e.message.split('\n')[0]!.replace(/^[0-9A-F]+:error:/, '')}>`));
      return;
    }
    if (o.deflate === true) {
      const inflate = createInflateRaw();
      inflate.on('data', (b: Buffer) => this.decode(b));
      inflate.on('error', (e) => this.frames.push(`<inflate error: ${e.message}>`));
      const deflate = createDeflateRaw({ level: o.deflate_level ?? 6 });
      deflate.on('data', (b: Buffer) => this.socket.write(b));
      this.codec = {
        in: (d) => inflate.write(d),
        out: (b) => {
          deflate.write(b);
          deflate.flush(zconstants.Z_SYNC_FLUSH);
        },
      };
    } else if (o.snappy === true) {
      const dec = new SnappyFrameDecoder();
      const enc = new SnappyFrameEncoder();
      this.codec = {
        in: (d) => {
          const out = dec.push(d);
          if (out instanceof Error) this.frames.push(`<snappy error: ${out.message}>`);
          else for (const b of out) this.decode(b);
        },
        out: (b) => this.socket.write(enc.encode(b)),
      };
    } else return;
    // What arrived after the response is already compressed.
    const rest = this.plain;
    this.plain = Buffer.alloc(0);
    if (rest.length > 0) this.codec.in(rest);
  }

  /** Send bytes, compressed when compression is on. */
  send(b: Buffer): void {
    if (this.tls !== null) this.tls.write(b);
    else if (this.codec !== null) this.codec.out(b);
    else this.socket.write(b);
  }

  /** The frames received since the last call, described without IDs or timestamps. */
  take(): string[] {
    const out = this.frames;
    this.frames = [];
    if (this.plain.length > 0 && this.closed) out.push(`partial ${this.plain.subarray(0, 64).toString('hex')}`);
    if (this.closed) out.push('<closed>');
    return out;
  }
}

/** A response frame's text; an IDENTIFY response's JSON with its volatile values masked. */
function describeText(data: Buffer): string {
  const s = data.toString('latin1');
  if (s.startsWith('{')) {
    try {
      return JSON.stringify(maskJson(JSON.parse(s)));
    } catch {
      return s;
    }
  }
  return s;
}

function stepBytes(step: Exclude<Step, number>, conn: Conn): Buffer {
  if (typeof step === 'function') return step(conn.lastId);
  return typeof step === 'string' ? Buffer.from(step, 'latin1') : step;
}

async function runTcp(d: Daemon, sc: TcpScenario, keep: Conn[] | null = null): Promise<string[]> {
  const conn = await Conn.open(d.tcpPort);
  if (sc.tls !== undefined) conn.tlsOptions = sc.tls;
  const out: string[] = [];
  try {
    for (const step of sc.steps) {
      if (conn.closed) break;
      if (typeof step === 'number') {
        await sleep(step);
        continue;
      }
      conn.send(stepBytes(step, conn));
      await conn.settle(sc.quietMs ?? 60);
      out.push(conn.take().join(' | '));
    }
  } finally {
    if (keep !== null) keep.push(conn);
    else conn.socket.destroy();
  }
  return out;
}

/** Values that differ between any two daemons, masked in HTTP bodies. */
const VOLATILE_KEYS = new Set(['version', 'start_time', 'uptime', 'uptime_seconds', 'hostname', 'mem', 'memory', 'message_bytes', 'connect_ts', 'last_update', 'remote_address', 'pid', 'tcp_port', 'http_port', 'https_port']);

function maskJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(maskJson);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // nsq-ts adds `native` (which backend runs) to /info and /stats.
      if (k === 'native') continue;
      o[k] = VOLATILE_KEYS.has(k) ? '<masked>' : maskJson(x);
      // Go lists clients, and a client's publish counts, from maps, so in no particular order.
      if ((k === 'producers' || k === 'clients' || k === 'pub_counts') && Array.isArray(o[k])) (o[k] as unknown[]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    }
    return o;
  }
  return v;
}

function maskPorts(s: string, d: Daemon): string {
  return s.replaceAll(String(d.tcpPort), '<tcp>').replaceAll(String(d.httpPort), '<http>');
}

/** A text body (/stats in text) with its volatile parts masked. */
function maskText(s: string, d: Daemon): string {
  return maskPorts(s, d)
    .replace(/^nsqd v\S+ \(built w\/[^)]*\)/m, 'nsqd v<version> (built w/<runtime>)')
    .replace(/uptime:? [^\n]*/g, 'uptime <masked>')
    .replace(/^(\s+(?:heap|gc|next)_\w+\s+)\d+$/gm, '$1<n>')
    .replace(/start_time[^\n]*/g, 'start_time <masked>')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g, '<time>')
    // A client line's address carries its own port.
    .replace(/^(\s+\[V2 [^\]:]+):\d+/gm, '$1:<port>')
    .replace(/connected: \S+/g, 'connected: <masked>')
    // Go lists the producers from a map.
    .replace(/(Producers:\n)((?:\s+\[V2 [^\n]*\n)+)/, (_m, head: string, lines: string) => head + lines.split('\n').filter((l) => l !== '').sort().join('\n') + '\n');
}

async function runHttp(d: Daemon, sc: HttpScenario): Promise<string> {
  const init: RequestInit = { method: sc.method, headers: sc.headers ?? {}, redirect: 'manual' };
  if (sc.body !== undefined) init.body = typeof sc.body === 'string' ? sc.body : new Uint8Array(sc.body);
  const r = await fetch(`http://127.0.0.1:${d.httpPort}${sc.path}`, init);
  const text = await r.text();
  let body: string;
  try {
    body = maskPorts(JSON.stringify(maskJson(JSON.parse(text))), d);
  } catch {
    body = maskText(text, d);
  }
  const headers = ['content-type', 'x-nsq-content-type', 'allow', 'location'].map((h) => `${h}=${r.headers.get(h) ?? ''}`).join(' ');
  return `${r.status} ${headers}\n${body}`;
}

async function main(): Promise<void> {
  const dirs = [mkdtempSync(join(tmpdir(), 'go-diff-ours-')), mkdtempSync(join(tmpdir(), 'go-diff-go-'))];
  const ours = await startDaemon('ours', argvOf(null, 'nsqd'), [`--data-path=${dirs[0]}`, ...COMMON_FLAGS]);
  const go = await startDaemon('go', argvOf(values.go!, 'nsqd'), [`--data-path=${dirs[1]}`, ...COMMON_FLAGS]);
  let same = 0;
  let differ = 0;
  let reworded = 0;
  const live: Conn[] = [];
  const report = (name: string, a: string, b: string): void => {
    if (a !== b && a === V13_WORDING.reduce((x, [from, to]) => x.replaceAll(from, to), b)) {
      reworded++;
      if (values.show) process.stdout.write(`same after 1.3.0's rewording   ${name}\n`);
      return;
    }
    if (a === b) {
      same++;
      if (values.show) process.stdout.write(`same   ${name}\n  ${a.replaceAll('\n', '\n  ')}\n`);
    } else {
      differ++;
      // Long answers: show them from a little before where they part.
      let at = 0;
      while (at < a.length && a[at] === b[at]) at++;
      const from = a.length + b.length > 1200 ? Math.max(0, at - 200) : 0;
      const cut = (x: string): string => (from > 0 ? '...' : '') + x.slice(from, from + 1200).replaceAll('\n', '\n        ');
      process.stdout.write(`DIFFER ${name}\n  ours: ${cut(a)}\n  go:   ${cut(b)}\n`);
    }
  };
  try {
    for (const sc of tcpScenarios()) {
      if (!sc.name.includes(values.filter!)) continue;
      const [a, b] = await Promise.all([runTcp(ours, sc), runTcp(go, sc)]);
      report(`tcp: ${sc.name}`, a.join('\n'), b.join('\n'));
    }
    const fuzz = tcpFuzzScenarios(Number(values.seed), Number(values.fuzz));
    if (fuzz.length > 0) process.stdout.write(`fuzz: ${fuzz.length} conversations, --seed=${values.seed}\n`);
    for (let i = 0; i < fuzz.length; i += FUZZ_BATCH) {
      await Promise.all(fuzz.slice(i, i + FUZZ_BATCH).map(async (sc) => {
        const [a, b] = await Promise.all([runTcp(ours, sc), runTcp(go, sc)]);
        report(`tcp: ${sc.name}\n  sent: ${sc.steps.map((st) => (typeof st === 'function' ? '<id>' : typeof st === 'number' ? `<${st} ms>` : JSON.stringify(Buffer.from(st).toString('latin1')))).join(' ')}`, a.join('\n'), b.join('\n'));
      }));
    }
    // Let both daemons see every conversation's close before /stats is compared.
    const clientCount = async (d: Daemon): Promise<number> => {
      const doc = (await (await fetch(`http://127.0.0.1:${d.httpPort}/stats?format=json&include_mem=false`)).json()) as { topics: { channels: { client_count: number }[] }[]; producers: unknown[] | null };
      return doc.topics.reduce((n, t) => n + t.channels.reduce((m, c) => m + c.client_count, 0), 0) + (doc.producers?.length ?? 0);
    };
    await waitUntil(async () => (await clientCount(ours)) === 0 && (await clientCount(go)) === 0, 5000);
    // A subscriber and a publisher stay connected through the HTTP requests, so /stats lists clients.
    for (const sc of liveClients()) {
      const [a, b] = await Promise.all([runTcp(ours, sc, live), runTcp(go, sc, live)]);
      report(`tcp: ${sc.name}`, a.join('\n'), b.join('\n'));
    }
    for (const sc of [...httpScenarios(), ...httpFuzzScenarios(Number(values.seed), Number(values.fuzz))]) {
      const name = `http: ${sc.method} ${sc.path}${sc.note !== undefined ? ` (${sc.note})` : ''}`;
      const [a, b] = await Promise.all([runHttp(ours, sc), runHttp(go, sc)]);
      if (!name.includes(values.filter!)) continue;
      report(name, a, b);
    }
  } finally {
    for (const d of [ours, go]) await stopDaemon(d);
  }
  for (const c of live) c.socket.destroy();
  const extraServers: Server[] = [];
  /** Another pair with `flags(dir)` added; runs `tcp` concurrently and `http` in order. */
  const pair = async (label: string, flags: () => Promise<string[]>, tcp: TcpScenario[], http: HttpScenario[] = []): Promise<void> => {
    const pairDirs = [mkdtempSync(join(tmpdir(), 'go-diff-ours-')), mkdtempSync(join(tmpdir(), 'go-diff-go-'))];
    const started: Daemon[] = [];
    try {
      started.push(await startDaemon(`ours (${label})`, argvOf(null, 'nsqd'), [`--data-path=${pairDirs[0]}`, ...(await flags()), ...COMMON_FLAGS]));
      started.push(await startDaemon(`go (${label})`, argvOf(values.go!, 'nsqd'), [`--data-path=${pairDirs[1]}`, ...(await flags()), ...COMMON_FLAGS]));
      const [o, g] = started as [Daemon, Daemon];
      await Promise.all(tcp.filter((sc) => sc.name.includes(values.filter!)).map(async (sc) => {
        const [a, b] = await Promise.all([runTcp(o, sc), runTcp(g, sc)]);
        report(`tcp: ${sc.name}`, a.join('\n'), b.join('\n'));
      }));
      for (const sc of http) {
        const name = `http (${label}): ${sc.method} ${sc.path}`;
        const [a, b] = await Promise.all([runHttp(o, sc), runHttp(g, sc)]);
        if (name.includes(values.filter!)) report(name, a, b);
      }
    } finally {
      for (const d of started) await stopDaemon(d);
      for (const dir of pairDirs) rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    // Each nsqd asks an auth server of its own (authAnswer counts calls per server).
    await pair('auth', async () => {
      const calls = new Map<string, number>();
      const srv = createServer((req, res) => {
        const secret = new URL(req.url ?? '/', 'http://x').searchParams.get('secret') ?? '';
        const n = (calls.get(secret) ?? 0) + 1;
        calls.set(secret, n);
        const a = authAnswer(secret, n);
        res.writeHead(a.status, { 'Content-Type': 'application/json' });
        res.end(a.body);
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      extraServers.push(srv);
      return [`--auth-http-address=127.0.0.1:${(srv.address() as AddressInfo).port}`];
    }, authScenarios());
    await pair('tls-required', async () => [
      `--tls-cert=${join(repoRoot, 'test/fixtures/certs/server.pem')}`,
      `--tls-key=${join(repoRoot, 'test/fixtures/certs/server.key')}`,
      `--https-address=127.0.0.1:${await freePort()}`,
      '--tls-required=true',
    ], tlsScenarios(), [{ method: 'GET', path: '/ping' }, { method: 'GET', path: '/info' }, { method: 'POST', path: '/pub?topic=x', body: 'x' }]);
    await pair('tls-min-version', async () => [
      `--tls-cert=${join(repoRoot, 'test/fixtures/certs/server.pem')}`,
      `--tls-key=${join(repoRoot, 'test/fixtures/certs/server.key')}`,
      `--https-address=127.0.0.1:${await freePort()}`,
      '--tls-min-version=tls1.2',
    ], tlsMinScenarios());
  } finally {
    for (const srv of extraServers) srv.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${same} same, ${reworded} same once a pre-1.3.0 nsqd's wording is updated, ${differ} differ\n`);
  process.exitCode = differ === 0 ? 0 : 1;
}

await main();
