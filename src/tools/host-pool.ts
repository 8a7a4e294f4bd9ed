// bitly/go-hostpool as nsq_to_http and nsq_to_nsq use it to pick a destination. The standard pool
// is round robin that skips hosts marked dead: a failure marks a host dead for 30 s, each retry
// doubles the delay up to 900 s, and when every host is dead all are revived. The epsilon-greedy
// pool explores round robin with probability epsilon (0.3, decaying ×0.9 per exploration down to
// 0.01) and otherwise picks a host at random weighted by 1/average response time, the average
// being weighted over 120 buckets that rotate every decayDuration/120 (5 min / 120).

const INITIAL_RETRY_DELAY_MS = 30_000;
const MAX_RETRY_INTERVAL_MS = 900_000;
const EPSILON_BUCKETS = 120;
const EPSILON_DECAY = 0.9;
const MIN_EPSILON = 0.01;
const INITIAL_EPSILON = 0.3;
const DEFAULT_DECAY_DURATION_MS = 5 * 60_000;

interface HostEntry {
  host: string;
  dead: boolean;
  nextRetry: number;
  retryDelay: number;
  counts: number[];
  values: number[];
  index: number;
}

/** A pick from a pool as one object with its mark() on the prototype (no closure per message). */
class Pick implements HostPoolResponse {
  private marked = false;
  readonly host: string;
  constructor(
    private readonly pool: StandardHostPool,
    private readonly entry: HostEntry,
    private readonly started: number,
  ) {
    this.host = entry.host;
  }

  mark(err: unknown): void {
    if (this.marked) return;
    this.marked = true;
    this.pool.report(this.entry, this.started, err);
  }
}

/** One pick from a pool: the host, and mark() to report the outcome (only the first call counts). */
export interface HostPoolResponse {
  readonly host: string;
  /** Report success (no error) or failure; the epsilon-greedy pool also records the response time. */
  mark(err: unknown): void;
}

/** A pool of destination hosts (go-hostpool's HostPool). */
export interface HostPool {
  /** Pick the next host. */
  get(): HostPoolResponse;
  /** Stop background timers. */
  close(): void;
}

/** go-hostpool's standard round-robin pool over `hosts`. */
export class StandardHostPool implements HostPool {
  protected readonly list: HostEntry[];
  private nextIndex = 0;

  /** A pool over `hosts` (at least one). */
  constructor(hosts: readonly string[]) {
    this.list = hosts.map((host) => ({ host, dead: false, nextRetry: 0, retryDelay: INITIAL_RETRY_DELAY_MS, counts: [], values: [], index: 0 }));
  }

  /** The next host: see choose(). */
  get(): HostPoolResponse {
    return this.response(this.choose(), performance.now());
  }

  /** The next live host in round-robin order (or a dead one due for a retry). */
  protected choose(): HostEntry {
    return this.roundRobin();
  }

  /** Nothing to stop for the standard pool. */
  close(): void {}

  protected response(entry: HostEntry, started: number): HostPoolResponse {
    return new Pick(this, entry, started);
  }

  /** The outcome of a pick (see Pick.mark). */
  report(entry: HostEntry, started: number, err: unknown): void {
    if (err === null || err === undefined) this.markSuccess(entry, performance.now() - started);
    else this.markFailed(entry);
  }

  protected roundRobin(): HostEntry {
    const now = Date.now();
    const n = this.list.length;
    for (let i = 0; i < n; i++) {
      const idx = (i + this.nextIndex) % n;
      const h = this.list[idx]!;
      if (!h.dead) {
        this.nextIndex = idx + 1;
        return h;
      }
      if (h.nextRetry < now) {
        willRetry(h);
        this.nextIndex = idx + 1;
        return h;
      }
    }
    // Every host is down: revive them all.
    for (const h of this.list) h.dead = false;
    this.nextIndex = 0;
    return this.list[0]!;
  }

  protected markSuccess(entry: HostEntry, _elapsedMs: number): void {
    entry.dead = false;
  }

  protected markFailed(entry: HostEntry): void {
    if (entry.dead) return;
    entry.dead = true;
    entry.retryDelay = INITIAL_RETRY_DELAY_MS;
    entry.nextRetry = Date.now() + entry.retryDelay;
  }
}

function willRetry(h: HostEntry): void {
  h.retryDelay = Math.min(h.retryDelay * 2, MAX_RETRY_INTERVAL_MS);
  h.nextRetry = Date.now() + h.retryDelay;
}

