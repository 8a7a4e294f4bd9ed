// nsqd as an nsqlookupd client (nsqd's lookupLoop, lookupPeer and connectCallback), seen from a
// recording lookupd on a real socket: the commands it receives, in order, and nsqd's log lines,
// for a start from nsqd.dat, a lookupd that goes away, IDENTIFY answers nsqd refuses, and the
// dial, read and size errors in Go's words.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { rmSync } from 'node:fs';
import { Logger } from '../../src/internal/log.js';
import { http, startNsqd, tempDir, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { freePort } from '../helpers/proc.js';
import type { NsqdInit } from '../../src/nsqd/nsqd.js';

/** One connection to the recording lookupd: the commands it sent, as text. */
interface FakeConn {
  socket: Socket;
  commands: string[];
}

/** What the recording lookupd answers to one command of a connection (null: nothing). */
type Answer = (cmd: string, conn: number) => Buffer | null;

const sizedReply = (text: string): Buffer => {
  const body = Buffer.from(text);
  const b = Buffer.alloc(4 + body.length);
  b.writeInt32BE(body.length, 0);
  body.copy(b, 4);
  return b;
};

const PEER_INFO = '{"tcp_port":4160,"http_port":4161,"version":"1.3.0","broadcast_address":"fake"}';

/** A lookupd that records the V1 commands it gets and answers through `answer` (default: nsqlookupd's). */
class RecordingLookupd {
  readonly conns: FakeConn[] = [];
  answer: Answer = (cmd) => sizedReply(cmd.startsWith('IDENTIFY') ? PEER_INFO : 'OK');
  private server: Server | null = null;
  port = 0;

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Every command received, over all connections. */
  all(): string[] {
    return this.conns.flatMap((c) => c.commands);
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  private accept(socket: Socket): void {
    const conn: FakeConn = { socket, commands: [] };
    const index = this.conns.push(conn) - 1;
    let buf = Buffer.alloc(0);
    let magic = false;
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (!magic) {
          if (buf.length < 4) return;
          assert.is(buf.subarray(0, 4).toString(), '  V1');
          buf = buf.subarray(4);
          magic = true;
        }
        const nl = buf.indexOf(0x0a);
        if (nl === -1) return;
        let cmd = buf.subarray(0, nl).toString();
        let used = nl + 1;
        if (cmd === 'IDENTIFY') {
          if (buf.length < used + 4) return;
          const size = buf.readInt32BE(used);
          if (buf.length < used + 4 + size) return;
          cmd += ` ${buf.subarray(used + 4, used + 4 + size).toString()}`;
          used += 4 + size;
        }
        buf = buf.subarray(used);
        conn.commands.push(cmd);
        const reply = this.answer(cmd, index);
        if (reply !== null && !socket.destroyed) socket.write(reply);
      }
    });
  }
}

/** nsqd's log lines without prefix and time: `INFO: LOOKUP connecting to ...`. */
function logSink(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = new Logger({ prefix: '[nsqd] ', level: 1, write: (l) => void lines.push(l.replace(/^\[nsqd\] \S+ \S+ /, '').trimEnd()) });
  return { logger, lines };
}

const lookupLines = (lines: string[]): string[] => lines.filter((l) => /LOOKUP/.test(l));

async function withLookupNsqd(init: NsqdInit, fn: (d: TestNsqd, lines: string[]) => Promise<void>): Promise<void> {
  const { logger, lines } = logSink();
  const d = await startNsqd({ logger, ...init });
  try {
    await fn(d, lines);
  } finally {
    await d.close();
  }
}

