// nsq_to_file (src/apps/nsq_to_file.ts) as a real process against real nsqd / nsqlookupd: file
// naming (<TOPIC>.<HOST><REV>.<DATETIME>.log, --filename-format tokens, --datetime-format,
// --host-identifier), --output-dir / --work-dir with the move on close, --gzip members, rotation by
// size and by interval, --skip-empty-files, SIGHUP, SIGTERM, messages finished only after their
// sync (kill -9 → redelivered, not lost), --topic-pattern discovery through nsqlookupd, flag errors.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §0, §3 (common) and §3.1.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNsqd, waitFor, type TestNsqd, type TestNsqlookupd } from '../helpers/daemons.js';
import { freePort, type Proc } from '../helpers/proc.js';
import { escapeRe } from '../helpers/log-lines.js';
import { assertFatals, bodies, publish, startCluster, ToolSession, waitDrained, waitForChannel, type TestCluster } from '../helpers/tools.js';

const tools = new ToolSession();
let cluster: TestCluster;
let lookupd: TestNsqlookupd;
let nsqd: TestNsqd;
let seq = 0;
const topicName = (): string => `to_file_${++seq}`;
const HOST = hostname().split('.')[0]!;

test.before(async () => {
  cluster = await startCluster(1);
  lookupd = cluster.lookupd;
  nsqd = cluster.nsqds[0]!;
});

test.after(async () => {
  await tools.cleanup();
  await cluster.close();
});

const nsqdAddr = (n: TestNsqd = nsqd): string => `--nsqd-tcp-address=127.0.0.1:${n.tcpPort}`;
const pad2 = (n: number): string => String(n).padStart(2, '0');
/** A constant <DATETIME> ("fixed" holds no strftime code nor Go layout element), so an hour boundary cannot split a test's files. */
const FIXED = '--datetime-format=fixed';

