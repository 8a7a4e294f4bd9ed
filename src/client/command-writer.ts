/**
 * The write side of a connection: commands are appended to one output buffer and handed to the
 * transport by flush(), so many commands (a batch of FINs, pipelined PUBs) leave in one socket
 * write. Bytes handed over are never rewritten: a chunk is only appended to, then replaced.
 */
import { MSG_ID_LENGTH } from '../protocol/message.js';

const OUT_CHUNK = 64 * 1024;

/** An output buffer of V2 commands; subclasses send what takePending() returns. */
export abstract class CommandWriter {
  private out: Buffer = Buffer.allocUnsafe(OUT_CHUNK);
  private outStart = 0;
  private outPos = 0;

  /** Send everything appended so far (subclasses call takePending()). */
  abstract flush(): void;

  /** The bytes appended since the last call, or null when there are none. */
  protected takePending(): Buffer | null {
    if (this.outPos === this.outStart) return null;
    const data = this.out.subarray(this.outStart, this.outPos);
    this.outStart = this.outPos;
    if (this.out.length - this.outPos < 512) {
      this.out = Buffer.allocUnsafe(OUT_CHUNK);
      this.outStart = 0;
      this.outPos = 0;
    }
    return data;
  }

  /** Room for `n` more bytes at outPos (a fresh chunk when needed; pending bytes are handed to the socket first). */
  private reserve(n: number): Buffer {
    if (this.outPos + n > this.out.length) {
      // The pending bytes go to the socket first, so the order of commands is kept.
      this.flush();
      this.out = Buffer.allocUnsafe(Math.max(OUT_CHUNK, n));
      this.outStart = 0;
      this.outPos = 0;
    }
    return this.out;
  }

  /** Append raw bytes to the output buffer (sent on the next flush). */
  writeRaw(bytes: Uint8Array): void {
    const out = this.reserve(bytes.length);
    out.set(bytes, this.outPos);
    this.outPos += bytes.length;
  }

  /** Append `line` (ending in `\n`, latin1) and, if given, `[size int32][body]` (a string body is UTF-8). */
  writeCommand(line: string, body?: Uint8Array | string): void {
    if (body === undefined) {
      const out = this.reserve(line.length);
      this.outPos += out.write(line, this.outPos, 'latin1');
      return;
    }
    const bodyLen = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
    const out = this.reserve(line.length + 4 + bodyLen);
    const p = this.outPos + out.write(line, this.outPos, 'latin1');
    out.writeUInt32BE(bodyLen, p);
    if (typeof body === 'string') out.write(body, p + 4, 'utf8');
    else out.set(body, p + 4);
    this.outPos = p + 4 + bodyLen;
  }

  /** Append `line` and an MPUB body: `[size int32][count int32]([len int32][bytes])×count`. */
  writeMultiCommand(line: string, bodies: readonly (Uint8Array | string)[]): void {
    let size = 4;
    for (const b of bodies) size += 4 + (typeof b === 'string' ? Buffer.byteLength(b, 'utf8') : b.length);
    const out = this.reserve(line.length + 4 + size);
    let p = this.outPos + out.write(line, this.outPos, 'latin1');
    out.writeUInt32BE(size, p);
    out.writeUInt32BE(bodies.length, p + 4);
    p += 8;
    for (const b of bodies) {
      if (typeof b === 'string') {
        const n = out.write(b, p + 4, 'utf8');
        out.writeUInt32BE(n, p);
        p += 4 + n;
      } else {
        out.writeUInt32BE(b.length, p);
        out.set(b, p + 4);
        p += 4 + b.length;
      }
    }
    this.outPos = p;
  }

  /** Append `CMD <16-byte id>` + `suffix` + `\n` with the id copied from `src[idAt, idAt+16)` (FIN, TOUCH, REQ). */
  writeIdCommand(cmd: string, src: Buffer, idAt: number, suffix: string): void {
    const n = cmd.length + 1 + MSG_ID_LENGTH + suffix.length + 1;
    const out = this.reserve(n);
    let p = this.outPos;
    p += out.write(cmd, p, 'latin1');
    out[p++] = 0x20;
    src.copy(out, p, idAt, idAt + MSG_ID_LENGTH);
    p += MSG_ID_LENGTH;
    if (suffix.length > 0) p += out.write(suffix, p, 'latin1');
    out[p++] = 0x0a;
    this.outPos = p;
  }
}
