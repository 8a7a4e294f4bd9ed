// bitly/timer_metrics as nsq_to_http and nsq_to_nsq use it: keep the last `statusEvery` request
// durations in a ring and, each time the ring wraps, log
// `<prefix> finished <statusEvery> - 99th: %.02fms - 95th: %.02fms - avg: %.02fms` through Go's log.

import { goLog } from './common.js';

/** Summary of the durations currently held. */
export interface TimerStats {
  /** Average, in ms. */
  avg: number;
  /** 95th percentile, in ms. */
  p95: number;
  /** 99th percentile, in ms. */
  p99: number;
}

/** The value at a percentile of sorted durations, with timer_metrics' index rule (ceil(p·n + 0.5), capped). */
export function percentile(perc: number, sorted: readonly number[]): number {
  if (sorted.length === 0) return 0;
  let i = Math.ceil((perc / 100) * sorted.length + 0.5);
  if (i >= sorted.length) i = sorted.length - 1;
  return sorted[i]!;
}

/** Request timings with a status line every `statusEvery` requests (0 disables). */
export class TimerMetrics {
  private readonly timings: number[] = [];
  private position = 0;
  private readonly statusEvery: number;
  private readonly prefix: string;
  private readonly log: (msg: string) => void;

  /** Warns (as timer_metrics does) when 0 < statusEvery < 100, since percentiles of few values mislead. */
  constructor(statusEvery: number, prefix: string, log: (msg: string) => void = goLog) {
    this.statusEvery = statusEvery;
    this.prefix = prefix;
    this.log = log;
    if (statusEvery > 0 && statusEvery < 100) {
      log(`Warning: use more than 100 status values for accurate percentiles (configured with ${statusEvery})`);
    }
  }

  /** Record a request that started at `startMs` (performance.now() time) and ended now. */
  status(startMs: number): void {
    this.statusDuration(performance.now() - startMs);
  }

  /** Record a duration in ms; logs the status line when the ring wraps. */
  statusDuration(ms: number): void {
    if (this.statusEvery === 0) return;
    this.position++;
    let looped = false;
    if (this.position > this.statusEvery) {
      looped = true;
      this.position = 1;
    }
    if (this.position > this.timings.length) this.timings.push(ms);
    else this.timings[this.position - 1] = ms;
    if (!looped) return;
    const s = this.stats();
    this.log(`${this.prefix} finished ${this.statusEvery} - 99th: ${s.p99.toFixed(2)}ms - 95th: ${s.p95.toFixed(2)}ms - avg: ${s.avg.toFixed(2)}ms`);
  }

  /** Average and percentiles of the durations held. */
  stats(): TimerStats {
    const sorted = [...this.timings].sort((a, b) => a - b);
    const total = sorted.reduce((a, b) => a + b, 0);
    return { avg: sorted.length === 0 ? 0 : total / sorted.length, p95: percentile(95, sorted), p99: percentile(99, sorted) };
  }
}

/**
 * The status lines of a tool with several destinations (nsq_to_http, nsq_to_nsq): one
 * TimerMetrics per destination, prefixed `[<addr>]:` (silent when there is only one destination,
 * where it would repeat the aggregate), and one `[aggregate]:`.
 */
export class DestinationMetrics {
  private readonly perAddress = new Map<string, TimerMetrics>();
  private readonly all: TimerMetrics;

  /** Metrics for `addresses`, a status line every `statusEvery` requests (0 disables). */
  constructor(addresses: readonly string[], statusEvery: number) {
    for (const a of addresses) {
      this.perAddress.set(a, addresses.length === 1 ? new TimerMetrics(0, '') : new TimerMetrics(statusEvery, `[${a}]:`));
    }
    this.all = new TimerMetrics(statusEvery, '[aggregate]:');
  }

  /** A request to `address` that started at `startMs` (performance.now() time) ended. */
  destination(address: string, startMs: number): void {
    this.perAddress.get(address)?.status(startMs);
  }

  /** A message whose handling started at `startMs` is done. */
  aggregate(startMs: number): void {
    this.all.status(startMs);
  }
}
