import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNsqd } from '../helpers/daemons.js';
import { WireConn } from '../helpers/wire.js';

test('PUB then SUB delivers the message with attempts 1 and FIN clears it', async () => {
  const d = await startNsqd();
  try {
    const p = await WireConn.open(d.tcpPort);
    await p.pub('smoke', 'hello');
    const c = await WireConn.open(d.tcpPort);
    await c.sub('smoke', 'ch');
    c.cmd('RDY 1');
    const m = await c.readMessage();
    assert.is(m.body.toString(), 'hello');
    assert.is(m.attempts, 1);
    assert.match(m.id, /^[0-9a-f]{16}$/);
    c.cmd(`FIN ${m.id}`);
    c.cmd('NOP');
    await c.expectNothing(50);
    const ch = d.nsqd.getExistingTopic('smoke')!.getExistingChannel('ch')!;
    assert.is(ch.inFlight.size, 0);
    p.close();
    c.close();
  } finally {
    await d.close();
  }
});

test.run();
