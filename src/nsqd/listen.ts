import type { Server } from 'node:net';
import { goListenError, joinHostPort, listenTcp, listenerBacklog } from '../internal/listen.js';

/** A listen address: TCP host/port, or a unix socket path. */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Go's net.SplitHostPort-based rule: `host:port` (host may be `[v6]` or empty) is TCP, anything else a unix socket path. */
export function parseListenAddress(addr: string): ListenAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]+)$/.exec(addr);
  if (m !== null) return { kind: 'tcp', host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
  return { kind: 'unix', path: addr };
}

/**
 * Listen as Go's net.Listen does (a wildcard TCP host dual-stack) and resolve once bound; rejects
 * with its error text (`listen tcp 0.0.0.0:4150: bind: address already in use`).
 */
export function listen(server: Server, addr: ListenAddress): Promise<void> {
  if (addr.kind === 'tcp') return listenTcp(server, joinHostPort(addr.host, addr.port));
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(new Error(`listen unix ${addr.path}: ${goListenError(err)}`, { cause: err }));
    server.once('error', onError);
    server.listen({ path: addr.path, backlog: listenerBacklog() }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** The bound port, or -1 for a unix socket. */
export function boundPort(server: Server): number {
  const a = server.address();
  return a !== null && typeof a === 'object' ? a.port : -1;
}
