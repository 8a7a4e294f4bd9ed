// Load for crash and limit tests: publishers that count a message as acknowledged only when its
// OK arrives, and a consumer that FINs, REQs or ignores what it gets and remembers which messages
// it finished. Bodies carry a sequence number and are derived from it, so corruption, phantom
// messages and loss can all be told apart. A seeded PRNG makes a run's choices repeatable.
import { mpubBody, WireConn, type WireMessage } from './wire.js';
import { prng } from './prng.js';

export { prng };


/** The body of message `seq`: `<seq>|` then 20..719 bytes of filler derived from seq. */
export function seqBody(seq: number): Buffer {
  const len = 20 + ((seq * 7919) % 700);
  const head = Buffer.from(`${seq}|`);
  const out = Buffer.alloc(head.length + len, 97 + (seq % 26));
  head.copy(out, 0);
  return out;
}

/** The sequence number of a body made by seqBody, or -1 when it is not one (or is damaged). */
export function seqOf(body: Buffer): number {
  const bar = body.indexOf(0x7c);
  if (bar <= 0) return -1;
  const seq = Number(body.toString('latin1', 0, bar));
  if (!Number.isSafeInteger(seq) || seq < 0) return -1;
  return seqBody(seq).equals(body) ? seq : -1;
}

/** Shared bookkeeping of one run: sequence numbers handed out and acknowledged. */
export class PublishLedger {
  next = 0;
  /** Every seq ever sent in a command (acknowledged or not). */
  readonly sent = new Set<number>();
  /** Seqs whose command was answered OK. */
  readonly acked = new Set<number>();
  /** Seqs sent with DPUB, and their defer in ms. */
  readonly deferred = new Map<number, number>();
  /** Error frames received by publishers (text). */
  readonly errors: string[] = [];

  take(): number {
    const s = this.next++;
    this.sent.add(s);
    return s;
  }
}

/** What a publisher's command mix looks like. */
export interface PublisherMix {
  /** Probability of a PUB (else MPUB or DPUB). */
  pub: number;
  /** Probability of a DPUB. */
  dpub: number;
  /** Largest MPUB batch. */
  maxBatch: number;
  /** DPUB defer range in ms. */
  deferMinMs: number;
  deferMaxMs: number;
  /** Commands awaiting their answer at once on one connection. */
  window: number;
}

export const DEFAULT_MIX: PublisherMix = { pub: 0.5, dpub: 0.1, maxBatch: 16, deferMinMs: 50, deferMaxMs: 500, window: 4 };

/**
 * One publishing TCP connection: pipelines up to `mix.window` PUB/MPUB/DPUB commands and marks
 * their messages acknowledged when the OK for that command arrives (answers come in order).
 * Ends when `stop()` was called and every pending answer came, or when the connection dies
 * (messages still pending then are of unknown fate, and not acknowledged).
 */
export class Publisher {
  private stopped = false;
  private conn: WireConn | null = null;
  done: Promise<void>;

  constructor(port: number, topic: string, ledger: PublishLedger, rng: () => number, mix: PublisherMix = DEFAULT_MIX) {
    this.done = this.run(port, topic, ledger, rng, mix);
  }

  stop(): void {
    this.stopped = true;
  }

  /** Drop the connection at once. */
  abort(): void {
    this.stopped = true;
    this.conn?.close();
  }

  private async run(port: number, topic: string, ledger: PublishLedger, rng: () => number, mix: PublisherMix): Promise<void> {
    let conn: WireConn;
    try {
      conn = await WireConn.open(port, { timeoutMs: 30_000 });
    } catch {
      return;
    }
    this.conn = conn;
    const pending: number[][] = [];
    try {
      for (;;) {
        while (!this.stopped && !conn.closed && pending.length < mix.window) {
          const r = rng();
          if (r < mix.pub) {
            const s = ledger.take();
            conn.cmd(`PUB ${topic}`, seqBody(s));
            pending.push([s]);
          } else if (r < mix.pub + mix.dpub) {
            const s = ledger.take();
            const ms = mix.deferMinMs + Math.floor(rng() * (mix.deferMaxMs - mix.deferMinMs + 1));
            ledger.deferred.set(s, ms);
            conn.cmd(`DPUB ${topic} ${ms}`, seqBody(s));
            pending.push([s]);
          } else {
            const n = 2 + Math.floor(rng() * (mix.maxBatch - 1));
            const seqs: number[] = [];
            for (let i = 0; i < n; i++) seqs.push(ledger.take());
            conn.write(Buffer.concat([Buffer.from(`MPUB ${topic}\n`), mpubBody(seqs.map(seqBody))]));
            pending.push(seqs);
          }
        }
        if (pending.length === 0) return;
        const f = await conn.readFrame(30_000);
        if (f.type === 0 && f.data.toString('latin1') === 'OK') {
          for (const s of pending.shift()!) ledger.acked.add(s);
          continue;
        }
        ledger.errors.push(f.data.toString('latin1'));
        return;
      }
    } catch {
      // Connection closed (the daemon was killed or shut down): pending messages have no answer.
    } finally {
      conn.close();
    }
  }
}

/** How a consumer treats a message it is not yet forced to finish. */
export interface ConsumerMix {
  /** Probabilities of REQ 0, REQ with a delay, and not answering (let it time out); FIN otherwise. */
  req0: number;
  reqDelay: number;
  ignore: number;
  /** REQ delay range in ms. */
  reqMinMs: number;
  reqMaxMs: number;
  /** From this attempt on a message is always finished. */
  finishAtAttempts: number;
}

