// Query strings and percent-escapes as Go's net/url reads them, and a request's query parameters
// (NSQ reads parameters from the URL only, never the body).

import type { IncomingMessage } from 'node:http';
import { goQuote } from '../protocol/quote.js';


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

/** Characters Go's net/url accepts unescaped in a host (letters, digits, unreserved, sub-delims, ':[]<>"'). */
const HOST_CHAR = /^[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]$/;
/** Characters Go's net/url accepts in userinfo. */
const USERINFO = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/;

/** Go's %q of a JS string. */
function q(s: string): string {
  return Buffer.from(goQuote(Buffer.from(s, 'utf8').toString('latin1')), 'latin1').toString('utf8');
}

/** Go's validOptionalPort: empty, or ':' and digits. */
function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

/** The %-escapes of `s` as Go's unescape checks them; in a host, also its characters and %XX below %80 other than %25. */
function escapeError(s: string, host: boolean): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */) {
      const hi = i + 1 < s.length ? hexVal(s.charCodeAt(i + 1)) : -1;
      const lo = i + 2 < s.length ? hexVal(s.charCodeAt(i + 2)) : -1;
      if (hi < 0 || lo < 0 || (host && hi < 8 && s.slice(i, i + 3) !== '%25')) return new URLEscapeError(s.slice(i, i + 3)).message;
      i += 2;
    } else if (host && c < 0x80 && !HOST_CHAR.test(s[i]!)) {
      return `invalid character ${q(s[i]!)} in host name`;
    }
  }
  return undefined;
}

/** Go's parseHost errors. */
function hostError(host: string): string | undefined {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) return "missing ']' in host";
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) return `invalid port ${q(colonPort)} after host`;
  } else {
    const i = host.lastIndexOf(':');
    if (i !== -1 && !validOptionalPort(host.slice(i))) return `invalid port ${q(host.slice(i))} after host`;
  }
  return escapeError(host, true);
}

/** Go's parse (url.Parse without the fragment) errors, in the order Go finds them. */
function parseError(u: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(u)) return 'net/url: invalid control character in URL';
  if (u === '*') return undefined;
  // getScheme: a scheme is letters first, then letters, digits, '+', '-', '.', up to ':'.
  let scheme = '';
  let rest = u;
  for (let i = 0; i < u.length; i++) {
    const c = u[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) break;
      continue;
    }
    if (c === ':') {
      if (i === 0) return 'missing protocol scheme';
      scheme = u.slice(0, i);
      rest = u.slice(i + 1);
    }
    break;
  }
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) rest = rest.slice(0, -1);
  else if (rest.includes('?')) rest = rest.slice(0, rest.indexOf('?'));
  if (!rest.startsWith('/')) {
    if (scheme !== '') return undefined; // opaque
    const slash = rest.indexOf('/');
    if ((slash === -1 ? rest : rest.slice(0, slash)).includes(':')) return 'first path segment in URL cannot contain colon';
  }
  if ((scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    let authority = rest.slice(2);
    const slash = authority.indexOf('/');
    rest = slash === -1 ? '' : authority.slice(slash);
    if (slash !== -1) authority = authority.slice(0, slash);
    const at = authority.lastIndexOf('@');
    const err = hostError(at < 0 ? authority : authority.slice(at + 1));
    if (err !== undefined) return err;
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!USERINFO.test(userinfo)) return 'net/url: invalid userinfo';
      const e = escapeError(userinfo, false);
      if (e !== undefined) return e;
    }
  }
  return escapeError(rest, false);
}

/** Go's url.Parse error text for `raw` (`parse "<url>": <reason>`), or undefined when Go parses it. */
export function goUrlParseError(raw: string): string | undefined {
  const hash = raw.indexOf('#');
  const u = hash === -1 ? raw : raw.slice(0, hash);
  const err = parseError(u);
  if (err !== undefined) return `parse ${q(u)}: ${err}`;
  if (hash !== -1) {
    const e = escapeError(raw.slice(hash + 1), false);
    if (e !== undefined) return `parse ${q(raw)}: ${e}`;
  }
  return undefined;
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
