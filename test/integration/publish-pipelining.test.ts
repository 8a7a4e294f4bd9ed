// Publishes pipelined on one connection while earlier ones wait on the disk (--durable-publish,
// or a default-mode topic spilling with --mem-queue-size=0): they join the same group commit, and
// the answers still come in command order, as nsqd answers one command at a time. Any other
// command waits for the publishes before it; a fatal error behind them comes after their OKs;
// an EOF after pipelined publishes still gets every answer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNsqd, type TestNsqd } from '../helpers/daemons.js';
import { topicStats } from '../helpers/stats.js';
import { connectTcp, mpubBody, sized, withTimeout, WireConn } from '../helpers/wire.js';

const MODES: { label: string; init: { durablePublish?: boolean; memQueueSize?: number } }[] = [
  { label: '--durable-publish', init: { durablePublish: true } },
  { label: '--mem-queue-size=0', init: { memQueueSize: 0 } },
];

function pub(topic: string, body: string): Buffer {
  return Buffer.concat([Buffer.from(`PUB ${topic}\n`), sized(body)]);
}

async function depth(d: TestNsqd, topic: string): Promise<number> {
  return (await topicStats(d.url, topic))?.depth ?? -1;
}

for (const mode of MODES) {
  test(`${mode.label}: 200 PUBs in one write are answered with 200 OKs, in order, and all stored`, async () => {
    const d = await startNsqd(mode.init);
    try {
      const c = await WireConn.open(d.tcpPort);
      const parts: Buffer[] = [];
      for (let i = 0; i < 200; i++) parts.push(pub('pipe', `m${i}`));
      c.write(Buffer.concat(parts));
      for (let i = 0; i < 200; i++) await c.expectResponse('OK');
      assert.is(await depth(d, 'pipe'), 200);
      const sub = await WireConn.open(d.tcpPort);
      await sub.sub('pipe', 'ch');
      sub.cmd('RDY 200');
      for (let i = 0; i < 200; i++) assert.is((await sub.readMessage()).body.toString(), `m${i}`);
      c.close();
      sub.close();
    } finally {
      await d.close();
    }
  });

  test(`${mode.label}: PUB, DPUB, MPUB, then a bad topic: three OKs, then E_BAD_TOPIC and the connection closes; nothing after it runs`, async () => {
    const d = await startNsqd(mode.init);
    try {
      const c = await WireConn.open(d.tcpPort);
      c.write(Buffer.concat([
        pub('order', 'a'),
        Buffer.from('DPUB order 60000\n'), sized('deferred'),
        Buffer.from('MPUB order\n'), mpubBody(['b', 'c']),
        pub('bad!topic', 'x'),
        pub('order', 'never'),
      ]));
      await c.expectResponse('OK');
      await c.expectResponse('OK');
      await c.expectResponse('OK');
      await c.expectError('E_BAD_TOPIC PUB topic name "bad!topic" is not valid');
      await c.expectClosed();
      const t = await topicStats(d.url, 'order');
      assert.is(t?.message_count, 4, 'a, deferred, b, c; not "never"');
    } finally {
      await d.close();
    }
  });

  test(`${mode.label}: a non-publish command behind pending publishes waits for them (SUB's OK after the PUBs' OKs, then the messages)`, async () => {
    const d = await startNsqd(mode.init);
    try {
      const c = await WireConn.open(d.tcpPort);
      c.write(Buffer.concat([pub('mixed', 'one'), pub('mixed', 'two'), Buffer.from('NOP\nSUB mixed ch\nRDY 5\n')]));
      await c.expectResponse('OK');
      await c.expectResponse('OK');
      await c.expectResponse('OK'); // SUB
      // The channel was created after the publishes, so it gets what the topic stored.
      const got = [(await c.readMessage()).body.toString(), (await c.readMessage()).body.toString()];
      assert.equal(got, ['one', 'two']);
      c.close();
    } finally {
      await d.close();
    }
  });

  test(`${mode.label}: a client that half-closes after pipelined publishes gets every answer before nsqd closes`, async () => {
    const d = await startNsqd(mode.init);
    try {
      const c = await WireConn.open(d.tcpPort);
      const parts: Buffer[] = [];
      for (let i = 0; i < 50; i++) parts.push(pub('halfclose', `h${i}`));
      c.socket.end(Buffer.concat(parts));
      for (let i = 0; i < 50; i++) await c.expectResponse('OK');
      await c.expectClosed();
      assert.is(await depth(d, 'halfclose'), 50);
    } finally {
      await d.close();
    }
  });
}

test('a client EOF before or inside the magic, or after a SUB, closes the connection at once (not left half-open)', async () => {
  const d = await startNsqd();
  try {
    for (const sent of ['', '  V']) {
      const s = await connectTcp(d.tcpPort, { allowHalfOpen: true });
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      s.end(sent);
      await withTimeout(closed, 5000, `close after EOF with ${JSON.stringify(sent)} sent`);
    }
    const c = await WireConn.open(d.tcpPort);
    await c.sub('eof', 'ch');
    c.socket.end();
    await c.expectClosed();
  } finally {
    await d.close();
  }
});

test.run();