/** The default <DATETIME> (%Y-%m-%d_%H) of local time now, computed independently of the tool. */
function hourStamp(d = new Date()): string {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}_${pad2(d.getHours())}`;
}

/** Start nsq_to_file for `topic` (more flags in `extra`) and remember the stamps around its start. */
function startToFile(topic: string, extra: readonly string[], n: TestNsqd = nsqd): { p: Proc; stamps: string[] } {
  const before = hourStamp();
  const p = tools.start('nsq_to_file', [`--topic=${topic}`, nsqdAddr(n), ...extra]);
  return { p, stamps: [before] };
}

/** Wait until the tool's channel finished `count` messages (they are finished only after a sync). */
const drained = (topic: string, count: number, n: TestNsqd = nsqd, channel = 'nsq_to_file'): Promise<void> => waitDrained(n.url, topic, channel, count);

/** SIGTERM and expect a clean exit 0. */
async function stop(p: Proc): Promise<void> {
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null }, p.stderr);
}

/** The lines of a file (no trailing empty line). */
function lines(path: string, gz = false): string[] {
  let data = readFileSync(path);
  if (gz) data = gunzipSync(data);
  const text = data.toString();
  assert.ok(text === '' || text.endsWith('\n'), `${path} ends with a newline`);
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

/** Files `<topic>.<host>-<rev>.<datetime>.log[.gz]` in `dir`, ordered by (datetime, rev). */
function revFiles(dir: string, topic: string, host = HOST): string[] {
  const re = new RegExp(`^${topic}\\.${host}-(\\d{6})\\.(\\d{4}-\\d{2}-\\d{2}_\\d{2}|fixed)\\.log(\\.gz)?$`);
  const names = readdirSync(dir);
  for (const n of names) assert.match(n, re, `unexpected file ${n} in ${dir}`);
  const key = (n: string): string => {
    const m = re.exec(n)!;
    return `${m[2]}/${m[1]}`;
  };
  return names.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** How many gzip members a file holds (gzip header signatures with no flags set). */
function gzipMembers(path: string): number {
  const data = readFileSync(path);
  let n = 0;
  for (let i = data.indexOf(Buffer.from([0x1f, 0x8b, 0x08])); i !== -1; i = data.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), i + 1)) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Flags

test('--version prints "nsq_to_file v1.3.0"; -h prints NSQ\'s usage (flag set named "nsqd")', async () => {
  let r = await tools.run('nsq_to_file', ['--version']);
  assert.equal([r.code, r.stdout], [0, 'nsq_to_file v1.3.0\n']);
  r = await tools.run('nsq_to_file', ['-h']);
  assert.is(r.code, 0);
  assert.match(r.stderr, /^Usage of nsqd:\n/);
  assert.match(r.stderr, /^ {2}-filename-format string\n\s+output filename format .*\(default "<TOPIC>\.<HOST><REV>\.<DATETIME>\.log"\)$/m);
  assert.match(r.stderr, /^ {2}-datetime-format string\n\s+.*\(default "%Y-%m-%d_%H"\)$/m);
  assert.match(r.stderr, /^ {2}-output-dir string\n\s+directory to write output files to \(default "\/tmp"\)$/m);
  assert.match(r.stderr, /^ {2}-sync-interval duration\n\s+sync file to disk every duration \(default 30s\)$/m);
  assert.match(r.stderr, /^ {2}-rotate-size rotate-size\n\s+rotate the file when it grows bigger than rotate-size bytes$/m);
  r = await tools.run('nsq_to_file', ['--rotate-interval=often']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('invalid value "often" for flag -rotate-interval: parse error\nUsage of nsqd:\n'), r.stderr);
});

test('configuration errors are log.Fatal lines (exit 1), checked in NSQ\'s order', async () => {
  const n = nsqdAddr();
  await assertFatals(tools, 'nsq_to_file', [
    [[n, '--topic=t', 'extra', 'args'], 'unknown arguments: [extra args]'],
    [[n, '--topic=t', '--log-level=loud'], '--log-level is invalid'],
    [[n, '--topic=t', '--channel='], '--channel is required'],
    [[n, '--topic=t', '--http-client-connect-timeout=0s'], '--http-client-connect-timeout should be positive'],
    [[n, '--topic=t', '--http-client-request-timeout=0s'], '--http-client-request-timeout should be positive'],
    [['--topic=t'], '--nsqd-tcp-address or --lookupd-http-address required.'],
    [[n, '--topic=t', `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`], 'use --nsqd-tcp-address or --lookupd-http-address not both'],
    [[n, '--topic=t', '--gzip-level=10'], 'invalid --gzip-level value (10), should be 1-9'],
    [[n, '--topic=t', '--gzip-level=0'], 'invalid --gzip-level value (0), should be 1-9'],
    [[n], '--topic or --topic-pattern required'],
    [[n, '--topic-pattern=.*'], '--lookupd-http-address must be specified when no --topic specified'],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Naming, output, shutdown

test('default name <TOPIC>.<HOST>.<DATETIME>.log in --output-dir; messages are finished only after a sync; SIGTERM syncs and exits 0', async () => {
  const out = tools.dir();
  const topic = topicName();
  const sent = bodies('line', 10);
  await publish(nsqd.url, topic, sent);
  const { p, stamps } = startToFile(topic, [`--output-dir=${out}`]);
  // Opening the file for the first message syncs (and finishes) it; with the default 30 s sync
  // interval the other 9 stay in flight, unfinished.
  await waitForChannel(nsqd.url, topic, 'nsq_to_file', (s) => s.in_flight_count === 9 && s.depth === 0, 10_000, '9 pending');
  await new Promise((r) => setTimeout(r, 300));
  assert.is((await waitForChannel(nsqd.url, topic, 'nsq_to_file', () => true)).in_flight_count, 9, 'still unfinished');
  // Unfinished, yet already written (as nsq_to_file writes straight to the file): a tail -f sees them.
  await waitFor(() => readdirSync(out).flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== '')).length === 10, 5000, 'all 10 lines in the file before any sync');
  await stop(p);
  stamps.push(hourStamp());
  const st = await waitForChannel(nsqd.url, topic, 'nsq_to_file', (s) => s.client_count === 0);
  assert.equal([st.in_flight_count, st.depth, st.requeue_count, st.timeout_count], [0, 0, 0, 0], 'all finished at shutdown');
  // One file, unless the hour changed meanwhile (then the names of both hours).
  const files = readdirSync(out).sort();
  assert.ok(files.length === 1 || (files.length === 2 && stamps[0] !== stamps[1]), files.join(','));
  for (const f of files) assert.ok(stamps.some((s) => f === `${topic}.${HOST}.${s}.log`), `${f} vs ${stamps.join(' / ')}`);
  assert.equal(files.flatMap((f) => lines(join(out, f))), sent);
  assert.is(p.stdout, '');
  assert.match(p.stderr, /^\[nsq_to_file\] \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} INFO: \[to_file_\d+\/nsq_to_file\] syncing 9 records to disk$/m);
});

test('a restart appends to the same (revision-less) file', async () => {
  const out = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, ['first']);
  let { p } = startToFile(topic, [`--output-dir=${out}`, '--sync-interval=50ms']);
  await drained(topic, 1);
  await stop(p);
  await publish(nsqd.url, topic, ['second']);
  ({ p } = startToFile(topic, [`--output-dir=${out}`, '--sync-interval=50ms']));
  await drained(topic, 2);
  await stop(p);
  const files = readdirSync(out);
  if (files.length === 1) assert.equal(lines(join(out, files[0]!)), ['first', 'second']);
  else assert.equal(files.flatMap((f) => lines(join(out, f))).sort(), ['first', 'second'], 'the hour changed in between');
});

test('kill -9 before a sync loses nothing: the unfinished messages time out and are redelivered', async () => {
  const n = await startNsqd({ msgTimeout: 1000 });
  try {
    const out = tools.dir();
    const topic = topicName();
    const sent = bodies('crash', 10);
    await publish(n.url, topic, sent);
    const first = startToFile(topic, [`--output-dir=${out}`], n);
    // The first message is synced when its file opens; the other 9 wait for a sync that never comes.
    await waitForChannel(n.url, topic, 'nsq_to_file', (s) => s.in_flight_count === 9 && s.depth === 0, 10_000, '9 pending');
    await new Promise((r) => setTimeout(r, 300));
    first.p.signal('SIGKILL');
    assert.equal(await first.p.exited(), { code: null, signal: 'SIGKILL' });
    await waitForChannel(n.url, topic, 'nsq_to_file', (s) => s.client_count === 0 && s.timeout_count >= 9 && s.depth === 9, 10_000, 'timed out and requeued');
    const second = startToFile(topic, [`--output-dir=${out}`, '--sync-interval=50ms'], n);
    await waitForChannel(n.url, topic, 'nsq_to_file', (s) => s.depth === 0 && s.in_flight_count === 0 && s.deferred_count === 0, 15_000, 'redelivered and finished');
    await stop(second.p);
    const got = readdirSync(out).flatMap((f) => lines(join(out, f)));
    // At least once: every message is there (a crash may leave written-but-unsynced duplicates).
    assert.equal([...new Set(got)].sort(), [...sent].sort());
    for (const l of got) assert.ok(sent.includes(l), l);
  } finally {
    await n.close();
  }
});

test('--work-dir: the file is written there (with <REV>) and moved to --output-dir on SIGTERM', async () => {
  const out = tools.dir();
  const work = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, bodies('w', 5));
  const { p } = startToFile(topic, [`--output-dir=${out}`, `--work-dir=${work}`, '--sync-interval=50ms', FIXED]);
  await drained(topic, 5);
  const inWork = revFiles(work, topic);
  assert.is(inWork.length, 1);
  assert.equal(readdirSync(out), []);
  assert.match(inWork[0]!, new RegExp(`^${topic}\\.${HOST}-000000\\.`));
  await stop(p);
  assert.equal(readdirSync(work), []);
  assert.equal(readdirSync(out), inWork);
  assert.equal(lines(join(out, inWork[0]!)), bodies('w', 5));
  assert.match(p.stderr, new RegExp(`INFO: \\[${topic}/nsq_to_file\\] moving finished file ${join(work, inWork[0]!)} to ${join(out, inWork[0]!)}`));
});

test('--gzip: a new gzip member per sync; the file reads back whole with gunzip', async () => {
  const out = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, bodies('g1', 5));
  const { p } = startToFile(topic, [`--output-dir=${out}`, '--gzip', '--gzip-level=9', '--sync-interval=50ms', FIXED]);
  await drained(topic, 5);
  await publish(nsqd.url, topic, bodies('g2', 5));
  await drained(topic, 10);
  await stop(p);
  const files = revFiles(out, topic);
  assert.is(files.length, 1);
  assert.ok(files[0]!.endsWith('.log.gz'));
  assert.equal(lines(join(out, files[0]!), true), [...bodies('g1', 5), ...bodies('g2', 5)]);
  assert.ok(gzipMembers(join(out, files[0]!)) >= 2, 'several members');
});

test('--rotate-size: several files (uncompressed bytes counted) whose concatenation is every message once, in order', async () => {
  for (const gz of [false, true]) {
    const out = tools.dir();
    const work = tools.dir();
    const topic = topicName();
    // "r-00".."r-19" + newline = 5 bytes: a file exceeds 20 bytes after its 5th message.
    const sent = Array.from({ length: 20 }, (_, i) => `r-${pad2(i)}`);
    await publish(nsqd.url, topic, sent);
    const extra = gz ? ['--gzip', `--work-dir=${work}`, '--host-identifier=<SHORT_HOST>-x'] : [];
    const { p } = startToFile(topic, [`--output-dir=${out}`, '--rotate-size=20', '--sync-interval=50ms', FIXED, ...extra]);
    await drained(topic, 20);
    await stop(p);
    const host = gz ? `${HOST}-x` : HOST;
    const files = revFiles(out, topic, host);
    // A sync tick after the last message may rotate the full last file too: then an empty file follows.
    assert.ok(files.length === 4 || files.length === 5, files.join(','));
    assert.equal(files.map((f) => f.slice(0, f.indexOf('.', topic.length + 1 + host.length))), files.map((_, r) => `${topic}.${host}-00000${r}`));
    const per = files.map((f) => lines(join(out, f), gz));
    assert.equal(per.map((l) => l.length), [5, 5, 5, 5, 0].slice(0, files.length));
    assert.equal(per.flat(), sent);
    if (gz) {
      assert.ok(files.every((f) => f.endsWith('.log.gz')));
      assert.equal(readdirSync(work), []);
    }
  }
});

test('--rotate-interval: a new file after each interval (empty ones included); concatenation in order', async () => {
  const out = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, bodies('a', 3));
  const { p } = startToFile(topic, [`--output-dir=${out}`, '--rotate-interval=200ms', '--sync-interval=50ms', FIXED]);
  await drained(topic, 3);
  const rotations = (): number => (p.stderr.match(/since last open, rotating\.\.\.$/gm) ?? []).length;
  const base = rotations();
  // Two rotations after the first batch: the second closes a file nothing was written to.
  await waitFor(() => rotations() >= base + 2, 10_000, 'two rotations');
  await publish(nsqd.url, topic, bodies('b', 3));
  await drained(topic, 6);
  await stop(p);
  const files = revFiles(out, topic);
  assert.ok(files.length >= 3, files.join(','));
  const per = files.map((f) => lines(join(out, f)));
  assert.equal(per.flat(), [...bodies('a', 3), ...bodies('b', 3)]);
  assert.ok(per.some((l) => l.length === 0), 'an empty file was left');
});

test('--skip-empty-files: an interval rotation only closes the file; no empty files are left', async () => {
  const out = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, bodies('a', 3));
  const { p } = startToFile(topic, [`--output-dir=${out}`, '--rotate-interval=200ms', '--sync-interval=50ms', '--skip-empty-files', FIXED]);
  await drained(topic, 3);
  const rotations = (): number => (p.stderr.match(/since last open, rotating\.\.\.$/gm) ?? []).length;
  await waitFor(() => rotations() >= 1, 10_000, 'a rotation');
  await new Promise((r) => setTimeout(r, 400)); // more ticks with no file open
  await publish(nsqd.url, topic, bodies('b', 3));
  await drained(topic, 6);
  await stop(p);
  const files = revFiles(out, topic);
  assert.ok(files.length >= 2, files.join(','));
  for (const f of files) assert.ok(statSync(join(out, f)).size > 0, `${f} is empty`);
  assert.equal(files.flatMap((f) => lines(join(out, f))), [...bodies('a', 3), ...bodies('b', 3)]);
});

test('--filename-format tokens <TOPIC> <HOST> <PID> <DATETIME> (sub-directories made), --datetime-format, --host-identifier', async () => {
  const out = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, ['tok']);
  const before = new Date();
  const { p } = startToFile(topic, [
    `--output-dir=${out}`, '--sync-interval=50ms', '--datetime-format=%Y%m%d',
    '--filename-format=<TOPIC>/<HOST>-<PID>/<DATETIME><REV>.txt', '--host-identifier=<HOSTNAME>~id',
  ]);
  await drained(topic, 1);
  const pid = p.child.pid!;
  await stop(p);
  const after = new Date();
  const days = [before, after].map((d) => `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}`);
  const dir = join(out, topic, `${hostname()}~id-${pid}`);
  const files = readdirSync(dir);
  assert.is(files.length, 1);
  assert.ok(days.some((d) => files[0] === `${d}.txt`), files[0]);
  assert.equal(lines(join(dir, files[0]!)), ['tok']);
  assert.is(statSync(join(out, topic)).mode & 0o777 & ~0o770, 0, 'directories are made with mode 0770 (before umask)');
});

test('a missing <REV> with --gzip: the topic\'s logger is not created (error logged), the process keeps running', async () => {
  const out = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, ['never']);
  const { p } = startToFile(topic, [`--output-dir=${out}`, '--gzip', '--filename-format=<TOPIC>.<DATETIME>.log']);
  await p.waitForOutput(new RegExp(`ERROR: couldn't create logger for new topic ${topic}: missing <REV> in --filename-format when gzip, rotation, or work dir enabled$`, 'm'));
  // Like NSQ it keeps running (until a signal) with no logger at all.
  await new Promise((r) => setTimeout(r, 500));
  assert.is(p.exitStatus, null, 'still running');
  await stop(p);
  assert.equal(readdirSync(out), []);
  // The same check for --work-dir and --rotate-interval.
  for (const extra of [`--work-dir=${tools.dir()}`, '--rotate-interval=1h', '--rotate-size=10']) {
    const q = startToFile(topic, [`--output-dir=${out}`, '--filename-format=<TOPIC>.log', extra]).p;
    await q.waitForOutput(/missing <REV> in --filename-format when gzip, rotation, or work dir enabled$/m);
    await stop(q);
  }
});

