import { compress, uncompress } from 'snappyjs';

/**
 * The snappy framing format (what golang/snappy's stream writer emits and nsqd speaks after
 * `snappy` is negotiated): a stream identifier chunk, then chunks of [type 1B][length 3B LE]
 * [data], where data chunks carry the masked CRC-32C of their uncompressed bytes and at most
 * 65536 of them. The block codec is snappyjs; framing and CRC are ours.
 */

/** The stream identifier chunk: type 0xff, length 6, "sNaPpY". */
export const SNAPPY_STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const MAX_UNCOMPRESSED = 65536;
/** Largest chunk body a reader accepts: a compressed 64 KiB block plus its CRC, with margin. */
const MAX_CHUNK_BODY = 4 + 32 + MAX_UNCOMPRESSED + Math.floor(MAX_UNCOMPRESSED / 6);

const CRC32C_TABLE: Int32Array = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-32C (Castagnoli) of buf[start, end). */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC32C_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** The snappy format's masked CRC. */
export function maskedCrc(buf: Uint8Array, start = 0, end = buf.length): number {
  const c = crc32c(buf, start, end);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Encodes a byte stream into snappy frames; the first call also emits the stream identifier. */
export class SnappyFrameEncoder {
  private started = false;

  /** Frames for `data` (compressed chunks, or uncompressed where compression does not help). */
  encode(data: Uint8Array): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      parts.push(SNAPPY_STREAM_IDENTIFIER);
      this.started = true;
    }
    for (let off = 0; off < data.length; off += MAX_UNCOMPRESSED) {
      const piece = Buffer.from(data.buffer, data.byteOffset + off, Math.min(MAX_UNCOMPRESSED, data.length - off));
      const crc = maskedCrc(piece);
      const packed = compress(piece);
      const useCompressed = packed.length < piece.length - piece.length / 8;
      const body = useCompressed ? packed : piece;
      const h = Buffer.allocUnsafe(8);
      const len = body.length + 4;
      h[0] = useCompressed ? 0x00 : 0x01;
      h[1] = len & 0xff;
      h[2] = (len >>> 8) & 0xff;
      h[3] = (len >>> 16) & 0xff;
      h.writeUInt32LE(crc, 4);
      parts.push(h, body);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

/** Decodes snappy frames arriving in arbitrary pieces; an Error on any corruption. */
export class SnappyFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private sawIdentifier = false;

  /** Feed bytes; returns the uncompressed data they completed (possibly none), or an Error. */
  push(chunk: Uint8Array): Buffer[] | Error {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    let pos = 0;
    const buf = this.pending;
    while (buf.length - pos >= 4) {
      const type = buf[pos]!;
      const len = buf[pos + 1]! | (buf[pos + 2]! << 8) | (buf[pos + 3]! << 16);
      if ((type === 0x00 || type === 0x01) && len > MAX_CHUNK_BODY) return new Error('snappy: chunk too large');
      if (buf.length - pos - 4 < len) break;
      const body = buf.subarray(pos + 4, pos + 4 + len);
      pos += 4 + len;
      if (type === 0xff) {
        if (len !== 6 || body.toString('latin1') !== 'sNaPpY') return new Error('snappy: bad stream identifier');
        this.sawIdentifier = true;
        continue;
      }
      if (!this.sawIdentifier) return new Error('snappy: missing stream identifier');
      if (type === 0x00 || type === 0x01) {
        if (len < 4) return new Error('snappy: chunk too short');
        const crc = body.readUInt32LE(0);
        let data: Buffer;
        if (type === 0x00) {
          try {
            data = uncompress(body.subarray(4), MAX_UNCOMPRESSED);
          } catch {
            return new Error('snappy: corrupt input');
          }
        } else {
          data = Buffer.from(body.subarray(4));
          if (data.length > MAX_UNCOMPRESSED) return new Error('snappy: chunk too large');
        }
        if (maskedCrc(data) !== crc) return new Error('snappy: corrupt input (checksum mismatch)');
        if (data.length > 0) out.push(data);
        continue;
      }
      if (type >= 0x02 && type <= 0x7f) return new Error(`snappy: unsupported chunk type ${type}`);
      // 0x80-0xfe: skippable and padding chunks.
    }
    this.pending = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
    return out;
  }
}
