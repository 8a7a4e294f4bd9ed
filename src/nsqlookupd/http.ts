// nsqlookupd's HTTP API (nsqlookupd/http.go v1.3.0, spec §1.4) on NSQ's V1 response conventions:
// every answer but /ping carries `X-NSQ-Content-Type: nsq; version=1.0` (whatever the request's
// Accept says), data is compact JSON, "no data" is an empty 200, errors are
// `{"message":"<CODE>"}`. Parameters come only from the query string. Like NSQ, the topic
// parameter of /lookup, /channels, /topic/delete and /topic/tombstone is not validated, so `*`
// works there as the registration database's wildcard.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ReqParams } from '../internal/go-url.js';
import { commaSeparated, goJSON, HttpError, logRequests, renderInSlices, RENDER_SLICE_MS, respondText, SlicedText, v1Handler as v1 } from '../internal/http.js';
import { Router } from '../internal/router.js';
import { errorText, type Logger } from '../internal/log.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { nsqlookupdMetrics } from './metrics.js';
import type { NsqlookupdOptions } from './options.js';
import { filterByActive, ZERO_TIME_UNIX_NANOS, type PeerInfo, type Producer, type RegistrationDB } from './registration-db.js';

/** What the HTTP API needs from the daemon. */
export interface HttpHost {
  /** Options in force (timeouts for the active filters). */
  readonly opts: NsqlookupdOptions;
  /** Where requests and failures are logged. */
  readonly logger: Logger;
  /** The registration database. */
  readonly db: RegistrationDB;
  /** The version reported by /info ("1.3.0"). */
  readonly version: string;
}

/** A V1 error outcome: the status and the `message` code. */
/** PeerInfo as /lookup shows it (Go's struct field order). */
function peerJSON(p: PeerInfo): Record<string, unknown> {
  return {
    remote_address: p.remoteAddress,
    hostname: p.hostname,
    broadcast_address: p.broadcastAddress,
    tcp_port: p.tcpPort,
    http_port: p.httpPort,
    version: p.version,
  };
}

/** The query parameters, or 400 INVALID_REQUEST when Go's url.ParseQuery would refuse them. */
function queryOf(req: IncomingMessage): ReqParams | HttpError {
  const p = ReqParams.parse(req);
  return p instanceof Error ? new HttpError(400, 'INVALID_REQUEST') : p;
}

/** `topic`, or the 400 for a bad query or a missing parameter. */
function topicParam(req: IncomingMessage): string | HttpError {
  const q = queryOf(req);
  if (q instanceof HttpError) return q;
  return q.get('topic') ?? new HttpError(400, 'MISSING_ARG_TOPIC');
}

/** Go's http_api.GetTopicChannelArgs: both present and valid, checked in NSQ's order. */
function topicChannelParams(req: IncomingMessage): { topic: string; channel: string } | HttpError {
  const q = queryOf(req);
  if (q instanceof HttpError) return q;
  const topic = q.get('topic');
  if (topic === undefined) return new HttpError(400, 'MISSING_ARG_TOPIC');
  if (!isValidTopicName(topic)) return new HttpError(400, 'INVALID_ARG_TOPIC');
  const channel = q.get('channel');
  if (channel === undefined) return new HttpError(400, 'MISSING_ARG_CHANNEL');
  if (!isValidChannelName(channel)) return new HttpError(400, 'INVALID_ARG_CHANNEL');
  return { topic, channel };
}

/** The producers /nodes lists: every peer heard from within --inactive-producer-timeout (tombstoned ones too). */
function nodeProducers(host: HttpHost): Producer[] {
  return filterByActive(host.db.findProducers('client', '', ''), host.opts.inactiveProducerTimeout, 0);
}

