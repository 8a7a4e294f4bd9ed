// What NSQ's command-line tools share (apps/* in nsqio/nsq v1.3.0): the consumer flags
// (--topic, --channel, --nsqd-tcp-address, --lookupd-http-address, --consumer-opt,
// --max-in-flight), Go-style flag parsing that exits 0 on -h and 2 on a bad flag, Go's `log`
// output (`2006/01/02 15:04:05 msg`, and log.Fatal's exit status 1), go-nsq's ConfigFlag
// (`--consumer-opt=key,value`), go-nsq's default client log lines, and signal handling.

import { readFileSync } from 'node:fs';
import { CLIENT_VERSION, checkOption, Consumer, resolveConfig, type ClientLogger, type ClientOptions, type ClientTlsOptions } from '../client/index.js';
import { onSignals, parseFlagsOrExit } from '../apps/run.js';
import { resolveOptions } from '../internal/config.js';
import { httpClientTimeoutFlags, parseGoBool, type FlagSpec } from '../internal/flags.js';
import { ClusterInfo, type WithWarning } from '../internal/clusterinfo/cluster-info.js';
import { UpstreamClient } from '../internal/clusterinfo/upstream.js';
import { errorText, formatLogTime } from '../internal/log.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';

export { onSignals };

/** The NSQ release the tools mirror (what `--version` prints). */
export const NSQ_VERSION = '1.3.0';

/** The IDENTIFY user agent of a tool, e.g. `nsq_tail/1.3.0 nsq-ts/0.1.0` (go-nsq's tools send `nsq_tail/1.3.0 go-nsq/1.1.0`). */
export function toolUserAgent(tool: string): string {
  return `${tool}/${NSQ_VERSION} nsq-ts/${CLIENT_VERSION}`;
}

/** The `--version` line of a tool: `<tool> v1.3.0` (NSQ's apps print version.Binary only). */
export function versionLine(tool: string): string {
  return `${tool} v${NSQ_VERSION}\n`;
}

/** Local time as Go's standard logger prints it (log.LstdFlags): `2006/01/02 15:04:05`. */
export function goLogTime(epochMs = Date.now()): string {
  return formatLogTime(epochMs).slice(0, 19);
}

/** Go's log.Printf on the standard logger: `<date> <time> <msg>` on stderr. */
export function goLog(msg: string): void {
  process.stderr.write(`${goLogTime()} ${msg}${msg.endsWith('\n') ? '' : '\n'}`);
}

/** Go's log.Fatal: log the message, then exit with status 1. */
export function fatal(msg: string): never {
  goLog(msg);
  process.exit(1);
}

/** The tools' error text for a thrown value, and their HTTP client flags (shared with nsqadmin). */
export { errorText, httpClientTimeoutFlags };

/** NSQ's tools' clusterinfo: an http_api client with the --http-client-* timeouts (ms) and no TLS configuration. */
export function toolClusterInfo(connectTimeoutMs: number, requestTimeoutMs: number): ClusterInfo {
  return new ClusterInfo(new UpstreamClient(() => ({ connectTimeoutMs, requestTimeoutMs, rejectUnauthorized: true })));
}

/** A clusterinfo answer as Go's tools take it: a partial failure (some hosts did not answer) is an error too. */
export function strict<T>(r: WithWarning<T>): T {
  if (r.warning) throw r.warning;
  return r.value;
}

/** A tool's parsed options and the positional arguments left after the flags. */
export interface ParsedToolFlags<T> {
  options: T;
  args: string[];
}

/**
 * Parse argv with Go flag semantics against a tool's flag table (no config file): -h prints the
 * usage to stderr and exits 0, a bad or unknown flag prints the error and usage and exits 2,
 * --version prints `<tool> v<version>` and exits 0. `program` names the flag set in the usage.
 */
export function parseToolFlags<T extends object>(program: string, specs: readonly FlagSpec[], argv: readonly string[], tool = program): ParsedToolFlags<T> {
  const parsed = parseFlagsOrExit(program, specs, argv);
  // --version prints the version line and ends the tool, as each Go main does.
  if (parsed.values.version === true) {
    process.stdout.write(versionLine(tool));
    process.exit(0);
  }
  return { options: resolveOptions<T>(specs, parsed, {}), args: parsed.args };
}

/**
 * End the process the way a Go tool ends when writing its output fails: a closed pipe (EPIPE, as
 * in `nsq_tail | head`) quietly with status 141, as SIGPIPE would; anything else through log.Fatal.
 */
export function exitOnStdoutError(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    fatal(`ERROR: failed to write to os.Stdout - ${err.message}`);
  });
}

// ---- go-nsq ConfigFlag: --consumer-opt / --producer-opt ------------------------------------------

const TLS_VERSIONS: Record<string, ClientTlsOptions['minVersion']> = {
  'ssl3.0': 'TLSv1',
  'tls1.0': 'TLSv1',
  'tls1.1': 'TLSv1.1',
  'tls1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3',
};

