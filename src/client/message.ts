/**
 * A message delivered to a Consumer. Its fields are read lazily from the frame bytes
 * ([timestamp int64 BE ns][attempts uint16 BE][id 16 hex bytes][body]), so a message the handler
 * only finishes costs one small object; FIN/REQ/TOUCH copy the id bytes straight from the frame.
 */
import { MSG_ATTEMPTS_OFFSET, MSG_HEADER_LENGTH, MSG_ID_OFFSET } from '../protocol/message.js';
import type { NsqdConnection } from './connection.js';
import { NsqError } from './errors.js';

/** What a message reports its responses to (the Consumer). */
export interface MessageOwner {
  /** FIN was asked for (once per message). */
  onMessageFinish(msg: Message): void;
  /** REQ was asked for with `delayMs` (-1: the default policy) and whether it signals backoff. */
  onMessageRequeue(msg: Message, delayMs: number, backoff: boolean): void;
  /** TOUCH was asked for. */
  onMessageTouch(msg: Message): void;
}

/** One message from nsqd; respond with finish(), requeue() or touch() (or let the Consumer do it). */
export class Message {
  /** Delivery attempts so far, this one included (nsqd counts from 1). */
  readonly attempts: number;
  /** The connection the message came on; responses go back on it. @internal */
  readonly conn: NsqdConnection;
  /** The frame bytes; the message occupies frame[offset, end). @internal */
  readonly frame: Buffer;
  /** Offset of the message (its timestamp) in `frame`. @internal */
  readonly offset: number;
  private readonly end: number;
  private readonly owner: MessageOwner;
  private responded = false;
  private autoResponseDisabled = false;
  private idText: string | undefined;
  private bodyBuf: Buffer | undefined;

  /** A view of a message frame's data `frame[offset, end)` received on `conn`. @internal */
  constructor(owner: MessageOwner, conn: NsqdConnection, frame: Buffer, offset: number, end: number) {
    this.owner = owner;
    this.conn = conn;
    this.frame = frame;
    this.offset = offset;
    this.end = end;
    this.attempts = (frame[offset + MSG_ATTEMPTS_OFFSET]! << 8) | frame[offset + MSG_ATTEMPTS_OFFSET + 1]!;
  }

  /** The 16-character hex message id. */
  get id(): string {
    return (this.idText ??= this.frame.toString('latin1', this.offset + MSG_ID_OFFSET, this.offset + MSG_HEADER_LENGTH));
  }

  /** When nsqd received the message, in nanoseconds since the Unix epoch. */
  get timestamp(): bigint {
    return this.frame.readBigInt64BE(this.offset);
  }

  /** The message body: a view into the received frame, which is never reused; it keeps that socket chunk alive, so copy it to keep it long. */
  get body(): Buffer {
    return (this.bodyBuf ??= this.frame.subarray(this.offset + MSG_HEADER_LENGTH, this.end));
  }

  /** The `host:port` of the nsqd that delivered the message. */
  get nsqdAddress(): string {
    return this.conn.address;
  }

  /** Whether finish() or requeue() was called (later calls are ignored). */
  get hasResponded(): boolean {
    return this.responded;
  }

  /** The body parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.body.toString('utf8')) as T;
  }

  /** Keep the Consumer from finishing or requeueing this message when its handler settles. */
  disableAutoResponse(): void {
    this.autoResponseDisabled = true;
  }

  /** Whether disableAutoResponse() was called. */
  get isAutoResponseDisabled(): boolean {
    return this.autoResponseDisabled;
  }

  /** FIN: the message is done; it also counts as a success for the backoff state machine. */
  finish(): void {
    if (this.responded) return;
    this.responded = true;
    this.owner.onMessageFinish(this);
  }

  /**
   * REQ: put the message back, delivered again after `delayMs` (default: default_requeue_delay ×
   * attempts, capped at max_requeue_delay); `backoff` (default true) makes the Consumer back off.
   */
  requeue(delayMs = -1, backoff = true): void {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || (delayMs < 0 && delayMs !== -1)) {
      throw new NsqError('ERR_INVALID_ARGUMENT', `requeue delay must be a number of ms ≥ 0 (or -1), got ${String(delayMs)}`);
    }
    if (this.responded) return;
    this.responded = true;
    this.owner.onMessageRequeue(this, delayMs, backoff);
  }

  /** REQ without signalling backoff (go-nsq's RequeueWithoutBackoff). */
  requeueWithoutBackoff(delayMs = -1): void {
    this.requeue(delayMs, false);
  }

  /** TOUCH: reset nsqd's timeout for this message; ignored after a response. */
  touch(): void {
    if (this.responded) return;
    this.owner.onMessageTouch(this);
  }
}
