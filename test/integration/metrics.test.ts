// GET /metrics (nsq-ts, beyond NSQ) on the real nsqd and nsqlookupd binaries: Prometheus text
// whose figures are those of /stats and /lookup at the same moment, series that disappear with
// their topic or channel, and the process families.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { http } from '../helpers/daemons.js';
import { BinSession, type Bin } from '../helpers/nsqadmin-cluster.js';
import { getStats, waitChannel, type StatsJson } from '../helpers/stats.js';
import { WireConn } from '../helpers/wire.js';

const bins = new BinSession();
let lookupd: Bin;
let nsqd: Bin;

test.before(async () => {
  lookupd = await bins.nsqlookupd();
  nsqd = await bins.nsqd(lookupd.tcpPort, ['--e2e-processing-latency-percentile=1.0,0.5']);
});
test.after(() => bins.cleanup());

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parse the Prometheus text format (0.0.4), failing on any line it does not recognise. */
function parse(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      (meta[1] === 'TYPE' ? out.types : out.help).set(meta[2]!, meta[3]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    out.samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(url: string): Promise<Exposition> {
  const r = await http('GET', `${url}/metrics`);
  assert.is(r.status, 200, r.text);
  assert.is(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parse(r.text);
}

/** The one sample of `name` whose labels are exactly `labels`; undefined when there is none. */
function value(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  const hits = e.samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want);
  assert.ok(hits.length <= 1, `${name}${want} appears ${hits.length} times`);
  return hits[0]?.value;
}

function series(e: Exposition, name: string): Sample[] {
  return e.samples.filter((s) => s.name === name);
}

/** Every topic and channel figure of /stats equals its /metrics sample. */
function assertMatchesStats(e: Exposition, stats: StatsJson): void {
  const topics = stats.topics ?? [];
  assert.is(series(e, 'nsqd_topic_depth').length, topics.length, 'one depth series per topic');
  for (const t of topics) {
    const tl = { topic: t.topic_name };
    assert.is(value(e, 'nsqd_topic_depth', tl), t.depth, `${t.topic_name} depth`);
    assert.is(value(e, 'nsqd_topic_backend_depth', tl), t.backend_depth);
    assert.is(value(e, 'nsqd_topic_messages_total', tl), t.message_count);
    assert.is(value(e, 'nsqd_topic_message_bytes_total', tl), t.message_bytes);
    assert.is(value(e, 'nsqd_topic_paused', tl), t.paused ? 1 : 0);
    assert.is(value(e, 'nsqd_topic_channels', tl), t.channels.length);
    for (const p of t.e2e_processing_latency.percentiles ?? []) {
      assert.is(value(e, 'nsqd_topic_e2e_processing_latency_seconds', { ...tl, quantile: String(p.quantile) }), p.value / 1e9);
    }
    for (const c of t.channels) {
      const cl = { topic: t.topic_name, channel: c.channel_name };
      const what = `${t.topic_name}/${c.channel_name}`;
      assert.is(value(e, 'nsqd_channel_depth', cl), c.depth, `${what} depth`);
      assert.is(value(e, 'nsqd_channel_backend_depth', cl), c.backend_depth);
      assert.is(value(e, 'nsqd_channel_in_flight_messages', cl), c.in_flight_count, `${what} in flight`);
      assert.is(value(e, 'nsqd_channel_deferred_messages', cl), c.deferred_count, `${what} deferred`);
      assert.is(value(e, 'nsqd_channel_messages_total', cl), c.message_count);
      assert.is(value(e, 'nsqd_channel_requeued_total', cl), c.requeue_count, `${what} requeued`);
      assert.is(value(e, 'nsqd_channel_timed_out_total', cl), c.timeout_count);
      assert.is(value(e, 'nsqd_channel_clients', cl), c.client_count, `${what} clients`);
      assert.is(value(e, 'nsqd_channel_paused', cl), c.paused ? 1 : 0, `${what} paused`);
      const quantiles = c.e2e_processing_latency.percentiles ?? [];
      assert.is(series(e, 'nsqd_channel_e2e_processing_latency_seconds').filter((s) => s.labels.channel === c.channel_name && s.labels.topic === t.topic_name).length, quantiles.length);
      for (const p of quantiles) {
        assert.is(value(e, 'nsqd_channel_e2e_processing_latency_seconds', { ...cl, quantile: String(p.quantile) }), p.value / 1e9);
      }
    }
  }
}

test('nsqd /metrics carries /stats: depths, counters, in flight, deferred, requeues, clients, e2e quantiles', async () => {
  const pub = await WireConn.open(nsqd.tcpPort);
  await pub.mpub('metrics_t', ['a', 'bb', 'ccc', 'dddd', 'eeeee']);
  await pub.pub('metrics_other', 'x');
  assert.is((await http('POST', `${nsqd.url}/channel/create?topic=metrics_t&channel=idle`)).status, 200);
  const sub = await WireConn.open(nsqd.tcpPort);
  await sub.sub('metrics_t', 'work');
  // The channel was created by SUB after the MPUB: publish again so it gets messages.
  await pub.mpub('metrics_t', ['1', '2', '3', '4']);
  sub.cmd('RDY 3');
  const got = [await sub.readMessage(), await sub.readMessage(), await sub.readMessage()];
  sub.cmd(`FIN ${got[0]!.id}`);
  sub.cmd(`REQ ${got[1]!.id} 60000`); // deferred for a minute: requeued, then deferred
  // got[2] stays in flight.
  const settled = await waitChannel(nsqd.url, 'metrics_t', 'work', (c) => c.requeue_count === 1 && c.deferred_count === 1 && c.in_flight_count === 2, 'FIN and REQ processed');
  assert.is(settled.client_count, 1);

  const before = await getStats(nsqd.url, 'format=json&include_clients=false');
  const e = await scrape(nsqd.url);
  const after = await getStats(nsqd.url, 'format=json&include_clients=false');
  assert.equal(after.topics, before.topics, 'nothing moved while scraping');
  assertMatchesStats(e, after);

  // The figures themselves, not only their agreement with /stats.
  assert.is(value(e, 'nsqd_topic_messages_total', { topic: 'metrics_t' }), 9);
  assert.is(value(e, 'nsqd_topic_message_bytes_total', { topic: 'metrics_t' }), 15 + 4);
  assert.is(value(e, 'nsqd_channel_depth', { topic: 'metrics_t', channel: 'idle' }), 9);
  assert.is(value(e, 'nsqd_channel_in_flight_messages', { topic: 'metrics_t', channel: 'work' }), 2);
  assert.is(value(e, 'nsqd_channel_requeued_total', { topic: 'metrics_t', channel: 'work' }), 1);
  assert.is(value(e, 'nsqd_channel_clients', { topic: 'metrics_t', channel: 'work' }), 1);
  assert.is(value(e, 'nsqd_clients'), 2);
  assert.is(value(e, 'nsqd_topic_channels', { topic: 'metrics_t' }), 2);
  assert.is(value(e, 'nsqd_healthy'), 1);
  const info = series(e, 'nsqd_info');
  assert.is(info.length, 1);
  const nodeInfo = JSON.parse((await http('GET', `${nsqd.url}/info`)).text) as { native: boolean; start_time: number };
  assert.equal(info[0]!.labels, { version: '1.3.0', native: String(nodeInfo.native) });
  assert.is(value(e, 'nsqd_start_time_seconds'), nodeInfo.start_time);
  // One FIN: the channel's e2e quantiles exist (both configured ones), and so do the topic's.
  const e2e = series(e, 'nsqd_channel_e2e_processing_latency_seconds').filter((s) => s.labels.channel === 'work');
  assert.equal(e2e.map((s) => s.labels.quantile).sort(), ['0.5', '1']);
  for (const s of e2e) assert.ok(s.value >= 0 && s.value < 60, `latency ${s.value} s`);
  assert.is(series(e, 'nsqd_topic_e2e_processing_latency_seconds').filter((s) => s.labels.topic === 'metrics_t').length, 2);

  // Types: running totals are counters, levels are gauges; every family has its help.
  for (const name of ['nsqd_topic_messages_total', 'nsqd_topic_message_bytes_total', 'nsqd_channel_messages_total', 'nsqd_channel_requeued_total', 'nsqd_channel_timed_out_total', 'nsqd_disk_syncs_total', 'nsqd_disk_write_batches_total', 'nsqd_disk_written_bytes_total']) {
    assert.is(e.types.get(name), 'counter', name);
  }
  for (const name of ['nsqd_topic_depth', 'nsqd_channel_depth', 'nsqd_channel_in_flight_messages', 'nsqd_clients', 'nsqd_info']) assert.is(e.types.get(name), 'gauge', name);
  for (const [name] of e.types) assert.ok((e.help.get(name) ?? '') !== '', `help for ${name}`);
  // The Node process families come along.
  assert.ok((value(e, 'process_cpu_seconds_total') ?? -1) > 0);
  assert.ok((value(e, 'process_resident_memory_bytes') ?? -1) > 0);
  assert.ok(e.types.has('nodejs_eventloop_lag_seconds'));
  pub.close();
  sub.close();
});

test('nsqd /metrics: paused shows 1, deleted channels and topics leave no series, disk totals move with a disk-backed topic', async () => {
  assert.is((await http('POST', `${nsqd.url}/channel/pause?topic=metrics_t&channel=idle`)).status, 200);
  assert.is((await http('POST', `${nsqd.url}/topic/pause?topic=metrics_other`)).status, 200);
  let e = await scrape(nsqd.url);
  assert.is(value(e, 'nsqd_channel_paused', { topic: 'metrics_t', channel: 'idle' }), 1);
  assert.is(value(e, 'nsqd_channel_paused', { topic: 'metrics_t', channel: 'work' }), 0);
  assert.is(value(e, 'nsqd_topic_paused', { topic: 'metrics_other' }), 1);

  assert.is((await http('POST', `${nsqd.url}/channel/delete?topic=metrics_t&channel=idle`)).status, 200);
  assert.is((await http('POST', `${nsqd.url}/topic/delete?topic=metrics_other`)).status, 200);
  e = await scrape(nsqd.url);
  assert.is(e.samples.filter((s) => s.labels.channel === 'idle').length, 0, 'no series of the deleted channel');
  assert.is(e.samples.filter((s) => s.labels.topic === 'metrics_other').length, 0, 'no series of the deleted topic');
  assert.is(value(e, 'nsqd_topic_channels', { topic: 'metrics_t' }), 1);
  assertMatchesStats(e, await getStats(nsqd.url, 'format=json&include_clients=false'));

  // A topic with no channel keeps its messages in memory up to --mem-queue-size (10000); more go to disk.
  const bytesBefore = value(e, 'nsqd_disk_written_bytes_total')!;
  const bodies = Array.from({ length: 10_050 }, (_, i) => `m${i}`);
  const pub = await WireConn.open(nsqd.tcpPort);
  await pub.mpub('metrics_disk', bodies);
  pub.close();
  e = await scrape(nsqd.url);
  assert.is(value(e, 'nsqd_topic_depth', { topic: 'metrics_disk' }), 10_050);
  const onDisk = value(e, 'nsqd_topic_backend_depth', { topic: 'metrics_disk' })!;
  assert.ok(onDisk >= 50, `backend depth ${onDisk}`);
  // Disk totals are whole-process and run on the I/O thread: wait for the bytes to land.
  for (let i = 0; i < 200 && value(e, 'nsqd_disk_written_bytes_total')! <= bytesBefore; i++) {
    await new Promise((r) => setTimeout(r, 25));
    e = await scrape(nsqd.url);
  }
  assert.ok(value(e, 'nsqd_disk_written_bytes_total')! > bytesBefore, 'segment bytes counted');
  assert.ok(value(e, 'nsqd_disk_write_batches_total')! > 0);
});

test('nsqd and nsqlookupd keep NSQ answers around /metrics: 404 elsewhere, 405 for POST', async () => {
  for (const url of [nsqd.url, lookupd.url]) {
    const post = await http('POST', `${url}/metrics`);
    assert.is(post.status, 405, `${url} POST /metrics`);
    assert.is(post.text, '{"message":"METHOD_NOT_ALLOWED"}');
    const other = await http('GET', `${url}/metricz`);
    assert.is(other.status, 404);
    assert.is(other.text, '{"message":"NOT_FOUND"}');
  }
});

test('nsqlookupd /metrics: nodes, topics, channels and producers as /nodes and /lookup see them, tombstones', async () => {
  const lookupTopic = async (topic: string): Promise<number> => (JSON.parse((await http('GET', `${lookupd.url}/lookup?topic=${topic}`)).text) as { producers: unknown[] }).producers.length;
  // nsqd registers metrics_t and its channel "work" with nsqlookupd.
  for (let i = 0; i < 200 && (await lookupTopic('metrics_t').catch(() => 0)) !== 1; i++) await new Promise((r) => setTimeout(r, 25));
  let e = await scrape(lookupd.url);
  const reg = JSON.parse((await http('GET', `${lookupd.url}/topics`)).text) as { topics: string[] };
  const chans = JSON.parse((await http('GET', `${lookupd.url}/channels?topic=metrics_t`)).text) as { channels: string[] };
  assert.is(value(e, 'nsqlookupd_producers'), 1);
  assert.is(value(e, 'nsqlookupd_topics'), reg.topics.length);
  assert.ok(chans.channels.includes('work'));
  assert.ok(value(e, 'nsqlookupd_channels')! >= chans.channels.length);
  assert.is(value(e, 'nsqlookupd_topic_producers', { topic: 'metrics_t' }), 1);
  assert.is(value(e, 'nsqlookupd_topic_tombstoned_producers', { topic: 'metrics_t' }), 0);
  assert.equal(series(e, 'nsqlookupd_info')[0]?.labels, { version: '1.3.0' });
  assert.ok((value(e, 'process_cpu_seconds_total') ?? -1) > 0);

  const tomb = await http('POST', `${lookupd.url}/topic/tombstone?topic=metrics_t&node=${nsqd.httpAddr}`);
  assert.is(tomb.status, 200, tomb.text);
  e = await scrape(lookupd.url);
  assert.is(await lookupTopic('metrics_t'), 0);
  assert.is(value(e, 'nsqlookupd_topic_producers', { topic: 'metrics_t' }), 0, 'as /lookup: tombstoned producers are not listed');
  assert.is(value(e, 'nsqlookupd_topic_tombstoned_producers', { topic: 'metrics_t' }), 1);
});

test.run();
