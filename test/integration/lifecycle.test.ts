// Message lifecycle inside nsqd (spec section 3.1-3.8): fan-out, load balancing, the RDY window,
// in-flight timeouts, TOUCH, REQ, DPUB, attempts, ephemeral topics/channels, pause/empty/delete,
// --max-channel-consumers and message ids. Real daemon, real sockets; state is read through
// /stats?format=json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NsqdInit } from '../../src/nsqd/nsqd.js';
import { http, startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { channelStats, getStats, mustChannel, mustTopic, topicStats, type ChannelStatsJson, type TopicStatsJson } from '../helpers/stats.js';
import { WireConn, type WireMessage } from '../helpers/wire.js';

type Open = () => Promise<WireConn>;

/** Run `fn` against a fresh nsqd; every connection opened through `open` is closed afterwards. */
async function withNsqd(init: NsqdInit, fn: (d: TestNsqd, open: Open) => Promise<void>): Promise<void> {
  const d = await startNsqd(init);
  const conns: WireConn[] = [];
  try {
    await fn(d, async () => {
      const c = await WireConn.open(d.tcpPort);
      conns.push(c);
      return c;
    });
  } finally {
    for (const c of conns) c.close();
    await d.close();
  }
}

/** Open a consumer: optional IDENTIFY, SUB, then RDY (if given). */
async function consumer(open: Open, topic: string, channel: string, opts: { rdy?: number; identify?: object } = {}): Promise<WireConn> {
  const c = await open();
  if (opts.identify !== undefined) {
    const r = await c.identify(opts.identify);
    assert.is(r, 'OK');
  }
  await c.sub(topic, channel);
  if (opts.rdy !== undefined) c.cmd(`RDY ${opts.rdy}`);
  return c;
}

async function readN(c: WireConn, n: number, timeoutMs = 5000): Promise<WireMessage[]> {
  const out: WireMessage[] = [];
  for (let i = 0; i < n; i++) out.push(await c.readMessage(timeoutMs));
  return out;
}

const bodies = (ms: WireMessage[]): string[] => ms.map((m) => m.body.toString());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

/** Poll /stats until the channel satisfies `cond`; returns the channel stats. */
async function waitChannel(d: TestNsqd, topic: string, channel: string, cond: (c: ChannelStatsJson) => boolean, what: string, ms = 5000): Promise<ChannelStatsJson> {
  let last: ChannelStatsJson | undefined;
  try {
    await waitFor(async () => {
      last = await channelStats(d.url, topic, channel);
      return last !== undefined && cond(last);
    }, ms, what);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last channel stats: ${JSON.stringify(last!)}`);
  }
  return last!;
}

async function waitTopic(d: TestNsqd, topic: string, cond: (t: TopicStatsJson) => boolean, what: string, ms = 5000): Promise<TopicStatsJson> {
  let last: TopicStatsJson | undefined;
  try {
    await waitFor(async () => {
      last = await topicStats(d.url, topic);
      return last !== undefined && cond(last);
    }, ms, what);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last topic stats: ${JSON.stringify(last!)}`);
  }
  return last!;
}

async function post(url: string): Promise<void> {
  const r = await http('POST', url);
  if (r.status !== 200) throw new Error(`POST ${url} answered ${r.status} ${r.text}`);
}

// ---------------------------------------------------------------------------------------------
// 3.1 fan-out

