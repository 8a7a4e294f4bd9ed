import { compileGoRegexp } from '../internal/go-regexp.js';
import { decodeGoStruct, foldKey, isRecord, unmarshalGo, type GoStruct } from '../internal/go-json.js';
import { goEncodeQuery, requestV1 } from '../internal/http-client.js';
import type { ClientTls } from './tls.js';

/** One authorization entry from nsqauthd. */
export interface Authorization {
  topic: RegExp;
  channels: RegExp[];
  permissions: Set<string>;
}

/** A client's cached answer from nsqauthd. */
export interface AuthState {
  identity: string;
  identityUrl: string;
  /** Unix ms after which the answer must be fetched again. */
  expires: number;
  authorizations: Authorization[];
}

/** Settings nsqd uses to ask an auth server. */
export interface AuthSettings {
  addresses: readonly string[];
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** nsqd's client TLS settings for https auth servers (null without --tls-root-ca-file), read once at start. */
  tls: ClientTls | null;
}

/** Who is asking, as nsqd reports it to the auth server. */
export interface AuthRequest {
  remoteIp: string;
  tls: boolean;
  commonName: string;
  secret: string;
}

function compile(what: 'topic' | 'channel', source: string): RegExp {
  try {
    return compileGoRegexp(source);
  } catch (err) {
    throw new Error(`unable to compile ${what} ${JSON.stringify(source)} ${(err as Error).message}`);
  }
}

/** An auth server's answer, as nsqd's auth.State (and its Authorization) decode it. */
const STATE: GoStruct = { name: 'State', type: 'auth.State', fields: { ttl: 'int', identity: 'string', identity_url: 'string' } };

/** The value of `obj`'s key `name` as encoding/json finds it: case-insensitively, the last match winning. */
function goField(obj: Record<string, unknown>, name: string): unknown {
  let v: unknown = null;
  for (const k of Object.keys(obj)) if (k === name || foldKey(k) === name) v = obj[k];
  return v;
}

/** Go's name for a JSON value's kind in a type error. */
function kind(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;
}

/** A []string field of Authorization (null: none), or the type error Go reports for it. */
function stringList(v: unknown, tag: string): string[] | Error {
  const typeError = (what: unknown, type: string): Error => new Error(`json: cannot unmarshal ${kind(what)} into Go struct field Authorization.authorizations.${tag} of type ${type}`);
  if (v === null) return [];
  if (!Array.isArray(v)) return typeError(v, '[]string');
  const out: string[] = [];
  for (const e of v) {
    if (e === null) out.push('');
    else if (typeof e === 'string') out.push(e);
    else return typeError(e, 'string');
  }
  return out;
}

interface RawAuthorization {
  topic: string;
  channels: string[];
  permissions: string[];
}

/** State.authorizations as json.Unmarshal fills it, or its first type error. */
function authorizationsOf(doc: unknown): RawAuthorization[] | Error {
  const v = isRecord(doc) ? goField(doc, 'authorizations') : null;
  if (v === null) return [];
  if (!Array.isArray(v)) return new Error(`json: cannot unmarshal ${kind(v)} into Go struct field State.authorizations of type []auth.Authorization`);
  const out: RawAuthorization[] = [];
  for (const entry of v) {
    if (entry === null) {
      out.push({ topic: '', channels: [], permissions: [] });
      continue;
    }
    if (!isRecord(entry)) return new Error(`json: cannot unmarshal ${kind(entry)} into Go struct field State.authorizations of type auth.Authorization`);
    const topic = goField(entry, 'topic');
    if (topic !== null && typeof topic !== 'string') return new Error(`json: cannot unmarshal ${kind(topic)} into Go struct field Authorization.authorizations.topic of type string`);
    const channels = stringList(goField(entry, 'channels'), 'channels');
    if (channels instanceof Error) return channels;
    const permissions = stringList(goField(entry, 'permissions'), 'permissions');
    if (permissions instanceof Error) return permissions;
    out.push({ topic: topic ?? '', channels, permissions });
  }
  return out;
}

/**
 * Validate and convert an auth server's 200 answer as nsqd does: json.Unmarshal into its State
 * (keys matched case-insensitively; `"ttl": 3600.5`, `"identity": 5` or `"topic": 5` is Go's
 * type error), then its checks and error texts (`unknown permission x`, `unable to compile topic
 * "(" ...`, `invalid TTL 0 (must be >0)`); a body that is not JSON fails with Go's syntax error.
 */
export function parseAuthResponse(body: Buffer, now: number): AuthState {
  const text = body.toString('utf8');
  const fields = decodeGoStruct(text, STATE, 'unmarshal');
  if (fields instanceof Error) throw fields;
  const raw = authorizationsOf(unmarshalGo(text));
  if (raw instanceof Error) throw raw;
  const authorizations = raw.map((a) => {
    const permissions = new Set<string>();
    for (const p of a.permissions) {
      if (p !== 'subscribe' && p !== 'publish') throw new Error(`unknown permission ${p}`);
      permissions.add(p);
    }
    return { topic: compile('topic', a.topic), channels: a.channels.map((c) => compile('channel', c)), permissions };
  });
  const ttl = Number(fields.ttl ?? 0);
  if (ttl <= 0) throw new Error(`invalid TTL ${String(fields.ttl ?? 0)} (must be >0)`);
  return {
    identity: typeof fields.identity === 'string' ? fields.identity : '',
    identityUrl: typeof fields.identity_url === 'string' ? fields.identity_url : '',
    expires: now + ttl * 1000,
    authorizations,
  };
}

/**
 * Ask the auth servers, starting at a random one and trying each in turn until one answers
 * (nsqd's QueryAnyAuthd). An address with `://` is the full URL; otherwise http://addr/auth.
 * Requests are NSQ's GETV1 (a 403 carrying https_port is retried over https). When all fail, the
 * error lists each as `failed to auth against <addr> - <why>`, joined with `; `, as nsqd logs it.
 */
export async function queryAnyAuthd(s: AuthSettings, who: AuthRequest): Promise<AuthState> {
  // The secret is the AUTH body's bytes (held as latin1), escaped byte for byte as Go's url.Values.
  const query = goEncodeQuery({ common_name: who.commonName, remote_ip: who.remoteIp, secret: Buffer.from(who.secret, 'latin1'), tls: String(who.tls) });
  const opts = {
    connectTimeoutMs: s.connectTimeoutMs,
    requestTimeoutMs: s.requestTimeoutMs,
    ...s.tls,
  };
  const start = Math.floor(Math.random() * s.addresses.length);
  const failures: string[] = [];
  for (let i = 0; i < s.addresses.length; i++) {
    const addr = s.addresses[(start + i) % s.addresses.length]!;
    const url = addr.includes('://') ? `${addr}?${query}` : `http://${addr}/auth?${query}`;
    try {
      const res = await requestV1('GET', url, opts);
      return parseAuthResponse(res.body, Date.now());
    } catch (err) {
      failures.push(`failed to auth against ${addr} - ${(err as Error).message}`);
    }
  }
  throw new Error(failures.length > 0 ? failures.join('; ') : 'no auth servers');
}

/** Whether the state allows SUB on (topic, channel) or a publish (channel ''). Regexes are unanchored, as Go's MatchString. */
export function isAllowed(state: AuthState, topic: string, channel: string): boolean {
  const need = channel === '' ? 'publish' : 'subscribe';
  for (const a of state.authorizations) {
    if (!a.permissions.has(need)) continue;
    if (!a.topic.test(topic)) continue;
    if (a.channels.some((c) => c.test(channel))) return true;
  }
  return false;
}
