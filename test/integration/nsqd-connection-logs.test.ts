// The log lines of a V2 connection's life, as nsqd's tcpServer.Handle, IOLoop, messagePump and
// IDENTIFY write them: accept and magic, every command at debug, IDENTIFY as Go's %+v, fatal
// errors with their parent, and the three lines of every ending with the reason it ended; and
// the line http_api.Log writes for every HTTP request.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { Logger } from '../../src/internal/log.js';
import { http, waitFor } from '../helpers/daemons.js';
import { withNsqd } from '../helpers/protocol-checks.js';
import { WireConn } from '../helpers/wire.js';

/** A debug logger keeping `LEVEL: message` lines. */
function logSink(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = new Logger({ prefix: '[nsqd] ', level: 1, write: (l) => void lines.push(l.replace(/^\[nsqd\] \S+ \S+ /, '').trimEnd()) });
  return { logger, lines };
}

/** The lines naming the connection from `port` on 127.0.0.1. */
const about = (lines: string[], port: number): string[] => lines.filter((l) => l.includes(`127.0.0.1:${port}`));

test('accept, magic, each command at debug, IDENTIFY as %+v, a fatal error with its parent, and the three lines of the ending', async () => {
  const { logger, lines } = logSink();
  await withNsqd({ logger }, async (d) => {
    const c = await WireConn.open(d.tcpPort);
    const port = c.socket.localPort!;
    const a = `127.0.0.1:${port}`;
    c.cmd('IDENTIFY', JSON.stringify({ client_id: 'c1', hostname: 'h', heartbeat_interval: 5, user_agent: 'ua/1' }));
    await c.expectError('E_BAD_BODY IDENTIFY heartbeat interval (5) is invalid');
    await c.expectClosed();
    await waitFor(() => about(lines, port).some((l) => l.includes('exiting messagePump')), 5000, 'the ending');
    const shown = '{ClientID:c1 Hostname:h HeartbeatInterval:5 OutputBufferSize:0 OutputBufferTimeout:0 FeatureNegotiation:false TLSv1:false Deflate:false DeflateLevel:0 Snappy:false SampleRate:0 UserAgent:ua/1 MsgTimeout:0}';
    assert.equal(about(lines, port), [
      `INFO: TCP: new client(${a})`,
      `INFO: CLIENT(${a}): desired protocol magic '  V2'`,
      `DEBUG: PROTOCOL(V2): [${a}] [IDENTIFY]`,
      `DEBUG: PROTOCOL(V2): [${a}] ${shown}`,
      `INFO: [${a}] IDENTIFY: ${shown}`,
      `ERROR: [${a}] - E_BAD_BODY IDENTIFY heartbeat interval (5) is invalid - heartbeat interval (5) is invalid`,
      `INFO: PROTOCOL(V2): [${a}] exiting ioloop`,
      `ERROR: client(${a}) - E_BAD_BODY IDENTIFY heartbeat interval (5) is invalid`,
      `INFO: PROTOCOL(V2): [${a}] exiting messagePump`,
    ]);

    // A JSON body Go cannot decode: the decoder's error is the parent.
    const j = await WireConn.open(d.tcpPort);
    const jPort = j.socket.localPort!;
    j.cmd('IDENTIFY', '{bad');
    await j.expectError('E_BAD_BODY IDENTIFY failed to decode JSON body');
    await j.expectClosed();
    await waitFor(() => lines.includes(`ERROR: [127.0.0.1:${jPort}] - E_BAD_BODY IDENTIFY failed to decode JSON body - invalid character 'b' looking for beginning of object key string`), 5000, 'decode parent');
  });
});

test('a clean EOF ends without an error line; a bad magic and an EOF before the magic are logged as nsqd\'s Handle does', async () => {
  const { logger, lines } = logSink();
  await withNsqd({ logger }, async (d) => {
    const c = await WireConn.open(d.tcpPort);
    const port = c.socket.localPort!;
    c.cmd('NOP');
    c.socket.end();
    await c.expectClosed();
    await waitFor(() => about(lines, port).some((l) => l.includes('exiting messagePump')), 5000, 'the ending');
    assert.equal(about(lines, port).slice(-2), [`INFO: PROTOCOL(V2): [127.0.0.1:${port}] exiting ioloop`, `INFO: PROTOCOL(V2): [127.0.0.1:${port}] exiting messagePump`]);
    assert.not.ok(lines.some((l) => l.startsWith(`ERROR: client(127.0.0.1:${port})`)));

    const bad = await WireConn.open(d.tcpPort, { magic: false });
    const badPort = bad.socket.localPort!;
    bad.write('  V1');
    await bad.expectError('E_BAD_PROTOCOL');
    await waitFor(() => lines.includes(`ERROR: client(127.0.0.1:${badPort}) bad protocol magic '  V1'`), 5000, 'bad magic');
    assert.ok(lines.includes(`INFO: CLIENT(127.0.0.1:${badPort}): desired protocol magic '  V1'`));

    for (const [sent, why] of [['', 'EOF'], [' V', 'unexpected EOF']] as const) {
      const s = connect(d.tcpPort, '127.0.0.1');
      await new Promise<void>((r) => s.once('connect', r));
      const before = lines.length;
      s.end(sent);
      await new Promise<void>((r) => s.once('close', () => r()).resume());
      await waitFor(() => lines.slice(before).includes(`ERROR: failed to read protocol version - ${why}`), 5000, why);
    }
  });
});

