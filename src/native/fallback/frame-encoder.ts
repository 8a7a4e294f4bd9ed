import type { FrameEncoder } from '../backend.js';

/** TypeScript FrameEncoder: one TypedArray copy per frame. */
export const tsFrameEncoder: FrameEncoder = {
  gather(out, outOffset, sources, index, offsets, lengths, count) {
    if (count < 0 || outOffset < 0 || outOffset > out.length || count > index.length || count > offsets.length || count > lengths.length) return -1;
    let pos = outOffset;
    for (let i = 0; i < count; i++) {
      const src = sources[index[i]!];
      const off = offsets[i]!;
      const len = lengths[i]!;
      if (src === undefined || off < 0 || len < 0 || off + len > src.length || len > out.length - pos) return -1;
      if (len <= 32) {
        for (let k = 0; k < len; k++) out[pos + k] = src[off + k]!;
      } else {
        Buffer.prototype.copy.call(src, out, pos, off, off + len);
      }
      pos += len;
    }
    return pos;
  },
};
