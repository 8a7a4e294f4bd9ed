import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { decodeGoStruct, type GoStruct } from '../internal/go-json.js';
import { goJSON } from '../internal/http.js';
import { GO_TCP_KEEPALIVE_MS, goDialError, goReadError, goTcpPair, joinHostPort } from '../internal/listen.js';
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
const PING = Buffer.from('PING\n');

/** What the lookup loop needs from nsqd. */
export interface LookupHost {
  readonly opts: NsqdOptions;
  readonly logger: Logger;
  readonly tcpPort: number;
  readonly httpPort: number;
  /** Every topic with its channel names, for the registrations replayed on each (re)connect. */
  registrations(): { topic: string; channels: string[] }[];
}

/** nsqd's peerInfo: what an nsqlookupd answered to IDENTIFY (a later answer's missing fields keep these). */
interface PeerInfo {
  tcpPort: number;
  httpPort: number;
  version: string;
  broadcastAddress: string;
}

const PEER_INFO: GoStruct = {
  name: 'peerInfo',
  type: 'nsqd.peerInfo',
  fields: { tcp_port: 'int', http_port: 'int', version: 'string', broadcast_address: 'string' },
};

/**
 * One nsqlookupd TCP connection (nsqd's lookupPeer): connected when a command must be sent and
 * none is open, then `  V1` and the loop's connect callback (IDENTIFY, every registration); one
 * round trip at a time, each bounded by a 1 s deadline. An I/O error closes it and the next
 * command reconnects. Like Go's, it notices a connection the lookupd closed only when a command
 * fails on it (`PING - EOF`).
 */
class LookupPeer {
  readonly addr: string;
  readonly info: PeerInfo = { tcpPort: 0, httpPort: 0, version: '', broadcastAddress: '' };
  private socket: Socket | null = null;
  private input: Buffer = Buffer.alloc(0);
  /** Why the open socket can be read no further (the lookupd closed or reset it), else null. */
  private readEnd: string | null = null;
  private waiting: ((ok: boolean) => void) | null = null;
  private removed = false;
  /** `local->remote` of the open socket, as Go's I/O errors name it (a reset socket forgets it). */
  private pair = '';
  private readonly loop: LookupLoop;

  constructor(addr: string, loop: LookupLoop) {
    this.addr = addr;
    this.loop = loop;
  }

  toString(): string {
    return this.addr;
  }

  /** lookupPeer.Command: connect (and run the connect callback) if needed, then one round trip; null only connects. */
  async command(cmd: Buffer | null): Promise<Buffer | Error | null> {
    if (this.removed) return new Error('peer removed');
    if (this.socket === null) {
      this.loop.host.logger.info(`LOOKUP connecting to ${this.addr}`);
      const sock = await dial(this.addr, PEER_TIMEOUT_MS);
      if (sock instanceof Error) return sock;
      if (this.removed) {
        sock.destroy();
        return new Error('peer removed');
      }
      this.attach(sock);
      sock.write(MAGIC_V1);
      await this.loop.connectCallback(this);
      if (this.socket !== sock) return new Error('lookupPeer connectCallback() failed');
    }
    if (cmd === null) return null;
    return this.roundTrip(cmd);
  }

  /** Close for good: the address was removed, or nsqd is exiting. */
  remove(): void {
    this.removed = true;
    this.close();
  }

  /** lookupPeer.Close: drop the connection; the next command dials again. */
  close(): void {
    const s = this.socket;
    this.socket = null;
    s?.destroy();
    this.wake(false);
  }

  /** Merge an IDENTIFY answer into info as Go's json.Unmarshal into lp.Info does; false when Go's decode fails. */
  takeInfo(reply: Buffer): boolean {
    const f = decodeGoStruct(reply.toString('utf8'), PEER_INFO, 'unmarshal');
    if (f instanceof Error) return false;
    if (f.tcp_port !== undefined) this.info.tcpPort = Number(f.tcp_port);
    if (f.http_port !== undefined) this.info.httpPort = Number(f.http_port);
    if (f.version !== undefined) this.info.version = f.version as string;
    if (f.broadcast_address !== undefined) this.info.broadcastAddress = f.broadcast_address as string;
    return true;
  }

  private attach(sock: Socket): void {
    this.socket = sock;
    this.pair = goTcpPair(sock);
    this.input = Buffer.alloc(0);
    this.readEnd = null;
    sock.on('data', (d: Buffer) => {
      this.input = this.input.length === 0 ? d : Buffer.concat([this.input, d]);
      this.wake(true);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (this.socket !== sock || this.readEnd !== null) return;
      this.readEnd = goReadError(this.pair, err);
      this.wake(false);
    });
    sock.on('close', () => {
      if (this.socket !== sock) return;
      this.readEnd ??= 'EOF';
      this.wake(false);
    });
  }

