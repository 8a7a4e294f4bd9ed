import { decodeGoStruct, type GoFieldType, type GoInt, type GoStruct } from '../internal/go-json.js';
import { ClientError, FatalClientError } from '../protocol/errors.js';
import type { ClientV2 } from './client-v2.js';
import type { NsqdContext } from './context.js';

/** IDENTIFY body fields nsqd decodes, by lower-cased JSON key. */
const FIELDS: Record<string, GoFieldType> = {
  client_id: 'string',
  hostname: 'string',
  heartbeat_interval: 'int',
  output_buffer_size: 'int',
  output_buffer_timeout: 'int',
  feature_negotiation: 'bool',
  tls_v1: 'bool',
  deflate: 'bool',
  deflate_level: 'int',
  snappy: 'bool',
  sample_rate: 'int32',
  user_agent: 'string',
  msg_timeout: 'int',
};

/** The decoded IDENTIFY body with Go's zero values for absent fields. */
export interface IdentifyData {
  client_id: string;
  hostname: string;
  heartbeat_interval: GoInt;
  output_buffer_size: GoInt;
  output_buffer_timeout: GoInt;
  feature_negotiation: boolean;
  tls_v1: boolean;
  deflate: boolean;
  deflate_level: GoInt;
  snappy: boolean;
  sample_rate: GoInt;
  user_agent: string;
  msg_timeout: GoInt;
}

/** nsqd's identifyDataV2, for Go's decoding rules. */
const IDENTIFY_STRUCT: GoStruct = { name: 'identifyDataV2', type: 'nsqd.identifyDataV2', fields: FIELDS };

/**
 * Decode like Go's json.Unmarshal into nsqd's identifyDataV2 (see go-json: case-insensitive
 * keys, null leaves the zero value, a wrong type fails, an int field takes only an integer
 * literal within int64, sample_rate within int32). Integers a double cannot hold stay bigints;
 * every limit rejects them, and the error message prints them exactly.
 */
export function decodeIdentify(body: Uint8Array): IdentifyData | Error {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  const fields = decodeGoStruct(text, IDENTIFY_STRUCT, 'unmarshal');
  if (fields instanceof Error) return fields;
  return {
    client_id: '', hostname: '', heartbeat_interval: 0, output_buffer_size: 0, output_buffer_timeout: 0,
    feature_negotiation: false, tls_v1: false, deflate: false, deflate_level: 0, snappy: false,
    sample_rate: 0, user_agent: '', msg_timeout: 0,
    ...(fields as Partial<IdentifyData>),
  };
}

/** A refused IDENTIFY setting: nsqd's `IDENTIFY <err>` with err as its parent (logged after it). */
function bad(err: string): FatalClientError {
  return new FatalClientError('E_BAD_BODY', `IDENTIFY ${err}`, { cause: new Error(err) });
}

/** The decoded body as nsqd logs it: Go's %+v of identifyDataV2. */
function identifyText(d: IdentifyData): string {
  return `{ClientID:${d.client_id} Hostname:${d.hostname} HeartbeatInterval:${d.heartbeat_interval} OutputBufferSize:${d.output_buffer_size} ` +
    `OutputBufferTimeout:${d.output_buffer_timeout} FeatureNegotiation:${d.feature_negotiation} TLSv1:${d.tls_v1} Deflate:${d.deflate} ` +
    `DeflateLevel:${d.deflate_level} Snappy:${d.snappy} SampleRate:${d.sample_rate} UserAgent:${d.user_agent} MsgTimeout:${d.msg_timeout}}`;
}

/** What IDENTIFY negotiated: the JSON to send first, then the upgrades to perform in order. */
export interface IdentifyUpgrade {
  json: string;
  tls: boolean;
  snappy: boolean;
  deflate: boolean;
  deflateLevel: number;
}

