// to_nsq (apps/to_nsq in NSQ v1.3.0): read stdin, split it on a one-byte delimiter and publish
// every non-empty record to --topic on EVERY --nsqd-tcp-address, one synchronous PUB at a time
// (a failed publish is fatal). Like NSQ, the last byte of each record is dropped as "the
// delimiter" even for a final record that has none. --rate throttles to n messages a second.

import { Producer } from '../client/index.js';
import type { FlagSpec } from '../internal/flags.js';
import {
  errorText, fatal, goLog, nsqdTcpAddressFlag, onSignals, parseToolFlags, producerOptFlag, sleep, toolClientOptions, withGoNsqLogger,
} from './common.js';

/** to_nsq's options. */
export interface ToNsqOptions {
  topic: string;
  delimiter: string;
  nsqdTcpAddrs: string[];
  producerOpts: string[];
  rate: number;
}

/** to_nsq's flag table (v1.3.0: no --version flag). */
export function toNsqFlagSpecs(): FlagSpec[] {
  return [
    { name: 'topic', key: 'topic', kind: 'string', default: '', usage: 'NSQ topic to publish to' },
    { name: 'delimiter', key: 'delimiter', kind: 'string', default: '\n', usage: 'character to split input from stdin' },
    nsqdTcpAddressFlag('destination nsqd TCP address (may be given multiple times)'),
    producerOptFlag(),
    { name: 'rate', key: 'rate', kind: 'int', default: 0, usage: 'Throttle messages to n/second. 0 to disable' },
  ];
}

/** Splits a byte stream into records ending in `delim`, each returned without its last byte (NSQ's quirk included). */
export class RecordSplitter {
  private pending: Buffer[] = [];
  private readonly delim: number;

  /** A splitter on the byte `delim`. */
  constructor(delim: number) {
    this.delim = delim;
  }

  /** The complete records in `chunk` (plus what was pending), delimiter stripped; empty ones included. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    for (let i = chunk.indexOf(this.delim); i !== -1; i = chunk.indexOf(this.delim, start)) {
      const piece = chunk.subarray(start, i);
      if (this.pending.length > 0) {
        out.push(Buffer.concat([...this.pending, piece]));
        this.pending = [];
      } else {
        out.push(piece);
      }
      start = i + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
    return out;
  }

  /** At EOF: the unterminated rest minus its last byte (bufio.ReadBytes then line[:len-1], as to_nsq does), or null. */
  end(): Buffer | null {
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    return rest.length > 0 ? rest.subarray(0, rest.length - 1) : null;
  }
}

/** The --rate token bucket: one token every 1s/rate, at most `rate` saved, starting with one. */
class Throttle {
  private balance = 1;
  readonly intervalMs: number;
  private readonly timer: NodeJS.Timeout;

  constructor(rate: number) {
    this.intervalMs = 1000 / rate;
    this.timer = setInterval(() => {
      this.balance = Math.min(this.balance + 1, rate);
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Wait one interval when out of tokens (once, as to_nsq does), then spend one. */
  async take(): Promise<void> {
    if (this.balance <= 0) await sleep(this.intervalMs);
    this.balance--;
  }
}

/** Run to_nsq with `argv` (without node and script); exits 0 after EOF once every record is published everywhere. */
export async function toNsqMain(argv: readonly string[]): Promise<void> {
  const { options: o } = parseToolFlags<ToNsqOptions>('to_nsq', toNsqFlagSpecs(), argv);
  if (o.topic.length === 0) fatal('--topic required');
  if (Buffer.byteLength(o.delimiter) !== 1) fatal('--delimiter must be a single byte');

  const cfg = toolClientOptions('to_nsq', o.producerOpts, true);
  const producers = new Map<string, Producer>();
  for (const addr of o.nsqdTcpAddrs) {
    if (producers.has(addr)) continue;
    try {
      producers.set(addr, new Producer(addr, withGoNsqLogger(cfg)));
    } catch (err) {
      fatal(`failed to create nsq.Producer - ${errorText(err)}`);
    }
  }
  if (producers.size === 0) fatal('--nsqd-tcp-address required');

  const stop = async (): Promise<never> => {
    await Promise.all([...producers.values()].map((p) => p.close()));
    process.exit(0);
  };
  onSignals(['SIGINT', 'SIGTERM'], () => void stop());

  const throttle = o.rate >= 1 ? new Throttle(o.rate) : null;
  if (throttle !== null) goLog(`Throttling messages rate to max:${o.rate}/second`);
  const publish = async (record: Buffer): Promise<void> => {
    if (throttle !== null) await throttle.take();
    if (record.length === 0) return;
    for (const p of producers.values()) {
      try {
        await p.publish(o.topic, record);
      } catch (err) {
        fatal(errorText(err));
      }
    }
  };

  const splitter = new RecordSplitter(Buffer.from(o.delimiter)[0]!);
  for await (const chunk of process.stdin) {
    for (const record of splitter.push(chunk as Buffer)) await publish(record);
  }
  const last = splitter.end();
  if (last !== null) await publish(last);
  await stop();
}