  /** Write a command and read its [int32 size][data] reply (readResponseBounded), within the deadline. */
  async roundTrip(cmd: Buffer): Promise<Buffer | Error> {
    const sock = this.socket;
    if (sock === null) return new Error('not connected');
    if (this.readEnd === null) sock.write(cmd);
    const max = this.loop.host.opts.maxBodySize;
    const deadline = Date.now() + PEER_TIMEOUT_MS;
    for (;;) {
      const have = this.input.length;
      if (have >= 4) {
        const size = this.input.readInt32BE(0);
        if (size > max) return this.fail(`response body size (${size}) is greater than limit (${max})`);
        if (size < 0) return this.fail(`response body size (${size}) is invalid`);
        if (have >= 4 + size) {
          const data = Buffer.from(this.input.subarray(4, 4 + size));
          this.input = this.input.subarray(4 + size);
          return data;
        }
      }
      if (this.readEnd !== null) {
        // io.ReadFull's words: nothing of the part being read is EOF, some of it unexpected EOF.
        const end = this.readEnd === 'EOF' && have !== 0 && have !== 4 ? 'unexpected EOF' : this.readEnd;
        return this.fail(end);
      }
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.wait(left))) {
        if (this.socket !== sock) return new Error('closed');
        if (this.readEnd === null) return this.fail(`read tcp ${this.pair}: i/o timeout`);
      }
    }
  }

  private fail(reason: string): Error {
    this.close();
    return new Error(reason);
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
}

/** `REGISTER|UNREGISTER <topic>[ <channel>]\n` */
function register(verb: string, topic: string, channel: string): Buffer {
  return Buffer.from(channel === '' ? `${verb} ${topic}\n` : `${verb} ${topic} ${channel}\n`, 'utf8');
}

/** A command as go-nsq's Command.String() prints it: its line without the newline (IDENTIFY without its body). */
function commandText(cmd: Buffer): string {
  const nl = cmd.indexOf(0x0a);
  return cmd.toString('utf8', 0, nl === -1 ? cmd.length : nl);
}

/** Connect with a timeout; the socket, or why not in Go's words. */
function dial(addr: string, timeoutMs: number): Promise<Socket | Error> {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(addr);
  if (m === null) return Promise.resolve(new Error(`dial tcp: address ${addr}: missing port in address`));
  return new Promise((resolve) => {
    const sock = connect({ host: m[1] ?? m[2] ?? '', port: Number(m[3]), noDelay: true, keepAlive: true, keepAliveInitialDelay: GO_TCP_KEEPALIVE_MS });
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
      resolve(new Error(goDialError(addr, err) ?? err.message));
    });
  });
}

/**
 * nsqd's lookup loop: a peer per --lookupd-tcp-address, REGISTER/UNREGISTER as topics and
 * channels come and go, a PING to every peer every 15 s, peers replaced live when
 * nsqlookupd_tcp_addresses changes, and the lookupds' /channels asked for a new topic's channels.
 * Like nsqd's (one goroutine), it does one thing at a time: every command to every peer goes out
 * in order, each after the previous one's answer, with nsqd's log lines.
 */
export class LookupLoop {
  readonly host: LookupHost;
  readonly version: string;
  private peers: LookupPeer[] = [];
  private ticker: NodeJS.Timeout | null = null;
  private heartbeatQueued = false;
  private started = false;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();
  /** Notifications from before start() (topics and channels loaded from nsqd.dat), sent after the first connects. */
  private early: Notification[] = [];
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

  /** Connect a peer per configured address, then send what waited, and start the heartbeat. */
  start(pingIntervalMs = LOOKUPD_PING_INTERVAL_MS): void {
    this.started = true;
    this.enqueue(() => this.connectNew());
    for (const n of this.early) this.notify(n);
    this.early = [];
    this.ticker = setInterval(() => {
      // A tick that finds the previous heartbeat still waiting is dropped (Go's time.Tick).
      if (this.heartbeatQueued) return;
      this.heartbeatQueued = true;
      this.enqueue(() => this.heartbeat());
    }, pingIntervalMs);
    this.ticker.unref();
  }

  /** Stop the loop and close every peer connection (nsqlookupd drops our registrations). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    for (const p of this.peers) p.remove();
    this.peers = [];
    if (this.started) this.host.logger.info('LOOKUP: closing');
  }

  /** nsqlookupd_tcp_addresses changed: close the peers no longer listed, connect the new ones. */
  addressesChanged(): void {
    this.enqueue(async () => {
      const listed = this.host.opts.nsqlookupdTcpAddresses;
      this.peers = this.peers.filter((p) => {
        if (listed.includes(p.addr)) return true;
        this.host.logger.info(`LOOKUP(${p.addr}): removing peer`);
        p.remove();
        return false;
      });
      await this.connectNew();
    });
  }

