/**
 * bench_reader, in Node: N connections, each `  V2` + IDENTIFY (`reader`) + `SUB <topic> <channel>`
 * (both `OK`s awaited before the clock starts), then `RDY --rdy`, read frames and FIN every message.
 *
 * FINs are buffered the way bench_reader's bufio.Writer buffers them: a 4096-byte buffer written
 * out when full, a flush when `count % rdy > 0.75 * rdy`, and a flush every second. bench_reader
 * flushes per message while that rule holds; here the rule only marks the buffer and it is written
 * once at the end of the socket chunk being parsed, so it is not one syscall per message.
 * Heartbeats are answered with NOP; error frames are logged and counted (as bench_reader does).
 *
 * Stops when --runfor has passed, or (drain mode) when --expect messages have been received (with
 * --expect-stdin, the count is read from a line on stdin once the writer is done: pubsub mode), or
 * when no frame arrived for --stall-timeout while more were expected (reported as `stall`).
 *
 * Run by run.ts as a separate process; standalone:
 *   node --import tsx bench/macro/reader.ts --nsqd-tcp-address=127.0.0.1:4150 --conns=4 --runfor=10s
 * Prints one JSON LoadResult line on stdout and bench_reader's summary line on stderr.
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  FRAME_ERROR,
  FRAME_MESSAGE,
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
    topic: { type: 'string', default: 'sub_bench' },
    channel: { type: 'string', default: 'ch' },
    rdy: { type: 'string' },
    expect: { type: 'string' },
    'expect-stdin': { type: 'boolean', default: false },
    'stall-timeout': { type: 'string', default: '5s' },
  },
  strict: true,
});

const addr = parseAddress(values['nsqd-tcp-address']!);
const conns = parsePositiveInt('conns', values.conns, 4);
const runforMs = parseDurationMs(values.runfor!);
const size = parsePositiveInt('size', values.size, 200);
const rdy = parsePositiveInt('rdy', values.rdy, 2500);
let expect = values.expect === undefined ? Infinity : Number(values.expect);
const stallMs = parseDurationMs(values['stall-timeout']!);
const topic = values.topic!;
const channel = values.channel!;

/** bufio.Writer's default size in Go: FIN lines are written out when this fills. */
const FIN_BUFFER_BYTES = 4096;
/** `FIN ` + 16 hex id + `\n`. */
const FIN_LINE = 21;
const FLUSH_RULE_THRESHOLD = rdy * 0.75;

function fail(msg: string): never {
  process.stderr.write(`[bench_reader] FATAL: ${msg}\n`);
  process.exit(1);
}

let total = 0;
let heartbeats = 0;
let errorFrames = 0;
const errors: string[] = [];
let stopped = false;
let lastFrameAt = 0;

/** One consuming connection. */
class SubWorker {
  private readonly socket: Socket;
  private okCount = 0;
  private started = false;
  private readonly subscribed: Promise<void>;
  private resolveSubscribed!: () => void;
  /** Bytes of a frame split across socket chunks. */
  private carry = Buffer.allocUnsafe(64 * 1024);
  private carryLen = 0;
  private fin = Buffer.allocUnsafe(FIN_BUFFER_BYTES);
  private finLen = 0;
  private flushWanted = false;
  private msgCount = 0;
  private readonly flushTimer: NodeJS.Timeout;

