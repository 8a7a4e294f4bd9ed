/**
 * The Consumer's async iterator: `for await (const msg of consumer)`. A message is finished when
 * the loop asks for the next one (unless it was answered already or auto response is disabled),
 * and leaving the loop early requeues the unanswered current message at once, without backoff.
 */
import type { Message } from './message.js';

/** Where an iterator takes messages from (the Consumer). */
export interface MessageSource {
  /** The next queued message, if any. */
  shift(): Message | undefined;
  /** Whether no message can arrive any more (the consumer closed). */
  readonly exhausted: boolean;
  /** The iterator stopped. */
  detach(it: MessageIterator): void;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/** One `for await` loop over a consumer's messages (one next() at a time, as for-await calls it). */
export class MessageIterator implements AsyncIterator<Message, undefined> {
  private readonly source: MessageSource;
  private readonly manual: boolean;
  private current: Message | null = null;
  private waiter: ((r: IteratorResult<Message, undefined>) => void) | null = null;
  private done = false;

  /** An iterator over `source`; `manual` (disable_auto_response) leaves every response to the loop. */
  constructor(source: MessageSource, manual: boolean) {
    this.source = source;
    this.manual = manual;
  }

  /** Hand `msg` to a waiting next(); false when nobody waits. */
  offer(msg: Message): boolean {
    const w = this.waiter;
    if (w === null) return false;
    this.waiter = null;
    this.current = msg;
    w({ value: msg, done: false });
    return true;
  }

  /** Finish the previous message (auto response) and wait for the next one. */
  next(): Promise<IteratorResult<Message, undefined>> {
    const prev = this.current;
    this.current = null;
    if (prev !== null && !this.manual && !prev.hasResponded && !prev.isAutoResponseDisabled) prev.finish();
    if (this.done) return Promise.resolve(DONE);
    const m = this.source.shift();
    if (m !== undefined) {
      this.current = m;
      return Promise.resolve({ value: m, done: false });
    }
    if (this.source.exhausted) {
      this.stop();
      return Promise.resolve(DONE);
    }
    if (this.waiter !== null) return Promise.reject(new Error('next() called again before the previous next() settled'));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** The loop was left (break, return or throw): requeue the unanswered current message at once. */
  return(): Promise<IteratorResult<Message, undefined>> {
    const cur = this.current;
    this.current = null;
    if (cur !== null && !this.manual && !cur.hasResponded && !cur.isAutoResponseDisabled) cur.requeue(0, false);
    this.stop();
    return Promise.resolve(DONE);
  }

  /** The source closed: a waiting next() ends the loop. */
  end(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) {
      this.stop();
      w(DONE);
    }
  }

  private stop(): void {
    if (this.done) return;
    this.done = true;
    this.source.detach(this);
  }
}
