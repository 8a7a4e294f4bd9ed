/**
 * bench_writer, in Node: N connections, each `  V2` + IDENTIFY (no negotiation, reply `OK`), then
 * MPUB of --batch-size identical --size-byte zero messages to --topic, one outstanding MPUB per
 * connection, until --runfor has passed (checked after each reply, like NSQ's bench_writer).
 * The MPUB frame is built once; the loop only writes it and reads a 10-byte reply.
 * --pub sends PUB (one message) instead of MPUB; --window=N keeps N commands outstanding per
 * connection (a pipelining producer such as go-nsq's PublishAsync) instead of one; --burst writes
 * those N commands as one buffer and the next N once all are answered (a producer whose writes
 * coalesce, so nsqd reads many commands per socket read, as under load from many publishers).
 *
 * Run by run.ts as a separate process (so nsqd keeps its own core); standalone:
 *   node --import tsx bench/macro/writer.ts --nsqd-tcp-address=127.0.0.1:4150 --conns=4 --runfor=10s
 * Prints one JSON LoadResult line on stdout and bench_writer's summary line on stderr.
 * Exits 1 on an error frame, a refused connection or a socket closed mid-run.
 */
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import {
  FRAME_ERROR,
  MAGIC_V2,
  NOP,
  identifyCommand,
  parseAddress,
  parseDurationMs,
  parsePositiveInt,
  startTimeline,
  monoUs,
  type LoadResult,
} from './common.js';

const { values } = parseArgs({
  options: {
    'nsqd-tcp-address': { type: 'string', default: '127.0.0.1:4150' },
    conns: { type: 'string' },
    runfor: { type: 'string', default: '10s' },
    size: { type: 'string' },
    'batch-size': { type: 'string' },
    topic: { type: 'string', default: 'sub_bench' },
    pub: { type: 'boolean', default: false },
    window: { type: 'string' },
    burst: { type: 'boolean', default: false },
  },
  strict: true,
});

const addr = parseAddress(values['nsqd-tcp-address']!);
const conns = parsePositiveInt('conns', values.conns, 4);
const runforMs = parseDurationMs(values.runfor!);
const size = parsePositiveInt('size', values.size, 200);
const batchSize = parsePositiveInt('batch-size', values['batch-size'], 200);
const topic = values.topic!;
const usePub = values.pub!;
const window = parsePositiveInt('window', values.window, 1);
const burst = values.burst!;
if (usePub && batchSize !== 1) fail('--pub sends one message per command: use --batch-size=1');

/** `MPUB <topic>\n[size][count]([len][body])*`, built once and written as is every time. */
function buildMpub(): Buffer {
  const head = Buffer.from(`MPUB ${topic}\n`, 'latin1');
  const bodyLen = 4 + batchSize * (4 + size);
  const out = Buffer.alloc(head.length + 4 + bodyLen); // zero-filled: the messages are zeros
  head.copy(out, 0);
  let at = head.length;
  out.writeUInt32BE(bodyLen, at);
  out.writeUInt32BE(batchSize, at + 4);
  at += 8;
  for (let i = 0; i < batchSize; i++, at += 4 + size) out.writeUInt32BE(size, at);
  return out;
}
/** `PUB <topic>\n[size][body]`. */
function buildPub(): Buffer {
  const head = Buffer.from(`PUB ${topic}\n`, 'latin1');
  const out = Buffer.alloc(head.length + 4 + size);
  head.copy(out, 0);
  out.writeUInt32BE(size, head.length);
  return out;
}
const MPUB = usePub ? buildPub() : buildMpub();
/** What is written when replies come back: the window's commands back to back with --burst, else one. */
const REFILL = burst ? Buffer.concat(Array.from({ length: window }, () => MPUB)) : MPUB;

function fail(msg: string): never {
  process.stderr.write(`[bench_writer] FATAL: ${msg}\n`);
  process.exit(1);
}

/**
 * Incremental reader of [size][type][data] frames. The writer only ever receives tiny
 * frames, so the rare partial frame is simply concatenated with the next chunk.
 */
