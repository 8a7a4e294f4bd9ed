// Start real daemons in-process on 127.0.0.1:0 with a temporary data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, nullLogger } from '../../src/internal/log.js';
import { Nsqd, type NsqdInit } from '../../src/nsqd/nsqd.js';
import { NSQLookupd, type NSQLookupdInit } from '../../src/nsqlookupd/nsqlookupd.js';

/** A running nsqd for a test. */
export interface TestNsqd {
  nsqd: Nsqd;
  tcpPort: number;
  httpPort: number;
  dataPath: string;
  /** Base URL of the HTTP API. */
  url: string;
  close(): Promise<void>;
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'nsq-ts-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Start an nsqd on ephemeral loopback ports; TEST_LOG=1 shows its log. */
export async function startNsqd(init: NsqdInit = {}): Promise<TestNsqd> {
  const dataPath = init.dataPath ?? tempDir();
  const logger = process.env.TEST_LOG ? new Logger({ prefix: '[nsqd] ', level: 1 }) : nullLogger;
  const nsqd = new Nsqd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', httpsAddress: '127.0.0.1:0', logger, ...init, dataPath });
  await nsqd.start();
  const ownsDir = init.dataPath === undefined;
  return {
    nsqd,
    tcpPort: nsqd.tcpPort,
    httpPort: nsqd.httpPort,
    dataPath,
    url: `http://127.0.0.1:${nsqd.httpPort}`,
    async close() {
      await nsqd.close();
      if (ownsDir) rmSync(dataPath, { recursive: true, force: true });
    },
  };
}

/** A running nsqlookupd for a test. */
export interface TestNsqlookupd {
  lookupd: NSQLookupd;
  tcpPort: number;
  httpPort: number;
  /** Base URL of the HTTP API. */
  url: string;
  close(): Promise<void>;
}

/** Start an nsqlookupd in-process on ephemeral loopback ports; TEST_LOG=1 shows its log. */
export async function startNsqlookupd(init: NSQLookupdInit = {}): Promise<TestNsqlookupd> {
  const logger = process.env.TEST_LOG ? new Logger({ prefix: '[nsqlookupd] ', level: 1 }) : nullLogger;
  const lookupd = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1', logger, ...init });
  await lookupd.start();
  return {
    lookupd,
    tcpPort: lookupd.tcpPort,
    httpPort: lookupd.httpPort,
    url: `http://127.0.0.1:${lookupd.httpPort}`,
    close: () => lookupd.close(),
  };
}

/** Poll `cond` every 10 ms until true, or throw after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An HTTP request; body returned as text. */
export async function http(method: string, url: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { method, body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body), headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Start nsqd on `dataPath`, run fn, and close it (also when fn throws). */
export async function withNsqdAt(dataPath: string, init: NsqdInit, fn: (d: TestNsqd) => Promise<void>): Promise<void> {
  const d = await startNsqd({ ...init, dataPath });
  try {
    await fn(d);
  } finally {
    await d.close();
  }
}
