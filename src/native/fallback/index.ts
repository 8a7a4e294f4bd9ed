import type { Backend, ScanLimits } from '../backend.js';
import { pidFileLocker } from './dir-locker.js';
import { tsFrameEncoder } from './frame-encoder.js';
import { TsFrameScanner } from './frame-scanner.js';
import { tsIoExecutor } from './io-executor.js';
import { tsRecordCodec } from './record-codec.js';

/** The pure-TypeScript backend: same interfaces and behaviour as the C++ addon. */
export const fallbackBackend: Backend = {
  native: false,
  createFrameScanner(limits: ScanLimits) {
    return new TsFrameScanner(limits);
  },
  frameEncoder: tsFrameEncoder,
  records: tsRecordCodec,
  io: tsIoExecutor,
  dirLocker: pidFileLocker,
};
