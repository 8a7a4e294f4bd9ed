import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { lookup } from 'node:dns/promises';
import { isIP, type BlockList } from 'node:net';
import { goUrlParseError } from '../internal/go-url.js';
import { createGoServer, goJSON } from '../internal/http.js';
import { goInvalidBytesJson } from '../internal/go-json.js';
import { listenTcp, listeningAddress, listeningPort, splitHostPort, goNoSuchHost } from '../internal/listen.js';
import { Logger } from '../internal/log.js';
import { AssetStore, bundledStaticDir } from './assets.js';
import { parseCIDR } from './cidr.js';
import { ClusterInfo } from '../internal/clusterinfo/cluster-info.js';
import { createHttpHandler, type AdminAction } from './http.js';
import { defaultNsqadminOptions, normalizeBasePath, type NsqadminOptions } from './options.js';
import { UpstreamClient, type UpstreamConfig } from '../internal/clusterinfo/upstream.js';

/** nsqadmin's version string, as --version and the UI report it. */
export const VERSION = '1.3.0';

/** Construction options: any subset of NsqadminOptions plus an optional logger. */
export type NSQAdminInit = Partial<NsqadminOptions> & { logger?: Logger };

/** Most notifications waiting to be sent; more are dropped with an error log (bounded memory). */
const MAX_PENDING_NOTIFICATIONS = 1000;

/**
 * The nsqadmin daemon as a library: `const a = new NSQAdmin({ nsqlookupdHttpAddresses: [...] });
 * await a.start(); ... await a.close()`. Stateless apart from its options: every API request
 * queries the cluster afresh.
 */
export class NSQAdmin {
  private options: NsqadminOptions;
  /** The daemon's logger. */
  readonly logger: Logger;
  /** The version reported to the UI. */
  readonly version = VERSION;
  private httpServer: HttpServer | null = null;
  private tls: Pick<UpstreamConfig, 'ca' | 'cert' | 'key'> = {};
  /** --allow-config-from-cidr, parsed by validate(); null when unset. */
  private configNet: BlockList | null = null;
  private readonly upstream: UpstreamClient;
  private readonly pending: AdminAction[] = [];
  private sending = false;
  private closing = false;

  /** Build the daemon; options are validated and nothing listens until start(). */
  constructor(init: NSQAdminInit = {}) {
    const { logger, ...opts } = init;
    this.options = { ...defaultNsqadminOptions(), ...opts };
    this.logger = logger ?? new Logger({ prefix: this.options.logPrefix, level: this.options.logLevel, json: this.options.logJson });
    this.upstream = new UpstreamClient(() => ({
      connectTimeoutMs: this.options.httpClientConnectTimeout,
      requestTimeoutMs: this.options.httpClientRequestTimeout,
      rejectUnauthorized: !this.options.httpClientTlsInsecureSkipVerify,
      ...this.tls,
    }));
  }

  /** Options in force (PUT /config may replace them). */
  get opts(): NsqadminOptions {
    return this.options;
  }

  /** The HTTP port actually listened on (after start), 0 before. */
  get httpPort(): number {
    return listeningPort(this.httpServer);
  }

