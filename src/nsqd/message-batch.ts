import type { RecordRing } from '../native/record-ring.js';
import type { BodyParts } from '../protocol/body-parts.js';
import { MSG_HEADER_LENGTH } from '../protocol/message.js';

/**
 * Message bodies to publish: body i is buf[starts[i], starts[i] + lens[i]), i < count; or, when
 * `parts` is set, one message (count 1) whose body of lens[0] bytes is `parts` (a PUB that
 * spanned socket reads, held as ranges of them: FrameParser SRC_PARTS).
 */
export interface MessageBatch {
  buf: Uint8Array;
  starts: Int32Array;
  lens: Int32Array;
  count: number;
  parts: BodyParts | null;
}

const EMPTY = new Uint8Array(0);

/**
 * Offset arrays and a one-message batch that publishes reuse instead of allocating per command.
 * One per nsqd: every user hands its batch to Topic.putMessages, which copies the bodies out,
 * before anything else can run.
 */
export class PublishScratch {
  /** MPUB message offsets (parseMpubBody), grown as needed. */
  starts = new Int32Array(0);
  lens = new Int32Array(0);
  private readonly one: MessageBatch = { buf: EMPTY, starts: new Int32Array(1), lens: new Int32Array(1), count: 1, parts: null };

  /** The batch of the one body buf[start, start + len), or `parts` (len bytes); valid until the next call. */
  single(buf: Uint8Array, start: number, len: number, parts: BodyParts | null = null): MessageBatch {
    const one = this.one;
    one.buf = buf;
    one.starts[0] = start;
    one.lens[0] = len;
    one.parts = parts;
    return one;
  }

  /** Drop the references to the last single body's buffers (socket chunks), once it is copied. */
  release(): void {
    this.one.buf = EMPTY;
    this.one.parts = null;
  }
}

/** Store the batch's messages (headers[26 i..] then body i) in `ring`, as many as fit; returns how many. */
export function pushBatchMessages(ring: RecordRing, headers: Uint8Array, b: MessageBatch): number {
  if (b.parts !== null) return ring.pushMessageParts(headers, b.parts) ? 1 : 0;
  return ring.pushMessages(headers, b.buf, b.starts, b.lens, 0, b.count);
}

/** Message i's payload (its 26-byte header, then its body) as one new Buffer. */
export function joinPayload(headers: Uint8Array, i: number, b: MessageBatch): Buffer {
  const len = b.lens[i]!;
  const out = Buffer.allocUnsafe(MSG_HEADER_LENGTH + len);
  out.set(headers.subarray(i * MSG_HEADER_LENGTH, (i + 1) * MSG_HEADER_LENGTH), 0);
  if (b.parts !== null) {
    b.parts.copyTo(out, MSG_HEADER_LENGTH);
  } else {
    Buffer.prototype.copy.call(b.buf, out, MSG_HEADER_LENGTH, b.starts[i]!, b.starts[i]! + len);
  }
  return out;
}
