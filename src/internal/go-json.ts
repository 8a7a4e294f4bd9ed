// Go's encoding/json as NSQ's daemons apply it, for the places where its behaviour reaches a
// peer: which inputs it refuses and with which words. One scanner, a character-level state
// machine with Go's states and its nesting limit (10,000), yields Go's exact syntax-error texts
// (`invalid character 'o' in literal null (expecting 'u')`, ...) without recursion, so a 5 MiB
// body of brackets is refused, not a stack overflow. On top of it:
//  - unmarshalGo: json.Unmarshal into an interface{} (upstream answers, auth answers);
//  - decodeGoStruct: json.Unmarshal or json.Decoder.Decode into a struct of string, bool and
//    integer fields (nsqd's and nsqlookupd's IDENTIFY, nsqadmin's action bodies): keys match
//    case-insensitively (with Go's folding of ſ and the Kelvin sign), the last duplicate wins,
//    unknown keys and nulls leave fields alone, an integer field takes only an integer literal in
//    range (`1e3`, `1000.0` and 2^63 fail), and the first type error is reported in Go's words
//    after the whole value has been checked for syntax.
// The two flavours differ where Go's do: Unmarshal wants exactly one value (a cut-off input is
// `unexpected end of JSON input`, trailing bytes `invalid character 'x' after top-level value`);
// Decoder takes the first value and leaves the rest (a cut-off value is `unexpected EOF`, no
// value at all `EOF`).

/** A Go JSON syntax error; the message is Go's. */
/**
 * Stands in a string made by goBytesString for a byte that is not UTF-8 (a lone surrogate, which
 * no UTF-8 decodes to); GO_INVALID_JSON is what JSON.stringify writes for it.
 */
export const GO_INVALID_BYTE = '\udfff';
const GO_INVALID_JSON = '\\udfff';

/** The smallest code point a UTF-8 sequence with this many continuation bytes may encode (smaller is overlong). */
const UTF8_MIN = [0, 0x80, 0x800, 0x10000] as const;

/**
 * Bytes as a Go string holds them: UTF-8 decoded as utf8.DecodeRune does, each byte of an
 * invalid sequence on its own (GO_INVALID_BYTE), so that goJSONBytes writes each as encoding/json
 * does, `\ufffd` (a valid U+FFFD stays as it is).
 */