test('start from nsqd.dat: IDENTIFY, the replay of every registration, then the loaded topics and channels announced again, with nsqd\'s log lines', async () => {
  const lookupd = new RecordingLookupd();
  await lookupd.start();
  const dataPath = tempDir();
  try {
    const first = await startNsqd({ dataPath });
    await http('POST', `${first.url}/topic/create?topic=t0`);
    await http('POST', `${first.url}/channel/create?topic=t0&channel=c0`);
    await http('POST', `${first.url}/topic/create?topic=t1`);
    await first.close();

    const { logger, lines } = logSink();
    const d = await startNsqd({ dataPath, logger, nsqlookupdTcpAddresses: [lookupd.addr], broadcastAddress: 'b<1>&', lookupdPingIntervalMs: 60_000 });
    try {
      await waitFor(() => lookupd.all().length >= 6, 5000, 'six commands');
      const a = lookupd.addr;
      // Go's json.Marshal of the map: sorted keys, <, > and & escaped.
      const identify = `IDENTIFY {"broadcast_address":"b\\u003c1\\u003e\\u0026","hostname":"${hostname()}","http_port":${d.httpPort},"tcp_port":${d.tcpPort},"version":"1.3.0"}`;
      assert.equal(lookupd.all(), [identify, 'REGISTER t0 c0', 'REGISTER t1', 'REGISTER t0', 'REGISTER t0 c0', 'REGISTER t1']);
      assert.equal(lookupLines(lines), [
        `INFO: LOOKUP(${a}): adding peer`,
        `INFO: LOOKUP connecting to ${a}`,
        `INFO: LOOKUPD(${a}): peer info {TCPPort:4160 HTTPPort:4161 Version:1.3.0 BroadcastAddress:fake}`,
        `INFO: LOOKUPD(${a}): REGISTER t0 c0`,
        `INFO: LOOKUPD(${a}): REGISTER t1`,
        `INFO: LOOKUPD(${a}): topic REGISTER t0`,
        `INFO: LOOKUPD(${a}): channel REGISTER t0 c0`,
        `INFO: LOOKUPD(${a}): topic REGISTER t1`,
      ]);
      // Runtime changes: announced before they are sent, the answer not logged.
      await http('POST', `${d.url}/channel/delete?topic=t0&channel=c0`);
      await waitFor(() => lookupd.all().includes('UNREGISTER t0 c0'), 5000, 'UNREGISTER');
      assert.ok(lines.includes(`INFO: LOOKUPD(${a}): channel UNREGISTER t0 c0`), lines.join('\n'));
    } finally {
      await d.close();
    }
    assert.is(lines.at(-1) === 'INFO: NSQ: bye' && lines.includes('INFO: LOOKUP: closing'), true, lines.join('\n'));
  } finally {
    await lookupd.close();
    rmSync(dataPath, { recursive: true, force: true });
  }
});

test('a lookupd that went away is noticed by the next PING ("PING - EOF"); the one after reconnects and replays IDENTIFY and the registrations', async () => {
  const lookupd = new RecordingLookupd();
  await lookupd.start();
  try {
    await withLookupNsqd({ nsqlookupdTcpAddresses: [lookupd.addr], lookupdPingIntervalMs: 150 }, async (d, lines) => {
      await http('POST', `${d.url}/topic/create?topic=gone`);
      await waitFor(() => lookupd.all().includes('REGISTER gone'), 5000, 'REGISTER gone');
      lookupd.conns[0]!.socket.end();
      await waitFor(() => lines.includes(`ERROR: LOOKUPD(${lookupd.addr}): PING - EOF`), 5000, 'PING - EOF');
      await waitFor(() => (lookupd.conns[1]?.commands.length ?? 0) >= 3, 5000, 'a second connection');
      const second = lookupd.conns[1]!.commands;
      assert.ok(second[0]!.startsWith('IDENTIFY {'), second[0]);
      assert.equal(second.slice(1, 3), ['REGISTER gone', 'PING']);
    });
  } finally {
    await lookupd.close();
  }
});

