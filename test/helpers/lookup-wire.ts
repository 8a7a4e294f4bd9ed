// A raw V1 lookup-protocol peer for tests (what nsqd's lookupPeer does): writes exact bytes and
// reads nsqlookupd's [int32 size][payload] replies from a real socket, every wait time-limited.
import type { Socket } from 'node:net';
import { connectTcp, sized, withTimeout } from './wire.js';

/** The IDENTIFY body nsqd sends, with test values. */
export function identifyBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { broadcast_address: '127.0.0.1', hostname: 'test-host', http_port: 4151, tcp_port: 4150, version: '1.3.0', ...over };
}

/** A test connection to nsqlookupd's TCP port. */
export class LookupConn {
  readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  /** True once the server closed (or reset) the connection. */
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    const onGone = (): void => {
      this.closed = true;
      this.wake();
    };
    socket.on('end', onGone);
    socket.on('close', onGone);
    socket.on('error', onGone);
  }

  /** Connect and (by default) send the `  V1` magic. */
  static async open(port: number, opts: { magic?: boolean } = {}): Promise<LookupConn> {
    const socket = await connectTcp(port, { allowHalfOpen: true });
    const c = new LookupConn(socket);
    if (opts.magic !== false) c.write('  V1');
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Write raw bytes (a string is sent as latin1, byte for byte). */
  write(data: Buffer | string): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Write a command line. */
  cmd(line: string): void {
    this.write(`${line}\n`);
  }

  /** Send IDENTIFY with a JSON (or raw) body and return the reply text. */
  async identify(body: Record<string, unknown> | Buffer | string = identifyBody()): Promise<string> {
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.write(Buffer.concat([Buffer.from('IDENTIFY\n'), sized(raw)]));
    return this.read();
  }

  /** The next reply's payload as text (latin1, so bytes round-trip). */
  async read(ms = 5000): Promise<string> {
    return (await this.readBytes(ms)).toString('latin1');
  }

  /** The next reply's payload. */
  async readBytes(ms = 5000): Promise<Buffer> {
    return withTimeout((async () => {
      for (;;) {
        if (this.buf.length >= 4) {
          const size = this.buf.readInt32BE(0);
          if (this.buf.length >= 4 + size) {
            const data = Buffer.from(this.buf.subarray(4, 4 + size));
            this.buf = this.buf.subarray(4 + size);
            return data;
          }
        }
        if (this.closed) throw new Error(`connection closed while waiting for a reply (${this.buf.length} bytes pending)`);
        await new Promise<void>((r) => this.waiters.push(r));
      }
    })(), ms, 'a reply');
  }

  /** Send a command and expect `OK`. */
  async ok(line: string): Promise<void> {
    this.cmd(line);
    const r = await this.read();
    if (r !== 'OK') throw new Error(`${line}: expected OK, got ${JSON.stringify(r)}`);
  }

  /** Expect the server to close the connection with nothing (more) to read. */
  async expectClosed(ms = 5000): Promise<void> {
    await withTimeout((async () => {
      while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
    })(), ms, 'the server to close the connection');
    if (this.buf.length !== 0) throw new Error(`unexpected bytes before close: ${JSON.stringify(this.buf.toString('latin1'))}`);
  }

  /** Expect exactly one reply `text`, then the connection closed by the server. */
  async expectFatal(text: string): Promise<void> {
    const r = await this.read();
    if (r !== text) throw new Error(`expected ${JSON.stringify(text)}, got ${JSON.stringify(r)}`);
    await this.expectClosed();
  }

  /** Shut down our sending side (the server sees EOF). */
  end(): void {
    this.socket.end();
  }

  /** Close the socket. */
  close(): void {
    this.socket.destroy();
  }
}