/** Apply go-nsq's TLS helper options (tls_root_ca_file, tls_insecure_skip_verify, tls_cert, tls_key, tls_min_version); false if `key` is not one. */
function applyTlsOption(tls: ClientTlsOptions, key: string, value: string | true): boolean {
  const text = value === true ? 'true' : value;
  switch (key) {
    case 'tls_root_ca_file':
      tls.ca = readFileSync(text);
      return true;
    case 'tls_insecure_skip_verify':
      tls.rejectUnauthorized = !parseGoBool(text);
      return true;
    case 'tls_cert':
      tls.cert = readFileSync(text);
      return true;
    case 'tls_key':
      tls.key = readFileSync(text);
      return true;
    case 'tls_min_version': {
      const v = TLS_VERSIONS[text];
      if (v === undefined) throw new Error(`unknown tls_min_version ${text}`);
      tls.minVersion = v;
      return true;
    }
    default:
      return false;
  }
}

/**
 * go-nsq's ConfigFlag.Set: `key,value` (or a bare `key`, meaning true) applied to client options;
 * `-` in the key reads as `_`. Throws an Error with go-nsq's wording when the option is unknown or
 * its value does not fit.
 */
export function applyClientOpt(target: ClientOptions, opt: string): void {
  const comma = opt.indexOf(',');
  const key = (comma === -1 ? opt : opt.slice(0, comma)).replaceAll('-', '_');
  const value: string | true = comma === -1 ? true : opt.slice(comma + 1);
  const tls: ClientTlsOptions = { ...(target.tls ?? {}) };
  let err: unknown;
  try {
    if (applyTlsOption(tls, key, value)) {
      target.tls = tls;
      return;
    }
  } catch (e) {
    err = e;
  }
  if (err !== undefined) throw new Error(`failed to set option ${key} - ${errorText(err)}`);
  // Validate this one option alone; combinations are checked when the client is built.
  checkOption(key, value);
  (target as Record<string, unknown>)[key] = value;
}

/** Build client options from `--consumer-opt` values; `strict` rethrows a bad one, otherwise it is skipped (nsq_to_file ignores ConfigFlag errors). */
export function clientOptionsFrom(opts: readonly string[], strict: boolean): ClientOptions {
  const out: ClientOptions = {};
  for (const o of opts) {
    try {
      applyClientOpt(out, o);
    } catch (err) {
      if (strict) throw err;
    }
  }
  return out;
}

const LEVEL_WORDS = { debug: 'DBG', info: 'INF', warn: 'WRN', error: 'ERR' } as const;
let clientInstances = 0;

/**
 * A logger for one client, writing go-nsq's default lines to stderr:
 * `<date> <time> INF    1 [topic/channel] <message>` — go-nsq numbers its Consumers and Producers
 * in creation order (`%-4s %3d`).
 */
export function goNsqLogger(): ClientLogger {
  const id = ++clientInstances;
  return (level, message) => {
    process.stderr.write(`${goLogTime()} ${LEVEL_WORDS[level].padEnd(4)} ${String(id).padStart(3)} ${message}\n`);
  };
}

/**
 * The options a tool builds its clients with: the --consumer-opt / --producer-opt values (`strict`:
 * a bad one throws; otherwise it is skipped), then what the tool sets itself, which wins (its
 * user agent, info-level logging, `extra` such as max_in_flight). Each client gets its own
 * go-nsq logger when it is made (withGoNsqLogger).
 */
export function toolClientOptions(tool: string, opts: readonly string[], strict: boolean, extra: ClientOptions = {}): ClientOptions {
  return { ...clientOptionsFrom(opts, strict), userAgent: toolUserAgent(tool), logLevel: 'info', ...extra };
}

/** `cfg` with a new numbered go-nsq logger, for one Consumer or Producer. */
export function withGoNsqLogger(cfg: ClientOptions): ClientOptions {
  return { ...cfg, logger: goNsqLogger() };
}

/** A tool's Consumer (nsq.NewConsumer); log.Fatal, with go-nsq's words, when the topic, channel or options are invalid. */
export function newToolConsumer(topic: string, channel: string, cfg: ClientOptions): Consumer {
  if (!isValidTopicName(topic)) fatal('invalid topic name');
  if (!isValidChannelName(channel)) fatal('invalid channel name');
  try {
    return new Consumer(topic, channel, withGoNsqLogger(cfg));
  } catch (err) {
    fatal(errorText(err));
  }
}

/** ConnectToNSQDs then ConnectToNSQLookupds, as the tools do; log.Fatal when either fails. */
export async function connectToolConsumer(c: Consumer, nsqdTcpAddrs: readonly string[], lookupdHttpAddrs: readonly string[]): Promise<void> {
  try {
    await c.connectToNsqds(nsqdTcpAddrs);
    await c.connectToNsqLookupds(lookupdHttpAddrs);
  } catch (err) {
    fatal(errorText(err));
  }
}

// ---- flag table rows shared by the tools ---------------------------------------------------------

