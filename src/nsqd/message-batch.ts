import { MSG_HEADER_LENGTH } from '../protocol/message.js';

/** Message bodies to publish: body i is buf[starts[i], starts[i] + lens[i]), i < count. */
export interface MessageBatch {
  buf: Uint8Array;
  starts: Int32Array;
  lens: Int32Array;
  count: number;
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
  private readonly one: MessageBatch = { buf: EMPTY, starts: new Int32Array(1), lens: new Int32Array(1), count: 1 };

  /** The batch of the one body buf[start, start + len), valid until the next call. */
  single(buf: Uint8Array, start: number, len: number): MessageBatch {
    const one = this.one;
    one.buf = buf;
    one.starts[0] = start;
    one.lens[0] = len;
    return one;
  }

  /** Drop the reference to the last single body's buffer (a socket chunk), once it is copied. */
  release(): void {
    this.one.buf = EMPTY;
  }
}

/** Message i's payload (its 26-byte header, then its body) as one new Buffer. */
export function joinPayload(headers: Uint8Array, i: number, b: MessageBatch): Buffer {
  const len = b.lens[i]!;
  const out = Buffer.allocUnsafe(MSG_HEADER_LENGTH + len);
  out.set(headers.subarray(i * MSG_HEADER_LENGTH, (i + 1) * MSG_HEADER_LENGTH), 0);
  Buffer.prototype.copy.call(b.buf, out, MSG_HEADER_LENGTH, b.starts[i]!, b.starts[i]! + len);
  return out;
}
