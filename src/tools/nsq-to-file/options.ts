// nsq_to_file's options and flag table (apps/nsq_to_file/{nsq_to_file,options}.go in NSQ v1.3.0).

import type { FlagSpec } from '../../internal/flags.js';
import { consumerToolFlags, httpClientTimeoutFlags, stringsFlag, type ConsumerToolOptions } from '../common.js';

/** Every nsq_to_file option; durations in ms, sizes in bytes. */
export interface NsqToFileOptions extends ConsumerToolOptions {
  logLevel: string;
  logPrefix: string;
  /** Where finished files go (default /tmp). */
  outputDir: string;
  /** Where files are written before being moved to outputDir ('' = outputDir). */
  workDir: string;
  datetimeFormat: string;
  filenameFormat: string;
  hostIdentifier: string;
  gzipLevel: number;
  gzip: boolean;
  skipEmptyFiles: boolean;
  topicRefresh: number;
  topicPattern: string;
  /** Rotate once a file holds more than this many (uncompressed) bytes; 0 = never. */
  rotateSize: number;
  /** Rotate a file this long after it was opened; 0 = never. */
  rotateInterval: number;
  syncInterval: number;
  httpClientConnectTimeout: number;
  httpClientRequestTimeout: number;
  topics: string[];
}

/** nsq_to_file's flag table (v1.3.0 names, defaults and help texts). */
export function nsqToFileFlagSpecs(): FlagSpec[] {
  return [
    // NSQ ignores a --consumer-opt go-nsq rejects here (its ConfigFlag errors are not checked).
    ...consumerToolFlags({ default: 'nsq_to_file', usage: 'nsq channel' }, { lenientConsumerOpt: true }),
    { name: 'log-level', key: 'logLevel', kind: 'string', default: 'info', usage: 'set log verbosity: debug, info, warn, error, or fatal' },
    { name: 'log-prefix', key: 'logPrefix', kind: 'string', default: '[nsq_to_file] ', usage: 'log message prefix' },
    { name: 'output-dir', key: 'outputDir', kind: 'string', default: '/tmp', usage: 'directory to write output files to' },
    { name: 'work-dir', key: 'workDir', kind: 'string', default: '', usage: 'directory for in-progress files before moving to output-dir' },
    { name: 'datetime-format', key: 'datetimeFormat', kind: 'string', default: '%Y-%m-%d_%H', usage: 'strftime compatible format for <DATETIME> in filename format' },
    {
      name: 'filename-format', key: 'filenameFormat', kind: 'string', default: '<TOPIC>.<HOST><REV>.<DATETIME>.log',
      usage: 'output filename format (<TOPIC>, <HOST>, <PID>, <DATETIME>, <REV> are replaced. <REV> is increased when file already exists)',
    },
    { name: 'host-identifier', key: 'hostIdentifier', kind: 'string', default: '', usage: 'value to output in log filename in place of hostname. <SHORT_HOST> and <HOSTNAME> are valid replacement tokens' },
    { name: 'gzip-level', key: 'gzipLevel', kind: 'int', default: 6, usage: 'gzip compression level (1-9, 1=BestSpeed, 9=BestCompression)' },
    { name: 'gzip', key: 'gzip', kind: 'bool', default: false, usage: 'gzip output files.' },
    { name: 'skip-empty-files', key: 'skipEmptyFiles', kind: 'bool', default: false, usage: 'skip writing empty files' },
    { name: 'topic-refresh', key: 'topicRefresh', kind: 'duration', default: 60_000, usage: 'how frequently the topic list should be refreshed' },
    { name: 'topic-pattern', key: 'topicPattern', kind: 'string', default: '', usage: 'only log topics matching the following pattern' },
    { name: 'rotate-size', key: 'rotateSize', kind: 'int', default: 0, usage: 'rotate the file when it grows bigger than `rotate-size` bytes' },
    { name: 'rotate-interval', key: 'rotateInterval', kind: 'duration', default: 0, usage: 'rotate the file every duration' },
    { name: 'sync-interval', key: 'syncInterval', kind: 'duration', default: 30_000, usage: 'sync file to disk every duration' },
    ...httpClientTimeoutFlags(5000),
    stringsFlag('topic', 'topics', 'nsq topic (may be given multiple times)'),
  ];
}
