import { MetricsRegistry } from '../internal/metrics.js';
import type { HttpHost } from './http.js';
import { filterByActive } from './registration-db.js';

/**
 * nsqlookupd's /metrics: what the registration database holds, taken once per scrape. Active
 * means what /lookup and /nodes count: heard from within --inactive-producer-timeout and, for a
 * topic's producers, not tombstoned within --tombstone-lifetime.
 */
export function nsqlookupdMetrics(host: HttpHost): MetricsRegistry {
  const { db, opts } = host;
  const m = new MetricsRegistry(() => {
    info.set({ version: host.version }, 1);
    producers.set({}, filterByActive(db.findProducers('client', '', ''), opts.inactiveProducerTimeout, 0).length);
    let topicCount = 0;
    let channelCount = 0;
    for (const [r, list] of db.entries()) {
      if (r.category === 'topic') {
        topicCount++;
        const active = filterByActive(list, opts.inactiveProducerTimeout, opts.tombstoneLifetime).length;
        topicProducers.set({ topic: r.key }, active);
        topicTombstoned.set({ topic: r.key }, list.filter((p) => p.isTombstoned(opts.tombstoneLifetime)).length);
      } else if (r.category === 'channel') channelCount++;
    }
    topics.set({}, topicCount);
    channels.set({}, channelCount);
  });
  const info = m.gauge('nsqlookupd_info', 'nsqlookupd build: the NSQ version it speaks (always 1)', ['version']);
  const producers = m.gauge('nsqlookupd_producers', 'Active nsqd nodes (as GET /nodes lists them)');
  const topics = m.gauge('nsqlookupd_topics', 'Topics registered');
  const channels = m.gauge('nsqlookupd_channels', 'Channels registered');
  const topicProducers = m.gauge('nsqlookupd_topic_producers', 'Active, untombstoned producers of the topic (as GET /lookup returns them)', ['topic']);
  const topicTombstoned = m.gauge('nsqlookupd_topic_tombstoned_producers', 'Producers of the topic tombstoned within --tombstone-lifetime', ['topic']);
  return m;
}
