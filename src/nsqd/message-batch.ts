import { MSG_HEADER_LENGTH } from '../protocol/message.js';

/** Message bodies to publish: body i is buf[starts[i], starts[i] + lens[i]), i < count. */
export interface MessageBatch {
  buf: Uint8Array;
  starts: Int32Array;
  lens: Int32Array;
  count: number;
}

/** A batch of one body. */
export function singleMessage(buf: Uint8Array, start: number, len: number): MessageBatch {
  return { buf, starts: Int32Array.of(start), lens: Int32Array.of(len), count: 1 };
}

/** Message i's payload (its 26-byte header, then its body) as one new Buffer. */
export function joinPayload(headers: Uint8Array, i: number, b: MessageBatch): Buffer {
  const len = b.lens[i]!;
  const out = Buffer.allocUnsafe(MSG_HEADER_LENGTH + len);
  out.set(headers.subarray(i * MSG_HEADER_LENGTH, (i + 1) * MSG_HEADER_LENGTH), 0);
  Buffer.prototype.copy.call(b.buf, out, MSG_HEADER_LENGTH, b.starts[i]!, b.starts[i]! + len);
  return out;
}
