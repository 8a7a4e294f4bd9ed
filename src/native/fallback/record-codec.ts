import type { RecordCodec } from '../backend.js';
import { FRAME_TYPE_MESSAGE, writeFrameHeader } from '../../protocol/frames.js';
import { MSG_HEADER_LENGTH } from '../../protocol/message.js';

/**
 * Append frames [size][type 2][payload] for i in [first, first + count) while they fit; the
 * payload is headers[26 i, +26) (when given) then src[starts[i], +lens[i]). Returns how many, or
 * -1 on out-of-range arguments.
 */
function pushFrames(dest: Uint8Array, destPos: number, headers: Uint8Array | null, src: Uint8Array, starts: Int32Array, lens: Int32Array, first: number, count: number): number {
  if (destPos < 0 || destPos > dest.length || first < 0 || count < 0 || first + count > starts.length || first + count > lens.length) return -1;
  const hl = headers === null ? 0 : MSG_HEADER_LENGTH;
  let pos = destPos;
  let done = 0;
  for (let i = first; i < first + count; i++) {
    const st = starts[i]!;
    const len = lens[i]!;
    if (st < 0 || len < 0 || st + len > src.length) return -1;
    if (8 + hl + len > dest.length - pos) break;
    writeFrameHeader(dest, pos, hl + len + 4, FRAME_TYPE_MESSAGE);
    if (headers !== null) {
      const h = i * MSG_HEADER_LENGTH;
      for (let k = 0; k < MSG_HEADER_LENGTH; k++) dest[pos + 8 + k] = headers[h + k]!;
    }
    const at = pos + 8 + hl;
    if (len <= 32) {
      for (let k = 0; k < len; k++) dest[at + k] = src[st + k]!;
    } else {
      Buffer.prototype.copy.call(src, dest, at, st, st + len);
    }
    pos = at + len;
    done++;
  }
  return done;
}

/** TypeScript RecordCodec: the RecordRing's chunk operations in plain loops. */
export const tsRecordCodec: RecordCodec = {
  pushRecords(dest, destPos, src, starts, lens, first, count) {
    return pushFrames(dest, destPos, null, src, starts, lens, first, count);
  },

  pushMessages(dest, destPos, headers, src, starts, lens, first, count) {
    if (first + count > Math.floor(headers.length / MSG_HEADER_LENGTH)) return -1;
    return pushFrames(dest, destPos, headers, src, starts, lens, first, count);
  },

  allocChunk(size) {
    return Buffer.allocUnsafe(size);
  },

  scanRecords(buf, readPos, writePos, max, outOffsets, outLens) {
    if (readPos < 0 || readPos > writePos || writePos > buf.length || max < 0) return -1;
    const cap = Math.min(max, outOffsets.length, outLens.length);
    let pos = readPos;
    let n = 0;
    while (n < cap && writePos - pos >= 8) {
      const size = ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
      if (size < 4 || size - 4 > writePos - pos - 8) return -1;
      outOffsets[n] = pos;
      outLens[n] = size - 4;
      pos += 8 + (size - 4);
      n++;
    }
    return n;
  },
};