test('endings nsqd causes or notices, logged with why its read failed: the read deadline, a channel deleted under its subscriber, a reset', async () => {
  const { logger, lines } = logSink();
  await withNsqd({ logger }, async (d) => {
    // No command for 2 × heartbeat: the read deadline.
    const idle = await WireConn.open(d.tcpPort);
    idle.autoNop = false;
    const idlePort = idle.socket.localPort!;
    await idle.identify({ heartbeat_interval: 1000 });
    await idle.expectClosed(10_000);
    await waitFor(() => lines.some((l) => new RegExp(`^ERROR: client\\(127\\.0\\.0\\.1:${idlePort}\\) - failed to read command - read tcp 127\\.0\\.0\\.1:${d.tcpPort}->127\\.0\\.0\\.1:${idlePort}: i/o timeout$`).test(l)), 5000, 'read deadline');

    // The channel is deleted under a subscriber: nsqd closed it, so its read fails.
    const sub = await WireConn.open(d.tcpPort);
    const subPort = sub.socket.localPort!;
    await sub.sub('logs_t', 'c');
    assert.is((await http('POST', `${d.url}/channel/delete?topic=logs_t&channel=c`)).status, 200);
    await sub.expectClosed();
    await waitFor(() => lines.includes(`ERROR: client(127.0.0.1:${subPort}) - failed to read command - read tcp 127.0.0.1:${d.tcpPort}->127.0.0.1:${subPort}: use of closed network connection`), 5000, 'closed by nsqd');

    // A reset by the client.
    const rst = await WireConn.open(d.tcpPort);
    const rstPort = rst.socket.localPort!;
    assert.is(await rst.identify({}), 'OK');
    rst.socket.resetAndDestroy();
    await waitFor(() => lines.includes(`ERROR: client(127.0.0.1:${rstPort}) - failed to read command - read tcp 127.0.0.1:${d.tcpPort}->127.0.0.1:${rstPort}: read: connection reset by peer`), 5000, `reset in ${about(lines, rstPort).join("\n")}`);
  });
});

