/**
 * Calling a Consumer's 'message' and 'discard' listeners with go-nsq's handler semantics: a
 * handler that returns (or resolves) finishes the message, one that throws (or rejects) requeues
 * it with the default delay and backoff; a message the handler answered itself, or whose auto
 * response is disabled, is left alone. Sync handlers cost no promise.
 */
import { errorText } from '../internal/log.js';
import type { Message } from './message.js';

/** A 'message' or 'discard' listener. */
export type MessageListener = (msg: Message) => unknown;

type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function failed(msg: Message, err: unknown, auto: boolean, log: Log): void {
  log('error', `Handler returned error (${errorText(err)}) for msg ${msg.id}`);
  if (auto && !msg.isAutoResponseDisabled) msg.requeue(-1, true);
}

async function settle(msg: Message, result: PromiseLike<unknown>, auto: boolean, log: Log): Promise<void> {
  try {
    await result;
  } catch (err) {
    failed(msg, err, auto, log);
    return;
  }
  if (auto && !msg.isAutoResponseDisabled) msg.finish();
}

/** Call every handler with `msg` (this = `thisArg`); with `auto`, finish or requeue by the outcome. */
export function runHandlers(handlers: readonly MessageListener[], thisArg: unknown, msg: Message, auto: boolean, log: Log): void {
  let result: unknown;
  try {
    if (handlers.length === 1) {
      result = handlers[0]!.call(thisArg, msg);
    } else {
      const results = handlers.map((h) => h.call(thisArg, msg));
      result = results.some(isThenable) ? Promise.all(results) : undefined;
    }
  } catch (err) {
    failed(msg, err, auto, log);
    return;
  }
  if (isThenable(result)) void settle(msg, result, auto, log);
  else if (auto && !msg.isAutoResponseDisabled) msg.finish();
}

/** Call the 'discard' listeners, then FIN the message (after their promises settle), as go-nsq's LogFailedMessage then Finish. */
export function runDiscardListeners(listeners: readonly MessageListener[], thisArg: unknown, msg: Message, log: Log): void {
  const waits: PromiseLike<unknown>[] = [];
  for (const h of listeners) {
    try {
      const r = h.call(thisArg, msg);
      if (isThenable(r)) waits.push(r);
    } catch (err) {
      log('error', `discard listener failed: ${errorText(err)}`);
    }
  }
  if (waits.length === 0) msg.finish();
  else Promise.allSettled(waits).then(() => msg.finish(), () => msg.finish());
}