/** One /nodes entry: the peer as /lookup shows it, its topics, and whether its entry under each is tombstoned. */
function nodeJSON(host: HttpHost, p: Producer): Record<string, unknown> {
  const topics: string[] = [];
  // For each topic, whether this peer's entry there (the same peer, as nsqlookupd compares
  // peerInfo pointers) is tombstoned within the lifetime.
  const tombstones: boolean[] = [];
  for (const [r, mine] of host.db.lookupProducers(p.peerInfo.id, 'topic')) {
    topics.push(r.key);
    tombstones.push(mine.peerInfo === p.peerInfo && mine.isTombstoned(host.opts.tombstoneLifetime));
  }
  return { ...peerJSON(p.peerInfo), tombstones, topics };
}

/** The /nodes document, made in one go (what nodesJson's text must read as). */
export function nodesDocument(host: HttpHost): { producers: Record<string, unknown>[] } {
  return { producers: nodeProducers(host).map((p) => nodeJSON(host, p)) };
}

/**
 * /nodes' text in parts (a producer's each; see SlicedText), which read one after another exactly
 * as goJSON(nodesDocument(host)) for the same state, made a producer at a time
 * (renderInSlices): with hundreds of nsqds of thousands of topics the whole answer takes a few
 * hundred milliseconds, which would otherwise hold up every lookup and every nsqd's PING.
 * Registrations may change between slices, as they may between Go's per-producer lookups.
 */
export async function nodesJson(host: HttpHost, sliceMs = RENDER_SLICE_MS): Promise<string[]> {
  const parts = await renderInSlices(nodeProducers(host), (p) => goJSON(nodeJSON(host, p)), sliceMs);
  return ['{"producers":[', ...commaSeparated(parts), ']}'];
}

/** One producer of a /debug entry, with Go's field names (and its zero time for never tombstoned). */
function debugProducerJSON(p: Producer): Record<string, unknown> {
  return {
    broadcast_address: p.peerInfo.broadcastAddress,
    hostname: p.peerInfo.hostname,
    http_port: p.peerInfo.httpPort,
    id: p.peerInfo.id,
    last_update: p.peerInfo.lastUpdate,
    tcp_port: p.peerInfo.tcpPort,
    tombstoned: p.tombstoned,
    tombstoned_at: p.tombstonedAt ?? ZERO_TIME_UNIX_NANOS,
    version: p.peerInfo.version,
  };
}

/**
 * /debug's entries: each registration that has producers (Go only creates a key while appending
 * one), keyed "category:key:subkey", sorted by key as Go marshals a map.
 */
