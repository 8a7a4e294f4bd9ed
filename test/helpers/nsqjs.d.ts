// Minimal typings for the parts of nsqjs 0.13.0 the interoperability tests use (the package ships
// none). Ambient on purpose: no top-level import/export, so `import nsq from 'nsqjs'` resolves here.
declare module 'nsqjs' {
  import { EventEmitter } from 'node:events';

  /** A delivered message (lib/message.js). */
  export class Message extends EventEmitter {
    readonly id: string;
    readonly timestamp: bigint;
    readonly attempts: number;
    readonly body: Buffer;
    hasResponded: boolean;
    touchCount: number;
    json(): unknown;
    timeUntilTimeout(hard?: boolean): number | null;
    finish(): void;
    /** delay in ms (default requeueDelay); backoff defaults to true. */
    requeue(delay?: number, backoff?: boolean): void;
    touch(): void;
  }

  /** Reader options (lib/config.js ReaderConfig); only the ones used here are typed precisely. */
  export interface ReaderOptions {
    nsqdTCPAddresses?: string | string[];
    lookupdHTTPAddresses?: string | string[];
    maxInFlight?: number;
    maxAttempts?: number;
    requeueDelay?: number;
    maxBackoffDuration?: number;
    heartbeatInterval?: number;
    messageTimeout?: number;
    clientId?: string;
    [option: string]: unknown;
  }

  /** A consumer (lib/reader.js). */
  export class Reader extends EventEmitter {
    constructor(topic: string, channel: string, options: ReaderOptions);
    connect(): void;
    close(): void;
    pause(): void;
    unpause(): void;
    isPaused(): boolean;
  }

  /** A producer bound to one nsqd (lib/writer.js). */
  export class Writer extends EventEmitter {
    constructor(host: string, port: number, options?: Record<string, unknown>);
    ready: boolean;
    connect(): void;
    close(): void;
    publish(topic: string, msgs: string | Buffer | object | (string | Buffer | object)[], callback?: (err?: Error | null) => void): void;
    deferPublish(topic: string, msg: string | Buffer | object | [string | Buffer | object], timeMs: number, callback?: (err?: Error | null) => void): void;
  }

  const nsq: {
    Message: typeof Message;
    Reader: typeof Reader;
    Writer: typeof Writer;
  };
  export default nsq;
}