  /** Tell every peer about a topic or channel created or deleted. */
  notify(n: Notification): void {
    if (!this.started) {
      this.early.push(n);
      return;
    }
    const branch = n.channel === undefined ? 'topic' : 'channel';
    const cmd = register(n.kind.endsWith('created') ? 'REGISTER' : 'UNREGISTER', n.topic, n.channel ?? '');
    this.enqueue(async () => {
      for (const p of this.peers) {
        this.host.logger.info(`LOOKUPD(${p}): ${branch} ${commandText(cmd)}`);
        const r = await p.command(cmd);
        if (r instanceof Error) this.host.logger.error(`LOOKUPD(${p}): ${commandText(cmd)} - ${r.message}`);
      }
    });
  }

  /**
   * nsqd's connectCallback, run on every (re)connect before the command that caused it:
   * IDENTIFY, then REGISTER of every channel (or of a topic without channels). A failure closes
   * the peer, and the command then fails with `lookupPeer connectCallback() failed`.
   */
  async connectCallback(p: LookupPeer): Promise<void> {
    const h = this.host;
    const o = h.opts;
    const body = Buffer.from(goJSON({
      broadcast_address: o.broadcastAddress,
      hostname: hostname(),
      http_port: o.broadcastHttpPort > 0 ? o.broadcastHttpPort : h.httpPort,
      tcp_port: o.broadcastTcpPort > 0 ? o.broadcastTcpPort : h.tcpPort,
      version: this.version,
    }), 'utf8');
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);
    const reply = await p.roundTrip(Buffer.concat([Buffer.from('IDENTIFY\n'), size, body]));
    if (reply instanceof Error) {
      h.logger.error(`LOOKUPD(${p}): IDENTIFY - ${reply.message}`);
      return;
    }
    if (reply.toString('latin1') === 'E_INVALID') {
      h.logger.info(`LOOKUPD(${p}): lookupd returned E_INVALID`);
      p.close();
      return;
    }
    if (!p.takeInfo(reply)) {
      h.logger.error(`LOOKUPD(${p}): parsing response - ${reply.toString('utf8')}`);
      p.close();
      return;
    }
    const i = p.info;
    h.logger.info(`LOOKUPD(${p}): peer info {TCPPort:${i.tcpPort} HTTPPort:${i.httpPort} Version:${i.version} BroadcastAddress:${i.broadcastAddress}}`);
    if (i.broadcastAddress === '') h.logger.error(`LOOKUPD(${p}): no broadcast address`);
    const commands: Buffer[] = [];
    for (const r of h.registrations()) {
      if (r.channels.length === 0) commands.push(register('REGISTER', r.topic, ''));
      else for (const c of r.channels) commands.push(register('REGISTER', r.topic, c));
    }
    for (const cmd of commands) {
      h.logger.info(`LOOKUPD(${p}): ${commandText(cmd)}`);
      const r = await p.roundTrip(cmd);
      if (r instanceof Error) {
        h.logger.error(`LOOKUPD(${p}): ${commandText(cmd)} - ${r.message}`);
        return;
      }
    }
  }

  /** Run `task` after every earlier one (Go's loop is one goroutine); nothing runs once closed. */
  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain
      .then(() => (this.closed ? undefined : task()))
      .catch((err: unknown) => this.host.logger.error(`LOOKUP: internal error - ${errorText(err)}`));
  }

  /** Add a peer for each listed address that has none, connecting each before the next (errors are not logged, as Go's). */
  private async connectNew(): Promise<void> {
    for (const a of this.host.opts.nsqlookupdTcpAddresses) {
      if (this.closed) return;
      if (this.peers.some((p) => p.addr === a)) continue;
      this.host.logger.info(`LOOKUP(${a}): adding peer`);
      const p = new LookupPeer(a, this);
      this.peers.push(p);
      await p.command(null);
    }
  }

  private async heartbeat(): Promise<void> {
    this.heartbeatQueued = false;
    for (const p of this.peers) {
      this.host.logger.debug(`LOOKUPD(${p}): sending heartbeat`);
      const r = await p.command(PING);
      if (r instanceof Error) this.host.logger.error(`LOOKUPD(${p}): PING - ${r.message}`);
    }
  }

  /** Whether any lookupd is configured (nsqd then asks them for a new topic's channels). */
  get configured(): boolean {
    return this.host.opts.nsqlookupdTcpAddresses.length > 0;
  }

  /** HTTP addresses of the lookupds that told us theirs (connected at least once). */
  httpAddresses(): string[] {
    const out: string[] = [];
    for (const p of this.peers) {
      if (p.info.broadcastAddress === '') continue;
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
