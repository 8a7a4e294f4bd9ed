// A raw V2 protocol peer for tests: writes exact command bytes and reads frames from a real
// socket, with a time limit on every wait so a broken server fails a test instead of hanging it.
import { connect, type Socket } from 'node:net';

/** A frame read from nsqd. */
export interface Frame {
  type: number;
  data: Buffer;
}

/** A decoded message frame. */
export interface WireMessage {
  timestamp: bigint;
  attempts: number;
  id: string;
  body: Buffer;
}

/** Decode a message frame's data. */
export function decodeMessage(data: Buffer): WireMessage {
  return {
    timestamp: data.readBigInt64BE(0),
    attempts: data.readUInt16BE(8),
    id: data.toString('latin1', 10, 26),
    body: data.subarray(26),
  };
}

/** Reject after `ms` with a message naming what was awaited. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** A connected TCP socket (5 s limit); `allowHalfOpen` keeps our side open after the server's FIN. */
export async function connectTcp(port: number, opts: { host?: string | undefined; allowHalfOpen?: boolean } = {}): Promise<Socket> {
  const socket = connect({ port, host: opts.host ?? '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
  await withTimeout(new Promise<void>((res, rej) => {
    socket.once('connect', () => res());
    socket.once('error', rej);
  }), 5000, 'connect');
  return socket;
}

/** int32 BE length prefix + bytes. */
export function sized(body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const out = Buffer.alloc(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

/** An MPUB body: [int32 size][int32 count]([int32 len][bytes])×count. */
export function mpubBody(bodies: (Buffer | string)[]): Buffer {
  const parts = bodies.map((b) => sized(b));
  const inner = Buffer.concat([Buffer.alloc(4), ...parts]);
  inner.writeInt32BE(bodies.length, 0);
  return sized(inner);
}

/** A test connection speaking V2 bytes. */
export class WireConn {
  readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  /** Frames whose type is response `_heartbeat_` are answered with NOP and skipped when true. */
  autoNop = true;
  private readonly defaultTimeout: number;

  private constructor(socket: Socket, timeoutMs: number) {
    this.socket = socket;
    this.defaultTimeout = timeoutMs;
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connect and (by default) send the `  V2` magic. */
  static async open(port: number, opts: { magic?: boolean; timeoutMs?: number; host?: string } = {}): Promise<WireConn> {
    const socket = await connectTcp(port, { host: opts.host });
    const c = new WireConn(socket, opts.timeoutMs ?? 5000);
    if (opts.magic !== false) c.write('  V2');
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitData(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  /** Write raw bytes. */
  write(data: Buffer | string): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Write a command line plus an optional sized body. */
  cmd(line: string, body?: Buffer | string): void {
    this.write(body === undefined ? Buffer.from(`${line}\n`, 'latin1') : Buffer.concat([Buffer.from(`${line}\n`, 'latin1'), sized(body)]));
  }

  /** Next frame (heartbeats answered and skipped when autoNop). */
  async readFrame(timeoutMs = this.defaultTimeout): Promise<Frame> {
    return withTimeout((async () => {
      for (;;) {
        if (this.buf.length >= 4) {
          const size = this.buf.readInt32BE(0);
          if (this.buf.length >= 4 + size) {
            const type = this.buf.readInt32BE(4);
            const data = Buffer.from(this.buf.subarray(8, 4 + size));
            this.buf = this.buf.subarray(4 + size);
            if (this.autoNop && type === 0 && data.toString() === '_heartbeat_') {
              this.cmd('NOP');
              continue;
            }
            return { type, data };
          }
        }
        if (this.closed) throw new Error('connection closed while waiting for a frame');
        await this.waitData();
      }
    })(), timeoutMs, 'a frame');
  }

  /** Expect a response frame with exactly `text`. */
  async expectResponse(text: string): Promise<void> {
    const f = await this.readFrame();
    if (f.type !== 0 || f.data.toString('latin1') !== text) {
      throw new Error(`expected response ${JSON.stringify(text)}, got type ${f.type} ${JSON.stringify(f.data.toString('latin1'))}`);
    }
  }

  /** Expect an error frame with exactly `text`. */
  async expectError(text: string): Promise<void> {
    const f = await this.readFrame();
    if (f.type !== 1 || f.data.toString('latin1') !== text) {
      throw new Error(`expected error ${JSON.stringify(text)}, got type ${f.type} ${JSON.stringify(f.data.toString('latin1'))}`);
    }
  }

  /** Expect a message frame and decode it. */
  async readMessage(timeoutMs?: number): Promise<WireMessage> {
    const f = await this.readFrame(timeoutMs);
    if (f.type !== 2) throw new Error(`expected a message, got type ${f.type} ${JSON.stringify(f.data.toString('latin1'))}`);
    return decodeMessage(f.data);
  }

  /** Wait until the server closes the connection (no further frames allowed). */
  async expectClosed(timeoutMs = this.defaultTimeout): Promise<void> {
    await withTimeout((async () => {
      for (;;) {
        if (this.buf.length > 0) {
          const size = this.buf.length >= 4 ? this.buf.readInt32BE(0) : -1;
          const type = this.buf.length >= 8 ? this.buf.readInt32BE(4) : -1;
          const isHeartbeat = type === 0 && size === 15 && this.buf.length >= 19 && this.buf.toString('latin1', 8, 19) === '_heartbeat_';
          if (!isHeartbeat) throw new Error(`expected close, got bytes ${JSON.stringify(this.buf.toString('latin1'))}`);
          this.buf = this.buf.subarray(19);
          continue;
        }
        if (this.closed) return;
        await this.waitData();
      }
    })(), timeoutMs, 'the server to close the connection');
  }

  /** Assert no frame arrives within `ms`. */
  async expectNothing(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.buf.length > 0) throw new Error(`expected no frame, got ${JSON.stringify(this.buf.toString('latin1'))}`);
  }

  /** IDENTIFY with a JSON body; returns the response text. */
  async identify(body: object): Promise<string> {
    this.cmd('IDENTIFY', JSON.stringify(body));
    const f = await this.readFrame();
    if (f.type !== 0) throw new Error(`IDENTIFY failed: ${f.data.toString()}`);
    return f.data.toString();
  }

  /** SUB and expect OK. */
  async sub(topic: string, channel: string): Promise<void> {
    this.cmd(`SUB ${topic} ${channel}`);
    await this.expectResponse('OK');
  }

  /** PUB and expect OK. */
  async pub(topic: string, body: Buffer | string): Promise<void> {
    this.cmd(`PUB ${topic}`, body);
    await this.expectResponse('OK');
  }

  /** MPUB and expect OK. */
  async mpub(topic: string, bodies: (Buffer | string)[]): Promise<void> {
    this.write(Buffer.concat([Buffer.from(`MPUB ${topic}\n`), mpubBody(bodies)]));
    await this.expectResponse('OK');
  }

  /** Close our side. */
  close(): void {
    this.socket.destroy();
  }
}
