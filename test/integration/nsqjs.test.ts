// Interoperability with the third-party Node client nsqjs 0.13.0: its Writer (PUB, MPUB, DPUB) and
// Reader (IDENTIFY, SUB, RDY, FIN, REQ, TOUCH, CLS) must work unchanged against our nsqd, with the
// server's /stats agreeing with what the client did.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import nsq, { type Message, type Reader, type Writer } from 'nsqjs';
import { http, startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { withTimeout } from '../helpers/wire.js';

interface ClientStats {
  client_id: string;
  user_agent: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
  pub_counts?: { topic: string; count: number }[];
}

interface ChannelStats {
  channel_name: string;
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  clients: ClientStats[] | null;
}

interface TopicStats {
  topic_name: string;
  depth: number;
  message_count: number;
  channels: ChannelStats[];
}

interface Stats {
  topics: TopicStats[] | null;
  producers: ClientStats[] | null;
}

async function stats(d: TestNsqd, topic: string): Promise<Stats> {
  const res = await http('GET', `${d.url}/stats?format=json&topic=${encodeURIComponent(topic)}`);
  assert.is(res.status, 200, `/stats answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as Stats;
}

async function channelStats(d: TestNsqd, topic: string, channel: string): Promise<{ topic: TopicStats; channel: ChannelStats; producers: ClientStats[] }> {
  const s = await stats(d, topic);
  const t = s.topics?.find((x) => x.topic_name === topic);
  if (t === undefined) throw new Error(`topic ${topic} missing from /stats`);
  const c = t.channels.find((x) => x.channel_name === channel);
  if (c === undefined) throw new Error(`channel ${topic}/${channel} missing from /stats`);
  return { topic: t, channel: c, producers: s.producers ?? [] };
}

/** A connected nsqjs Writer; errors are collected instead of thrown. */
async function openWriter(port: number, errors: Error[]): Promise<Writer> {
  const w = new nsq.Writer('127.0.0.1', port);
  w.on('error', (err: Error) => errors.push(err));
  const ready = new Promise<void>((resolve, reject) => {
    w.once('ready', () => resolve());
    w.once('error', (err: Error) => reject(err));
  });
  w.connect();
  await withTimeout(ready, 10_000, 'nsqjs Writer ready');
  return w;
}

function publish(w: Writer, topic: string, msgs: string | string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    w.publish(topic, msgs, (err) => (err ? reject(err) : resolve()));
  });
}

function deferPublish(w: Writer, topic: string, msg: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // nsqjs 0.13.0's deferPublish only works when the single message is wrapped in an array
    // (its connection state asserts an array; a bare string throws).
    w.deferPublish(topic, [msg], ms, (err) => (err ? reject(err) : resolve()));
  });
}

async function closeWriter(w: Writer): Promise<void> {
  const closed = new Promise<void>((r) => w.once('closed', () => r()));
  w.close();
  await withTimeout(closed, 5000, 'nsqjs Writer closed').catch(() => undefined);
}

/** An nsqjs Reader on one nsqd, resolved once it is subscribed and has sent RDY. */
async function openReader(port: number, topic: string, channel: string, maxInFlight: number, errors: Error[], onMessage: (m: Message) => void): Promise<Reader> {
  const r = new nsq.Reader(topic, channel, {
    nsqdTCPAddresses: [`127.0.0.1:${port}`],
    maxInFlight,
    // Never let a message time out during the test; nsqjs sends this as IDENTIFY msg_timeout.
    messageTimeout: 60_000,
  });
  r.on('error', (err: Error) => errors.push(err));
  r.on('message', onMessage);
  const ready = new Promise<void>((resolve) => r.once('ready', () => resolve()));
  r.connect();
  await withTimeout(ready, 10_000, `nsqjs Reader ${topic}/${channel} ready`);
  return r;
}

async function closeReader(r: Reader): Promise<void> {
  const gone = new Promise<void>((res) => r.once('not_ready', () => res()));
  r.close();
  await withTimeout(gone, 5000, 'nsqjs Reader closed').catch(() => undefined);
}

const bodyOf = (i: number): string => `msg-${String(i).padStart(5, '0')}`;
const indexOf = (m: Message): number => Number(m.body.toString().slice(4));

test('nsqjs Writer publishes 10,000 (PUB, MPUB, DPUB) and an nsqjs Reader finishes each exactly once, with REQ and TOUCH', async () => {
  const d = await startNsqd();
  const topic = 'nsqjs_interop';
  const channel = 'workers';
  const TOTAL = 10_000;
  const readerErrors: Error[] = [];
  const writerErrors: Error[] = [];
  let reader: Reader | null = null;
  let writer: Writer | null = null;
  try {
    // Deterministic plan per message index.
    const requeueFirst = (i: number): boolean => i % 97 === 0;
    const requeueDelay = (i: number): number => (i % 194 === 0 ? 50 : 0); // half immediate, half deferred REQ
    const touches = (i: number): boolean => i % 101 === 0;
    const deferredIdx = new Set([50, 51, 52, 53, 54]);

    const attemptsSeen = new Map<number, number[]>();
    const finished = new Set<number>();
    const doubleFinished: number[] = [];
    const badBodies: string[] = [];
    let requeued = 0;
    let touched = 0;
    let hasRespondedEarly = 0;

    const finish = (m: Message, i: number): void => {
      if (finished.has(i)) doubleFinished.push(i);
      finished.add(i);
      m.finish();
    };

    reader = await openReader(d.tcpPort, topic, channel, 100, readerErrors, (m) => {
      const i = indexOf(m);
      if (!(i >= 0 && i < TOTAL) || m.body.toString() !== bodyOf(i)) {
        badBodies.push(m.body.toString());
        m.finish();
        return;
      }
      if (m.hasResponded) hasRespondedEarly++;
      const list = attemptsSeen.get(i) ?? [];
      list.push(m.attempts);
      attemptsSeen.set(i, list);
      if (requeueFirst(i) && m.attempts === 1) {
        requeued++;
        m.requeue(requeueDelay(i), false);
        return;
      }
      if (touches(i)) {
        touched++;
        m.touch();
        setTimeout(() => finish(m, i), 5);
        return;
      }
      finish(m, i);
    });

    // SUB created the channel before anything is published, so every message reaches it.
    const before = await channelStats(d, topic, channel);
    assert.is(before.channel.client_count, 1);

    writer = await openWriter(d.tcpPort, writerErrors);
    const pending: Promise<void>[] = [];
    // 0..49: single messages (PUB), pipelined without waiting for each OK.
    for (let i = 0; i < 50; i++) pending.push(publish(writer, topic, bodyOf(i)));
    // 50..54: deferred publish (DPUB) by 200 ms.
    for (const i of deferredIdx) pending.push(deferPublish(writer, topic, bodyOf(i), 200));
    // 55..9999: arrays (MPUB) of up to 250.
    for (let start = 55; start < TOTAL; start += 250) {
      const batch: string[] = [];
      for (let i = start; i < Math.min(start + 250, TOTAL); i++) batch.push(bodyOf(i));
      pending.push(publish(writer, topic, batch));
    }
    await withTimeout(Promise.all(pending), 30_000, 'every publish callback');

    await waitFor(() => finished.size === TOTAL || badBodies.length > 0 || doubleFinished.length > 0, 60_000, `all ${TOTAL} messages finished (have ${finished.size})`);
    assert.equal(badBodies.slice(0, 5), [], 'unexpected bodies delivered');
    assert.equal(doubleFinished.slice(0, 5), [], 'messages delivered again after being finished');

    // Let FIN/TOUCH/REQ bytes land, then the server must agree with the client.
    await waitFor(async () => {
      const s = await channelStats(d, topic, channel);
      return s.channel.in_flight_count === 0 && s.channel.depth === 0 && s.channel.deferred_count === 0;
    }, 10_000, 'channel in_flight 0, depth 0, deferred 0');

    let expectedRequeues = 0;
    for (let i = 0; i < TOTAL; i++) {
      const seen = attemptsSeen.get(i);
      if (requeueFirst(i)) {
        expectedRequeues++;
        assert.equal(seen, [1, 2], `message ${i} was requeued once: expected attempts [1,2]`);
      } else {
        assert.equal(seen, [1], `message ${i}: expected exactly one delivery with attempts 1`);
      }
    }
    assert.is(requeued, expectedRequeues);
    assert.ok(touched > 0);
    assert.is(hasRespondedEarly, 0);
    assert.is(finished.size, TOTAL);

    const s = await channelStats(d, topic, channel);
    assert.is(s.channel.requeue_count, expectedRequeues, 'channel requeue_count');
    assert.is(s.channel.timeout_count, 0, 'channel timeout_count');
    assert.is(s.channel.message_count, TOTAL, 'channel message_count');
    assert.is(s.channel.depth, 0);
    assert.is(s.channel.in_flight_count, 0);
    assert.is(s.channel.deferred_count, 0);
    assert.is(s.topic.depth, 0, 'topic depth');
    assert.is(s.topic.message_count, TOTAL, 'topic message_count');

    // The one nsqjs consumer connection, as nsqd sees it.
    assert.is(s.channel.client_count, 1);
    const c = s.channel.clients?.[0];
    assert.ok(c, 'consumer listed in channel clients');
    assert.match(c.user_agent, /^nsqjs\//);
    assert.is(c.finish_count, TOTAL, 'client finish_count');
    assert.is(c.requeue_count, expectedRequeues, 'client requeue_count');
    assert.is(c.message_count, TOTAL + expectedRequeues, 'client message_count (deliveries)');
    assert.is(c.in_flight_count, 0);
    assert.is(c.ready_count, 100, 'nsqjs sent RDY maxInFlight');

    // The nsqjs producer connection with its publish count (PUB + DPUB + MPUB messages).
    const producer = s.producers.find((p) => p.user_agent.startsWith('nsqjs/'));
    assert.ok(producer, 'nsqjs Writer listed in producers');
    assert.equal(producer.pub_counts, [{ topic, count: TOTAL }]);

    assert.equal(readerErrors.map(String), [], 'nsqjs Reader errors');
    assert.equal(writerErrors.map(String), [], 'nsqjs Writer errors');
  } finally {
    if (reader !== null) await closeReader(reader);
    if (writer !== null) await closeWriter(writer);
    await d.close();
  }
});

test('two nsqjs Readers with maxInFlight 1 on one channel share 1,000 messages exactly once', async () => {
  const d = await startNsqd();
  const topic = 'nsqjs_share';
  const channel = 'shared';
  const TOTAL = 1000;
  const errors: Error[] = [];
  const readers: Reader[] = [];
  let writer: Writer | null = null;
  try {
    const got: Set<number>[] = [new Set(), new Set()];
    const duplicates: string[] = [];
    const outstanding = [0, 0];
    const maxOutstanding = [0, 0];
    const attemptsOther: string[] = [];
    for (const r of [0, 1]) {
      readers.push(
        await openReader(d.tcpPort, topic, channel, 1, errors, (m) => {
          const i = indexOf(m);
          if (got[0]!.has(i) || got[1]!.has(i)) duplicates.push(`${i} (reader ${r})`);
          got[r]!.add(i);
          if (m.attempts !== 1) attemptsOther.push(`${i}: attempts ${m.attempts}`);
          outstanding[r]!++;
          maxOutstanding[r] = Math.max(maxOutstanding[r]!, outstanding[r]!);
          // Finish a little later, so a server ignoring RDY 1 would show up as 2 outstanding.
          setImmediate(() => {
            outstanding[r]!--;
            m.finish();
          });
        }),
      );
    }
    await waitFor(async () => (await channelStats(d, topic, channel)).channel.client_count === 2, 5000, 'two subscribers');

    writer = await openWriter(d.tcpPort, errors);
    const pending: Promise<void>[] = [];
    for (let start = 0; start < TOTAL; start += 100) {
      const batch: string[] = [];
      for (let i = start; i < start + 100; i++) batch.push(bodyOf(i));
      pending.push(publish(writer, topic, batch));
    }
    await withTimeout(Promise.all(pending), 20_000, 'publish callbacks');

    await waitFor(() => got[0]!.size + got[1]!.size >= TOTAL || duplicates.length > 0, 60_000, `all ${TOTAL} messages received`);
    assert.equal(duplicates.slice(0, 5), [], 'a message went to both readers or twice to one');
    const union = new Set([...got[0]!, ...got[1]!]);
    assert.is(union.size, TOTAL);
    for (let i = 0; i < TOTAL; i++) assert.ok(union.has(i), `message ${i} never delivered`);
    assert.equal(attemptsOther.slice(0, 5), []);
    assert.ok(got[0]!.size > 0 && got[1]!.size > 0, `both readers received messages (${got[0]!.size} / ${got[1]!.size})`);
    assert.equal(maxOutstanding, [1, 1], 'RDY 1 means at most one unacknowledged message per reader');

    await waitFor(async () => {
      const s = await channelStats(d, topic, channel);
      return s.channel.in_flight_count === 0 && s.channel.depth === 0;
    }, 10_000, 'channel drained');
    const s = await channelStats(d, topic, channel);
    assert.is(s.channel.message_count, TOTAL);
    assert.is(s.channel.requeue_count, 0);
    assert.is(s.channel.timeout_count, 0);
    const clients = s.channel.clients ?? [];
    assert.is(clients.length, 2);
    assert.equal(clients.map((c) => c.ready_count), [1, 1]);
    assert.is(clients.reduce((a, c) => a + c.finish_count, 0), TOTAL);
    assert.equal(clients.map((c) => c.finish_count).sort((a, b) => a - b), [got[0]!.size, got[1]!.size].sort((a, b) => a - b));
    assert.equal(errors.map(String), []);
  } finally {
    for (const r of readers) await closeReader(r);
    if (writer !== null) await closeWriter(writer);
    await d.close();
  }
});

test.run();
