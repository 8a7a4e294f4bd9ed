// Shared checks for the V2 protocol integration tests: /stats lookups, "fatal error then close",
// "this daemon still works", and exact frame bytes.
import * as assert from 'uvu/assert';
import type { NsqdInit } from '../../src/nsqd/nsqd.js';
import { http, startNsqd, type TestNsqd } from './daemons.js';
import { WireConn, type Frame, type WireMessage } from './wire.js';

/** A channel entry of GET /stats?format=json. */
export interface ChannelStatsJson {
  channel_name: string;
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  clients: ClientStatsJson[];
  paused: boolean;
}

/** A client entry of GET /stats?format=json. */
export interface ClientStatsJson {
  client_id: string;
  hostname: string;
  user_agent: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
  sample_rate: number;
  [k: string]: unknown;
}

/** A topic entry of GET /stats?format=json. */
export interface TopicStatsJson {
  topic_name: string;
  channels: ChannelStatsJson[];
  depth: number;
  backend_depth: number;
  message_count: number;
  message_bytes: number;
  paused: boolean;
}

/** GET /stats?format=json (all topics). */
export async function statsJson(d: TestNsqd): Promise<{ topics: TopicStatsJson[] | null; producers: ClientStatsJson[] | null }> {
  const r = await http('GET', `${d.url}/stats?format=json`);
  assert.is(r.status, 200, `/stats status ${r.status}: ${r.text}`);
  return JSON.parse(r.text);
}

/** The /stats entry of a topic, or undefined. */
export async function topicStats(d: TestNsqd, topic: string): Promise<TopicStatsJson | undefined> {
  const s = await statsJson(d);
  return (s.topics ?? []).find((t) => t.topic_name === topic);
}

/** The /stats entry of a channel, or undefined. */
export async function channelStats(d: TestNsqd, topic: string, channel: string): Promise<ChannelStatsJson | undefined> {
  const t = await topicStats(d, topic);
  return (t?.channels ?? []).find((c) => c.channel_name === channel);
}

/** Expect exactly this error frame, then the server closing the connection (a fatal error). */
export async function expectFatal(c: WireConn, text: string): Promise<void> {
  await c.expectError(text);
  await c.expectClosed();
}

/** Prove the connection is still open and processing commands: PUB to a scratch topic → OK. */
export async function expectAlive(c: WireConn, topic = 'alive_check'): Promise<void> {
  c.cmd(`PUB ${topic}`, 'alive');
  await c.expectResponse('OK');
}

let healthSeq = 0;

/** A fresh publisher and a fresh consumer still work against this daemon. */
export async function assertHealthy(d: TestNsqd): Promise<void> {
  const topic = `health_${process.pid}_${++healthSeq}`;
  const p = await WireConn.open(d.tcpPort);
  const c = await WireConn.open(d.tcpPort);
  try {
    await p.pub(topic, 'still-works');
    await c.sub(topic, 'ch');
    c.cmd('RDY 1');
    const m = await c.readMessage();
    assert.is(m.body.toString(), 'still-works');
    assert.is(m.attempts, 1);
    c.cmd(`FIN ${m.id}`);
    await expectAlive(c);
  } finally {
    p.close();
    c.close();
  }
}

/** The exact bytes a frame occupied on the wire: [size int32][type int32][data]. */
export function frameBytes(f: Frame): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(4 + f.data.length, 0);
  head.writeInt32BE(f.type, 4);
  return Buffer.concat([head, f.data]);
}

/** Read `n` messages. */
export async function readMessages(c: WireConn, n: number, timeoutMs?: number): Promise<WireMessage[]> {
  const out: WireMessage[] = [];
  for (let i = 0; i < n; i++) out.push(await c.readMessage(timeoutMs));
  return out;
}

/** Promise that resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A command line plus a raw int32 BE size and optional raw bytes (for invalid sizes). */
export function lineWithSize(line: string, size: number, rest: Buffer | string = Buffer.alloc(0)): Buffer {
  const s = Buffer.alloc(4);
  s.writeInt32BE(size, 0);
  return Buffer.concat([Buffer.from(`${line}\n`, 'latin1'), s, typeof rest === 'string' ? Buffer.from(rest, 'latin1') : rest]);
}

/** int32 BE. */
export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

/** Run `fn` against a fresh nsqd; every connection made with `open` and the daemon are closed afterwards. */
export async function withNsqd(
  opts: NsqdInit,
  fn: (d: TestNsqd, open: (o?: { magic?: boolean; timeoutMs?: number }) => Promise<WireConn>) => Promise<void>,
): Promise<void> {
  const d = await startNsqd(opts);
  const conns: WireConn[] = [];
  try {
    await fn(d, async (o) => {
      const c = await WireConn.open(d.tcpPort, o);
      conns.push(c);
      return c;
    });
  } finally {
    for (const c of conns) c.close();
    await d.close();
  }
}