test('3.1 fan-out: every channel gets each message with the same id, body and timestamp', () =>
  withNsqd({}, async (d, open) => {
    const a = await consumer(open, 'fan', 'c1', { rdy: 10 });
    const b = await consumer(open, 'fan', 'c2', { rdy: 10 });
    await post(`${d.url}/channel/create?topic=fan&channel=c3`); // no consumer: keeps its copies
    const p = await open();
    for (let i = 0; i < 5; i++) await p.pub('fan', `m${i}`);
    const ma = await readN(a, 5);
    const mb = await readN(b, 5);
    assert.equal(bodies(ma).sort(), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.equal(bodies(mb).sort(), ['m0', 'm1', 'm2', 'm3', 'm4']);
    const byId = new Map(ma.map((m) => [m.id, m]));
    assert.is(byId.size, 5, 'ids are distinct');
    for (const m of mb) {
      const twin = byId.get(m.id);
      assert.ok(twin, `id ${m.id} delivered on c2 was not delivered on c1`);
      assert.is(m.body.toString(), twin!.body.toString());
      assert.is(m.timestamp, twin!.timestamp, 'copies share the publish timestamp');
      assert.is(m.attempts, 1);
      assert.is(twin!.attempts, 1);
    }
    await a.expectNothing(100);
    const c3 = await waitChannel(d, 'fan', 'c3', (c) => c.depth === 5, 'c3 depth 5');
    assert.is(c3.message_count, 5);
    const t = await mustTopic(d.url, 'fan');
    assert.is(t.message_count, 5);
    assert.is(t.depth, 0);
    for (const ch of ['c1', 'c2']) {
      const c = await mustChannel(d.url, 'fan', ch);
      assert.is(c.message_count, 5, `${ch} message_count`);
      assert.is(c.in_flight_count, 5, `${ch} in_flight_count`);
    }
  }));

// ---------------------------------------------------------------------------------------------
// 3.2 load balancing over the clients of one channel

test('3.2 load balancing: 3 consumers with RDY 100 share 300 messages, 100 each, no duplicates', () =>
  withNsqd({}, async (d, open) => {
    const cs = [
      await consumer(open, 'lb', 'work', { rdy: 100 }),
      await consumer(open, 'lb', 'work', { rdy: 100 }),
      await consumer(open, 'lb', 'work', { rdy: 100 }),
    ];
    const p = await open();
    await p.mpub('lb', Array.from({ length: 300 }, (_, i) => `w${i}`));
    const got = await Promise.all(cs.map((c) => readN(c, 100)));
    for (const c of cs) await c.expectNothing(150);
    const all = got.flat();
    const set = new Set(bodies(all));
    assert.is(set.size, 300, 'each message goes to exactly one client');
    assert.equal([...set].sort(), Array.from({ length: 300 }, (_, i) => `w${i}`).sort());
    assert.is(new Set(all.map((m) => m.id)).size, 300);
    const ch = await mustChannel(d.url, 'lb', 'work');
    assert.is(ch.in_flight_count, 300);
    assert.is(ch.client_count, 3);
    for (const cl of ch.clients!) assert.is(cl.in_flight_count, 100);
    for (let i = 0; i < 3; i++) for (const m of got[i]!) cs[i]!.cmd(`FIN ${m.id}`);
    await waitChannel(d, 'lb', 'work', (c) => c.in_flight_count === 0 && c.depth === 0, 'all finished');
  }));

test('3.2 load balancing: 3 consumers FINishing as they go each get some of 300 messages', () =>
  withNsqd({}, async (d, open) => {
    const cs = [
      await consumer(open, 'lb2', 'work', { rdy: 300 }),
      await consumer(open, 'lb2', 'work', { rdy: 300 }),
      await consumer(open, 'lb2', 'work', { rdy: 300 }),
    ];
    const perClient: string[][] = [[], [], []];
    let total = 0;
    const loops = cs.map(async (c, i) => {
      try {
        for (;;) {
          const m = await c.readMessage(20_000);
          perClient[i]!.push(m.body.toString());
          total++;
          c.cmd(`FIN ${m.id}`);
        }
      } catch {
        // the connection is closed at the end of the test
      }
    });
    const p = await open();
    await p.mpub('lb2', Array.from({ length: 300 }, (_, i) => `w${i}`));
    await waitFor(() => total >= 300, 15_000, '300 deliveries');
    await waitChannel(d, 'lb2', 'work', (c) => c.in_flight_count === 0 && c.depth === 0, 'all finished');
    for (const c of cs) c.close();
    await Promise.all(loops);
    assert.is(total, 300);
    const union = perClient.flat();
    assert.is(new Set(union).size, 300, 'no message delivered twice');
    for (let i = 0; i < 3; i++) assert.ok(perClient[i]!.length > 0, `consumer ${i} got none of 300 messages (counts ${perClient.map((x) => x.length).join('/')})`);
  }));

// ---------------------------------------------------------------------------------------------
// RDY window (2.5 / quirk 1)

test('RDY is an in-flight window: FIN reopens it without a new RDY; RDY 0 stops deliveries', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'rdy', 'c', { rdy: 2 });
    const p = await open();
    for (let i = 0; i < 5; i++) await p.pub('rdy', `r${i}`);
    const first = await readN(c, 2);
    await c.expectNothing(300);
    let ch = await waitChannel(d, 'rdy', 'c', (x) => x.depth === 3, 'depth 3');
    assert.is(ch.in_flight_count, 2);
    assert.is(ch.clients![0]!.ready_count, 2);
    assert.is(ch.clients![0]!.in_flight_count, 2);
    c.cmd(`FIN ${first[0]!.id}`);
    const third = await c.readMessage();
    await c.expectNothing(300);
    c.cmd('RDY 0');
    c.cmd(`FIN ${first[1]!.id}`);
    c.cmd(`FIN ${third.id}`);
    await c.expectNothing(300);
    ch = await waitChannel(d, 'rdy', 'c', (x) => x.in_flight_count === 0, 'in flight 0');
    assert.is(ch.depth, 2);
    assert.is(ch.clients![0]!.ready_count, 0);
    assert.is(ch.clients![0]!.finish_count, 3);
    c.cmd('RDY 5');
    const rest = await readN(c, 2);
    assert.equal(bodies([...first, third, ...rest]).sort(), ['r0', 'r1', 'r2', 'r3', 'r4']);
  }));

// ---------------------------------------------------------------------------------------------
// 3.3 in-flight timeouts

test('3.3 msg_timeout expiry: redelivered with attempts 2, same id/body/timestamp; timeout_count 1', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'to', 'c', { identify: { msg_timeout: 1000 }, rdy: 1 });
    const p = await open();
    await p.pub('to', 'slow');
    const m1 = await c.readMessage();
    assert.is(m1.attempts, 1);
    const m2 = await c.readMessage(6000);
    assert.is(m2.id, m1.id);
    assert.is(m2.attempts, 2);
    assert.is(m2.body.toString(), 'slow');
    assert.is(m2.timestamp, m1.timestamp);
    const ch = await mustChannel(d.url, 'to', 'c');
    assert.is(ch.timeout_count, 1);
    assert.is(ch.requeue_count, 0);
    assert.is(ch.in_flight_count, 1);
    assert.is(ch.message_count, 1);
    assert.is(ch.clients![0]!.message_count, 2);
    assert.is(ch.clients![0]!.in_flight_count, 1);
    c.cmd(`FIN ${m2.id}`);
    await waitChannel(d, 'to', 'c', (x) => x.in_flight_count === 0 && x.clients![0]!.finish_count === 1, 'finished');
  }));