test('an nsqd it cannot connect to: the error is logged and the process keeps running', async () => {
  const out = tools.dir();
  const p = tools.start('nsq_to_file', ['--topic=unreachable', '--nsqd-tcp-address=127.0.0.1:1', `--output-dir=${out}`]);
  await p.waitForOutput(/ERROR: couldn.t create logger for new topic unreachable: dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/m);
  await new Promise((r) => setTimeout(r, 500));
  assert.is(p.exitStatus, null, 'still running');
  await stop(p);
});

test('a new <DATETIME> rotates to a new file; a missing --output-dir is created', async () => {
  const out = join(tools.dir(), 'made', 'here');
  const topic = topicName();
  const stamp = (d = new Date()): string => `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}${pad2(d.getHours())}${pad2(d.getMinutes())}${pad2(d.getSeconds())}`;
  await publish(nsqd.url, topic, ['in-first']);
  const { p } = startToFile(topic, [`--output-dir=${out}`, '--sync-interval=50ms', '--datetime-format=%Y%m%d%H%M%S']);
  await drained(topic, 1);
  // (A sync tick in a later second already rotates to a new, empty, file.)
  const first = readdirSync(out).find((f) => lines(join(out, f)).includes('in-first'));
  assert.ok(first !== undefined);
  // Wait for the wall clock to reach another second: the next message goes to another file.
  await waitFor(() => first !== `${topic}.${HOST}.${stamp()}.log`, 5000, 'next second');
  await publish(nsqd.url, topic, ['in-second']);
  await drained(topic, 2);
  await stop(p);
  const files = readdirSync(out).sort();
  assert.ok(files.length >= 2, files.join(','));
  for (const f of files) assert.match(f, new RegExp(`^${topic}\\.${HOST}\\.\\d{14}\\.log$`));
  assert.equal(files.map((f) => lines(join(out, f))).filter((l) => l.length > 0), [['in-first'], ['in-second']]);
});

