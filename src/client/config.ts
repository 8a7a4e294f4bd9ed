/**
 * Client configuration: go-nsq's Config options with its defaults and ranges (spec 4.2), named in
 * camelCase; go-nsq's snake_case names (and `-` for `_`, as Config.Set accepts) work too.
 * Durations are milliseconds, given as numbers or as Go duration strings (`"2s"`, `"250ms"`).
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { formatDuration, parseDuration } from '../internal/duration.js';
import { parseGoBool } from '../internal/flags.js';
import { NsqError } from './errors.js';

/** This package's version, read from package.json (`0.0.0` if unreadable). */
export const CLIENT_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** A backoff strategy: go-nsq's `exponential` (multiplier × 2^level), `full_jitter` (random in [0, that)), or a function of (level, multiplierMs) → ms. */
export type BackoffStrategy = 'exponential' | 'full_jitter' | ((level: number, multiplierMs: number) => number);

/** Client log levels; `none` silences the library. */
export type ClientLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'none';

/** Receives the library's log lines (default: `warn` and above to stderr). */
export type ClientLogger = (level: Exclude<ClientLogLevel, 'none'>, message: string) => void;

/** TLS settings for `tlsV1` connections: node:tls connect options (ca, cert, key, rejectUnauthorized, servername, minVersion...). */
export type ClientTlsOptions = Pick<TlsConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername' | 'minVersion' | 'maxVersion' | 'checkServerIdentity'>;

/** A duration: milliseconds, or a Go duration string such as `"90s"`. */
export type DurationInput = number | string;

/** Every option, resolved: durations in ms. */
export interface ClientConfig {
  /** Dial timeout in ms (1000). */
  dialTimeout: number;
  /** Socket idle read deadline in ms, 100..300000 (60000); must be ≥ heartbeatInterval. */
  readTimeout: number;
  /** Write timeout in ms, 100..300000 (1000); a write buffered longer than this closes the connection. */
  writeTimeout: number;
  /** Local address to bind when dialing ('' = any). */
  localAddr: string;
  /** Lookupd poll interval in ms, 10..300000 (60000); also the nsqd reconnect interval without lookupd. */
  lookupdPollInterval: number;
  /** Fraction of the poll interval used as the initial random delay, 0..1 (0.3). */
  lookupdPollJitter: number;
  /** Lookupd HTTP timeout in ms (60000). */
  lookupdPollTimeout: number;
  /** Upper bound of the default requeue delay in ms, 0..3600000 (900000). */
  maxRequeueDelay: number;
  /** Requeue delay per attempt in ms, 0..3600000 (90000): `requeue()` waits this × attempts. */
  defaultRequeueDelay: number;
  /** Backoff strategy (`exponential`). */
  backoffStrategy: BackoffStrategy;
  /** Longest backoff in ms, 0..3600000 (120000); 0 never backs off. */
  maxBackoffDuration: number;
  /** Backoff unit in ms, 0..3600000 (1000). */
  backoffMultiplier: number;
  /** Deliveries after which a message is discarded (finished without the handler), 0..65535 (5); 0 = unlimited. */
  maxAttempts: number;
  /** In redistribution, a connection idle this long (ms) gives up its RDY, 1000..300000 (10000). */
  lowRdyIdleTimeout: number;
  /** In redistribution, a RDY older than this (ms) is taken back, 1000..300000 (30000). */
  lowRdyTimeout: number;
  /** How often RDY is redistributed in ms, 1..5000 (5000). */
  rdyRedistributeInterval: number;
  /** IDENTIFY client_id (short hostname). */
  clientId: string;
  /** IDENTIFY hostname (os.hostname()). */
  hostname: string;
  /** IDENTIFY user_agent (`nsq-ts/<version>`). */
  userAgent: string;
  /** Heartbeat interval asked of nsqd in ms (30000); -1 disables heartbeats (consumers then cannot SUB). */
  heartbeatInterval: number;
  /** Percentage of messages nsqd delivers to this consumer, 0..99 (0 = all). */
  sampleRate: number;
  /** Negotiate TLS (false). */
  tlsV1: boolean;
  /** TLS options used when tlsV1 is negotiated ({}). */
  tls: ClientTlsOptions;
  /** Negotiate raw deflate compression (false). */
  deflate: boolean;
  /** Deflate level 1..9 (6). */
  deflateLevel: number;
  /** Negotiate snappy stream compression (false). */
  snappy: boolean;
  /** nsqd's output buffer size for this connection in bytes (16384); -1 disables buffering. */
  outputBufferSize: number;
  /** nsqd's output buffer flush timeout in ms (250); -1 disables timed flushes. */
  outputBufferTimeout: number;
  /** Messages allowed in flight across all connections, ≥ 0 (1). */
  maxInFlight: number;
  /** nsqd message timeout for this client in ms (0 = nsqd's default). */
  msgTimeout: number;
  /** Secret sent with AUTH when nsqd requires it (''). */
  authSecret: string;
  /** Send `Authorization: Bearer <authSecret>` to lookupd (true; go-nsq's `skip_lookupd_authorization`). */
  lookupdAuthorization: boolean;
  /** Largest frame accepted from nsqd in bytes (0 = no limit). */
  maxMsgSize: number;
  /** Leave FIN/REQ to the application: no auto-finish on resolve, no auto-requeue on reject (false). */
  disableAutoResponse: boolean;
  /** How long close() waits for in-flight messages before dropping connections, in ms (30000). */
  closeTimeout: number;
  /** Lowest level logged (`warn`). */
  logLevel: ClientLogLevel;
  /** Where log lines go (stderr). */
  logger: ClientLogger;
}

