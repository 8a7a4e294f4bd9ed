import { readFileSync } from 'node:fs';
import { isRecord, unmarshalGo } from '../internal/go-json.js';
import { goEncodeQuery, requestV1 } from '../internal/http-client.js';

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
  rootCaFile: string;
}

/** Who is asking, as nsqd reports it to the auth server. */
export interface AuthRequest {
  remoteIp: string;
  tls: boolean;
  commonName: string;
  secret: string;
}

function compile(what: 'topic' | 'channel', pattern: unknown): RegExp {
  const source = typeof pattern === 'string' ? pattern : '';
  try {
    return new RegExp(source);
  } catch (err) {
    throw new Error(`unable to compile ${what} ${JSON.stringify(source)} ${(err as Error).message}`);
  }
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/**
 * Validate and convert an auth server's 200 answer with nsqd's checks and error texts (`unknown
 * permission x`, `unable to compile topic "(" ...`, `invalid TTL 0 (must be >0)`); a body that is
 * not JSON fails with Go's json.Unmarshal text.
 */
export function parseAuthResponse(body: Buffer, now: number): AuthState {
  const doc = unmarshalGo(body.toString('utf8'));
  const raw = isRecord(doc) ? doc : {};
  const authorizations = list(raw.authorizations).map((entry) => {
    const a = isRecord(entry) ? entry : {};
    const permissions = new Set<string>();
    for (const p of list(a.permissions)) {
      if (p !== 'subscribe' && p !== 'publish') throw new Error(`unknown permission ${String(p)}`);
      permissions.add(p);
    }
    return { topic: compile('topic', a.topic), channels: list(a.channels).map((c) => compile('channel', c)), permissions };
  });
  const ttl = typeof raw.ttl === 'number' ? Math.trunc(raw.ttl) : 0;
  if (ttl <= 0) throw new Error(`invalid TTL ${ttl} (must be >0)`);
  return {
    identity: typeof raw.identity === 'string' ? raw.identity : '',
    identityUrl: typeof raw.identity_url === 'string' ? raw.identity_url : '',
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
  const query = goEncodeQuery({ common_name: who.commonName, remote_ip: who.remoteIp, secret: who.secret, tls: String(who.tls) });
  const opts = {
    connectTimeoutMs: s.connectTimeoutMs,
    requestTimeoutMs: s.requestTimeoutMs,
    ca: s.rootCaFile !== '' ? readFileSync(s.rootCaFile) : undefined,
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
