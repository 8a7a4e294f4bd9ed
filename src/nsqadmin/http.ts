// nsqadmin's HTTP server (nsqadmin/http.go v1.3.0, spec §2.3-§2.7): the UI page routes, static
// assets, the JSON API on NSQ's V1 conventions (every object answer carries "message": "" or
// "WARNING: ..."; 502 UPSTREAM_ERROR when no upstream answered), the admin actions behind the
// --admin-user ACL with notifications, /config, and the optional graphite proxy. Every route is
// registered under --base-path.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { BlockList } from 'node:net';
import { configOptionValue } from '../internal/config.js';
import { goFormatFixed } from '../internal/flags.js';
import { ReqParams } from '../internal/go-url.js';
import { HttpError, logRequests, readBody, respondText, v1Handler as v1, type V1Outcome } from '../internal/http.js';
import { requestTarget, requestURI, Router, type Params } from '../internal/router.js';
import { goBytesString } from '../internal/go-json.js';
import { goEncodeQuery } from '../internal/http-client.js';
import { goAddr } from '../internal/listen.js';
import { errorStack, errorText, parseLogLevel, type Logger } from '../internal/log.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { assetContentType, renderIndex, type AssetStore } from './assets.js';
import { cidrContains } from './cidr.js';
import { httpAddress, type ClusterConfig, type ClusterInfo, type WithWarning } from '../internal/clusterinfo/cluster-info.js';
import { compressResponse } from './compress.js';
import { decodeStringFields } from './json-body.js';
import { nsqadminFlagSpecs, joinBasePath, type NsqadminOptions } from './options.js';
import { newTopicAggregate, addTopic } from '../internal/clusterinfo/stats.js';
import type { UpstreamClient } from '../internal/clusterinfo/upstream.js';

/** The JSON event POSTed to --notification-http-endpoint after an admin action (Go's AdminAction field order). */
export interface AdminAction {
  action: string;
  topic: string;
  channel?: string;
  node?: string;
  timestamp: number;
  user?: string;
  remote_ip: string;
  user_agent: string;
  url: string;
  via: string;
}

/** What the HTTP server needs from the daemon. */
export interface AdminHost {
  /** Options in force (may be replaced by PUT /config). */
  readonly opts: NsqadminOptions;
  /** Replace the options (PUT /config). */
  setOpts(opts: NsqadminOptions): void;
  readonly logger: Logger;
  readonly ci: ClusterInfo;
  readonly client: UpstreamClient;
  /** --allow-config-from-cidr, parsed at start (it cannot change through /config); null when unset. */
  readonly configNet: BlockList | null;
  readonly assets: AssetStore;
  /** The version reported to the UI ("1.3.0"). */
  readonly version: string;
  /** Queue an admin-action notification (sent asynchronously). */
  notify(action: AdminAction): void;
}

/** Largest PUT /config body (1 MiB; one more byte means "too large"). */
const CONFIG_BODY_MAX = 1024 * 1024;
/** Largest admin-action request body read (Go reads one JSON value; we bound what we buffer). */
const ACTION_BODY_MAX = 1024 * 1024;

function maybeWarnMsg(messages: readonly string[]): string {
  return messages.length > 0 ? 'WARNING: ' + messages.join('; ') : '';
}

function upstreamError(err: unknown): HttpError {
  return new HttpError(502, `UPSTREAM_ERROR: ${errorText(err)}`);
}

/** Await a clusterinfo call (a query or an action): its value, with a partial failure appended to `messages`; a total failure becomes the 502. */
async function collect<T>(p: Promise<WithWarning<T>>, messages: string[]): Promise<T | HttpError> {
  try {
    const r = await p;
    if (r.warning) messages.push(r.warning.message);
    return r.value;
  } catch (err) {
    return upstreamError(err);
  }
}

/**
 * The user name of an HTTP Basic Authorization header, or '' (nsqadmin's basicAuthUser: the
 * scheme is `Basic`, case and all; the name is the decoded bytes before the first colon, a Go
 * string: see goBytesString).
 */
export function basicAuthUser(header: string | undefined): string {
  if (header === undefined || !header.startsWith('Basic ')) return '';
  const b64 = header.slice(6);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return '';
  const bytes = Buffer.from(b64, 'base64');
  const colon = bytes.indexOf(0x3a);
  return colon === -1 ? '' : goBytesString(bytes.subarray(0, colon));
}

/** A header's value as the bytes that came (Node reads them as latin1), as a Go string. */
const headerBytes = (value: string): string => goBytesString(Buffer.from(value, 'latin1'));

