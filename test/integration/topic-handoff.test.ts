// The hand-off from a topic's disk queue to its channels' disk queues (default mode,
// --mem-queue-size=0). nsqd's channel put blocks until the channel's diskqueue wrote the message,
// so by the time go-diskqueue deletes a finished topic segment, every message read from it sits
// in a channel file. Ours writes asynchronously, so the topic must hold its read position (and
// its segments) until the channel writes completed; otherwise a SIGKILL in between loses what
// publishers were told OK about (seen once in CI: a whole segment, 4 messages).
//
// Here the I/O executor of an embedded nsqd is gated: while closed, segment writes wait (as
// behind a slow fdatasync), reads and unlinks go on. Nothing else is replaced: the daemon is
// real and is driven over HTTP and TCP.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../src/internal/log.js';
import type { Backend, IoExecutor, WriteBatch } from '../../src/native/backend.js';
import { Nsqd } from '../../src/nsqd/nsqd.js';
import { tempDir, waitFor } from '../helpers/daemons.js';
import { takeMessages, waitChannel, waitTopic } from '../helpers/stats.js';

/** An IoExecutor that holds batches while closed and runs them in order once opened. */
class GatedIo implements IoExecutor {
  private held: [WriteBatch, (errno: number, done: number) => void][] = [];
  private closed = false;
  constructor(private readonly inner: IoExecutor) {}

  execute(batch: WriteBatch, done: (errno: number, completed: number) => void): void {
    if (this.closed) this.held.push([batch, done]);
    else this.inner.execute(batch, done);
  }

  get waiting(): number {
    return this.held.length;
  }

  close(): void {
    this.closed = true;
  }

  open(): void {
    this.closed = false;
    // One at a time, in order, as the executor's single worker would run them.
    const next = (): void => {
      const h = this.held.shift();
      if (h === undefined) return;
      this.inner.execute(h[0], (errno, n) => {
        h[1](errno, n);
        next();
      });
    };
    next();
  }
}

async function post(url: string, body?: string): Promise<void> {
  const r = await fetch(url, { method: 'POST', body });
  assert.is(r.status, 200, `${url}: ${await r.text()}`);
}

test('default mode, --mem-queue-size=0: a topic segment is deleted only after the channel copies of its messages are written', async () => {
  const dataPath = tempDir('nsq-ts-handoff-');
  const nsqd = new Nsqd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', httpsAddress: '127.0.0.1:0', logger: nullLogger, dataPath, memQueueSize: 0, maxBytesPerFile: 1024 });
  const io = new GatedIo(nsqd.backend.io);
  (nsqd as unknown as { backend: Backend }).backend = { ...nsqd.backend, io };
  await nsqd.start();
  const url = `http://127.0.0.1:${nsqd.httpPort}`;
  const segment = (queue: string, n: number) => join(dataPath, `${queue}.diskqueue.${String(n).padStart(6, '0')}.dat`);
  try {
    await post(`${url}/topic/create?topic=h`);
    await post(`${url}/channel/create?topic=h&channel=c`);
    await post(`${url}/topic/pause?topic=h`);
    // 20 messages of 234-byte records: 4 per 1024-byte segment, files 000000-000004 of the topic.
    const bodies = Array.from({ length: 20 }, (_, i) => `m${String(i + 1).padStart(2, '0')}:${'x'.repeat(200)}`);
    for (const b of bodies) await post(`${url}/pub?topic=h`, b);
    for (let f = 0; f < 5; f++) assert.ok(existsSync(segment('h', f)), `topic segment ${f} written`);

    io.close();
    await post(`${url}/topic/unpause?topic=h`);
    // The topic reads all of it (reads do not go through the executor); the channel's writes wait.
    await waitTopic(url, 'h', (t) => t.depth === 0, 'the topic read everything');
    await waitFor(() => io.waiting > 0, 5000, 'channel writes waiting');
    await new Promise((r) => setTimeout(r, 100));
    for (let f = 0; f < 4; f++) assert.ok(existsSync(segment('h', f)), `topic segment ${f} kept while the channel copies are unwritten`);

    io.open();
    await waitFor(() => !existsSync(segment('h', 0)) && !existsSync(segment('h', 3)), 5000, 'topic segments deleted once the channel wrote the copies');
    await waitChannel(url, 'h', 'c', (c) => c.depth === 20, 'channel holds 20');
    const got = await takeMessages(nsqd.tcpPort, url, 'h', 'c', 20);
    assert.equal(got.map((m) => m.body.toString()).sort(), [...bodies].sort());
  } finally {
    io.open();
    await nsqd.close();
    rmSync(dataPath, { recursive: true, force: true });
  }
});

test.run();
