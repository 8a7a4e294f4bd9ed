#!/usr/bin/env node
// Test runner: runs every test/**/*.test.ts file in its own process (uvu through tsx), two at a
// time, with a per-file time limit, and ends with the line `N passed, N failed`.
// Usage: node scripts/test.mjs [substring filter ...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 240_000);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(2, availableParallelism()));

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = findTests(join(root, 'test')).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)),
);

/**
 * Why the C++ addon does not load here, or '' when it does (then the suite runs once per
 * backend). Asks the package's own loader (compiled by `npm test`'s tsc), which checks every
 * function and the ABI version, so a stale or partial addon is not mistaken for a good one.
 */
async function addonProblem() {
  try {
    const { loadAddon } = await import(new URL('../dist/native/addon.js', import.meta.url).href);
    loadAddon();
    return '';
  } catch (err) {
    return String(err?.message ?? err).split('\n')[0];
  }
}

function runFile(file, mode) {
  return new Promise((resolve) => {
    const started = Date.now();
    const env = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
    if (mode !== undefined) env.NSQ_NATIVE = mode;
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      let p = 0;
      let f = 0;
      if (Number.isFinite(total) && Number.isFinite(passed)) {
        p = passed;
        f = total - passed;
        if (f === 0 && code !== 0) f = 1; // crashed after reporting
      } else {
        f = 1;
      }
      if (timedOut) out += `\n  TIMEOUT: killed after ${FILE_TIMEOUT_MS} ms\n`;
      resolve({ file, out, passed: p, failed: f, code, signal, ms: Date.now() - started });
    });
  });
}

async function runAll(mode) {
  const results = [];
  let next = 0;
  const label = mode === undefined ? '' : ` [NSQ_NATIVE=${mode}]`;
  async function worker() {
    while (next < files.length) {
      const file = files[next++];
      const r = await runFile(file, mode);
      results.push(r);
      const status = r.failed === 0 ? 'ok  ' : 'FAIL';
      process.stdout.write(`${status} ${relative(root, r.file)}${label} (${r.passed} passed, ${r.failed} failed, ${(r.ms / 1000).toFixed(1)}s)\n`);
      if (r.failed > 0 || process.env.TEST_VERBOSE) process.stdout.write(r.out.replace(/^/gm, '    ') + '\n');
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return results;
}

// With NSQ_NATIVE unset, the whole suite runs once on the native addon (when it loads here) and
// once on the TypeScript twins; setting NSQ_NATIVE runs it once in that mode. CI sets
// NSQ_TEST_NATIVE=required: there an addon that does not load is one failure, not a quiet
// fallback to half the suite.
let modes;
let passed = 0;
let failed = 0;
const summary = [];
if (process.env.NSQ_NATIVE !== undefined) modes = [undefined];
else {
  const problem = await addonProblem();
  if (problem === '') {
    modes = ['1', '0'];
  } else {
    process.stdout.write(`native addon not loadable here (${problem}): running on the TypeScript backend only\n`);
    modes = ['0'];
    if (process.env.NSQ_TEST_NATIVE === 'required') {
      process.stdout.write('FAIL NSQ_TEST_NATIVE=required, but the native addon does not load\n');
      summary.push('native addon required but not loadable: 0 passed, 1 failed');
      failed++;
    }
  }
}
for (const mode of modes) {
  const results = await runAll(mode);
  const p = results.reduce((a, r) => a + r.passed, 0);
  const f = results.reduce((a, r) => a + r.failed, 0);
  summary.push(`${files.length} files${mode === undefined ? (process.env.NSQ_NATIVE !== undefined ? ` (NSQ_NATIVE=${process.env.NSQ_NATIVE})` : '') : ` with NSQ_NATIVE=${mode}`}: ${p} passed, ${f} failed`);
  passed += p;
  failed += f;
}
process.stdout.write(`\n${summary.join('\n')}\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