export function goBytesString(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    const need = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    let cp = need === 1 ? c & 0x1f : need === 2 ? c & 0x0f : c & 0x07;
    let ok = need > 0;
    for (let k = 1; ok && k <= need; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (x & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    if (ok && (cp < UTF8_MIN[need]! || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)) ok = false;
    if (!ok) {
      out += GO_INVALID_BYTE;
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** JSON text (as goJSON writes it) for `json`, with goBytesString's invalid bytes as encoding/json writes them. */
export function goInvalidBytesJson(json: string): string {
  return json.replaceAll(GO_INVALID_JSON, '\\ufffd');
}

export class GoJsonSyntaxError extends Error {
  override readonly name = 'GoJsonSyntaxError';
}

/** A decoded JSON object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's encoding/json maxNestingDepth. */
const MAX_NESTING_DEPTH = 10000;

/** Go's %q of one character, as its JSON errors print it ('x', '\n'). */
function goQuoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '\\') return `'\\\\'`;
  const special: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  if (special[c] !== undefined) return `'${special[c]}'`;
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isHex(c: string): boolean {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// What the scanner expects next (Go's scanner states).
const enum S {
  BeginValue, BeginValueOrEmpty, BeginStringOrEmpty, BeginString, EndValue, EndTop,
  InString, InStringEsc, InStringEscU, Neg, Zero, Digits, Dot, Dot0, E, ESign, E0, Literal,
}

// What the innermost open container is waiting for.
const ARRAY_VALUE = 0;
const OBJECT_KEY = 1;
const OBJECT_VALUE = 2;

/**
 * Scan the JSON value starting at the first non-space character at or after `from`; returns
 * the index just after it, or -1 when the input ends inside it (or holds no value). Throws a
 * GoJsonSyntaxError for a syntax error.
 */
function scanValue(s: string, from: number): number {
  const stack: number[] = [];
  let state = S.BeginValue;
  let hex = 0;
  let literal = '';
  let litPos = 0;
  const fail = (c: string, context: string): never => {
    throw new GoJsonSyntaxError(`invalid character ${goQuoteChar(c)} ${context}`);
  };
  const push = (c: string, kind: number): void => {
    stack.push(kind);
    if (stack.length > MAX_NESTING_DEPTH) fail(c, 'exceeded max depth');
  };
  let i = from;
  for (; i < s.length; i++) {
    const c = s[i]!;
    // First the states that may hand the character on: an empty container's first position, an
    // exponent's optional sign, and a number ending at the first character that cannot continue
    // it (read again in EndValue, as Go's scanner does).
    switch (state) {
      case S.BeginValueOrEmpty:
        if (isWs(c)) continue;
        if (c === ']') { stack.pop(); state = S.EndValue; continue; }
        state = S.BeginValue;
        break;
      case S.BeginStringOrEmpty:
        if (isWs(c)) continue;
        if (c === '}') { stack.pop(); state = S.EndValue; continue; }
        state = S.BeginString;
        break;
      case S.E:
        if (c === '+' || c === '-') { state = S.ESign; continue; }
        state = S.ESign;
        break;
      case S.Zero:
      case S.Digits:
      case S.Dot0:
      case S.E0:
        // Digits go on after a nonzero digit, a decimal point or an exponent; '.' only before
        // them, 'e' only before an exponent.
        if (state !== S.Zero && isDigit(c)) continue;
        if (c === '.' && (state === S.Zero || state === S.Digits)) { state = S.Dot; continue; }
        if ((c === 'e' || c === 'E') && state !== S.E0) { state = S.E; continue; }
        state = S.EndValue;
        break;
      default:
        break;
    }
    switch (state) {
      case S.BeginValue:
        if (isWs(c)) continue;
        switch (c) {
          case '{': push(c, OBJECT_KEY); state = S.BeginStringOrEmpty; continue;
          case '[': push(c, ARRAY_VALUE); state = S.BeginValueOrEmpty; continue;
          case '"': state = S.InString; continue;
          case '-': state = S.Neg; continue;
          case '0': state = S.Zero; continue;
          case 't': literal = 'true'; litPos = 1; state = S.Literal; continue;
          case 'f': literal = 'false'; litPos = 1; state = S.Literal; continue;
          case 'n': literal = 'null'; litPos = 1; state = S.Literal; continue;
          default:
            if (c >= '1' && c <= '9') { state = S.Digits; continue; }
            return fail(c, 'looking for beginning of value');
        }
      case S.BeginString:
        if (isWs(c)) continue;
        if (c !== '"') return fail(c, 'looking for beginning of object key string');
        state = S.InString;
        continue;
      case S.InString:
        if (c === '"') { state = S.EndValue; continue; }
        if (c === '\\') { state = S.InStringEsc; continue; }
        if (c < ' ') return fail(c, 'in string literal');
        continue;
      case S.InStringEsc:
        if (c === 'u') { hex = 0; state = S.InStringEscU; continue; }
        if ('"\\/bfnrt'.includes(c)) { state = S.InString; continue; }
        return fail(c, 'in string escape code');
      case S.InStringEscU:
        if (!isHex(c)) return fail(c, 'in \\u hexadecimal character escape');
        if (++hex === 4) state = S.InString;
        continue;
      case S.Neg:
        if (c === '0') { state = S.Zero; continue; }
        if (c >= '1' && c <= '9') { state = S.Digits; continue; }
        return fail(c, 'in numeric literal');
      case S.Dot:
        if (isDigit(c)) { state = S.Dot0; continue; }
        return fail(c, 'after decimal point in numeric literal');
      case S.ESign:
        if (isDigit(c)) { state = S.E0; continue; }
        return fail(c, 'in exponent of numeric literal');
      case S.Literal:
        if (c !== literal[litPos]) return fail(c, `in literal ${literal} (expecting ${goQuoteChar(literal[litPos]!)})`);
        if (++litPos === literal.length) state = S.EndValue;
        continue;
      case S.EndValue: {
        if (stack.length === 0) return i;
        if (isWs(c)) continue;
        const top = stack[stack.length - 1]!;
        if (top === OBJECT_KEY) {
          if (c !== ':') return fail(c, 'after object key');
          stack[stack.length - 1] = OBJECT_VALUE;
          state = S.BeginValue;
          continue;
        }
        if (top === OBJECT_VALUE) {
          if (c === ',') { stack[stack.length - 1] = OBJECT_KEY; state = S.BeginString; continue; }
          if (c === '}') { stack.pop(); continue; }
          return fail(c, 'after object key:value pair');
        }
        if (c === ',') { state = S.BeginValue; continue; }
        if (c === ']') { stack.pop(); continue; }
        return fail(c, 'after array element');
      }
      default:
        break;
    }
  }
  // End of input: complete only after a finished top-level value (a number ends here too).
  const finished = state === S.EndValue || state === S.Zero || state === S.Digits || state === S.Dot0 || state === S.E0;
  return finished && stack.length === 0 ? i : -1;
}

/** Index of the first non-space character at or after `i` (`s.length` when none). */
function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s[i])) i++;
  return i;
}

/** Json.Unmarshal's syntax check: [start, end) of the one value `text` holds. */
function checkUnmarshal(text: string): [number, number] {
  const start = skipWs(text, 0);
  const end = scanValue(text, start);
  if (end < 0) throw new GoJsonSyntaxError('unexpected end of JSON input');
  const rest = skipWs(text, end);
  if (rest < text.length) throw new GoJsonSyntaxError(`invalid character ${goQuoteChar(text[rest]!)} after top-level value`);
  return [start, end];
}

/** Json.Decoder.Decode's syntax check: [start, end) of the first value of `text`. */
function checkDecoder(text: string): [number, number] {
  const start = skipWs(text, 0);
  if (start >= text.length) throw new GoJsonSyntaxError('EOF');
  const end = scanValue(text, start);
  if (end < 0) throw new GoJsonSyntaxError('unexpected EOF');
  return [start, end];
}

/** Replace lone UTF-16 surrogates (from `\ud800` escapes) with U+FFFD, as Go's decoder does. */
function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/**
 * Parse JSON that scanValue accepted (JSON.parse agrees with it on valid input), strings made
 * well-formed. Only a `\\uD800`-style escape can make a lone surrogate, so only then is the
 * (recursive, slower) reviver used.
 */
function parseChecked(json: string): unknown {
  if (!/\\u[dD][89a-fA-F]/.test(json)) return JSON.parse(json) as unknown;
  return JSON.parse(json, (_k, v: unknown) => (typeof v === 'string' ? wellFormed(v) : v)) as unknown;
}

/**
 * json.Unmarshal's view of `text` decoded into an interface{}: exactly one JSON value,
 * whitespace around it allowed. Returns the value or throws a GoJsonSyntaxError with Go's message.
 */
export function unmarshalGo(text: string): unknown {
  const [start, end] = checkUnmarshal(text);
  return parseChecked(text.slice(start, end));
}

/** The Go types a decoded struct field can have. */
export type GoFieldType = 'string' | 'bool' | 'int' | 'int32';

/** A Go integer: a number when a double holds it exactly, else a bigint. */
export type GoInt = number | bigint;

/** A struct to decode into, with the names Go's type errors print, and its fields by JSON tag. */
export interface GoStruct {
  /** In `Go struct field <name>.<tag>`: the struct's name, '' when anonymous. */
  name: string;
  /** In `Go value of type <type>`: `nsqlookupd.PeerInfo`, or an anonymous struct's literal. */
  type: string;
  fields: Readonly<Record<string, GoFieldType>>;
}

/** The fields a decode set, by JSON tag: strings, booleans and GoInts. */
export type GoFields = Partial<Record<string, string | boolean | GoInt>>;

const INT_RANGE: Record<'int' | 'int32', [bigint, bigint]> = {
  int: [-(2n ** 63n), 2n ** 63n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
};

/** Go matches a key to a field with simple case folding; the only non-ASCII letters that fold into ASCII are ſ and the Kelvin sign. */
export function foldKey(key: string): string {
  return key.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase();
}

/**
 * Go's name for the kind of a JSON value, as its type errors print it; a number that an integer
 * field could not take is printed with its literal (`number 1e3`).
 */
function goKind(source: string, withLiteral = false): string {
  const c = source[0];
  if (c === '"') return 'string';
  if (c === '{') return 'object';
  if (c === '[') return 'array';
  if (c === 't' || c === 'f') return 'bool';
  return withLiteral ? `number ${source}` : 'number';
}

/** Decode one field value (not null) from its source text; a string is the type error's value kind. */
function decodeField(source: string, type: GoFieldType): string | boolean | GoInt | { typeError: string } {
  const c = source[0];
  switch (type) {
    case 'string':
      return c === '"' ? (parseChecked(source) as string) : { typeError: goKind(source) };
    case 'bool':
      return c === 't' || c === 'f' ? source === 'true' : { typeError: goKind(source) };
    default: {
      if (!/^-?(?:0|[1-9]\d*)$/.test(source)) return { typeError: goKind(source, true) };
      const n = BigInt(source);
      const [min, max] = INT_RANGE[type];
      if (n < min || n > max) return { typeError: goKind(source, true) };
      return Number.isSafeInteger(Number(n)) ? Number(n) : n;
    }
  }
}

/** The members of the object at text[start, end) (syntax already checked), as [key, value source]. */
function members(text: string, start: number, end: number): [string, string][] {
  const out: [string, string][] = [];
  let i = skipWs(text, start + 1);
  while (i < end && text[i] === '"') {
    let k = i + 1;
    while (text[k] !== '"') k += text[k] === '\\' ? 2 : 1;
    const key = parseChecked(text.slice(i, k + 1)) as string;
    const valueStart = skipWs(text, skipWs(text, k + 1) + 1);
    const valueEnd = scanValue(text, valueStart);
    out.push([key, text.slice(valueStart, valueEnd)]);
    i = skipWs(text, valueEnd);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return out;
}

/**
 * Decode `text` into `struct` as Go's json.Unmarshal (mode 'unmarshal') or json.Decoder.Decode
 * ('decoder') would: returns the fields set, or an Error with Go's message (a GoJsonSyntaxError
 * for bad syntax, else `json: cannot unmarshal ...`).
 */
export function decodeGoStruct(text: string, struct: GoStruct, mode: 'unmarshal' | 'decoder'): GoFields | Error {
  let start: number;
  let end: number;
  try {
    [start, end] = mode === 'unmarshal' ? checkUnmarshal(text) : checkDecoder(text);
  } catch (err) {
    return err as GoJsonSyntaxError;
  }
  const out: GoFields = {};
  const first = text[start];
  if (first === 'n') return out;
  if (first !== '{') {
    return new Error(`json: cannot unmarshal ${goKind(text.slice(start, end))} into Go value of type ${struct.type}`);
  }
  const byFold = new Map(Object.keys(struct.fields).map((tag) => [foldKey(tag), tag]));
  let typeError: Error | undefined;
  for (const [key, source] of members(text, start, end)) {
    // Own keys only: `constructor` or `__proto__` in a body are unknown keys, not Object's.
    const tag = Object.hasOwn(struct.fields, key) ? key : byFold.get(foldKey(key));
    if (tag === undefined || source === 'null') continue;
    const type = struct.fields[tag]!;
    const v = decodeField(source, type);
    if (typeof v === 'object') {
      typeError ??= new Error(`json: cannot unmarshal ${v.typeError} into Go struct field ${struct.name}.${tag} of type ${type}`);
      continue;
    }
    out[tag] = v;
  }
  return typeError ?? out;
}
