// TCP addresses with Go's net package conventions: `host:port` parsed like net.SplitHostPort,
// listen and dial errors worded like net.Listen's and net.Dial's, and addresses printed like
// net.TCPAddr.String() (IPv4-mapped IPv6 shown as plain IPv4, IPv6 in brackets).

import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';

/** A parsed `host:port` (host may be '' for every interface). */
export interface HostPort {
  host: string;
  port: number;
}

/** Go's net.SplitHostPort plus a numeric port; returns an Error with Go's wording on bad input. */
export function splitHostPort(addr: string): HostPort | Error {
  const missing = (why: string): Error => new Error(`address ${addr}: ${why}`);
  const colon = addr.lastIndexOf(':');
  if (colon === -1) return missing('missing port in address');
  let host: string;
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end === -1) return missing("missing ']' in address");
    if (end + 1 !== colon) return missing(end + 1 === addr.length ? 'missing port in address' : "unexpected ']' in address");
    host = addr.slice(1, end);
  } else {
    host = addr.slice(0, colon);
    if (host.includes(':')) return missing('too many colons in address');
  }
  const portText = addr.slice(colon + 1);
  if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) return new Error(`lookup tcp/${portText}: unknown port`);
  return { host, port: Number(portText) };
}

/** Go's text for the common listen failures (`bind: address already in use`, ...), else Node's message. */
export function goListenError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE': return 'bind: address already in use';
    case 'EACCES': return 'bind: permission denied';
    case 'EADDRNOTAVAIL': return 'bind: cannot assign requested address';
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return goNoSuchHost((err as NodeJS.ErrnoException & { hostname?: string }).hostname ?? '');
    default: return err.message;
  }
}

/**
 * The TCP keep-alive Go turns on for every connection net.Listen accepts and net.Dial opens
 * (defaultTCPKeepAlive, 15 s): a peer that vanished without a FIN or RST (a host powered off, a
 * NAT that forgot the flow) is found dead and its connection closed, where otherwise a quiet
 * connection would stay open for ever (nsqlookupd reads its TCP clients without a deadline, so
 * a dead nsqd's registration would never go). Go also sets the probe interval to 15 s; Node 20
 * sets only the idle time, so probes then come every net.ipv4.tcp_keepalive_intvl (75 s by
 * default).
 */
export const GO_TCP_KEEPALIVE_MS = 15_000;

/** Go's syscall.SOMAXCONN on Linux: its backlog when the kernel's limit cannot be read. */
const GO_SOMAXCONN = 128;

/**
 * The accept backlog Go's net.Listen asks for on Linux (maxListenerBacklog), given the text of
 * /proc/sys/net/core/somaxconn (null when unreadable): the kernel's own limit, so a burst of
 * connections (a fleet of consumers reconnecting after a restart) waits in the queue rather
 * than having its SYNs dropped and retried a second or more later, as they are past Node's
 * default of 511. The first field's leading digits, read as Go's net.dtoi does: 128 when there
 * are none, they are 0, or they reach its 0xFFFFFF overflow guard.
 */
export function goListenerBacklog(somaxconn: string | null): number {
  const field = somaxconn === null ? '' : somaxconn.replace(/^[ \t\r\n]+/, '');
  const m = /^[0-9]+/.exec(field);
  const n = m === null ? 0 : Number(m[0]);
  return n === 0 || n >= 0xffffff ? GO_SOMAXCONN : n;
}

let backlog: number | null = null;

/** goListenerBacklog of this machine's /proc/sys/net/core/somaxconn, read once. */
export function listenerBacklog(): number {
  if (backlog === null) {
    let text: string | null;
    try {
      text = readFileSync('/proc/sys/net/core/somaxconn', 'latin1');
    } catch {
      text = null;
    }
    backlog = goListenerBacklog(text);
  }
  return backlog;
}

/**
 * Listen on a TCP `host:port` and resolve once bound; rejects with an Error worded like Go's
 * net.Listen failure (`listen tcp 127.0.0.1:4160: bind: address already in use`).
 */
