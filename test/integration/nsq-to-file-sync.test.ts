// nsq_to_file's background sync, in order: messages that come while an fsync runs on the thread
// pool and ask for a sync of their own (the consumer starved) are synced as soon as that fsync
// completes, from its completion, not at the next --sync-interval tick. The fsync is held open
// by the test (backgroundSync.fsync), so what happens meanwhile is ordered, not timed; the
// FileLogger runs in this process against a real nsqd.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../src/internal/log.js';
import { toolClientOptions, parseToolFlags } from '../../src/tools/common.js';
import { backgroundSync, FileLogger } from '../../src/tools/nsq-to-file/file-logger.js';
import { nsqToFileFlagSpecs, type NsqToFileOptions } from '../../src/tools/nsq-to-file/options.js';
import { startNsqd, tempDir, waitFor } from '../helpers/daemons.js';
import { publish, waitForChannel } from '../helpers/tools.js';

interface HeldSync {
  cb: (err: NodeJS.ErrnoException | null) => void;
  /** Whether it was asked for while the test ran an earlier sync's completion. */
  fromCompletion: boolean;
}

test('messages that asked for a sync during a background fsync are synced from its completion', async () => {
  const nsqd = await startNsqd();
  const out = tempDir('nsq-ts-to-file-sync-');
  const realFsync = backgroundSync.fsync;
  const held: HeldSync[] = [];
  let completing = false;
  // Held syncs complete when the test says (the file is synced by close, at the end).
  backgroundSync.fsync = (_fd, cb) => held.push({ cb, fromCompletion: completing });
  let completed = 0;
  const complete = (i: number): void => {
    completing = true;
    try {
      completed = i + 1;
      held[i]!.cb(null);
    } finally {
      completing = false;
    }
  };
  let logger: FileLogger | null = null;
  try {
    // One hour between ticks: within this test only the messages themselves ask for syncs.
    const { options: o } = parseToolFlags<NsqToFileOptions>('nsqd', nsqToFileFlagSpecs(), [
      '--topic=sync_again', '--channel=c', `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`, `--output-dir=${out}`, '--sync-interval=1h', '--max-in-flight=10',
    ]);
    o.workDir = o.outputDir;
    await publish(nsqd.url, 'sync_again', ['m-0']);
    logger = await FileLogger.create(nullLogger, o, 'sync_again', toolClientOptions('nsq_to_file', o.consumerOpts, false, { maxInFlight: o.maxInFlight }));
    // The first message opens the file and is synced at once: that fsync is held open.
    await waitFor(() => held.length === 1, 10_000, 'the first background fsync');
    // Eight more: with nine in flight of RDY 10 the consumer is starved, and each asks for a sync
    // while the first one runs.
    await publish(nsqd.url, 'sync_again', Array.from({ length: 8 }, (_, i) => `m-${i + 1}`));
    const file = (): string => join(out, readdirSync(out).find((f) => f.startsWith('sync_again.'))!);
    await waitFor(() => readFileSync(file(), 'utf8').split('\n').length === 10, 10_000, 'nine lines in the file');
    assert.is(held.length, 1, 'no second fsync while the first runs');
    complete(0);
    assert.is(held.length, 2, 'the completion of the first fsync started the next one');
    assert.ok(held[1]!.fromCompletion, 'from within that completion');
    await waitForChannel(nsqd.url, 'sync_again', 'c', (c) => c.in_flight_count === 8, 10_000, 'the first message finished, eight in flight');
    complete(1);
    await waitForChannel(nsqd.url, 'sync_again', 'c', (c) => c.in_flight_count === 0 && c.depth === 0, 10_000, 'all nine finished');
    assert.is(held.length, 2, 'nothing left to sync');
    backgroundSync.fsync = realFsync;
    await logger.term();
    logger = null;
    const lines = readdirSync(out).flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== ''));
    assert.equal(lines, Array.from({ length: 9 }, (_, i) => `m-${i}`));
  } finally {
    backgroundSync.fsync = realFsync;
    for (const h of held.slice(completed)) h.cb(null);
    if (logger !== null) await logger.term();
    await nsqd.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
