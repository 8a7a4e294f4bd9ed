// The native backend for conformance tests: loaded directly (whatever NSQ_NATIVE says), so both
// twins are always tested where the addon builds. NSQ_NATIVE=1 makes its absence a failure.
import { loadAddon, nativeBackend } from '../../src/native/addon.js';
import type { Backend } from '../../src/native/backend.js';

/** The native backend, or null (with a note on stderr) when the addon is not built here. */
export function nativeForTests(): Backend | null {
  try {
    return nativeBackend(loadAddon());
  } catch (err) {
    if (process.env.NSQ_NATIVE === '1') throw err;
    process.stderr.write(`native addon not available, its suites are skipped: ${(err as Error).message}\n`);
    return null;
  }
}