test('--work-dir: an existing output file is skipped (next <REV>); one appearing before the move makes it take the next free <REV>', async () => {
  const out = tools.dir();
  const work = tools.dir();
  const topic = topicName();
  const name = (rev: number): string => `${topic}.${HOST}-00000${rev}.fixed.log`;
  writeFileSync(join(out, name(0)), 'old-0\n');
  await publish(nsqd.url, topic, ['new']);
  const { p } = startToFile(topic, [`--output-dir=${out}`, `--work-dir=${work}`, '--sync-interval=50ms', FIXED]);
  await drained(topic, 1);
  assert.equal(readdirSync(work), [name(1)]);
  assert.match(p.stderr, new RegExp(`WARNING: \\[${topic}/nsq_to_file\\] output file already exists: ${join(out, name(0))}`));
  // rev 1 shows up in the output dir while the tool writes it: the move goes to rev 2.
  writeFileSync(join(out, name(1)), 'old-1\n');
  await stop(p);
  assert.equal(readdirSync(work), []);
  assert.equal(readdirSync(out).sort(), [name(0), name(1), name(2)]);
  assert.equal([0, 1, 2].map((r) => lines(join(out, name(r)))), [['old-0'], ['old-1'], ['new']]);
  assert.match(p.stderr, new RegExp(`INFO: \\[${topic}/nsq_to_file\\] renamed finished file ${join(work, name(1))} to ${join(out, name(2))} to avoid overwrite`));
});

