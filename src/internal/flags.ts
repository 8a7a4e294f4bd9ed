// Command-line parsing with the semantics of Go's `flag` package, driven by a declarative table
// of FlagSpec rows. NSQ's binaries are used from scripts and test harnesses (pynsq, go-nsq's
// test.sh) that rely on Go's exact syntax: one or two dashes, `-flag value`, bools only as
// `-flag` or `-flag=false`, repeatable list flags, and parsing that stops at the first non-flag.

import { errorText, parseLogLevel, type LogLevel } from './log.js';
import { formatDuration, parseDuration } from './duration.js';

/** The value type of a flag, which decides how its text is converted and how usage shows it. */
export type FlagKind = 'string' | 'int' | 'bool' | 'duration' | 'float' | 'strings' | 'custom';

/** One row of a flag table: the flag's name, where its value goes, its type, default and help. */
export interface FlagSpec {
  /** Flag name without dashes, e.g. 'mem-queue-size'. */
  name: string;
  /** Property name in the options object, e.g. 'memQueueSize'. */
  key: string;
  /** Config-file key; defaults to the name with '-' replaced by '_'. */
  cfg?: string;
  /** Value type. */
  kind: FlagKind;
  /** Value used when neither the command line nor the config file sets it. */
  default: unknown;
  /** One-line help text; a `back-quoted` word in it names the value in usage, as in Go. */
  usage: string;
  /** For 'custom': a bare `-flag` means the string "true" and the next argument is never consumed. */
  boolLike?: boolean;
  /**
   * For 'custom', converts the raw text to the value; for other kinds, runs after the built-in
   * conversion (per element for 'strings') and, when it returns something other than undefined,
   * replaces the value. Throws Error on bad input.
   */
  parse?: (raw: string) => unknown;
  /** For 'custom': converts a TOML value; throws Error on bad input. */
  fromConfig?: (v: unknown) => unknown;
  /**
   * The config-file value is checked before any flag is applied (nsqd's config.Validate for
   * log_level, tls_required and tls_min_version): a bad one is fatal, `failed parsing <key>
   * <value>`, even when a flag sets the option.
   */
  configCheckedFirst?: boolean;
  /** For 'strings': each occurrence may be a comma-separated list. */
  splitComma?: boolean;
  /** Flag only, never read from a config file (e.g. 'config', 'version'). */
  noConfig?: boolean;
  /** Text shown as `(default ...)` in usage instead of one derived from `default`; '' hides it. */
  defaultText?: string;
}

/** Outcome of parseFlags: parsed values, a help request, or an error with the usage text to print. */
export type FlagParseResult =
  | { kind: 'ok'; values: Record<string, unknown>; explicit: Set<string>; args: string[] }
  | { kind: 'help'; usage: string }
  | { kind: 'error'; message: string; usage: string }
  | { kind: 'fatal'; message: string };

/**
 * Thrown by a FlagSpec's parse to end the program as Go's log.Fatalf inside a flag.Value's Set
 * does (NSQ's FloatArray): the message on a standard log line, exit 1, no usage.
 */
export class FlagFatal extends Error {}

/** Go strconv.ParseBool's accepted spellings. */
const BOOL_TEXT: ReadonlyMap<string, boolean> = new Map([
  ['1', true], ['t', true], ['T', true], ['TRUE', true], ['true', true], ['True', true],
  ['0', false], ['f', false], ['F', false], ['FALSE', false], ['false', false], ['False', false],
]);

/** Parse a boolean with Go's strconv.ParseBool rules; throws Error('parse error') otherwise. */
export function parseGoBool(s: string): boolean {
  const v = BOOL_TEXT.get(s);
  if (v === undefined) throw new Error('parse error');
  return v;
}

// Go's underscoreOK: in base-0 parsing an underscore may only sit between digits or right after a
// base prefix.
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1] ?? '')) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i] ?? '';
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * Parse an integer like Go's strconv.ParseInt(s, 0, 64): optional sign, then decimal, `0x` hex,
 * `0o`/leading-0 octal or `0b` binary, with `_` digit separators (as in `1_000`);
 * throws Error('parse error') or Error('value out of range') with Go's wording.
 */
