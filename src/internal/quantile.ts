// End-to-end processing latency percentiles, as nsqd reports them in /stats and statsd.
//
// Go nsqd keeps, per channel, two bmizerany/perks "targeted" streams (Cormode, Korn,
// Muthukrishnan, Srivastava: "Effective Computation of Biased Quantiles over Data Streams") and
// swaps them every window/2, so a snapshot covers between window/2 and window of history
// (nsqd internal/quantile/quantile.go). This file is a fresh implementation of the same idea:
//
// * The summary is a list of samples sorted by value. Sample i stands for `width` items and its
//   true rank lies in [rmin, rmin + delta], where rmin is the sum of widths up to and including i.
// * Merging (of an insert batch or of another summary) keeps those rank bounds sound by adding the
//   uncertainty of the neighbour on the other side, as in Greenwald–Khanna's combine. A raw batch
//   has width 1 and delta 0, so this degenerates to the familiar CKMS/GK insertion rule.
// * Compression uses the CKMS targeted invariant f(r, n): neighbours are merged only while the
//   merged sample's width + delta stays within f over its whole rank span, which bounds the rank
//   error of a query for target quantile q to error(q) * n.
// * A query picks the sample whose rank interval strays least from ceil(q * n). The smallest and
//   largest values are never merged away, so q = 1 reports the exact maximum.
//
// Differences from perks that do not change what nsqd reports beyond the error bound: deltas come
// from the neighbours instead of f(r) - 1, f is checked over the span rather than at its start
// (checked at the start only, a sample straddling rank qn may overshoot error(q) * n by a factor
// of about 1 + error/q; measured at 1.02x for nsqd's 0.5 target), the first sample is never
// absorbed, and a query on a still-buffered stream uses the same rank rule instead of perks'
// index shortcut.

/** Values buffered by insert() before they are sorted and folded into the summary (perks uses 500). */
const BATCH_SIZE = 500;

/** Widths and deltas of a raw insert batch: every buffered value is one exact item. */
const BATCH_WIDTHS = new Float64Array(BATCH_SIZE).fill(1);
const BATCH_DELTAS = new Float64Array(BATCH_SIZE);

/**
 * The error nsqd effectively gives every percentile: it calls perks' variadic NewTargeted, which
 * applies that library's default epsilon (0.01) to all targets alike.
 */
const NSQD_EPSILON = 0.01;

/** One summary entry: a value standing for `width` items, whose rank is uncertain by `delta`. */
export interface QuantileSample {
  readonly value: number;
  readonly width: number;
  readonly delta: number;
}

/** nsqd's e2e_processing_latency object: sample count and values in ns, or null percentiles when disabled. */
export interface E2eResult {
  count: number;
  percentiles: { quantile: number; value: number }[] | null;
}

/** A CKMS targeted-quantile stream: insert values, query quantiles within each target's error. */
export class TargetedStream {
  private readonly targetQuantiles: Float64Array;
  private readonly targetErrors: Float64Array;

  private readonly batch = new Float64Array(BATCH_SIZE);
  private batchLength = 0;

  // The summary, sorted by value; `total` is the sum of its widths.
  private values = new Float64Array(0);
  private widths = new Float64Array(0);
  private deltas = new Float64Array(0);
  private size = 0;
  private total = 0;

  // Where combine() writes; swapped with the summary afterwards so neither is reallocated per batch.
  private spareValues = new Float64Array(0);
  private spareWidths = new Float64Array(0);
  private spareDeltas = new Float64Array(0);

  /**
   * Build an empty stream from a map of target quantile (0 < q <= 1) to allowed rank error as a
   * fraction of the count (0 < e < 1), e.g. `new Map([[0.99, 0.001]])`; throws RangeError otherwise.
   */
  constructor(targets: ReadonlyMap<number, number>) {
    this.targetQuantiles = new Float64Array(targets.size);
    this.targetErrors = new Float64Array(targets.size);
    let i = 0;
    for (const [quantile, error] of targets) {
      if (!(quantile > 0 && quantile <= 1)) {
        throw new RangeError(`target quantile must be in (0, 1], got ${quantile}`);
      }
      if (!(error > 0 && error < 1)) {
        throw new RangeError(`target error must be in (0, 1), got ${error} for quantile ${quantile}`);
      }
      this.targetQuantiles[i] = quantile;
      this.targetErrors[i] = error;
      i++;
    }
  }

