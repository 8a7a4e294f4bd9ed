import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { parseLogLevel } from '../internal/log.js';
import { ReqParams } from '../internal/go-url.js';
import { commaSeparated, goJSON, HttpError, logRequests, readBody, renderInSlices, RENDER_SLICE_MS, respondText, SlicedText, v1Handler as v1, type V1Outcome } from '../internal/http.js';
import { Router } from '../internal/router.js';
import { toNanos } from '../internal/duration.js';
import { ClientError } from '../protocol/errors.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';
import type { ClientStats, ClientV2 } from './client-v2.js';
import type { Nsqd } from './nsqd.js';
import { nsqdFlagSpecs } from './options.js';
import { configOptionValue } from '../internal/config.js';
import { parseMpubBody } from './commands-v2.js';
import { nsqdMetrics } from './metrics.js';
import { memStats, producersText, statsTextHead, statsTextTopics, topicStats, topicText, watchGc, type StatsDocument, type TopicStats } from './stats.js';
import { contiguousBatch, type MessageBatch } from './message-batch.js';
import type { Topic } from './topic.js';

const BOOL_PARAMS: Record<string, boolean> = { true: true, '1': true, false: false, '0': false };

function params(req: IncomingMessage): ReqParams | HttpError {
  const p = ReqParams.parse(req);
  return p instanceof Error ? new HttpError(400, 'INVALID_REQUEST') : p;
}