  /** Check the options like NSQ's nsqadmin.New, with its error texts; rejects on the first problem. */
  private async validate(): Promise<void> {
    const o = this.options;
    if (o.nsqdHttpAddresses.length === 0 && o.nsqlookupdHttpAddresses.length === 0) throw new Error('--nsqd-http-address or --lookupd-http-address required');
    if (o.nsqdHttpAddresses.length !== 0 && o.nsqlookupdHttpAddresses.length !== 0) throw new Error('use --nsqd-http-address or --lookupd-http-address not both');
    if (o.httpClientTlsCert !== '' && o.httpClientTlsKey === '') throw new Error('--http-client-tls-key must be specified with --http-client-tls-cert');
    if (o.httpClientTlsKey !== '' && o.httpClientTlsCert === '') throw new Error('--http-client-tls-cert must be specified with --http-client-tls-key');
    if (o.httpClientTlsCert !== '') {
      try {
        this.tls.cert = readFileSync(o.httpClientTlsCert);
        this.tls.key = readFileSync(o.httpClientTlsKey);
      } catch (err) {
        throw new Error(`failed to LoadX509KeyPair ${o.httpClientTlsCert}, ${o.httpClientTlsKey} - ${(err as Error).message}`);
      }
    }
    if (o.httpClientTlsRootCaFile !== '') {
      let ca: Buffer;
      try {
        ca = readFileSync(o.httpClientTlsRootCaFile);
      } catch (err) {
        throw new Error(`failed to read TLS root CA file ${o.httpClientTlsRootCaFile} - ${(err as Error).message}`);
      }
      if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) throw new Error(`failed to AppendCertsFromPEM ${o.httpClientTlsRootCaFile}`);
      this.tls.ca = ca;
    }
    const resolve = async (flag: string, address: string): Promise<void> => {
      const hp = splitHostPort(address);
      let reason: string | undefined;
      if (hp instanceof Error) reason = hp.message;
      else if (hp.host !== '' && isIP(hp.host) === 0) {
        try {
          await lookup(hp.host);
        } catch {
          reason = goNoSuchHost(hp.host);
        }
      }
      if (reason !== undefined) throw new Error(`failed to resolve ${flag} (${address}) - ${reason}`);
    };
    for (const a of o.nsqlookupdHttpAddresses) await resolve('--lookupd-http-address', a);
    for (const a of o.nsqdHttpAddresses) await resolve('--nsqd-http-address', a);
    if (o.proxyGraphite) {
      const e = goUrlParseError(o.graphiteUrl);
      if (e !== undefined) throw new Error(`failed to parse --graphite-url (${o.graphiteUrl}) - ${e}`);
    }
    if (o.allowConfigFromCidr !== '') {
      const c = parseCIDR(o.allowConfigFromCidr);
      if (c instanceof Error) throw new Error(`failed to parse --allow-config-from-cidr (${o.allowConfigFromCidr}) - ${c.message}`);
      this.configNet = c;
    }
    this.options = { ...o, basePath: normalizeBasePath(o.basePath) };
  }

  /** Validate the options and listen on the HTTP address; rejects with NSQ's error text. */
  async start(): Promise<void> {
    await this.validate();
    this.logger.info(`nsqadmin v${VERSION} (built w/${process.version})`);
    const o = this.options;
    const assets = new AssetStore(o.devStaticDir !== '' ? o.devStaticDir : bundledStaticDir(), o.devStaticDir !== '');
    const self = this;
    const handler = createHttpHandler({
      get opts() {
        return self.options;
      },
      setOpts: (next) => {
        this.options = next;
        this.logger.level = next.logLevel;
      },
      logger: this.logger,
      ci: new ClusterInfo(this.upstream, (m) => this.logger.info(m)),
      client: this.upstream,
      configNet: this.configNet,
      assets,
      version: VERSION,
      notify: (a) => this.enqueue(a),
    });
    const http = createGoServer(handler);
    try {
      await listenTcp(http, o.httpAddress);
    } catch (err) {
      throw new Error(`listen (${o.httpAddress}) failed - ${(err as Error).message}`, { cause: err });
    }
    this.httpServer = http;
    this.logger.info(`HTTP: listening on ${listeningAddress(http)}`);
  }

  private enqueue(a: AdminAction): void {
    if (this.closing) return;
    if (this.pending.length >= MAX_PENDING_NOTIFICATIONS) {
      this.logger.error(`failed to POST notification - ${MAX_PENDING_NOTIFICATIONS} notifications already pending`);
      return;
    }
    this.pending.push(a);
    if (!this.sending) void this.drain();
  }

  /** Send queued notifications one at a time, as NSQ's single notification goroutine does. */
  private async drain(): Promise<void> {
    this.sending = true;
    try {
      for (let a = this.pending.shift(); a !== undefined; a = this.pending.shift()) {
        const endpoint = this.options.notificationHttpEndpoint;
        this.logger.info(`POSTing notification to ${endpoint}`);
        try {
          // json.Marshal: <, > and & escaped, and each byte of the user name or agent that is not UTF-8 written \ufffd.
          await this.upstream.postJSON(endpoint, goInvalidBytesJson(goJSON(a)));
        } catch (err) {
          this.logger.error(`failed to POST notification - ${(err as Error).message}`);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** Stop listening and drop open connections. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const http = this.httpServer;
    if (http !== null) {
      this.logger.info(`HTTP: closing ${listeningAddress(http)}`);
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  }
}
