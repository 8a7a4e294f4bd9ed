// nsqlookupd's options and flag table: NSQ v1.3.0's names, defaults and usage texts
// (apps/nsqlookupd/main.go nsqlookupdFlagSet, nsqlookupd/options.go NewOptions), so `-h` reads
// like Go's and config files written for Go nsqlookupd work unchanged.

import { hostname } from 'node:os';
import { daemonBaseFlags, type FlagSpec } from '../internal/flags.js';
import type { LogLevel } from '../internal/log.js';

/** Every nsqlookupd option; durations are milliseconds. Names follow NSQ's flags in camelCase. */
export interface NsqlookupdOptions {
  /** Lowest level logged (--log-level, default info). */
  logLevel: LogLevel;
  /** Text before every log line (--log-prefix, default "[nsqlookupd] "). */
  logPrefix: string;
  /** Write logs as JSON lines (--log-json, an nsq-ts extension; default false). */
  logJson: boolean;
  /** `<addr>:<port>` of the TCP listener nsqd peers register on (default 0.0.0.0:4160). */
  tcpAddress: string;
  /** `<addr>:<port>` of the HTTP API (default 0.0.0.0:4161). */
  httpAddress: string;
  /** Address reported to nsqd in the IDENTIFY reply (default: the OS hostname). */
  broadcastAddress: string;
  /** A producer silent (no IDENTIFY/PING) for longer than this is hidden, in ms (default 300000). */
  inactiveProducerTimeout: number;
  /** How long a tombstone hides a producer from /lookup, in ms (default 45000). */
  tombstoneLifetime: number;
}

/** nsqlookupd's flag table: NSQ v1.3.0's flags, defaults and help texts, plus nsq-ts's --log-json. */
export function nsqlookupdFlagSpecs(): FlagSpec[] {
  return [
    ...daemonBaseFlags('[nsqlookupd] '),
    { name: 'tcp-address', key: 'tcpAddress', kind: 'string', default: '0.0.0.0:4160', usage: '<addr>:<port> to listen on for TCP clients' },
    { name: 'http-address', key: 'httpAddress', kind: 'string', default: '0.0.0.0:4161', usage: '<addr>:<port> to listen on for HTTP clients' },
    { name: 'broadcast-address', key: 'broadcastAddress', kind: 'string', default: hostname(), usage: 'address of this lookupd node, (default to the OS hostname)' },
    { name: 'inactive-producer-timeout', key: 'inactiveProducerTimeout', kind: 'duration', default: 300_000, usage: 'duration of time a producer will remain in the active list since its last ping' },
    { name: 'tombstone-lifetime', key: 'tombstoneLifetime', kind: 'duration', default: 45_000, usage: 'duration of time a producer will remain tombstoned if registration remains' },
  ];
}

/** Options with every default applied, for embedding: `new NSQLookupd({ ...defaults, tcpAddress: '127.0.0.1:0' })`. */
export function defaultNsqlookupdOptions(): NsqlookupdOptions {
  const out: Record<string, unknown> = {};
  for (const spec of nsqlookupdFlagSpecs()) {
    if (spec.noConfig) continue;
    out[spec.key] = spec.default;
  }
  return out as unknown as NsqlookupdOptions;
}