test('2.8 TOUCH extends the deadline, but never beyond delivery + --max-msg-timeout', () =>
  withNsqd({ maxMsgTimeout: 2000 }, async (d, open) => {
    const c = await consumer(open, 'touch', 'c', { identify: { msg_timeout: 1000 }, rdy: 1 });
    const p = await open();
    await p.pub('touch', 'keep-me');
    const m1 = await c.readMessage();
    const t0 = Date.now();
    const timer = setInterval(() => c.cmd(`TOUCH ${m1.id}`), 250);
    try {
      // msg_timeout alone would expire at ~t0+1000; touching every 250 ms keeps it until the
      // max-msg-timeout horizon (t0+2000).
      await sleep(1500 - (Date.now() - t0));
      const mid = await mustChannel(d.url, 'touch', 'c');
      assert.is(mid.timeout_count, 0, 'TOUCH did not extend the deadline past msg_timeout');
      assert.is(mid.in_flight_count, 1);
      // keep touching: the message must still time out at the max-msg-timeout horizon
      let m2: WireMessage | undefined;
      while (m2 === undefined) {
        const left = 8000 - (Date.now() - t0);
        if (left <= 0) throw new Error('message kept in flight by TOUCH beyond --max-msg-timeout (never redelivered)');
        const f = await c.readFrame(left);
        if (f.type === 1 && f.data.toString().startsWith('E_TOUCH_FAILED ')) continue; // touched in the gap
        assert.is(f.type, 2, `unexpected frame ${f.type} ${f.data.toString()}`);
        m2 = { timestamp: f.data.readBigInt64BE(0), attempts: f.data.readUInt16BE(8), id: f.data.toString('latin1', 10, 26), body: f.data.subarray(26) };
      }
      assert.is(m2.id, m1.id);
      assert.is(m2.attempts, 2);
    } finally {
      clearInterval(timer);
    }
    const ch = await mustChannel(d.url, 'touch', 'c');
    assert.is(ch.timeout_count, 1);
  }));

// ---------------------------------------------------------------------------------------------
// REQ

test('2.7 REQ 0: immediate redelivery with attempts+1; channel and client requeue_count', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'rq', 'c', { rdy: 1 });
    const p = await open();
    await p.pub('rq', 'again');
    const m1 = await c.readMessage();
    c.cmd(`REQ ${m1.id} 0`);
    const m2 = await c.readMessage();
    assert.is(m2.id, m1.id);
    assert.is(m2.attempts, 2);
    assert.is(m2.body.toString(), 'again');
    assert.is(m2.timestamp, m1.timestamp);
    const ch = await mustChannel(d.url, 'rq', 'c');
    assert.is(ch.requeue_count, 1);
    assert.is(ch.timeout_count, 0);
    assert.is(ch.deferred_count, 0);
    assert.is(ch.in_flight_count, 1);
    assert.is(ch.clients![0]!.requeue_count, 1);
    assert.is(ch.clients![0]!.message_count, 2);
  }));

test('2.7/3.4 REQ with a delay: deferred (deferred_count 1, depth 0), then redelivered', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'rqd', 'c', { rdy: 1 });
    const p = await open();
    await p.pub('rqd', 'later');
    const m1 = await c.readMessage();
    c.cmd(`REQ ${m1.id} 1000`);
    const ch = await waitChannel(d, 'rqd', 'c', (x) => x.in_flight_count === 0, 'REQ processed', 900);
    assert.is(ch.deferred_count, 1, 'REQ with delay puts the message in the deferred queue');
    assert.is(ch.depth, 0, 'deferred messages are not counted in depth');
    assert.is(ch.requeue_count, 1);
    assert.is(ch.clients![0]!.in_flight_count, 0);
    assert.is(ch.clients![0]!.requeue_count, 1);
    const m2 = await c.readMessage(6000);
    assert.is(m2.id, m1.id);
    assert.is(m2.attempts, 2);
    const after = await mustChannel(d.url, 'rqd', 'c');
    assert.is(after.deferred_count, 0);
    assert.is(after.in_flight_count, 1);
  }));

test('3.6 attempts count across REQ and timeouts; requeue_count and timeout_count', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'att', 'c', { identify: { msg_timeout: 1000 }, rdy: 1 });
    const p = await open();
    await p.pub('att', 'x');
    const m1 = await c.readMessage();
    c.cmd(`REQ ${m1.id} 0`);
    const m2 = await c.readMessage();
    c.cmd(`REQ ${m2.id} 0`);
    const m3 = await c.readMessage();
    const m4 = await c.readMessage(6000); // after the 1 s timeout
    assert.equal([m1.attempts, m2.attempts, m3.attempts, m4.attempts], [1, 2, 3, 4]);
    assert.ok(m1.id === m2.id && m2.id === m3.id && m3.id === m4.id);
    c.cmd(`REQ ${m4.id} 300`);
    const m5 = await c.readMessage(6000);
    assert.is(m5.attempts, 5);
    c.cmd(`FIN ${m5.id}`);
    const ch = await waitChannel(d, 'att', 'c', (x) => x.in_flight_count === 0, 'finished');
    assert.is(ch.requeue_count, 3);
    assert.is(ch.timeout_count, 1);
    assert.is(ch.message_count, 1);
  }));

// ---------------------------------------------------------------------------------------------
// DPUB (3.4)

test('3.4 DPUB: deferred on every channel (deferred_count, not depth), delivered after the delay', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'dp', 'a', { rdy: 5 });
    await post(`${d.url}/channel/create?topic=dp&channel=b`);
    const p = await open();
    p.cmd('DPUB dp 1500', 'in-a-while');
    await p.expectResponse('OK');
    const a = await waitChannel(d, 'dp', 'a', (x) => x.deferred_count === 1, 'a deferred', 1200);
    const b = await waitChannel(d, 'dp', 'b', (x) => x.deferred_count === 1, 'b deferred', 1200);
    for (const ch of [a, b]) {
      assert.is(ch.depth, 0, `${ch.channel_name}: a deferred message is not in depth`);
      assert.is(ch.in_flight_count, 0, `${ch.channel_name}: not delivered before the delay`);
      assert.is(ch.message_count, 1, `${ch.channel_name}: message_count counts deferred messages`);
    }
    const t = await mustTopic(d.url, 'dp');
    assert.is(t.message_count, 1);
    assert.is(t.depth, 0);
    const m = await c.readMessage(6000);
    assert.is(m.body.toString(), 'in-a-while');
    assert.is(m.attempts, 1);
    const bb = await waitChannel(d, 'dp', 'b', (x) => x.deferred_count === 0, 'b due', 5000);
    assert.is(bb.depth, 1);
    const aa = await mustChannel(d.url, 'dp', 'a');
    assert.is(aa.deferred_count, 0);
    assert.is(aa.in_flight_count, 1);
  }));

