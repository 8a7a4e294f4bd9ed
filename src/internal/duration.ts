// Go time.Duration parsing and formatting. NSQ's flags, config files, /info and log lines all use
// Go's duration syntax ("300ms", "1h0m0s"), so both directions follow Go's time package exactly,
// including its error texts. Internally everything is integer nanoseconds (BigInt) so that a
// round trip never picks up float noise; the public unit is milliseconds.

const NANOS_PER_MS = 1_000_000;

/** Nanoseconds per unit for every suffix Go's time.ParseDuration accepts. */
const UNIT_NANOS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // U+00B5 micro sign
  ['\u03bcs', 1_000n], // U+03BC Greek small letter mu
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const INT64_MAX = (1n << 63n) - 1n;
const INT64_LIMIT = 1n << 63n; // magnitude of int64 min

/**
 * Quote a string the way Go's time package does in its error messages: double quotes, `"` and
 * `\` backslash-escaped, and every byte of a non-ASCII or control character written as `\xNN`.
 */
function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x80 || cp < 0x20) {
      for (const byte of Buffer.from(ch, 'utf8')) out += '\\x' + byte.toString(16).padStart(2, '0');
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return out + '"';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * Parse a Go duration string ("300ms", "-1.5h", "2h45m", "0") into milliseconds (a float, so
 * sub-millisecond values survive); throws an Error with Go's message on bad input.
 */
export function parseDuration(s: string): number {
  return Number(parseDurationNanos(s)) / NANOS_PER_MS;
}

/**
 * Parse a Go duration string into integer nanoseconds, mirroring time.ParseDuration step by step
 * (including its overflow checks against int64).
 */
export function parseDurationNanos(s: string): bigint {
  const orig = s;
  const invalid = (): Error => new Error('time: invalid duration ' + goTimeQuote(orig));
  let neg = false;
  let i = 0;
  if (s.length > 0 && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    i = 1;
  }
  // Go special-cases a bare "0" (optionally signed): no unit needed.
  if (s.slice(i) === '0') return 0n;
  if (i === s.length) throw invalid();

  let total = 0n;
  while (i < s.length) {
    // The next character must be [0-9.]
    if (!(s[i] === '.' || isDigit(s[i]))) throw invalid();

    // Integer part.
    const intStart = i;
    let whole = 0n;
    while (isDigit(s[i])) {
      whole = whole * 10n + BigInt(s.charCodeAt(i) - 48);
      if (whole > INT64_LIMIT) throw invalid(); // Go's leadingInt overflow
      i++;
    }
    const pre = i !== intStart;

    // Fraction part: digits beyond what fits are consumed but ignored, as in Go.
    let frac = 0n;
    let scale = 1;
    let post = false;
    if (s[i] === '.') {
      i++;
      const fracStart = i;
      let overflow = false;
      while (isDigit(s[i])) {
        if (!overflow) {
          const next = frac * 10n + BigInt(s.charCodeAt(i) - 48);
          if (next > INT64_LIMIT) overflow = true;
          else {
            frac = next;
            scale *= 10;
          }
        }
        i++;
      }
      post = i !== fracStart;
    }
    if (!pre && !post) throw invalid(); // e.g. ".s" or "-.s"

    // Unit: everything up to the next '.' or digit.
    const unitStart = i;
    while (i < s.length && s[i] !== '.' && !isDigit(s[i])) i++;
    if (i === unitStart) throw new Error('time: missing unit in duration ' + goTimeQuote(orig));
    const unitText = s.slice(unitStart, i);
    const unit = UNIT_NANOS.get(unitText);
    if (unit === undefined) {
      throw new Error(`time: unknown unit ${goTimeQuote(unitText)} in duration ${goTimeQuote(orig)}`);
    }

    if (whole > INT64_LIMIT / unit) throw invalid();
    let v = whole * unit;
    if (frac > 0n) {
      // Go computes the fractional contribution in float64 and truncates it.
      v += BigInt(Math.trunc(Number(frac) * (Number(unit) / scale)));
      if (v > INT64_LIMIT) throw invalid();
    }
    total += v;
    if (total > INT64_LIMIT) throw invalid();
  }
  if (neg) return -total;
  if (total > INT64_MAX) throw invalid();
  return total;
}

/**
 * Write `v / 10**prec` as a fraction with trailing zeros (and a bare '.') dropped, returning the
 * text and the integer quotient, like Go's fmtFrac.
 */
function fmtFrac(v: bigint, prec: number): { text: string; rest: bigint } {
  let text = '';
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) text = digit.toString() + text;
    v /= 10n;
  }
  return { text: print ? '.' + text : '', rest: v };
}

/** Format integer nanoseconds exactly as Go's time.Duration.String() does. */
export function formatDurationNanos(ns: bigint): string {
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    // Below one second Go switches to the largest unit that keeps an integer part.
    if (u === 0n) return '0s';
    let prec: number;
    let unit: string;
    if (u < 1_000n) {
      prec = 0;
      unit = 'ns';
    } else if (u < 1_000_000n) {
      prec = 3;
      unit = '\u00b5s';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const f = fmtFrac(u, prec);
    out = f.rest.toString() + f.text + unit;
  } else {
    const f = fmtFrac(u, 9);
    u = f.rest; // whole seconds
    out = (u % 60n).toString() + f.text + 's';
    u /= 60n; // whole minutes
    if (u > 0n) {
      out = (u % 60n).toString() + 'm' + out;
      u /= 60n; // whole hours; Go stops here because days vary in length
      if (u > 0n) out = u.toString() + 'h' + out;
    }
  }
  return neg ? '-' + out : out;
}

/**
 * Format a duration given in milliseconds exactly as Go's time.Duration.String() ("1h0m0s",
 * "250ms", "1.5s", "0s"), after rounding to whole nanoseconds.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`duration is not finite: ${ms}`);
  return formatDurationNanos(BigInt(toNanos(ms)));
}

/** Convert milliseconds to integer nanoseconds (Math.round(ms * 1e6)), the unit NSQ reports in /info and /config. */
export function toNanos(ms: number): number {
  // `+ 0` turns a -0 from rounding a tiny negative value into 0.
  return Math.round(ms * NANOS_PER_MS) + 0;
}