export function parseGoInt(s: string): number {
  let body = s;
  let neg = false;
  if (body.startsWith('+') || body.startsWith('-')) {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  if (body.length === 0) throw new Error('parse error');
  let base = 10;
  let digits = body;
  if (body[0] === '0' && body.length > 1) {
    const p = body[1]?.toLowerCase();
    if (p === 'x') base = 16;
    else if (p === 'o') base = 8;
    else if (p === 'b') base = 2;
    if (base !== 10) {
      digits = body.slice(2);
    } else {
      base = 8;
      digits = body.slice(1);
    }
  }
  if (digits.includes('_')) {
    if (!underscoreOK(s)) throw new Error('parse error');
    digits = digits.replaceAll('_', '');
  }
  if (digits.length === 0) throw new Error('parse error');
  let v = 0n;
  const b = BigInt(base);
  for (const c of digits) {
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) throw new Error('parse error');
    v = v * b + BigInt(d);
  }
  if (neg) v = -v;
  if (v > (1n << 63n) - 1n || v < -(1n << 63n)) throw new Error('value out of range');
  return Number(v);
}

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOAT_RE = /^[+-]?(?:inf|infinity|nan)$/i;

/**
 * Parse a float like Go's strconv.ParseFloat(s, 64) for decimal and inf/nan forms (hex floats and
 * digit separators are not supported); throws Error('parse error') or Error('value out of range').
 */
export function parseGoFloat(s: string): number {
  if (SPECIAL_FLOAT_RE.test(s)) {
    const lower = s.toLowerCase();
    if (lower.endsWith('nan')) {
      if (lower !== 'nan') throw new Error('parse error'); // Go rejects a signed NaN
      return NaN;
    }
    return lower.startsWith('-') ? -Infinity : Infinity;
  }
  if (!FLOAT_RE.test(s)) throw new Error('parse error');
  const v = Number(s);
  if (!Number.isFinite(v)) throw new Error('value out of range');
  return v;
}

/** Convert one occurrence's text to the value it contributes (for 'strings', one element per piece). */
function convertScalar(spec: FlagSpec, raw: string): unknown {
  let v: unknown;
  switch (spec.kind) {
    case 'string':
      v = raw;
      break;
    case 'int':
      v = parseGoInt(raw);
      break;
    case 'bool':
      v = parseGoBool(raw);
      break;
    case 'duration':
      try {
        v = parseDuration(raw);
      } catch {
        throw new Error('parse error'); // Go's flag package replaces the time error with this
      }
      break;
    case 'float':
      v = parseGoFloat(raw);
      break;
    case 'strings':
      v = raw;
      break;
    case 'custom':
      return spec.parse ? spec.parse(raw) : raw;
  }
  if (spec.parse) {
    const p = spec.parse(raw);
    if (p !== undefined) v = p;
  }
  return v;
}

function isBoolFlag(spec: FlagSpec): boolean {
  return spec.kind === 'bool' || (spec.kind === 'custom' && spec.boolLike === true);
}

/**
 * Parse argv (without the node and script entries) with Go flag-package semantics; `values` holds
 * only what the command line set, keyed by FlagSpec.key, and `explicit` names those keys.
 */