// ---------------------------------------------------------------------------------------------
// quirk 6: a disconnected client's in-flight messages

test('2.15/quirk 6: a disconnected client\'s in-flight message stays in flight until msg_timeout, then goes to another client', () =>
  withNsqd({}, async (d, open) => {
    const a = await consumer(open, 'dis', 'c', { identify: { msg_timeout: 2000 }, rdy: 1 });
    const p = await open();
    await p.pub('dis', 'orphan');
    const m1 = await a.readMessage();
    const b = await consumer(open, 'dis', 'c', { rdy: 1 });
    await waitChannel(d, 'dis', 'c', (x) => x.client_count === 2, '2 clients');
    a.close();
    const ch = await waitChannel(d, 'dis', 'c', (x) => x.client_count === 1, 'a removed');
    assert.is(ch.in_flight_count, 1, 'not requeued on disconnect');
    assert.is(ch.depth, 0);
    assert.is(ch.timeout_count, 0);
    const m2 = await b.readMessage(8000);
    assert.is(m2.id, m1.id);
    assert.is(m2.attempts, 2);
    assert.is(m2.body.toString(), 'orphan');
    const after = await mustChannel(d.url, 'dis', 'c');
    assert.is(after.timeout_count, 1);
  }));

// ---------------------------------------------------------------------------------------------
// 3.1 / quirk 8: topic without channels

test('3.1/quirk 8: a topic without channels keeps its messages; the first channel gets the backlog, a later one only new messages', () =>
  withNsqd({}, async (d, open) => {
    const p = await open();
    for (let i = 0; i < 3; i++) await p.pub('bl', `b${i}`);
    const t0 = await mustTopic(d.url, 'bl');
    assert.is(t0.depth, 3);
    assert.equal(t0.channels, []);
    const first = await consumer(open, 'bl', 'first', { rdy: 10 });
    assert.equal(bodies(await readN(first, 3)).sort(), ['b0', 'b1', 'b2']);
    await waitTopic(d, 'bl', (t) => t.depth === 0, 'topic drained');
    const second = await consumer(open, 'bl', 'second', { rdy: 10 });
    await second.expectNothing(300);
    await p.pub('bl', 'new');
    assert.is((await first.readMessage()).body.toString(), 'new');
    assert.is((await second.readMessage()).body.toString(), 'new');
    assert.is((await mustChannel(d.url, 'bl', 'first')).message_count, 4);
    assert.is((await mustChannel(d.url, 'bl', 'second')).message_count, 1);
  }));

// ---------------------------------------------------------------------------------------------
// 3.7 ephemeral topics and channels

test('3.7 an ephemeral channel is deleted when its last client disconnects; HTTP-created and durable ones stay', () =>
  withNsqd({}, async (d, open) => {
    const a = await consumer(open, 'eph', 'c#ephemeral');
    const b = await consumer(open, 'eph', 'c#ephemeral');
    const durable = await consumer(open, 'eph', 'durable');
    await post(`${d.url}/channel/create?topic=eph&channel=${enc('h#ephemeral')}`);
    a.close();
    await waitChannel(d, 'eph', 'c#ephemeral', (x) => x.client_count === 1, 'one client left');
    b.close();
    await waitFor(async () => (await channelStats(d.url, 'eph', 'c#ephemeral')) === undefined, 5000, 'ephemeral channel deleted');
    durable.close();
    await waitChannel(d, 'eph', 'durable', (x) => x.client_count === 0, 'durable client gone');
    await sleep(300);
    assert.ok(await channelStats(d.url, 'eph', 'durable'), 'a durable channel is never auto-deleted');
    assert.ok(await channelStats(d.url, 'eph', 'h#ephemeral'), 'an ephemeral channel that never had a client is not deleted');
    assert.ok(await topicStats(d.url, 'eph'), 'the durable topic stays');
  }));

test('3.7 an ephemeral topic is deleted when its last channel is deleted (and only then)', () =>
  withNsqd({}, async (d, open) => {
    // last channel deleted by its last client leaving
    const a = await consumer(open, 'et#ephemeral', 'c#ephemeral');
    a.close();
    await waitFor(async () => (await topicStats(d.url, 'et#ephemeral')) === undefined, 5000, 'ephemeral topic deleted');

    // two channels: the topic stays until the second (durable-named) one is deleted over HTTP
    const b = await consumer(open, 'et2#ephemeral', 'c1#ephemeral');
    await post(`${d.url}/channel/create?topic=${enc('et2#ephemeral')}&channel=c2`);
    b.close();
    await waitFor(async () => (await channelStats(d.url, 'et2#ephemeral', 'c1#ephemeral')) === undefined, 5000, 'c1 deleted');
    await sleep(200);
    assert.ok(await topicStats(d.url, 'et2#ephemeral'), 'topic still has channel c2');
    await post(`${d.url}/channel/delete?topic=${enc('et2#ephemeral')}&channel=c2`);
    await waitFor(async () => (await topicStats(d.url, 'et2#ephemeral')) === undefined, 5000, 'ephemeral topic deleted after its last channel');

    // an ephemeral topic that never had a channel stays
    const p = await open();
    await p.pub('et3#ephemeral', 'x');
    await sleep(300);
    const t3 = await topicStats(d.url, 'et3#ephemeral');
    assert.ok(t3, 'an ephemeral topic that never had a channel is never auto-deleted');
    assert.is(t3!.depth, 1);
  }));