class FrameReader {
  private pending: Buffer | null = null;
  constructor(private readonly onFrame: (type: number, data: Buffer) => void) {}
  push(chunk: Buffer): void {
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let off = 0;
    while (buf.length - off >= 8) {
      const sz = buf.readInt32BE(off);
      if (sz < 4) fail(`bad frame size ${sz}`);
      if (buf.length - off < 4 + sz) break;
      this.onFrame(buf.readInt32BE(off + 4), buf.subarray(off + 8, off + 4 + sz));
      off += 4 + sz;
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
  }
}

let total = 0;
/** Messages acknowledged so far, across connections (for the timeline). */
let acked = 0;
let heartbeats = 0;
let endAt = 0;
let startNs = 0n;
let startCpu: NodeJS.CpuUsage = { user: 0, system: 0 };

/** One publishing connection: IDENTIFY, then MPUB/OK ping-pong until endAt. */
class PubWorker {
  private readonly socket: Socket;
  private identified = false;
  private done = false;
  private count = 0;
  private outstanding = 0;
  private readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private resolveDone!: () => void;
  readonly finished: Promise<void>;

  constructor() {
    this.ready = new Promise((r) => (this.resolveReady = r));
    this.finished = new Promise((r) => (this.resolveDone = r));
    this.socket = connect({ host: addr.host, port: addr.port, noDelay: true });
    this.socket.setTimeout(30_000);
    const reader = new FrameReader((type, data) => this.onFrame(type, data));
    this.socket.on('data', (chunk: Buffer) => reader.push(chunk));
    this.socket.on('error', (err) => fail(`connection error: ${err.message}`));
    this.socket.on('timeout', () => fail('no reply from server for 30s'));
    this.socket.on('close', () => {
      if (!this.done) fail('server closed the connection mid-run');
    });
    this.socket.write(MAGIC_V2);
    this.socket.write(identifyCommand('writer'));
  }

  whenIdentified(): Promise<void> {
    return this.ready;
  }

  start(): void {
    if (burst) this.socket.write(REFILL);
    else for (let i = 0; i < window; i++) this.socket.write(MPUB);
    this.outstanding = window;
  }

  private onFrame(type: number, data: Buffer): void {
    if (type === FRAME_ERROR) fail(`error frame: ${data.toString('latin1')}`);
    if (data.length === 11 && data.toString('latin1') === '_heartbeat_') {
      heartbeats++;
      this.socket.write(NOP);
      return;
    }
    if (!this.identified) {
      if (data.toString('latin1') !== 'OK') fail(`IDENTIFY answered ${JSON.stringify(data.toString('latin1'))}, want OK`);
      this.identified = true;
      this.resolveReady();
      return;
    }
    // Reply to our one outstanding MPUB.
    if (data.length !== 2 || data[0] !== 0x4f || data[1] !== 0x4b) fail(`MPUB answered ${JSON.stringify(data.toString('latin1'))}`);
    this.count += batchSize;
    acked += batchSize;
    // A burst waits for its whole window; otherwise each reply makes room for one more.
    if (burst && --this.outstanding > 0) return;
    if (performance.now() < endAt) {
      if (burst) this.outstanding = window;
      this.socket.write(REFILL);
      return;
    }
    if (!burst && --this.outstanding > 0) return;
    total += this.count;
    this.done = true;
    this.socket.end();
    this.socket.destroySoon();
    this.resolveDone();
  }
}

const workers: PubWorker[] = [];
for (let i = 0; i < conns; i++) workers.push(new PubWorker());
await Promise.all(workers.map((w) => w.whenIdentified()));

startCpu = process.cpuUsage();
startNs = process.hrtime.bigint();
const startMonoUs = monoUs();
endAt = performance.now() + runforMs;
const timeline = startTimeline(() => acked);
for (const w of workers) w.start();
await Promise.all(workers.map((w) => w.finished));
const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
const endMonoUs = monoUs();
const cpu = process.cpuUsage(startCpu);
timeline.stop();

const result: LoadResult = {
  role: 'writer',
  msgs: total,
  seconds,
  clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  errorFrames: 0,
  errors: [],
  heartbeats,
  stoppedBy: 'runfor',
  startMonoUs,
  endMonoUs,
  timeline: timeline.slices,
};
process.stderr.write(
  `[bench_writer] duration: ${seconds.toFixed(6)}s - ${((total * size) / seconds / 1024 / 1024).toFixed(3)}mb/s - ` +
    `${(total / seconds).toFixed(3)}ops/s - ${((seconds * 1e6) / total).toFixed(3)}us/op\n`,
);
process.stdout.write(JSON.stringify(result) + '\n');
