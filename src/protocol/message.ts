/**
 * Message layout shared by the wire (frame type 2), the in-memory queues and the disk queue:
 * [timestamp int64 BE ns][attempts uint16 BE][id 16 ASCII hex bytes][body].
 */

/** Length of a message id on the wire: 16 lowercase hex characters. */
export const MSG_ID_LENGTH = 16;
/** Bytes before the body: timestamp 8 + attempts 2 + id 16. */
export const MSG_HEADER_LENGTH = 26;
/** Offset of the attempts field. */
export const MSG_ATTEMPTS_OFFSET = 8;
/** Offset of the id field. */
export const MSG_ID_OFFSET = 10;

/** ASCII codes of '0'..'9','a'..'f', indexed by nibble. */
export const HEX_DIGITS = Uint8Array.from(Buffer.from('0123456789abcdef', 'latin1'));

/** Byte → two ASCII hex digits packed as (hi << 8) | lo, so encoding is one table read per byte. */
export const HEX_PAIRS: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) t[i] = (HEX_DIGITS[i >> 4]! << 8) | HEX_DIGITS[i & 15]!;
  return t;
})();

/** Write the 32-bit value `v` as 8 lowercase hex digits at `out[off]`. */
export function writeHex32(out: Uint8Array, off: number, v: number): void {
  let p = HEX_PAIRS[(v >>> 24) & 0xff]!;
  out[off] = p >> 8; out[off + 1] = p & 0xff;
  p = HEX_PAIRS[(v >>> 16) & 0xff]!;
  out[off + 2] = p >> 8; out[off + 3] = p & 0xff;
  p = HEX_PAIRS[(v >>> 8) & 0xff]!;
  out[off + 4] = p >> 8; out[off + 5] = p & 0xff;
  p = HEX_PAIRS[v & 0xff]!;
  out[off + 6] = p >> 8; out[off + 7] = p & 0xff;
}
