// nsq_to_file's topic discovery (apps/nsq_to_file/topic_discoverer.go in NSQ v1.3.0): a
// FileLogger for every --topic at start; without --topic, every --topic-refresh the union of the
// nsqlookupds' topics is fetched and each new topic matching --topic-pattern gets a FileLogger.
// Topics are never dropped. A logger that cannot be created is logged and skipped (and, when
// discovering, tried again at the next refresh).

import type { ClientOptions } from '../../client/index.js';
import { compileGoRegexp } from '../../internal/go-regexp.js';
import type { Logger } from '../../internal/log.js';
import type { ClusterInfo } from '../../internal/clusterinfo/cluster-info.js';
import { errorText, strict, toolClusterInfo } from '../common.js';
import { FileLogger } from './file-logger.js';
import type { NsqToFileOptions } from './options.js';

/**
 * A Go RE2 pattern as a JS RegExp (unanchored, as regexp.MatchString). null when the pattern
 * does not compile (then no topic matches, as in NSQ).
 */
export function compileTopicPattern(pattern: string): RegExp | null {
  try {
    return compileGoRegexp(pattern);
  } catch {
    return null;
  }
}

/** Owns the FileLoggers and the lookupd polling. */
export class TopicDiscoverer {
  private readonly loggers = new Map<string, FileLogger>();
  private readonly pattern: RegExp | null;
  private readonly ci: ClusterInfo;
  private ticker: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Updates run one after another; term() waits for the one running. */
  private updating: Promise<void> = Promise.resolve();

  /** A discoverer for the given options and consumer configuration. */
  constructor(
    private readonly log: Logger,
    private readonly o: NsqToFileOptions,
    private readonly cfg: ClientOptions,
  ) {
    this.pattern = o.topicPattern === '' ? null : compileTopicPattern(o.topicPattern);
    this.ci = toolClusterInfo(o.httpClientConnectTimeout, o.httpClientRequestTimeout);
  }

  /**
   * Start a logger per --topic, and the lookupd polling when no --topic was given. Like NSQ's
   * run loop, the discoverer keeps the process alive until term(), even when no logger could be
   * created (a bad --filename-format, an unreachable nsqd).
   */
  async run(): Promise<void> {
    this.ticker = this.o.topics.length === 0
      ? setInterval(() => void this.refresh(), this.o.topicRefresh)
      : setInterval(() => {}, 0x7fffffff);
    await this.updateTopics(this.o.topics);
  }

  private async refresh(): Promise<void> {
    let topics: string[];
    try {
      // As nsq_to_file: a partial failure (some nsqlookupd did not answer) skips this refresh too.
      topics = strict(await this.ci.getLookupdTopics(this.o.lookupdHttpAddrs));
    } catch (err) {
      this.log.error(`could not retrieve topic list: ${errorText(err)}`);
      return;
    }
    await this.updateTopics(topics);
  }

  private allowed(topic: string): boolean {
    if (this.o.topicPattern === '') return true;
    return this.pattern !== null && this.pattern.test(topic);
  }

  private updateTopics(topics: readonly string[]): Promise<void> {
    this.updating = this.updating.then(() => this.addLoggers(topics));
    return this.updating;
  }

  private async addLoggers(topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      if (this.stopping || this.loggers.has(topic)) continue;
      if (!this.allowed(topic)) {
        this.log.debug(`skipping topic ${topic} (doesn't match pattern ${this.o.topicPattern})`);
        continue;
      }
      try {
        this.loggers.set(topic, await FileLogger.create(this.log, this.o, topic, this.cfg));
      } catch (err) {
        this.log.error(`couldn't create logger for new topic ${topic}: ${errorText(err)}`);
      }
    }
  }

  /** SIGHUP: every logger syncs and closes its file. */
  hup(): void {
    for (const fl of this.loggers.values()) fl.hup();
  }

  /** SIGINT/SIGTERM: stop polling and every logger; resolves when all files are closed (and moved). */
  async term(): Promise<void> {
    this.stopping = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    await this.updating;
    await Promise.all([...this.loggers.values()].map((fl) => fl.term()));
  }
}
