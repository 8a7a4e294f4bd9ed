/**
 * A ProducerPool publishes through several nsqds: round robin over the nodes that are up, and on a
 * connection failure (dial error, broken connection, failed handshake) the node is marked down and
 * the publish moves on to the next one. A down node is retried after a delay that doubles with
 * each consecutive failure. nsqd's own refusals (E_BAD_TOPIC, E_PUB_FAILED...) are not retried.
 * Note: a publish whose connection broke before the OK may have been published; NSQ delivers at
 * least once, and moving it to another node can add one more copy.
 */
import { EventEmitter } from 'node:events';
import type { ClientOptions } from './config.js';
import { NsqError, isConnectionFailure } from './errors.js';
import { Producer, type MessageBody } from './producer.js';

/** ProducerPool options: the client options plus the node retry delays. */
export type ProducerPoolOptions = ClientOptions & {
  /** First delay in ms before a failed node is tried again (1000); doubles per consecutive failure. */
  nodeRetryDelay?: number;
  /** Longest delay in ms before a failed node is tried again (60000). */
  maxNodeRetryDelay?: number;
};

/** The state of one node of a pool. */
export interface PoolNodeStatus {
  address: string;
  /** False while the node is marked down. */
  up: boolean;
  /** Consecutive failures. */
  failures: number;
  /** When a down node may be tried again (ms since epoch; 0 when up). */
  retryAt: number;
}

/** Events of a ProducerPool. */
export interface ProducerPoolEvents {
  /** A node was marked down after `err`; it is retried after `retryInMs`. */
  node_down: [address: string, err: NsqError, retryInMs: number];
  /** A node that was down answered again. */
  node_up: [address: string];
  /** Errors of the underlying producers nobody waited for. */
  error: [err: NsqError];
}

interface PoolNode {
  producer: Producer;
  failures: number;
  retryAt: number;
}

/** Publishes through several nsqds with round robin and failover. */
export class ProducerPool extends EventEmitter<ProducerPoolEvents> {
  private readonly nodes: PoolNode[];
  private readonly retryDelay: number;
  private readonly maxRetryDelay: number;
  private next = 0;

  /** A pool over `addresses` (`host:port` each, at least one); producers connect lazily. */
  constructor(addresses: readonly string[], options: ProducerPoolOptions = {}) {
    super();
    if (addresses.length === 0) throw new NsqError('ERR_INVALID_ARGUMENT', 'a ProducerPool needs at least one nsqd address');
    const { nodeRetryDelay = 1000, maxNodeRetryDelay = 60_000, ...clientOptions } = options;
    if (!(nodeRetryDelay >= 0) || !(maxNodeRetryDelay >= nodeRetryDelay)) throw new NsqError('ERR_CONFIG', 'need 0 ≤ nodeRetryDelay ≤ maxNodeRetryDelay');
    this.retryDelay = nodeRetryDelay;
    this.maxRetryDelay = maxNodeRetryDelay;
    this.nodes = [...new Set(addresses)].map((a) => {
      const producer = new Producer(a, clientOptions);
      producer.on('error', (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
      });
      return { producer, failures: 0, retryAt: 0 };
    });
  }

  /** Each node's address and health. */
  status(): PoolNodeStatus[] {
    return this.nodes.map((n) => ({ address: n.producer.address, up: n.retryAt === 0, failures: n.failures, retryAt: n.retryAt }));
  }

  /** PUB through the next node that is up; resolves on an OK, rejects with nsqd's error or ERR_NO_NSQD. */
  publish(topic: string, body: MessageBody): Promise<void> {
    return this.run((p) => p.publish(topic, body));
  }

  /** MPUB through the next node that is up. */
  mpublish(topic: string, bodies: readonly MessageBody[]): Promise<void> {
    return this.run((p) => p.mpublish(topic, bodies));
  }

  /** DPUB (delivered after `delayMs`) through the next node that is up. */
  deferredPublish(topic: string, body: MessageBody, delayMs: number): Promise<void> {
    return this.run((p) => p.deferredPublish(topic, body, delayMs));
  }

  private async run(op: (p: Producer) => Promise<void>): Promise<void> {
    const n = this.nodes.length;
    const start = this.next;
    this.next = (this.next + 1) % n;
    const now = Date.now();
    const failures: NsqError[] = [];
    for (let i = 0; i < n; i++) {
      const node = this.nodes[(start + i) % n]!;
      if (node.retryAt > now) continue;
      try {
        await op(node.producer);
      } catch (err) {
        if (!isConnectionFailure(err)) throw err;
        this.markDown(node, err as NsqError);
        failures.push(err as NsqError);
        continue;
      }
      this.markUp(node);
      return;
    }
    const why = failures.length > 0 ? failures.map((e) => e.message).join('; ') : 'every node is marked down';
    throw new NsqError('ERR_NO_NSQD', `no nsqd available (${why})`, { cause: failures[failures.length - 1] });
  }

  private markDown(node: PoolNode, err: NsqError): void {
    // Publishes already in flight on a broken node all fail at once: count that as one failure.
    if (node.retryAt > Date.now()) return;
    node.failures++;
    const delay = Math.min(this.retryDelay * 2 ** (node.failures - 1), this.maxRetryDelay);
    node.retryAt = Date.now() + delay;
    this.emit('node_down', node.producer.address, err, delay);
  }

  private markUp(node: PoolNode): void {
    if (node.failures === 0) return;
    const wasDown = node.retryAt !== 0;
    node.failures = 0;
    node.retryAt = 0;
    if (wasDown) this.emit('node_up', node.producer.address);
  }

  /** Close every producer (waiting for their pending answers, as Producer.close does). */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.producer.close()));
  }
}