function debugEntries(host: HttpHost): [string, readonly Producer[]][] {
  const out: [string, readonly Producer[]][] = [];
  for (const [r, producers] of host.db.entries()) {
    if (producers.length > 0) out.push([`${r.category}:${r.key}:${r.subKey}`, producers]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The /debug document, made in one go (what debugJson's text must read as). */
export function debugDocument(host: HttpHost): Record<string, Record<string, unknown>[]> {
  return Object.fromEntries(debugEntries(host).map(([key, producers]) => [key, producers.map(debugProducerJSON)]));
}

/**
 * /debug's text in parts (a registration's each), which read one after another exactly as
 * goJSON(debugDocument(host)) for the same state, made a registration at a time
 * (renderInSlices), as /nodes is: it lists every registration of every nsqd.
 */
export async function debugJson(host: HttpHost, sliceMs = RENDER_SLICE_MS): Promise<string[]> {
  const parts = await renderInSlices(debugEntries(host), ([key, producers]) => `${goJSON(key)}:${goJSON(producers.map(debugProducerJSON))}`, sliceMs);
  return ['{', ...commaSeparated(parts), '}'];
}

/** nsqlookupd's HTTP request handler: every v1.3.0 route on NSQ's router semantics. */
export function createHttpHandler(host: HttpHost): (req: IncomingMessage, res: ServerResponse) => void {
  const { db, logger } = host;
  const router = new Router({
    onError: (err) => logger.error(`panic in HTTP handler - ${errorText(err)}`),
  });

  router.add('GET', '/ping', (_req, res) => respondText(res, 200, 'OK'));
  router.add('GET', '/info', v1(() => ({ version: host.version })));
  // nsq-ts: Prometheus exposition (Go nsqlookupd answers 404 here).
  router.add('GET', '/metrics', nsqlookupdMetrics(host).handler);

  router.add('GET', '/debug', v1(async () => new SlicedText(await debugJson(host), true)));

  router.add('GET', '/lookup', v1((req) => {
    const topic = topicParam(req);
    if (topic instanceof HttpError) return topic;
    if (db.findRegistrations('topic', topic, '').length === 0) return new HttpError(404, 'TOPIC_NOT_FOUND');
    const channels = db.findRegistrations('channel', topic, '*').map((r) => r.subKey);
    const producers = filterByActive(db.findProducers('topic', topic, ''), host.opts.inactiveProducerTimeout, host.opts.tombstoneLifetime);
    return { channels, producers: producers.map((p) => peerJSON(p.peerInfo)) };
  }));

  router.add('GET', '/topics', v1(() => ({ topics: db.findRegistrations('topic', '*', '').map((r) => r.key) })));

  router.add('GET', '/channels', v1((req) => {
    const topic = topicParam(req);
    if (topic instanceof HttpError) return topic;
    return { channels: db.findRegistrations('channel', topic, '*').map((r) => r.subKey) };
  }));

  router.add('GET', '/nodes', v1(async () => new SlicedText(await nodesJson(host), true)));

  router.add('POST', '/topic/create', v1((req) => {
    const topic = topicParam(req);
    if (topic instanceof HttpError) return topic;
    if (!isValidTopicName(topic)) return new HttpError(400, 'INVALID_ARG_TOPIC');
    logger.info(`DB: adding topic(${topic})`);
    db.addRegistration({ category: 'topic', key: topic, subKey: '' });
    return null;
  }));

  router.add('POST', '/topic/delete', v1((req) => {
    const topic = topicParam(req);
    if (topic instanceof HttpError) return topic;
    for (const r of db.findRegistrations('channel', topic, '*')) {
      logger.info(`DB: removing channel(${r.subKey}) from topic(${topic})`);
      db.removeRegistration(r);
    }
    for (const r of db.findRegistrations('topic', topic, '')) {
      logger.info(`DB: removing topic(${topic})`);
      db.removeRegistration(r);
    }
    return null;
  }));

  router.add('POST', '/topic/tombstone', v1((req) => {
    const q = queryOf(req);
    if (q instanceof HttpError) return q;
    const topic = q.get('topic');
    if (topic === undefined) return new HttpError(400, 'MISSING_ARG_TOPIC');
    const node = q.get('node');
    if (node === undefined) return new HttpError(400, 'MISSING_ARG_NODE');
    logger.info(`DB: setting tombstone for producer@${node} of topic(${topic})`);
    for (const p of db.findProducers('topic', topic, '')) if (p.node === node) p.tombstone();
    return null;
  }));

  router.add('POST', '/channel/create', v1((req) => {
    const tc = topicChannelParams(req);
    if (tc instanceof HttpError) return tc;
    logger.info(`DB: adding channel(${tc.channel}) in topic(${tc.topic})`);
    db.addRegistration({ category: 'channel', key: tc.topic, subKey: tc.channel });
    logger.info(`DB: adding topic(${tc.topic})`);
    db.addRegistration({ category: 'topic', key: tc.topic, subKey: '' });
    return null;
  }));

  router.add('POST', '/channel/delete', v1((req) => {
    const tc = topicChannelParams(req);
    if (tc instanceof HttpError) return tc;
    const found = db.findRegistrations('channel', tc.topic, tc.channel);
    if (found.length === 0) return new HttpError(404, 'CHANNEL_NOT_FOUND');
    logger.info(`DB: removing channel(${tc.channel}) from topic(${tc.topic})`);
    for (const r of found) db.removeRegistration(r);
    return null;
  }));

  // Go profiles have no Node equivalent; the paths answer 404 like any unknown path.

  return logRequests(logger, (req, res) => router.handle(req, res));
}