test('3.7/quirk 9: ephemeral overflow beyond --mem-queue-size is silently dropped (topic and channel)', () =>
  withNsqd({ memQueueSize: 5 }, async (d, open) => {
    const p = await open();
    // ephemeral topic, no channels: 5 kept in memory, 5 dropped, every PUB answered OK
    for (let i = 0; i < 10; i++) await p.pub('of#ephemeral', `e${i}`);
    const t = await mustTopic(d.url, 'of#ephemeral');
    assert.is(t.depth, 5);
    assert.is(t.backend_depth, 0);
    assert.is(t.message_count, 10);
    const c = await consumer(open, 'of#ephemeral', 'c', { rdy: 20 });
    assert.equal(bodies(await readN(c, 5)), ['e0', 'e1', 'e2', 'e3', 'e4']);
    await c.expectNothing(300);

    // ephemeral channel of a normal topic, consumer not ready: the channel keeps 5
    const e = await consumer(open, 'of2', 'c#ephemeral', { rdy: 0 });
    for (let i = 0; i < 10; i++) await p.pub('of2', `f${i}`);
    const ch = await waitChannel(d, 'of2', 'c#ephemeral', (x) => x.message_count === 10, 'channel got 10');
    assert.is(ch.depth, 5);
    assert.is(ch.backend_depth, 0);
    assert.is((await mustTopic(d.url, 'of2')).depth, 0);
    e.cmd('RDY 20');
    assert.equal(bodies(await readN(e, 5)), ['f0', 'f1', 'f2', 'f3', 'f4']);
    await e.expectNothing(300);
  }));

test('3.1 a normal topic with --mem-queue-size 5 keeps all 100 messages (depth 100, all consumable)', () =>
  withNsqd({ memQueueSize: 5 }, async (d, open) => {
    const p = await open();
    const sent = Array.from({ length: 100 }, (_, i) => `k${i}`);
    await p.mpub('keep', sent);
    const t = await mustTopic(d.url, 'keep');
    assert.is(t.depth, 100);
    assert.is(t.backend_depth, 95);
    assert.is(t.message_count, 100);
    const c = await consumer(open, 'keep', 'c', { rdy: 100 });
    const got = await readN(c, 100);
    assert.equal(bodies(got).sort(), [...sent].sort());
    await c.expectNothing(200);
    const ch = await mustChannel(d.url, 'keep', 'c');
    assert.is(ch.message_count, 100);
    assert.is(ch.in_flight_count, 100);
    assert.is((await mustTopic(d.url, 'keep')).depth, 0);
  }));

// ---------------------------------------------------------------------------------------------
// 3.8 pause / unpause

test('3.8 topic pause: messages accumulate in the topic, channels keep serving what they have; unpause resumes', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'tp', 'c', { rdy: 0 });
    const p = await open();
    await p.pub('tp', 'before1');
    await p.pub('tp', 'before2');
    await waitChannel(d, 'tp', 'c', (x) => x.depth === 2, 'channel depth 2');
    await post(`${d.url}/topic/pause?topic=tp`);
    for (let i = 0; i < 3; i++) await p.pub('tp', `during${i}`);
    const t = await mustTopic(d.url, 'tp');
    assert.is(t.paused, true);
    assert.is(t.depth, 3, 'messages published while paused stay in the topic');
    assert.is(t.message_count, 5);
    const ch = await mustChannel(d.url, 'tp', 'c');
    assert.is(ch.depth, 2);
    assert.is(ch.message_count, 2);
    c.cmd('RDY 10');
    assert.equal(bodies(await readN(c, 2)).sort(), ['before1', 'before2']);
    await c.expectNothing(300);
    await post(`${d.url}/topic/unpause?topic=tp`);
    assert.equal(bodies(await readN(c, 3)).sort(), ['during0', 'during1', 'during2']);
    const t2 = await mustTopic(d.url, 'tp');
    assert.is(t2.paused, false);
    assert.is(t2.depth, 0);
  }));

test('3.8 channel pause: no deliveries while paused (the channel still receives), in-flight can be FINished; unpause resumes', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'cp', 'c', { rdy: 10 });
    const p = await open();
    await p.pub('cp', 'inflight');
    const m0 = await c.readMessage();
    await post(`${d.url}/channel/pause?topic=cp&channel=c`);
    for (let i = 0; i < 3; i++) await p.pub('cp', `p${i}`);
    const ch = await waitChannel(d, 'cp', 'c', (x) => x.message_count === 4, 'channel received 4');
    assert.is(ch.paused, true);
    assert.is(ch.depth, 3);
    assert.is(ch.in_flight_count, 1);
    await c.expectNothing(300);
    c.cmd(`FIN ${m0.id}`);
    await waitChannel(d, 'cp', 'c', (x) => x.in_flight_count === 0, 'FIN while paused');
    await c.expectNothing(200);
    await post(`${d.url}/channel/unpause?topic=cp&channel=c`);
    assert.equal(bodies(await readN(c, 3)).sort(), ['p0', 'p1', 'p2']);
    assert.is((await mustChannel(d.url, 'cp', 'c')).paused, false);
  }));

// ---------------------------------------------------------------------------------------------
// 3.8 empty

test('3.8 topic empty: topic depth 0, channels untouched, emptied messages never delivered', () =>
  withNsqd({}, async (d, open) => {
    const p = await open();
    for (let i = 0; i < 5; i++) await p.pub('te', `x${i}`);
    assert.is((await mustTopic(d.url, 'te')).depth, 5);
    await post(`${d.url}/topic/empty?topic=te`);
    const t = await mustTopic(d.url, 'te');
    assert.is(t.depth, 0);
    assert.is(t.backend_depth, 0);
    const c = await consumer(open, 'te', 'c', { rdy: 10 });
    await c.expectNothing(300);
    await p.pub('te', 'fresh');
    assert.is((await c.readMessage()).body.toString(), 'fresh');
  }));

