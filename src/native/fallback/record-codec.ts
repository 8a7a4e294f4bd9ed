import type { RecordCodec } from '../backend.js';

/** TypeScript RecordCodec: the RecordRing's chunk operations in plain loops. */
export const tsRecordCodec: RecordCodec = {
  pushRecords(dest, destPos, src, starts, lens, first, count) {
    if (destPos < 0 || destPos > dest.length || first < 0 || count < 0 || first + count > starts.length || first + count > lens.length) return -1;
    let pos = destPos;
    let done = 0;
    for (let i = first; i < first + count; i++) {
      const st = starts[i]!;
      const len = lens[i]!;
      if (st < 0 || len < 0 || st + len > src.length) return -1;
      if (8 + len > dest.length - pos) break;
      const size = len + 4;
      dest[pos] = size >>> 24;
      dest[pos + 1] = (size >>> 16) & 0xff;
      dest[pos + 2] = (size >>> 8) & 0xff;
      dest[pos + 3] = size & 0xff;
      dest[pos + 4] = 0;
      dest[pos + 5] = 0;
      dest[pos + 6] = 0;
      dest[pos + 7] = 2;
      if (len <= 32) {
        for (let k = 0; k < len; k++) dest[pos + 8 + k] = src[st + k]!;
      } else {
        Buffer.prototype.copy.call(src, dest, pos + 8, st, st + len);
      }
      pos += 8 + len;
      done++;
    }
    return done;
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
