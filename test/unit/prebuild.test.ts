// The committed prebuild must be built from the committed sources: a stale prebuild would run
// old C++ for everyone installing without a compiler.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

test('every prebuild was made from the current native sources', () => {
  const expected = execFileSync(process.execPath, [join(root, 'scripts/native-hash.mjs')]).toString();
  const dir = join(root, 'prebuilds');
  if (!existsSync(dir)) {
    process.stderr.write('no prebuilds/ directory: nothing to check\n');
    return;
  }
  let checked = 0;
  for (const platform of readdirSync(dir)) {
    if (platform !== `${process.platform}-${process.arch}`) continue;
    for (const f of readdirSync(join(dir, platform)).filter((x) => x.endsWith('.node'))) {
      const addon = require(join(dir, platform, f)) as { sourceHash?: string };
      assert.is(addon.sourceHash, expected, `${platform}/${f} is stale: run npm run prebuild`);
      checked++;
    }
  }
  assert.ok(checked > 0, `no prebuild for ${process.platform}-${process.arch}`);
});

test.run();
