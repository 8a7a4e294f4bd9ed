// The web UI's files (src/nsqadmin/static: index.html template, app.js, app.css), loaded once at
// start (or read from --dev-static-dir on each request), and the index page with the JS globals
// NSQ's index template injects (USER_AGENT, VERSION, GRAPHITE_URL, ..., IS_ADMIN, BASE_PATH).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the bundled assets live: next to this module once copied by the build, else the source tree. */
export function bundledStaticDir(): string {
  const candidates = [fileURLToPath(new URL('./static/', import.meta.url)), fileURLToPath(new URL('../../src/nsqadmin/static/', import.meta.url))];
  for (const c of candidates) if (existsSync(join(c, 'index.html'))) return c;
  return candidates[0]!;
}

/** Asset names are one plain path segment (no '..', no hidden files). */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Largest asset served (bounded memory). */
const MAX_ASSET_BYTES = 4 * 1024 * 1024;

/** Content types by extension: Go's built-in MIME table first, then nsqadmin's fallbacks. */
const MIME: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/vnd.microsoft.icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
  '.txt': 'text/plain; charset=utf-8',
};

/** The Content-Type of an asset name, or undefined when unknown (then none is set, as in NSQ). */
export function assetContentType(name: string): string | undefined {
  return MIME[extname(name).toLowerCase()];
}

/** A flat set of named static files. */
export class AssetStore {
  private readonly files = new Map<string, Buffer>();

  /** Load every regular file of `dir` (bundled mode) or, with `live`, read on demand (--dev-static-dir). */
  constructor(
    private readonly dir: string,
    private readonly live: boolean,
  ) {
    if (live) return;
    for (const name of readdirSync(dir)) {
      if (!ASSET_NAME.test(name)) continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isFile() && st.size <= MAX_ASSET_BYTES) this.files.set(name, readFileSync(p));
    }
  }

  /** The bytes of asset `name`, or undefined when there is no such asset. */
  get(name: string): Buffer | undefined {
    if (!ASSET_NAME.test(name)) return undefined;
    if (!this.live) return this.files.get(name);
    try {
      const p = join(this.dir, name);
      const st = statSync(p);
      if (!st.isFile() || st.size > MAX_ASSET_BYTES) return undefined;
      return readFileSync(p);
    } catch {
      return undefined;
    }
  }
}

/** A JavaScript string literal safe inside an HTML <script> (html/template's JS escaping). */
export function jsString(s: string): string {
  return "'" + s.replace(/[\\'"<>&\u0000-\u001f\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) + "'";
}

/** Values injected into the index page as JS globals. */
export interface IndexGlobals {
  version: string;
  graphiteUrl: string;
  proxyGraphite: boolean;
  statsdCounterFormat: string;
  statsdGaugeFormat: string;
  statsdIntervalSeconds: number;
  statsdPrefix: string;
  nsqlookupd: readonly string[];
  isAdmin: boolean;
  basePath: string;
}

/** The `<script>` body defining the globals the UI reads. */
export function globalsScript(g: IndexGlobals): string {
  return [
    `var USER_AGENT = ${jsString(`nsqadmin/v${g.version}`)};`,
    `var VERSION = ${jsString(g.version)};`,
    `var GRAPHITE_URL = ${jsString(g.proxyGraphite ? '' : g.graphiteUrl)};`,
    `var GRAPH_ENABLED = ${g.graphiteUrl !== '' ? 'true' : 'false'};`,
    `var STATSD_COUNTER_FORMAT = ${jsString(g.statsdCounterFormat)};`,
    `var STATSD_GAUGE_FORMAT = ${jsString(g.statsdGaugeFormat)};`,
    `var STATSD_INTERVAL = ${Math.trunc(g.statsdIntervalSeconds)};`,
    `var STATSD_PREFIX = ${jsString(g.statsdPrefix)};`,
    `var NSQLOOKUPD = [${g.nsqlookupd.map(jsString).join(', ')}];`,
    `var IS_ADMIN = ${g.isAdmin ? 'true' : 'false'};`,
    `var BASE_PATH = ${jsString(g.basePath)};`,
  ].join('\n');
}

/** Fill the index template: `{{GLOBALS}}` gets the script body, `{{BASE}}` the asset URL prefix. */
export function renderIndex(template: string, g: IndexGlobals): string {
  const base = g.basePath === '/' ? '' : g.basePath;
  const attr = base.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return template.replaceAll('{{BASE}}', attr).replace('{{GLOBALS}}', () => globalsScript(g));
}
