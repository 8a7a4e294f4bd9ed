// The conformance suites of every native piece mounted on the raw addon: no routing of small
// batches to the TypeScript twin (src/native/addon.ts does that below NATIVE_GATHER_MIN_FRAMES
// and NATIVE_PUSH_MIN_RECORDS), so the C++ runs at every size. Under `npm run test:asan` the
// addon is the sanitizer build named by NSQ_TEST_ADDON.
import { suite } from 'uvu';
import type { Backend } from '../../src/native/backend.js';
import { NativeFrameScanner, PrefaultedChunks } from '../../src/native/addon.js';
import { fallbackBackend } from '../../src/native/fallback/index.js';
import { RecordRing } from '../../src/native/record-ring.js';
import { frameEncoderSuite } from '../conformance/frame-encoder.suite.js';
import { frameParserSuite } from '../conformance/frame-parser.suite.js';
import { ringBufferSuite } from '../conformance/ring-buffer.suite.js';
import { segmentWriterSuite } from '../conformance/segment-writer.suite.js';
import { addonOrigin, rawAddon, type RawAddon } from './asan-addon.js';
import { rawIo } from './io.js';

/** A Backend whose every call goes straight to the addon. */
export function rawBackend(addon: RawAddon): Backend {
  const chunks = new PrefaultedChunks(addon);
  return {
    native: true,
    createFrameScanner: (limits) => new NativeFrameScanner(addon, limits),
    frameEncoder: { gather: (...args) => addon.gather(...args), writeHeaders: (...args) => addon.writeHeaders(...args) },
    records: {
      pushRecords: (...args) => addon.pushRecords(...args),
      pushMessages: (...args) => addon.pushMessages(...args),
      scanRecords: (...args) => addon.scanRecords(...args),
      allocChunk: (size) => chunks.alloc(size),
    },
    io: rawIo(addon),
    dirLocker: { lock: (path) => addon.lockDirectory(path), unlock: (fd) => addon.unlockDirectory(fd) },
  };
}

const addon = rawAddon();
if (addon !== null) {
  const name = `raw native, ${addonOrigin}`;
  const raw = rawBackend(addon);
  frameParserSuite(name, raw);
  frameEncoderSuite(name, raw.frameEncoder);
  ringBufferSuite(name, (max) => new RecordRing(max, raw.records));
  segmentWriterSuite(name, raw.io);
} else {
  const t = suite('conformance on the raw addon');
  t('native addon not built: the twins are covered by test/unit', () => {
    void fallbackBackend;
  });
  t.run();
}