test('--gzip with a name already ending in .gz does not add another', async () => {
  const out = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, ['z']);
  const { p } = startToFile(topic, [`--output-dir=${out}`, '--gzip', '--sync-interval=50ms', '--filename-format=<TOPIC><REV>.gz']);
  await drained(topic, 1);
  await stop(p);
  assert.equal(readdirSync(out), [`${topic}-000000.gz`]);
  assert.equal(lines(join(out, `${topic}-000000.gz`), true), ['z']);
});

test('SIGHUP closes (and moves) the file; the next message opens the next revision', async () => {
  const out = tools.dir();
  const work = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, ['before-hup']);
  const { p } = startToFile(topic, [`--output-dir=${out}`, `--work-dir=${work}`, '--sync-interval=50ms', FIXED]);
  await drained(topic, 1);
  p.signal('SIGHUP');
  await waitFor(() => readdirSync(out).length === 1 && readdirSync(work).length === 0, 10_000, 'file moved after SIGHUP');
  await publish(nsqd.url, topic, ['after-hup']);
  await drained(topic, 2);
  await stop(p);
  const files = revFiles(out, topic);
  assert.is(files.length, 2);
  assert.match(files[1]!, /-000001\./);
  assert.equal(files.map((f) => lines(join(out, f))), [['before-hup'], ['after-hup']]);
});

