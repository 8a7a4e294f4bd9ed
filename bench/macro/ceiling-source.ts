/**
 * Delivery ceiling: the least a single Node thread must do to feed bench_reader. Accepts V2
 * connections; answers IDENTIFY (body skipped) and SUB with `OK`; after `RDY n` keeps up to n
 * messages in flight by writing slices of one pre-encoded block of message frames
 * ([size=4+26+--size][type=2][timestamp][attempts=1][16-hex id][zero body]); each FIN (or REQ)
 * line frees one slot, and the freed slots are refilled once per socket chunk. No message is
 * stored or looked up; ids repeat across slices (the reader does not care).
 *
 *   node --import tsx bench/macro/ceiling-source.ts [--tcp-address=127.0.0.1:0] [--size=200]
 * Logs `TCP: listening on <host>:<port>` to stderr like nsqd; SIGTERM/SIGINT closes it.
 */
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { FRAME_MESSAGE, MESSAGE_HEADER, OK_FRAME, parseAddress, parsePositiveInt } from './common.js';

const { values } = parseArgs({
  options: { 'tcp-address': { type: 'string', default: '127.0.0.1:0' }, size: { type: 'string' } },
  strict: true,
});
const listenAddr = parseAddress(values['tcp-address']!);
const size = parsePositiveInt('size', values.size, 200);
const FRAME = 8 + MESSAGE_HEADER + size;

let block = Buffer.alloc(0);
/** A block of at least n pre-encoded message frames with distinct ids. */
function frames(n: number): Buffer {
  if (block.length >= n * FRAME) return block;
  const b = Buffer.alloc(n * FRAME);
  const ts = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < n; i++) {
    const at = i * FRAME;
    b.writeUInt32BE(FRAME - 4, at);
    b.writeUInt32BE(FRAME_MESSAGE, at + 4);
    b.writeBigInt64BE(ts, at + 8);
    b.writeUInt16BE(1, at + 16);
    b.write(i.toString(16).padStart(16, '0'), at + 18, 'latin1');
  }
  block = b;
  return b;
}

const CLOSE_WAIT = Buffer.from([0, 0, 0, 14, 0, 0, 0, 0, ...Buffer.from('CLOSE_WAIT', 'latin1')]);
const MAGIC = 0, LINE = 1, SIZE = 2, BODY = 3;

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let state = MAGIC;
  let need = 4;
  let bodySize = 0;
  let line = '';
  let rdy = 0;
  let inFlight = 0;
  let subscribed = false;

  const pump = (): void => {
    const n = rdy - inFlight;
    if (!subscribed || n <= 0 || socket.destroyed) return;
    socket.write(frames(n).subarray(0, n * FRAME));
    inFlight += n;
  };

  const command = (text: string): void => {
    if (text.startsWith('SUB ')) {
      subscribed = true;
      socket.write(OK_FRAME);
    } else if (text.startsWith('RDY ')) {
      rdy = Number(text.slice(4)) | 0;
    } else if (text === 'CLS') {
      rdy = 0;
      socket.write(CLOSE_WAIT);
    }
  };

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
        if (c0 === 0x46 /* FIN */ || c0 === 0x52 && (line.length > 1 ? line.charCodeAt(1) : chunk[off + 1 - line.length]) === 0x45 /* REQ */) {
          inFlight--;
        } else if (c0 === 0x49 /* IDENTIFY */) {
          state = SIZE;
          need = 4;
          bodySize = 0;
        } else if (c0 !== 0x4e /* NOP */) {
          command(line + chunk.toString('latin1', off, nl));
        }
        line = '';
        off = nl + 1;
      } else {
        bodySize = (bodySize * 256 + chunk[off++]!) >>> 0;
        if (--need === 0) {
          state = BODY;
          need = bodySize;
          if (need === 0) {
            socket.write(OK_FRAME);
            state = LINE;
          }
        }
      }
    }
    if (inFlight < 0) inFlight = 0;
    pump();
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
  if (a !== null && typeof a === 'object') process.stderr.write(`[ceiling-source] TCP: listening on ${a.address}:${a.port}\n`);
});
const shutdown = (): void => {
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
