// nsqadmin's options and flag table: NSQ v1.3.0's names, defaults and usage texts
// (apps/nsqadmin/main.go, nsqadmin/options.go), so `-h` reads like Go's and config files written
// for Go nsqadmin work unchanged (list flags use the cfg names nsqlookupd_http_addresses,
// nsqd_http_addresses and admin_users).

import { posix } from 'node:path';
import { daemonBaseFlags, httpClientTimeoutFlags, type FlagSpec } from '../internal/flags.js';
import type { LogLevel } from '../internal/log.js';

/** Every nsqadmin option; durations are milliseconds. Names follow NSQ's flags in camelCase. */
export interface NsqadminOptions {
  /** Lowest level logged (--log-level, default info). */
  logLevel: LogLevel;
  /** Text before every log line (--log-prefix, default "[nsqadmin] "). */
  logPrefix: string;
  /** Write logs as JSON lines (--log-json, an nsq-ts extension; default false). */
  logJson: boolean;
  /** `<addr>:<port>` of the HTTP server (default 0.0.0.0:4171). */
  httpAddress: string;
  /** URL prefix of every route (default "/"; normalised to a leading '/' and no trailing '/'). */
  basePath: string;
  /** Graphite HTTP base URL (default ""). */
  graphiteUrl: string;
  /** Serve `/render` as a reverse proxy to graphite (default false). */
  proxyGraphite: boolean;
  /** Prefix nsqd uses for statsd keys, `%s` = host key (default "nsq.%s"). */
  statsdPrefix: string;
  /** Graphite format of counter metrics (default "stats.counters.%s.count"). */
  statsdCounterFormat: string;
  /** Graphite format of gauge metrics (default "stats.gauges.%s"). */
  statsdGaugeFormat: string;
  /** nsqd's statsd interval, in ms (default 60000). */
  statsdInterval: number;
  /** nsqlookupd HTTP addresses (repeatable --lookupd-http-address). */
  nsqlookupdHttpAddresses: string[];
  /** nsqd HTTP addresses (repeatable --nsqd-http-address). */
  nsqdHttpAddresses: string[];
  /** Connect timeout of upstream HTTP requests, in ms (default 2000). */
  httpClientConnectTimeout: number;
  /** Whole-request timeout of upstream HTTP requests, in ms (default 5000). */
  httpClientRequestTimeout: number;
  /** Skip verifying upstream TLS certificates (default false). */
  httpClientTlsInsecureSkipVerify: boolean;
  /** PEM file of CA certificates for upstream https (default ""). */
  httpClientTlsRootCaFile: string;
  /** PEM client certificate for upstream https (default ""). */
  httpClientTlsCert: string;
  /** PEM client key for upstream https (default ""). */
  httpClientTlsKey: string;
  /** CIDR allowed to use /config (default 127.0.0.1/8; "" allows everyone). */
  allowConfigFromCidr: string;
  /** URL POSTed a JSON event after each admin action (default ""). */
  notificationHttpEndpoint: string;
  /** Request header naming the user for the admin check (default X-Forwarded-User). */
  aclHttpHeader: string;
  /** Users allowed to run admin actions; empty = everyone (repeatable --admin-user). */
  adminUsers: string[];
  /** Serve static assets from this directory instead of the bundled ones (default ""). */
  devStaticDir: string;
}

