/**
 * The only module that chooses between the C++ addon and the TypeScript twins.
 * NSQ_NATIVE=auto (default) uses the addon when it loads, 1 requires it (startup fails loudly
 * otherwise), 0 forces the twins.
 */
import type { Backend } from './backend.js';
import { loadAddon, nativeBackend } from './addon.js';
import { fallbackBackend } from './fallback/index.js';

export type { Backend } from './backend.js';
/**
 * The twin's MPUB walk and int32 reader, for the slow path that words nsqd's error after the
 * backend's splitMpub refused a body (it names the first message that fails).
 */
export { readInt32, walkMpubMessages } from './fallback/frame-scanner.js';

/** Why the addon is not in use ('' when it is). */
export let nativeLoadError = '';

function choose(): Backend {
  const mode = (process.env.NSQ_NATIVE ?? 'auto').toLowerCase();
  if (mode === '0' || mode === 'false') {
    nativeLoadError = 'disabled by NSQ_NATIVE=0';
    return fallbackBackend;
  }
  try {
    return nativeBackend(loadAddon());
  } catch (err) {
    nativeLoadError = (err as Error).message.split('\n')[0]!;
    if (mode === '1' || mode === 'true') {
      throw new Error(`NSQ_NATIVE=1 but the native addon cannot be loaded: ${nativeLoadError}`);
    }
    return fallbackBackend;
  }
}

/** The backend every hot path uses. */
export const backend: Backend = choose();

/** Whether the C++ addon is in use. */
export const nativeEnabled: boolean = backend.native;

/** One line for the start-up log saying which backend runs and why. */
export function backendDescription(): string {
  return nativeEnabled ? 'native addon (C++)' : `TypeScript fallback (${nativeLoadError})`;
}