test('--max-in-flight=1: each message fills the pending buffer and is synced at once (no wait for --sync-interval)', async () => {
  const out = tools.dir();
  const topic = topicName();
  await publish(nsqd.url, topic, bodies('mif', 10));
  const { p } = startToFile(topic, [`--output-dir=${out}`, '--max-in-flight=1']);
  await drained(topic, 10);
  await stop(p);
  assert.equal(readdirSync(out).flatMap((f) => lines(join(out, f))), bodies('mif', 10));
});

test('several --topic: one file per topic; --topic-pattern filters given topics too', async () => {
  const out = tools.dir();
  const t1 = topicName();
  const t2 = topicName();
  await publish(nsqd.url, t1, ['one']);
  await publish(nsqd.url, t2, ['two']);
  const { p } = startToFile(t1, [`--topic=${t2}`, `--output-dir=${out}`, '--sync-interval=50ms', `--topic-pattern=^${t1}$`, '--log-level=debug', FIXED]);
  await drained(t1, 1);
  await p.waitForOutput(new RegExp(`DEBUG: skipping topic ${t2} \\(doesn't match pattern \\^${t1}\\$\\)`));
  await stop(p);
  assert.equal(readdirSync(out).map((f) => f.split('.')[0]), [t1]);

  const out2 = tools.dir();
  const t3 = topicName();
  const t4 = topicName();
  await publish(nsqd.url, t3, ['three']);
  await publish(nsqd.url, t4, ['four']);
  const q = startToFile(t3, [`--topic=${t4}`, `--output-dir=${out2}`, '--sync-interval=50ms', FIXED]).p;
  await drained(t3, 1);
  await drained(t4, 1);
  await stop(q);
  const names = readdirSync(out2).sort();
  assert.equal(names.map((f) => f.split('.')[0]), [t3, t4].sort());
  assert.equal(names.map((f) => lines(join(out2, f))), [['three'], ['four']]);
});