  /** Add one value; O(1) and allocation-free except for the sort-and-merge every 500 values. */
  insert(v: number): void {
    this.batch[this.batchLength++] = v;
    if (this.batchLength === BATCH_SIZE) {
      this.flush();
      this.compress();
    }
  }

  /** The value at quantile q (0..1) within the target error for q, or 0 when the stream is empty. */
  query(q: number): number {
    this.flush();
    const size = this.size;
    if (size === 0) return 0;
    const widths = this.widths;
    const deltas = this.deltas;
    const rank = Math.min(this.total, Math.max(1, Math.ceil(q * this.total)));
    let best = 0;
    let bestStray = Infinity;
    let rankMin = 0;
    for (let i = 0; i < size; i++) {
      rankMin += widths[i];
      const stray = Math.max(rank - rankMin, rankMin + deltas[i] - rank);
      if (stray < bestStray) {
        bestStray = stray;
        best = i;
      } else if (rankMin - rank > bestStray) {
        break; // every later sample starts even further above the wanted rank
      }
    }
    return this.values[best];
  }

  /** Fold another stream's samples (as returned by its samples()) into this one; they need not be sorted. */
  merge(samples: ReadonlyArray<QuantileSample>): void {
    const length = samples.length;
    if (length === 0) return;
    let ordered = samples;
    for (let i = 1; i < length; i++) {
      if (samples[i].value < samples[i - 1].value) {
        // Array sort is stable, so equal values keep the order their widths were summed in.
        ordered = samples.slice().sort((a, b) => a.value - b.value);
        break;
      }
    }
    const values = new Float64Array(length);
    const widths = new Float64Array(length);
    const deltas = new Float64Array(length);
    for (let i = 0; i < length; i++) {
      const s = ordered[i];
      values[i] = s.value;
      widths[i] = s.width;
      deltas[i] = s.delta;
    }
    // Not compressed here (perks does not either): the merged-in error is already bounded, and a
    // merge target is usually a short-lived snapshot. The next full insert batch compresses.
    this.combine(values, widths, deltas, length);
  }

  /** The summary as value-sorted samples, after folding in any buffered inserts. */
  samples(): ReadonlyArray<QuantileSample> {
    this.flush();
    const out: QuantileSample[] = new Array<QuantileSample>(this.size);
    for (let i = 0; i < this.size; i++) {
      out[i] = { value: this.values[i], width: this.widths[i], delta: this.deltas[i] };
    }
    return out;
  }

  /** How many values the stream stands for: everything inserted plus the widths merged in. */
  count(): number {
    return this.total + this.batchLength;
  }

  /** Forget every value, keeping the allocated buffers for reuse (used on window rotation). */
  reset(): void {
    this.batchLength = 0;
    this.size = 0;
    this.total = 0;
  }

  /** Sort the insert buffer and fold it into the summary as exact items. */
  private flush(): void {
    const length = this.batchLength;
    if (length === 0) return;
    const sorted = length === BATCH_SIZE ? this.batch : this.batch.subarray(0, length);
    sorted.sort(); // typed-array sort is numeric and in place
    this.batchLength = 0;
    this.combine(sorted, BATCH_WIDTHS, BATCH_DELTAS, length);
  }

  /**
   * The CKMS targeted invariant, taken at its lowest over a sample's rank span [low, high]: how
   * much width + delta that sample may carry so every target quantile still meets its error.
   * Per target the allowance is 2e(n - r)/(1 - q) below rank qn and 2er/q above it, bottoming
   * out at 2en; using the span's minimum (not just its start, as CKMS and perks do) caps every
   * sample covering rank qn at 2en, which makes a query's rank error at most e * n.
   */
  private allowance(low: number, high: number, n: number): number {
    const quantiles = this.targetQuantiles;
    const errors = this.targetErrors;
    let allowed = Infinity;
    for (let i = 0; i < quantiles.length; i++) {
      const q = quantiles[i];
      const targetRank = q * n;
      let f: number;
      if (low >= targetRank) f = (2 * errors[i] * low) / q;
      else if (high >= targetRank) f = 2 * errors[i] * n;
      else if (q < 1) f = (2 * errors[i] * (n - high)) / (1 - q);
      else continue; // q = 1 limits only the sample holding the maximum
      if (f < allowed) allowed = f;
    }
    return allowed;
  }

