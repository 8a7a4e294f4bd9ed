// nsqadmin wraps every response in NSQ's CompressHandler (gorilla/handlers style): when the
// request's Accept-Encoding lists `gzip` or `deflate` (first match scanning the list wins), the
// body is compressed (gzip, or raw deflate as Go's compress/flate writes it) and the response gets
// `Content-Encoding` and `Vary: Accept-Encoding`. Our handlers always answer with writeHead()
// followed by one end(body), so the body is compressed whole at end().

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { TEXT_TYPE } from '../internal/http.js';

/** The encoding Go's CompressHandler would pick for this Accept-Encoding header, if any. */
export function pickEncoding(acceptEncoding: string | undefined): 'gzip' | 'deflate' | undefined {
  for (const part of (acceptEncoding ?? '').split(',')) {
    const enc = part.trim();
    if (enc === 'gzip' || enc === 'deflate') return enc;
  }
  return undefined;
}

/** Make `res` compress what the handler ends it with, when the request asks for it. */
export function compressResponse(req: IncomingMessage, res: ServerResponse): void {
  const enc = pickEncoding(req.headers['accept-encoding']);
  if (enc === undefined) return;
  const origWriteHead = res.writeHead.bind(res) as (status: number, headers?: OutgoingHttpHeaders) => ServerResponse;
  const origEnd = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  let pending: { status: number; headers: OutgoingHttpHeaders } | undefined;
  const patched = res as unknown as { writeHead: (...a: unknown[]) => ServerResponse; end: (...a: unknown[]) => ServerResponse };
  patched.writeHead = (status: unknown, ...rest: unknown[]): ServerResponse => {
    const last = rest[rest.length - 1];
    pending = { status: Number(status), headers: typeof last === 'object' && last !== null ? { ...(last as OutgoingHttpHeaders) } : {} };
    return res;
  };
  patched.end = (chunk?: unknown, ...rest: unknown[]): ServerResponse => {
    const cb = rest.find((x): x is () => void => typeof x === 'function');
    const body = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk instanceof Uint8Array ? Buffer.from(chunk) : Buffer.alloc(0);
    const out = enc === 'gzip' ? gzipSync(body) : deflateRawSync(body);
    const p = pending ?? { status: res.statusCode, headers: {} };
    // The length changes; and text/plain is our stand-in for the type Go's server sniffs from a
    // body it was not told the type of, but Go does not sniff a body with a Content-Encoding.
    for (const k of Object.keys(p.headers)) {
      const lower = k.toLowerCase();
      if (lower === 'content-length' || (lower === 'content-type' && p.headers[k] === TEXT_TYPE)) delete p.headers[k];
    }
    res.removeHeader('Content-Length');
    if (res.getHeader('Content-Type') === TEXT_TYPE) res.removeHeader('Content-Type');
    res.setHeader('Content-Encoding', enc);
    res.setHeader('Vary', 'Accept-Encoding');
    origWriteHead(p.status, { ...p.headers, 'Content-Length': String(out.length) });
    origEnd(out);
    if (cb) res.once('finish', cb);
    return res;
  };
}