test('several topics synced in the background while messages keep coming and files rotate: every message once, in order, each finished', async () => {
  const out = tools.dir();
  const topics = [topicName(), topicName(), topicName()];
  const n = 3000;
  for (const t of topics) await publish(nsqd.url, t, bodies(t, n));
  // A small in-flight window makes a sync every few dozen messages; a small --rotate-size closes
  // files while a sync of theirs may still be running.
  const { p } = startToFile(topics[0]!, [...topics.slice(1).map((t) => `--topic=${t}`), `--output-dir=${out}`, '--max-in-flight=40', '--rotate-size=4000', '--sync-interval=200ms', FIXED]);
  for (const t of topics) await drained(t, n);
  await stop(p);
  for (const t of topics) {
    // <topic>.<host>-<rev>.fixed.log, in revision order.
    const files = readdirSync(out).filter((f) => f.startsWith(`${t}.`)).sort();
    assert.ok(files.length >= 5, `${t}: ${files.length} files`);
    assert.equal(files.flatMap((f) => lines(join(out, f))), bodies(t, n), t);
  }
  assert.match(p.stderr, /syncing \d+ records to disk/);
});

test('--topic-pattern with --lookupd-http-address: topics created after start are discovered and logged', async () => {
  const out = tools.dir();
  const prefix = `disc${++seq}`;
  const p = tools.start('nsq_to_file', [
    `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`, `--topic-pattern=^${prefix}_keep`, '--topic-refresh=100ms',
    `--output-dir=${out}`, '--sync-interval=50ms', FIXED,
  ]);
  const keep = `${prefix}_keep_a`;
  const skip = `${prefix}_skip_a`;
  await publish(nsqd.url, keep, bodies('k', 3));
  await publish(nsqd.url, skip, bodies('s', 3));
  await drained(keep, 3);
  // A second matching topic appearing later is picked up as well.
  const keep2 = `${prefix}_keep_b`;
  await publish(nsqd.url, keep2, ['late']);
  await drained(keep2, 1);
  await stop(p);
  const names = readdirSync(out).sort();
  assert.equal(names.map((f) => f.split('.')[0]), [keep, keep2]);
  assert.equal(lines(join(out, names[0]!)), bodies('k', 3));
  assert.equal(lines(join(out, names[1]!)), ['late']);
  // The non-matching topic was never subscribed.
  const st = await waitForChannel(nsqd.url, skip, 'nsq_to_file', () => true, 2000).catch(() => null);
  assert.is(st, null);
  assert.ok(!existsSync(join(out, `${skip}.${HOST}.fixed.log`)));
});

test('a topic refresh where one nsqlookupd does not answer is skipped, as NSQ\'s: "could not retrieve topic list", nothing subscribed', async () => {
  const out = tools.dir();
  const prefix = `part${++seq}`;
  const topic = `${prefix}_t`;
  await publish(nsqd.url, topic, ['x']);
  await waitFor(async () => ((await (await fetch(`http://127.0.0.1:${lookupd.httpPort}/topics`)).json()) as { topics: string[] }).topics.includes(topic), 5000, `${topic} registered`);
  const dead = await freePort();
  const p = tools.start('nsq_to_file', [
    `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`, `--lookupd-http-address=127.0.0.1:${dead}`, `--topic-pattern=^${prefix}`, '--topic-refresh=50ms',
    `--output-dir=${out}`, FIXED,
  ]);
  // Two refreshes, each failing on the dead nsqlookupd although the live one lists the topic.
  const line = `ERROR: could not retrieve topic list: Get "http://127.0.0.1:${dead}/topics": dial tcp 127.0.0.1:${dead}: connect: connection refused`;
  const re = escapeRe(line);
  await p.waitForOutput(new RegExp(`${re}[\\s\\S]*${re}`));
  const st = await waitForChannel(nsqd.url, topic, 'nsq_to_file', () => true, 200).catch(() => null);
  assert.is(st, null, 'no consumer for the topic');
  await stop(p);
  assert.equal(readdirSync(out), []);
});

test.run();
