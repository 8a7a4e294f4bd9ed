// The raw addon for differential tests and the fuzzer: the normal build (through the package's
// own loader, src/native/addon.ts) or, when NSQ_TEST_ADDON names a .node file, that file — the
// sanitizer build made by scripts/asan.sh, which must not replace build/Release.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { ADDON_ABI_VERSION, ADDON_FUNCTIONS, loadAddon } from '../../src/native/addon.js';

/** The raw exports of native/binding.cc (the shape loadAddon() checks). */
export type RawAddon = ReturnType<typeof loadAddon>;


/** Where the addon in use came from (a path, or 'node-gyp-build'). */
export let addonOrigin = '';

let cached: RawAddon | null | undefined;

/** Load the .node file at `path` and check its shape as src/native/addon.ts does; throws why not. */
export function loadAddonFrom(path: string): RawAddon {
  const require = createRequire(import.meta.url);
  const addon = require(resolve(path)) as Partial<RawAddon> | null;
  if (addon === null || typeof addon !== 'object') throw new Error(`${path}: not an addon`);
  for (const f of ADDON_FUNCTIONS) {
    if (typeof addon[f] !== 'function') throw new Error(`${path}: addon lacks ${f}()`);
  }
  if (addon.abiVersion !== ADDON_ABI_VERSION) throw new Error(`${path}: addon ABI ${String(addon.abiVersion)}, expected ${ADDON_ABI_VERSION}`);
  return addon as RawAddon;
}

/**
 * The raw addon (NSQ_TEST_ADDON's file, else the normal build), or null with a note on stderr
 * when it is not built here. NSQ_NATIVE=1 or NSQ_TEST_ADDON make its absence an error.
 */
export function rawAddon(): RawAddon | null {
  if (cached !== undefined) return cached;
  const path = process.env.NSQ_TEST_ADDON;
  if (path !== undefined && path !== '') {
    cached = loadAddonFrom(path);
    addonOrigin = resolve(path);
    return cached;
  }
  try {
    cached = loadAddon();
    addonOrigin = 'node-gyp-build';
  } catch (err) {
    if (process.env.NSQ_NATIVE === '1') throw err;
    process.stderr.write(`native addon not available, differential tests are skipped: ${(err as Error).message}\n`);
    cached = null;
  }
  return cached;
}