/** nsqd's HTTP API (spec section 5) on NSQ's V1 response conventions. */
export function createHttpHandler(nsqd: Nsqd): (req: IncomingMessage, res: ServerResponse) => void {
  watchGc();
  const router = new Router();

  router.add('GET', '/ping', (_req, res) => {
    if (nsqd.isHealthy()) respondText(res, 200, 'OK');
    else respondText(res, 500, nsqd.getHealth());
  });

  router.add('GET', '/info', v1(() => ({
    version: '1.3.0',
    broadcast_address: nsqd.opts.broadcastAddress,
    hostname: hostname(),
    http_port: nsqd.httpPort,
    tcp_port: nsqd.tcpPort,
    start_time: nsqd.startTime,
    max_heartbeat_interval: toNanos(nsqd.opts.maxHeartbeatInterval),
    max_output_buffer_size: nsqd.opts.maxOutputBufferSize,
    max_output_buffer_timeout: toNanos(nsqd.opts.maxOutputBufferTimeout),
    max_deflate_level: nsqd.opts.maxDeflateLevel,
    // nsq-ts: whether the C++ addon runs the hot paths (clients ignore unknown fields).
    native: nsqd.backend.native,
  })));

  const topicFromQuery = (req: IncomingMessage): { p: ReqParams; topic: Topic } | HttpError => {
    const p = params(req);
    if (p instanceof HttpError) return p;
    if (!p.has('topic')) return new HttpError(400, 'MISSING_ARG_TOPIC');
    const name = p.get('topic')!;
    if (!isValidTopicName(name)) return new HttpError(400, 'INVALID_TOPIC');
    return { p, topic: nsqd.getTopic(name) };
  };

  router.add('POST', '/pub', v1(async (req) => {
    const max = nsqd.opts.maxMsgSize;
    if (Number(req.headers['content-length'] ?? 0) > max) return new HttpError(413, 'MSG_TOO_BIG');
    let body: Buffer;
    try {
      body = await readBody(req, max + 1);
    } catch {
      return new HttpError(500, 'INTERNAL_ERROR');
    }
    if (body.length === max + 1) return new HttpError(413, 'MSG_TOO_BIG');
    if (body.length === 0) return new HttpError(400, 'MSG_EMPTY');
    const t = topicFromQuery(req);
    if (t instanceof HttpError) return t;
    let deferMs = 0;
    if (t.p.has('defer')) {
      const ds = t.p.get('defer')!;
      if (!/^[+-]?[0-9]+$/.test(ds)) return new HttpError(400, 'INVALID_DEFER');
      deferMs = Number(ds);
      if (deferMs < 0 || deferMs > nsqd.opts.maxReqTimeout) return new HttpError(400, 'INVALID_DEFER');
    }
    const err = await t.topic.putMessage(body, 0, body.length, deferMs);
    if (err !== null) return new HttpError(503, 'EXITING');
    return 'OK';
  }));

  router.add('POST', '/mpub', v1(async (req) => {
    const o = nsqd.opts;
    if (Number(req.headers['content-length'] ?? 0) > o.maxBodySize) return new HttpError(413, 'BODY_TOO_BIG');
    const t = topicFromQuery(req);
    if (t instanceof HttpError) return t;
    let binary = false;
    if (t.p.has('binary')) {
      const v = t.p.get('binary')!;
      binary = BOOL_PARAMS[v] ?? true;
      if (BOOL_PARAMS[v] === undefined) nsqd.logger.warn(`deprecated value '${v}' used for /mpub binary param`);
    }
    let body: Buffer;
    try {
      body = await readBody(req, o.maxBodySize + 1);
    } catch {
      return new HttpError(500, 'INTERNAL_ERROR');
    }
    let msgs: MessageBatch;
    if (binary) {
      if (body.length === o.maxBodySize + 1) return new HttpError(413, 'BODY_TOO_BIG');
      const parsed = parseMpubBody(body, 0, body.length, o.maxMsgSize, o.maxBodySize, nsqd.mpubSplitter, nsqd.publishScratch);
      if (parsed instanceof ClientError) return new HttpError(413, parsed.code.slice(2));
      msgs = parsed;
    } else {
      if (body.length === o.maxBodySize + 1) return new HttpError(413, 'BODY_TOO_BIG');
      const starts: number[] = [];
      const lens: number[] = [];
      let start = 0;
      while (start < body.length) {
        let nl = body.indexOf(0x0a, start);
        if (nl < 0) nl = body.length;
        const len = nl - start;
        if (len > 0) {
          if (len > o.maxMsgSize) return new HttpError(413, 'MSG_TOO_BIG');
          starts.push(start);
          lens.push(len);
        }
        start = nl + 1;
      }
      msgs = contiguousBatch(body, Int32Array.from(starts), Int32Array.from(lens), starts.length);
    }
    const err = await t.topic.putMessages(msgs, 0);
    if (err !== null) return new HttpError(503, 'EXITING');
    return 'OK';
  }));

  router.add('GET', '/stats', v1(async (req) => {
    const p = params(req);
    if (p instanceof HttpError) return p;
    const topicName = p.get('topic') ?? '';
    const channelName = p.get('channel') ?? '';
    const includeClients = BOOL_PARAMS[p.get('include_clients') ?? ''] ?? true;
    const includeMem = BOOL_PARAMS[p.get('include_mem') ?? ''] ?? true;
    if (p.get('format') === 'json') return new SlicedText(await statsJson(nsqd, topicName, channelName, includeClients, includeMem), true);
    return new SlicedText(await statsTextSliced(nsqd, topicName, channelName, includeClients, includeMem), false);
  }));

  // nsq-ts: Prometheus exposition of the same figures (Go nsqd answers 404 here).
  router.add('GET', '/metrics', nsqdMetrics(nsqd, () => statsDocument(nsqd, '', '', false, false)).handler);

  router.add('POST', '/topic/create', v1(async (req) => {
    const t = topicFromQuery(req);
    if (t instanceof HttpError) return t;
    // Answered once nsqd.dat lists it, as /channel/create is (nsqd persists in the background).
    await nsqd.schedulePersist();
    return null;
  }));

  router.add('POST', '/topic/delete', v1(async (req) => {
    const p = params(req);
    if (p instanceof HttpError) return p;
    if (!p.has('topic')) return new HttpError(400, 'MISSING_ARG_TOPIC');
    const err = await nsqd.deleteExistingTopic(p.get('topic')!);
    if (err !== null) return new HttpError(404, 'TOPIC_NOT_FOUND');
    await nsqd.schedulePersist();
    return null;
  }));

  router.add('POST', '/topic/empty', v1(async (req) => {
    const p = params(req);
    if (p instanceof HttpError) return p;
    if (!p.has('topic')) return new HttpError(400, 'MISSING_ARG_TOPIC');
    const name = p.get('topic')!;
    if (!isValidTopicName(name)) return new HttpError(400, 'INVALID_TOPIC');
    const topic = nsqd.getExistingTopic(name);
    if (topic === undefined) return new HttpError(404, 'TOPIC_NOT_FOUND');
    return (await topic.empty()) === null ? null : new HttpError(500, 'INTERNAL_ERROR');
  }));

  for (const action of ['pause', 'unpause'] as const) {
    router.add('POST', `/topic/${action}`, v1(async (req) => {
      const p = params(req);
      if (p instanceof HttpError) return p;
      if (!p.has('topic')) return new HttpError(400, 'MISSING_ARG_TOPIC');
      const topic = nsqd.getExistingTopic(p.get('topic')!);
      if (topic === undefined) return new HttpError(404, 'TOPIC_NOT_FOUND');
      topic.setPaused(action === 'pause');
      await nsqd.schedulePersist();
      return null;
    }));
  }

  const existingTopicChannel = (req: IncomingMessage): { topic: Topic; channel: string } | HttpError => {
    const p = params(req);
    if (p instanceof HttpError) return p;
    if (!p.has('topic')) return new HttpError(400, 'MISSING_ARG_TOPIC');
    const topicName = p.get('topic')!;
    if (!isValidTopicName(topicName)) return new HttpError(400, 'INVALID_ARG_TOPIC');
    if (!p.has('channel')) return new HttpError(400, 'MISSING_ARG_CHANNEL');
    const channel = p.get('channel')!;
    if (!isValidChannelName(channel)) return new HttpError(400, 'INVALID_ARG_CHANNEL');
    const topic = nsqd.getExistingTopic(topicName);
    if (topic === undefined) return new HttpError(404, 'TOPIC_NOT_FOUND');
    return { topic, channel };
  };

  router.add('POST', '/channel/create', v1(async (req) => {
    const tc = existingTopicChannel(req);
    if (tc instanceof HttpError) return tc;
    tc.topic.getChannel(tc.channel);
    await nsqd.schedulePersist();
    return null;
  }));

  router.add('POST', '/channel/delete', v1(async (req) => {
    const tc = existingTopicChannel(req);
    if (tc instanceof HttpError) return tc;
    const err = await tc.topic.deleteExistingChannel(tc.channel);
    if (err !== null) return new HttpError(404, 'CHANNEL_NOT_FOUND');
    await nsqd.schedulePersist();
    return null;
  }));

  router.add('POST', '/channel/empty', v1(async (req) => {
    const tc = existingTopicChannel(req);
    if (tc instanceof HttpError) return tc;
    const ch = tc.topic.getExistingChannel(tc.channel);
    if (ch === undefined) return new HttpError(404, 'CHANNEL_NOT_FOUND');
    return (await ch.empty()) === null ? null : new HttpError(500, 'INTERNAL_ERROR');
  }));

  for (const action of ['pause', 'unpause'] as const) {
    router.add('POST', `/channel/${action}`, v1(async (req) => {
      const tc = existingTopicChannel(req);
      if (tc instanceof HttpError) return tc;
      const ch = tc.topic.getExistingChannel(tc.channel);
      if (ch === undefined) return new HttpError(404, 'CHANNEL_NOT_FOUND');
      ch.setPaused(action === 'pause');
      await nsqd.schedulePersist();
      return null;
    }));
  }

  const config = v1(async (req, p) => {
    const opt = p.opt!;
    if (req.method === 'PUT') {
      const readMax = nsqd.opts.maxMsgSize + 1;
      let body: Buffer;
      try {
        body = await readBody(req, readMax);
      } catch {
        return new HttpError(500, 'INTERNAL_ERROR');
      }
      if (body.length === readMax || body.length === 0) return new HttpError(413, 'INVALID_VALUE');
      switch (opt) {
        case 'nsqlookupd_tcp_addresses': {
          let v: unknown;
          try {
            v = JSON.parse(body.toString('utf8'));
          } catch {
            return new HttpError(400, 'INVALID_VALUE');
          }
          if (v !== null && (!Array.isArray(v) || !v.every((s) => typeof s === 'string' || s === null))) return new HttpError(400, 'INVALID_VALUE');
          // json.Unmarshal leaves a null element of a []string as "".
          nsqd.setLookupdAddresses(v === null ? null : (v as (string | null)[]).map((s) => s ?? ''));
          break;
        }
        case 'log_level': {
          const l = parseLogLevel(body.toString('utf8'));
          if (l === undefined) return new HttpError(400, 'INVALID_VALUE');
          nsqd.opts.logLevel = l;
          nsqd.logger.level = l;
          break;
        }
        default:
          return new HttpError(400, 'INVALID_OPTION');
      }
    }
    // Go's nil slice (after PUT null) marshals as JSON null; an empty list otherwise as [].
    const v = configOptionValue(nsqdFlagSpecs(), nsqd.opts, opt, nsqd.lookupdAddressesNil ? 'nsqlookupdTcpAddresses' : null);
    return v === undefined ? new HttpError(400, 'INVALID_OPTION') : (v as V1Outcome);
  });
  router.add('GET', '/config/:opt', config);
  router.add('PUT', '/config/:opt', config);

  return logRequests(nsqd.logger, (req, res) => router.handle(req, res));
}

