// Real binaries for the nsqadmin tests: nsqlookupd, nsqd and nsqadmin from dist/apps started as
// child processes on 127.0.0.1 with ephemeral ports (read back from their "listening on" lines).
import { rmSync } from 'node:fs';
import { tempDir } from './daemons.js';
import { listeningLine } from './log-lines.js';
import { Proc, requireBuilt } from './proc.js';

/** A running daemon binary. */
export interface Bin {
  proc: Proc;
  httpPort: number;
  tcpPort: number;
  /** `127.0.0.1:<http port>`. */
  httpAddr: string;
  url: string;
}

/** Owns the processes and directories of one test file; `cleanup()` kills and removes them. */
export class BinSession {
  private readonly procs: Proc[] = [];
  private readonly dirs: string[] = [];

  private spawn(name: string, args: readonly string[]): Proc {
    const p = new Proc(requireBuilt(name), args);
    this.procs.push(p);
    return p;
  }

  /** Start nsqlookupd on ephemeral ports. */
  async nsqlookupd(): Promise<Bin> {
    const proc = this.spawn('nsqlookupd', ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--broadcast-address=127.0.0.1']);
    const tcp = await proc.waitForOutput(listeningLine('TCP', '[nsqlookupd] '));
    const http = await proc.waitForOutput(listeningLine('HTTP', '[nsqlookupd] '));
    return { proc, tcpPort: Number(tcp[1]), httpPort: Number(http[1]), httpAddr: `127.0.0.1:${http[1]}`, url: `http://127.0.0.1:${http[1]}` };
  }

  /** Start nsqd on ephemeral ports with a temporary data dir, registered with `lookupdTcp` when given, with `extra` flags. */
  async nsqd(lookupdTcp?: number, extra: readonly string[] = []): Promise<Bin> {
    const dir = tempDir('nsq-ts-admin-nsqd-');
    this.dirs.push(dir);
    const args = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--https-address=127.0.0.1:0', '--broadcast-address=127.0.0.1', `--data-path=${dir}`];
    if (lookupdTcp !== undefined) args.push(`--lookupd-tcp-address=127.0.0.1:${lookupdTcp}`);
    args.push(...extra);
    const proc = this.spawn('nsqd', args);
    const tcp = await proc.waitForOutput(listeningLine('TCP', '[nsqd] '));
    const http = await proc.waitForOutput(listeningLine('HTTP', '[nsqd] '));
    return { proc, tcpPort: Number(tcp[1]), httpPort: Number(http[1]), httpAddr: `127.0.0.1:${http[1]}`, url: `http://127.0.0.1:${http[1]}` };
  }

  /** Start nsqadmin on an ephemeral port with extra flags. */
  async nsqadmin(args: readonly string[]): Promise<Bin> {
    const proc = this.spawn('nsqadmin', ['--http-address=127.0.0.1:0', ...args]);
    const http = await proc.waitForOutput(listeningLine('HTTP', '[nsqadmin] '));
    return { proc, tcpPort: 0, httpPort: Number(http[1]), httpAddr: `127.0.0.1:${http[1]}`, url: `http://127.0.0.1:${http[1]}` };
  }

  /** Kill every process and remove every directory. */
  async cleanup(): Promise<void> {
    for (const p of this.procs) await p.kill();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
