// A chaos run against the real nsqd binary: many TCP sessions of random, mutated and abusive
// commands (bad names, sizes past every limit, garbage, commands cut into random pieces, FIN/REQ/
// TOUCH of real and made-up ids, IDENTIFY with random settings including compression the client
// then does not speak, sudden closes and half-closes) while HTTP calls hit every endpoint with
// random arguments, and TLS clients (IDENTIFY tls_v1 upgrades and the HTTPS port) hang up, reset,
// send garbage or plain HTTP mid-handshake. Then the checks: the daemon never exited and /ping stayed OK, a clean client
// still publishes and receives, SIGTERM exits 0 with no stack trace in the log, and a restart on
// the same data directory loads what was left. runLookupdChaos does the same to nsqlookupd with
// the lookup protocol and its HTTP API. Seeded: a seed reproduces the same traffic (up to
// timing). Used by test/integration/chaos.test.ts (seconds) and `npm run chaos` (minutes).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listeningLine } from './log-lines.js';
import { Proc, requireBuilt } from './proc.js';
import { prng } from './prng.js';

/** What to run. */
export interface ChaosOptions {
  seconds: number;
  /** Concurrent TCP session loops (4 HTTP loops run beside them). */
  workers: number;
  seed: number;
  /** nsqd --durable-publish. */
  durable: boolean;
}

/** What happened; `failures` is empty when every check passed. */
export interface ChaosReport {
  sessions: number;
  httpCalls: number;
  /** TLS connections: IDENTIFY tls_v1 upgrades and the HTTPS port. */
  tlsConnections: number;
  messagesReceived: number;
  /** Of those, bodies a producer marked to be checked (all intact, or a failure says otherwise). */
  checkedBodies: number;
  /** V8 heap in use (MiB) sampled every second. */
  heapMiB: number[];
  failures: string[];
}

/** nsqd flags that put every limit and the disk queue within reach of random traffic. */
const NSQD_FLAGS = [
  '--mem-queue-size=20', '--max-rdy-count=50', '--msg-timeout=400ms', '--max-msg-size=4096', '--max-body-size=16384',
  '--max-bytes-per-file=65536', '--max-req-timeout=2s', '--max-msg-timeout=3s', '--max-output-buffer-size=8192',
  '--e2e-processing-latency-percentile=0.99', '--max-channel-consumers=5',
];

const GOOD_TOPICS = ['a', 'b', 'c', 'a#ephemeral', 'ok.topic_1'];
const GOOD_CHANNELS = ['c1', 'c2', 'e#ephemeral', 'c3'];
const TOPICS = [...GOOD_TOPICS, 'bad topic', '', 'x'.repeat(65)];
const CHANNELS = [...GOOD_CHANNELS, 'bad/ch', ''];
/** Lines that mean an exception escaped somewhere (NSQ's own log lines never hold these). */
const SUSPICIOUS = /panic|Uncaught|TypeError|RangeError|ReferenceError|SyntaxError:|FATAL|Assertion|^\s+at .*:\d+:\d+\)?$/m;

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
}

/** The traffic generator of one run. */
/** Marks a body a producer wrote to be checked on arrival (no command starts with a NUL byte). */
const CHECKED = Buffer.from('\x00CHK', 'latin1');

/**
 * A producer's body that checks itself: CHECKED, its length as an int32, then one byte repeated.
 * Bodies from 2 KiB are held as ranges of the reads they span, so the sizes reach past that.
 */
function checkedBody(len: number, fill: number): Buffer {
  const b = Buffer.alloc(Math.max(len, 9), fill);
  CHECKED.copy(b, 0);
  b.writeInt32BE(b.length, 4);
  return b;
}

/** Why a received body marked CHECKED is not what its producer wrote, or null. */
export function checkedBodyError(body: Buffer): string | null {
  if (body.length < 9 || !body.subarray(0, 4).equals(CHECKED)) return null;
  if (body.readInt32BE(4) !== body.length) return `a checked body of ${body.length} bytes says ${body.readInt32BE(4)}`;
  const fill = body[8]!;
  for (let i = 9; i < body.length; i++) if (body[i] !== fill) return `a checked body of ${body.length} bytes differs at byte ${i}`;
  return null;
}

