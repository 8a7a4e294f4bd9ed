// A TCP proxy for client tests: sits between a client and a real nsqd, forwards bytes both ways
// untouched, and parses what the client sends into V2 commands (bodies skipped), with the time
// each one passed, so a test can assert the exact command sequence on the wire.
// Only for unencrypted, uncompressed connections (the commands are read as plain V2).
import { createServer, connect, type Server, type Socket } from 'node:net';

/** One client→server command seen by the proxy. */
export interface RecordedCommand {
  /** Index of the proxied connection (0 for the first one accepted). */
  conn: number;
  /** The command line without `\n`, e.g. `RDY 5` or `REQ 0a1b... 0`. */
  line: string;
  /** The command name (`RDY`). */
  name: string;
  /** performance.now() when it was parsed. */
  at: number;
}

const BODY_COMMANDS = new Set(['IDENTIFY', 'AUTH', 'PUB', 'MPUB', 'DPUB']);

/** Parses a client→server V2 byte stream (after the 4-byte magic). */
class CommandParser {
  private buf: Buffer = Buffer.alloc(0);
  private magicLeft = 4;

  constructor(private readonly conn: number, private readonly out: RecordedCommand[]) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.magicLeft > 0) {
      const n = Math.min(this.magicLeft, this.buf.length);
      this.magicLeft -= n;
      this.buf = this.buf.subarray(n);
    }
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl === -1) return;
      const line = this.buf.toString('latin1', 0, nl).replace(/\r$/, '');
      const name = line.split(' ')[0]!;
      let used = nl + 1;
      if (BODY_COMMANDS.has(name)) {
        if (this.buf.length < used + 4) return;
        const size = this.buf.readUInt32BE(used);
        if (this.buf.length < used + 4 + size) return;
        used += 4 + size;
      }
      this.buf = this.buf.subarray(used);
      this.out.push({ conn: this.conn, line, name, at: performance.now() });
    }
  }
}

/** A running recording proxy. */
export interface RecordingProxy {
  /** Port clients connect to (127.0.0.1). */
  port: number;
  /** `127.0.0.1:<port>`. */
  address: string;
  /** Every command seen so far, in order of arrival. */
  commands: RecordedCommand[];
  /** Command lines seen so far, without NOPs unless `withNop`. */
  lines(withNop?: boolean): string[];
  /** Cut every proxied connection (both sides). */
  cutAll(): void;
  close(): Promise<void>;
}

/** Start a proxy on 127.0.0.1:0 that forwards to nsqd at 127.0.0.1:`upstreamPort`. */
export async function startRecordingProxy(upstreamPort: number): Promise<RecordingProxy> {
  const commands: RecordedCommand[] = [];
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((client) => {
    const id = count++;
    const parser = new CommandParser(id, commands);
    const upstream = connect({ host: '127.0.0.1', port: upstreamPort });
    sockets.add(client);
    sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (d: Buffer) => {
      parser.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    commands,
    lines: (withNop = false) => commands.filter((c) => withNop || c.name !== 'NOP').map((c) => c.line),
    cutAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
