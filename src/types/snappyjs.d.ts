declare module 'snappyjs' {
  /** Compress a buffer into one raw snappy block. */
  export function compress(input: Buffer): Buffer;
  /** Decompress one raw snappy block; throws on corrupt input or when it exceeds maxLength. */
  export function uncompress(input: Buffer, maxLength?: number): Buffer;
}
