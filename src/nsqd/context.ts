import type { Logger } from '../internal/log.js';
import type { Backend, FrameScanner } from '../native/backend.js';
import type { BackendQueue } from './backend-queue.js';
import type { OutputPool } from './client-v2.js';
import type { PublishScratch } from './message-batch.js';
import type { NsqdOptions } from './options.js';
import type { Topic } from './topic.js';

/** What happened to a topic or channel, for nsqlookupd registration and nsqd.dat. */
export interface Notification {
  kind: 'topic-created' | 'topic-deleted' | 'channel-created' | 'channel-deleted';
  topic: string;
  channel?: string;
  ephemeral: boolean;
}

/**
 * The narrow view of the Nsqd root that topics, channels and clients get, so that no part
 * imports nsqd.ts (no import cycle) and data flows one way.
 */
export interface NsqdContext {
  readonly opts: NsqdOptions;
  readonly logger: Logger;
  readonly backend: Backend;
  /** Splits MPUB bodies: the backend's scanner for --max-msg-size, one per nsqd (splitMpub keeps no state). */
  readonly mpubSplitter: Pick<FrameScanner, 'splitMpub'>;
  /** Offset arrays and the one-message batch every publish of this nsqd reuses. */
  readonly publishScratch: PublishScratch;
  /** Buffers for clients' coalesced writes, reused across clients. */
  readonly outputPool: OutputPool;
  /** True while topics and channels are re-created from nsqd.dat. */
  readonly isLoading: boolean;
  /** Whether --tls-cert and --tls-key are loaded, so clients may negotiate tls_v1. */
  readonly tlsEnabled: boolean;
  /** Runs the TLS handshake of a client's upgrade (null without cert and key). */
  readonly tlsHandshaker: import('./tls.js').TlsHandshaker | null;
  /** nsqd's client TLS settings (--tls-root-ca-file, --tls-min-version) for https auth servers; null without a root CA file. */
  readonly clientTls: import('./tls.js').ClientTls | null;
  /** The topic, created (and announced) if it does not exist. */
  getTopic(name: string): Topic;
  /** The topic if it exists. */
  getExistingTopic(name: string): Topic | undefined;
  /** Delete a topic and everything in it. */
  deleteExistingTopic(name: string): Promise<Error | null>;
  /** Announce a creation or deletion (lookupd registration, metadata persistence). */
  notify(n: Notification): void;
  /** Record the outcome of a backend write: an Error makes /ping answer NOK. */
  setHealth(err: Error | null): void;
  /**
   * A backend queue for a topic (`name`) or channel (`topic:channel`). A topic's queue keeps
   * each read message until acked (its channel copies are written).
   */
  createBackendQueue(name: string, ephemeral: boolean, kind: 'topic' | 'channel'): BackendQueue;
  /** Run channel.pump() once, soon, after the current batch of work. */
  schedulePump(ch: { pump(): void; pumpScheduled: boolean }): void;
}
