// nsq_to_nsq (apps/nsq_to_nsq in NSQ v1.3.0): consume one or more topics and republish every
// message to one destination nsqd picked by --mode (hostpool, epsilon-greedy, or round-robin —
// also what any other value means here). Publishing is asynchronous: the source message is
// finished when the destination answers OK and requeued (default delay, with backoff) when it
// does not. Optional JSON filtering: see json-filter.ts.

import { Producer, type Consumer, type Message } from '../../client/index.js';
import type { FlagSpec } from '../../internal/flags.js';
import { isValidChannelName } from '../../protocol/names.js';
import {
  connectToolConsumer, consumerToolFlags, errorText, fatal, goLog, modeFlag, newToolConsumer, onSignals, parseToolFlags, producerOptFlag, requireOneSource,
  statusEveryFlag, stringsFlag, toolClientOptions, validTopics, withGoNsqLogger, type ConsumerToolOptions,
} from '../common.js';
import { DestinationPicker, type HostPoolResponse } from '../host-pool.js';
import { DestinationMetrics } from '../timer-metrics.js';
import { JsonFilter } from './json-filter.js';

/** nsq_to_nsq's options. */
export interface NsqToNsqOptions extends ConsumerToolOptions {
  destTopic: string;
  statusEvery: number;
  mode: string;
  destNsqdTcpAddrs: string[];
  whitelistJsonFields: string[];
  topics: string[];
  requireJsonField: string;
  requireJsonValue: string;
  producerOpts: string[];
}

/** nsq_to_nsq's flag table (v1.3.0 names, defaults and help texts). */
export function nsqToNsqFlagSpecs(): FlagSpec[] {
  return [
    ...consumerToolFlags({ default: 'nsq_to_nsq', usage: 'nsq channel' }, { seeDoc: true }),
    producerOptFlag(true),
    { name: 'destination-topic', key: 'destTopic', kind: 'string', default: '', usage: 'use this destination topic for all consumed topics (default is consumed topic name)' },
    statusEveryFlag('destination'),
    modeFlag(),
    stringsFlag('destination-nsqd-tcp-address', 'destNsqdTcpAddrs', 'destination nsqd TCP address (may be given multiple times)'),
    stringsFlag('topic', 'topics', 'nsq topic (may be given multiple times)'),
    stringsFlag('whitelist-json-field', 'whitelistJsonFields', 'for JSON messages: pass this field (may be given multiple times)'),
    { name: 'require-json-field', key: 'requireJsonField', kind: 'string', default: '', usage: 'for JSON messages: only pass messages that contain this field' },
    { name: 'require-json-value', key: 'requireJsonValue', kind: 'string', default: '', usage: 'for JSON messages: only pass messages in which the required field has this value' },
  ];
}

/** Republishes consumed messages to the destination nsqds. */
class PublishHandler {
  private readonly metrics: DestinationMetrics;
  readonly picker: DestinationPicker;

  constructor(
    addresses: readonly string[],
    private readonly producers: ReadonlyMap<string, Producer>,
    mode: string,
    private readonly filter: JsonFilter | null,
    statusEvery: number,
  ) {
    // hostpool and epsilon-greedy use the host pool; any other mode means round-robin here.
    this.picker = new DestinationPicker(mode === 'hostpool' || mode === 'epsilon-greedy' ? mode : 'round-robin', addresses);
    this.metrics = new DestinationMetrics(addresses, statusEvery);
  }

  /** The 'message' listener for a consumer whose messages go to `destTopic`. */
  handle(m: Message, destTopic: string): void {
    let out = m.body;
    // Without JSON options (no filter) every message passes unchanged: no filter result per message.
    if (this.filter !== null) {
      const f = this.filter.apply(m.body);
      if (f.action !== 'pass') {
        if (f.log !== undefined) goLog(f.log);
        if (f.action === 'backoff') throw new Error('backoff');
        return; // finished by the consumer
      }
      out = f.body;
    }
    m.disableAutoResponse();
    const start = performance.now();
    const r = this.picker.pick();
    const producer = this.producers.get(r.host)!;
    // A connected producer copies the body into its output buffer at once; otherwise the PUB
    // waits for the connection, and m.body (a view into the receive buffer) must be copied.
    const body = out === m.body && !producer.isConnected ? Buffer.from(out) : out;
    producer.publish(destTopic, body).then(
      () => this.settled(m, r, start, null),
      (err: unknown) => this.settled(m, r, start, err ?? new Error('publish failed')),
    );
  }

  /** A publish finished: mark the destination, FIN or requeue the message, record its timing. */
  private settled(m: Message, r: HostPoolResponse, start: number, err: unknown): void {
    r.mark(err);
    if (err === null) m.finish();
    else m.requeue(-1);
    this.metrics.destination(r.host, start);
    this.metrics.aggregate(start);
  }
}

/** Validate as nsq_to_nsq does (log.Fatal on the first problem). */
function validate(o: NsqToNsqOptions): void {
  if (o.topics.length === 0 || o.channel === '') fatal('--topic and --channel are required');
  if (!validTopics(o.topics)) fatal('--topic is invalid');
  if (o.destTopic !== '' && !validTopics([o.destTopic])) fatal('--destination-topic is invalid');
  if (!isValidChannelName(o.channel)) fatal('--channel is invalid');
  requireOneSource(o.nsqdTcpAddrs, o.lookupdHttpAddrs);
  if (o.destNsqdTcpAddrs.length === 0) fatal('--destination-nsqd-tcp-address required');
}

/** Run nsq_to_nsq with `argv` (without node and script). */
export async function nsqToNsqMain(argv: readonly string[]): Promise<void> {
  const { options: o } = parseToolFlags<NsqToNsqOptions>('nsq_to_nsq', nsqToNsqFlagSpecs(), argv);
  validate(o);
  const cCfg = toolClientOptions('nsq_to_nsq', o.consumerOpts, true, { maxInFlight: o.maxInFlight });
  const pCfg = toolClientOptions('nsq_to_nsq', o.producerOpts, true);
  const producers = new Map<string, Producer>();
  for (const addr of o.destNsqdTcpAddrs) {
    try {
      producers.set(addr, new Producer(addr, withGoNsqLogger(pCfg)));
    } catch (err) {
      fatal(`failed creating producer ${errorText(err)}`);
    }
  }
  const filter = JsonFilter.create({ requireField: o.requireJsonField, requireValue: o.requireJsonValue, whitelistFields: o.whitelistJsonFields });
  const publisher = new PublishHandler(o.destNsqdTcpAddrs, producers, o.mode, filter, o.statusEvery);

  const consumers: Consumer[] = [];
  for (const topic of o.topics) {
    const c = newToolConsumer(topic, o.channel, cCfg);
    const dest = o.destTopic !== '' ? o.destTopic : topic;
    c.on('message', (m: Message) => publisher.handle(m, dest));
    consumers.push(c);
  }
  onSignals(['SIGINT', 'SIGTERM'], () => {
    void (async () => {
      await Promise.all(consumers.map((c) => c.close()));
      await Promise.all([...producers.values()].map((p) => p.close()));
      publisher.picker.close();
      process.exit(0);
    })();
  });
  for (const c of consumers) await connectToolConsumer(c, o.nsqdTcpAddrs, []);
  for (const c of consumers) await connectToolConsumer(c, [], o.lookupdHttpAddrs);
}
