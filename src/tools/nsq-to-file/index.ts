// nsq_to_file's main (apps/nsq_to_file/nsq_to_file.go in NSQ v1.3.0): parse and check the flags,
// build the consumer configuration, run the TopicDiscoverer and wire SIGHUP / SIGINT / SIGTERM.

import { Logger, parseLogLevel } from '../../internal/log.js';
import { fatal, onSignals, parseToolFlags, requireOneSource, toolClientOptions } from '../common.js';
import { nsqToFileFlagSpecs, type NsqToFileOptions } from './options.js';
import { TopicDiscoverer } from './topic-discoverer.js';

/** Check the options as nsq_to_file does (log.Fatal on the first problem); fills in --work-dir. */
function validate(o: NsqToFileOptions): void {
  if (o.channel === '') fatal('--channel is required');
  if (o.httpClientConnectTimeout <= 0) fatal('--http-client-connect-timeout should be positive');
  if (o.httpClientRequestTimeout <= 0) fatal('--http-client-request-timeout should be positive');
  requireOneSource(o.nsqdTcpAddrs, o.lookupdHttpAddrs, 'nsqd-tcp-address', '.');
  if (o.gzipLevel < 1 || o.gzipLevel > 9) fatal(`invalid --gzip-level value (${o.gzipLevel}), should be 1-9`);
  if (o.topics.length === 0 && o.topicPattern.length === 0) fatal('--topic or --topic-pattern required');
  if (o.topics.length === 0 && o.lookupdHttpAddrs.length === 0) fatal('--lookupd-http-address must be specified when no --topic specified');
  if (o.workDir === '') o.workDir = o.outputDir;
}

/** Run nsq_to_file with `argv` (without node and script). */
export async function nsqToFileMain(argv: readonly string[]): Promise<void> {
  // NSQ names this flag set "nsqd", so its usage starts with `Usage of nsqd:`.
  const { options: o, args } = parseToolFlags<NsqToFileOptions>('nsqd', nsqToFileFlagSpecs(), argv, 'nsq_to_file'); // Go names its flag set "nsqd"
  if (args.length > 0) fatal(`unknown arguments: [${args.join(' ')}]`);
  const level = parseLogLevel(o.logLevel);
  if (level === undefined) fatal('--log-level is invalid');
  const log = new Logger({ prefix: o.logPrefix, level });
  validate(o);

  const cfg = toolClientOptions('nsq_to_file', o.consumerOpts, false, { maxInFlight: o.maxInFlight });
  const discoverer = new TopicDiscoverer(log, o, cfg);
  process.on('SIGHUP', () => discoverer.hup());
  onSignals(['SIGINT', 'SIGTERM'], () => {
    void discoverer.term().then(() => process.exit(0));
  });
  await discoverer.run();
}
