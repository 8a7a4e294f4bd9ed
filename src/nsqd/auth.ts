import { readFileSync } from 'node:fs';
import { goEncodeQuery, httpRequestRaw, NSQ_ACCEPT, type HttpClientOptions } from '../internal/http-client.js';

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

function compile(pattern: unknown): RegExp {
  if (typeof pattern !== 'string') throw new Error(`bad regex ${String(pattern)}`);
  return new RegExp(pattern);
}

/** Validate and convert an auth server's 200 answer (nsqd's checks). */
export function parseAuthResponse(body: Buffer, now: number): AuthState {
  const raw = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  if (raw === null || typeof raw !== 'object') throw new Error('auth response is not an object');
  const ttl = Number(raw.ttl ?? 0);
  if (!(ttl > 0)) throw new Error('invalid TTL');
  const list = raw.authorizations ?? [];
  if (!Array.isArray(list)) throw new Error('invalid authorizations');
  const authorizations = list.map((a: Record<string, unknown>) => {
    const permissions = new Set<string>();
    for (const p of (a.permissions ?? []) as unknown[]) {
      if (p !== 'subscribe' && p !== 'publish') throw new Error(`unknown permission ${String(p)}`);
      permissions.add(p);
    }
    return { topic: compile(a.topic), channels: ((a.channels ?? []) as unknown[]).map(compile), permissions };
  });
  return {
    identity: String(raw.identity ?? ''),
    identityUrl: String(raw.identity_url ?? ''),
    expires: now + ttl * 1000,
    authorizations,
  };
}

/**
 * Ask the auth servers, starting at a random one and trying each in turn until one answers
 * (nsqd's QueryAnyAuthd). An address with `://` is the full URL; otherwise http://addr/auth.
 * A 403 from an http URL carrying https_port is retried over https.
 */
export async function queryAnyAuthd(s: AuthSettings, who: AuthRequest): Promise<AuthState> {
  const query = goEncodeQuery({ common_name: who.commonName, remote_ip: who.remoteIp, secret: who.secret, tls: String(who.tls) });
  const opts: HttpClientOptions = {
    connectTimeoutMs: s.connectTimeoutMs,
    requestTimeoutMs: s.requestTimeoutMs,
    headers: { Accept: NSQ_ACCEPT },
    ca: s.rootCaFile !== '' ? readFileSync(s.rootCaFile) : undefined,
  };
  const start = Math.floor(Math.random() * s.addresses.length);
  let last: Error = new Error('no auth servers');
  for (let i = 0; i < s.addresses.length; i++) {
    const addr = s.addresses[(start + i) % s.addresses.length]!;
    const url = addr.includes('://') ? `${addr}?${query}` : `http://${addr}/auth?${query}`;
    try {
      let res = await httpRequestRaw(url, opts);
      if (res.status === 403 && url.startsWith('http:')) {
        const port = (JSON.parse(res.body.toString('utf8')) as { https_port?: number }).https_port;
        if (port !== undefined) {
          const u = new URL(url);
          u.protocol = 'https:';
          u.port = String(port);
          res = await httpRequestRaw(u.toString(), opts);
        }
      }
      if (res.status !== 200) throw new Error(`got response ${res.status} ${JSON.stringify(res.body.toString('utf8'))}`);
      return parseAuthResponse(res.body, Date.now());
    } catch (err) {
      last = err as Error;
    }
  }
  throw last;
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
