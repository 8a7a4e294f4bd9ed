// MessageTable (nsqd's in-flight and deferred table) against a plain Map model: random adds,
// finds, removes, reschedules and due() pops over ids built to collide (ids that differ only in
// bytes the hash does not read share a hash), across growth and backward-shift deletion.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FRAME_ID_OFFSET, MessageTable } from '../../src/nsqd/message-table.js';
import { prng } from '../helpers/prng.js';

/** A stored frame whose id is `id` (16 latin1 chars), at `offset` inside a larger buffer. */
function frameWith(id: string, offset: number): Buffer {
  const b = Buffer.alloc(offset + FRAME_ID_OFFSET + 16 + 4, 0xee);
  b.write(id, offset + FRAME_ID_OFFSET, 'latin1');
  return b;
}

const key = (id: string): Buffer => Buffer.from(`xx${id}`, 'latin1');

test('ids sharing a hash (they differ only in their first 4 bytes) stay apart through add, find and remove', () => {
  const t = new MessageTable();
  const ids = ['0000000000000001', '1000000000000001', '2000000000000001', 'ffff000000000001'];
  const slots = ids.map((id, i) => t.add(frameWith(id, i * 3), i * 3, null, i, 100 + i, 0));
  assert.equal(new Set(slots).size, 4);
  ids.forEach((id, i) => assert.is(t.find(key(id), 2), slots[i]!, id));
  assert.is(t.add(frameWith(ids[2]!, 0), 0, null, 9, 1, 0), -1, 'a duplicate id is refused');
  t.remove(slots[1]!);
  assert.is(t.find(key(ids[1]!), 2), -1);
  for (const i of [0, 2, 3]) assert.is(t.find(key(ids[i]!), 2), slots[i]!);
  assert.is(t.find(key('3000000000000001'), 2), -1, 'same hash, never added');
  assert.is(t.size, 3);
});

test('random operations agree with a Map model (10 seeds × 20,000 operations)', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const rnd = prng(seed);
    const t = new MessageTable();
    const model = new Map<string, { slot: number; time: number }>();
    const HEX = '0123456789abcdef';
    // Few distinct tails, many heads: lots of shared hashes and long probe runs.
    const randomId = (): string => {
      let head = '';
      for (let k = 0; k < 4; k++) head += HEX[Math.floor(rnd() * 16)];
      return `${head}00000000${String(Math.floor(rnd() * 64)).padStart(4, '0')}`;
    };
    let now = 0;
    for (let op = 0; op < 20_000; op++) {
      const r = rnd();
      const id = randomId();
      if (r < 0.4) {
        const time = now + Math.floor(rnd() * 1000);
        const off = Math.floor(rnd() * 8);
        const slot = t.add(frameWith(id, off), off, null, 1, time, 0);
        if (model.has(id)) assert.is(slot, -1, `duplicate ${id} (seed ${seed}, op ${op})`);
        else {
          assert.ok(slot >= 0);
          model.set(id, { slot, time });
        }
      } else if (r < 0.7) {
        const m = model.get(id);
        assert.is(t.find(key(id), 2), m === undefined ? -1 : m.slot, `find ${id} (seed ${seed}, op ${op})`);
        if (m !== undefined && rnd() < 0.5) {
          t.remove(m.slot);
          model.delete(id);
        }
      } else if (r < 0.8) {
        const m = model.get(id);
        if (m !== undefined) {
          m.time = now + Math.floor(rnd() * 1000);
          t.reschedule(m.slot, m.time);
        }
      } else {
        now += Math.floor(rnd() * 50);
        for (let slot = t.due(now); slot !== -1; slot = t.due(now)) {
          const entry = [...model].find(([, v]) => v.slot === slot);
          assert.ok(entry !== undefined, `due() returned slot ${slot} that is not held`);
          assert.ok(entry[1].time <= now, 'due() returned a slot not yet due');
          assert.is(t.time(slot), entry[1].time);
          t.remove(slot);
          model.delete(entry[0]);
        }
        for (const v of model.values()) assert.ok(v.time > now, 'a due message was left behind');
      }
      assert.is(t.size, model.size);
    }
    for (const [id, v] of model) assert.is(t.find(key(id), 2), v.slot);
    assert.equal(t.slots().sort((a, b) => a - b), [...model.values()].map((v) => v.slot).sort((a, b) => a - b));
  }
});

test('stale heap entries are dropped (compaction) without losing or reordering the live ones', () => {
  const t = new MessageTable();
  const rnd = prng(7);
  const times = new Map<number, number>();
  const slots: number[] = [];
  const idOf = (i: number): string => i.toString(16).padStart(16, '0');
  // 6,000 held, then 5,000 of them removed and 500 of the rest rescheduled: far more stale
  // entries than live ones, so the adds that follow compact the heap.
  for (let i = 0; i < 6000; i++) {
    const time = Math.floor(rnd() * 100_000);
    const slot = t.add(frameWith(idOf(i), 0), 0, null, 1, time, 0);
    slots.push(slot);
    times.set(slot, time);
  }
  for (let i = 0; i < 5000; i++) {
    t.remove(slots[i]!);
    times.delete(slots[i]!);
  }
  for (let i = 5000; i < 5500; i++) {
    const time = Math.floor(rnd() * 100_000);
    t.reschedule(slots[i]!, time);
    times.set(slots[i]!, time);
  }
  for (let i = 6000; i < 6300; i++) {
    const time = Math.floor(rnd() * 100_000);
    const slot = t.add(frameWith(idOf(i), 0), 0, null, 1, time, 0);
    times.set(slot, time);
  }
  assert.is(t.size, times.size);
  const order: number[] = [];
  for (let slot = t.due(Infinity); slot !== -1; slot = t.due(Infinity)) {
    order.push(t.time(slot));
    assert.is(t.time(slot), times.get(slot), `slot ${slot} came with another time`);
    times.delete(slot);
    t.remove(slot);
  }
  assert.is(times.size, 0, 'every live slot came out once');
  assert.is(order.length, 1300);
  for (let i = 1; i < order.length; i++) assert.ok(order[i - 1]! <= order[i]!, `out of time order at ${i}`);
});

test.run();