  /**
   * Merge a value-sorted run of samples into the summary. Each output sample's rank bounds are
   * its own bounds plus what the other side can contribute below it: the other side's items
   * already passed for the lower bound, and for the upper bound also those its next sample may
   * still hide (that sample's width + delta, less itself when it is strictly larger).
   */
  private combine(bValues: Float64Array, bWidths: Float64Array, bDeltas: Float64Array, bLength: number): void {
    const aLength = this.size;
    const outLength = aLength + bLength;
    this.ensureSpare(outLength);
    const aValues = this.values;
    const aWidths = this.widths;
    const aDeltas = this.deltas;
    const outValues = this.spareValues;
    const outWidths = this.spareWidths;
    const outDeltas = this.spareDeltas;

    let i = 0;
    let j = 0;
    let aPassed = 0; // widths of the summary's samples already written
    let bPassed = 0; // widths of the incoming samples already written
    let previousRankMin = 0;
    for (let k = 0; k < outLength; k++) {
      let value: number;
      let rankMin: number;
      let rankMax: number;
      // On equal values the existing sample goes first, so an incoming sample's next summary
      // neighbour is always strictly larger.
      if (j >= bLength || (i < aLength && aValues[i] <= bValues[j])) {
        value = aValues[i];
        aPassed += aWidths[i];
        let hidden = 0;
        if (j < bLength) hidden = bWidths[j] + bDeltas[j] - (bValues[j] > value ? 1 : 0);
        rankMin = aPassed + bPassed;
        rankMax = rankMin + aDeltas[i] + hidden;
        i++;
      } else {
        value = bValues[j];
        bPassed += bWidths[j];
        let hidden = 0;
        if (i < aLength) hidden = aWidths[i] + aDeltas[i] - 1;
        rankMin = aPassed + bPassed;
        rankMax = rankMin + bDeltas[j] + hidden;
        j++;
      }
      outValues[k] = value;
      outWidths[k] = rankMin - previousRankMin;
      outDeltas[k] = rankMax - rankMin;
      previousRankMin = rankMin;
    }

    this.spareValues = aValues;
    this.spareWidths = aWidths;
    this.spareDeltas = aDeltas;
    this.values = outValues;
    this.widths = outWidths;
    this.deltas = outDeltas;
    this.size = outLength;
    this.total = previousRankMin;
  }

  private ensureSpare(capacity: number): void {
    if (this.spareValues.length >= capacity) return;
    const grown = Math.max(capacity, this.values.length * 2, 64);
    this.spareValues = new Float64Array(grown);
    this.spareWidths = new Float64Array(grown);
    this.spareDeltas = new Float64Array(grown);
  }

  /**
   * Walk from the largest sample down, letting each kept sample absorb its smaller neighbour while
   * the invariant allows. Survivors are packed towards the end (the write index never passes the
   * read index), then moved to the front. The first and last samples keep their values.
   */
  private compress(): void {
    const size = this.size;
    if (size < 3) return;
    const values = this.values;
    const widths = this.widths;
    const deltas = this.deltas;
    const n = this.total;
    let keep = size - 1;
    let rankBeforeKeep = n - widths[keep];
    for (let i = size - 2; i >= 1; i--) {
      const rankBefore = rankBeforeKeep - widths[i];
      const rankMax = rankBeforeKeep + widths[keep] + deltas[keep];
      if (widths[i] + widths[keep] + deltas[keep] <= this.allowance(rankBefore, rankMax, n)) {
        widths[keep] += widths[i];
      } else {
        keep--;
        values[keep] = values[i];
        widths[keep] = widths[i];
        deltas[keep] = deltas[i];
      }
      rankBeforeKeep = rankBefore;
    }
    keep--;
    if (keep > 0) {
      values[keep] = values[0];
      widths[keep] = widths[0];
      deltas[keep] = deltas[0];
      values.copyWithin(0, keep, size);
      widths.copyWithin(0, keep, size);
      deltas.copyWithin(0, keep, size);
    }
    this.size = size - keep;
  }
}

/**
 * nsqd's per-channel latency tracker: two TargetedStreams, rotated every windowMs/2 so a query
 * covers the last window/2 .. window of samples; percentiles as configured (sorted descending).
 */
export class E2eLatency {
  /** The configured percentiles in reporting order (nsqd's flag parser sorts them descending); empty disables tracking. */
  readonly percentiles: readonly number[];

