/**
 * Publish ceiling: the least a single Node thread must do to take bench_writer's load. Accepts
 * V2 connections, skips the magic, finds each command line, and for IDENTIFY/PUB/MPUB/DPUB reads
 * the 4-byte size, skips that many body bytes (across chunks) and answers the 10-byte `OK` frame.
 * No message is looked at or stored. Other lines (NOP, ...) get no reply.
 *
 *   node --import tsx bench/macro/ceiling-sink.ts [--tcp-address=127.0.0.1:0]
 * Logs `TCP: listening on <host>:<port>` to stderr like nsqd; SIGTERM/SIGINT closes it.
 */
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { OK_FRAME, parseAddress } from './common.js';

// --size is accepted (and ignored) so run.ts can start both ceilings alike.
const { values } = parseArgs({
  options: { 'tcp-address': { type: 'string', default: '127.0.0.1:0' }, size: { type: 'string' } },
  strict: true,
});
const listenAddr = parseAddress(values['tcp-address']!);

const MAGIC = 0, LINE = 1, SIZE = 2, BODY = 3;

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let state = MAGIC;
  let need = 4; // bytes still to skip (MAGIC, BODY) or to collect (SIZE)
  let size = 0;
  let line = ''; // command line split across chunks (rare)
  socket.on('data', (chunk: Buffer) => {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      if (state === MAGIC || state === BODY) {
        const take = Math.min(need, len - off);
        off += take;
        need -= take;
        if (need > 0) break;
        if (state === BODY) socket.write(OK_FRAME);
        state = LINE;
      } else if (state === LINE) {
        const nl = chunk.indexOf(0x0a, off);
        if (nl < 0) {
          line += chunk.toString('latin1', off, len);
          break;
        }
        const c0 = line.length > 0 ? line.charCodeAt(0) : chunk[off]!;
        const c1 = line.length > 1 ? line.charCodeAt(1) : chunk[off + 1 - line.length];
        line = '';
        off = nl + 1;
        // Commands with a body: IDENTIFY, PUB, MPUB, DPUB (AUTH too; not sent by the bench).
        if (c0 === 0x49 /* I */ || c0 === 0x4d /* M */ || (c0 === 0x50 /* P */ && c1 === 0x55) || c0 === 0x44 /* D */) {
          state = SIZE;
          need = 4;
          size = 0;
        }
      } else {
        size = (size * 256 + chunk[off++]!) >>> 0;
        if (--need === 0) {
          state = BODY;
          need = size;
          if (need === 0) {
            socket.write(OK_FRAME);
            state = LINE;
          }
        }
      }
    }
  });
  socket.on('error', () => socket.destroy());
}

const server = createServer(serve);
const sockets = new Set<Socket>();
server.on('connection', (s) => {
  sockets.add(s);
  s.once('close', () => sockets.delete(s));
});
server.listen(listenAddr.port, listenAddr.host, () => {
  const a = server.address();
  if (a !== null && typeof a === 'object') process.stderr.write(`[ceiling-sink] TCP: listening on ${a.address}:${a.port}\n`);
});
const shutdown = (): void => {
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
