// Packaging (#3): `npm install` on a machine without a C++ compiler succeeds and nsqd runs on the
// TypeScript twins, saying so; NSQ_NATIVE=1 then refuses to start. And PREBUILDS_ONLY=1 loads
// the committed prebuild even where a build/ that does not load is in the way.
// Each test installs a copy of the package (package.json, binding.gyp, native/, dist/, and
// node_modules linked) in a temporary directory and runs the real install script through npm,
// with CC and CXX naming programs that do not exist, then starts that copy's nsqd binary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Proc, repoRoot, requireBuilt } from '../helpers/proc.js';

/** A copy of the installable package, without build/ (and without prebuilds/ unless asked). */
function packageCopy(withPrebuilds: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'nsq-ts-pkg-'));
  for (const f of ['package.json', 'binding.gyp']) cpSync(join(repoRoot, f), join(dir, f));
  for (const d of ['native', 'dist', ...(withPrebuilds ? ['prebuilds'] : [])]) cpSync(join(repoRoot, d), join(dir, d), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** nsqd from the copy at `dir` on loopback ephemeral ports; resolves with its start-up output once it listens. */
async function startCopy(dir: string, env: NodeJS.ProcessEnv): Promise<Proc> {
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  return new Proc(join(dir, 'dist/apps/nsqd.js'), ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${data}`], { cwd: dir, env });
}

test('npm install with no C++ compiler succeeds; nsqd runs on the TypeScript twins and says why; NSQ_NATIVE=1 fails loudly', async () => {
  requireBuilt('nsqd');
  const dir = packageCopy(false);
  try {
    const install = spawnSync('npm', ['run', 'install'], {
      cwd: dir,
      env: { ...process.env, CC: join(dir, 'no-such-cc'), CXX: join(dir, 'no-such-c++'), npm_config_loglevel: 'error' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.is(install.status, 0, `install script exit ${install.status}\n${install.stdout}\n${install.stderr}`);
    // The compile was attempted and failed for want of the compiler (it did not just find
    // something to load).
    assert.match(install.stdout + install.stderr, /no-such-c/, 'node-gyp tried the missing compiler');
    assert.not.ok(existsSync(join(dir, 'build/Release/nsq_native.node')), 'no addon was built');

    const auto = await startCopy(dir, { NSQ_NATIVE: 'auto' });
    try {
      const m = await auto.waitForOutput(/hot paths: TypeScript fallback \(([^)\n]*)/, 15_000);
      assert.match(m[1]!, /No native build was found/, 'the reason is the loader\'s');
      await auto.waitForOutput(/HTTP: listening on/, 15_000);
    } finally {
      auto.signal('SIGTERM');
      await auto.exited();
    }

    const required = await startCopy(dir, { NSQ_NATIVE: '1' });
    const st = await required.exited(15_000);
    assert.is.not(st.code, 0, 'NSQ_NATIVE=1 without the addon must not start');
    assert.match(required.stderr + required.stdout, /NSQ_NATIVE=1 but the native addon cannot be loaded/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PREBUILDS_ONLY=1 loads prebuilds/ and skips a build/ that does not load', async () => {
  requireBuilt('nsqd');
  const platform = `${process.platform}-${process.arch}`;
  if (!existsSync(join(repoRoot, 'prebuilds', platform))) {
    console.log(`  install-fallback.test.ts: no prebuild for ${platform}, skipping`);
    return;
  }
  const dir = packageCopy(true);
  try {
    // A build/ whose addon cannot be loaded (node-gyp-build tries build/ before prebuilds/).
    mkdirSync(join(dir, 'build/Release'), { recursive: true });
    writeFileSync(join(dir, 'build/Release/nsq_native.node'), 'not a shared object');
    const broken = await startCopy(dir, { NSQ_NATIVE: 'auto', PREBUILDS_ONLY: '' });
    try {
      await broken.waitForOutput(/hot paths: TypeScript fallback \(/, 15_000);
    } finally {
      broken.signal('SIGTERM');
      await broken.exited();
    }
    const prebuilt = await startCopy(dir, { NSQ_NATIVE: '1', PREBUILDS_ONLY: '1' });
    try {
      await prebuilt.waitForOutput(/hot paths: native addon \(C\+\+\)/, 15_000);
      await prebuilt.waitForOutput(/HTTP: listening on/, 15_000);
    } finally {
      prebuilt.signal('SIGTERM');
      await prebuilt.exited();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
