/** What the go-diff scripts share: starting and stopping a daemon, ours or Go's. */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { distApp, freePort } from '../helpers/proc.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A daemon on loopback ports picked for it, with its output collected. */
export interface Daemon {
  name: string;
  child: ChildProcess;
  tcpPort: number;
  httpPort: number;
  log: string;
}

/**
 * How to run a binary: ours (`dist/apps/<app>.js` under node), or the one at `path`; a path
 * ending in .js runs under node too, so a script can be checked with ours on both sides.
 */
export function argvOf(path: string | null, app: string): string[] {
  if (path === null) return [process.execPath, distApp(app)];
  return path.endsWith('.js') ? [process.execPath, path] : [path];
}

/** Starts `argv` with --tcp-address and --http-address on free loopback ports, and waits for an HTTP answer. */
export async function startDaemon(name: string, argv: string[], flags: string[]): Promise<Daemon> {
  const tcpPort = await freePort();
  const httpPort = await freePort();
  const child = spawn(argv[0]!, [...argv.slice(1), `--tcp-address=127.0.0.1:${tcpPort}`, `--http-address=127.0.0.1:${httpPort}`, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  const d: Daemon = { name, child, tcpPort, httpPort, log: '' };
  child.stdout!.on('data', (b: Buffer) => (d.log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (d.log += b.toString()));
  for (let i = 0; i < 200; i++) {
    try {
      // Any answer will do: under --tls-required plain HTTP answers 403.
      await (await fetch(`http://127.0.0.1:${httpPort}/ping`)).text();
      return d;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not start:\n${d.log}`);
}

/** SIGTERM, then the exit code once it has exited. */
export async function stopDaemon(d: Daemon): Promise<number | null> {
  if (d.child.exitCode === null && d.child.signalCode === null) {
    d.child.kill('SIGTERM');
    await new Promise((r) => d.child.once('exit', r));
  }
  return d.child.exitCode;
}

/** A client connection that knows when the line has been quiet for a while; subclasses decode what arrives. */
export abstract class QuietConn {
  private lastData = Date.now();
  closed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.lastData = Date.now();
      this.receive(d);
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  protected abstract receive(d: Buffer): void;

  /** Marks that something arrived (for data read some other way, e.g. through TLS). */
  protected touch(): void {
    this.lastData = Date.now();
  }

  /** Waits until nothing has arrived for `quietMs` (and the connection had time to close), at most 3 s. */
  async settle(quietMs: number): Promise<void> {
    const start = Date.now();
    await sleep(quietMs);
    while (Date.now() - this.lastData < quietMs && Date.now() - start < 3000 && !this.closed) await sleep(10);
  }
}

/** Connects to 127.0.0.1:port and wraps the socket. */
export function openConn<T extends QuietConn>(port: number, wrap: (s: Socket) => T): Promise<T> {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1', () => res(wrap(s)));
    s.once('error', rej);
  });
}

/** Polls `cond` every 100 ms until it holds (true) or `ms` pass (false). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(100);
  }
  return false;
}

/** Prints `ok`/`FAIL` lines and, at the end, the verdict and the exit code. */
export class Checks {
  failures = 0;

  check(ok: boolean, what: string, detail = ''): void {
    if (ok) process.stdout.write(`ok   ${what}\n`);
    else {
      this.failures++;
      process.stdout.write(`FAIL ${what}${detail !== '' ? `\n     ${detail.replaceAll('\n', '\n     ')}` : ''}\n`);
    }
  }

  finish(): void {
    process.stdout.write(this.failures === 0 ? 'all checks passed\n' : `${this.failures} checks failed\n`);
    process.exitCode = this.failures === 0 ? 0 : 1;
  }
}

/** The Go binaries' paths from --go-nsqd / --go-nsqlookupd (or GO_NSQD / GO_NSQLOOKUPD); exits with usage when one is missing. */
export function goBinaries(script: string): { nsqd: string; nsqlookupd: string } {
  const { values } = parseArgs({
    options: {
      'go-nsqd': { type: 'string', default: process.env.GO_NSQD ?? '' },
      'go-nsqlookupd': { type: 'string', default: process.env.GO_NSQLOOKUPD ?? '' },
    },
  });
  if (values['go-nsqd'] === '' || values['go-nsqlookupd'] === '') {
    process.stderr.write(`usage: node --import tsx test/go-diff/${script} --go-nsqd=PATH --go-nsqlookupd=PATH\n`);
    process.exit(2);
  }
  return { nsqd: values['go-nsqd']!, nsqlookupd: values['go-nsqlookupd']! };
}

/** Counts answers that are the same and that differ, printing each difference (`diff` renders it) and, with `show`, each same answer. */
export class Tally {
  same = 0;
  differ = 0;

  constructor(
    private readonly show: boolean,
    private readonly diff: (ours: string, go: string) => string = (a, b) => `ours: ${a.replaceAll('\n', '\n        ')}\n  go:   ${b.replaceAll('\n', '\n        ')}`,
  ) {}

  report(name: string, ours: string, go: string): void {
    if (ours === go) {
      this.same++;
      if (this.show) process.stdout.write(`same   ${name}\n  ${ours.replaceAll('\n', '\n  ')}\n`);
      return;
    }
    this.differ++;
    process.stdout.write(`DIFFER ${name}\n  ${this.diff(ours, go)}\n`);
  }

  /** Print `N same, N differ` and set the exit code (1 when any differ). */
  end(): void {
    process.stdout.write(`${this.same} same, ${this.differ} differ\n`);
    process.exitCode = this.differ === 0 ? 0 : 1;
  }
}

/** --go (or the `env` variable) and --show of a script that compares ours with one Go binary (`what`); exits with usage when --go is missing. */
export function goBinary(script: string, env: string, what: string): { go: string; show: boolean } {
  const { values } = parseArgs({
    options: {
      go: { type: 'string', default: process.env[env] ?? '' },
      show: { type: 'boolean', default: false },
    },
  });
  if (values.go === '') {
    process.stderr.write(`usage: node --import tsx test/go-diff/${script} --go=/path/to/go/${what} [--show]\n`);
    process.exit(2);
  }
  return { go: values.go!, show: values.show! };
}

/**
 * An nsqlookupd answer made comparable: arrays sorted (Go returns them in map order), /nodes'
 * topics[i] kept paired with tombstones[i], and the values `masked(key, value)` picks replaced.
 */
export function lookupdComparable(v: unknown, masked: (key: string, value: unknown) => boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => lookupdComparable(x, masked)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (v === null || typeof v !== 'object') return v;
  const o = { ...(v as Record<string, unknown>) };
  if (Array.isArray(o.topics) && Array.isArray(o.tombstones)) {
    const ts = o.tombstones as boolean[];
    const pairs = (o.topics as string[]).map((t, i) => [t, ts[i]] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    o.topics = pairs.map((p) => p[0]);
    o.tombstones = pairs.map((p) => p[1]);
  }
  const paired = 'tombstones' in o;
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, masked(k, x) ? '<masked>' : paired && (k === 'topics' || k === 'tombstones') ? x : lookupdComparable(x, masked)]));
}
