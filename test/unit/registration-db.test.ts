// nsqlookupd's RegistrationDB keeps, beside the registration map, an index of the entries each
// peer is a producer of, so lookupRegistrations (every /nodes producer, every disconnect) does
// not walk every registration. Random operations check the index against a walk over the map
// (entries(), the map's order) after every step.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Producer, RegistrationDB, type PeerInfo, type Registration } from '../../src/nsqlookupd/registration-db.js';
import { prng } from '../helpers/prng.js';

function peer(id: string): PeerInfo {
  return { id, remoteAddress: id, hostname: 'h', broadcastAddress: 'b', tcpPort: 4150, httpPort: 4151, version: '1.3.0', lastUpdate: 0n };
}

const key = (r: Registration): string => `${r.category}/${r.key}/${r.subKey}`;

/** What lookupRegistrations returned before the index: a walk over every registration, in map order. */
function walk(db: RegistrationDB, id: string): string[] {
  const out: string[] = [];
  for (const [r, producers] of db.entries()) if (producers.some((p) => p.peerInfo.id === id)) out.push(key(r));
  return out;
}

test('lookupRegistrations matches a walk over the map after random adds, removes and key deletions', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = prng(seed);
    const db = new RegistrationDB();
    const peers = Array.from({ length: 6 }, (_, i) => peer(`10.0.0.${i}:4160`));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const reg = (): Registration => {
      const r = rnd();
      const t = `t${Math.floor(rnd() * 8)}`;
      if (r < 0.1) return { category: 'client', key: '', subKey: '' };
      if (r < 0.5) return { category: 'topic', key: t, subKey: '' };
      return { category: 'channel', key: t, subKey: `c${Math.floor(rnd() * 3)}` };
    };
    for (let step = 0; step < 400; step++) {
      const op = rnd();
      const p = pick(peers);
      if (op < 0.5) db.addProducer(reg(), new Producer(p));
      else if (op < 0.75) db.removeProducer(reg(), p.id);
      else if (op < 0.85) db.removeRegistration(reg());
      else if (op < 0.95) db.addRegistration(reg());
      else for (const r of db.lookupRegistrations(p.id)) db.removeProducer(r, p.id); // a disconnect
      for (const q of peers) {
        assert.equal(db.lookupRegistrations(q.id).map(key), walk(db, q.id), `seed ${seed} step ${step} peer ${q.id}`);
        // Each pair's producer is the peer's own entry under that registration.
        for (const [r, p] of db.lookupProducers(q.id)) assert.is(p.peerInfo.id, q.id, `${key(r)} seed ${seed} step ${step}`);
      }
    }
  }
});

test('a key another peer made first, or one deleted and made again, keeps the map order', () => {
  const db = new RegistrationDB();
  const a = peer('a:1');
  const b = peer('b:1');
  const t = (k: string): Registration => ({ category: 'topic', key: k, subKey: '' });
  db.addProducer(t('x'), new Producer(b));
  db.addProducer(t('y'), new Producer(a));
  db.addProducer(t('x'), new Producer(a)); // x was made before y, by b
  assert.equal(db.lookupRegistrations('a:1').map(key), ['topic/x/', 'topic/y/']);
  db.removeRegistration(t('x'));
  assert.equal(db.lookupRegistrations('a:1').map(key), ['topic/y/']);
  assert.equal(db.lookupRegistrations('b:1'), []);
  db.addProducer(t('x'), new Producer(a)); // made again: now after y
  assert.equal(db.lookupRegistrations('a:1').map(key), ['topic/y/', 'topic/x/']);
  const mine = db.lookupProducers('a:1');
  assert.equal(mine.map(([r]) => key(r)), ['topic/y/', 'topic/x/']);
  for (const [, p] of mine) assert.is(p.peerInfo, a);
  assert.equal(db.lookupProducers('b:1'), []);
});

test.run();
