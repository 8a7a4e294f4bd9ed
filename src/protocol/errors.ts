/**
 * Errors a protocol handler returns to a client. The wire text is always `CODE description`.
 * NSQ treats every error as fatal (the connection is closed after the error frame) except
 * E_FIN_FAILED, E_REQ_FAILED and E_TOUCH_FAILED.
 */
export class ClientError extends Error {
  /** The E_* code, e.g. `E_FIN_FAILED`. */
  readonly code: string;
  /** The description after the code. */
  readonly description: string;
  /** Whether nsqd closes the connection after sending this error. */
  readonly fatal: boolean;

  constructor(code: string, description: string, options?: { cause?: unknown; fatal?: boolean }) {
    super(description === '' ? code : `${code} ${description}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClientError';
    this.code = code;
    this.description = description;
    this.fatal = options?.fatal ?? false;
  }

  /** Bytes of the error frame's data: `CODE description`. */
  get wireText(): string {
    return this.message;
  }
}

/** A client error after which nsqd closes the connection. */
export class FatalClientError extends ClientError {
  constructor(code: string, description: string, options?: { cause?: unknown }) {
    super(code, description, { ...options, fatal: true });
    this.name = 'FatalClientError';
  }
}
