import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { crc32 } from 'node:zlib';
import { FlagFatal, parseGoFloat, type FlagSpec } from '../internal/flags.js';
import { parseDuration } from '../internal/duration.js';
import { parseLogLevel, type LogLevel } from '../internal/log.js';

/** --tls-required values, as nsqd's TLSNotRequired / TLSRequiredExceptHTTP / TLSRequired. */
export const TLS_NOT_REQUIRED = 0;
export const TLS_REQUIRED_EXCEPT_HTTP = 1;
export const TLS_REQUIRED = 2;

/** Every nsqd option; durations are milliseconds. Names follow NSQ's flags in camelCase. */
export interface NsqdOptions {
  logLevel: LogLevel;
  logPrefix: string;
  logJson: boolean;
  nodeId: number;
  tcpAddress: string;
  httpAddress: string;
  httpsAddress: string;
  broadcastAddress: string;
  broadcastTcpPort: number;
  broadcastHttpPort: number;
  nsqlookupdTcpAddresses: string[];
  authHttpAddresses: string[];
  httpClientConnectTimeout: number;
  httpClientRequestTimeout: number;
  dataPath: string;
  memQueueSize: number;
  maxBytesPerFile: number;
  syncEvery: number;
  syncTimeout: number;
  queueScanWorkerPoolMax: number;
  queueScanSelectionCount: number;
  msgTimeout: number;
  maxMsgTimeout: number;
  maxMsgSize: number;
  maxReqTimeout: number;
  maxBodySize: number;
  maxHeartbeatInterval: number;
  maxRdyCount: number;
  maxOutputBufferSize: number;
  maxOutputBufferTimeout: number;
  minOutputBufferTimeout: number;
  outputBufferTimeout: number;
  maxChannelConsumers: number;
  statsdAddress: string;
  statsdPrefix: string;
  statsdInterval: number;
  statsdMemStats: boolean;
  statsdUdpPacketSize: number;
  statsdExcludeEphemeral: boolean;
  e2eProcessingLatencyPercentiles: number[];
  e2eProcessingLatencyWindowTime: number;
  tlsCert: string;
  tlsKey: string;
  tlsClientAuthPolicy: string;
  tlsRootCaFile: string;
  tlsRequired: number;
  tlsMinVersion: number;
  deflate: boolean;
  maxDeflateLevel: number;
  snappy: boolean;
  /** nsq-ts: publishes are answered OK only once fsynced, and stay on disk until finished. */
  durablePublish: boolean;
  /** nsq-ts: bytes a topic's or channel's disk queue may hold before publishes are refused (0: no limit). */
  maxBytesPerQueue: number;
}

/** Fixed client timeout: the default heartbeat interval is half of it (30 s). */
export const CLIENT_TIMEOUT_MS = 60_000;
/** How often the queue-scan loop looks for timed-out and due deferred messages. */
export const QUEUE_SCAN_INTERVAL_MS = 100;
/** Default client output buffer size in bytes. */
export const DEFAULT_OUTPUT_BUFFER_SIZE = 16 * 1024;

/** nsqd's default node id: crc32(md5(hostname)) % 1024. */
export function defaultNodeId(): number {
  const md5 = createHash('md5').update(hostname()).digest();
  return crc32(md5) % 1024;
}

const TLS_VERSIONS: Record<string, number> = { 'tls1.0': 0x0301, 'tls1.1': 0x0302, 'tls1.2': 0x0303, 'tls1.3': 0x0304 };