  constructor() {
    this.subscribed = new Promise((r) => (this.resolveSubscribed = r));
    this.socket = connect({ host: addr.host, port: addr.port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => {
      if (!stopped) fail(`connection error: ${err.message}`);
    });
    this.socket.on('close', () => {
      if (!stopped) fail('server closed the connection mid-run');
    });
    this.socket.write(MAGIC_V2);
    this.socket.write(identifyCommand('reader'));
    this.socket.write(`SUB ${topic} ${channel}\n`, 'latin1');
    this.flushTimer = setInterval(() => this.flushFin(), 1000);
  }

  whenSubscribed(): Promise<void> {
    return this.subscribed;
  }

  start(): void {
    this.started = true;
    this.socket.write(`RDY ${rdy}\n`, 'latin1');
  }

  /** Write any buffered FINs and close the connection (nsqd requeues what is still in flight). */
  close(): Promise<void> {
    clearInterval(this.flushTimer);
    if (this.socket.destroyed) return Promise.resolve();
    this.flushFin();
    return new Promise((resolve) => {
      const t = setTimeout(() => this.socket.destroy(), 2000);
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.socket.end();
    });
  }

  private flushFin(): void {
    this.flushWanted = false;
    if (this.finLen === 0 || this.socket.destroyed) return;
    this.socket.write(this.fin.subarray(0, this.finLen));
    this.fin = Buffer.allocUnsafe(FIN_BUFFER_BYTES); // the socket keeps the old one until written
    this.finLen = 0;
  }

  private onData(chunk: Buffer): void {
    if (stopped) return;
    lastFrameAt = performance.now();
    let off = 0;
    const len = chunk.length;
    if (this.carryLen > 0) {
      // Finish the frame split across the previous chunk(s) first.
      if (this.carryLen < 4) {
        const take = Math.min(4 - this.carryLen, len);
        chunk.copy(this.carry, this.carryLen, 0, take);
        this.carryLen += take;
        off = take;
        if (this.carryLen < 4) return;
      }
      const c = this.carry;
      const need = 4 + (((c[0]! << 24) | (c[1]! << 16) | (c[2]! << 8) | c[3]!) >>> 0);
      if (need > c.length) {
        const bigger = Buffer.allocUnsafe(need);
        c.copy(bigger, 0, 0, this.carryLen);
        this.carry = bigger;
      }
      const take = Math.min(need - this.carryLen, len - off);
      chunk.copy(this.carry, this.carryLen, off, off + take);
      this.carryLen += take;
      off += take;
      if (this.carryLen < need) return;
      this.carryLen = 0;
      this.frame(this.carry, 0, need);
    }
    while (len - off >= 4) {
      const sz = ((chunk[off]! << 24) | (chunk[off + 1]! << 16) | (chunk[off + 2]! << 8) | chunk[off + 3]!) >>> 0;
      if (sz < 4) fail(`bad frame size ${sz}`);
      if (len - off < 4 + sz) break;
      this.frame(chunk, off, 4 + sz);
      off += 4 + sz;
    }
    if (off < len) {
      const rest = len - off;
      if (rest > this.carry.length) this.carry = Buffer.allocUnsafe(rest);
      chunk.copy(this.carry, 0, off, len);
      this.carryLen = rest;
    }
    if (this.flushWanted) this.flushFin();
    if (total >= expect) stop('expect');
  }

  /** One whole frame at buf[off, off+frameLen). */
  private frame(buf: Buffer, off: number, frameLen: number): void {
    const type = buf[off + 7]!; // the 4-byte type is 0, 1 or 2
    if (type === FRAME_MESSAGE && buf[off + 4] === 0 && buf[off + 5] === 0 && buf[off + 6] === 0) {
      if (this.finLen + FIN_LINE > FIN_BUFFER_BYTES) this.flushFin();
      const f = this.fin;
      let at = this.finLen;
      f[at++] = 0x46; // F
      f[at++] = 0x49; // I
      f[at++] = 0x4e; // N
      f[at++] = 0x20;
      const id = off + 8 + 10;
      for (let i = 0; i < 16; i++) f[at++] = buf[id + i]!;
      f[at++] = 0x0a;
      this.finLen = at;
      this.msgCount++;
      total++;
      if (this.msgCount % rdy > FLUSH_RULE_THRESHOLD) this.flushWanted = true;
      return;
    }
    const data = buf.toString('latin1', off + 8, off + frameLen);
    if (type === FRAME_ERROR) {
      errorFrames++;
      if (errors.length < 5) errors.push(data);
      process.stderr.write(`[bench_reader] ${data}\n`);
      return;
    }
    if (data === '_heartbeat_') {
      heartbeats++;
      this.flushFin();
      this.socket.write(NOP);
      return;
    }
    if (!this.started && data === 'OK') {
      if (++this.okCount === 2) this.resolveSubscribed();
      return;
    }
    if (!this.started) fail(`IDENTIFY/SUB answered ${JSON.stringify(data)}, want OK`);
    process.stderr.write(`[bench_reader] ${data}\n`);
  }
}

const workers: SubWorker[] = [];
for (let i = 0; i < conns; i++) workers.push(new SubWorker());
await Promise.all(workers.map((w) => w.whenSubscribed()));
// run.ts's pubsub phase starts its writer on this line.
process.stderr.write('[bench_reader] subscribed\n');
if (values['expect-stdin']) {
  // The count arrives once the writer is done: stop when that many were received.
  createInterface({ input: process.stdin }).on('line', (line) => {
    expect = Number(line);
    if (total >= expect) stop('expect');
  });
}

let stoppedBy = '';
let startNs = 0n;
let endNs = 0n;
let startMonoUs = 0;
let endMonoUs = 0;
let startCpu: NodeJS.CpuUsage = { user: 0, system: 0 };
let cpuAtStop: NodeJS.CpuUsage = { user: 0, system: 0 };
let resolveStopped!: () => void;
const stoppedPromise = new Promise<void>((r) => (resolveStopped = r));

function stop(why: string): void {
  if (stopped) return;
  stopped = true;
  endNs = process.hrtime.bigint();
  endMonoUs = monoUs();
  cpuAtStop = process.cpuUsage(startCpu);
  stoppedBy = why;
  resolveStopped();
}

startCpu = process.cpuUsage();
startNs = process.hrtime.bigint();
startMonoUs = monoUs();
lastFrameAt = performance.now();
const timeline = startTimeline(() => total);
for (const w of workers) w.start();
if (total >= expect) stop('expect');
const runforTimer = setTimeout(() => stop('runfor'), runforMs);
const stallTimer = setInterval(() => {
  if (performance.now() - lastFrameAt > stallMs) stop('stall');
}, 250);
await stoppedPromise;
timeline.stop();
clearTimeout(runforTimer);
clearInterval(stallTimer);
await Promise.all(workers.map((w) => w.close()));

const seconds = Number(endNs - startNs) / 1e9;
const result: LoadResult = {
  role: 'reader',
  msgs: total,
  seconds,
  clientCpuSeconds: (cpuAtStop.user + cpuAtStop.system) / 1e6,
  errorFrames,
  errors,
  heartbeats,
  stoppedBy,
  startMonoUs,
  endMonoUs,
  timeline: timeline.slices,
};
process.stderr.write(
  `[bench_reader] duration: ${seconds.toFixed(6)}s - ${((total * size) / seconds / 1024 / 1024).toFixed(3)}mb/s - ` +
    `${(total / seconds).toFixed(3)}ops/s - ${((seconds * 1e6) / total).toFixed(3)}us/op (stopped by ${stoppedBy})\n`,
);
process.stdout.write(JSON.stringify(result) + '\n');
