/**
 * Errors the client reports. Every error is an NsqError whose `code` is either the E_* code of an
 * nsqd error frame (`E_BAD_TOPIC`, `E_FIN_FAILED`, ...) or one of the library codes below.
 */

/** Library error codes (errors that did not come from an nsqd error frame). */
export type NsqLibraryErrorCode =
  /** The connection is not (or no longer) established; pending commands fail with it. */
  | 'ERR_NOT_CONNECTED'
  /** The producer or consumer was closed. */
  | 'ERR_STOPPED'
  /** Dialing, a socket error, a timeout or an unexpected close. */
  | 'ERR_CONNECTION'
  /** IDENTIFY, an upgrade (TLS, snappy, deflate) or AUTH failed. */
  | 'ERR_IDENTIFY'
  /** The server sent bytes that are not a valid V2 frame stream. */
  | 'ERR_PROTOCOL'
  /** An option is unknown or out of range. */
  | 'ERR_CONFIG'
  /** The consumer is already connected (or connecting) to that nsqd. */
  | 'ERR_ALREADY_CONNECTED'
  /** An argument (topic, body, delay) is invalid. */
  | 'ERR_INVALID_ARGUMENT'
  /** A lookupd query failed. */
  | 'ERR_LOOKUPD'
  /** Every nsqd of a ProducerPool is down. */
  | 'ERR_NO_NSQD';

/** An error of the nsq-ts client: `code` is an nsqd E_* code or an NsqLibraryErrorCode. */
export class NsqError extends Error {
  /** The nsqd E_* code (e.g. `E_BAD_TOPIC`) or a library code (e.g. `ERR_NOT_CONNECTED`). */
  readonly code: string;
  /** The nsqd address (`host:port`) the error concerns, when there is one. */
  readonly address: string | undefined;

  /** An error with a code, a message and optionally the nsqd address and the underlying cause. */
  constructor(code: NsqLibraryErrorCode | `E_${string}`, message: string, options?: { cause?: unknown; address?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NsqError';
    this.code = code;
    this.address = options?.address;
  }

  /** Whether this error came from an nsqd error frame (its code starts with `E_`). */
  get fromServer(): boolean {
    return this.code.startsWith('E_');
  }
}

/** The error frame codes after which nsqd keeps the connection open (all others close it). */
const NON_FATAL = new Set(['E_FIN_FAILED', 'E_REQ_FAILED', 'E_TOUCH_FAILED']);

/** Whether nsqd closes the connection after an error frame with this code. */
export function isFatalErrorCode(code: string): boolean {
  return !NON_FATAL.has(code);
}

/** An NsqError from an error frame's text `E_CODE description` (the whole text is the message). */
export function errorFromFrame(text: string, address?: string): NsqError {
  const space = text.indexOf(' ');
  const code = space === -1 ? text : text.slice(0, space);
  const valid = /^E_[A-Z_]+$/.test(code);
  return new NsqError(valid ? (code as `E_${string}`) : 'ERR_PROTOCOL', text, { address });
}

/** Whether an error means the nsqd could not be reached or the connection broke (not a refusal by nsqd). */
export function isConnectionFailure(err: unknown): boolean {
  return err instanceof NsqError && (err.code === 'ERR_CONNECTION' || err.code === 'ERR_NOT_CONNECTED' || err.code === 'ERR_IDENTIFY');
}