type DurationKeys = 'dialTimeout' | 'readTimeout' | 'writeTimeout' | 'lookupdPollInterval' | 'lookupdPollTimeout' | 'maxRequeueDelay'
  | 'defaultRequeueDelay' | 'maxBackoffDuration' | 'backoffMultiplier' | 'lowRdyIdleTimeout' | 'lowRdyTimeout'
  | 'rdyRedistributeInterval' | 'heartbeatInterval' | 'outputBufferTimeout' | 'msgTimeout' | 'closeTimeout';

/** Options as given by the caller: any subset, durations as ms or Go strings. */
export type ClientOptionsCamel = { [K in keyof ClientConfig]?: K extends DurationKeys ? DurationInput : ClientConfig[K] };

type CamelToSnake<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${CamelToSnake<T>}`
  : S;

/** The same options under go-nsq's snake_case names (`max_in_flight`, `tls_v1`, `skip_lookupd_authorization`). */
export type ClientOptionsSnake = { [K in keyof ClientOptionsCamel as CamelToSnake<K & string>]?: ClientOptionsCamel[K] } & {
  skip_lookupd_authorization?: boolean;
};

/** Options accepted by Producer, ProducerPool and Consumer. */
export type ClientOptions = ClientOptionsCamel & ClientOptionsSnake;

type Kind = 'duration' | 'int' | 'float' | 'bool' | 'string' | 'other';
interface Spec {
  kind: Kind;
  min?: number;
  max?: number;
}

const MIN = 60_000;
const SPECS: { [K in keyof ClientConfig]: Spec } = {
  dialTimeout: { kind: 'duration', min: 0 },
  readTimeout: { kind: 'duration', min: 100, max: 5 * MIN },
  writeTimeout: { kind: 'duration', min: 100, max: 5 * MIN },
  localAddr: { kind: 'string' },
  lookupdPollInterval: { kind: 'duration', min: 10, max: 5 * MIN },
  lookupdPollJitter: { kind: 'float', min: 0, max: 1 },
  lookupdPollTimeout: { kind: 'duration', min: 0 },
  maxRequeueDelay: { kind: 'duration', min: 0, max: 60 * MIN },
  defaultRequeueDelay: { kind: 'duration', min: 0, max: 60 * MIN },
  backoffStrategy: { kind: 'other' },
  maxBackoffDuration: { kind: 'duration', min: 0, max: 60 * MIN },
  backoffMultiplier: { kind: 'duration', min: 0, max: 60 * MIN },
  maxAttempts: { kind: 'int', min: 0, max: 65535 },
  lowRdyIdleTimeout: { kind: 'duration', min: 1000, max: 5 * MIN },
  lowRdyTimeout: { kind: 'duration', min: 1000, max: 5 * MIN },
  rdyRedistributeInterval: { kind: 'duration', min: 1, max: 5000 },
  clientId: { kind: 'string' },
  hostname: { kind: 'string' },
  userAgent: { kind: 'string' },
  heartbeatInterval: { kind: 'duration' },
  sampleRate: { kind: 'int', min: 0, max: 99 },
  tlsV1: { kind: 'bool' },
  tls: { kind: 'other' },
  deflate: { kind: 'bool' },
  deflateLevel: { kind: 'int', min: 1, max: 9 },
  snappy: { kind: 'bool' },
  outputBufferSize: { kind: 'int' },
  outputBufferTimeout: { kind: 'duration' },
  maxInFlight: { kind: 'int', min: 0 },
  msgTimeout: { kind: 'duration', min: 0 },
  authSecret: { kind: 'string' },
  lookupdAuthorization: { kind: 'bool' },
  maxMsgSize: { kind: 'int', min: 0 },
  disableAutoResponse: { kind: 'bool' },
  closeTimeout: { kind: 'duration', min: 0 },
  logLevel: { kind: 'other' },
  logger: { kind: 'other' },
};

const LOG_RANK: Record<ClientLogLevel, number> = { debug: 1, info: 2, warn: 3, error: 4, none: 5 };

/** Writes `[nsq-ts] LEVEL: message` lines to stderr. */
export const stderrLogger: ClientLogger = (level, message) => {
  process.stderr.write(`[nsq-ts] ${level.toUpperCase()}: ${message}\n`);
};

/** go-nsq's defaults, plus this library's own options. */
export function defaultClientConfig(): ClientConfig {
  const host = osHostname();
  return {
    dialTimeout: 1000, readTimeout: 60_000, writeTimeout: 1000, localAddr: '',
    lookupdPollInterval: 60_000, lookupdPollJitter: 0.3, lookupdPollTimeout: 60_000,
    maxRequeueDelay: 15 * MIN, defaultRequeueDelay: 90_000, backoffStrategy: 'exponential',
    maxBackoffDuration: 2 * MIN, backoffMultiplier: 1000, maxAttempts: 5,
    lowRdyIdleTimeout: 10_000, lowRdyTimeout: 30_000, rdyRedistributeInterval: 5000,
    clientId: host.split('.')[0] ?? host, hostname: host, userAgent: `nsq-ts/${CLIENT_VERSION}`,
    heartbeatInterval: 30_000, sampleRate: 0, tlsV1: false, tls: {}, deflate: false, deflateLevel: 6, snappy: false,
    outputBufferSize: 16384, outputBufferTimeout: 250, maxInFlight: 1, msgTimeout: 0, authSecret: '',
    lookupdAuthorization: true, maxMsgSize: 0, disableAutoResponse: false, closeTimeout: 30_000,
    logLevel: 'warn', logger: stderrLogger,
  };
}

/** The camelCase key of an option name given in camelCase, snake_case or kebab-case; undefined if unknown. */
export function optionKey(name: string): keyof ClientConfig | undefined {
  if (name === 'skip_lookupd_authorization' || name === 'skip-lookupd-authorization') return 'lookupdAuthorization';
  const camel = name.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return Object.prototype.hasOwnProperty.call(SPECS, camel) ? (camel as keyof ClientConfig) : undefined;
}

function configError(message: string): NsqError {
  return new NsqError('ERR_CONFIG', message);
}

function show(spec: Spec, v: number): string {
  return spec.kind === 'duration' ? formatDuration(v) : String(v);
}

function coerce(name: string, spec: Spec, value: unknown): unknown {
  const fail = (why: string): never => {
    throw configError(`failed to coerce option ${name} (${String(value)}) - ${why}`);
  };
  switch (spec.kind) {
    case 'duration':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string') {
        try {
          // As go-nsq's coerceDuration: a string is a Go duration ("15000" lacks a unit); numbers are ms.
          return parseDuration(value);
        } catch (err) {
          return fail((err as Error).message);
        }
      }
      return fail('invalid value type');
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
      return fail('invalid value type');
    case 'float':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      return fail('invalid value type');
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 1 || value === 0) return value === 1;
      if (typeof value === 'string') {
        try {
          return parseGoBool(value);
        } catch {
          return fail('invalid value type');
        }
      }
      return fail('invalid value type');
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      return fail('invalid value type');
    case 'other':
      return value;
  }
}

function checkOther(key: keyof ClientConfig, value: unknown): void {
  if (key === 'backoffStrategy' && value !== 'exponential' && value !== 'full_jitter' && typeof value !== 'function') {
    throw configError(`invalid backoff_strategy ${String(value)} (want exponential, full_jitter or a function)`);
  }
  if (key === 'logLevel' && (typeof value !== 'string' || !(value in LOG_RANK))) {
    throw configError(`invalid log_level ${String(value)} (want debug, info, warn, error or none)`);
  }
  if (key === 'logger' && typeof value !== 'function') throw configError('logger must be a function');
  if (key === 'tls' && (typeof value !== 'object' || value === null)) throw configError('tls must be an object of node:tls options');
}

/**
 * Resolve options into a full ClientConfig: unknown names, wrong types and out-of-range values
 * throw an NsqError `ERR_CONFIG` with go-nsq's wording (`invalid max_attempts ! 70000 > 65535`).
 */
export function resolveConfig(options: ClientOptions | Record<string, unknown> = {}): ClientConfig {
  const cfg = defaultClientConfig();
  const out = cfg as unknown as Record<string, unknown>;
  for (const [name, raw] of Object.entries(options)) {
    if (raw !== undefined) out[checkedKey(name)] = checkedValue(name, raw);
  }
  if (cfg.heartbeatInterval > cfg.readTimeout) {
    throw configError(`HeartbeatInterval ${formatDuration(cfg.heartbeatInterval)} must be less than ReadTimeout ${formatDuration(cfg.readTimeout)}`);
  }
  if (cfg.deflate && cfg.snappy) throw configError('cannot enable both deflate and snappy compression');
  return cfg;
}

/**
 * Check one option on its own, as go-nsq's `Config.Set` does (a `--consumer-opt` value): its name,
 * type and range. Rules between options (heartbeat below read timeout, one compression) are
 * checked by resolveConfig when the client is built, as go-nsq's `Validate` does.
 */
export function checkOption(name: string, raw: unknown): void {
  checkedValue(name, raw);
}

function checkedKey(name: string): keyof ClientConfig {
  const key = optionKey(name);
  if (key === undefined) throw configError(`invalid option ${name}`);
  return key;
}

function checkedValue(name: string, raw: unknown): unknown {
  const key = checkedKey(name);
  const spec = SPECS[key];
  const value = coerce(name, spec, raw);
  if (typeof value === 'number') {
    if (spec.min !== undefined && value < spec.min) throw configError(`invalid ${name} ! ${show(spec, value)} < ${show(spec, spec.min)}`);
    if (spec.max !== undefined && value > spec.max) throw configError(`invalid ${name} ! ${show(spec, value)} > ${show(spec, spec.max)}`);
  } else if (spec.kind === 'other') {
    checkOther(key, value);
  }
  return value;
}

/** A log function bound to the config's level and logger; `prefix` is put before each message. */
export function makeLog(cfg: ClientConfig, prefix: string): (level: Exclude<ClientLogLevel, 'none'>, message: string) => void {
  const min = LOG_RANK[cfg.logLevel];
  const logger = cfg.logger;
  return (level, message) => {
    if (LOG_RANK[level] >= min) logger(level, prefix + message);
  };
}
