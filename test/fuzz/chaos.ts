// Chaos against the real nsqd (or nsqlookupd) binary for as long as you like (the scenarios of
// test/helpers/chaos.ts; npm test runs them for seconds):
//
//   npm run chaos -- [--seconds S] [--workers N] [--seed S] [--durable] [--nsqlookupd]
//
// Exits 1 when any check failed, listing what.
import { parseArgs } from 'node:util';
import { runChaos, runLookupdChaos } from '../helpers/chaos.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    workers: { type: 'string', default: '24' },
    seed: { type: 'string' },
    durable: { type: 'boolean', default: false },
    nsqlookupd: { type: 'boolean', default: false },
  },
  strict: true,
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const o = { seconds: Number(values.seconds), workers: Number(values.workers), seed, durable: values.durable! };
console.log(`chaos against ${values.nsqlookupd ? 'nsqlookupd' : 'nsqd'}: ${JSON.stringify(o)}, NSQ_NATIVE=${process.env.NSQ_NATIVE ?? 'auto'}`);
const r = await (values.nsqlookupd ? runLookupdChaos(o) : runChaos(o));
console.log(`${r.sessions} TCP sessions, ${r.httpCalls} HTTP calls, ${r.tlsConnections} TLS connections, ${r.messagesReceived} messages received (${r.checkedBodies} self-checking bodies, intact unless listed below); heap MiB per second: ${r.heapMiB.join(' ')}`);
if (r.failures.length > 0) {
  console.log(`FAILED (seed ${seed}):\n  ${r.failures.join('\n  ')}`);
  process.exit(1);
}
console.log('all checks passed');
