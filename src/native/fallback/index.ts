import type { Backend, ScanLimits } from '../backend.js';
import { TsFrameScanner } from './frame-scanner.js';

/** The pure-TypeScript backend: same interfaces and behaviour as the C++ addon. */
export const fallbackBackend: Backend = {
  native: false,
  createFrameScanner(limits: ScanLimits) {
    return new TsFrameScanner(limits);
  },
};