test('3.8 channel empty: depth 0, in-flight dropped (FIN then fails with E_FIN_FAILED), client in_flight reset', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'ce', 'c', { rdy: 1 });
    const p = await open();
    for (let i = 0; i < 5; i++) await p.pub('ce', `y${i}`);
    const m = await c.readMessage();
    await waitChannel(d, 'ce', 'c', (x) => x.depth === 4 && x.in_flight_count === 1, 'depth 4 + 1 in flight');
    await post(`${d.url}/channel/empty?topic=ce&channel=c`);
    const ch = await mustChannel(d.url, 'ce', 'c');
    assert.is(ch.depth, 0);
    assert.is(ch.in_flight_count, 0);
    assert.is(ch.deferred_count, 0);
    assert.is(ch.clients![0]!.in_flight_count, 0);
    c.cmd(`FIN ${m.id}`);
    await c.expectError(`E_FIN_FAILED FIN ${m.id} failed ID not in flight`);
    // non-fatal: the connection is alive and, with in_flight reset, RDY 1 admits a new message
    await p.pub('ce', 'after');
    const next = await c.readMessage();
    assert.is(next.body.toString(), 'after');
    assert.is(next.attempts, 1);
  }));

test('3.8 channel empty also drops deferred messages', () =>
  withNsqd({}, async (d, open) => {
    await post(`${d.url}/topic/create?topic=ced`);
    await post(`${d.url}/channel/create?topic=ced&channel=c`);
    const p = await open();
    p.cmd('DPUB ced 60000', 'deferred');
    await p.expectResponse('OK');
    await waitChannel(d, 'ced', 'c', (x) => x.deferred_count === 1, 'deferred');
    await post(`${d.url}/channel/empty?topic=ced&channel=c`);
    const ch = await mustChannel(d.url, 'ced', 'c');
    assert.is(ch.deferred_count, 0);
    assert.is(ch.depth, 0);
  }));

// ---------------------------------------------------------------------------------------------
// 3.8 delete

test('3.8 channel delete: its consumers are disconnected, the channel disappears, other channels stay', () =>
  withNsqd({}, async (d, open) => {
    const gone = await consumer(open, 'cd', 'gone', { rdy: 0 });
    const other = await consumer(open, 'cd', 'other', { rdy: 0 });
    await post(`${d.url}/channel/delete?topic=cd&channel=gone`);
    await gone.expectClosed();
    assert.is(await channelStats(d.url, 'cd', 'gone'), undefined);
    const o = await mustChannel(d.url, 'cd', 'other');
    assert.is(o.client_count, 1);
    other.cmd('NOP');
    const p = await open();
    await p.pub('cd', 'still');
    other.cmd('RDY 1');
    assert.is((await other.readMessage()).body.toString(), 'still');
    const r = await http('POST', `${d.url}/channel/delete?topic=cd&channel=gone`);
    assert.is(r.status, 404);
    assert.is(r.text, '{"message":"CHANNEL_NOT_FOUND"}');
  }));

test('3.8 topic delete: consumers of its channels are disconnected, topic gone; a later PUB re-creates it', () =>
  withNsqd({}, async (d, open) => {
    const a = await consumer(open, 'td', 'a', { rdy: 0 });
    const b = await consumer(open, 'td', 'b', { rdy: 0 });
    const p = await open();
    await p.pub('td', 'x');
    await post(`${d.url}/topic/delete?topic=td`);
    await a.expectClosed();
    await b.expectClosed();
    assert.is(await topicStats(d.url, 'td'), undefined);
    const r = await http('POST', `${d.url}/topic/delete?topic=td`);
    assert.is(r.status, 404);
    assert.is(r.text, '{"message":"TOPIC_NOT_FOUND"}');
    await p.pub('td', 'reborn');
    const t = await mustTopic(d.url, 'td');
    assert.is(t.message_count, 1);
    assert.is(t.depth, 1);
    assert.equal(t.channels, []);
  }));

// ---------------------------------------------------------------------------------------------
// --max-channel-consumers (2.4)

test('2.4 --max-channel-consumers=1: a second SUB fails with E_SUB_FAILED and is closed', () =>
  withNsqd({ maxChannelConsumers: 1 }, async (d, open) => {
    const a = await consumer(open, 'mc', 'c');
    const b = await open();
    b.cmd('SUB mc c');
    await b.expectError('E_SUB_FAILED SUB failed consumers for mc:c exceeds limit of 1');
    await b.expectClosed();
    const other = await consumer(open, 'mc', 'other'); // limit is per channel
    other.cmd('NOP');
    a.close();
    await waitChannel(d, 'mc', 'c', (x) => x.client_count === 0, 'a gone');
    const c = await consumer(open, 'mc', 'c');
    c.cmd('NOP');
    assert.is((await mustChannel(d.url, 'mc', 'c')).client_count, 1);
  }));

// ---------------------------------------------------------------------------------------------
// 1.5 message ids

test('1.5 message ids: 10,000 MPUB\'d ids are 16 lowercase hex chars, unique, increasing, carrying node id and time', () =>
  withNsqd({ nodeId: 5 }, async (d, open) => {
    const c = await consumer(open, 'ids', 'c', { rdy: 2500 });
    const p = await open();
    const n = 10_000;
    const before = BigInt(Date.now()) * 1_000_000n;
    await p.mpub('ids', Array.from({ length: n }, (_, i) => String(i)));
    const after = BigInt(Date.now()) * 1_000_000n;
    const ids: string[] = new Array<string>(n);
    for (let k = 0; k < n; k++) {
      const m = await c.readMessage();
      const i = Number(m.body.toString());
      assert.ok(ids[i] === undefined, `body ${i} delivered twice`);
      ids[i] = m.id;
      c.cmd(`FIN ${m.id}`);
    }
    const re = /^[0-9a-f]{16}$/;
    for (let i = 0; i < n; i++) assert.ok(re.test(ids[i]!), `id ${JSON.stringify(ids[i])} is not 16 lowercase hex chars`);
    assert.is(new Set(ids).size, n, 'ids are unique');
    for (let i = 1; i < n; i++) {
      if (!(ids[i - 1]! < ids[i]!)) assert.unreachable(`id of message ${i} (${ids[i]}) is not greater than the previous one (${ids[i - 1]})`);
    }
    const twepoch = 1288834974288n;
    for (const id of [ids[0]!, ids[n - 1]!]) {
      const v = BigInt(`0x${id}`);
      assert.is(Number((v >> 12n) & 0x3ffn), 5, `node id bits of ${id}`);
      const ns = ((v >> 22n) + twepoch) << 20n;
      assert.ok(ns >= before - 2_000_000_000n && ns <= after + 2_000_000_000n, `time bits of ${id} are not the publish time`);
    }
    await waitChannel(d, 'ids', 'c', (x) => x.in_flight_count === 0 && x.clients![0]!.finish_count === n, 'all finished', 10_000);
  }));