function weightedAverageResponseTime(h: HostEntry): number {
  let value = 0;
  let last = 0;
  for (let i = 1; i <= EPSILON_BUCKETS; i++) {
    const pos = (h.index + i) % EPSILON_BUCKETS;
    const count = h.counts[pos]!;
    // An empty bucket repeats the previous bucket's average.
    if (count > 0) last = h.values[pos]! / count;
    value += last * (i / EPSILON_BUCKETS);
  }
  return value;
}

/** go-hostpool's epsilon-greedy pool with the linear value calculator (score = 1 / average ms). */
export class EpsilonGreedyHostPool extends StandardHostPool {
  private epsilon = INITIAL_EPSILON;
  private readonly decayTimer: NodeJS.Timeout;

  /** A pool over `hosts`; `decayDurationMs` ≤ 0 means 5 minutes. */
  constructor(hosts: readonly string[], decayDurationMs = 0) {
    super(hosts);
    for (const h of this.list) {
      h.counts = new Array<number>(EPSILON_BUCKETS).fill(0);
      h.values = new Array<number>(EPSILON_BUCKETS).fill(0);
    }
    const decay = decayDurationMs > 0 ? decayDurationMs : DEFAULT_DECAY_DURATION_MS;
    this.decayTimer = setInterval(() => {
      for (const h of this.list) {
        h.index = (h.index + 1) % EPSILON_BUCKETS;
        h.counts[h.index] = 0;
        h.values[h.index] = 0;
      }
    }, decay / EPSILON_BUCKETS);
    this.decayTimer.unref();
  }

  /** Stop the bucket rotation timer. */
  override close(): void {
    clearInterval(this.decayTimer);
  }

  /** Explore round robin with probability epsilon, else a random host weighted by speed. */
  protected override choose(): HostEntry {
    if (Math.random() < this.epsilon) {
      this.epsilon = Math.max(this.epsilon * EPSILON_DECAY, MIN_EPSILON);
      return this.roundRobin();
    }
    const now = Date.now();
    const possible: { h: HostEntry; value: number }[] = [];
    let sum = 0;
    for (const h of this.list) {
      if (h.dead && h.nextRetry >= now) continue;
      const v = weightedAverageResponseTime(h);
      if (v > 0) {
        possible.push({ h, value: 1 / v });
        sum += 1 / v;
      }
    }
    let ceiling = 0;
    const pickAt = Math.random();
    for (const p of possible) {
      ceiling += p.value / sum;
      if (pickAt <= ceiling) {
        if (p.h.dead) willRetry(p.h);
        return p.h;
      }
    }
    return this.roundRobin();
  }

  protected override markSuccess(entry: HostEntry, elapsedMs: number): void {
    super.markSuccess(entry, elapsedMs);
    entry.counts[entry.index]! += 1;
    entry.values[entry.index]! += Math.trunc(elapsedMs);
  }
}

/** The pool a tool's `--mode` asks for: epsilon-greedy for `epsilon-greedy`, the standard pool otherwise. */
export function hostPoolFor(mode: string, hosts: readonly string[]): HostPool {
  return mode === 'epsilon-greedy' ? new EpsilonGreedyHostPool(hosts) : new StandardHostPool(hosts);
}

/** The modes that send each message to one destination. */
export type PickMode = 'round-robin' | 'hostpool' | 'epsilon-greedy';

/** Whether `mode` is one of the modes that pick a single destination. */
export function isPickMode(mode: string): mode is PickMode {
  return mode === 'round-robin' || mode === 'hostpool' || mode === 'epsilon-greedy';
}

function noMark(): void {}

/**
 * Picks one destination per message as nsq_to_http and nsq_to_nsq do: `round-robin` takes
 * addresses[counter % n] with a counter that starts at 1 (so the second address goes first);
 * `hostpool` / `epsilon-greedy` ask the host pool, and the pick's mark() reports the outcome.
 */
export class DestinationPicker {
  private counter = 0;
  private readonly pool: HostPool | null;
  /** round-robin: one reusable response per host (mark() does nothing). */
  private readonly fixed: readonly HostPoolResponse[];

  /** A picker over `hosts` (at least one). */
  constructor(mode: PickMode, hosts: readonly string[]) {
    this.pool = mode === 'round-robin' ? null : hostPoolFor(mode, hosts);
    this.fixed = this.pool === null ? hosts.map((host) => ({ host, mark: noMark })) : [];
  }

  /** The destination for the next message. */
  pick(): HostPoolResponse {
    if (this.pool !== null) return this.pool.get();
    this.counter++;
    return this.fixed[this.counter % this.fixed.length]!;
  }

  /** Stop the pool's timers. */
  close(): void {
    this.pool?.close();
  }
}
