// Decoding nsqlookupd's IDENTIFY body the way Go's json.Unmarshal fills nsqlookupd's PeerInfo
// struct: the whole body must be valid JSON (nesting at most 10000 deep), keys match the struct's
// json tags case-insensitively and the last duplicate wins, unknown keys are ignored, `null`
// leaves a field alone, and a value of the wrong type fails the decode. Integer fields take only
// integer literals within int64 ("4150.0" and "4e3" fail), which is why this scans the JSON text
// itself instead of using JSON.parse (that loses the literal).

import type { GoInt } from './registration-db.js';

/** The PeerInfo fields an IDENTIFY body may set (remote_address is decoded but then overwritten). */
export interface IdentifyFields {
  /** `remote_address` as sent (nsqlookupd replaces it with the connection's peer address). */
  remoteAddress: string;
  /** `hostname`. */
  hostname: string;
  /** `broadcast_address` (required). */
  broadcastAddress: string;
  /** `tcp_port` (required, non-zero). */
  tcpPort: GoInt;
  /** `http_port` (required, non-zero). */
  httpPort: GoInt;
  /** `version` (required). */
  version: string;
}

type FieldName = keyof IdentifyFields;

const FIELDS: ReadonlyMap<string, { name: FieldName; int: boolean }> = new Map([
  ['remote_address', { name: 'remoteAddress', int: false }],
  ['hostname', { name: 'hostname', int: false }],
  ['broadcast_address', { name: 'broadcastAddress', int: false }],
  ['tcp_port', { name: 'tcpPort', int: true }],
  ['http_port', { name: 'httpPort', int: true }],
  ['version', { name: 'version', int: false }],
]);

/** Go's encoding/json maxNestingDepth. */
const MAX_NESTING_DEPTH = 10000;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const INT_RE = /^-?(?:0|[1-9][0-9]*)$/;

/** A scalar JSON value with its literal text (numbers) or decoded value (strings). */
type Scalar = { t: 'string'; v: string } | { t: 'number'; text: string } | { t: 'bool' } | { t: 'null' } | { t: 'container' };

/** Go folds a key with simple Unicode case folding; the only non-ASCII letters that fold to ASCII are ſ and the Kelvin sign. */
function foldKey(key: string): string {
  return key.replace(/\u017f/g, 's').toLowerCase();
}

/** Replace lone UTF-16 surrogates (from `\ud800` escapes) with U+FFFD, as Go's decoder does. */
function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

class JsonScanner {
  pos = 0;
  constructor(private readonly s: string) {}

  fail(what: string): never {
    throw new SyntaxError(`${what} at offset ${this.pos}`);
  }

  ws(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
  }

  expect(ch: string): void {
    this.ws();
    if (this.s[this.pos] !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }

  peek(): string | undefined {
    this.ws();
    return this.s[this.pos];
  }

  atEnd(): boolean {
    this.ws();
    return this.pos >= this.s.length;
  }

  string(): string {
    this.expect('"');
    const s = this.s;
    let out = '';
    let start = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += s.slice(start, this.pos);
      const e = s[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = s.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.fail('bad escape');
      }
      start = this.pos;
    }
    out += s.slice(start, this.pos);
    this.pos++;
    return wellFormed(out);
  }

  /** A scalar, or a whole array/object validated and skipped (`depth` containers already open). */
  value(depth: number): Scalar {
    const c = this.peek();
    if (c === '"') return { t: 'string', v: this.string() };
    if (c === '{' || c === '[') {
      this.skipContainer(depth);
      return { t: 'container' };
    }
    for (const [word, t] of [['true', 'bool'], ['false', 'bool'], ['null', 'null']] as const) {
      if (this.s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return { t };
      }
    }
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.s);
    if (m === null) this.fail('invalid character');
    this.pos += m[0].length;
    return { t: 'number', text: m[0] };
  }

  /** Validate and skip an array or object without recursion (a 5 MiB body may nest deeply). */
  skipContainer(depth: number): void {
    const closers: string[] = [];
    // `justOpened`: the innermost container has no element yet, so it may close at once.
    let justOpened = false;
    const open = (): void => {
      if (depth + closers.length + 1 > MAX_NESTING_DEPTH) this.fail('exceeded max depth');
      closers.push(this.s[this.pos] === '{' ? '}' : ']');
      this.pos++;
      justOpened = true;
    };
    this.ws();
    open();
    while (closers.length > 0) {
      const close = closers[closers.length - 1] as string;
      if (this.peek() === close) {
        this.pos++;
        closers.pop();
        justOpened = false;
        continue;
      }
      if (!justOpened) this.expect(',');
      if (close === '}') {
        this.string();
        this.expect(':');
      }
      const c = this.peek();
      if (c === '{' || c === '[') {
        open();
        continue;
      }
      this.value(depth + closers.length);
      justOpened = false;
    }
  }
}

/** Go's strconv.ParseInt(text, 10, 64) on an integer JSON literal; undefined when it would fail. */
function goInt(text: string): GoInt | undefined {
  if (!INT_RE.test(text)) return undefined;
  const v = BigInt(text);
  if (v < INT64_MIN || v > INT64_MAX) return undefined;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Decode an IDENTIFY body like Go's json.Unmarshal into nsqlookupd's PeerInfo; returns the fields
 * (zero values where absent) or an Error describing why Go's decode would fail.
 */
export function decodeIdentifyBody(body: Uint8Array): IdentifyFields | Error {
  const out: IdentifyFields = { remoteAddress: '', hostname: '', broadcastAddress: '', tcpPort: 0, httpPort: 0, version: '' };
  // Go keeps invalid UTF-8 inside strings as U+FFFD and rejects it elsewhere; the lenient
  // decoder yields U+FFFD in both places, which the scanner then rejects outside strings. A BOM
  // is kept (and so rejected), as Go does not skip one.
  const sc = new JsonScanner(new TextDecoder('utf-8', { ignoreBOM: true }).decode(body));
  try {
    if (sc.atEnd()) sc.fail('unexpected end of JSON input');
    let typeError: Error | null = null;
    if (sc.peek() === '{') {
      sc.expect('{');
      if (sc.peek() !== '}') {
        for (;;) {
          const key = sc.string();
          sc.expect(':');
          const v = sc.value(1);
          const field = FIELDS.get(foldKey(key));
          if (field !== undefined && v.t !== 'null') {
            if (field.int) {
              const n = v.t === 'number' ? goInt(v.text) : undefined;
              if (n === undefined) typeError ??= new TypeError(`cannot unmarshal ${v.t} into Go struct field PeerInfo.${key} of type int`);
              else out[field.name as 'tcpPort' | 'httpPort'] = n;
            } else if (v.t === 'string') {
              out[field.name as 'hostname'] = v.v;
            } else {
              typeError ??= new TypeError(`cannot unmarshal ${v.t} into Go struct field PeerInfo.${key} of type string`);
            }
          }
          if (sc.peek() !== ',') break;
          sc.pos++;
        }
      }
      sc.expect('}');
    } else {
      const v = sc.value(0);
      if (v.t !== 'null') typeError = new TypeError(`cannot unmarshal ${v.t} into Go value of type nsqlookupd.PeerInfo`);
    }
    if (!sc.atEnd()) sc.fail("invalid character after top-level value");
    return typeError ?? out;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