export function parseFlags(program: string, specs: readonly FlagSpec[], argv: readonly string[]): FlagParseResult {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) byName.set(spec.name, spec);
  const values: Record<string, unknown> = {};
  const explicit = new Set<string>();
  const fail = (message: string): FlagParseResult => ({ kind: 'error', message, usage: formatUsage(program, specs) });

  let i = 0;
  while (i < argv.length) {
    const s = argv[i] ?? '';
    if (s.length < 2 || s[0] !== '-') break; // first non-flag argument (a lone '-' included)
    let dashes = 1;
    if (s[1] === '-') {
      dashes = 2;
      if (s.length === 2) {
        i++; // "--" terminates the flags and is itself dropped
        break;
      }
    }
    let name = s.slice(dashes);
    if (name.length === 0 || name[0] === '-' || name[0] === '=') return fail(`bad flag syntax: ${s}`);
    i++;
    let hasValue = false;
    let value = '';
    const eq = name.indexOf('=', 1);
    if (eq !== -1) {
      value = name.slice(eq + 1);
      hasValue = true;
      name = name.slice(0, eq);
    }

    const spec = byName.get(name);
    if (spec === undefined) {
      if (name === 'help' || name === 'h') return { kind: 'help', usage: formatUsage(program, specs) };
      return fail(`flag provided but not defined: -${name}`);
    }

    let converted: unknown;
    if (isBoolFlag(spec)) {
      if (hasValue) {
        try {
          converted = convertScalar(spec, value);
        } catch (err) {
          return fail(`invalid boolean value ${JSON.stringify(value)} for -${name}: ${errorText(err)}`);
        }
      } else {
        try {
          converted = convertScalar(spec, 'true');
        } catch (err) {
          return fail(`invalid boolean flag ${name}: ${errorText(err)}`);
        }
      }
    } else {
      if (!hasValue && i < argv.length) {
        value = argv[i] ?? '';
        hasValue = true;
        i++;
      }
      if (!hasValue) return fail(`flag needs an argument: -${name}`);
      try {
        if (spec.kind === 'strings') {
          const pieces = spec.splitComma ? value.split(',') : [value];
          const list = pieces.map((piece) => convertScalar(spec, piece));
          const prev = values[spec.key];
          converted = Array.isArray(prev) ? [...(prev as unknown[]), ...list] : list;
        } else {
          converted = convertScalar(spec, value);
        }
      } catch (err) {
        if (err instanceof FlagFatal) return { kind: 'fatal', message: err.message };
        return fail(`invalid value ${JSON.stringify(value)} for flag -${name}: ${errorText(err)}`);
      }
    }
    values[spec.key] = converted;
    explicit.add(spec.key);
  }
  return { kind: 'ok', values, explicit, args: argv.slice(i) };
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64), which is how flag defaults of type float print. */
function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  // Shortest round-trip digits and decimal exponent, from JS's own shortest formatting.
  const [mant = '', expText = '0'] = Math.abs(v).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expText);
  let eprec = 6;
  if (eprec > digits.length && digits.length >= exp + 1) eprec = digits.length;
  const sign = v < 0 ? '-' : '';
  if (exp < -4 || exp >= eprec) {
    const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  return sign + String(Math.abs(v));
}

/** Go's UnquoteUsage: a `back-quoted` word in the usage names the value; otherwise the type word. */
function unquoteUsage(spec: FlagSpec): { typeName: string; usage: string } {
  const usage = spec.usage;
  const start = usage.indexOf('`');
  if (start !== -1) {
    const end = usage.indexOf('`', start + 1);
    if (end !== -1) {
      const typeName = usage.slice(start + 1, end);
      return { typeName, usage: usage.slice(0, start) + typeName + usage.slice(end + 1) };
    }
  }
  let typeName: string;
  switch (spec.kind) {
    case 'string': typeName = 'string'; break;
    case 'int': typeName = 'int'; break;
    case 'bool': typeName = ''; break;
    case 'duration': typeName = 'duration'; break;
    case 'float': typeName = 'float'; break;
    default: typeName = spec.kind === 'custom' && spec.boolLike ? '' : 'value';
  }
  return { typeName, usage };
}

/** The `(default ...)` suffix for a flag, or '' when the default is the zero value (as Go omits it). */
function defaultSuffix(spec: FlagSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText === '' ? '' : ` (default ${spec.defaultText})`;
  const d = spec.default;
  if (d === undefined || d === null) return '';
  switch (spec.kind) {
    case 'string':
      return d === '' ? '' : ` (default ${JSON.stringify(String(d))})`;
    case 'int':
      return d === 0 ? '' : ` (default ${String(d)})`;
    case 'bool':
      return d === true ? ' (default true)' : '';
    case 'duration':
      return typeof d === 'number' && d !== 0 ? ` (default ${formatDuration(d)})` : '';
    case 'float':
      return typeof d === 'number' && d !== 0 ? ` (default ${formatGoFloat(d)})` : '';
    default: {
      const text = Array.isArray(d) ? d.map(String).join(',') : String(d);
      return text === '' || d === false || d === 0 ? '' : ` (default ${text})`;
    }
  }
}

/**
 * Render help text like Go's flag.PrintDefaults: `Usage of <program>:` then each flag, sorted by
 * name, as `  -name type` and its indented help with `(default ...)` when not the zero value.
 */
