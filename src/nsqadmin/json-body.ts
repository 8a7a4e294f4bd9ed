// Request bodies of nsqadmin's admin actions are decoded like Go's json.NewDecoder(body).Decode(&v)
// into a struct of string fields: only the first JSON value counts (trailing bytes are ignored),
// keys match field names case-insensitively, and failures carry Go's error text, which nsqadmin
// returns verbatim as the 400 message (`EOF`, `unexpected EOF`,
// `invalid character 'o' in literal null (expecting 'u')`, `json: cannot unmarshal ...`).

import { goQuoteChar } from '../internal/clusterinfo/upstream.js';

class SyntaxErr extends Error {}

const WS = new Set([' ', '\t', '\n', '\r']);

/** Scan one JSON value starting at `i` (whitespace skipped); returns the index after it or throws with Go's message. */
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
      if (i + k >= s.length) throw new SyntaxErr('unexpected EOF');
      if (s[i + k] !== lit[k]) throw new SyntaxErr(`invalid character ${goQuoteChar(s[i + k]!)} in literal ${lit} (expecting ${goQuoteChar(lit[k]!)})`);
    }
    return i + lit.length;
  }
  throw new SyntaxErr(`invalid character ${goQuoteChar(c)} looking for beginning of value`);
}

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.has(s[i]!)) i++;
  if (i >= s.length) throw new SyntaxErr('unexpected EOF');
  return i;
}

function scanObject(s: string, i: number): number {
  i = skipWs(s, i);
  if (s[i] === '}') return i + 1;
  for (;;) {
    if (s[i] !== '"') throw new SyntaxErr(`invalid character ${goQuoteChar(s[i]!)} looking for beginning of object key string`);
    i = skipWs(s, scanString(s, i + 1));
    if (s[i] !== ':') throw new SyntaxErr(`invalid character ${goQuoteChar(s[i]!)} after object key`);
    i = skipWs(s, scanValue(s, i + 1));
    if (s[i] === '}') return i + 1;
    if (s[i] !== ',') throw new SyntaxErr(`invalid character ${goQuoteChar(s[i]!)} after object key:value pair`);
    i = skipWs(s, i + 1);
  }
}

function scanArray(s: string, i: number): number {
  i = skipWs(s, i);
  if (s[i] === ']') return i + 1;
  for (;;) {
    i = skipWs(s, scanValue(s, i));
    if (s[i] === ']') return i + 1;
    if (s[i] !== ',') throw new SyntaxErr(`invalid character ${goQuoteChar(s[i]!)} after array element`);
    i++;
  }
}

function scanString(s: string, i: number): number {
  for (;;) {
    if (i >= s.length) throw new SyntaxErr('unexpected EOF');
    const c = s[i]!;
    if (c === '"') return i + 1;
    if (c < ' ') throw new SyntaxErr(`invalid character ${goQuoteChar(c)} in string literal`);
    if (c === '\\') {
      if (i + 1 >= s.length) throw new SyntaxErr('unexpected EOF');
      const e = s[i + 1]!;
      if (e === 'u') {
        for (let k = 2; k < 6; k++) {
          if (i + k >= s.length) throw new SyntaxErr('unexpected EOF');
          if (!/[0-9a-fA-F]/.test(s[i + k]!)) throw new SyntaxErr(`invalid character ${goQuoteChar(s[i + k]!)} in \\u hexadecimal character escape`);
        }
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) throw new SyntaxErr(`invalid character ${goQuoteChar(e)} in string escape code`);
      i += 2;
      continue;
    }
    i++;
  }
}

function scanNumber(s: string, i: number): number {
  const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(s.slice(i));
  if (m === null || m[0] === '-') {
    if (i + 1 >= s.length) throw new SyntaxErr('unexpected EOF');
    throw new SyntaxErr(`invalid character ${goQuoteChar(s[i + 1]!)} in numeric literal`);
  }
  const end = i + m[0].length;
  // A number cut short by the end of input ("1." or "1e") is incomplete, not finished.
  if (end < s.length && /[.eE]/.test(s[end]!)) {
    if (end + 1 >= s.length) throw new SyntaxErr('unexpected EOF');
    throw new SyntaxErr(`invalid character ${goQuoteChar(s[end + 1]!)} after decimal point in numeric literal`);
  }
  return end;
}

function goKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/**
 * Decode the first JSON value of `body` into the string `fields` like Go's json.Decoder into a
 * struct: returns the field values ('' when absent or null) or an Error with Go's message.
 */
export function decodeStringFields<K extends string>(body: Buffer, fields: readonly K[]): Record<K, string> | Error {
  const text = body.toString('utf8');
  let i = 0;
  while (i < text.length && WS.has(text[i]!)) i++;
  if (i >= text.length) return new Error('EOF');
  let end: number;
  try {
    end = scanValue(text, i);
  } catch (err) {
    return err instanceof SyntaxErr ? new Error(err.message) : new Error(String(err));
  }
  const value: unknown = JSON.parse(text.slice(i, end));
  const out = Object.fromEntries(fields.map((f) => [f, ''])) as Record<K, string>;
  if (value === null) return out;
  if (typeof value !== 'object' || Array.isArray(value)) {
    const goFields = fields.map((f) => `${f[0]!.toUpperCase()}${f.slice(1)} string "json:\\"${f}\\""`).join('; ');
    return new Error(`json: cannot unmarshal ${goKind(value)} into Go value of type struct { ${goFields} }`);
  }
  let typeErr: Error | undefined;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const field = fields.find((f) => f === k) ?? fields.find((f) => f.toLowerCase() === k.toLowerCase());
    if (field === undefined || v === null) continue;
    if (typeof v !== 'string') {
      typeErr ??= new Error(`json: cannot unmarshal ${goKind(v)} into Go struct field .${field} of type string`);
      continue;
    }
    out[field] = v;
  }
  return typeErr ?? out;
}
