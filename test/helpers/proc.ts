// Spawn a real built binary (dist/apps/*.js) as a child process and watch its output, with a time
// limit on every wait so a hung daemon fails the test instead of hanging it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './wire.js';

/** Repository root (the directory holding package.json). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of a built app, e.g. distApp('nsqd') → <root>/dist/apps/nsqd.js. */
export function distApp(name: string): string {
  return fileURLToPath(new URL(`../../dist/apps/${name}.js`, import.meta.url));
}

/** Throw a clear error when the build output for an app is missing. */
export function requireBuilt(name: string): string {
  const p = distApp(name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run compile\` (npm install does) before these tests`);
  return p;
}

/** How a child ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running child process with its collected stdout and stderr. */
export class Proc {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  exitStatus: ExitStatus | null = null;
  private readonly exitPromise: Promise<ExitStatus>;
  private waiters: (() => void)[] = [];

  /** `opts.wrap`: a command to run node under, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  constructor(file: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; wrap?: readonly string[] } = {}) {
    const wrap = opts.wrap ?? [];
    const cmd = wrap.length > 0 ? wrap[0]! : process.execPath;
    const argv = wrap.length > 0 ? [...wrap.slice(1), process.execPath, file, ...args] : [file, ...args];
    this.child = spawn(cmd, argv, {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      this.stdout += d;
      if (process.env.TEST_LOG) process.stdout.write(d);
      this.wake();
    });
    this.child.stderr!.on('data', (d: string) => {
      this.stderr += d;
      if (process.env.TEST_LOG) process.stderr.write(d);
      this.wake();
    });
    this.exitPromise = new Promise((resolve) => {
      // 'close' fires after the stdio streams have ended, so all output has been collected.
      this.child.on('close', (code, signal) => {
        this.exitStatus = { code, signal };
        this.wake();
        resolve(this.exitStatus);
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until `re` matches stderr+stdout (returns the match), or throw after `ms` / on exit. */
  async waitForOutput(re: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    return withTimeout((async () => {
      for (;;) {
        const m = re.exec(this.stderr) ?? re.exec(this.stdout);
        if (m !== null) return m;
        if (this.exitStatus !== null) {
          throw new Error(`process exited (${JSON.stringify(this.exitStatus)}) before output matched ${re}\nstderr:\n${this.stderr}\nstdout:\n${this.stdout}`);
        }
        await new Promise<void>((r) => this.waiters.push(r));
      }
    })(), ms, `output matching ${re}; stderr so far:\n${this.stderr}`);
  }

  /** Wait for the process to end. */
  exited(ms = 15_000): Promise<ExitStatus> {
    return withTimeout(this.exitPromise, ms, `process exit; stderr so far:\n${this.stderr}`);
  }

  /** Send a signal (no-op once exited). */
  signal(sig: NodeJS.Signals): void {
    if (this.exitStatus === null) this.child.kill(sig);
  }

  /** SIGKILL if still running, and wait for it (for cleanup). */
  async kill(): Promise<void> {
    if (this.exitStatus !== null) return;
    this.child.kill('SIGKILL');
    await this.exitPromise;
  }
}

/** Run a binary to completion and return its exit status and output. */
export async function runToExit(file: string, args: readonly string[], ms = 15_000): Promise<ExitStatus & { stdout: string; stderr: string }> {
  const p = new Proc(file, args);
  try {
    const st = await p.exited(ms);
    return { ...st, stdout: p.stdout, stderr: p.stderr };
  } finally {
    await p.kill();
  }
}

/** A loopback TCP port that was free a moment ago (listen on :0, close, return the port). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res, rej) => {
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => res());
  });
  const addr = srv.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