class Traffic {
  readonly ids: string[] = [];
  /** Received bodies that were not what their producer wrote. */
  readonly corrupt: string[] = [];
  checked = 0;
  constructor(readonly rnd: () => number) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }

  body(): Buffer {
    return Buffer.alloc(this.pick([1, 5, 100, 2048, 2049, 4096, 4097, 5000]), this.int(256));
  }

  /** An MPUB body with its size: sometimes a bad message size, sometimes a body size that lies. */
  mpub(): Buffer {
    const n = this.pick([1, 3, 10, 100]);
    const parts: Buffer[] = [int32(n)];
    for (let i = 0; i < n; i++) {
      const b = this.body();
      parts.push(int32(this.rnd() < 0.05 ? -1 : b.length), b);
    }
    const all = Buffer.concat(parts);
    return Buffer.concat([int32(this.rnd() < 0.1 ? all.length + this.int(10) - 5 : all.length), all]);
  }

  identify(): Buffer {
    const o: Record<string, unknown> = {};
    const fields: [string, () => unknown][] = [
      ['client_id', () => this.pick(['x', '', 5, null])],
      ['feature_negotiation', () => this.pick([true, false, 'yes'])],
      ['heartbeat_interval', () => this.pick([-1, 0, 999, 1000, 60000, 1e9])],
      ['output_buffer_size', () => this.pick([-1, 0, 64, 16384, 1e9])],
      ['output_buffer_timeout', () => this.pick([-1, 0, 1, 250, 1e9])],
      ['snappy', () => this.rnd() < 0.1],
      ['deflate', () => this.rnd() < 0.1],
      ['deflate_level', () => this.pick([0, 1, 6, 9, 10])],
      ['sample_rate', () => this.pick([0, 1, 50, 99, 100, 101])],
      ['msg_timeout', () => this.pick([0, 1, 1000, 5000, -5])],
      ['user_agent', () => 'chaos/1'],
    ];
    for (const [k, v] of fields) if (this.rnd() < 0.5) o[k] = v();
    const json = Buffer.from(this.rnd() < 0.05 ? '{"broken": ' : JSON.stringify(o));
    return Buffer.concat([Buffer.from('IDENTIFY\n'), int32(json.length), json]);
  }

  command(): Buffer {
    const t = this.pick(TOPICS);
    const c = this.pick(CHANNELS);
    const id = this.ids.length > 0 && this.rnd() < 0.8 ? this.pick(this.ids) : 'a'.repeat(this.int(20));
    switch (this.int(22)) {
      case 0: case 1: {
        const b = this.body();
        return Buffer.concat([Buffer.from(`PUB ${t}\n`), int32(b.length), b]);
      }
      case 2: return Buffer.concat([Buffer.from(`MPUB ${t}\n`), this.mpub()]);
      case 3: {
        const b = this.body();
        return Buffer.concat([Buffer.from(`DPUB ${t} ${this.pick([0, 100, 5000, -1])}\n`), int32(b.length), b]);
      }
      case 4: case 5: return Buffer.from(`SUB ${t} ${c}\n`);
      case 6: case 7: return Buffer.from(`RDY ${this.pick(['0', '1', '10', '50', '51', '-1', 'x', '99999999999'])}\n`);
      case 8: case 9: case 10: return Buffer.from(`FIN ${id}\n`);
      case 11: return Buffer.from(`REQ ${id} ${this.pick(['0', '100', '3000', '-1', 'x'])}\n`);
      case 12: return Buffer.from(`TOUCH ${id}\n`);
      case 13: return Buffer.from('NOP\n');
      case 14: return Buffer.from('CLS\n');
      case 15: return this.identify();
      case 16: return Buffer.concat([Buffer.from('AUTH\n'), int32(4), Buffer.from('abcd')]);
      case 17: return Buffer.from(this.pick(['\n', ' \n', 'PUB\n', 'SUB a\n', 'FOO bar\n', 'MPUB\n', 'RDY\n', 'FIN\n', 'PUB a b\n']));
      case 18: return Buffer.from(Array.from({ length: this.int(300) }, () => this.int(256)));
      case 19: return Buffer.concat([Buffer.from(`PUB ${t}\n`), int32(this.pick([0, -5, 2 ** 31 - 1, 4097]))]);
      case 20: {
        const b = Buffer.concat([Buffer.from(`PUB ${t}\n`), int32(10), Buffer.alloc(10, 1)]);
        b[this.int(b.length)] = this.int(256);
        return b;
      }
      default: return Buffer.from(`FIN ${'0'.repeat(16)}\n`);
    }
  }

  /** Write `cmd` whole, or (one time in five) in random pieces with event-loop turns between them. */
  async send(s: Socket, cmd: Buffer, closed: () => boolean): Promise<void> {
    if (this.rnd() >= 0.2) {
      s.write(cmd);
      return;
    }
    for (let p = 0; p < cmd.length && !closed(); ) {
      const k = 1 + this.int(cmd.length - p);
      s.write(cmd.subarray(p, p + k));
      p += k;
      if (this.rnd() < 0.3) await new Promise((r) => setImmediate(r));
    }
  }

  /** What a well-behaved consumer sends next: mostly answers to the messages it got, some RDY and NOP. */
  consumerCommand(): Buffer {
    const id = this.ids.length > 0 ? this.pick(this.ids) : '0'.repeat(16);
    const r = this.rnd();
    if (r < 0.45) return Buffer.from(`FIN ${id}\n`);
    if (r < 0.6) return Buffer.from(`REQ ${id} ${this.pick(['0', '50', '500'])}\n`);
    if (r < 0.7) return Buffer.from(`TOUCH ${id}\n`);
    if (r < 0.85) return Buffer.from(`RDY ${this.pick(['0', '1', '5', '50'])}\n`);
    return Buffer.from('NOP\n');
  }

  /** What a well-behaved producer sends next. */
  producerCommand(): Buffer {
    const t = this.pick(GOOD_TOPICS);
    const b = Buffer.alloc(1 + this.int(200), 0x61 + this.int(26));
    const r = this.rnd();
    if (r < 0.15) {
      // A body that checks itself, often large enough to be held across reads.
      const c = checkedBody(this.rnd() < 0.5 ? 9 + this.int(2000) : 2048 + this.int(2049), this.int(256));
      return Buffer.concat([Buffer.from(r < 0.1 ? `PUB ${t}\n` : `DPUB ${t} ${this.int(100)}\n`), int32(c.length), c]);
    }
    if (r < 0.25) {
      // An MPUB of bodies that check themselves, often large enough to be held across reads
      // (and walked read by read) with messages cut by the reads.
      const n = 2 + this.int(30);
      const parts: Buffer[] = [int32(n)];
      for (let i = 0; i < n; i++) {
        const c = checkedBody(9 + this.int(600), this.int(256));
        parts.push(int32(c.length), c);
      }
      const all = Buffer.concat(parts);
      return Buffer.concat([Buffer.from(`MPUB ${t}\n`), int32(all.length), all]);
    }
    if (r < 0.5) return Buffer.concat([Buffer.from(`PUB ${t}\n`), int32(b.length), b]);
    if (r < 0.8) {
      const n = 1 + this.int(20);
      const parts: Buffer[] = [int32(n)];
      for (let i = 0; i < n; i++) parts.push(int32(b.length), b);
      const all = Buffer.concat(parts);
      return Buffer.concat([Buffer.from(`MPUB ${t}\n`), int32(all.length), all]);
    }
    return Buffer.concat([Buffer.from(`DPUB ${t} ${this.int(300)}\n`), int32(b.length), b]);
  }

  /**
   * One TCP session: magic, 1-40 commands (some cut into pieces), then a close of some kind. A
   * third of the sessions behave like a consumer (SUB and RDY first, then mostly FIN/REQ/TOUCH
   * of what arrives) and a fifth like a producer, with a random command now and then.
   */
  session(port: number): Promise<number> {
    return new Promise((resolve) => {
      const s: Socket = connect(port, '127.0.0.1');
      let buf: Buffer = Buffer.alloc(0);
      let done = false;
      let received = 0;
      const finish = (): void => {
        if (done) return;
        done = true;
        s.destroy();
        resolve(received);
      };
      s.on('error', finish);
      s.on('close', finish);
      s.on('data', (d: Buffer) => {
        buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
        while (buf.length >= 8) {
          const size = buf.readInt32BE(0);
          // A compressed stream (snappy or deflate negotiated) is not ours to read.
          if (size < 4 || size > 1e7) {
            buf = Buffer.alloc(0);
            break;
          }
          if (buf.length < 4 + size) break;
          const type = buf.readInt32BE(4);
          if (type === 2 && size >= 30) {
            received++;
            const body = buf.subarray(34, 4 + size);
            if (body.length >= 9 && body.subarray(0, 4).equals(CHECKED)) this.checked++;
            const bad = checkedBodyError(body);
            if (bad !== null) this.corrupt.push(bad);
            const id = buf.subarray(18, 34).toString('latin1');
            this.ids.push(id);
            if (this.ids.length > 500) this.ids.splice(0, 250);
            if (this.rnd() < 0.5) s.write(`FIN ${id}\n`);
          } else if (type === 0 && buf.subarray(8, 4 + size).toString() === '_heartbeat_') s.write('NOP\n');
          buf = buf.subarray(4 + size);
        }
      });
      s.on('connect', async () => {
        s.write(this.rnd() < 0.03 ? '  V1' : '  V2');
        const kind = this.rnd();
        const next = kind < 0.33 ? () => this.consumerCommand() : kind < 0.53 ? () => this.producerCommand() : () => this.command();
        if (kind < 0.33) s.write(`SUB ${this.pick(GOOD_TOPICS)} ${this.pick(GOOD_CHANNELS)}\nRDY ${this.pick([1, 10, 50])}\n`);
        const n = 1 + this.int(40);
        for (let i = 0; i < n && !done; i++) {
          await this.send(s, this.rnd() < 0.9 ? next() : this.command(), () => done);
          if (this.rnd() < (kind < 0.33 ? 0.5 : 0.1)) await new Promise((r) => setTimeout(r, this.int(50)));
        }
        const end = this.rnd();
        if (end < 0.2) s.end();
        else if (end < 0.4) finish();
        else setTimeout(finish, this.int(800));
      });
    });
  }

  /** One HTTP call to a random endpoint with random arguments; transport errors are failures. */
  async http(base: string, failures: string[]): Promise<void> {
    const t = encodeURIComponent(this.pick(TOPICS));
    const c = encodeURIComponent(this.pick(CHANNELS));
    const calls: [string, string, Buffer | string | undefined][] = [
      ['POST', `/pub?topic=${t}`, this.body()],
      ['POST', `/pub?topic=${t}&defer=${this.pick(['10', '-1', 'x', '99999999'])}`, this.body()],
      ['POST', `/mpub?topic=${t}`, 'a\nb\n\nc'],
      ['POST', `/mpub?topic=${t}&binary=true`, this.mpub().subarray(4)],
      ...['create', 'delete', 'empty', 'pause', 'unpause'].map((a): [string, string, undefined] => ['POST', `/topic/${a}?topic=${t}`, undefined]),
      ...['create', 'delete', 'empty', 'pause', 'unpause'].map((a): [string, string, undefined] => ['POST', `/channel/${a}?topic=${t}&channel=${c}`, undefined]),
      ['GET', `/stats?format=${this.pick(['json', 'text', 'x'])}&topic=${t}&channel=${c}&include_clients=${this.pick(['true', 'false', 'x'])}`, undefined],
      ['GET', '/metrics', undefined],
      ['GET', '/info', undefined],
      ['GET', '/config/log_level', undefined],
      ['PUT', '/config/log_level', this.pick(['"info"', '"bogus"', '{', ''])],
      ['PUT', '/config/nsqlookupd_tcp_addresses', this.pick(['[]', 'null', '["x"]', '[1]'])],
      ['GET', `/${this.pick(['', 'x', '..%2f', '%zz', 'pub'])}`, undefined],
      ['DELETE', '/pub', undefined],
    ];
    const [method, path, body] = this.pick(calls);
    try {
      const res = await fetch(base + path, {
        method,
        body: body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.status >= 500 && !(res.status === 503 && path.includes('pub'))) failures.push(`${method} ${path}: ${res.status}`);
    } catch (err) {
      failures.push(`${method} ${path}: ${String(err)}`);
    }
  }
}

