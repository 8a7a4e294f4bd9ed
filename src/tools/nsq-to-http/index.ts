// nsq_to_http (apps/nsq_to_http in NSQ v1.3.0): consume --topic/--channel and make an HTTP GET or
// POST for each message, with at most -n requests at a time (go-nsq's AddConcurrentHandlers). A
// failed request makes the handler fail, so the message is requeued with go-nsq's default delay
// and backoff; --sample sends only a fraction of the messages (the rest are finished unsent).

import type { Message } from '../../client/index.js';
import type { FlagSpec } from '../../internal/flags.js';
import {
  connectToolConsumer, consumerToolFlags, fatal, httpClientTimeoutFlags, modeFlag, newToolConsumer, onSignals, parseToolFlags, requireOneSource,
  statusEveryFlag, stringsFlag, toolClientOptions, type ConsumerToolOptions,
} from '../common.js';
import { HttpPublisher, parseCustomHeaders } from './publisher.js';

/** nsq_to_http's options. */
export interface NsqToHttpOptions extends ConsumerToolOptions {
  topic: string;
  numPublishers: number;
  mode: string;
  sample: number;
  httpClientConnectTimeout: number;
  httpClientRequestTimeout: number;
  statusEvery: number;
  contentType: string;
  getAddrs: string[];
  postAddrs: string[];
  headers: string[];
}

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** nsq_to_http's flag table (v1.3.0 names, defaults and help texts). */
export function nsqToHttpFlagSpecs(): FlagSpec[] {
  return [
    ...consumerToolFlags({ default: 'nsq_to_http', usage: 'nsq channel' }),
    { name: 'topic', key: 'topic', kind: 'string', default: '', usage: 'nsq topic' },
    { name: 'n', key: 'numPublishers', kind: 'int', default: 100, usage: 'number of concurrent publishers' },
    modeFlag(),
    { name: 'sample', key: 'sample', kind: 'float', default: 1.0, usage: '% of messages to publish (float b/w 0 -> 1)' },
    ...httpClientTimeoutFlags(20_000),
    statusEveryFlag('handler'),
    { name: 'content-type', key: 'contentType', kind: 'string', default: DEFAULT_CONTENT_TYPE, usage: 'the Content-Type used for POST requests' },
    stringsFlag('get', 'getAddrs', "HTTP address to make a GET request to. '%s' will be printf replaced with data (may be given multiple times)"),
    stringsFlag('post', 'postAddrs', 'HTTP address to make a POST request to.  data will be in the body (may be given multiple times)'),
    stringsFlag('header', 'headers', 'Custom header for HTTP requests (may be given multiple times)'),
  ];
}

/** At most `n` tasks at once; the others wait in arrival order. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly n: number;

  constructor(n: number) {
    this.n = Math.max(1, n);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Validate the options as nsq_to_http does, exiting through log.Fatal on the first problem. */
function validate(o: NsqToHttpOptions): Record<string, string> {
  if (o.topic === '' || o.channel === '') fatal('--topic and --channel are required');
  if (o.contentType !== DEFAULT_CONTENT_TYPE) {
    if (o.postAddrs.length === 0) fatal('--content-type only used with --post');
    if (o.contentType.length === 0) fatal('--content-type requires a value when used');
  }
  requireOneSource(o.nsqdTcpAddrs, o.lookupdHttpAddrs);
  if (o.getAddrs.length === 0 && o.postAddrs.length === 0) fatal('--get or --post required');
  if (o.getAddrs.length > 0 && o.postAddrs.length > 0) fatal('use --get or --post not both');
  for (const g of o.getAddrs) if (g.split('%s').length - 1 !== 1) fatal('invalid GET address - must be a printf string');
  const headers = parseCustomHeaders(o.headers);
  if (headers === null) fatal("--header value format should be 'key=value'");
  if (o.sample > 1.0 || o.sample < 0.0) fatal('ERROR: --sample must be between 0.0 and 1.0');
  return headers;
}

/** Run nsq_to_http with `argv` (without node and script). */
export async function nsqToHttpMain(argv: readonly string[]): Promise<void> {
  const { options: o } = parseToolFlags<NsqToHttpOptions>('nsq_to_http', nsqToHttpFlagSpecs(), argv);
  const headers = validate(o);
  const post = o.postAddrs.length > 0;
  const publisher = new HttpPublisher({
    addresses: post ? o.postAddrs : o.getAddrs,
    method: post ? 'POST' : 'GET',
    mode: o.mode,
    contentType: o.contentType,
    headers,
    connectTimeoutMs: o.httpClientConnectTimeout,
    requestTimeoutMs: o.httpClientRequestTimeout,
    statusEvery: o.statusEvery,
  });

  const consumer = newToolConsumer(o.topic, o.channel, toolClientOptions('nsq_to_http', o.consumerOpts, true, { maxInFlight: o.maxInFlight }));
  const limiter = new Limiter(o.numPublishers);
  consumer.on('message', (m: Message) => {
    if (o.sample < 1.0 && Math.random() > o.sample) return undefined;
    // The body is a view into the received frame, which the client never reuses: no copy is
    // needed while the request is pending (at most --max-in-flight of them).
    const body = m.body;
    return limiter.run(() => publisher.handle(body));
  });
  onSignals(['SIGINT', 'SIGTERM'], () => {
    void consumer.close().then(() => {
      publisher.close();
      process.exit(0);
    });
  });
  await connectToolConsumer(consumer, o.nsqdTcpAddrs, o.lookupdHttpAddrs);
}
