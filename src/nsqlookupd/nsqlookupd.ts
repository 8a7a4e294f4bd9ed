import type { Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { createGoServer } from '../internal/http.js';
import { GO_TCP_KEEPALIVE_MS, listenTcp, listeningAddress, listeningPort } from '../internal/listen.js';
import { Logger } from '../internal/log.js';
import { createHttpHandler } from './http.js';
import { defaultNsqlookupdOptions, type NsqlookupdOptions } from './options.js';
import { RegistrationDB } from './registration-db.js';
import { LookupConnection } from './tcp.js';

/** nsqlookupd's version string, as /info, IDENTIFY replies and --version report it. */
export const VERSION = '1.3.0';

/** Construction options: any subset of NsqlookupdOptions plus an optional logger. */
export type NSQLookupdInit = Partial<NsqlookupdOptions> & { logger?: Logger };

/**
 * The nsqlookupd daemon as a library: `const l = new NSQLookupd({...}); await l.start(); ...
 * await l.close()`. Owns the registration database, the TCP listener nsqd peers register on and
 * the HTTP API; nothing is persisted.
 */
export class NSQLookupd {
  /** Options in force (defaults filled in). */
  readonly opts: NsqlookupdOptions;
  /** The daemon's logger. */
  readonly logger: Logger;
  /** Every registration, shared by the TCP and HTTP sides. */
  readonly db = new RegistrationDB();
  /** The version reported to clients. */
  readonly version = VERSION;
  private tcpServer: TcpServer | null = null;
  private httpServer: HttpServer | null = null;
  private readonly connections = new Set<LookupConnection>();
  private closing = false;

  /** Build the daemon; nothing listens until start(). */
  constructor(init: NSQLookupdInit = {}) {
    const { logger, ...opts } = init;
    this.opts = { ...defaultNsqlookupdOptions(), ...opts };
    this.logger = logger ?? new Logger({ prefix: this.opts.logPrefix, level: this.opts.logLevel, json: this.opts.logJson });
  }

  /** The TCP port actually listened on (after start), 0 before. */
  get tcpPort(): number {
    return listeningPort(this.tcpServer);
  }

  /** The HTTP port actually listened on (after start), 0 before. */
  get httpPort(): number {
    return listeningPort(this.httpServer);
  }

  /** The TCP connections currently open. */
  get clients(): readonly LookupConnection[] {
    return [...this.connections];
  }

  /** Listen on the TCP and then the HTTP address; rejects (listening on neither) when one fails. */
  async start(): Promise<void> {
    const o = this.opts;
    this.logger.info(`nsqlookupd v${VERSION} (built w/${process.version})`);
    // allowHalfOpen: a client that shuts down its side mid-IDENTIFY still gets Go's error reply.
    const tcp = createTcpServer({ allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: GO_TCP_KEEPALIVE_MS }, (socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      const conn = new LookupConnection(this, socket);
      this.connections.add(conn);
      socket.once('close', () => this.connections.delete(conn));
    });
    const http = createGoServer(createHttpHandler(this));
    try {
      await this.listenOn('TCP', tcp, o.tcpAddress);
      this.tcpServer = tcp;
      await this.listenOn('HTTP', http, o.httpAddress);
      this.httpServer = http;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private async listenOn(name: string, server: TcpServer, address: string): Promise<void> {
    try {
      await listenTcp(server, address);
    } catch (err) {
      throw new Error(`listen (${address}) failed - ${(err as Error).message}`, { cause: err });
    }
    this.logger.info(`${name}: listening on ${listeningAddress(server)}`);
  }

  /** Stop listening and drop every client connection (their registrations go with them). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const tcp = this.tcpServer;
    const http = this.httpServer;
    if (tcp !== null) {
      // As nsqlookupd's TCPServer: its connections end (each logging its ending and dropping its
      // registrations) before it says it is closing.
      const addr = listeningAddress(tcp);
      const closed = new Promise<void>((r) => tcp.close(() => r()));
      const conns = [...this.connections];
      for (const c of conns) c.destroy();
      await Promise.all([closed, ...conns.map((c) => c.closed)]);
      this.logger.info(`TCP: closing ${addr}`);
    }
    if (http !== null) {
      this.logger.info(`HTTP: closing ${listeningAddress(http)}`);
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  }
}