export function formatUsage(program: string, specs: readonly FlagSpec[]): string {
  const sorted = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let out = `Usage of ${program}:\n`;
  for (const spec of sorted) {
    const { typeName, usage } = unquoteUsage(spec);
    let line = `  -${spec.name}`;
    if (typeName.length > 0) line += ' ' + typeName;
    // Go keeps one-letter bool flags on one line; everything else wraps under the name.
    line += line.length <= 4 ? '\t' : '\n    \t';
    line += usage.replaceAll('\n', '\n    \t');
    line += defaultSuffix(spec);
    out += line + '\n';
  }
  return out;
}

/** Go's lg.ParseLogLevel, with its error text (shown by the flag package after `invalid value`). */
function parseLevelFlag(raw: string): LogLevel {
  const l = parseLogLevel(raw);
  if (l === undefined) throw new Error(`invalid log level '${raw}' (debug, info, warn, error, fatal)`);
  return l;
}

/**
 * The flags nsqlookupd and nsqadmin open with, in NSQ v1.3.0's order and words: --config,
 * --version, --log-level, --log-prefix (default `logPrefix`), nsq-ts's --log-json, --verbose.
 */
export function daemonBaseFlags(logPrefix: string): FlagSpec[] {
  return [
    { name: 'config', key: 'config', kind: 'string', default: '', usage: 'path to config file', noConfig: true },
    { name: 'version', key: 'version', kind: 'bool', default: false, usage: 'print version string', noConfig: true },
    { name: 'log-level', key: 'logLevel', kind: 'custom', default: 2, usage: 'set log verbosity: debug, info, warn, error, or fatal', defaultText: 'INFO', parse: parseLevelFlag, fromConfig: (v) => parseLevelFlag(String(v)) },
    { name: 'log-prefix', key: 'logPrefix', kind: 'string', default: logPrefix, usage: 'log message prefix' },
    { name: 'log-json', key: 'logJson', kind: 'bool', default: false, usage: 'write logs as JSON lines (nsq-ts extension)' },
    { name: 'verbose', key: 'verbose', kind: 'bool', default: false, usage: '[deprecated] has no effect, use --log-level', noConfig: true },
  ];
}

/** --http-client-connect-timeout (2s) and --http-client-request-timeout (`requestDefaultMs`), as NSQ's tools and nsqadmin have them. */
export function httpClientTimeoutFlags(requestDefaultMs: number): FlagSpec[] {
  return [
    { name: 'http-client-connect-timeout', key: 'httpClientConnectTimeout', kind: 'duration', default: 2000, usage: 'timeout for HTTP connect' },
    { name: 'http-client-request-timeout', key: 'httpClientRequestTimeout', kind: 'duration', default: requestDefaultMs, usage: 'timeout for HTTP request' },
  ];
}

/**
 * Go's fmt %.<prec>f (strconv.FormatFloat(v, 'f', prec, 64)): the exact binary value rounded to
 * `prec` decimals, an exact tie to the even digit (0.125 → "0.12", where JS toFixed gives
 * "0.13"), and plain digits at any magnitude (toFixed switches to exponent form from 1e21).
 */
export function goFormatFixed(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const negative = v < 0 || Object.is(v, -0);
  // |v| = mantissa × 2^exp exactly, from the IEEE 754 bits.
  const bits = new DataView(new Float64Array([Math.abs(v)]).buffer);
  const hi = bits.getUint32(4, true);
  const lo = bits.getUint32(0, true);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) mantissa |= 1n << 52n;
  const exp = (biased === 0 ? 1 : biased) - 1075;
  // |v| × 10^prec = num / den, rounded half to even.
  let num = mantissa * 10n ** BigInt(prec);
  let den = 1n;
  if (exp >= 0) num <<= BigInt(exp);
  else den <<= BigInt(-exp);
  let q = num / den;
  const twice = (num - q * den) * 2n;
  if (twice > den || (twice === den && q % 2n === 1n)) q += 1n;
  let digits = q.toString().padStart(prec + 1, '0');
  if (prec > 0) digits = `${digits.slice(0, -prec)}.${digits.slice(-prec)}`;
  return negative ? `-${digits}` : digits;
}
