import { mkdirSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { TLSSocket, TlsOptions } from 'node:tls';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { createGoServer } from '../internal/http.js';
import { errorText, Logger } from '../internal/log.js';
import { backend as defaultBackend, backendDescription, type Backend } from '../native/index.js';
import type { FrameScanner } from '../native/backend.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { DiskQueue } from '../diskqueue/diskqueue.js';
import { ioCounters } from '../diskqueue/segment-writer.js';
import { DummyBackendQueue, type BackendQueue } from './backend-queue.js';
import type { Channel } from './channel.js';
import { OutputPool, type ClientV2 } from './client-v2.js';
import { PublishScratch } from './message-batch.js';
import type { Notification, NsqdContext } from './context.js';
import { DirLock } from './dirlock.js';
import { createHttpHandler, statsDocument as buildStatsDocument } from './http.js';
import type { StatsDocument } from './stats.js';
import { hostKey, prefix as statsdPrefix, StatsdPusher } from './statsd.js';
import { boundPort, listen, parseListenAddress } from './listen.js';
import { GO_TCP_KEEPALIVE_MS, listeningAddress } from '../internal/listen.js';
import { LookupLoop, LOOKUPD_PING_INTERVAL_MS, type LookupHost } from './lookup.js';
import { metadataFile, readMetadata, SerialRewriter, writeFileAtomic, type Metadata } from './metadata.js';
import { defaultNsqdOptions, QUEUE_SCAN_INTERVAL_MS, TLS_REQUIRED, validateNsqdOptions, type NsqdOptions } from './options.js';
import { ProtocolV2, type ProtocolHost } from './protocol-v2.js';
import { clientCertError } from '../internal/go-tls.js';
import { buildClientTls, buildTlsOptions, clientAuthPolicy, TlsHandshaker, type ClientTls } from './tls.js';
import { Topic } from './topic.js';

/** nsqd's version string. */
export const VERSION = '1.3.0';

/**
 * Construction options: any subset of NsqdOptions plus an optional logger, and (for tests) the
 * nsqlookupd ping interval in ms (nsqd's fixed 15 s by default).
 */
export type NsqdInit = Partial<NsqdOptions> & { logger?: Logger; lookupdPingIntervalMs?: number };

/**
 * The nsqd daemon as a library: `const n = new Nsqd({...}); await n.start(); ... await n.close()`.
 * Owns topics, the TCP and HTTP servers and the queue-scan loop; the parts see it through
 * NsqdContext.
 */
export class Nsqd implements NsqdContext, ProtocolHost, LookupHost {
  readonly opts: NsqdOptions;
  readonly logger: Logger;
  readonly backend: Backend;
  readonly mpubSplitter: Pick<FrameScanner, 'splitMpub'>;
  readonly publishScratch = new PublishScratch();
  readonly outputPool = new OutputPool();
  readonly topics = new Map<string, Topic>();
  readonly clients = new Map<number, ClientV2>();
  isLoading = false;
  /** Unix seconds when start() ran. */
  startTime = 0;
  /** process.hrtime.bigint() when start() ran (the text /stats uptime, to the nanosecond as Go's). */
  startHrtime = 0n;
  private health: Error | null = null;
  private clientIdSequence = 0;
  private tcpServer: TcpServer | null = null;
  private httpServer: HttpServer | null = null;
  private httpsServer: HttpServer | null = null;
  /** Server TLS options from --tls-cert/--tls-key (null when not both set). */
  readonly tlsServerOptions: TlsOptions | null;
  readonly tlsHandshaker: TlsHandshaker | null;
  readonly clientTls: ClientTls | null;
  private readonly sockets = new Set<Socket>();
  private scanTimer: NodeJS.Timeout | null = null;
  private pumpQueue: { pump(): void; pumpScheduled: boolean }[] = [];
  private pumpQueued = false;
  /** Background rewrites of nsqd.dat; closing writes the final one itself, synchronously. */
  private readonly metadataWriter: SerialRewriter;
  private closing = false;
  private readonly protocol: ProtocolV2;
  private readonly dirLock: DirLock;
  private readonly statsd: StatsdPusher;
  private readonly lookup: LookupLoop;
  private readonly lookupdPingIntervalMs: number;

  constructor(init: NsqdInit = {}) {
    const { logger, lookupdPingIntervalMs, ...opts } = init;
    this.lookupdPingIntervalMs = lookupdPingIntervalMs ?? LOOKUPD_PING_INTERVAL_MS;
    this.opts = { ...defaultNsqdOptions(), ...opts };
    this.logger = logger ?? new Logger({ prefix: this.opts.logPrefix, level: this.opts.logLevel, json: this.opts.logJson });
    const invalid = validateNsqdOptions(this.opts);
    if (invalid !== '') throw new Error(invalid);
    this.backend = defaultBackend;
    this.mpubSplitter = this.backend.createFrameScanner({ maxMsgSize: this.opts.maxMsgSize, maxBodySize: this.opts.maxBodySize });
    this.protocol = new ProtocolV2(this);
    this.dirLock = new DirLock(this.opts.dataPath, this.backend.dirLocker);
    this.metadataWriter = new SerialRewriter(
      metadataFile(this.opts.dataPath),
      () => (this.closing ? null : JSON.stringify(this.metadata())),
      (err) => this.logger.error(`failed to persist metadata - ${err.message}`),
    );
    this.tlsServerOptions = buildTlsOptions(this.opts);
    this.clientTls = buildClientTls(this.opts);
    this.tlsHandshaker = this.tlsServerOptions === null ? null : new TlsHandshaker(this.tlsServerOptions, clientAuthPolicy(this.opts.tlsClientAuthPolicy));
    this.statsd = new StatsdPusher(this);
    this.lookup = new LookupLoop(this, VERSION);
  }

  /** The stats document the statsd pusher sends: no clients, memory when --statsd-mem-stats. */
  statsDocument(): StatsDocument {
    return buildStatsDocument(this, '', '', false, this.opts.statsdMemStats);
  }

  /** Whether clients may negotiate TLS. */
  get tlsEnabled(): boolean {
    return this.tlsServerOptions !== null;
  }

  /** Actual HTTPS port (after start), 0 when HTTPS is off. */
  get httpsPort(): number {
    return this.httpsServer === null ? 0 : boundPort(this.httpsServer);
  }

  /** Actual TCP port (after start), -1 for a unix socket. */
  get tcpPort(): number {
    return this.tcpServer === null ? 0 : boundPort(this.tcpServer);
  }

  /** Actual HTTP port (after start), -1 for a unix socket, 0 when HTTP is off. */
  get httpPort(): number {
    return this.httpServer === null ? 0 : boundPort(this.httpServer);
  }

  /** `OK` or `NOK - <error>`, as /ping and /stats report it. */
  getHealth(): string {
    return this.health === null ? 'OK' : `NOK - ${this.health.message}`;
  }

  /** Whether the last backend write succeeded. */
  isHealthy(): boolean {
    return this.health === null;
  }

  setHealth(err: Error | null): void {
    if (err === null && this.health === null) return;
    this.health = err;
  }

  /**
   * Load metadata, open listeners and start the loops. A failure rejects with nsqd's fatal text:
   * `failed to instantiate nsqd - ...` (data path in use, a listener) or `failed to load metadata - ...`.
   */
  async start(): Promise<void> {
    this.startTime = Math.floor(Date.now() / 1000);
    this.startHrtime = process.hrtime.bigint();
    const o = this.opts;
    this.logger.info(`nsqd v${VERSION} (built w/${process.version})`);
    this.logger.info(`ID: ${o.nodeId}`);
    this.logger.info(`hot paths: ${backendDescription()}`);
    if (o.dataPath !== '') mkdirSync(o.dataPath, { recursive: true });
    if (this.dirLock.lock() !== null) {
      throw new Error(`failed to instantiate nsqd - --data-path=${o.dataPath === '' ? '.' : o.dataPath} in use (possibly by another instance of nsqd)`);
    }
    try {
      this.loadMetadata();
    } catch (err) {
      this.dirLock.unlock();
      throw new Error(`failed to load metadata - ${errorText(err)}`, { cause: err });
    }
    this.persistMetadata();

    try {
      // allowHalfOpen: a client's EOF ends the reading only; what it sent before is still
      // answered (publishes waiting on the disk included), then nsqd closes, as Go nsqd does.
      const tcp = createTcpServer({ noDelay: true, allowHalfOpen: true, keepAlive: true, keepAliveInitialDelay: GO_TCP_KEEPALIVE_MS }, (socket) => this.onConnection(socket));
      await this.listenOn('TCP', tcp, o.tcpAddress);
      this.tcpServer = tcp;
      const handler = createHttpHandler(this);
      if (this.tlsServerOptions !== null && o.httpsAddress !== '') {
        const https = createGoServer(handler, {
          options: this.tlsServerOptions,
          // net/http logs a failed handshake through nsqd's logger at WARNING (http_api.Serve's ErrorLog).
          errorLog: (line) => this.logger.warn(line),
          // Under `require` Node asks for a certificate but cannot demand one it does not verify;
          // under `require-verify` OpenSSL and Node refuse in the handshake (see tls.ts).
          ...(clientAuthPolicy(o.tlsClientAuthPolicy) === 'require' ? { refuseClient: (s: TLSSocket) => clientCertError(s, 'require') } : {}),
        });
        await this.listenOn('HTTPS', https, o.httpsAddress);
        this.httpsServer = https;
      }
      if (o.httpAddress !== '') {
        // With --tls-required=true plain HTTP only says where HTTPS is.
        const http = createGoServer(o.tlsRequired === TLS_REQUIRED ? tlsRequiredHandler(() => this.httpsPort) : handler);
        await this.listenOn('HTTP', http, o.httpAddress);
        this.httpServer = http;
      }
    } catch (err) {
      for (const srv of [this.tcpServer, this.httpsServer, this.httpServer]) srv?.close();
      this.dirLock.unlock();
      throw err;
    }
    // As nsqd's New(): unset broadcast ports become the ports listened on (not for unix sockets
    // or a disabled HTTP), and --statsd-prefix is expanded once, so /config shows what is in force.
    if (o.broadcastHttpPort === 0 && this.httpPort > 0) o.broadcastHttpPort = this.httpPort;
    if (o.broadcastTcpPort === 0 && this.tcpPort > 0) o.broadcastTcpPort = this.tcpPort;
    o.statsdPrefix = statsdPrefix(o.statsdPrefix, hostKey(o.broadcastAddress, o.broadcastHttpPort));
    this.scanTimer = setInterval(() => this.queueScan(), QUEUE_SCAN_INTERVAL_MS);
    this.statsd.start();
    this.lookup.start(this.lookupdPingIntervalMs);
  }

  private async listenOn(name: string, server: TcpServer, address: string): Promise<void> {
    try {
      await listen(server, parseListenAddress(address));
    } catch (err) {
      throw new Error(`failed to instantiate nsqd - listen (${address}) failed - ${errorText(err)}`, { cause: err });
    }
    this.logger.info(`${name}: listening on ${listeningAddress(server)}`);
  }

  private onConnection(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.protocol.handle(socket);
  }

  /** Stop: listeners, clients, metadata, then every topic persists its messages. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // nsqd's Exit, with its log lines: listeners and clients closed, metadata saved, topics
    // closed (each persisting its messages), then the loops stop.
    const tcpAddr = this.tcpServer === null ? '' : listeningAddress(this.tcpServer);
    const tcpClosed = this.tcpServer === null ? Promise.resolve() : new Promise<void>((r) => this.tcpServer!.close(() => r()));
    for (const c of [...this.clients.values()]) c.close();
    for (const s of this.sockets) s.destroy();
    for (const [name, srv] of [['HTTP', this.httpServer], ['HTTPS', this.httpsServer]] as const) {
      if (srv === null) continue;
      const addr = listeningAddress(srv);
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
      this.logger.info(`${name}: closing ${addr}`);
    }
    await tcpClosed.catch(() => undefined);
    if (this.tcpServer !== null) this.logger.info(`TCP: closing ${tcpAddr}`);
    // The last background write lands before the final one, which has everything.
    await this.metadataWriter.idle();
    this.persistMetadata();
    this.logger.info('NSQ: closing topics');
    await Promise.all([...this.topics.values()].map((t) => t.exit(false)));
    this.logger.info('NSQ: stopping subsystems');
    this.lookup.close();
    if (this.scanTimer !== null) clearInterval(this.scanTimer);
    this.scanTimer = null;
    this.logger.info('QUEUESCAN: closing');
    this.statsd.stop();
    this.dirLock.unlock();
    this.logger.info(`DISK: ${ioCounters.batches} write batches, ${ioCounters.syncs} fdatasyncs, ${(ioCounters.bytes / 1048576).toFixed(1)} MiB written`);
    this.logger.info('NSQ: bye');
  }

  // --- ProtocolHost ---

  nextClientId(): number {
    return ++this.clientIdSequence;
  }

  addClient(client: ClientV2): void {
    this.clients.set(client.id, client);
  }

  removeClient(client: ClientV2): void {
    this.clients.delete(client.id);
  }

  // --- topics ---

  getTopic(name: string): Topic {
    let t = this.topics.get(name);
    if (t !== undefined) return t;
    t = new Topic(name, this, (topic) => void this.deleteExistingTopic(topic.name));
    this.topics.set(name, t);
    this.logger.info(`TOPIC(${name}): created`);
    this.notify({ kind: 'topic-created', topic: name, ephemeral: t.ephemeral });
    if (this.isLoading) return t;
    this.startTopic(t);
    return t;
  }

  /**
   * Start a topic created at runtime. With nsqlookupd, first create the channels the lookupds
   * know for it (not ephemeral ones), so none misses the first messages (nsqd's GetTopic asks
   * /channels the same way). Until then published messages wait in the topic.
   */
  private startTopic(t: Topic): void {
    if (!this.lookup.configured) {
      t.start();
      return;
    }
    void this.lookup.topicChannels(t.name).then((names) => {
      if (names === null) this.logger.error(`no available nsqlookupd to query for channels to pre-create for topic ${t.name}`);
      else for (const c of names) if (!c.endsWith('#ephemeral') && !t.exiting) t.getChannel(c);
      if (!t.exiting) t.start();
    });
  }

  /** Every topic with its channels (the registrations replayed to nsqlookupd on each connect). */
  registrations(): { topic: string; channels: string[] }[] {
    return [...this.topics.values()].map((t) => ({ topic: t.name, channels: t.channelList.map((c) => c.name) }));
  }

  /**
   * The topic if it exists and is not being deleted: the HTTP API treats one being deleted as
   * gone (404), where nsqd's empty would fail on its closed disk queue (500).
   */
  getExistingTopic(name: string): Topic | undefined {
    const t = this.topics.get(name);
    return t === undefined || t.exiting ? undefined : t;
  }

  async deleteExistingTopic(name: string): Promise<Error | null> {
    const t = this.topics.get(name);
    if (t === undefined) return new Error('topic does not exist');
    // As nsqd: the topic stays in the map (exiting) until its files are gone, so a racing PUB
    // is refused ('exiting') instead of re-creating the topic on the files being removed.
    await t.exit(true);
    if (this.topics.get(name) === t) this.topics.delete(name);
    return null;
  }

  createBackendQueue(name: string, ephemeral: boolean, kind: 'topic' | 'channel'): BackendQueue {
    if (ephemeral) return new DummyBackendQueue();
    const o = this.opts;
    return new DiskQueue({
      name,
      dataPath: o.dataPath === '' ? '.' : o.dataPath,
      maxBytesPerFile: o.maxBytesPerFile,
      minMsgSize: 26,
      maxMsgSize: o.maxMsgSize + 26,
      syncEvery: o.syncEvery,
      syncTimeoutMs: o.syncTimeout,
      io: this.backend.io,
      logger: this.logger,
      durable: o.durablePublish,
      ackReads: o.durablePublish || kind === 'topic',
      maxBytes: o.maxBytesPerQueue,
    });
  }

  notify(n: Notification): void {
    // As nsqd's Notify: what is loaded from nsqd.dat is announced too (after the lookup loop's
    // first connect, which registers it already), but not persisted while loading.
    this.lookup.notify(n);
    if (!n.ephemeral && !this.isLoading) this.schedulePersist();
  }

  schedulePump(ch: { pump(): void; pumpScheduled: boolean }): void {
    if (ch.pumpScheduled) return;
    ch.pumpScheduled = true;
    this.pumpQueue.push(ch);
    if (!this.pumpQueued) {
      this.pumpQueued = true;
      queueMicrotask(this.runPumps);
    }
  }

  private readonly runPumps = (): void => {
    this.pumpQueued = false;
    const q = this.pumpQueue;
    this.pumpQueue = [];
    for (let i = 0; i < q.length; i++) q[i]!.pump();
  };

  /** Every channel of every topic. */
  *allChannels(): Generator<Channel> {
    for (const t of this.topics.values()) yield* t.channelList;
  }

  /** nsqd's queue-scan loop: requeue timed-out in-flight messages, release due deferred ones. */
  private queueScan(): void {
    const now = performance.now();
    for (const t of this.topics.values()) {
      for (const ch of t.channelList) {
        if (ch.exiting) continue;
        if (ch.inFlight.size > 0) ch.processInFlightQueue(now);
        if (ch.deferred.size > 0) ch.processDeferredQueue(now);
      }
    }
  }

  // --- metadata (nsqd.dat) ---

  private loadMetadata(): void {
    const file = metadataFile(this.opts.dataPath);
    const m = readMetadata(file);
    if (m === null) return;
    this.isLoading = true;
    try {
      for (const tm of m.topics ?? []) {
        if (!isValidTopicName(tm.name)) {
          this.logger.warn(`skipping creation of invalid topic ${tm.name}`);
          continue;
        }
        const t = this.getTopic(tm.name);
        if (tm.paused) t.setPaused(true);
        for (const cm of tm.channels ?? []) {
          if (!isValidChannelName(cm.name)) {
            this.logger.warn(`skipping creation of invalid channel ${cm.name}`);
            continue;
          }
          const ch = t.getChannel(cm.name);
          if (cm.paused) ch?.setPaused(true);
        }
      }
    } finally {
      this.isLoading = false;
    }
    for (const t of this.topics.values()) t.start();
  }

  /** The current nsqd.dat document. */
  metadata(): Metadata {
    const topics: NonNullable<Metadata['topics']> = [];
    for (const t of this.topics.values()) {
      // A topic being deleted is already gone (it stays in the map only until its files are).
      if (t.ephemeral || t.exiting) continue;
      const channels: { name: string; paused: boolean }[] = [];
      for (const ch of t.channelList) if (!ch.ephemeral) channels.push({ name: ch.name, paused: ch.paused });
      topics.push({ name: t.name, paused: t.paused, channels: channels.length > 0 ? channels : null });
    }
    return { topics: topics.length > 0 ? topics : null, version: VERSION };
  }

  /** Write nsqd.dat now, blocking (at start and at close). */
  persistMetadata(): void {
    const file = metadataFile(this.opts.dataPath);
    try {
      writeFileAtomic(file, JSON.stringify(this.metadata()));
    } catch (err) {
      this.logger.error(`failed to persist metadata - ${(err as Error).message}`);
    }
  }

  /**
   * Write nsqd.dat with the changes made so far, off the event loop (its fsync can take tens of
   * ms on a busy disk, which nsqd spends in its notify goroutine, not in front of every client);
   * resolves once a write holding this change is on disk (or failed, logged as nsqd does).
   */
  schedulePersist(): Promise<void> {
    return this.metadataWriter.request();
  }

  /** True after PUT /config/nsqlookupd_tcp_addresses with `null` (Go then holds a nil slice). */
  lookupdAddressesNil = false;

  /** Replace the nsqlookupd TCP addresses (PUT /config/nsqlookupd_tcp_addresses). */
  setLookupdAddresses(addresses: string[] | null): void {
    this.lookupdAddressesNil = addresses === null;
    this.opts.nsqlookupdTcpAddresses = [...(addresses ?? [])];
    this.lookup.addressesChanged();
  }

  /** The OS hostname (for /info). */
  hostname(): string {
    return hostname();
  }
}

/** Plain HTTP under --tls-required=true: every request gets nsqd's 403 pointing at HTTPS. */
function tlsRequiredHandler(httpsPort: () => number): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void {
  return (req, res) => {
    req.resume();
    const body = `{"message": "TLS_REQUIRED", "https_port": ${httpsPort()}}`;
    res.writeHead(403, {
      'X-Nsq-Content-Type': 'nsq; version=1.0',
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  };
}
