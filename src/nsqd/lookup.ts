import { connect, type Socket } from 'node:net';
import { joinHostPort } from '../internal/listen.js';
import { hostname } from 'node:os';
import { ClusterInfo } from '../internal/clusterinfo/cluster-info.js';
import { UpstreamClient } from '../internal/clusterinfo/upstream.js';
import { errorText, type Logger } from '../internal/log.js';
import { MAGIC_V1 } from '../protocol/frames.js';
import type { Notification } from './context.js';
import type { NsqdOptions } from './options.js';

/** nsqd pings every nsqlookupd this often (nsqd's lookupLoop ticker; not a flag). */
export const LOOKUPD_PING_INTERVAL_MS = 15_000;
/** Dial timeout and the deadline of every read and write on a lookupd connection (nsqd's lookupPeer). */
const PEER_TIMEOUT_MS = 1000;

/** What the lookup loop needs from nsqd. */
export interface LookupHost {
  readonly opts: NsqdOptions;
  readonly logger: Logger;
  readonly tcpPort: number;
  readonly httpPort: number;
  /** Every topic with its channel names, for the registrations replayed on each (re)connect. */
  registrations(): { topic: string; channels: string[] }[];
}

/** What an nsqlookupd answered to IDENTIFY: where its HTTP API is. */
interface PeerInfo {
  broadcastAddress: string;
  httpPort: number;
}

/**
 * One nsqlookupd TCP connection (nsqd's lookupPeer): connected lazily when a command must be
 * sent, `  V1` then IDENTIFY and every registration on each (re)connect, one command at a time,
 * each read and write bounded by a 1 s deadline; any I/O error closes it, and the next command
 * reconnects.
 */
class LookupPeer {
  readonly addr: string;
  info: PeerInfo | null = null;
  private socket: Socket | null = null;
  private input: Buffer = Buffer.alloc(0);
  private waiting: ((ok: boolean) => void) | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly loop: LookupLoop;

  constructor(addr: string, loop: LookupLoop) {
    this.addr = addr;
    this.loop = loop;
  }

  toString(): string {
    return this.addr;
  }