test('a stream that ends inside a body command: its error with io.ReadFull\'s (EOF when none of the field came, unexpected EOF when part did); a reset there cannot be answered', async () => {
  const { logger, lines } = logSink();
  const int32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  };
  const cases: [string, Buffer, string][] = [
    ['size cut', Buffer.concat([Buffer.from('PUB t\n'), int32(100).subarray(0, 2)]), 'E_BAD_MESSAGE PUB failed to read message body size - unexpected EOF'],
    ['no size', Buffer.from('DPUB t 10\n'), 'E_BAD_MESSAGE DPUB failed to read message body size - EOF'],
    ['no body', Buffer.concat([Buffer.from('PUB t\n'), int32(100)]), 'E_BAD_MESSAGE PUB failed to read message body - EOF'],
    ['body cut', Buffer.concat([Buffer.from('PUB t\n'), int32(100), Buffer.alloc(10)]), 'E_BAD_MESSAGE PUB failed to read message body - unexpected EOF'],
    ['IDENTIFY body cut', Buffer.concat([Buffer.from('IDENTIFY\n'), int32(20), Buffer.from('{"a"')]), 'E_BAD_BODY IDENTIFY failed to read body - unexpected EOF'],
    ['MPUB no count', Buffer.concat([Buffer.from('MPUB t\n'), int32(50)]), 'E_BAD_BODY MPUB failed to read message count - EOF'],
    ['MPUB count cut', Buffer.concat([Buffer.from('MPUB t\n'), int32(50), int32(2).subarray(0, 3)]), 'E_BAD_BODY MPUB failed to read message count - unexpected EOF'],
    ['MPUB message body cut', Buffer.concat([Buffer.from('MPUB t\n'), int32(50), int32(2), int32(5), Buffer.from('ab')]), 'E_BAD_MESSAGE MPUB failed to read message body - unexpected EOF'],
    ['MPUB no second size', Buffer.concat([Buffer.from('MPUB t\n'), int32(50), int32(2), int32(5), Buffer.from('abcde')]), 'E_BAD_MESSAGE MPUB failed to read message(1) body size - EOF'],
    ['MPUB second size cut', Buffer.concat([Buffer.from('MPUB t\n'), int32(50), int32(2), int32(5), Buffer.from('abcde'), int32(5).subarray(0, 1)]), 'E_BAD_MESSAGE MPUB failed to read message(1) body size - unexpected EOF'],
  ];
  await withNsqd({ logger }, async (d) => {
    for (const [name, bytes, logged] of cases) {
      const c = await WireConn.open(d.tcpPort);
      const port = c.socket.localPort!;
      const a = `127.0.0.1:${port}`;
      c.write(bytes);
      c.socket.end();
      await c.expectError(logged.slice(0, logged.lastIndexOf(' - ')));
      await c.expectClosed();
      await waitFor(() => about(lines, port).some((l) => l.includes('exiting messagePump')), 5000, `${name}: the ending`);
      const wire = logged.slice(0, logged.lastIndexOf(' - '));
      assert.equal(about(lines, port).slice(2), [
        `ERROR: [${a}] - ${logged}`,
        `INFO: PROTOCOL(V2): [${a}] exiting ioloop`,
        `ERROR: client(${a}) - ${wire}`,
        `INFO: PROTOCOL(V2): [${a}] exiting messagePump`,
      ], name);
    }

    // A reset inside a body: the read's error is the parent, and the answer cannot be sent.
    const r = await WireConn.open(d.tcpPort);
    const port = r.socket.localPort!;
    const a = `127.0.0.1:${port}`;
    const pair = `127.0.0.1:${d.tcpPort}->${a}`;
    r.write(Buffer.concat([Buffer.from('PUB t\n'), int32(100), Buffer.alloc(10)]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    r.socket.resetAndDestroy();
    await waitFor(() => about(lines, port).some((l) => l.includes('exiting messagePump')), 5000, 'the reset ending');
    const reset = `read tcp ${pair}: read: connection reset by peer`;
    assert.equal(about(lines, port).slice(2), [
      `ERROR: [${a}] - E_BAD_MESSAGE PUB failed to read message body - ${reset}`,
      `ERROR: [${a}] - write tcp ${pair}: write: broken pipe - ${reset}`,
      `INFO: PROTOCOL(V2): [${a}] exiting ioloop`,
      `ERROR: client(${a}) - E_BAD_MESSAGE PUB failed to read message body`,
      `INFO: PROTOCOL(V2): [${a}] exiting messagePump`,
    ]);
  });
});

test('deflate is announced with its level', async () => {
  const { logger, lines } = logSink();
  await withNsqd({ logger }, async (d) => {
    const c = await WireConn.open(d.tcpPort);
    const port = c.socket.localPort!;
    c.cmd('IDENTIFY', JSON.stringify({ feature_negotiation: true, deflate: true, deflate_level: 3 }));
    await c.readFrame();
    await waitFor(() => lines.includes(`INFO: PROTOCOL(V2): [127.0.0.1:${port}] upgrading connection to deflate (level 3)`), 5000, 'deflate line');
  });
});

test('every HTTP request is logged at info as NSQ\'s http_api.Log writes it: status, method, request URI, remote address, time', async () => {
  const { logger, lines } = logSink();
  await withNsqd({ logger }, async (d) => {
    assert.is((await http('GET', `${d.url}/ping`)).status, 200);
    assert.is((await http('POST', `${d.url}/pub?topic=bad!`, 'x')).status, 400);
    assert.is((await http('GET', `${d.url}/nope?a=1`)).status, 404);
    await waitFor(() => lines.filter((l) => / \(127\.0\.0\.1:\d+\) /.test(l)).length === 3, 5000, 'three request lines');
    const requests = lines.filter((l) => / \(127\.0\.0\.1:\d+\) /.test(l)).map((l) => l.replace(/\(127\.0\.0\.1:\d+\) \S+$/, '(addr) t'));
    assert.equal(requests, ['INFO: 200 GET /ping (addr) t', 'INFO: 400 POST /pub?topic=bad! (addr) t', 'INFO: 404 GET /nope?a=1 (addr) t']);
    assert.ok(lines.some((l) => /^INFO: 200 GET \/ping \(127\.0\.0\.1:\d+\) \d+(\.\d+)?(ns|µs|ms|s)$/.test(l)), lines.join('\n'));
  });
});

test.run();