test('IDENTIFY answers nsqd refuses: E_INVALID (info), not JSON or a wrong type (parsing response), no broadcast address (logged, kept)', async () => {
  const lookupd = new RecordingLookupd();
  await lookupd.start();
  const identifyAnswers = ['E_INVALID', 'E_INVALID', 'garbage', '{"tcp_port":"x"}', '{}'];
  lookupd.answer = (cmd, conn) => sizedReply(cmd.startsWith('IDENTIFY') ? identifyAnswers[conn] ?? PEER_INFO : 'OK');
  const a = lookupd.addr;
  try {
    await withLookupNsqd({ nsqlookupdTcpAddresses: [a], lookupdPingIntervalMs: 60_000 }, async (d, lines) => {
      // Connection 0 (start-up): refused quietly. Connection 1, made for the REGISTER: refused, so the command fails.
      await waitFor(() => lines.includes(`INFO: LOOKUPD(${a}): lookupd returned E_INVALID`), 5000, 'E_INVALID');
      await http('POST', `${d.url}/topic/create?topic=t_a`);
      await waitFor(() => lines.includes(`ERROR: LOOKUPD(${a}): REGISTER t_a - lookupPeer connectCallback() failed`), 5000, 'callback failed');
      for (const topic of ['t_b', 't_c', 't_d']) await http('POST', `${d.url}/topic/create?topic=${topic}`);
      await waitFor(() => lookupd.all().includes('REGISTER t_d'), 5000, 'REGISTER t_d on connection 4');
      const since = lookupLines(lines).slice(lookupLines(lines).indexOf(`INFO: LOOKUPD(${a}): topic REGISTER t_a`));
      assert.equal(since, [
        `INFO: LOOKUPD(${a}): topic REGISTER t_a`,
        `INFO: LOOKUP connecting to ${a}`,
        `INFO: LOOKUPD(${a}): lookupd returned E_INVALID`,
        `ERROR: LOOKUPD(${a}): REGISTER t_a - lookupPeer connectCallback() failed`,
        `INFO: LOOKUPD(${a}): topic REGISTER t_b`,
        `INFO: LOOKUP connecting to ${a}`,
        `ERROR: LOOKUPD(${a}): parsing response - garbage`,
        `ERROR: LOOKUPD(${a}): REGISTER t_b - lookupPeer connectCallback() failed`,
        `INFO: LOOKUPD(${a}): topic REGISTER t_c`,
        `INFO: LOOKUP connecting to ${a}`,
        `ERROR: LOOKUPD(${a}): parsing response - {"tcp_port":"x"}`,
        `ERROR: LOOKUPD(${a}): REGISTER t_c - lookupPeer connectCallback() failed`,
        `INFO: LOOKUPD(${a}): topic REGISTER t_d`,
        `INFO: LOOKUP connecting to ${a}`,
        `INFO: LOOKUPD(${a}): peer info {TCPPort:0 HTTPPort:0 Version: BroadcastAddress:}`,
        `ERROR: LOOKUPD(${a}): no broadcast address`,
        `INFO: LOOKUPD(${a}): REGISTER t_a`,
        `INFO: LOOKUPD(${a}): REGISTER t_b`,
        `INFO: LOOKUPD(${a}): REGISTER t_c`,
        `INFO: LOOKUPD(${a}): REGISTER t_d`,
      ]);
    });
  } finally {
    await lookupd.close();
  }
});

test('dial, read-deadline and response-size failures are logged in Go\'s words; the first connect\'s failure is not logged', async () => {
  const closedPort = await freePort();
  const refused = `127.0.0.1:${closedPort}`;
  await withLookupNsqd({ nsqlookupdTcpAddresses: [refused], lookupdPingIntervalMs: 100 }, async (_d, lines) => {
    await waitFor(() => lines.includes(`ERROR: LOOKUPD(${refused}): PING - dial tcp ${refused}: connect: connection refused`), 5000, 'refused');
    assert.equal(lookupLines(lines).slice(0, 5), [
      `INFO: LOOKUP(${refused}): adding peer`,
      `INFO: LOOKUP connecting to ${refused}`,
      `DEBUG: LOOKUPD(${refused}): sending heartbeat`,
      `INFO: LOOKUP connecting to ${refused}`,
      `ERROR: LOOKUPD(${refused}): PING - dial tcp ${refused}: connect: connection refused`,
    ]);
  });

  const silent = new RecordingLookupd();
  await silent.start();
  silent.answer = (cmd) => (cmd === 'PING' ? null : sizedReply(cmd.startsWith('IDENTIFY') ? PEER_INFO : 'OK'));
  try {
    await withLookupNsqd({ nsqlookupdTcpAddresses: [silent.addr], lookupdPingIntervalMs: 100 }, async (_d, lines) => {
      const timeout = new RegExp(`^ERROR: LOOKUPD\\(${silent.addr}\\): PING - read tcp 127\\.0\\.0\\.1:\\d+->${silent.addr}: i/o timeout$`);
      await waitFor(() => lines.some((l) => timeout.test(l)), 5000, 'read deadline');
    });
  } finally {
    await silent.close();
  }

  const huge = new RecordingLookupd();
  await huge.start();
  huge.answer = (cmd) => {
    if (cmd.startsWith('IDENTIFY')) return sizedReply(PEER_INFO);
    const b = Buffer.alloc(4);
    b.writeInt32BE(5000, 0);
    return b;
  };
  try {
    await withLookupNsqd({ nsqlookupdTcpAddresses: [huge.addr], lookupdPingIntervalMs: 100, maxBodySize: 4096 }, async (_d, lines) => {
      await waitFor(() => lines.includes(`ERROR: LOOKUPD(${huge.addr}): PING - response body size (5000) is greater than limit (4096)`), 5000, 'size limit');
    });
  } finally {
    await huge.close();
  }
});

test.run();