  /** Queue a command (null: only connect); resolves with the reply, or an Error. */
  command(cmd: Buffer | null): Promise<Buffer | Error | null> {
    const run = this.chain.then(() => this.exec(cmd));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Close for good (the address was removed, or nsqd is exiting). */
  close(): void {
    this.closed = true;
    this.disconnect();
  }

  private async exec(cmd: Buffer | null): Promise<Buffer | Error | null> {
    if (this.closed) return new Error('peer closed');
    if (this.socket === null) {
      const err = await this.connect();
      if (err !== null) return err;
    }
    if (cmd === null) return null;
    return this.roundTrip(cmd);
  }

  /** Dial, send the magic, IDENTIFY and register everything (nsqd's connectCallback). */
  private async connect(): Promise<Error | null> {
    const log = this.loop.host.logger;
    log.info(`LOOKUP connecting to ${this.addr}`);
    const sock = await dial(this.addr, PEER_TIMEOUT_MS);
    if (sock instanceof Error) return sock;
    if (this.closed) {
      sock.destroy();
      return new Error('peer closed');
    }
    this.socket = sock;
    this.input = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      this.input = this.input.length === 0 ? d : Buffer.concat([this.input, d]);
      this.wake(true);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (this.socket === sock) this.socket = null;
      this.wake(false);
    });
    sock.write(MAGIC_V1);
    const h = this.loop.host;
    const o = h.opts;
    const ident = JSON.stringify({
      broadcast_address: o.broadcastAddress,
      hostname: hostname(),
      http_port: o.broadcastHttpPort > 0 ? o.broadcastHttpPort : h.httpPort,
      tcp_port: o.broadcastTcpPort > 0 ? o.broadcastTcpPort : h.tcpPort,
      version: this.loop.version,
    });
    const body = Buffer.from(ident, 'utf8');
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);
    const reply = await this.roundTrip(Buffer.concat([Buffer.from('IDENTIFY\n'), size, body]));
    if (reply instanceof Error) return reply;
    const text = reply.toString('utf8');
    let info: { broadcast_address?: unknown; http_port?: unknown };
    try {
      if (text === 'E_INVALID') throw new Error(text);
      info = JSON.parse(text) as typeof info;
      if (info === null || typeof info !== 'object') throw new Error('not an object');
    } catch {
      log.error(`LOOKUPD(${this.addr}): ERROR parsing response - ${text}`);
      this.disconnect();
      return new Error(`IDENTIFY answered ${text}`);
    }
    this.info = {
      broadcastAddress: typeof info.broadcast_address === 'string' ? info.broadcast_address : '',
      httpPort: typeof info.http_port === 'number' ? info.http_port : 0,
    };
    log.info(`LOOKUPD(${this.addr}): peer info ${text}`);
    for (const r of h.registrations()) {
      const cmds = r.channels.length === 0 ? [register('REGISTER', r.topic, '')] : r.channels.map((c) => register('REGISTER', r.topic, c));
      for (const c of cmds) {
        const res = await this.roundTrip(c);
        if (res instanceof Error) return res;
        this.loop.logReply(this, c, res);
      }
    }
    return null;
  }

  /** Write a command and read its [int32 size][data] reply, each within the deadline. */
  private async roundTrip(cmd: Buffer): Promise<Buffer | Error> {
    const sock = this.socket;
    if (sock === null) return new Error('not connected');
    sock.write(cmd);
    const max = this.loop.host.opts.maxBodySize;
    const deadline = Date.now() + PEER_TIMEOUT_MS;
    for (;;) {
      if (this.input.length >= 4) {
        const size = this.input.readInt32BE(0);
        if (size < 0 || size > max) {
          this.disconnect();
          return new Error(`response body size (${size}) is invalid`);
        }
        if (this.input.length >= 4 + size) {
          const data = Buffer.from(this.input.subarray(4, 4 + size));
          this.input = this.input.subarray(4 + size);
          return data;
        }
      }
      const left = deadline - Date.now();
      if (this.socket !== sock || left <= 0 || !(await this.wait(left))) {
        this.disconnect();
        return new Error(this.socket === null && left > 0 ? 'connection closed' : 'i/o timeout');
      }
    }
  }

  /** Resolve true when more input came, false on close or after ms. */
  private wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => this.wake(false), ms);
      this.waiting = (ok) => {
        clearTimeout(t);
        resolve(ok);
      };
    });
  }

  private wake(ok: boolean): void {
    const w = this.waiting;
    this.waiting = null;
    w?.(ok);
  }

  private disconnect(): void {
    const s = this.socket;
    this.socket = null;
    s?.destroy();
    this.wake(false);
  }
}

/** `REGISTER|UNREGISTER <topic>[ <channel>]\n` */
function register(verb: string, topic: string, channel: string): Buffer {
  return Buffer.from(channel === '' ? `${verb} ${topic}\n` : `${verb} ${topic} ${channel}\n`, 'utf8');
}

