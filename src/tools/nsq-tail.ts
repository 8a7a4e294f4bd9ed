// nsq_tail (apps/nsq_tail in NSQ v1.3.0): consume one or more topics on a channel (by default a
// random ephemeral one, `tail<6 digits>#ephemeral`) and write each message body to stdout, one per
// line, optionally prefixed with `<topic> | `. With -n, the process exits 0 after the n-th
// message of a topic, which is never finished while the ones before it are (as in NSQ).

import type { Consumer, Message } from '../client/index.js';
import type { FlagSpec } from '../internal/flags.js';
import {
  connectToolConsumer, consumerToolFlags, exitOnStdoutError, fatal, goLog, newToolConsumer, onSignals, parseToolFlags, requireOneSource, stringsFlag,
  toolClientOptions, type ConsumerToolOptions,
} from './common.js';

/** nsq_tail's options. */
export interface NsqTailOptions extends ConsumerToolOptions {
  totalMessages: number;
  printTopic: boolean;
  topics: string[];
}

/** nsq_tail's flag table (v1.3.0 names, defaults and help texts). */
export function nsqTailFlagSpecs(): FlagSpec[] {
  return [
    ...consumerToolFlags({ default: '', usage: 'NSQ channel' }),
    { name: 'n', key: 'totalMessages', kind: 'int', default: 0, usage: 'total messages to show (will wait if starved)' },
    { name: 'print-topic', key: 'printTopic', kind: 'bool', default: false, usage: 'print topic name where message was received' },
    stringsFlag('topic', 'topics', 'NSQ topic (may be given multiple times)'),
  ];
}

/** The default channel: `tail` + 6 random digits + `#ephemeral`, as NSQ picks it. */
export function randomTailChannel(): string {
  return `tail${String(Math.floor(Math.random() * 999_999)).padStart(6, '0')}#ephemeral`;
}

/** A handler printing each message of `topic`, exiting after `total` of them (0: never). */
function tailHandler(topic: string, total: number, printTopic: boolean): (m: Message) => void {
  let shown = 0;
  const prefix = printTopic ? Buffer.from(`${topic} | `) : null;
  return (m: Message) => {
    // Past the n-th (messages that came in the same read): not shown, not finished.
    if (total > 0 && shown >= total) {
      m.disableAutoResponse();
      return;
    }
    shown++;
    // stdout to a pipe or file is synchronous on Linux, so nothing is lost by exiting right after.
    process.stdout.write(prefix === null ? Buffer.concat([m.body, NEWLINE]) : Buffer.concat([prefix, m.body, NEWLINE]));
    if (total > 0 && shown >= total) {
      // NSQ's nsq_tail exits from inside the handler: the n-th message is never finished, the
      // ones before it were (go-nsq writes each FIN as its handler returns). Ours batches FINs
      // into one write per turn, so exit after that turn's flush, not before it.
      m.disableAutoResponse();
      setImmediate(() => process.exit(0));
    }
  };
}

const NEWLINE = Buffer.from('\n');

/** Run nsq_tail with `argv` (without node and script). */
export async function nsqTailMain(argv: readonly string[]): Promise<void> {
  const { options: o } = parseToolFlags<NsqTailOptions>('nsq_tail', nsqTailFlagSpecs(), argv);
  exitOnStdoutError();
  const channel = o.channel === '' ? randomTailChannel() : o.channel;
  requireOneSource(o.nsqdTcpAddrs, o.lookupdHttpAddrs);
  if (o.topics.length === 0) fatal('--topic required');

  // Don't ask for more messages than we want.
  const maxInFlight = o.totalMessages > 0 && o.totalMessages < o.maxInFlight ? o.totalMessages : o.maxInFlight;
  const cfg = toolClientOptions('nsq_tail', o.consumerOpts, true, { maxInFlight });

  const consumers: Consumer[] = [];
  onSignals(['SIGINT', 'SIGTERM'], () => {
    void Promise.all(consumers.map((c) => c.close())).then(() => process.exit(0));
  });
  for (const topic of o.topics) {
    goLog(`Adding consumer for topic: ${topic}`);
    const consumer = newToolConsumer(topic, channel, cfg);
    consumer.on('message', tailHandler(topic, o.totalMessages, o.printTopic));
    consumers.push(consumer);
    await connectToolConsumer(consumer, o.nsqdTcpAddrs, o.lookupdHttpAddrs);
  }
}