export function listenTcp(server: Server, addr: string): Promise<void> {
  const hp = splitHostPort(addr);
  if (hp instanceof Error) return Promise.reject(new Error(`listen tcp: ${hp.message}`));
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(new Error(`listen tcp ${addr}: ${goListenError(err)}`, { cause: err }));
    server.once('error', onError);
    // Go listens dual-stack ([::], IPv4 clients included) for a wildcard host such as "" or
    // 0.0.0.0 on network "tcp"; Node does the same when no host is given.
    const wildcard = hp.host === '' || hp.host === '0.0.0.0' || hp.host === '::';
    server.listen({ host: wildcard ? undefined : hp.host, port: hp.port, backlog: listenerBacklog() }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** `host:port` as Go's net.JoinHostPort writes it: a host containing ':' (IPv6) is bracketed. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A TCP connection as Go's net.OpError prints it: `local->remote`. */
export function goTcpPair(sock: { localAddress?: string | undefined; localPort?: number | undefined; remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${goAddr(sock.localAddress ?? '', sock.localPort ?? 0)}->${goAddr(sock.remoteAddress ?? '', sock.remotePort ?? 0)}`;
}

/** A failed read on the connection `pair` (goTcpPair) in Go's words, for a reset; else Node's message. */
export function goReadError(pair: string, err: NodeJS.ErrnoException): string {
  return err.code === 'ECONNRESET' ? `read tcp ${pair}: read: connection reset by peer` : err.message;
}

/**
 * What Go's io.ReadFull fails with when the stream ends inside a field, `read` bytes of it in:
 * `EOF` when none came, `unexpected EOF` otherwise.
 */
export function goReadFullError(read: number): string {
  return read === 0 ? 'EOF' : 'unexpected EOF';
}

/** An IP as Go's net.IP.String() prints it: an IPv4 client of a dual-stack listener as plain IPv4. */
export function goIp(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return v4 !== null ? v4[1]! : ip;
}

/** An address and port as Go's net.TCPAddr.String() prints them. */
export function goAddr(ip: string, port: number): string {
  return joinHostPort(goIp(ip), port);
}

/** A connection's remote address as Go's conn.RemoteAddr().String() prints it (`@` for a unix socket client). */
export function goRemoteAddr(sock: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return sock.remoteAddress === undefined ? '@' : goAddr(sock.remoteAddress, sock.remotePort ?? 0);
}

/** Go's error for a read on a connection the process closed itself (`pair`: goTcpPair). */
export function goClosedConnError(pair: string): string {
  return `read tcp ${pair}: use of closed network connection`;
}

/** The port a server is bound to, or 0 before it listens. */
export function listeningPort(server: Server | null): number {
  const a = server?.address();
  return a !== null && a !== undefined && typeof a === 'object' ? a.port : 0;
}

/** The bound address as Go prints a listener's Addr(), for "listening on" log lines. */
export function listeningAddress(server: Server): string {
  const a = server.address();
  if (a === null) return '';
  return typeof a === 'string' ? a : goAddr(a.address, a.port);
}

/**
 * Go's net.DNSError for a name its resolver could not find, as NSQ's binaries (built without cgo,
 * so with Go's own resolver) print it: `lookup nohost on 10.0.0.2:53: no such host`, naming the
 * first nameserver of /etc/resolv.conf (Go's fallback 127.0.0.1:53 when there is none).
 */
export function goNoSuchHost(name: string): string {
  const first = dns.getServers()[0]; // read through the module object: setServers rebinds it
  let server = '127.0.0.1:53';
  if (first !== undefined) {
    if (first.startsWith('[')) server = first; // [v6]:port
    else if (first.includes(':') && first.indexOf(':') !== first.lastIndexOf(':')) server = `[${first}]:53`; // bare v6
    else server = first.includes(':') ? first : `${first}:53`;
  }
  return `lookup ${name} on ${server}: no such host`;
}

/**
 * Go's wording of a failed dial to `host` (`host:port`), or undefined when the error is not a
 * dial failure: `dial tcp 127.0.0.1:4150: connect: connection refused`,
 * `dial tcp: lookup nohost on 10.0.0.2:53: no such host`.
 */
export function goDialError(host: string, err: unknown): string | undefined {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ECONNREFUSED': return `dial tcp ${host}: connect: connection refused`;
    case 'EHOSTUNREACH': return `dial tcp ${host}: connect: no route to host`;
    case 'ENETUNREACH': return `dial tcp ${host}: connect: network is unreachable`;
    case 'ETIMEDOUT': return `dial tcp ${host}: i/o timeout`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return `dial tcp: ${goNoSuchHost(host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'))}`;
    default: return undefined;
  }
}