/** The topics /stats covers, sorted by name; null when a topic filter names no topic. */
function statsTopics(nsqd: Nsqd, topicName: string): Topic[] | null {
  if (topicName !== '') {
    const t = nsqd.getExistingTopic(topicName);
    return t === undefined ? null : [t];
  }
  return [...nsqd.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The clients that have published, or null; a topic filter naming no topic lists none (nsqd's GetStats). */
function statsProducers(nsqd: Nsqd, filter: string | null, includeClients: boolean, noTopic: boolean): ClientStats[] | null {
  if (!includeClients || noTopic) return null;
  let producers: ClientStats[] | null = null;
  for (const c of nsqd.clients.values()) {
    if (c.pubCounts.size > 0) (producers ??= []).push(c.stats(filter));
  }
  return producers;
}

/** The stats of each topic /stats covers, in order, with a channel filter's topics left out. */
function* eachTopicStats(nsqd: Nsqd, list: Topic[], channelName: string, includeClients: boolean, filter: string | null): Generator<TopicStats> {
  const clientStats = (c: ClientV2): ClientStats => c.stats(filter);
  for (const t of list) {
    if (channelName !== '' && t.getExistingChannel(channelName) === undefined) continue;
    yield topicStats(t, channelName === '' ? null : channelName, includeClients, clientStats, nsqd.opts.e2eProcessingLatencyPercentiles);
  }
}

/** The /stats fields that come before `topics`, in nsqd's order. */
function statsHead(nsqd: Nsqd): Pick<StatsDocument, 'version' | 'health' | 'start_time'> {
  return { version: '1.3.0', health: nsqd.getHealth(), start_time: nsqd.startTime };
}

/** The /stats document with nsqd's filters. */
export function statsDocument(nsqd: Nsqd, topicName: string, channelName: string, includeClients: boolean, includeMem: boolean): StatsDocument {
  const filter = topicName === '' ? null : topicName;
  const list = statsTopics(nsqd, topicName);
  const topics = list === null ? null : [...eachTopicStats(nsqd, list, channelName, includeClients, filter)];
  // Field order is nsqd's; `native` (nsq-ts) comes last.
  const doc: StatsDocument = { ...statsHead(nsqd), topics };
  if (includeMem) doc.memory = memStats();
  doc.producers = statsProducers(nsqd, filter, includeClients, list === null);
  doc.native = nsqd.backend.native;
  return doc;
}

/**
 * Each topic /stats covers turned into text by `render`, a topic at a time (renderInSlices).
 * Topics and clients may change between slices, as they may while Go walks them under per-topic
 * locks. Null when the topic asked for does not exist.
 */
async function renderTopics(nsqd: Nsqd, topicName: string, channelName: string, includeClients: boolean, render: (t: TopicStats) => string, sliceMs: number): Promise<string[] | null> {
  const list = statsTopics(nsqd, topicName);
  if (list === null) return null;
  return renderInSlices(eachTopicStats(nsqd, list, channelName, includeClients, topicName === '' ? null : topicName), render, sliceMs);
}

/**
 * /stats?format=json's text in parts (a topic's each; see SlicedText), which read one after
 * another exactly as goJSON(statsDocument(...)) for the same state, made a topic at a time
 * (renderTopics).
 */
export async function statsJson(nsqd: Nsqd, topicName: string, channelName: string, includeClients: boolean, includeMem: boolean, sliceMs = RENDER_SLICE_MS): Promise<string[]> {
  const topics = await renderTopics(nsqd, topicName, channelName, includeClients, goJSON, sliceMs);
  const head = `${goJSON(statsHead(nsqd)).slice(0, -1)},"topics":`;
  // (An array literal, not push(...topics): a call's arguments are limited, topics are not.)
  const out = topics === null ? [`${head}null`] : [`${head}[`, ...commaSeparated(topics), ']'];
  if (includeMem) out.push(`,"memory":${goJSON(memStats())}`);
  const producers = statsProducers(nsqd, topicName === '' ? null : topicName, includeClients, topics === null);
  out.push(`,"producers":${goJSON(producers)},"native":${nsqd.backend.native}}`);
  return out;
}

/**
 * The text /stats, exactly statsText(statsDocument(...)) for the same state and clock, made a
 * topic at a time (renderTopics). `nowSec` (for clients' connected times) and the uptime are
 * read once, at the start.
 */
export async function statsTextSliced(nsqd: Nsqd, topicName: string, channelName: string, includeClients: boolean, includeMem: boolean, sliceMs = RENDER_SLICE_MS, nowSec = Math.floor(Date.now() / 1000), uptimeNs = process.hrtime.bigint() - nsqd.startHrtime): Promise<string[]> {
  const topics = await renderTopics(nsqd, topicName, channelName, includeClients, (t) => topicText(t, nowSec), sliceMs);
  const head = statsTextHead({ ...statsHead(nsqd), ...(includeMem ? { memory: memStats() } : {}) }, uptimeNs);
  const producers = statsProducers(nsqd, topicName === '' ? null : topicName, includeClients, topics === null) ?? [];
  return [head, ...statsTextTopics(topics ?? []), producersText(producers, nowSec)];
}