// ---------------------------------------------------------------------------------------------
// more lifecycle edges

test('RDY lowered below the in-flight count: nothing new until in-flight drops below it', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'rdy2', 'c', { rdy: 3 });
    const p = await open();
    await p.mpub('rdy2', ['a', 'b', 'c', 'd', 'e']);
    const got = await readN(c, 3);
    c.cmd('RDY 1');
    c.cmd(`FIN ${got[0]!.id}`);
    await c.expectNothing(300); // 2 in flight >= RDY 1
    c.cmd(`FIN ${got[1]!.id}`);
    await c.expectNothing(300); // 1 in flight >= RDY 1
    c.cmd(`FIN ${got[2]!.id}`);
    const next = await c.readMessage();
    await c.expectNothing(300);
    assert.equal(bodies([...got, next]).sort(), ['a', 'b', 'c', 'd']);
    const ch = await mustChannel(d.url, 'rdy2', 'c');
    assert.is(ch.in_flight_count, 1);
    assert.is(ch.depth, 1);
  }));

test('3.3 after a timeout the message belongs to its new owner: the old owner\'s FIN gets E_FIN_FAILED ... client does not own message', () =>
  withNsqd({}, async (d, open) => {
    const a = await consumer(open, 'own', 'c', { identify: { msg_timeout: 1000 }, rdy: 1 });
    const p = await open();
    await p.pub('own', 'm');
    const m1 = await a.readMessage();
    a.cmd('RDY 0');
    const b = await consumer(open, 'own', 'c', { rdy: 1 });
    const m2 = await b.readMessage(6000);
    assert.is(m2.id, m1.id);
    assert.is(m2.attempts, 2);
    a.cmd(`FIN ${m1.id}`);
    await a.expectError(`E_FIN_FAILED FIN ${m1.id} failed client does not own message`);
    a.cmd(`TOUCH ${m1.id}`);
    await a.expectError(`E_TOUCH_FAILED TOUCH ${m1.id} failed client does not own message`);
    a.cmd(`REQ ${m1.id} 0`);
    await a.expectError(`E_REQ_FAILED REQ ${m1.id} failed client does not own message`);
    b.cmd(`FIN ${m2.id}`);
    const ch = await waitChannel(d, 'own', 'c', (x) => x.in_flight_count === 0, 'b finished');
    assert.is(ch.timeout_count, 1);
    assert.is(ch.requeue_count, 0);
    const a2 = ch.clients!.find((x) => x.remote_address === `127.0.0.1:${a.socket.localPort}`)!;
    assert.is(a2.in_flight_count, 0, 'the timeout released the old owner\'s in-flight slot');
    assert.is(a2.finish_count, 0);
  }));

test('3.3 a message that times out on a paused channel goes back to depth and waits for unpause', () =>
  withNsqd({}, async (d, open) => {
    const c = await consumer(open, 'tpz', 'c', { identify: { msg_timeout: 1000 }, rdy: 1 });
    const p = await open();
    await p.pub('tpz', 'm');
    const m1 = await c.readMessage();
    await post(`${d.url}/channel/pause?topic=tpz&channel=c`);
    const ch = await waitChannel(d, 'tpz', 'c', (x) => x.timeout_count === 1, 'timed out', 6000);
    assert.is(ch.depth, 1);
    assert.is(ch.in_flight_count, 0);
    await c.expectNothing(200);
    await post(`${d.url}/channel/unpause?topic=tpz&channel=c`);
    const m2 = await c.readMessage();
    assert.is(m2.id, m1.id);
    assert.is(m2.attempts, 2);
  }));

test('3.7 an ephemeral channel created over HTTP is deleted once a client has come and gone', () =>
  withNsqd({}, async (d, open) => {
    await post(`${d.url}/topic/create?topic=eh`);
    await post(`${d.url}/channel/create?topic=eh&channel=${enc('h#ephemeral')}`);
    const c = await consumer(open, 'eh', 'h#ephemeral');
    c.close();
    await waitFor(async () => (await channelStats(d.url, 'eh', 'h#ephemeral')) === undefined, 5000, 'ephemeral channel deleted');
    assert.ok(await topicStats(d.url, 'eh'), 'a durable topic stays without channels');
  }));

test('3.1/3.8 a paused topic reads nothing; on unpause its backlog goes to every channel that exists then', () =>
  withNsqd({}, async (d, open) => {
    await post(`${d.url}/topic/create?topic=pz`);
    await post(`${d.url}/topic/pause?topic=pz`);
    const p = await open();
    for (let i = 0; i < 3; i++) await p.pub('pz', `z${i}`);
    const a = await consumer(open, 'pz', 'a', { rdy: 10 });
    const b = await consumer(open, 'pz', 'b', { rdy: 10 });
    await a.expectNothing(300);
    await b.expectNothing(0);
    assert.is((await mustTopic(d.url, 'pz')).depth, 3);
    await post(`${d.url}/topic/unpause?topic=pz`);
    assert.equal(bodies(await readN(a, 3)).sort(), ['z0', 'z1', 'z2']);
    assert.equal(bodies(await readN(b, 3)).sort(), ['z0', 'z1', 'z2']);
  }));

