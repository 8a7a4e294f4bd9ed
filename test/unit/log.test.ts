import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatLogTime, Logger, LogLevels, logLevelName, nullLogger, parseLogLevel, type LogLevel } from '../../src/internal/log.js';

function capture(level: LogLevel, prefix = '[nsqd] ', json = false): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = new Logger({ prefix, level, json, write: (line) => lines.push(line) });
  return { logger, lines };
}

const LINE_RE = /^\[nsqd\] (\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{6}) ([A-Z]+): (.*)\n$/s;

test('parseLogLevel and logLevelName', () => {
  assert.is(parseLogLevel('debug'), 1);
  assert.is(parseLogLevel('INFO'), 2);
  assert.is(parseLogLevel('Warn'), 3);
  assert.is(parseLogLevel('error'), 4);
  assert.is(parseLogLevel('FATAL'), 5);
  assert.is(parseLogLevel('warning'), undefined);
  assert.is(parseLogLevel(''), undefined);
  assert.equal([1, 2, 3, 4, 5].map((l) => logLevelName(l as LogLevel)), ['debug', 'info', 'warn', 'error', 'fatal']);
  assert.equal(LogLevels, { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 });
});

test('text lines follow NSQ format with local time', () => {
  const { logger, lines } = capture(1);
  const before = Date.now();
  logger.info('TCP: listening on [::]:4150');
  const after = Date.now();
  assert.is(lines.length, 1);
  const m = LINE_RE.exec(lines[0] as string);
  assert.ok(m, lines[0]);
  if (!m) return;
  assert.is(m[8], 'INFO');
  assert.is(m[9], 'TCP: listening on [::]:4150');
  const t = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Math.floor(Number(m[7]) / 1000));
  assert.ok(t.getTime() >= before - 5 && t.getTime() <= after + 5, `${t.getTime()} not in [${before}, ${after}]`);
});

test('level words', () => {
  const { logger, lines } = capture(1);
  logger.debug('a');
  logger.info('b');
  logger.warn('c');
  logger.error('d');
  logger.fatal('e');
  logger.log(3, 'f');
  assert.equal(lines.map((l) => LINE_RE.exec(l)?.[8]), ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'FATAL', 'WARNING']);
});

test('messages below the level are dropped and the level is mutable', () => {
  const { logger, lines } = capture(3);
  logger.debug('no');
  logger.info('no');
  logger.warn('yes');
  logger.log(2, 'no');
  assert.is(lines.length, 1);
  logger.level = 1;
  logger.debug('now yes');
  assert.is(lines.length, 2);
  logger.level = 5;
  logger.error('no');
  logger.fatal('yes');
  assert.is(lines.length, 3);
});

test('a message ending in a newline gets no second one', () => {
  const { logger, lines } = capture(2);
  logger.info('done\n');
  assert.ok((lines[0] as string).endsWith(' INFO: done\n'));
});

test('formatLogTime pads every field and keeps six-digit microseconds', () => {
  const t = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
  assert.is(formatLogTime(t), '2026/01/02 03:04:05.006000');
  assert.is(formatLogTime(t + 0.123), '2026/01/02 03:04:05.006123');
  assert.is(formatLogTime(new Date(2026, 10, 29, 23, 59, 59, 999).getTime() + 0.5), '2026/11/29 23:59:59.999500');
});

test('json mode writes one object per line', () => {
  const { logger, lines } = capture(2, '[nsqd] ', true);
  logger.debug('hidden');
  logger.warn('disk <full> & "slow"');
  assert.is(lines.length, 1);
  const line = lines[0] as string;
  assert.ok(line.endsWith('}\n'));
  const obj = JSON.parse(line) as Record<string, unknown>;
  assert.equal(Object.keys(obj), ['level', 'time', 'prefix', 'msg']);
  assert.is(obj.level, 'warn');
  assert.is(obj.prefix, 'nsqd');
  assert.is(obj.msg, 'disk <full> & "slow"');
  assert.ok(!Number.isNaN(Date.parse(obj.time as string)));
  assert.is(new Date(obj.time as string).toISOString(), obj.time);
});

test('nullLogger drops everything', () => {
  nullLogger.fatal('x');
  nullLogger.error('x');
  nullLogger.info('x');
  nullLogger.log(5, 'x');
  assert.ok(nullLogger instanceof Logger);
});

test('default sink is stderr', () => {
  const logger = new Logger({ prefix: '[t] ', level: 2 });
  const original = process.stderr.write.bind(process.stderr);
  const seen: string[] = [];
  process.stderr.write = ((chunk: string | Uint8Array) => {
    seen.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    logger.info('hello');
  } finally {
    process.stderr.write = original;
  }
  assert.is(seen.length, 1);
  assert.ok((seen[0] as string).startsWith('[t] ') && (seen[0] as string).endsWith(' INFO: hello\n'));
});

test.run();