/** The options every consumer tool has. */
export interface ConsumerToolOptions {
  version: boolean;
  channel: string;
  maxInFlight: number;
  nsqdTcpAddrs: string[];
  lookupdHttpAddrs: string[];
  consumerOpts: string[];
}

const GO_NSQ_CONFIG_DOC = 'http://godoc.org/github.com/nsqio/go-nsq#Config';

/**
 * The flags behind ConsumerToolOptions: --version, --channel (`channel` default and help text),
 * --max-in-flight, --nsqd-tcp-address, --lookupd-http-address and --consumer-opt (validated while
 * parsing unless `lenientConsumerOpt`, as nsq_to_file; `seeDoc`: nsq_to_nsq's help says "see <doc>").
 */
export function consumerToolFlags(channel: { default: string; usage: string }, opts: { lenientConsumerOpt?: boolean; seeDoc?: boolean } = {}): FlagSpec[] {
  const doc = opts.seeDoc === true ? `see ${GO_NSQ_CONFIG_DOC}` : GO_NSQ_CONFIG_DOC;
  return [
    versionFlag(),
    { name: 'channel', key: 'channel', kind: 'string', default: channel.default, usage: channel.usage },
    maxInFlightFlag(),
    nsqdTcpAddressFlag(),
    lookupdHttpAddressFlag(),
    clientOptFlag('consumer-opt', 'consumerOpts', `option to passthrough to nsq.Consumer (may be given multiple times, ${doc})`, opts.lenientConsumerOpt !== true),
  ];
}

/** `--producer-opt` (validated while parsing); `seeDoc` as in consumerToolFlags. */
export function producerOptFlag(seeDoc = false): FlagSpec {
  return clientOptFlag('producer-opt', 'producerOpts', `option to passthrough to nsq.Producer (may be given multiple times, ${seeDoc ? 'see ' : ''}${GO_NSQ_CONFIG_DOC})`, true);
}

/** `--mode` of nsq_to_http and nsq_to_nsq (default hostpool). */
export function modeFlag(): FlagSpec {
  return { name: 'mode', key: 'mode', kind: 'string', default: 'hostpool', usage: 'the upstream request mode options: round-robin, hostpool (default), epsilon-greedy' };
}

/** `--status-every` (default 250) of nsq_to_http (`per` handler) and nsq_to_nsq (`per` destination). */
export function statusEveryFlag(per: 'handler' | 'destination'): FlagSpec {
  return { name: 'status-every', key: 'statusEvery', kind: 'int', default: 250, usage: `the # of requests between logging status (per ${per}), 0 disables` };
}

/** A repeatable string flag (Go's app.StringArray). */
export function stringsFlag(name: string, key: string, usage: string): FlagSpec {
  return { name, key, kind: 'strings', default: [], usage };
}

/** `--consumer-opt` / `--producer-opt`; with `validate`, a bad option fails parsing (exit 2) as go-nsq's ConfigFlag does. */
export function clientOptFlag(name: 'consumer-opt' | 'producer-opt', key: string, usage: string, validate: boolean): FlagSpec {
  const spec = stringsFlag(name, key, usage);
  if (validate) {
    spec.parse = (raw: string) => {
      applyClientOpt({}, raw);
      return undefined;
    };
  }
  return spec;
}

/** `--nsqd-tcp-address`, repeatable. */
export function nsqdTcpAddressFlag(usage = 'nsqd TCP address (may be given multiple times)'): FlagSpec {
  return stringsFlag('nsqd-tcp-address', 'nsqdTcpAddrs', usage);
}

/** `--lookupd-http-address`, repeatable. */
export function lookupdHttpAddressFlag(): FlagSpec {
  return stringsFlag('lookupd-http-address', 'lookupdHttpAddrs', 'lookupd HTTP address (may be given multiple times)');
}

/** `--max-in-flight` (default 200). */
export function maxInFlightFlag(): FlagSpec {
  return { name: 'max-in-flight', key: 'maxInFlight', kind: 'int', default: 200, usage: 'max number of messages to allow in flight' };
}

/** `--version`. */
export function versionFlag(usage = 'print version string'): FlagSpec {
  return { name: 'version', key: 'version', kind: 'bool', default: false, usage };
}

/**
 * The apps' source check: one of --nsqd-tcp-address / --lookupd-http-address is required and
 * they exclude each other (`suffix` is nsq_to_file's trailing period); fatal otherwise.
 */
export function requireOneSource(nsqd: readonly string[], lookupd: readonly string[], nsqdFlag = 'nsqd-tcp-address', suffix = ''): void {
  if (nsqd.length === 0 && lookupd.length === 0) fatal(`--${nsqdFlag} or --lookupd-http-address required${suffix}`);
  if (nsqd.length > 0 && lookupd.length > 0) fatal(`use --${nsqdFlag} or --lookupd-http-address not both`);
}

/** Whether every name is a valid topic name (nsqd's rule). */
export function validTopics(topics: readonly string[]): boolean {
  return topics.every((t) => isValidTopicName(t));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
