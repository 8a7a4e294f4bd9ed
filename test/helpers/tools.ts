// Running NSQ's command-line tools (src/apps/<tool>.ts) as real child processes through tsx (no
// build needed), against real daemons, plus the small helpers the tools-*.test.ts files share:
// publishing, reading nsqd's channel stats, collecting what a channel delivers, and the shape of
// Go's log.Fatal lines.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Consumer } from '../../src/client/index.js';
import { escapeRe } from './log-lines.js';
import * as assert from 'uvu/assert';
import { http, startNsqd, startNsqlookupd, tempDir, waitFor, type TestNsqd, type TestNsqlookupd } from './daemons.js';
import { Proc, repoRoot, type ExitStatus } from './proc.js';
import { channelStats, topicStats, type ChannelStatsJson } from './stats.js';

/** Go's log.LstdFlags timestamp (`2006/01/02 15:04:05`) as a regular-expression source. */
export const GO_LOG_TIME = String.raw`\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}`;

/** Absolute path of a tool's entry point, e.g. <root>/src/apps/nsq_tail.ts. */
export function toolPath(name: string): string {
  return join(repoRoot, 'src', 'apps', `${name}.ts`);
}

/** What a finished tool run left behind. */
export type ToolResult = ExitStatus & { stdout: string; stderr: string };

/**
 * Owns the tool processes and temporary directories of one test file: `cleanup()` (in test.after)
 * kills whatever still runs and removes the directories.
 */
export class ToolSession {
  private readonly procs: Proc[] = [];
  private readonly dirs: string[] = [];

  /** A fresh temporary directory, removed at cleanup. */
  dir(prefix = 'nsq-ts-tools-'): string {
    const d = tempDir(prefix);
    this.dirs.push(d);
    return d;
  }

  /**
   * Start `node --import tsx src/apps/<name>.ts ...args`; `stdin` (when given) is fed from a file,
   * so the tool sees EOF once it has read it all. `cwd` defaults to the repository root.
   */
  start(name: string, args: readonly string[], opts: { stdin?: string | Buffer; cwd?: string } = {}): Proc {
    let wrap: string[] | undefined;
    if (opts.stdin !== undefined) {
      const file = join(this.dir('nsq-ts-stdin-'), 'stdin');
      writeFileSync(file, opts.stdin);
      // sh -c 'exec "$@" < "$0"' <file> node <tool> args...
      wrap = ['sh', '-c', 'exec "$@" < "$0"', file];
    }
    const p = new Proc(toolPath(name), args, { env: { NODE_OPTIONS: '--import tsx' }, cwd: opts.cwd ?? repoRoot, ...(wrap ? { wrap } : {}) });
    this.procs.push(p);
    return p;
  }

  /** Run a tool to completion (killing it after `ms`). */
  async run(name: string, args: readonly string[], opts: { stdin?: string | Buffer; ms?: number; cwd?: string } = {}): Promise<ToolResult> {
    const p = this.start(name, args, opts);
    try {
      const st = await p.exited(opts.ms ?? 20_000);
      return { ...st, stdout: p.stdout, stderr: p.stderr };
    } finally {
      await p.kill();
    }
  }