interface Daemon {
  proc: Proc;
  tcpPort: number;
  httpPort: number;
  /** The HTTPS port when nsqd has a certificate, else 0. */
  httpsPort: number;
}

/** Start `name` on ephemeral loopback ports with `args`. */
async function startDaemon(name: 'nsqd' | 'nsqlookupd', args: readonly string[]): Promise<Daemon> {
  const https = args.some((a) => a.startsWith('--https-address='));
  const proc = new Proc(requireBuilt(name), ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', ...args]);
  const tcp = await proc.waitForOutput(listeningLine('TCP', `[${name}] `));
  const httpsLine = https ? await proc.waitForOutput(listeningLine('HTTPS', `[${name}] `)) : null;
  const http = await proc.waitForOutput(listeningLine('HTTP', `[${name}] `));
  return { proc, tcpPort: Number(tcp[1]), httpPort: Number(http[1]), httpsPort: httpsLine === null ? 0 : Number(httpsLine[1]) };
}

const CERTS = fileURLToPath(new URL('../fixtures/certs/', import.meta.url));
const CA = readFileSync(join(CERTS, 'ca.pem'));
/** nsqd's certificate: IDENTIFY tls_v1 upgrades and an HTTPS port for the TLS chaos. */
const TLS_FLAGS = [`--tls-cert=${join(CERTS, 'server.pem')}`, `--tls-key=${join(CERTS, 'server.key')}`, '--https-address=127.0.0.1:0'];

const nsqdArgs = (dataPath: string, o: ChaosOptions): string[] => [`--data-path=${dataPath}`, ...NSQD_FLAGS, ...TLS_FLAGS, ...(o.durable ? ['--durable-publish'] : [])];

/** What a client may send first on a TLS connection, as abuse goes: garbage, a cut record header, SSLv2, plain HTTP, nothing. */
const TLS_OPENERS: readonly Buffer[] = [
  Buffer.alloc(0), Buffer.from([22]), Buffer.from([22, 3, 1]), Buffer.from([22, 3, 1, 0, 200]), Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]),
  Buffer.from('hello world\n'), Buffer.from('GET /ping HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.from([21, 3, 3, 0, 2, 2, 40]),
];

