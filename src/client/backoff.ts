/**
 * go-nsq's consumer backoff state machine (consumer.go startStopContinueBackoff, backoff, resume):
 * one consumer-wide counter moved by the outcome of each message, RDY 0 to every connection while
 * a backoff timer runs, then RDY 1 on one random connection to test the water.
 */
import type { ClientConfig } from './config.js';
import type { NsqdConnection } from './connection.js';

/** The outcome a response signals: a FIN resumes, a REQ with backoff backs off, a REQ without it continues. */
export const enum BackoffSignal {
  Backoff = 0,
  Continue = 1,
  Resume = 2,
}

/** The backoff duration in ms for `level` under the config's strategy (go-nsq's BackoffStrategy.Calculate). */
export function backoffDurationMs(cfg: ClientConfig, level: number): number {
  const strategy = cfg.backoffStrategy;
  const base = cfg.backoffMultiplier * 2 ** level;
  if (strategy === 'exponential') return base;
  if (strategy === 'full_jitter') return Math.floor(Math.random() * base);
  return strategy(level, cfg.backoffMultiplier);
}

/** What the state machine drives: the consumer's connections and its RDY updates. */
export interface BackoffHost {
  /** The live connections. */
  connections(): NsqdConnection[];
  /** The normal per-connection RDY (go-nsq's perConnMaxInFlight). */
  perConnMaxInFlight(): number;
  /** Set a connection's RDY under the max_in_flight rules; false when it could not be set. */
  updateRDY(conn: NsqdConnection, count: number): boolean;
  /** Whether the consumer is stopping (the timer then does nothing). */
  isStopping(): boolean;
  /** Log a line. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** A backoff of `durationMs` at `level` started (RDY 0 was sent everywhere). */
  onBackoff(durationMs: number, level: number): void;
  /** The backoff counter returned to 0 (normal RDY was sent everywhere). */
  onResume(): void;
}

/** The consumer-wide backoff counter and its timer. */
export class Backoff {
  /** The backoff level (go-nsq's backoffCounter); > 0 means in backoff. */
  counter = 0;
  /** Duration of the running backoff timer in ms; > 0 while it runs (go-nsq's backoffDuration). */
  durationMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly cfg: ClientConfig;
  private readonly host: BackoffHost;
  private readonly resumeBound = (): void => this.resume();

  /** A state machine at level 0 driving `host`. */
  constructor(cfg: ClientConfig, host: BackoffHost) {
    this.cfg = cfg;
    this.host = host;
  }

  /** Whether the consumer is backing off (counter > 0). */
  get inBackoff(): boolean {
    return this.counter > 0;
  }

  /** Whether a backoff timer is running (signals are ignored meanwhile). */
  get inBackoffTimeout(): boolean {
    return this.durationMs > 0;
  }

  /**
   * Apply one message outcome. Called before the FIN/REQ it belongs to is written, so a `RDY 0`
   * precedes the REQ that caused it on the wire, as in go-nsq.
   */
  signal(sig: BackoffSignal): void {
    // Many async outcomes must not swing the level to the maximum (or back to normal) at once.
    if (this.inBackoffTimeout) return;
    let updated = false;
    if (sig === BackoffSignal.Resume) {
      if (this.counter > 0) {
        this.counter--;
        updated = true;
      }
    } else if (sig === BackoffSignal.Backoff) {
      if (backoffDurationMs(this.cfg, this.counter + 1) <= this.cfg.maxBackoffDuration) {
        this.counter++;
        updated = true;
      }
    }
    const host = this.host;
    if (this.counter === 0 && updated) {
      const count = host.perConnMaxInFlight();
      host.log('warn', `exiting backoff, returning all to RDY ${count}`);
      for (const c of host.connections()) host.updateRDY(c, count);
      host.onResume();
    } else if (this.counter > 0) {
      const duration = Math.min(backoffDurationMs(this.cfg, this.counter), this.cfg.maxBackoffDuration);
      host.log('warn', `backing off for ${duration}ms (backoff level ${this.counter}), setting all to RDY 0`);
      for (const c of host.connections()) host.updateRDY(c, 0);
      this.start(duration);
      host.onBackoff(duration, this.counter);
    }
  }

  private start(durationMs: number): void {
    this.durationMs = durationMs;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(this.resumeBound, durationMs);
  }

  /** The timer expired: let one message through on one random connection. */
  private resume(): void {
    this.timer = null;
    const host = this.host;
    if (host.isStopping()) {
      this.durationMs = 0;
      return;
    }
    const conns = host.connections();
    if (conns.length === 0) {
      host.log('warn', 'no connection available to resume; backing off for 1s');
      this.start(1000);
      return;
    }
    const choice = conns[Math.floor(Math.random() * conns.length)]!;
    host.log('warn', `(${choice.address}) backoff timeout expired, sending RDY 1`);
    // While in backoff only ever let one message at a time through.
    if (!host.updateRDY(choice, 1)) {
      host.log('warn', `(${choice.address}) error resuming RDY 1; backing off for 1s`);
      this.start(1000);
      return;
    }
    this.durationMs = 0;
  }

  /** Cancel the timer (the consumer stopped). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.durationMs = 0;
  }
}
