import { ioCounters } from '../diskqueue/segment-writer.js';
import { MetricsRegistry, nsToSeconds, type Family } from '../internal/metrics.js';
import type { Nsqd } from './nsqd.js';
import type { ChannelStats, E2eStats, StatsDocument, TopicStats } from './stats.js';

/** One family filled from one field of a stats object: [name, gauge or counter, help, the value]. */
type Field<S> = readonly [name: string, kind: 'gauge' | 'counter', help: string, get: (s: S) => number];

const TOPIC_FIELDS: readonly Field<TopicStats>[] = [
  ['nsqd_topic_depth', 'gauge', 'Messages queued in the topic, memory and disk (as /stats depth)', (t) => t.depth],
  ['nsqd_topic_backend_depth', 'gauge', 'Messages queued in the topic on disk', (t) => t.backend_depth],
  ['nsqd_topic_messages_total', 'counter', 'Messages published to the topic', (t) => t.message_count],
  ['nsqd_topic_message_bytes_total', 'counter', 'Message body bytes published to the topic', (t) => t.message_bytes],
  ['nsqd_topic_paused', 'gauge', '1 while the topic is paused', (t) => (t.paused ? 1 : 0)],
  ['nsqd_topic_channels', 'gauge', 'Channels of the topic', (t) => t.channels.length],
];

const CHANNEL_FIELDS: readonly Field<ChannelStats>[] = [
  ['nsqd_channel_depth', 'gauge', 'Messages queued in the channel, memory and disk (as /stats depth)', (c) => c.depth],
  ['nsqd_channel_backend_depth', 'gauge', 'Messages queued in the channel on disk', (c) => c.backend_depth],
  ['nsqd_channel_in_flight_messages', 'gauge', 'Messages sent to clients and not yet finished, requeued or timed out', (c) => c.in_flight_count],
  ['nsqd_channel_deferred_messages', 'gauge', 'Messages waiting for their defer or requeue delay', (c) => c.deferred_count],
  ['nsqd_channel_messages_total', 'counter', 'Messages the channel has received from its topic', (c) => c.message_count],
  ['nsqd_channel_requeued_total', 'counter', 'Messages requeued by clients (REQ)', (c) => c.requeue_count],
  ['nsqd_channel_timed_out_total', 'counter', 'Messages that timed out in flight', (c) => c.timeout_count],
  ['nsqd_channel_clients', 'gauge', 'Clients subscribed to the channel', (c) => c.client_count],
  ['nsqd_channel_paused', 'gauge', '1 while the channel is paused', (c) => (c.paused ? 1 : 0)],
];

const E2E_HELP = 'Publish-to-FIN latency quantiles (--e2e-processing-latency-percentile)';

function register<S, L extends string>(m: MetricsRegistry, fields: readonly Field<S>[], labels: readonly L[]): (labels: Record<L, string>, s: S) => void {
  const families = fields.map(([name, kind, help, get]) => [kind === 'gauge' ? m.gauge(name, help, labels) : m.counter(name, help, labels), get] as const);
  return (l, s) => {
    for (const [f, get] of families) f.set(l, get(s));
  };
}

function setQuantiles<L extends string>(f: Family<L | 'quantile'>, labels: Record<L, string>, e2e: E2eStats): void {
  for (const p of e2e.percentiles ?? []) f.set({ ...labels, quantile: String(p.quantile) }, nsToSeconds(p.value));
}

/**
 * nsqd's /metrics: the figures of /stats as Prometheus families, taken from one stats snapshot
 * per scrape (`snapshot`: /stats without clients or memory), plus disk I/O totals and the
 * process families.
 */
export function nsqdMetrics(nsqd: Nsqd, snapshot: () => StatsDocument): MetricsRegistry {
  const m = new MetricsRegistry(() => {
    const doc = snapshot();
    info.set({ version: doc.version, native: String(doc.native === true) }, 1);
    healthy.set({}, nsqd.isHealthy() ? 1 : 0);
    startTime.set({}, doc.start_time);
    clients.set({}, nsqd.clients.size);
    batches.set({}, ioCounters.batches);
    syncs.set({}, ioCounters.syncs);
    written.set({}, ioCounters.bytes);
    for (const t of doc.topics ?? []) {
      const tl = { topic: t.topic_name };
      setTopic(tl, t);
      setQuantiles(topicE2e, tl, t.e2e_processing_latency);
      for (const c of t.channels) {
        const cl = { topic: t.topic_name, channel: c.channel_name };
        setChannel(cl, c);
        setQuantiles(channelE2e, cl, c.e2e_processing_latency);
      }
    }
  });
  const info = m.gauge('nsqd_info', 'nsqd build: the NSQ version it speaks and whether the C++ addon runs the hot paths (always 1)', ['version', 'native']);
  const healthy = m.gauge('nsqd_healthy', '1 while nsqd is healthy (GET /ping answers OK), 0 after a disk queue error');
  const startTime = m.gauge('nsqd_start_time_seconds', 'Unix time nsqd started');
  const clients = m.gauge('nsqd_clients', 'TCP clients connected (consumers and producers)');
  const batches = m.counter('nsqd_disk_write_batches_total', 'Segment write batches handed to the I/O thread (whole process)');
  const syncs = m.counter('nsqd_disk_syncs_total', 'fdatasyncs of segment files (whole process); durable publishes share them (group commit)');
  const written = m.counter('nsqd_disk_written_bytes_total', 'Bytes written to segment files (whole process)');
  const setTopic = register(m, TOPIC_FIELDS, ['topic']);
  const topicE2e = m.gauge('nsqd_topic_e2e_processing_latency_seconds', `${E2E_HELP}, over the topic's channels`, ['topic', 'quantile']);
  const setChannel = register(m, CHANNEL_FIELDS, ['topic', 'channel']);
  const channelE2e = m.gauge('nsqd_channel_e2e_processing_latency_seconds', `${E2E_HELP}, in the channel`, ['topic', 'channel', 'quantile']);
  return m;
}