/** End a raw socket as abusive clients do: a FIN, a reset, or silence until it is dropped (up to `ms`). */
function hangUp(t: Traffic, s: Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      if (!s.destroyed) s.destroy();
      resolve();
    };
    const timer = setTimeout(done, ms);
    s.once('close', done);
    const how = t.int(3);
    if (how === 0) s.end();
    else if (how === 1) setTimeout(() => (s.destroyed ? undefined : s.resetAndDestroy()), t.int(30));
  });
}

/** Send `bytes` as the start of a TLS connection's life on raw socket `s`, then hang up. */
async function abuseTls(t: Traffic, s: Socket): Promise<void> {
  const opener = t.pick(TLS_OPENERS);
  if (opener.length > 0 && !s.destroyed) s.write(opener);
  await hangUp(t, s, 300);
}

/** A TLS client that completes its handshake over `s` (or a fresh connection to `port`), then sends `then` and hangs up; the bytes it got back. */
function tlsClient(t: Traffic, port: number, then: string, s?: Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const c = tlsConnect({ ...(s === undefined ? { port, host: '127.0.0.1' } : { socket: s }), ca: CA, servername: 'localhost' });
    const timer = setTimeout(() => c.destroy(), 2000);
    c.on('error', () => undefined);
    c.on('data', (b: Buffer) => (got += b.toString('latin1')));
    c.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    c.once('secureConnect', () => {
      if (t.rnd() < 0.2) {
        c.destroy();
        return;
      }
      c.end(then);
    });
  });
}

