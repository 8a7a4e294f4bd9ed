// nsqd and nsqlookupd survive random, mutated and abusive clients (test/helpers/chaos.ts): a few
// seconds of chaos per daemon and mode, then it must be alive, healthy, serve a clean client, exit 0 on SIGTERM and
// restart on what it left. `npm run chaos` runs the same for as long as you like.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runChaos, runLookupdChaos } from '../helpers/chaos.js';

for (const durable of [false, true]) {
  test(`nsqd${durable ? ' --durable-publish' : ''} survives 4 s of chaos: alive, /ping OK, clean PUB/SUB, SIGTERM exits 0, restart loads its data`, async () => {
    const r = await runChaos({ seconds: 4, workers: 16, seed: durable ? 2 : 1, durable });
    assert.equal(r.failures, [], r.failures.join('\n'));
    assert.ok(r.sessions > 50, `${r.sessions} sessions`);
    assert.ok(r.httpCalls > 20, `${r.httpCalls} HTTP calls`);
    assert.ok(r.tlsConnections > 20, `${r.tlsConnections} TLS connections`);
  });
}

test('nsqlookupd survives 4 s of chaos: alive, /ping OK, a clean IDENTIFY + REGISTER shows in /lookup, SIGTERM exits 0', async () => {
  const r = await runLookupdChaos({ seconds: 4, workers: 16, seed: 3, durable: false });
  assert.equal(r.failures, [], r.failures.join('\n'));
  assert.ok(r.sessions > 50, `${r.sessions} sessions`);
  assert.ok(r.httpCalls > 20, `${r.httpCalls} HTTP calls`);
});

test.run();