/** Go's tlsRequiredOption.Set: lower-cased, then tcp-https or a strconv.ParseBool value. */
function parseTlsRequired(raw: string): number {
  switch (raw.toLowerCase()) {
    case 'true':
    case '1':
    case 't':
      return TLS_REQUIRED;
    case 'tcp-https':
      return TLS_REQUIRED_EXCEPT_HTTP;
    case 'false':
    case '0':
    case 'f':
      return TLS_NOT_REQUIRED;
    default:
      // strconv.ParseBool's error, of the lower-cased value Set passed it.
      throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(raw.toLowerCase())}: invalid syntax`);
  }
}

/** TLS 1.0, nsqd's default minimum. */
const TLS_MIN_VERSION_DEFAULT = 0x0301;

/** Go's tlsMinVersionOption.Set: lower-cased; an empty value leaves the default. */
function parseTlsMinVersion(raw: string): number {
  if (raw === '') return TLS_MIN_VERSION_DEFAULT;
  const v = TLS_VERSIONS[raw.toLowerCase()];
  if (v === undefined) throw new Error(`unknown tlsVersionOption ${JSON.stringify(raw)}`);
  return v;
}

function parseLevel(raw: string): LogLevel {
  const l = parseLogLevel(raw);
  if (l === undefined) throw new Error(`invalid log level '${raw}' (debug, info, warn, error, fatal)`);
  return l;
}

/** One element of --e2e-processing-latency-percentile: Go's FloatArray.Set ends nsqd on a bad one. */
function parsePercentile(raw: string): number {
  try {
    return parseGoFloat(raw);
  } catch {
    throw new FlagFatal(`Could not parse: ${raw}`);
  }
}

/** nsqd's flag table: NSQ's names and defaults (spec section 6). */
export function nsqdFlagSpecs(): FlagSpec[] {
  const host = hostname();
  return [
    { name: 'config', key: 'config', kind: 'string', default: '', usage: 'path to a TOML config file', noConfig: true },
    { name: 'version', key: 'version', kind: 'bool', default: false, usage: 'print the version and exit', noConfig: true },
    { name: 'log-level', key: 'logLevel', kind: 'custom', default: 2, usage: 'log level: debug, info, warn, error or fatal', defaultText: 'INFO', parse: parseLevel, fromConfig: (v) => parseLevel(String(v)), configCheckedFirst: true },
    { name: 'log-prefix', key: 'logPrefix', kind: 'string', default: '[nsqd] ', usage: 'prefix of every log line' },
    { name: 'log-json', key: 'logJson', kind: 'bool', default: false, usage: 'write logs as JSON lines (nsq-ts extension)' },
    { name: 'verbose', key: 'verbose', kind: 'bool', default: false, usage: '[deprecated] has no effect, use --log-level', noConfig: true },
    { name: 'node-id', key: 'nodeId', cfg: 'id', kind: 'int', default: defaultNodeId(), usage: 'unique part of message ids, [0,1024) (default: crc32 of the hostname md5 % 1024)' },
    { name: 'worker-id', key: 'workerId', kind: 'bool', default: false, usage: '[deprecated] use --node-id', noConfig: true },
    { name: 'https-address', key: 'httpsAddress', kind: 'string', default: '0.0.0.0:4152', usage: '<addr>:<port> to listen on for HTTPS clients' },
    { name: 'http-address', key: 'httpAddress', kind: 'string', default: '0.0.0.0:4151', usage: '<addr>:<port> or a unix socket path to listen on for HTTP clients ("" disables HTTP)' },
    { name: 'tcp-address', key: 'tcpAddress', kind: 'string', default: '0.0.0.0:4150', usage: '<addr>:<port> or a unix socket path to listen on for TCP clients' },
    { name: 'broadcast-address', key: 'broadcastAddress', kind: 'string', default: host, usage: 'address this node registers with nsqlookupd (default: the OS hostname)' },
    { name: 'broadcast-tcp-port', key: 'broadcastTcpPort', kind: 'int', default: 0, usage: 'TCP port registered with nsqlookupd (default: the TCP port listened on)' },
    { name: 'broadcast-http-port', key: 'broadcastHttpPort', kind: 'int', default: 0, usage: 'HTTP port registered with nsqlookupd (default: the HTTP port listened on)' },
    { name: 'lookupd-tcp-address', key: 'nsqlookupdTcpAddresses', cfg: 'nsqlookupd_tcp_addresses', kind: 'strings', default: [], usage: 'nsqlookupd TCP address (may be given multiple times)' },
    { name: 'auth-http-address', key: 'authHttpAddresses', cfg: 'auth_http_addresses', kind: 'strings', default: [], usage: '<addr>:<port> or a full url of an auth server (may be given multiple times)' },
    { name: 'http-client-connect-timeout', key: 'httpClientConnectTimeout', kind: 'duration', default: 2000, usage: 'timeout for outbound HTTP connections' },
    { name: 'http-client-request-timeout', key: 'httpClientRequestTimeout', kind: 'duration', default: 5000, usage: 'timeout for outbound HTTP requests' },
    { name: 'data-path', key: 'dataPath', kind: 'string', default: '', usage: 'directory for disk queue files and metadata (default: the working directory)' },
    { name: 'mem-queue-size', key: 'memQueueSize', kind: 'int', default: 10000, usage: 'messages kept in memory per topic and per channel' },
    { name: 'max-bytes-per-file', key: 'maxBytesPerFile', kind: 'int', default: 104857600, usage: 'bytes per disk queue segment before rolling' },
    { name: 'sync-every', key: 'syncEvery', kind: 'int', default: 2500, usage: 'disk queue operations between fsyncs' },
    { name: 'sync-timeout', key: 'syncTimeout', kind: 'duration', default: 2000, usage: 'longest time between fsyncs of a busy disk queue' },
    { name: 'queue-scan-worker-pool-max', key: 'queueScanWorkerPoolMax', kind: 'int', default: 4, usage: 'most queue-scan workers' },
    { name: 'queue-scan-selection-count', key: 'queueScanSelectionCount', kind: 'int', default: 20, usage: 'channels checked per queue-scan pass' },
    { name: 'msg-timeout', key: 'msgTimeout', kind: 'duration', default: 60000, usage: 'default time a message may be in flight before it is requeued' },
    { name: 'max-msg-timeout', key: 'maxMsgTimeout', kind: 'duration', default: 900000, usage: 'largest msg_timeout a client may ask for, and the TOUCH horizon' },
    { name: 'max-msg-size', key: 'maxMsgSize', kind: 'int', default: 1048576, usage: 'largest message body in bytes' },
    { name: 'max-req-timeout', key: 'maxReqTimeout', kind: 'duration', default: 3600000, usage: 'largest REQ delay and DPUB defer' },
    { name: 'max-body-size', key: 'maxBodySize', kind: 'int', default: 5242880, usage: 'largest command body in bytes (MPUB, IDENTIFY, AUTH)' },
    { name: 'max-heartbeat-interval', key: 'maxHeartbeatInterval', kind: 'duration', default: 60000, usage: 'largest heartbeat interval a client may ask for' },
    { name: 'max-rdy-count', key: 'maxRdyCount', kind: 'int', default: 2500, usage: 'largest RDY count a client may send' },
    { name: 'max-output-buffer-size', key: 'maxOutputBufferSize', kind: 'int', default: 65536, usage: 'largest output buffer a client may ask for, in bytes' },
    { name: 'max-output-buffer-timeout', key: 'maxOutputBufferTimeout', kind: 'duration', default: 30000, usage: 'longest output buffer timeout a client may ask for' },
    { name: 'min-output-buffer-timeout', key: 'minOutputBufferTimeout', kind: 'duration', default: 25, usage: 'shortest output buffer timeout a client may ask for' },
    { name: 'output-buffer-timeout', key: 'outputBufferTimeout', kind: 'duration', default: 250, usage: 'default time buffered data waits before it is flushed to a client' },
    { name: 'max-channel-consumers', key: 'maxChannelConsumers', kind: 'int', default: 0, usage: 'most consumers per channel (0 = unlimited)' },
    { name: 'statsd-address', key: 'statsdAddress', kind: 'string', default: '', usage: 'UDP <addr>:<port> of a statsd daemon to push stats to' },
    { name: 'statsd-prefix', key: 'statsdPrefix', kind: 'string', default: 'nsq.%s', usage: 'prefix of statsd keys (%s is the host key)' },
    { name: 'statsd-interval', key: 'statsdInterval', kind: 'duration', default: 60000, usage: 'time between statsd pushes' },
    { name: 'statsd-mem-stats', key: 'statsdMemStats', kind: 'bool', default: true, usage: 'push memory stats to statsd' },
    { name: 'statsd-udp-packet-size', key: 'statsdUdpPacketSize', kind: 'int', default: 508, usage: 'largest statsd UDP datagram in bytes' },
    { name: 'statsd-exclude-ephemeral', key: 'statsdExcludeEphemeral', kind: 'bool', default: false, usage: 'leave ephemeral topics and channels out of statsd' },
    { name: 'e2e-processing-latency-percentile', key: 'e2eProcessingLatencyPercentiles', cfg: 'e2e_processing_latency_percentiles', kind: 'strings', splitComma: true, default: [], usage: 'message processing time percentiles to track, in (0,1] (may be given multiple times or comma separated)', parse: parsePercentile },
    { name: 'e2e-processing-latency-window-time', key: 'e2eProcessingLatencyWindowTime', kind: 'duration', default: 600000, usage: 'window of the processing latency percentiles' },
    { name: 'tls-cert', key: 'tlsCert', kind: 'string', default: '', usage: 'path to the certificate file' },
    { name: 'tls-key', key: 'tlsKey', kind: 'string', default: '', usage: 'path to the key file' },
    { name: 'tls-client-auth-policy', key: 'tlsClientAuthPolicy', kind: 'string', default: '', usage: 'client certificate policy: require or require-verify' },
    { name: 'tls-root-ca-file', key: 'tlsRootCaFile', kind: 'string', default: '', usage: 'path to the root CA file' },
    { name: 'tls-required', key: 'tlsRequired', kind: 'custom', boolLike: true, default: TLS_NOT_REQUIRED, usage: 'require TLS for client connections: true, false or tcp-https', parse: parseTlsRequired, fromConfig: (v) => parseTlsRequired(String(v)), configCheckedFirst: true },
    { name: 'tls-min-version', key: 'tlsMinVersion', kind: 'custom', default: TLS_MIN_VERSION_DEFAULT, usage: 'minimum TLS version: tls1.0, tls1.1, tls1.2 or tls1.3', defaultText: 'tls1.0', parse: parseTlsMinVersion, fromConfig: (v) => parseTlsMinVersion(String(v)), configCheckedFirst: true },
    { name: 'deflate', key: 'deflate', kind: 'bool', default: true, usage: 'let clients negotiate deflate compression' },
    { name: 'max-deflate-level', key: 'maxDeflateLevel', kind: 'int', default: 6, usage: 'highest deflate level a client may negotiate, [1,9]' },
    { name: 'snappy', key: 'snappy', kind: 'bool', default: true, usage: 'let clients negotiate snappy compression' },
    { name: 'durable-publish', key: 'durablePublish', kind: 'bool', default: false, usage: 'nsq-ts: answer PUB/MPUB/DPUB and /pub, /mpub only once the message is fsynced (group commit), and keep every message on disk until a consumer finishes it, so an acknowledged message survives kill -9 and power loss' },
    { name: 'max-bytes-per-queue', key: 'maxBytesPerQueue', kind: 'int', default: 0, usage: "nsq-ts: most bytes a topic's or channel's disk queue may hold; past it publishes fail with E_PUB_FAILED/E_MPUB_FAILED (HTTP 503) and /ping reports it (0 = no limit)" },
  ];
}

/** Options with every default applied, for embedding: `new Nsqd({ ...defaults, tcpAddress: '127.0.0.1:0' })`. */
export function defaultNsqdOptions(): NsqdOptions {
  const out: Record<string, unknown> = {};
  for (const spec of nsqdFlagSpecs()) {
    if (spec.noConfig) continue;
    out[spec.key] = structuredClone(spec.default);
  }
  delete out.workerId;
  return out as unknown as NsqdOptions;
}

/** Check option values nsqd refuses to start with; returns the error text or ''. */
export function validateNsqdOptions(o: NsqdOptions): string {
  if (o.maxDeflateLevel < 1 || o.maxDeflateLevel > 9) return '--max-deflate-level must be [1,9]';
  if (o.nodeId < 0 || o.nodeId >= 1024) return '--node-id must be [0,1024)';
  if (o.tlsClientAuthPolicy !== '' && o.tlsRequired === TLS_NOT_REQUIRED) o.tlsRequired = TLS_REQUIRED;
  // One of cert and key alone fails later, in the TLS config's build (as nsqd's buildTLSConfig).
  if (o.tlsRequired !== TLS_NOT_REQUIRED && o.tlsCert === '' && o.tlsKey === '') {
    return 'cannot require TLS client connections without TLS key and cert';
  }
  for (const p of o.e2eProcessingLatencyPercentiles) {
    if (!(p > 0 && p <= 1)) return `invalid E2E processing latency percentile: ${p}`;
  }
  return '';
}

/** Accept a duration option given as Go text or milliseconds. */
export function durationOption(v: string | number): number {
  return typeof v === 'number' ? v : parseDuration(v);
}