  /** Kill every tool still running and remove the directories. */
  async cleanup(): Promise<void> {
    for (const p of this.procs) await p.kill();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** The exact stderr of a Go log.Fatal(msg): one `<date> <time> msg` line. */
export function fatalLine(msg: string): RegExp {
  return new RegExp(String.raw`^${GO_LOG_TIME} ${escapeRe(msg)}\n$`);
}

/** Run `tool` with each argument list and check it ends through log.Fatal(msg): exit 1, that one stderr line. */
export async function assertFatals(tools: ToolSession, tool: string, cases: readonly (readonly [readonly string[], string])[]): Promise<void> {
  for (const [args, msg] of cases) {
    const r = await tools.run(tool, args, { stdin: '' });
    assert.is(r.code, 1, `${tool} ${args.join(' ')}: exit status; stderr: ${r.stderr}`);
    assert.match(r.stderr, fatalLine(msg), `${tool} ${args.join(' ')}`);
    assert.is(r.stdout, '');
  }
}

/** Publish `bodies` to `topic` on an nsqd (HTTP /mpub, newline-separated, so bodies hold no newline). */
export async function publish(nsqdUrl: string, topic: string, bodies: readonly string[]): Promise<void> {
  const res = await http('POST', `${nsqdUrl}/mpub?topic=${encodeURIComponent(topic)}`, bodies.join('\n'));
  if (res.status !== 200) throw new Error(`mpub to ${topic} answered ${res.status}: ${res.text}`);
}

/** Create a topic (and a channel on it) on an nsqd without publishing. */
export async function createChannel(nsqdUrl: string, topic: string, channel?: string): Promise<void> {
  let res = await http('POST', `${nsqdUrl}/topic/create?topic=${encodeURIComponent(topic)}`);
  if (res.status !== 200) throw new Error(`topic/create ${topic}: ${res.status} ${res.text}`);
  if (channel === undefined) return;
  res = await http('POST', `${nsqdUrl}/channel/create?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`);
  if (res.status !== 200) throw new Error(`channel/create ${topic}/${channel}: ${res.status} ${res.text}`);
}

/** The message count of `topic` on an nsqd (0 when it does not exist). */
export async function topicMessageCount(nsqdUrl: string, topic: string): Promise<number> {
  return (await topicStats(nsqdUrl, topic))?.message_count ?? 0;
}

/** Wait until `topic`/`channel` on an nsqd exists and satisfies `cond`; returns its stats. */
export async function waitForChannel(nsqdUrl: string, topic: string, channel: string, cond: (c: ChannelStatsJson) => boolean, ms = 10_000, what = 'channel state'): Promise<ChannelStatsJson> {
  let last: ChannelStatsJson | undefined;
  try {
    await waitFor(async () => {
      last = await channelStats(nsqdUrl, topic, channel);
      return last !== undefined && cond(last);
    }, ms, `${topic}/${channel}: ${what}`);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last stats: ${JSON.stringify(last)}`);
  }
  return last!;
}

/** Wait until a channel has finished `count` messages: nothing left queued, in flight or deferred. */
export async function waitDrained(nsqdUrl: string, topic: string, channel: string, count: number, ms = 15_000): Promise<void> {
  await waitForChannel(nsqdUrl, topic, channel, (s) => s.message_count === count && s.depth === 0 && s.in_flight_count === 0 && s.deferred_count === 0, ms, `${count} finished`);
}

/** Whether nsqlookupd lists `count` producers for `topic`. */
export async function lookupdHasProducers(lookupdUrl: string, topic: string, count = 1): Promise<boolean> {
  const res = await http('GET', `${lookupdUrl}/lookup?topic=${encodeURIComponent(topic)}`);
  return res.status === 200 && (JSON.parse(res.text) as { producers: unknown[] }).producers.length === count;
}

/** An nsqlookupd and `n` nsqds registered with it (broadcasting 127.0.0.1), for a test file. */
export interface TestCluster {
  lookupd: TestNsqlookupd;
  nsqds: TestNsqd[];
  close(): Promise<void>;
}

/** Start a TestCluster. */
export async function startCluster(n: number): Promise<TestCluster> {
  const lookupd = await startNsqlookupd();
  const nsqds: TestNsqd[] = [];
  for (let i = 0; i < n; i++) nsqds.push(await startNsqd({ nsqlookupdTcpAddresses: [`127.0.0.1:${lookupd.tcpPort}`], broadcastAddress: '127.0.0.1' }));
  return {
    lookupd,
    nsqds,
    async close() {
      for (const d of nsqds) await d.close();
      await lookupd.close();
    },
  };
}

/** Consume `count` messages of `topic` from an nsqd (a fresh channel, messages finished), as strings in arrival order. */
export async function consumeBodies(nsqdTcpPort: number, topic: string, count: number, ms = 10_000, channel = 'verify'): Promise<string[]> {
  const got: string[] = [];
  const c = new Consumer(topic, channel, { logLevel: 'none', maxInFlight: Math.max(1, Math.min(count, 2500)) });
  c.on('message', (m) => void got.push(m.body.toString()));
  try {
    await c.connectToNsqd(`127.0.0.1:${nsqdTcpPort}`);
    await waitFor(() => got.length >= count, ms, `${count} messages on ${topic} (got ${got.length})`);
  } finally {
    await c.close(1000);
  }
  return got;
}

/** Bodies `<prefix>-0` ... `<prefix>-(n-1)`. */
export function bodies(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}
