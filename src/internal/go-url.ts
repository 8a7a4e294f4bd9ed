// Query strings and percent-escapes as Go's net/url reads them, and a request's query parameters
// (NSQ reads parameters from the URL only, never the body).

import type { IncomingMessage } from 'node:http';


/** Error raised by Go's unescape for a malformed %-escape; its message matches Go's EscapeError. */
export class URLEscapeError extends Error {
  /** Always 'URLEscapeError'. */
  override readonly name = 'URLEscapeError';
  /** Always 'ERR_INVALID_URL_ESCAPE'. */
  readonly code = 'ERR_INVALID_URL_ESCAPE';

  /** Create the error for the offending text (at most three characters from the '%'). */
  constructor(
    /** The offending text, at most three characters starting at the '%'. */
    readonly escape: string,
  ) {
    super(`invalid URL escape ${JSON.stringify(escape)}`);
  }
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Percent-decode like Go's url.QueryUnescape (or url.PathUnescape when `plusIsSpace` is false);
 * returns a URLEscapeError for a '%' not followed by two hex digits.
 */
export function unescapeGo(s: string, plusIsSpace = true): string | URLEscapeError {
  if (!s.includes('%') && !(plusIsSpace && s.includes('+'))) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */) {
      const hi = i + 1 < s.length ? hexVal(s.charCodeAt(i + 1)) : -1;
      const lo = i + 2 < s.length ? hexVal(s.charCodeAt(i + 2)) : -1;
      if (hi < 0 || lo < 0) return new URLEscapeError(s.slice(i, i + 3));
      bytes.push(hi * 16 + lo);
      i += 3;
    } else if (c === 43 /* + */ && plusIsSpace) {
      bytes.push(32);
      i++;
    } else if (c < 0x80) {
      bytes.push(c);
      i++;
    } else {
      // Node rejects raw non-ASCII request targets, so this only happens for strings built in JS.
      const cp = s.codePointAt(i) ?? c;
      const ch = String.fromCodePoint(cp);
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Parse a raw query string like Go's url.ParseQuery: '&'-separated pieces, empty pieces skipped,
 * `key` without '=' has value '', '+' is a space; returns an Error for a ';' in a piece or a bad
 * %-escape (NSQ answers those with 400 INVALID_REQUEST).
 */
export function parseQuery(raw: string): Map<string, string[]> | Error {
  const m = new Map<string, string[]>();
  let firstErr: Error | undefined;
  for (const piece of raw.split('&')) {
    if (piece.includes(';')) {
      firstErr ??= new Error('invalid semicolon separator in query');
      continue;
    }
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const k = unescapeGo(eq === -1 ? piece : piece.slice(0, eq));
    if (k instanceof Error) {
      firstErr ??= k;
      continue;
    }
    const v = unescapeGo(eq === -1 ? '' : piece.slice(eq + 1));
    if (v instanceof Error) {
      firstErr ??= v;
      continue;
    }
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  }
  return firstErr ?? m;
}

/** The query-string parameters of a request (NSQ reads parameters from the URL only, never the body). */
export class ReqParams {
  /** Wrap an already parsed query. */
  constructor(
    /** Every key with its values in query order. */
    readonly values: Map<string, string[]>,
  ) {}

  /** Parse the request's query string; returns an Error when Go would refuse it. */
  static parse(req: IncomingMessage): ReqParams | Error {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const parsed = parseQuery(q === -1 ? '' : url.slice(q + 1));
    return parsed instanceof Error ? parsed : new ReqParams(parsed);
  }

  /** The first value of a key (a present-but-empty value is ''), or undefined when absent. */
  get(key: string): string | undefined {
    return this.values.get(key)?.[0];
  }

  /** Whether the key appears in the query at all. */
  has(key: string): boolean {
    return this.values.has(key);
  }

  /** Every value of a key in order, or [] when absent. */
  getAll(key: string): string[] {
    return [...(this.values.get(key) ?? [])];
  }
}
