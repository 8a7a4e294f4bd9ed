// A raw V2 connection that parses every frame as it arrives into a queue, so waiting for a frame
// with a time limit never loses one: next(ms) returns null when the time is up and the frame
// that arrives later is still there for the next call. (WireConn.readFrame's time limit abandons
// a reader that may still take the next frame, so a loop of short waits can drop messages.)
import { connect, type Socket } from 'node:net';
import { decodeMessage, mpubBody, sized, withTimeout, type Frame, type WireMessage } from './wire.js';

export class QueuedConn {
  readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private readonly frames: Frame[] = [];
  private head = 0;
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      let p = 0;
      while (this.buf.length - p >= 4) {
        const size = this.buf.readInt32BE(p);
        if (this.buf.length - p - 4 < size) break;
        const type = this.buf.readInt32BE(p + 4);
        const data = Buffer.from(this.buf.subarray(p + 8, p + 4 + size));
        p += 4 + size;
        if (type === 0 && data.toString('latin1') === '_heartbeat_') {
          this.cmd('NOP');
          continue;
        }
        this.frames.push({ type, data });
      }
      this.buf = this.buf.subarray(p);
      this.wake();
    });
    const end = () => {
      this.closed = true;
      this.wake();
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  /** Connect and send the `  V2` magic. */
  static async open(port: number, host = '127.0.0.1'): Promise<QueuedConn> {
    const socket = connect({ port, host });
    await withTimeout(new Promise<void>((res, rej) => {
      socket.once('connect', () => res());
      socket.once('error', rej);
    }), 5000, 'connect');
    const c = new QueuedConn(socket);
    c.write('  V2');
    return c;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  write(data: Buffer | string): void {
    if (this.closed) return;
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** A command line plus an optional sized body. */
  cmd(line: string, body?: Buffer | string): void {
    this.write(body === undefined ? Buffer.from(`${line}\n`, 'latin1') : Buffer.concat([Buffer.from(`${line}\n`, 'latin1'), sized(body)]));
  }

  /** MPUB bytes for `bodies`. */
  mpub(topic: string, bodies: (Buffer | string)[]): void {
    this.write(Buffer.concat([Buffer.from(`MPUB ${topic}\n`), mpubBody(bodies)]));
  }

  /** The next frame, or null when `ms` passed (or the connection closed) first. */
  async next(ms: number): Promise<Frame | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.head < this.frames.length) {
        const f = this.frames[this.head]!;
        this.frames[this.head++] = undefined as unknown as Frame;
        if (this.head > 1024 && this.head * 2 > this.frames.length) {
          this.frames.splice(0, this.head);
          this.head = 0;
        }
        return f;
      }
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          if (this.waiter === done) this.waiter = null;
          resolve();
        }, left);
        const done = () => {
          clearTimeout(t);
          resolve();
        };
        this.waiter = done;
      });
    }
  }

  /** The next frame, which must come within `ms`. */
  async expectFrame(ms = 5000): Promise<Frame> {
    const f = await this.next(ms);
    if (f === null) throw new Error(this.closed ? 'connection closed while waiting for a frame' : `no frame within ${ms} ms`);
    return f;
  }

  /** The next frame, which must be a response with exactly `text`. */
  async expectResponse(text: string, ms = 5000): Promise<void> {
    const f = await this.expectFrame(ms);
    if (f.type !== 0 || f.data.toString('latin1') !== text) {
      throw new Error(`expected response ${JSON.stringify(text)}, got type ${f.type} ${JSON.stringify(f.data.toString('latin1'))}`);
    }
  }

  /** The next message, or null when none came within `ms`; other frames throw. */
  async nextMessage(ms: number): Promise<WireMessage | null> {
    const f = await this.next(ms);
    if (f === null) return null;
    if (f.type !== 2) throw new Error(`expected a message, got type ${f.type} ${JSON.stringify(f.data.toString('latin1'))}`);
    return decodeMessage(f.data);
  }

  /** IDENTIFY with a JSON body; the response text. */
  async identify(body: object): Promise<string> {
    this.cmd('IDENTIFY', JSON.stringify(body));
    const f = await this.expectFrame();
    if (f.type !== 0) throw new Error(`IDENTIFY failed: ${f.data.toString()}`);
    return f.data.toString();
  }

  /** SUB and expect OK. */
  async sub(topic: string, channel: string): Promise<void> {
    this.cmd(`SUB ${topic} ${channel}`);
    await this.expectResponse('OK');
  }

  /** Wait until the server closed the connection (frames still queued are kept). */
  async waitClosed(ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