export const DEFAULT_CONSUMER_MIX: ConsumerMix = { req0: 0.07, reqDelay: 0.07, ignore: 0.05, reqMinMs: 50, reqMaxMs: 400, finishAtAttempts: 3 };

/**
 * A consumer of one channel that outlives daemon restarts: attach() it to each new daemon.
 * It FINs most messages and REQs or ignores some (see ConsumerMix), and counts a message as
 * finished once it sent a FIN for it that the server did not reject with E_FIN_FAILED.
 */
export class CrashConsumer {
  /** seq → FINs sent and not rejected. */
  readonly finished = new Map<number, number>();
  /** Message frames received. */
  deliveries = 0;
  reqs = 0;
  ignored = 0;
  finFailed = 0;
  reqFailed = 0;
  /** Bodies that are not a seqBody (damaged). */
  readonly corrupt: string[] = [];
  /** Seqs delivered that were never sent. */
  readonly phantoms: number[] = [];
  /** Error frames other than E_FIN_FAILED / E_REQ_FAILED. */
  readonly otherErrors: string[] = [];
  /** Date.now() of the last message frame. */
  lastMessageAt = 0;
  /** Hook called for every message (after the action was sent). */
  onMessage: ((m: WireMessage, seq: number, action: 'fin' | 'req' | 'ignore') => void) | null = null;
  private readonly idToSeq = new Map<string, number>();
  private conn: WireConn | null = null;
  private readonly ledger: PublishLedger;
  private readonly rng: () => number;
  mix: ConsumerMix;

  constructor(ledger: PublishLedger, rng: () => number, mix: ConsumerMix = DEFAULT_CONSUMER_MIX) {
    this.ledger = ledger;
    this.rng = rng;
    this.mix = mix;
  }

  /** Messages finished once or more. */
  get uniqueFinished(): number {
    return this.finished.size;
  }

  /** FINs beyond the first per message. */
  get duplicates(): number {
    let n = 0;
    for (const c of this.finished.values()) if (c > 1) n += c - 1;
    return n;
  }

  /**
   * Connect, IDENTIFY (msg_timeout), SUB and RDY, then serve until the connection closes.
   * Resolves once subscribed; `closed` settles when the connection ends.
   */
  async attach(port: number, topic: string, channel: string, opts: { msgTimeoutMs?: number; rdy?: number } = {}): Promise<{ closed: Promise<void> }> {
    const c = await WireConn.open(port, { timeoutMs: 30_000 });
    this.conn = c;
    const r = await c.identify({ msg_timeout: opts.msgTimeoutMs ?? 1000 });
    if (r !== 'OK') throw new Error(`IDENTIFY answered ${r}`);
    await c.sub(topic, channel);
    c.cmd(`RDY ${opts.rdy ?? 50}`);
    return { closed: this.serve(c) };
  }

  /** Close the current connection. */
  detach(): void {
    this.conn?.close();
    this.conn = null;
  }

  private async serve(c: WireConn): Promise<void> {
    for (;;) {
      let f;
      try {
        f = await c.readFrame(3_600_000);
      } catch {
        return;
      }
      if (f.type === 1) {
        const text = f.data.toString('latin1');
        const fin = /^E_FIN_FAILED FIN (.{16}) failed/.exec(text);
        if (fin !== null) {
          this.finFailed++;
          const seq = this.idToSeq.get(fin[1]!);
          if (seq !== undefined) {
            const n = (this.finished.get(seq) ?? 0) - 1;
            if (n > 0) this.finished.set(seq, n);
            else this.finished.delete(seq);
          }
        } else if (text.startsWith('E_REQ_FAILED')) {
          this.reqFailed++;
        } else {
          this.otherErrors.push(text);
        }
        continue;
      }
      if (f.type !== 2) continue;
      this.deliveries++;
      this.lastMessageAt = Date.now();
      const id = f.data.toString('latin1', 10, 26);
      const attempts = f.data.readUInt16BE(8);
      const body = f.data.subarray(26);
      const seq = seqOf(body);
      if (seq < 0) {
        this.corrupt.push(body.toString('latin1', 0, Math.min(body.length, 60)));
        c.cmd(`FIN ${id}`);
        continue;
      }
      if (!this.ledger.sent.has(seq)) this.phantoms.push(seq);
      this.idToSeq.set(id, seq);
      const m = this.mix;
      const r = this.rng();
      let action: 'fin' | 'req' | 'ignore';
      if (attempts >= m.finishAtAttempts || r >= m.req0 + m.reqDelay + m.ignore) {
        c.cmd(`FIN ${id}`);
        this.finished.set(seq, (this.finished.get(seq) ?? 0) + 1);
        action = 'fin';
      } else if (r < m.req0) {
        c.cmd(`REQ ${id} 0`);
        this.reqs++;
        action = 'req';
      } else if (r < m.req0 + m.reqDelay) {
        c.cmd(`REQ ${id} ${m.reqMinMs + Math.floor(this.rng() * (m.reqMaxMs - m.reqMinMs + 1))}`);
        this.reqs++;
        action = 'req';
      } else {
        this.ignored++;
        action = 'ignore';
      }
      this.onMessage?.({ timestamp: f.data.readBigInt64BE(0), attempts, id, body }, seq, action);
    }
  }
}

/** Acknowledged seqs the consumer has not finished, ascending. */
export function missingSeqs(ledger: PublishLedger, consumer: CrashConsumer): number[] {
  const out: number[] = [];
  for (const s of ledger.acked) if (!consumer.finished.has(s)) out.push(s);
  return out.sort((a, b) => a - b);
}
