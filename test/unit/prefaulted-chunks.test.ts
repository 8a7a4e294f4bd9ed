// PrefaultedChunks (src/native/addon.ts): the stock of ring chunks whose pages the addon touches
// on a worker thread. Here the "addon" records the batches and completes them when told.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PREFAULT_BATCH, PREFAULT_LOW, PrefaultedChunks } from '../../src/native/addon.js';
import { RING_CHUNK_BYTES } from '../../src/native/backend.js';

function stubAddon(): { prefault(b: Uint8Array[], cb: () => void): void; pending: (() => void)[]; batches: number } {
  const a = {
    pending: [] as (() => void)[],
    batches: 0,
    prefault(b: Uint8Array[], cb: () => void): void {
      assert.is(b.length, PREFAULT_BATCH);
      for (const x of b) assert.is(x.length, RING_CHUNK_BYTES);
      a.batches++;
      a.pending.push(cb);
    },
  };
  return a;
}

test('full-size chunks come from a stock refilled a batch at a time below the low mark; other sizes never touch it', () => {
  const addon = stubAddon();
  const chunks = new PrefaultedChunks(addon);
  assert.is(chunks.alloc(4096).length, 4096);
  assert.is(addon.batches, 0, 'a small chunk does not start a refill');
  // Empty stock: the chunk is allocated on the spot, and one refill starts (not one per call).
  assert.is(chunks.alloc(RING_CHUNK_BYTES).length, RING_CHUNK_BYTES);
  chunks.alloc(RING_CHUNK_BYTES);
  assert.is(addon.batches, 1);
  addon.pending.shift()!();
  assert.is(chunks.stock, PREFAULT_BATCH);
  // Taking chunks refills once the stock is under PREFAULT_LOW; it never exceeds LOW + BATCH - 1 plus the batch in flight.
  let max = 0;
  for (let i = 0; i < 200; i++) {
    chunks.alloc(RING_CHUNK_BYTES);
    if (addon.pending.length > 0 && i % 3 === 0) addon.pending.shift()!();
    max = Math.max(max, chunks.stock);
  }
  assert.ok(max <= PREFAULT_LOW + PREFAULT_BATCH, `stock reached ${max}`);
  assert.ok(addon.batches > 5, `${addon.batches} batches`);
});

test('a stock no chunk was taken from between two idle checks is let go, also one that arrives after', () => {
  const addon = stubAddon();
  const chunks = new PrefaultedChunks(addon);
  chunks.alloc(RING_CHUNK_BYTES);
  addon.pending.shift()!();
  assert.is(chunks.stock, PREFAULT_BATCH);
  assert.is(chunks.releaseIfIdle(), false, 'a chunk was taken since the last check');
  assert.is(chunks.stock, PREFAULT_BATCH);
  assert.is(chunks.releaseIfIdle(), true);
  assert.is(chunks.stock, 0);
  // A refill that completes after the stock was let go is let go by a later check.
  chunks.alloc(RING_CHUNK_BYTES);
  assert.is(chunks.releaseIfIdle(), false);
  assert.is(chunks.releaseIfIdle(), true);
  addon.pending.shift()!();
  assert.is(chunks.stock, PREFAULT_BATCH);
  assert.is(chunks.releaseIfIdle(), true);
  assert.is(chunks.stock, 0);
});

test.run();