/** nsqadmin's request handler. */
export function createHttpHandler(host: AdminHost): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, ci } = host;
  const base = host.opts.basePath;
  const at = (p: string): string => joinBasePath(base, p);
  const cluster = (): ClusterConfig => ({ lookupdHttpAddresses: host.opts.nsqlookupdHttpAddresses, nsqdHttpAddresses: host.opts.nsqdHttpAddresses });
  const router = new Router({
    onError: (err) => logger.error(`panic in HTTP handler - ${errorStack(err)}`),
  });

  const isAdmin = (req: IncomingMessage): boolean => {
    const users = host.opts.adminUsers;
    if (users.length === 0) return true;
    // Go's Header.Get: the first of repeated headers (Node's req.headers joins them with ", ").
    const user = req.headersDistinct[host.opts.aclHttpHeader.toLowerCase()]?.[0] ?? '';
    return users.includes(user);
  };

  const notify = (action: string, topic: string, channel: string, node: string, req: IncomingMessage): void => {
    if (host.opts.notificationHttpEndpoint === '') return;
    const https = (req.socket as { encrypted?: boolean }).encrypted === true || req.headers['x-scheme'] === 'https';
    const user = basicAuthUser(req.headers.authorization);
    const target = requestTarget(req.url ?? '/');
    const a: AdminAction = {
      action,
      topic,
      ...(channel !== '' ? { channel } : {}),
      ...(node !== '' ? { node } : {}),
      timestamp: Math.floor(Date.now() / 1000),
      ...(user !== '' ? { user } : {}),
      remote_ip: goAddr(req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0),
      user_agent: headerBytes(req.headers['user-agent'] ?? ''),
      // Go rebuilds it from the decoded path, escaped again, and the query as sent.
      url: `${https ? 'https' : 'http'}://${req.headers.host ?? ''}${target === null ? '' : requestURI(target.path, target.rawQuery)}`,
      via: hostname(),
    };
    host.notify(a);
  };

  // --- UI pages, assets, ping -----------------------------------------------------------------
  const index = (req: IncomingMessage, res: ServerResponse): void => {
    const template = host.assets.get('index.html');
    if (template === undefined) {
      respondText(res, 500, 'INTERNAL_ERROR');
      return;
    }
    const o = host.opts;
    const body = Buffer.from(renderIndex(template.toString('utf8'), {
      version: host.version,
      graphiteUrl: o.graphiteUrl,
      proxyGraphite: o.proxyGraphite,
      statsdCounterFormat: o.statsdCounterFormat,
      statsdGaugeFormat: o.statsdGaugeFormat,
      statsdIntervalSeconds: Math.trunc(o.statsdInterval / 1000),
      statsdPrefix: o.statsdPrefix,
      nsqlookupd: o.nsqlookupdHttpAddresses,
      isAdmin: isAdmin(req),
      basePath: o.basePath,
    }));
    res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': String(body.length) });
    res.end(body);
  };
  for (const p of ['/', '/topics', '/topics/:topic', '/topics/:topic/:channel', '/nodes', '/nodes/:node', '/counter', '/lookup']) router.add('GET', at(p), index);

  router.add('GET', at('/ping'), (_req, res) => respondText(res, 200, 'OK'));

  const asset = (_req: IncomingMessage, res: ServerResponse, params: Params): void => {
    const name = params.asset ?? '';
    const data = host.assets.get(name);
    if (data === undefined) {
      respondText(res, 404, 'NOT_FOUND');
      return;
    }
    const ct = assetContentType(name);
    res.writeHead(200, { ...(ct !== undefined ? { 'Content-Type': ct } : {}), 'Content-Length': String(data.length) });
    res.end(data);
  };
  router.add('GET', at('/static/:asset'), asset);
  router.add('GET', at('/fonts/:asset'), asset);

  if (host.opts.proxyGraphite) {
    // --graphite-url cannot change through /config: its origin and credentials are read once.
    let target: URL | null = null;
    try {
      target = new URL(host.opts.graphiteUrl);
    } catch {
      // Answered 502 below.
    }
    const headers: Record<string, string> = {};
    if (target !== null && target.username !== '') headers.Authorization = 'Basic ' + Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64');
    router.add('GET', at('/render'), async (req, res) => {
      if (target === null) {
        respondText(res, 502, '');
        return;
      }
      try {
        const r = await host.client.getRaw(`${target.protocol}//${target.host}${req.url ?? '/'}`, headers);
        const ct = r.headers['content-type'];
        res.writeHead(r.status, { ...(ct !== undefined ? { 'Content-Type': ct } : {}), 'Content-Length': String(r.body.length) });
        res.end(r.body);
      } catch (err) {
        logger.error(`http: proxy error: ${errorText(err)}`);
        res.writeHead(502, { 'Content-Length': '0' });
        res.end();
      }
    });
  }

  // --- read-only API ------------------------------------------------------------------------------
  router.add('GET', at('/api/topics'), v1(async (req) => {
    const q = ReqParams.parse(req);
    if (q instanceof Error) return new HttpError(400, q.message);
    const messages: string[] = [];
    const c = cluster();
    const topics = await collect(c.lookupdHttpAddresses.length > 0 ? ci.getLookupdTopics(c.lookupdHttpAddresses) : ci.getNsqdTopics(c.nsqdHttpAddresses), messages);
    if (topics instanceof HttpError) return topics;
    if (q.get('inactive') === 'true') {
      const map: Record<string, string[] | null> = {};
      if (c.lookupdHttpAddresses.length > 0) {
        await Promise.all(topics.map(async (t) => {
          const producers = await ci.getLookupdTopicProducers(t, c.lookupdHttpAddresses).catch(() => ({ value: [] }));
          if (producers.value.length > 0) return;
          const channels = await ci.getLookupdTopicChannels(t, c.lookupdHttpAddresses).catch(() => ({ value: [] as string[] }));
          map[t] = channels.value.length === 0 ? null : channels.value;
        }));
      }
      const sorted: Record<string, string[] | null> = {};
      for (const k of Object.keys(map).sort()) sorted[k] = map[k]!;
      return { topics: sorted, message: maybeWarnMsg(messages) };
    }
    return { topics: topics.length === 0 ? null : topics, message: maybeWarnMsg(messages) };
  }));

  router.add('GET', at('/api/topics/:topic'), v1(async (_req, params) => {
    const topic = params.topic ?? '';
    const messages: string[] = [];
    const producers = await collect(ci.getTopicProducers(topic, cluster()), messages);
    if (producers instanceof HttpError) return producers;
    const stats = await collect(ci.getNsqdStats(producers, topic, '', false), messages);
    if (stats instanceof HttpError) return stats;
    const agg = newTopicAggregate(topic);
    for (const t of stats.topics) addTopic(agg, t);
    return { ...agg, message: maybeWarnMsg(messages) };
  }));

  router.add('GET', at('/api/topics/:topic/:channel'), v1(async (_req, params) => {
    const topic = params.topic ?? '';
    const channel = params.channel ?? '';
    const messages: string[] = [];
    const producers = await collect(ci.getTopicProducers(topic, cluster()), messages);
    if (producers instanceof HttpError) return producers;
    const stats = await collect(ci.getNsqdStats(producers, topic, channel, true), messages);
    if (stats instanceof HttpError) return stats;
    const ch = stats.channels.get(channel);
    return ch === undefined ? { message: maybeWarnMsg(messages) } : { ...ch, message: maybeWarnMsg(messages) };
  }));

  router.add('GET', at('/api/nodes'), v1(async () => {
    const messages: string[] = [];
    const producers = await collect(ci.getProducers(cluster()), messages);
    if (producers instanceof HttpError) return producers;
    return { nodes: producers.length === 0 ? null : producers, message: maybeWarnMsg(messages) };
  }));

  router.add('GET', at('/api/nodes/:node'), v1(async (_req, params) => {
    const node = params.node ?? '';
    const messages: string[] = [];
    const producers = await collect(ci.getProducers(cluster()), messages);
    if (producers instanceof HttpError) return producers;
    const producer = producers.find((p) => httpAddress(p) === node);
    if (producer === undefined) return new HttpError(404, 'NODE_NOT_FOUND');
    let stats;
    try {
      stats = (await ci.getNsqdStats([producer], '', '', true)).value;
    } catch (err) {
      return upstreamError(err);
    }
    let totalClients = 0;
    let totalMessages = 0;
    for (const t of stats.topics) {
      for (const c of t.channels ?? []) totalClients += c.clients?.length ?? 0;
      totalMessages += t.message_count;
    }
    return { node, topics: stats.topics.length === 0 ? null : stats.topics, total_messages: totalMessages, total_clients: totalClients, message: maybeWarnMsg(messages) };
  }));

  router.add('GET', at('/api/counter'), v1(async () => {
    const messages: string[] = [];
    const producers = await collect(ci.getProducers(cluster()), messages);
    if (producers instanceof HttpError) return producers;
    const stats = await collect(ci.getNsqdStats(producers, '', '', false), messages);
    if (stats instanceof HttpError) return stats;
    const entries = new Map<string, { node: string; topic_name: string; channel_name: string; message_count: number }>();
    for (const ch of stats.channels.values()) {
      for (const n of ch.nodes ?? []) {
        const key = `${ch.topic_name}:${ch.channel_name}:${n.node}`;
        let e = entries.get(key);
        if (e === undefined) {
          e = { node: n.node, topic_name: ch.topic_name, channel_name: ch.channel_name, message_count: 0 };
          entries.set(key, e);
        }
        e.message_count += n.message_count;
      }
    }
    const out: Record<string, unknown> = {};
    for (const k of [...entries.keys()].sort()) out[k] = entries.get(k);
    return { stats: out, message: maybeWarnMsg(messages) };
  }));

  router.add('GET', at('/api/graphite'), v1(async (req) => {
    const q = ReqParams.parse(req);
    if (q instanceof Error) return new HttpError(400, 'INVALID_REQUEST');
    if (q.get('metric') !== 'rate') return new HttpError(400, 'INVALID_ARG_METRIC');
    const target = q.get('target');
    if (target === undefined) return new HttpError(400, 'INVALID_ARG_TARGET');
    const interval = Math.trunc(host.opts.statsdInterval / 1000);
    const url = `${host.opts.graphiteUrl}/render?${goEncodeQuery({ from: `-${interval * 2}sec`, until: `-${interval}sec`, format: 'json', target })}`;
    logger.info(`GRAPHITE: ${url}`);
    try {
      const doc = await host.client.getV1(url);
      const first: unknown = Array.isArray(doc) ? doc[0] : undefined;
      const points: unknown = typeof first === 'object' && first !== null ? (first as Record<string, unknown>).datapoints : undefined;
      const point: unknown = Array.isArray(points) && Array.isArray(points[0]) ? points[0][0] : undefined;
      if (typeof point !== 'number') throw new Error('no datapoint');
      return { rate: point < 0 ? 'N/A' : goFormatFixed(point / interval, 2) };
    } catch (err) {
      logger.error(`graphite request failed - ${errorText(err)}`);
      return new HttpError(500, 'INTERNAL_ERROR');
    }
  }));

  // --- admin actions ----------------------------------------------------------------------------
  const forbidden = new HttpError(403, 'FORBIDDEN');

  router.add('POST', at('/api/topics'), v1(async (req) => {
    if (!isAdmin(req)) return forbidden;
    const body = decodeStringFields(await readBody(req, ACTION_BODY_MAX), ['topic', 'channel'] as const);
    if (body instanceof Error) return new HttpError(400, body.message);
    if (!isValidTopicName(body.topic)) return new HttpError(400, 'INVALID_TOPIC');
    if (body.channel.length > 0 && !isValidChannelName(body.channel)) return new HttpError(400, 'INVALID_CHANNEL');
    const messages: string[] = [];
    const failed = await collect(ci.createTopicChannel(body.topic, body.channel, host.opts.nsqlookupdHttpAddresses), messages);
    if (failed instanceof HttpError) return failed;
    notify('create_topic', body.topic, '', '', req);
    if (body.channel.length > 0) notify('create_channel', body.topic, body.channel, '', req);
    return { message: maybeWarnMsg(messages) };
  }));

  const topicChannelAction = async (req: IncomingMessage, topic: string, channel: string): Promise<V1Outcome> => {
    if (!isAdmin(req)) return forbidden;
    const body = decodeStringFields(await readBody(req, ACTION_BODY_MAX), ['action'] as const);
    if (body instanceof Error) return new HttpError(400, body.message);
    const what = channel !== '' ? 'channel' : 'topic';
    if (body.action !== 'pause' && body.action !== 'unpause' && body.action !== 'empty') return new HttpError(400, 'INVALID_ACTION');
    const messages: string[] = [];
    const failed = await collect(ci.actionHelper(topic, channel, `${what}/${body.action}`, cluster()), messages);
    notify(`${body.action}_${what}`, topic, channel, '', req);
    if (failed instanceof HttpError) {
      logger.error(`failed to ${body.action} topic/channel - ${failed.message}`);
      return failed;
    }
    return { message: maybeWarnMsg(messages) };
  };
  router.add('POST', at('/api/topics/:topic'), v1((req, params) => topicChannelAction(req, params.topic ?? '', '')));
  router.add('POST', at('/api/topics/:topic/:channel'), v1((req, params) => topicChannelAction(req, params.topic ?? '', params.channel ?? '')));

  const deleteAction = async (req: IncomingMessage, topic: string, channel: string): Promise<V1Outcome> => {
    if (!isAdmin(req)) return forbidden;
    const messages: string[] = [];
    const failed = await collect(ci.deleteTopicChannel(topic, channel, cluster()), messages);
    if (failed instanceof HttpError) return failed;
    notify(channel === '' ? 'delete_topic' : 'delete_channel', topic, channel, '', req);
    return { message: maybeWarnMsg(messages) };
  };
  router.add('DELETE', at('/api/topics/:topic'), v1((req, params) => deleteAction(req, params.topic ?? '', '')));
  router.add('DELETE', at('/api/topics/:topic/:channel'), v1((req, params) => deleteAction(req, params.topic ?? '', params.channel ?? '')));

  router.add('DELETE', at('/api/nodes/:node'), v1(async (req, params) => {
    if (!isAdmin(req)) return forbidden;
    const node = params.node ?? '';
    const body = decodeStringFields(await readBody(req, ACTION_BODY_MAX), ['topic'] as const);
    if (body instanceof Error) return new HttpError(400, 'INVALID_BODY');
    if (!isValidTopicName(body.topic)) return new HttpError(400, 'INVALID_TOPIC');
    const messages: string[] = [];
    const failed = await collect(ci.tombstoneNodeForTopic(body.topic, node, host.opts.nsqlookupdHttpAddresses), messages);
    if (failed instanceof HttpError) return failed;
    notify('tombstone_topic_producer', body.topic, '', node, req);
    return { message: maybeWarnMsg(messages) };
  }));

  // --- /config ------------------------------------------------------------------------------------
  const specs = nsqadminFlagSpecs();
  const configNet = host.configNet;
  /** Whether the last PUT of nsqlookupd_http_addresses was JSON null (json.Unmarshal then leaves a nil slice). */
  let lookupdAddressesNil = false;
  const configOutcome = async (req: IncomingMessage, params: Params): Promise<V1Outcome> => {
    const opt = params.opt ?? '';
    if (configNet !== null) {
      const remote = req.socket.remoteAddress ?? '';
      const inside = cidrContains(configNet, remote);
      if (inside === undefined) {
        logger.error(`failed to parse RemoteAddr ${remote}`);
        return new HttpError(400, 'INVALID_REMOTE_ADDR');
      }
      if (!inside) return new HttpError(403, 'FORBIDDEN');
    }
    if (req.method === 'PUT') {
      const body = await readBody(req, CONFIG_BODY_MAX + 1);
      if (body.length === CONFIG_BODY_MAX + 1 || body.length === 0) return new HttpError(413, 'INVALID_VALUE');
      const opts: NsqadminOptions = { ...host.opts };
      if (opt === 'nsqlookupd_http_addresses') {
        let v: unknown;
        try {
          v = JSON.parse(body.toString('utf8'));
        } catch {
          return new HttpError(400, 'INVALID_VALUE');
        }
        const nil = v === null;
        if (nil) v = [];
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' || x === null)) return new HttpError(400, 'INVALID_VALUE');
        opts.nsqlookupdHttpAddresses = v.map((x) => (x === null ? '' : (x as string)));
        lookupdAddressesNil = nil;
      } else if (opt === 'log_level') {
        const level = parseLogLevel(body.toString('utf8'));
        if (level === undefined) return new HttpError(400, 'INVALID_VALUE');
        opts.logLevel = level;
      } else {
        return new HttpError(400, 'INVALID_OPTION');
      }
      host.setOpts(opts);
    }
    // Unset list flags resolve to empty, non-nil slices (go-options takes the flag's Get()): [].
    // Only PUT null makes the lookupd list Go's nil slice, answered as null.
    const v = configOptionValue(specs, host.opts, opt, lookupdAddressesNil ? 'nsqlookupdHttpAddresses' : null);
    return v === undefined ? new HttpError(400, 'INVALID_OPTION') : (v as V1Outcome);
  };
  router.add('GET', at('/config/:opt'), v1(configOutcome));
  router.add('PUT', at('/config/:opt'), v1(configOutcome));

  return logRequests(logger, (req, res) => {
    compressResponse(req, res);
    router.handle(req, res);
  });
}
