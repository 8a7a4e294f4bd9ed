// Go's encoding/json as NSQ's peers see it: a scanner that fails with the exact texts of Go's
// syntax errors (`invalid character 'o' in literal null (expecting 'u')`, ...), in the two flavours
// Go has: json.Unmarshal (the whole input is one value; a cut-off input is `unexpected end of JSON
// input`, trailing bytes are `invalid character 'x' after top-level value`) and json.Decoder (the
// first value counts and the rest is left unread; a cut-off value is `unexpected EOF`, an empty
// input `EOF`). Those texts reach users verbatim, in nsqadmin's 400 and UPSTREAM_ERROR messages
// and the tools' fatal lines, so they are worth getting exactly right.

/** A Go JSON syntax error; the message is Go's. */
export class GoJsonSyntaxError extends Error {
  override readonly name = 'GoJsonSyntaxError';
}

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

/** Thrown inside the scanner when the input ends inside a value; each flavour words it its own way. */
class CutOff extends Error {}

function fail(what: string): never {
  throw new GoJsonSyntaxError(what);
}

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/** Index of the first non-whitespace character at or after `i` (`s.length` when none). */
function skipWsTo(s: string, i: number): number {
  while (i < s.length && isWs(s[i])) i++;
  return i;
}

/** As skipWsTo, but the input must go on. */
function skipWs(s: string, i: number): number {
  i = skipWsTo(s, i);
  if (i >= s.length) throw new CutOff();
  return i;
}

/** Scan one JSON value starting at `i` (whitespace skipped); returns the index after it. */
function scanValue(s: string, i: number): number {
  i = skipWs(s, i);
  const c = s[i]!;
  if (c === '{') return scanObject(s, i + 1);
  if (c === '[') return scanArray(s, i + 1);
  if (c === '"') return scanString(s, i + 1);
  if (c === '-' || (c >= '0' && c <= '9')) return scanNumber(s, i);
  for (const lit of ['true', 'false', 'null']) {
    if (c !== lit[0]) continue;
    for (let k = 1; k < lit.length; k++) {
      if (i + k >= s.length) throw new CutOff();
      if (s[i + k] !== lit[k]) fail(`invalid character ${goQuoteChar(s[i + k]!)} in literal ${lit} (expecting ${goQuoteChar(lit[k]!)})`);
    }
    return i + lit.length;
  }
  return fail(`invalid character ${goQuoteChar(c)} looking for beginning of value`);
}

function scanObject(s: string, i: number): number {
  i = skipWs(s, i);
  if (s[i] === '}') return i + 1;
  for (;;) {
    if (s[i] !== '"') fail(`invalid character ${goQuoteChar(s[i]!)} looking for beginning of object key string`);
    i = skipWs(s, scanString(s, i + 1));
    if (s[i] !== ':') fail(`invalid character ${goQuoteChar(s[i]!)} after object key`);
    i = skipWs(s, scanValue(s, i + 1));
    if (s[i] === '}') return i + 1;
    if (s[i] !== ',') fail(`invalid character ${goQuoteChar(s[i]!)} after object key:value pair`);
    i = skipWs(s, i + 1);
  }
}

function scanArray(s: string, i: number): number {
  i = skipWs(s, i);
  if (s[i] === ']') return i + 1;
  for (;;) {
    i = skipWs(s, scanValue(s, i));
    if (s[i] === ']') return i + 1;
    if (s[i] !== ',') fail(`invalid character ${goQuoteChar(s[i]!)} after array element`);
    i++;
  }
}

function isHex(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

function scanString(s: string, i: number): number {
  for (;;) {
    if (i >= s.length) throw new CutOff();
    const c = s[i]!;
    if (c === '"') return i + 1;
    if (c < ' ') fail(`invalid character ${goQuoteChar(c)} in string literal`);
    if (c === '\\') {
      if (i + 1 >= s.length) throw new CutOff();
      const e = s[i + 1]!;
      if (e === 'u') {
        for (let k = 2; k < 6; k++) {
          if (i + k >= s.length) throw new CutOff();
          if (!isHex(s[i + k]!)) fail(`invalid character ${goQuoteChar(s[i + k]!)} in \\u hexadecimal character escape`);
        }
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) fail(`invalid character ${goQuoteChar(e)} in string escape code`);
      i += 2;
      continue;
    }
    i++;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function scanNumber(s: string, i: number): number {
  NUMBER.lastIndex = i;
  const m = NUMBER.exec(s);
  if (m === null || m[0] === '-') {
    if (i + 1 >= s.length) throw new CutOff();
    fail(`invalid character ${goQuoteChar(s[i + 1]!)} in numeric literal`);
  }
  const end = i + m[0].length;
  // "1." or "1e" followed by something that does not continue the number.
  if (end < s.length && s[end] === '.') {
    if (end + 1 >= s.length) throw new CutOff();
    fail(`invalid character ${goQuoteChar(s[end + 1]!)} after decimal point in numeric literal`);
  }
  if (end < s.length && (s[end] === 'e' || s[end] === 'E')) {
    const at = s[end + 1] === '+' || s[end + 1] === '-' ? end + 2 : end + 1;
    if (at >= s.length) throw new CutOff();
    fail(`invalid character ${goQuoteChar(s[at]!)} in exponent of numeric literal`);
  }
  return end;
}

/**
 * json.Unmarshal's view of `text`: exactly one JSON value, whitespace around it allowed. Returns
 * the value or throws a GoJsonSyntaxError with Go's message.
 */
export function unmarshalGo(text: string): unknown {
  let end: number;
  try {
    end = scanValue(text, 0);
  } catch (err) {
    if (err instanceof CutOff) fail('unexpected end of JSON input');
    throw err;
  }
  const rest = skipWsTo(text, end);
  if (rest < text.length) fail(`invalid character ${goQuoteChar(text[rest]!)} after top-level value`);
  return JSON.parse(text) as unknown;
}

/**
 * json.Decoder.Decode's view of `text`: the first JSON value, whatever follows it. Returns the
 * value or throws a GoJsonSyntaxError with Go's message (`EOF` when there is no value at all).
 */
export function decodeFirstGo(text: string): unknown {
  const start = skipWsTo(text, 0);
  if (start >= text.length) fail('EOF');
  let end: number;
  try {
    end = scanValue(text, start);
  } catch (err) {
    if (err instanceof CutOff) fail('unexpected EOF');
    throw err;
  }
  return JSON.parse(text.slice(start, end)) as unknown;
}