/**
 * One HTTPS connection: a real request (its answer checked), a plain HTTP request (net/http's
 * 400 checked), or an abusive start and hang-up.
 */
async function httpsCall(t: Traffic, port: number, failures: string[]): Promise<void> {
  const r = t.rnd();
  if (r < 0.3) {
    const got = await tlsClient(t, port, 'GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    if (got !== '' && !got.endsWith('\r\n\r\nOK')) failures.push(`HTTPS /ping answered ${JSON.stringify(got.slice(0, 200))}`);
    return;
  }
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    s.once('connect', () => resolve());
    s.once('close', () => resolve());
  });
  if (r < 0.4) {
    let got = '';
    s.on('data', (b: Buffer) => (got += b.toString('latin1')));
    s.write('POST /pub?topic=a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx');
    await new Promise<void>((resolve) => s.once('close', () => resolve()));
    const want = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
    if (got !== '' && got !== want) failures.push(`plain HTTP to HTTPS answered ${JSON.stringify(got.slice(0, 200))}`);
    return;
  }
  await abuseTls(t, s);
}

/** Connect, send `bytes`, and resolve with what came back once `done(received)` says so (null after 5 s or on an error). */
function exchange(port: number, bytes: readonly (Buffer | string)[], done: (got: Buffer) => boolean): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      resolve(null);
    }, 5000);
    s.on('error', () => resolve(null));
    s.on('connect', () => {
      for (const b of bytes) s.write(b);
    });
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (done(got)) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
  });
}