  private readonly targets: ReadonlyMap<number, number>;
  private readonly moveWindowMs: number;
  private readonly now: () => number;
  private current: TargetedStream;
  private previous: TargetedStream;
  private lastMoveWindow: number;

  /**
   * Track the given percentiles over windowMs (nsqd default 10 min; Infinity never rotates),
   * reading time from `now` in ms (default Date.now); throws RangeError if percentiles are
   * configured and windowMs is not positive (Go nsqd would spin forever on a zero window).
   */
  constructor(percentiles: readonly number[], windowMs: number, now: () => number = Date.now) {
    if (percentiles.length > 0 && !(windowMs > 0)) {
      throw new RangeError(`e2e processing latency window must be positive, got ${windowMs} ms`);
    }
    this.percentiles = percentiles.slice();
    this.targets = new Map(this.percentiles.map((p) => [p, NSQD_EPSILON]));
    this.moveWindowMs = windowMs / 2;
    this.now = now;
    this.current = new TargetedStream(this.targets);
    this.previous = new TargetedStream(this.targets);
    this.lastMoveWindow = now();
  }

  /** Record one latency in nanoseconds (FIN time minus message timestamp). */
  insert(latencyNs: number): void {
    if (this.percentiles.length === 0) return;
    const now = this.now();
    if (now - this.lastMoveWindow > this.moveWindowMs) this.rotate(now);
    this.current.insert(latencyNs);
  }

  /** Snapshot as nsqd reports it: {count, percentiles: [{quantile, value}]} or {count: 0, percentiles: null} when no percentiles are configured. */
  result(): E2eResult {
    if (this.percentiles.length === 0) return { count: 0, percentiles: null };
    this.rotate(this.now());
    const merged = new TargetedStream(this.targets);
    merged.merge(this.current.samples());
    merged.merge(this.previous.samples());
    return {
      count: merged.count(),
      percentiles: this.percentiles.map((quantile) => ({ quantile, value: merged.query(quantile) })),
    };
  }

  /** Merge another tracker's current samples into this one's result (topic = union of its channels). */
  mergeFrom(other: E2eLatency): void {
    if (this.percentiles.length === 0 || other.percentiles.length === 0) return;
    this.rotate(this.now());
    // Read `other` as if it had rotated to its own clock, without rotating it: Go merges whatever
    // the channel holds, but nsqd always asks each channel for its stats first, which rotates it.
    const moves = other.pendingMoves(other.now());
    if (moves === 0) {
      this.current.merge(other.current.samples());
      this.previous.merge(other.previous.samples());
    } else if (moves === 1) {
      this.previous.merge(other.current.samples());
    }
    const otherLastMove = moves === 0 ? other.lastMoveWindow : other.lastMoveWindow + moves * other.moveWindowMs;
    if (otherLastMove > this.lastMoveWindow) this.lastMoveWindow = otherLastMove;
  }

  /** How many window moves are due at `now` (Go moves while now is strictly after last move + window/2). */
  private pendingMoves(now: number): number {
    const elapsed = now - this.lastMoveWindow;
    if (!(elapsed > this.moveWindowMs)) return 0;
    return Math.ceil(elapsed / this.moveWindowMs) - 1;
  }

  /** Apply all due moves at once; each swaps the streams and empties the newer one. */
  private rotate(now: number): void {
    const moves = this.pendingMoves(now);
    if (moves === 0) return;
    if (moves % 2 === 1) {
      const older = this.previous;
      this.previous = this.current;
      this.current = older;
    }
    this.current.reset();
    if (moves > 1) this.previous.reset();
    this.lastMoveWindow += moves * this.moveWindowMs;
  }
}

/** Aggregate several channels' trackers into a topic-level result without mutating them. */
export function aggregateE2e(percentiles: readonly number[], parts: readonly E2eLatency[]): E2eResult {
  // Go's topic creates its tracker on meeting the first channel that has one, so a topic with no
  // such channel reports the disabled shape even when percentiles are configured.
  if (percentiles.length === 0 || !parts.some((part) => part.percentiles.length > 0)) {
    return { count: 0, percentiles: null };
  }
  // A snapshot-only tracker: it never rotates, the parts' own clocks decide what is still live.
  const topic = new E2eLatency(percentiles, Number.POSITIVE_INFINITY);
  for (const part of parts) topic.mergeFrom(part);
  return topic.result();
}
