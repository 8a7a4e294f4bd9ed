// Differential: IoExecutor — the same random write batches (random files in a temp dir,
// positions inside and past the end, lengths, fdatasync/fsync flags) executed by the raw native
// executeBatch on one copy of the files and by the TypeScript twin on another: the same
// done(errno, completed) and byte-identical files after every batch.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawAddon } from './asan-addon.js';
import { KIND_IDS, baseSeed, caseSeed, hexDump, knownInputs, scaled } from './generators.js';
import { IoScratch, describeIoCase, genIoCase, rawIo } from './io.js';

const addon = rawAddon();
const t = suite('differential: IoExecutor (native vs typescript)');

if (addon !== null) {
  t('150 random cases of 1–6 batches each', async () => {
    const scratch = new IoScratch();
    const seed = baseSeed();
    let batches = 0;
    try {
      for (let i = 0; i < scaled(150); i++) {
        const c = genIoCase(caseSeed(seed, KIND_IDS.io!, i), knownInputs());
        batches += c.batches.length;
        const d = await scratch.diff(rawIo(addon), c);
        if (d !== null) {
          assert.unreachable(`io case differs (case ${i} of DIFF_SEED=${seed}, case seed ${c.seed}):\n${d}\n${describeIoCase(c)}\nreplay: npm run fuzz -- --replay io:${c.seed}\nfirst batch data:\n${hexDump(c.batches[0]!.data, 256)}`);
        }
      }
    } finally {
      scratch.close();
    }
    assert.ok(batches >= scaled(300), `${batches} batches`);
  });
} else {
  t('native addon not built: nothing to compare', () => {});
}

t.run();
