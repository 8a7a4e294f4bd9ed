// A method + path router with the observable behaviour of julienschmidt/httprouter v1.3.0 as NSQ
// configures it: V1 404/405/500 bodies, automatic OPTIONS, trailing-slash and fixed-path redirects.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { unescapeGo } from './go-url.js';
import { respondText, respondV1Error } from './http.js';

/** Route parameters by name (`:name` segments and the `*name` catch-all, which keeps its leading '/'). */
export type Params = Record<string, string>;

/** A request handler; a thrown error or rejected promise becomes a 500 INTERNAL_ERROR response. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: Params) => void | Promise<void>;

/** Construction options for Router. */
export interface RouterOptions {
  /** Called with a handler's thrown or rejected error (NSQ logs "panic in HTTP handler"). */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

type Segment = { kind: 'static'; text: string } | { kind: 'param'; name: string } | { kind: 'catchAll'; name: string };

interface Route {
  path: string;
  segments: Segment[];
  handler: RouteHandler;
}

/** Split "/a/b/" into ["a", "b", ""]; the leading '/' is implied. */
function splitPath(path: string): string[] {
  return path.slice(1).split('/');
}

function parseRoutePath(path: string): Segment[] {
  if (!path.startsWith('/')) throw new Error(`path must begin with '/' in path '${path}'`);
  const parts = splitPath(path);
  return parts.map((part, i) => {
    if (part.startsWith(':')) {
      if (part.length === 1) throw new Error(`wildcards must be named with a non-empty name in path '${path}'`);
      return { kind: 'param', name: part.slice(1) };
    }
    if (part.startsWith('*')) {
      if (part.length === 1) throw new Error(`wildcards must be named with a non-empty name in path '${path}'`);
      if (i !== parts.length - 1) throw new Error(`catch-all routes are only allowed at the end of the path in path '${path}'`);
      return { kind: 'catchAll', name: part.slice(1) };
    }
    return { kind: 'static', text: part };
  });
}

const SEGMENT_RANK = { static: 0, param: 1, catchAll: 2 } as const;

/** Static segments are tried before parameters, parameters before a catch-all. */
function compareRoutes(a: Route, b: Route): number {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const d = SEGMENT_RANK[(a.segments[i] as Segment).kind] - SEGMENT_RANK[(b.segments[i] as Segment).kind];
    if (d !== 0) return d;
  }
  return b.segments.length - a.segments.length;
}

/**
 * Match a request path against a route; on success returns the params and, when `fold` is set
 * (case-insensitive matching), the path rebuilt with the route's own spelling.
 */
function matchRoute(route: Route, parts: readonly string[], fold: boolean): { params: Params; path: string } | undefined {
  const params: Params = {};
  const out: string[] = [];
  const segs = route.segments;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as Segment;
    if (seg.kind === 'catchAll') {
      if (i > parts.length) return undefined;
      // A catch-all needs its '/' (the route "/src/*f" matches "/src/" but not "/src").
      if (i === parts.length) return undefined;
      const rest = '/' + parts.slice(i).join('/');
      params[seg.name] = rest;
      out.push(parts.slice(i).join('/'));
      return { params, path: '/' + out.join('/') };
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.kind === 'param') {
      if (part === '') return undefined;
      params[seg.name] = part;
      out.push(part);
    } else {
      if (part !== seg.text && !(fold && part.toLowerCase() === seg.text.toLowerCase())) return undefined;
      out.push(seg.text);
    }
  }
  if (parts.length !== segs.length) return undefined;
  return { params, path: '/' + out.join('/') };
}

/** Go's path.Clean plus httprouter's CleanPath rules: rooted, no '.', '..' or '//', trailing '/' kept. */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  const trailing = p.length > 1 && p.endsWith('/');
  const stack: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') stack.pop();
    else stack.push(part);
  }
  let out = '/' + stack.join('/');
  if (trailing && out !== '/') out += '/';
  return out;
}

/**
 * A request target as Go's server reads it: the decoded path (URL.Path) and the query as sent
 * (URL.RawQuery); null when Go's server would refuse it (400). Absolute-form targets (proxy
 * style) carry the path after the authority.
 */
export function requestTarget(url: string): { path: string; rawQuery: string } | null {
  let target = url;
  if (!target.startsWith('/')) {
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(target);
    target = m ? m[1] || '/' : target;
  }
  const q = target.indexOf('?');
  const path = unescapeGo(q === -1 ? target : target.slice(0, q), false);
  if (path instanceof Error || !path.startsWith('/')) return null;
  return { path, rawQuery: q === -1 ? '' : target.slice(q + 1) };
}

// Characters Go's url.PathEscape-style path encoding leaves alone (shouldEscape with encodePath).
const PATH_SAFE = /[A-Za-z0-9\-_.~$&+,/:;=@]/;