/** nsqadmin's flag table: NSQ v1.3.0's flags, defaults and help texts, plus nsq-ts's --log-json. */
export function nsqadminFlagSpecs(): FlagSpec[] {
  return [
    ...daemonBaseFlags('[nsqadmin] '),
    { name: 'http-address', key: 'httpAddress', kind: 'string', default: '0.0.0.0:4171', usage: '<addr>:<port> to listen on for HTTP clients' },
    { name: 'base-path', key: 'basePath', kind: 'string', default: '/', usage: 'URL base path' },
    { name: 'dev-static-dir', key: 'devStaticDir', kind: 'string', default: '', usage: '(development use only)' },
    { name: 'graphite-url', key: 'graphiteUrl', kind: 'string', default: '', usage: 'graphite HTTP address' },
    { name: 'proxy-graphite', key: 'proxyGraphite', kind: 'bool', default: false, usage: 'proxy HTTP requests to graphite' },
    { name: 'statsd-counter-format', key: 'statsdCounterFormat', kind: 'string', default: 'stats.counters.%s.count', usage: 'The counter stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.' },
    { name: 'statsd-gauge-format', key: 'statsdGaugeFormat', kind: 'string', default: 'stats.gauges.%s', usage: 'The gauge stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.' },
    { name: 'statsd-prefix', key: 'statsdPrefix', kind: 'string', default: 'nsq.%s', usage: 'prefix used for keys sent to statsd (%s for host replacement, must match nsqd)' },
    { name: 'statsd-interval', key: 'statsdInterval', kind: 'duration', default: 60_000, usage: 'time interval nsqd is configured to push to statsd (must match nsqd)' },
    { name: 'notification-http-endpoint', key: 'notificationHttpEndpoint', kind: 'string', default: '', usage: 'HTTP endpoint (fully qualified) to which POST notifications of admin actions will be sent' },
    ...httpClientTimeoutFlags(5_000),
    { name: 'http-client-tls-insecure-skip-verify', key: 'httpClientTlsInsecureSkipVerify', kind: 'bool', default: false, usage: 'configure the HTTP client to skip verification of TLS certificates' },
    { name: 'http-client-tls-root-ca-file', key: 'httpClientTlsRootCaFile', kind: 'string', default: '', usage: 'path to CA file for the HTTP client' },
    { name: 'http-client-tls-cert', key: 'httpClientTlsCert', kind: 'string', default: '', usage: 'path to certificate file for the HTTP client' },
    { name: 'http-client-tls-key', key: 'httpClientTlsKey', kind: 'string', default: '', usage: 'path to key file for the HTTP client' },
    { name: 'allow-config-from-cidr', key: 'allowConfigFromCidr', kind: 'string', default: '127.0.0.1/8', usage: 'A CIDR from which to allow HTTP requests to the /config endpoint' },
    { name: 'acl-http-header', key: 'aclHttpHeader', kind: 'string', default: 'X-Forwarded-User', usage: 'HTTP header to check for authenticated admin users' },
    { name: 'lookupd-http-address', key: 'nsqlookupdHttpAddresses', cfg: 'nsqlookupd_http_addresses', kind: 'strings', default: [], usage: 'lookupd HTTP address (may be given multiple times)' },
    { name: 'nsqd-http-address', key: 'nsqdHttpAddresses', cfg: 'nsqd_http_addresses', kind: 'strings', default: [], usage: 'nsqd HTTP address (may be given multiple times)' },
    { name: 'admin-user', key: 'adminUsers', cfg: 'admin_users', kind: 'strings', default: [], usage: 'admin user (may be given multiple times; if specified, only these users will be able to perform privileged actions; acl-http-header is used to determine the authenticated user)' },
  ];
}

/** Options with every default applied, for embedding: `new NSQAdmin({ ...defaults, nsqdHttpAddresses: [...] })`. */
export function defaultNsqadminOptions(): NsqadminOptions {
  const out: Record<string, unknown> = {};
  for (const spec of nsqadminFlagSpecs()) {
    if (spec.noConfig) continue;
    out[spec.key] = Array.isArray(spec.default) ? [...(spec.default as unknown[])] : spec.default;
  }
  return out as unknown as NsqadminOptions;
}

/** Go's path.Clean of the base path with a leading '/' added (nsqadmin's normalizeBasePath). */
export function normalizeBasePath(p: string): string {
  return posix.resolve('/', p);
}

/** Go's path.Join(base, p) for a normalised base path and a rooted route path. */
export function joinBasePath(base: string, p: string): string {
  if (base === '/') return p;
  return p === '/' ? base : base + p;
}