/**
 * The chaos itself, against a running daemon: `workers` session loops and 4 HTTP loops until
 * the time is up or the daemon exits, /ping (and, for nsqd, its heap) checked every second.
 */
async function drive(d: Daemon, o: ChaosOptions, report: ChaosReport, session: () => Promise<number>, httpCall: () => Promise<void>, heap: (() => Promise<number>) | null, tlsCall: (() => Promise<void>) | null = null): Promise<void> {
  const base = `http://127.0.0.1:${d.httpPort}`;
  const deadline = Date.now() + o.seconds * 1000;
  const alive = (): boolean => d.proc.exitStatus === null && Date.now() < deadline;
  const watch = setInterval(() => {
    void (async () => {
      try {
        const ping = await fetch(`${base}/ping`);
        const text = await ping.text();
        if (text !== 'OK') report.failures.push(`/ping answered ${ping.status} ${text}`);
        if (heap !== null) report.heapMiB.push(await heap());
      } catch (err) {
        if (d.proc.exitStatus === null) report.failures.push(`health check: ${String(err)}`);
      }
    })();
  }, 1000);
  try {
    await Promise.all([
      ...Array.from({ length: o.workers }, async () => {
        while (alive()) {
          report.sessions++;
          // Not `+= await session()`: that reads the total before the await, and 24 loops
          // writing back their stale totals lost most of the count.
          const received = await session();
          report.messagesReceived += received;
        }
      }),
      ...Array.from({ length: 4 }, async () => {
        while (alive()) {
          report.httpCalls++;
          await httpCall();
        }
      }),
      ...Array.from({ length: tlsCall === null ? 0 : 2 }, async () => {
        while (alive()) {
          report.tlsConnections++;
          await tlsCall!();
        }
      }),
    ]);
  } finally {
    clearInterval(watch);
  }
  if (d.proc.exitStatus !== null) report.failures.push(`the daemon exited during the chaos: ${JSON.stringify(d.proc.exitStatus)}`);
}

/** SIGTERM must exit 0, and the log must hold no stack trace; `what` names the run in failures. */
async function stop(d: Daemon, report: ChaosReport, what: string): Promise<void> {
  if (d.proc.exitStatus === null) {
    d.proc.signal('SIGTERM');
    const st = await d.proc.exited(20_000).catch((err: unknown) => ({ code: null, signal: String(err) }));
    if (st.code !== 0) report.failures.push(`${what}: SIGTERM exit ${JSON.stringify(st)}`);
  }
  await d.proc.kill();
  const trace = SUSPICIOUS.exec(d.proc.stderr);
  if (trace !== null) report.failures.push(`${what}: stack trace or panic in the log: ${trace[0]}`);
}

/**
 * IDENTIFY tls_v1 on the TCP port, then a real TLS client (a NOP after it, answered or not), or
 * an abusive start of the handshake and a hang-up; the upgrade's answers are checked.
 */
async function tlsUpgrade(t: Traffic, port: number, failures: string[]): Promise<void> {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  const json = Buffer.from(JSON.stringify({ feature_negotiation: true, tls_v1: true }));
  s.write(Buffer.concat([Buffer.from('  V2IDENTIFY\n'), int32(json.length), json]));
  // The IDENTIFY answer: a frame holding the negotiated JSON, in the clear.
  const answer = await new Promise<Buffer | null>((resolve) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => resolve(null), 2000);
    const onData = (b: Buffer): void => {
      got = Buffer.concat([got, b]);
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
        clearTimeout(timer);
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.once('close', () => resolve(null));
  });
  if (answer === null || !answer.includes('"tls_v1":true')) {
    if (answer !== null) failures.push(`IDENTIFY tls_v1 answered ${JSON.stringify(answer.toString('latin1').slice(0, 200))}`);
    s.destroy();
    return;
  }
  if (t.rnd() < 0.5) {
    await tlsClient(t, port, 'NOP\n', s);
    return;
  }
  await abuseTls(t, s);
}