/** Re-escape a decoded path the way Go's URL.EscapedPath does. */
function escapePath(path: string): string {
  let out = '';
  for (const ch of path) {
    if (ch.length === 1 && PATH_SAFE.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * A decoded path and raw query as Go's URL.RequestURI writes them again: the path escaped, `?`
 * and the query only when there is one (a redirect's Location, nsqadmin's notification url).
 */
export function requestURI(path: string, rawQuery: string): string {
  return escapePath(path) + (rawQuery !== '' ? `?${rawQuery}` : '');
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c] ?? c);
}

/**
 * A method + path router with julienschmidt/httprouter v1.3.0 semantics and NSQ's V1 error
 * bodies: 404 NOT_FOUND, 405 METHOD_NOT_ALLOWED with `Allow`, automatic OPTIONS, trailing-slash
 * and case/clean-path redirects (301 for GET, 307 otherwise), 500 INTERNAL_ERROR on handler failure.
 */
export class Router {
  private readonly trees = new Map<string, Route[]>();
  private readonly onError: ((err: unknown, req: IncomingMessage) => void) | undefined;

  /** Create an empty router; `onError` sees every handler failure. */
  constructor(opts: RouterOptions = {}) {
    this.onError = opts.onError;
  }

  /** Register a handler; path segments may be `:name` parameters or a final `*name` catch-all. */
  add(method: string, path: string, handler: RouteHandler): this {
    const route: Route = { path, segments: parseRoutePath(path), handler };
    const routes = this.trees.get(method) ?? [];
    const shape = (r: Route): string =>
      r.segments.map((s) => (s.kind === 'static' ? 's:' + s.text : s.kind)).join('/');
    if (routes.some((r) => shape(r) === shape(route))) {
      throw new Error(`a handle is already registered for path '${path}' (${method})`);
    }
    routes.push(route);
    routes.sort(compareRoutes);
    this.trees.set(method, routes);
    return this;
  }

  /** Dispatch a request to its handler or answer it with NSQ's 404/405/OPTIONS/redirect behaviour; never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.dispatch(req, res);
    } catch (err) {
      this.fail(err, req, res);
    }
  }

  private lookup(method: string, parts: readonly string[]): { route: Route; params: Params } | undefined {
    const routes = this.trees.get(method);
    if (!routes) return undefined;
    for (const route of routes) {
      const m = matchRoute(route, parts, false);
      if (m) return { route, params: m.params };
    }
    return undefined;
  }

  /** Sorted methods (plus OPTIONS) that have a route for the path, excluding `skip`; '' when none. */
  private allowed(path: string, skip: string): string {
    const parts = splitPath(path);
    const methods: string[] = [];
    for (const method of this.trees.keys()) {
      if (method === skip || method === 'OPTIONS') continue;
      if (this.lookup(method, parts)) methods.push(method);
    }
    if (methods.length === 0) return '';
    methods.push('OPTIONS');
    methods.sort();
    return methods.join(', ');
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const target = requestTarget(req.url ?? '/');
    if (target === null) {
      // Go's server rejects a request URI it cannot parse before any handler runs.
      respondText(res, 400, '400 Bad Request');
      return;
    }
    const { path, rawQuery } = target;

    const parts = splitPath(path);
    const found = this.lookup(method, parts);
    if (found) {
      this.invoke(found.route.handler, req, res, found.params);
      return;
    }

    const routes = this.trees.get(method);
    if (routes && method !== 'CONNECT' && path !== '/') {
      const code = method === 'GET' ? 301 : 307;
      // Trailing-slash redirect: the same path with the slash toggled has a route.
      const alt = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path + '/';
      if (this.lookup(method, splitPath(alt))) {
        this.redirect(req, res, code, alt, rawQuery);
        return;
      }
      // Fixed-path redirect: clean the path, then match case-insensitively (slash toggled too).
      const fixed = this.findFixedPath(routes, cleanPath(path));
      if (fixed !== undefined) {
        this.redirect(req, res, code, fixed, rawQuery);
        return;
      }
    }

    if (method === 'OPTIONS') {
      const allow = this.allowed(path, 'OPTIONS');
      if (allow !== '') {
        res.writeHead(200, { Allow: allow, 'Content-Length': '0' });
        res.end();
        return;
      }
    } else {
      const allow = this.allowed(path, method);
      if (allow !== '') {
        res.setHeader('Allow', allow);
        respondV1Error(res, 405, 'METHOD_NOT_ALLOWED');
        return;
      }
    }
    respondV1Error(res, 404, 'NOT_FOUND');
  }

  private findFixedPath(routes: readonly Route[], clean: string): string | undefined {
    const candidates = [clean];
    if (clean.length > 1 && clean.endsWith('/')) candidates.push(clean.slice(0, -1));
    else if (clean !== '/') candidates.push(clean + '/');
    for (const candidate of candidates) {
      const parts = splitPath(candidate);
      for (const route of routes) {
        const m = matchRoute(route, parts, true);
        if (m) return m.path;
      }
    }
    return undefined;
  }

  private redirect(req: IncomingMessage, res: ServerResponse, code: number, path: string, rawQuery: string): void {
    const location = requestURI(path, rawQuery);
    res.setHeader('Location', location);
    if (req.method === 'GET' || req.method === 'HEAD') {
      // Go's http.Redirect adds a tiny HTML body for GET and HEAD.
      const body = Buffer.from(`<a href="${htmlEscape(location)}">${code === 301 ? 'Moved Permanently' : 'Temporary Redirect'}</a>.\n\n`);
      res.writeHead(code, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(code, { 'Content-Length': '0' });
    res.end();
  }

  private invoke(handler: RouteHandler, req: IncomingMessage, res: ServerResponse, params: Params): void {
    let result: void | Promise<void>;
    try {
      result = handler(req, res, params);
    } catch (err) {
      this.fail(err, req, res);
      return;
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).then(undefined, (err: unknown) => this.fail(err, req, res));
    }
  }

  private fail(err: unknown, req: IncomingMessage, res: ServerResponse): void {
    try {
      this.onError?.(err, req);
    } catch {
      // A broken error hook must not stop the 500 from going out.
    }
    if (!res.headersSent) {
      try {
        res.removeHeader('Content-Type');
        res.removeHeader('Content-Length');
        respondV1Error(res, 500, 'INTERNAL_ERROR');
        return;
      } catch {
        // fall through to destroying the response
      }
    }
    if (!res.writableEnded) res.destroy();
  }
}
