/**
 * RDY across a consumer's connections, as go-nsq's consumer.go does it: max_in_flight split evenly
 * (`min(max(1, floor(max_in_flight / conns)), max_in_flight)`), the sum of RDYs never above
 * max_in_flight, a 5 s retry for a connection left at RDY 0, and periodic redistribution when
 * there are more connections than max_in_flight (or several while backing off).
 */
import { Backoff, type BackoffHost, type BackoffSignal } from './backoff.js';
import type { ClientConfig } from './config.js';
import type { NsqdConnection } from './connection.js';

/** How long a connection left at RDY 0 waits before its RDY update is retried (go-nsq: 5 s). */
export const RDY_RETRY_MS = 5000;

/** What the controller needs from its consumer. */
export interface RdyHost {
  /** The live (subscribed) connections. */
  connections(): NsqdConnection[];
  /** Whether the consumer is stopping. */
  isStopping(): boolean;
  /** Log a line. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** A backoff started. */
  onBackoff(durationMs: number, level: number): void;
  /** The consumer left backoff. */
  onResume(): void;
}

/** The RDY state of one consumer: the RDY total, retry timers, redistribution and the backoff machine. */
export class RdyController implements BackoffHost {
  /** Sum of the RDY counts last sent to all connections. */
  totalRdyCount = 0;
  /** Messages allowed in flight across all connections. */
  maxInFlight: number;
  /** The backoff state machine. */
  readonly backoff: Backoff;
  private needRedistribute = false;
  private readonly retryTimers = new Map<NsqdConnection, NodeJS.Timeout>();
  private redistributeTimer: NodeJS.Timeout | null = null;
  private readonly cfg: ClientConfig;
  private readonly host: RdyHost;

  /** A controller for `host` under `cfg`'s max_in_flight and timeouts. */
  constructor(cfg: ClientConfig, host: RdyHost) {
    this.cfg = cfg;
    this.host = host;
    this.maxInFlight = cfg.maxInFlight;
    this.backoff = new Backoff(cfg, this);
  }

  // BackoffHost
  /** The live connections. */
  connections(): NsqdConnection[] {
    return this.host.connections();
  }

  /** Whether the consumer is stopping. */
  isStopping(): boolean {
    return this.host.isStopping();
  }

  /** Log through the consumer. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.host.log(level, message);
  }

  /** Forward a backoff start to the consumer. */
  onBackoff(durationMs: number, level: number): void {
    this.host.onBackoff(durationMs, level);
  }

  /** Forward a backoff end to the consumer. */
  onResume(): void {
    this.host.onResume();
  }

  /** Start the redistribution ticker (every rdy_redistribute_interval). */
  start(): void {
    if (this.redistributeTimer !== null) return;
    this.redistributeTimer = setInterval(() => this.redistribute(), this.cfg.rdyRedistributeInterval);
    this.redistributeTimer.unref();
  }

  /** Stop every timer. */
  stop(): void {
    if (this.redistributeTimer !== null) clearInterval(this.redistributeTimer);
    this.redistributeTimer = null;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    this.backoff.stop();
  }

  /** Apply a message outcome to the backoff state machine. */
  signal(sig: BackoffSignal): void {
    this.backoff.signal(sig);
  }

  /** The normal RDY of each connection. */
  perConnMaxInFlight(): number {
    const b = this.maxInFlight;
    const n = this.host.connections().length;
    return Math.trunc(Math.min(Math.max(1, b / n), b));
  }

  /** Send the normal RDY to `conn` unless backing off (go-nsq maybeUpdateRDY). */
  maybeUpdateRDY(conn: NsqdConnection): void {
    if (this.backoff.inBackoff || this.backoff.inBackoffTimeout) {
      this.log('debug', `(${conn.address}) skip sending RDY inBackoff:${this.backoff.inBackoff} || inBackoffTimeout:${this.backoff.inBackoffTimeout}`);
      return;
    }
    const count = this.perConnMaxInFlight();
    if (!this.updateRDY(conn, count)) this.log('debug', `(${conn.address}) could not send RDY ${count}`);
  }

  /** Change max_in_flight and re-apply RDY everywhere (0 pauses delivery). */
  changeMaxInFlight(n: number): void {
    if (this.maxInFlight === n) return;
    this.maxInFlight = n;
    for (const c of this.host.connections()) this.maybeUpdateRDY(c);
  }

