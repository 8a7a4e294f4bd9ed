#!/usr/bin/env node
// Prints a short hash of the addon's sources (native/*, binding.gyp). binding.gyp compiles it
// into the addon, so a test can tell a prebuild made from other sources (a stale prebuild).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const h = createHash('sha256');
const files = readdirSync(join(root, 'native')).filter((f) => /\.(cc|h)$/.test(f)).sort();
for (const f of files) {
  h.update(f);
  h.update(readFileSync(join(root, 'native', f)));
}
process.stdout.write(h.digest('hex').slice(0, 16));