/**
 * IDENTIFY: store identity, validate and apply settings in nsqd's order (heartbeat, output
 * buffer timeout then size, sample rate, msg timeout), then answer `OK` or, with
 * feature_negotiation, the negotiated settings (the caller sends the JSON, then upgrades the
 * connection to TLS, snappy or deflate).
 */
export function identify(client: ClientV2, ctx: NsqdContext, body: Uint8Array): string | ClientError | IdentifyUpgrade {
  const d = decodeIdentify(body);
  if (d instanceof Error) return new FatalClientError('E_BAD_BODY', 'IDENTIFY failed to decode JSON body', { cause: d });
  const o = ctx.opts;
  const shown = identifyText(d);
  ctx.logger.debug(`PROTOCOL(V2): [${client}] ${shown}`);
  ctx.logger.info(`[${client}] IDENTIFY: ${shown}`);
  client.clientId = d.client_id;
  client.hostname = d.hostname;
  client.userAgent = d.user_agent;

  const hb = d.heartbeat_interval;
  if (hb === -1) client.heartbeatIntervalMs = 0;
  else if (hb !== 0) {
    if (hb >= 1000 && hb <= o.maxHeartbeatInterval) client.heartbeatIntervalMs = Number(hb);
    else return bad(`heartbeat interval (${hb}) is invalid`);
  }

  const obt = d.output_buffer_timeout;
  if (obt === -1) client.outputBufferTimeoutMs = 0;
  else if (obt !== 0) {
    if (obt >= o.minOutputBufferTimeout && obt <= o.maxOutputBufferTimeout) client.outputBufferTimeoutMs = Number(obt);
    else return bad(`output buffer timeout (${obt}) is invalid`);
  }
  const obs = d.output_buffer_size;
  if (obs === -1) {
    client.outputBufferSize = 1;
    client.outputBufferTimeoutMs = 0;
  } else if (obs !== 0) {
    if (obs >= 64 && obs <= o.maxOutputBufferSize) client.outputBufferSize = Number(obs);
    else return bad(`output buffer size (${obs}) is invalid`);
  }
  // nsqd's pump replaces its flush ticker on IDENTIFY.
  client.restartFlushTicker();
  if (obs !== 0) client.flush();

  if (d.sample_rate < 0 || d.sample_rate > 99) {
    return bad(`sample rate (${d.sample_rate}) is invalid`);
  }
  client.sampleRate = Number(d.sample_rate);

  const mt = d.msg_timeout;
  if (mt !== 0) {
    if (mt >= 1000 && mt <= o.maxMsgTimeout) client.msgTimeoutMs = Number(mt);
    else return bad(`msg timeout (${mt}) is invalid`);
  }

  client.startHeartbeat();
  client.armReadDeadline();

  if (!d.feature_negotiation) return 'OK';

  const tls = ctx.tlsEnabled && d.tls_v1;
  const deflate = o.deflate && d.deflate;
  const snappy = o.snappy && d.snappy;
  let deflateLevel = 6;
  if (deflate && d.deflate_level > 0) deflateLevel = Number(d.deflate_level);
  if (o.maxDeflateLevel < deflateLevel) deflateLevel = o.maxDeflateLevel;
  if (deflate && snappy) return new FatalClientError('E_IDENTIFY_FAILED', 'cannot enable both deflate and snappy compression');
  const json = JSON.stringify({
    max_rdy_count: o.maxRdyCount,
    version: '1.3.0',
    max_msg_timeout: Math.floor(o.maxMsgTimeout),
    msg_timeout: Math.floor(client.msgTimeoutMs),
    tls_v1: tls,
    deflate,
    deflate_level: deflateLevel,
    max_deflate_level: o.maxDeflateLevel,
    snappy,
    sample_rate: client.sampleRate,
    auth_required: o.authHttpAddresses.length > 0,
    output_buffer_size: client.outputBufferSize,
    output_buffer_timeout: Math.floor(client.outputBufferTimeoutMs),
  });
  return { json, tls, snappy, deflate, deflateLevel };
}