  /** Set `conn`'s RDY to `count`, capped by nsqd's max and by what max_in_flight leaves; false if not possible. */
  updateRDY(conn: NsqdConnection, count: number): boolean {
    if (conn.closing || !conn.isReady) return false;
    if (count > conn.maxRdyCount) count = conn.maxRdyCount;
    this.clearRetry(conn);
    // Never exceed the global max in flight; truncate where possible (a new connection gets part of it).
    const rdy = conn.rdyCount;
    const maxPossible = this.maxInFlight - this.totalRdyCount + rdy;
    if (maxPossible > 0 && maxPossible < count) count = maxPossible;
    if (maxPossible <= 0 && count > 0) {
      if (rdy === 0) {
        // Retry later so a connection cannot starve forever (any other update cancels this).
        const wanted = count;
        const t = setTimeout(() => {
          this.retryTimers.delete(conn);
          this.updateRDY(conn, wanted);
        }, RDY_RETRY_MS);
        t.unref();
        this.retryTimers.set(conn, t);
      }
      return false;
    }
    this.sendRDY(conn, count);
    return true;
  }

  private sendRDY(conn: NsqdConnection, count: number): void {
    const last = conn.rdyCount;
    if (count === 0 && last === 0) return;
    this.totalRdyCount += count - last;
    conn.rdyCount = count;
    if (count > 0) conn.lastRdyTimestamp = Date.now();
    if (count === last) return;
    conn.writeCommand(`RDY ${count}\n`);
    conn.scheduleFlush();
  }

  private clearRetry(conn: NsqdConnection): boolean {
    const t = this.retryTimers.get(conn);
    if (t === undefined) return false;
    clearTimeout(t);
    this.retryTimers.delete(conn);
    return true;
  }

  /** A connection went away (already removed from the host's list); `left` connections remain. */
  onConnectionClosed(conn: NsqdConnection, left: number): void {
    const rdy = conn.rdyCount;
    this.totalRdyCount -= rdy;
    conn.rdyCount = 0;
    const hadRetry = this.clearRetry(conn);
    // Toggling out of the normal distribution while this connection held RDY: move it elsewhere.
    if ((hadRetry || rdy > 0) && (left === this.maxInFlight || this.backoff.inBackoff)) this.needRedistribute = true;
  }

  /** Whether some connection has in-flight ≥ 85% of its RDY (go-nsq IsStarved). */
  isStarved(): boolean {
    for (const c of this.host.connections()) {
      const threshold = Math.trunc(c.rdyCount * 0.85);
      if (c.messagesInFlight >= threshold && c.messagesInFlight > 0 && !c.closing) return true;
    }
    return false;
  }

  /** One redistribution tick (go-nsq redistributeRDY). */
  redistribute(): void {
    if (this.backoff.inBackoffTimeout) return;
    const conns = this.host.connections();
    if (conns.length === 0) return;
    const maxInFlight = this.maxInFlight;
    if (conns.length > maxInFlight) this.needRedistribute = true;
    if (this.backoff.inBackoff && conns.length > 1) this.needRedistribute = true;
    if (!this.needRedistribute) return;
    this.needRedistribute = false;

    const now = Date.now();
    const possible: NsqdConnection[] = [];
    for (const c of conns) {
      if (c.rdyCount > 0) {
        if (now - c.lastMsgTimestamp > this.cfg.lowRdyIdleTimeout) {
          this.log('debug', `(${c.address}) idle connection, giving up RDY`);
          this.updateRDY(c, 0);
        } else if (now - c.lastRdyTimestamp > this.cfg.lowRdyTimeout) {
          this.log('debug', `(${c.address}) RDY timeout, giving up RDY`);
          this.updateRDY(c, 0);
        }
      }
      possible.push(c);
    }
    let available = (this.backoff.inBackoff ? 1 : maxInFlight) - this.totalRdyCount;
    while (possible.length > 0 && available > 0) {
      available--;
      const i = Math.floor(Math.random() * possible.length);
      const c = possible[i]!;
      possible.splice(i, 1);
      this.log('debug', `(${c.address}) redistributing RDY`);
      this.updateRDY(c, 1);
    }
  }
}