const emptyReport = (): ChaosReport => ({ sessions: 0, httpCalls: 0, tlsConnections: 0, messagesReceived: 0, checkedBodies: 0, heapMiB: [], failures: [] });

/** nsqd: start, chaos, a clean PUB/SUB round trip, SIGTERM, and a restart on what was left. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const dataPath = mkdtempSync(join(tmpdir(), 'nsq-ts-chaos-'));
  const report = emptyReport();
  const d = await startDaemon('nsqd', nsqdArgs(dataPath, o));
  const base = `http://127.0.0.1:${d.httpPort}`;
  const traffic = new Traffic(prng(o.seed));
  const heap = async (): Promise<number> => {
    const st = (await (await fetch(`${base}/stats?format=json&include_clients=false`)).json()) as { memory: { heap_in_use_bytes: number } };
    return Math.round(st.memory.heap_in_use_bytes / 1048576);
  };
  const tlsCall = (): Promise<void> => (traffic.rnd() < 0.5 ? httpsCall(traffic, d.httpsPort, report.failures) : tlsUpgrade(traffic, d.tcpPort, report.failures));
  await drive(d, o, report, () => traffic.session(d.tcpPort), () => traffic.http(base, report.failures), heap, tlsCall);
  report.checkedBodies = traffic.checked;
  for (const bad of traffic.corrupt.slice(0, 5)) report.failures.push(bad);
  if (d.proc.exitStatus === null) {
    const pub = Buffer.concat([Buffer.from('PUB after_chaos\n'), int32(5), Buffer.from('hello')]);
    const got = await exchange(d.tcpPort, ['  V2', pub, 'SUB after_chaos ch\nRDY 1\n'], (b) => b.includes('hello'));
    if (got === null) report.failures.push('a clean PUB/SUB after the chaos did not deliver');
  }
  await stop(d, report, 'nsqd');
  // The restart must load the data directory the chaos left.
  try {
    const again = await startDaemon('nsqd', nsqdArgs(dataPath, o));
    const ping = await fetch(`http://127.0.0.1:${again.httpPort}/ping`);
    if ((await ping.text()) !== 'OK') report.failures.push('restart: /ping not OK');
    const st = (await (await fetch(`http://127.0.0.1:${again.httpPort}/stats?format=json`)).json()) as { topics: { topic_name: string }[] | null };
    if (!(st.topics ?? []).some((t) => t.topic_name === 'after_chaos')) report.failures.push('restart: topic after_chaos was not loaded');
    await stop(again, report, 'restarted nsqd');
  } catch (err) {
    report.failures.push(`restart: ${String(err)}`);
  }
  rmSync(dataPath, { recursive: true, force: true });
  return report;
}

/** The lookup protocol (V1) as abused by chaos: nsqd's commands with random arguments, and worse. */
class LookupTraffic {
  constructor(private readonly t: Traffic) {}

  identify(): Buffer {
    const fields: Record<string, unknown> = { broadcast_address: '127.0.0.1', hostname: 'chaos', http_port: 4151, tcp_port: 4150, version: '1.3.0' };
    for (const k of Object.keys(fields)) {
      const r = this.t.rnd();
      if (r < 0.1) delete fields[k];
      else if (r < 0.2) fields[k] = this.t.pick([null, -1, 'x', 1e12, [], {}]);
    }
    const json = Buffer.from(this.t.rnd() < 0.05 ? '{"broadcast_address": ' : JSON.stringify(fields));
    const size = this.t.rnd() < 0.05 ? this.t.pick([-1, 0, 2 ** 31 - 1, 60000]) : json.length;
    return Buffer.concat([Buffer.from('IDENTIFY\n'), int32(size), json]);
  }

  command(): Buffer {
    const t = this.t;
    switch (t.int(9)) {
      case 0: return Buffer.from('PING\n');
      case 1: return this.identify();
      case 2: case 3: return Buffer.from(`REGISTER ${t.pick(TOPICS)}${t.rnd() < 0.5 ? ` ${t.pick(CHANNELS)}` : ''}\n`);
      case 4: case 5: return Buffer.from(`UNREGISTER ${t.pick(TOPICS)}${t.rnd() < 0.5 ? ` ${t.pick(CHANNELS)}` : ''}\n`);
      case 6: return Buffer.from(t.pick(['\n', 'REGISTER\n', 'FOO\n', 'IDENTIFY\n', 'PING x y\n']));
      case 7: return Buffer.from(Array.from({ length: t.int(300) }, () => t.int(256)));
      default: return Buffer.from(`REGISTER ${t.pick(['a', 'b'])} ${t.pick(['c1', 'c2'])}\n`);
    }
  }

