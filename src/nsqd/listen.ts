import type { Server } from 'node:net';
import { joinHostPort } from '../internal/listen.js';

/** A listen address: TCP host/port, or a unix socket path. */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Go's net.SplitHostPort-based rule: `host:port` (host may be `[v6]` or empty) is TCP, anything else a unix socket path. */
export function parseListenAddress(addr: string): ListenAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]+)$/.exec(addr);
  if (m !== null) return { kind: 'tcp', host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
  return { kind: 'unix', path: addr };
}

/** Listen and resolve once bound; rejects with the listen error. */
export function listen(server: Server, addr: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      resolve();
    };
    if (addr.kind === 'unix') server.listen(addr.path, done);
    else server.listen({ host: addr.host === '' ? undefined : addr.host, port: addr.port }, done);
  });
}

/** The bound port, or -1 for a unix socket. */
export function boundPort(server: Server): number {
  const a = server.address();
  return a !== null && typeof a === 'object' ? a.port : -1;
}

/** The bound address as `host:port` text for logs. */
export function boundAddress(server: Server): string {
  const a = server.address();
  if (a === null) return '';
  if (typeof a === 'string') return a;
  return joinHostPort(a.address, a.port);
}