test('3.8 topic empty leaves its channels untouched', () =>
  withNsqd({}, async (d, open) => {
    await consumer(open, 'tk', 'c', { rdy: 0 });
    const p = await open();
    await p.pub('tk', 'in-channel-1');
    await p.pub('tk', 'in-channel-2');
    await waitChannel(d, 'tk', 'c', (x) => x.depth === 2, 'channel depth 2');
    await post(`${d.url}/topic/pause?topic=tk`);
    for (let i = 0; i < 3; i++) await p.pub('tk', `in-topic-${i}`);
    assert.is((await mustTopic(d.url, 'tk')).depth, 3);
    await post(`${d.url}/topic/empty?topic=tk`);
    const t = await mustTopic(d.url, 'tk');
    assert.is(t.depth, 0);
    assert.is(t.paused, true, 'empty does not unpause');
    assert.is(t.channels[0]!.depth, 2);
    await post(`${d.url}/topic/unpause?topic=tk`);
    await sleep(200);
    assert.is((await mustChannel(d.url, 'tk', 'c')).depth, 2, 'emptied messages never reach the channel');
  }));

test('3.8 channel empty resets the in-flight count of every client of the channel', () =>
  withNsqd({}, async (d, open) => {
    const a = await consumer(open, 'ce2', 'c', { rdy: 1 });
    const b = await consumer(open, 'ce2', 'c', { rdy: 1 });
    const p = await open();
    await p.mpub('ce2', ['1', '2', '3', '4']);
    await a.readMessage();
    await b.readMessage();
    await waitChannel(d, 'ce2', 'c', (x) => x.in_flight_count === 2 && x.depth === 2, '2 in flight, 2 queued');
    await post(`${d.url}/channel/empty?topic=ce2&channel=c`);
    const ch = await mustChannel(d.url, 'ce2', 'c');
    assert.is(ch.in_flight_count, 0);
    assert.is(ch.depth, 0);
    assert.equal(ch.clients!.map((x) => x.in_flight_count), [0, 0]);
    await p.mpub('ce2', ['5', '6']);
    const got = [await a.readMessage(), await b.readMessage()];
    assert.equal(bodies(got).sort(), ['5', '6']);
  }));

test('3.1/3.4 DPUB to a topic without channels waits in the topic, then is deferred on the channel created later', () =>
  withNsqd({}, async (d, open) => {
    const p = await open();
    const sent = BigInt(Date.now()) * 1_000_000n;
    p.cmd('DPUB dn 1500', 'x');
    await p.expectResponse('OK');
    const t = await mustTopic(d.url, 'dn');
    assert.is(t.depth, 1);
    assert.is(t.message_count, 1);
    const c = await consumer(open, 'dn', 'c', { rdy: 1 });
    const ch = await waitChannel(d, 'dn', 'c', (x) => x.deferred_count === 1, 'deferred on the new channel', 1200);
    assert.is(ch.depth, 0);
    assert.is(ch.in_flight_count, 0);
    assert.is((await mustTopic(d.url, 'dn')).depth, 0);
    const m = await c.readMessage(6000);
    assert.is(m.attempts, 1);
    assert.ok(m.timestamp >= sent - 2_000_000_000n && m.timestamp <= sent + 1_000_000_000n, 'timestamp is the publish time, not the due time');
  }));

test('3.1 when a topic loses its last channel it keeps new messages for the next first channel', () =>
  withNsqd({}, async (d, open) => {
    await post(`${d.url}/topic/create?topic=lone`);
    await post(`${d.url}/channel/create?topic=lone&channel=c`);
    await post(`${d.url}/channel/delete?topic=lone&channel=c`);
    const p = await open();
    await p.pub('lone', 'a');
    await p.pub('lone', 'b');
    const t = await mustTopic(d.url, 'lone');
    assert.is(t.depth, 2);
    assert.equal(t.channels, []);
    const c = await consumer(open, 'lone', 'c2', { rdy: 5 });
    assert.equal(bodies(await readN(c, 2)).sort(), ['a', 'b']);
  }));

test('3.3 --msg-timeout is the in-flight timeout of a client that did not IDENTIFY one', () =>
  withNsqd({ msgTimeout: 1000 }, async (d, open) => {
    const c = await consumer(open, 'dflt', 'c', { rdy: 1 });
    const p = await open();
    await p.pub('dflt', 'm');
    const m1 = await c.readMessage();
    const m2 = await c.readMessage(6000);
    assert.is(m2.id, m1.id);
    assert.is(m2.attempts, 2);
    assert.is((await mustChannel(d.url, 'dflt', 'c')).timeout_count, 1);
  }));

test('3.7 an ephemeral channel re-created after deletion starts empty', () =>
  withNsqd({}, async (d, open) => {
    const a = await consumer(open, 'er', 'c#ephemeral', { rdy: 0 });
    const p = await open();
    await p.mpub('er', ['1', '2', '3']);
    await waitChannel(d, 'er', 'c#ephemeral', (x) => x.depth === 3, 'depth 3');
    a.close();
    await waitFor(async () => (await channelStats(d.url, 'er', 'c#ephemeral')) === undefined, 5000, 'deleted');
    const b = await consumer(open, 'er', 'c#ephemeral', { rdy: 5 });
    await b.expectNothing(300);
    const ch = await mustChannel(d.url, 'er', 'c#ephemeral');
    assert.is(ch.depth, 0);
    assert.is(ch.message_count, 0);
    await p.pub('er', 'fresh');
    assert.is((await b.readMessage()).body.toString(), 'fresh');
  }));

// ---------------------------------------------------------------------------------------------
// stats sanity used above: /stats lists topics sorted by name

test('/stats lists topics and channels sorted by name', () =>
  withNsqd({}, async (d) => {
    for (const t of ['zeta', 'alpha', 'mid']) await post(`${d.url}/topic/create?topic=${t}`);
    for (const c of ['c9', 'c1', 'c5']) await post(`${d.url}/channel/create?topic=mid&channel=${c}`);
    const doc = await getStats(d.url);
    assert.equal(doc.topics!.map((t) => t.topic_name), ['alpha', 'mid', 'zeta']);
    assert.equal(doc.topics![1]!.channels.map((c) => c.channel_name), ['c1', 'c5', 'c9']);
  }));

test.run();