/** Connect with a timeout; the socket, or why not. */
function dial(addr: string, timeoutMs: number): Promise<Socket | Error> {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(addr);
  if (m === null) return Promise.resolve(new Error(`address ${addr}: missing port in address`));
  return new Promise((resolve) => {
    const sock = connect({ host: m[1] ?? m[2] ?? '', port: Number(m[3]), noDelay: true });
    const t = setTimeout(() => {
      sock.destroy();
      resolve(new Error(`dial tcp ${addr}: i/o timeout`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(t);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(t);
      sock.destroy();
      resolve(err);
    });
  });
}

/**
 * nsqd's lookup loop: a peer per --lookupd-tcp-address, REGISTER/UNREGISTER as topics and
 * channels come and go, a PING to every peer every 15 s, peers replaced live when
 * nsqlookupd_tcp_addresses changes, and the lookupds' /channels asked for a new topic's channels.
 */
export class LookupLoop {
  readonly host: LookupHost;
  readonly version: string;
  private peers: LookupPeer[] = [];
  private ticker: NodeJS.Timeout | null = null;
  private closed = false;
  /** The /channels client (nsqd's clusterinfo): no TLS, the --http-client-* timeouts read per request, queries logged at info. */
  private readonly clusterInfo: ClusterInfo;

  constructor(host: LookupHost, version: string) {
    this.host = host;
    this.version = version;
    const upstream = new UpstreamClient(() => ({
      connectTimeoutMs: host.opts.httpClientConnectTimeout,
      requestTimeoutMs: host.opts.httpClientRequestTimeout,
      rejectUnauthorized: true,
    }));
    this.clusterInfo = new ClusterInfo(upstream, (m) => host.logger.info(m));
  }

  /** Add a peer per configured address (each connects at once) and start the heartbeat. */
  start(pingIntervalMs = LOOKUPD_PING_INTERVAL_MS): void {
    this.setAddresses(this.host.opts.nsqlookupdTcpAddresses);
    this.ticker = setInterval(() => {
      for (const p of this.peers) this.send(p, Buffer.from('PING\n'));
    }, pingIntervalMs);
    this.ticker.unref();
  }

  /** Close every peer connection (nsqlookupd drops our registrations when they close). */
  close(): void {
    this.closed = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    for (const p of this.peers) p.close();
    this.peers = [];
  }

  /** Keep the peers whose address is still listed, close the others, connect the new ones. */
  setAddresses(addresses: readonly string[]): void {
    if (this.closed) return;
    const keep: LookupPeer[] = [];
    for (const p of this.peers) {
      if (addresses.includes(p.addr)) keep.push(p);
      else {
        this.host.logger.info(`LOOKUP(${p.addr}): removing peer`);
        p.close();
      }
    }
    for (const a of addresses) {
      if (keep.some((p) => p.addr === a)) continue;
      this.host.logger.info(`LOOKUP(${a}): adding peer`);
      const p = new LookupPeer(a, this);
      keep.push(p);
      void p.command(null).then((r) => {
        if (r instanceof Error) this.host.logger.error(`LOOKUPD(${a}): connect - ${r.message}`);
      });
    }
    this.peers = keep;
  }

  /** Tell every peer about a topic or channel created or deleted. */
  notify(n: Notification): void {
    if (this.closed || this.peers.length === 0) return;
    const verb = n.kind.endsWith('created') ? 'REGISTER' : 'UNREGISTER';
    const cmd = register(verb, n.topic, n.channel ?? '');
    for (const p of this.peers) this.send(p, cmd);
  }

  private send(p: LookupPeer, cmd: Buffer): void {
    void p.command(cmd).then((r) => {
      if (r instanceof Error) this.host.logger.error(`LOOKUPD(${p.addr}): ${cmd.toString('utf8').trim()} - ${r.message}`);
      else if (r !== null) this.logReply(p, cmd, r);
    });
  }

  /** Log a reply to a registration or ping the way nsqd does (errors only above debug). */
  logReply(p: LookupPeer, cmd: Buffer, reply: Buffer): void {
    const text = reply.toString('utf8');
    const what = cmd.toString('utf8').trim();
    if (text === 'OK') this.host.logger.debug(`LOOKUPD(${p.addr}): ${what}`);
    else this.host.logger.error(`LOOKUPD(${p.addr}): ${what} got ${text}`);
  }

  /** Whether any lookupd is configured. */
  get configured(): boolean {
    return this.peers.length > 0;
  }

  /** HTTP addresses of the lookupds that told us theirs (connected at least once). */
  httpAddresses(): string[] {
    const out: string[] = [];
    for (const p of this.peers) {
      if (p.info === null || p.info.broadcastAddress === '') continue;
      out.push(joinHostPort(p.info.broadcastAddress, p.info.httpPort));
    }
    return out;
  }

  /**
   * The channels the lookupds know for a topic (the sorted union of their /channels answers,
   * through clusterinfo as nsqd's GetTopic asks); null when no lookupd could be asked yet. A
   * failure is logged as nsqd does; with some lookupds answering, their channels still count.
   */
  async topicChannels(topic: string): Promise<string[] | null> {
    const addrs = this.httpAddresses();
    if (addrs.length === 0) return null;
    try {
      const r = await this.clusterInfo.getLookupdTopicChannels(topic, addrs);
      if (r.warning !== undefined) this.warnPreCreate(topic, r.warning);
      return r.value;
    } catch (err) {
      this.warnPreCreate(topic, err);
      return [];
    }
  }

  private warnPreCreate(topic: string, err: unknown): void {
    this.host.logger.warn(`failed to query nsqlookupd for channels to pre-create for topic ${topic} - ${errorText(err)}`);
  }
}