  /** One session: magic (rarely wrong), usually IDENTIFY first, 1-30 commands, some cut up, then some close. */
  session(port: number): Promise<number> {
    const t = this.t;
    return new Promise((resolve) => {
      const s: Socket = connect(port, '127.0.0.1');
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        s.destroy();
        resolve(0);
      };
      s.on('error', finish);
      s.on('close', finish);
      s.on('data', () => {});
      s.on('connect', async () => {
        s.write(t.rnd() < 0.03 ? '  V2' : '  V1');
        if (t.rnd() < 0.7) s.write(this.identify());
        const n = 1 + t.int(30);
        for (let i = 0; i < n && !done; i++) {
          await t.send(s, this.command(), () => done);
          if (t.rnd() < 0.2) await new Promise((r) => setTimeout(r, t.int(30)));
        }
        const end = t.rnd();
        if (end < 0.3) s.end();
        else if (end < 0.6) finish();
        else setTimeout(finish, t.int(500));
      });
    });
  }

  async http(base: string, failures: string[]): Promise<void> {
    const t = this.t;
    const topic = encodeURIComponent(t.pick(TOPICS));
    const ch = encodeURIComponent(t.pick(CHANNELS));
    const calls: [string, string][] = [
      ['GET', `/lookup?topic=${topic}`], ['GET', '/topics'], ['GET', `/channels?topic=${topic}`], ['GET', '/nodes'], ['GET', '/debug'],
      ['GET', '/info'], ['GET', '/metrics'], ['POST', `/topic/create?topic=${topic}`], ['POST', `/topic/delete?topic=${topic}`],
      ['POST', `/topic/tombstone?topic=${topic}&node=${t.pick(['127.0.0.1:4151', 'x', ''])}`],
      ['POST', `/channel/create?topic=${topic}&channel=${ch}`], ['POST', `/channel/delete?topic=${topic}&channel=${ch}`],
      ['GET', `/${t.pick(['', 'x', '%zz', 'lookup'])}`], ['PUT', '/topics'],
    ];
    const [method, path] = t.pick(calls);
    try {
      const res = await fetch(base + path, { method, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status >= 500) failures.push(`${method} ${path}: ${res.status}`);
    } catch (err) {
      failures.push(`${method} ${path}: ${String(err)}`);
    }
  }
}

/** nsqlookupd: start, chaos, a clean IDENTIFY + REGISTER that /lookup then shows, SIGTERM. */
export async function runLookupdChaos(o: ChaosOptions): Promise<ChaosReport> {
  const report = emptyReport();
  const d = await startDaemon('nsqlookupd', []);
  const base = `http://127.0.0.1:${d.httpPort}`;
  const traffic = new LookupTraffic(new Traffic(prng(o.seed)));
  await drive(d, o, report, () => traffic.session(d.tcpPort), () => traffic.http(base, report.failures), null);
  if (d.proc.exitStatus === null) {
    const body = Buffer.from(JSON.stringify({ broadcast_address: '127.0.0.1', hostname: 'clean', http_port: 1, tcp_port: 2, version: '1.3.0' }));
    // Two replies: IDENTIFY's JSON, then REGISTER's OK; the peer stays connected while /lookup is asked.
    const s = connect(d.tcpPort, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(Buffer.concat([Buffer.from('  V1IDENTIFY\n'), int32(body.length), body, Buffer.from('REGISTER after_chaos ch\n')]));
    let listed = false;
    for (let i = 0; i < 100 && !listed; i++) {
      const res = await fetch(`${base}/lookup?topic=after_chaos`);
      const doc = (await res.json()) as { producers?: { hostname: string }[] };
      listed = (doc.producers ?? []).some((p) => p.hostname === 'clean');
      if (!listed) await new Promise((r) => setTimeout(r, 20));
    }
    s.destroy();
    if (!listed) report.failures.push('a clean IDENTIFY + REGISTER after the chaos did not show in /lookup');
  }
  await stop(d, report, 'nsqlookupd');
  return report;
}
