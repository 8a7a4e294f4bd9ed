import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatUsage, parseFlags, parseGoBool, parseGoFloat, parseGoInt, type FlagParseResult, type FlagSpec } from '../../src/internal/flags.js';

const SPECS: FlagSpec[] = [
  { name: 'config', key: 'config', kind: 'string', default: '', usage: 'path to config file', noConfig: true },
  { name: 'version', key: 'version', kind: 'bool', default: false, usage: 'print version string', noConfig: true },
  { name: 'tcp-address', key: 'tcpAddress', kind: 'string', default: '0.0.0.0:4150', usage: '<addr>:<port> to listen on for TCP clients' },
  { name: 'mem-queue-size', key: 'memQueueSize', kind: 'int', default: 10000, usage: 'number of messages to keep in memory (per topic/channel)' },
  { name: 'msg-timeout', key: 'msgTimeout', kind: 'duration', default: 60_000, usage: 'default duration to wait before auto-requeing a message' },
  { name: 'snappy', key: 'snappy', kind: 'bool', default: true, usage: 'enable snappy feature negotiation (client compression)' },
  { name: 'lookupd-tcp-address', key: 'nsqlookupdTCPAddresses', cfg: 'nsqlookupd_tcp_addresses', kind: 'strings', default: [], usage: 'lookupd TCP address (may be given multiple times)' },
  { name: 'ratio', key: 'ratio', kind: 'float', default: 0.5, usage: 'a float knob' },
  {
    name: 'e2e-processing-latency-percentile',
    key: 'e2eProcessingLatencyPercentiles',
    cfg: 'e2e_processing_latency_percentiles',
    kind: 'strings',
    splitComma: true,
    default: [],
    usage: 'message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated)',
    parse: (raw) => {
      const f = Number(raw);
      if (!(f > 0 && f <= 1)) throw new Error(`Invalid percentile: ${raw}`);
      return f;
    },
  },
  {
    name: 'tls-required',
    key: 'tlsRequired',
    kind: 'custom',
    boolLike: true,
    default: 0,
    usage: 'require TLS for client connections (true, false, tcp-https)',
    parse: (raw) => {
      if (raw === 'tcp-https') return 1;
      const map: Record<string, number> = { true: 2, false: 0 };
      const v = map[raw];
      if (v === undefined) throw new Error('parse error');
      return v;
    },
  },
  {
    name: 'log-level',
    key: 'logLevel',
    kind: 'custom',
    default: 2,
    defaultText: 'INFO',
    usage: 'set log verbosity: debug, info, warn, error, or fatal',
    parse: (raw) => {
      const v = ({ debug: 1, info: 2, warn: 3, error: 4, fatal: 5 } as Record<string, number>)[raw.toLowerCase()];
      if (v === undefined) throw new Error('invalid log-level');
      return v;
    },
  },
];

function ok(argv: string[], specs: readonly FlagSpec[] = SPECS): Extract<FlagParseResult, { kind: 'ok' }> {
  const r = parseFlags('nsqd', specs, argv);
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${r.kind}: ${r.kind === 'error' ? r.message : ''}`);
  return r;
}

function errorOf(argv: string[], specs: readonly FlagSpec[] = SPECS): string {
  const r = parseFlags('nsqd', specs, argv);
  if (r.kind !== 'error') throw new Error(`expected error, got ${r.kind}`);
  assert.ok(r.usage.startsWith('Usage of nsqd:\n'));
  return r.message;
}

test('one or two dashes, = or separate value', () => {
  for (const argv of [
    ['-mem-queue-size=5'],
    ['--mem-queue-size=5'],
    ['-mem-queue-size', '5'],
    ['--mem-queue-size', '5'],
  ]) {
    const r = ok(argv);
    assert.equal(r.values, { memQueueSize: 5 }, argv.join(' '));
    assert.equal([...r.explicit], ['memQueueSize']);
    assert.equal(r.args, []);
  }
});

test('values hold only what the command line set', () => {
  const r = ok([]);
  assert.equal(r.values, {});
  assert.is(r.explicit.size, 0);
  const r2 = ok(['--tcp-address=127.0.0.1:0', '--msg-timeout=1m30s', '--ratio', '0.25']);
  assert.equal(r2.values, { tcpAddress: '127.0.0.1:0', msgTimeout: 90_000, ratio: 0.25 });
  assert.equal([...r2.explicit].sort(), ['msgTimeout', 'ratio', 'tcpAddress']);
});

test('a value may start with a dash and may be empty', () => {
  assert.equal(ok(['-tcp-address', '-x']).values, { tcpAddress: '-x' });
  assert.equal(ok(['-tcp-address=']).values, { tcpAddress: '' });
  assert.equal(ok(['-tcp-address=a=b']).values, { tcpAddress: 'a=b' });
  assert.equal(ok(['-mem-queue-size=-3']).values, { memQueueSize: -3 });
});

test('bool flags: bare means true, only =value sets other values', () => {
  assert.equal(ok(['-version']).values, { version: true });
  assert.equal(ok(['--snappy=false']).values, { snappy: false });
  for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(ok([`-snappy=${t}`]).values, { snappy: true });
  for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(ok([`-snappy=${f}`]).values, { snappy: false });
  // A bool never consumes the next argument: "false" is the first positional argument.
  const r = ok(['-snappy', 'false', '-version']);
  assert.equal(r.values, { snappy: true });
  assert.equal(r.args, ['false', '-version']);
  assert.is(errorOf(['-snappy=yes']), 'invalid boolean value "yes" for -snappy: parse error');
});

test('boolLike custom flags', () => {
  assert.equal(ok(['--tls-required']).values, { tlsRequired: 2 });
  assert.equal(ok(['--tls-required=tcp-https']).values, { tlsRequired: 1 });
  assert.equal(ok(['--tls-required=false']).values, { tlsRequired: 0 });
  const r = ok(['--tls-required', 'tcp-https']);
  assert.equal(r.values, { tlsRequired: 2 });
  assert.equal(r.args, ['tcp-https']);
  assert.is(errorOf(['--tls-required=maybe']), 'invalid boolean value "maybe" for -tls-required: parse error');
});

test('custom flags parse their text', () => {
  assert.equal(ok(['--log-level', 'DEBUG']).values, { logLevel: 1 });
  assert.is(errorOf(['--log-level=loud']), 'invalid value "loud" for flag -log-level: invalid log-level');
});

test('parsing stops at the first non-flag and after --', () => {
  let r = ok(['-version', 'topic', '-mem-queue-size=5']);
  assert.equal(r.values, { version: true });
  assert.equal(r.args, ['topic', '-mem-queue-size=5']);
  r = ok(['-version', '--', '-mem-queue-size=5']);
  assert.equal(r.args, ['-mem-queue-size=5']);
  r = ok(['-version', '-', 'x']);
  assert.equal(r.args, ['-', 'x']);
  r = ok(['--', '--']);
  assert.equal(r.args, ['--']);
});

test('repeatable strings flags append; splitComma splits each occurrence', () => {
  const r = ok(['--lookupd-tcp-address=a:4160', '-lookupd-tcp-address', 'b:4160', '--lookupd-tcp-address=c:4160,d:4160']);
  assert.equal(r.values, { nsqlookupdTCPAddresses: ['a:4160', 'b:4160', 'c:4160,d:4160'] });
  const p = ok(['--e2e-processing-latency-percentile=0.99,0.95', '--e2e-processing-latency-percentile', '1']);
  assert.equal(p.values, { e2eProcessingLatencyPercentiles: [0.99, 0.95, 1] });
  assert.is(
    errorOf(['--e2e-processing-latency-percentile=0.5,2']),
    'invalid value "0.5,2" for flag -e2e-processing-latency-percentile: Invalid percentile: 2',
  );
});

test('scalar flags: last occurrence wins', () => {
  assert.equal(ok(['-mem-queue-size=1', '-mem-queue-size=2']).values, { memQueueSize: 2 });
});

test('errors use Go flag messages', () => {
  assert.is(errorOf(['-nope']), 'flag provided but not defined: -nope');
  assert.is(errorOf(['--nope=1']), 'flag provided but not defined: -nope');
  assert.is(errorOf(['-mem-queue-size']), 'flag needs an argument: -mem-queue-size');
  assert.is(errorOf(['-mem-queue-size=abc']), 'invalid value "abc" for flag -mem-queue-size: parse error');
  assert.is(errorOf(['-mem-queue-size=99999999999999999999']), 'invalid value "99999999999999999999" for flag -mem-queue-size: value out of range');
  assert.is(errorOf(['-msg-timeout=10']), 'invalid value "10" for flag -msg-timeout: parse error');
  assert.is(errorOf(['-ratio=x']), 'invalid value "x" for flag -ratio: parse error');
  assert.is(errorOf(['---x']), 'bad flag syntax: ---x');
  assert.is(errorOf(['-=x']), 'bad flag syntax: -=x');
});

test('-h, -help and --help ask for usage unless defined', () => {
  for (const h of ['-h', '-help', '--help', '--h', '-help=1']) {
    const r = parseFlags('nsqd', SPECS, [h]);
    assert.is(r.kind, 'help', h);
    if (r.kind === 'help') assert.ok(r.usage.startsWith('Usage of nsqd:\n'));
  }
  const withH: FlagSpec[] = [{ name: 'h', key: 'host', kind: 'string', default: '', usage: 'host' }];
  assert.equal(ok(['-h', 'x'], withH).values, { host: 'x' });
  assert.is(parseFlags('x', withH, ['-help']).kind, 'help');
});

test('parseGoInt follows strconv.ParseInt(s, 0, 64)', () => {
  const good: Array<[string, number]> = [
    ['0', 0], ['42', 42], ['+42', 42], ['-42', -42], ['0x1F', 31], ['0X1f', 31], ['017', 15], ['0o17', 15],
    ['0b101', 5], ['1_000', 1000], ['0x_1F', 31], ['-0', 0], ['9223372036854775807', 9223372036854775807],
  ];
  for (const [s, v] of good) assert.is(parseGoInt(s), v, s);
  for (const s of ['', '+', '-', 'abc', '1.5', '08', '0x', '1__0', '_1', '1_', ' 1', '1 ', '0xg', '1e3']) {
    assert.throws(() => parseGoInt(s), /parse error/, s);
  }
  assert.throws(() => parseGoInt('9223372036854775808'), /value out of range/);
  assert.is(parseGoInt('-9223372036854775808'), -9223372036854775808);
});

test('parseGoBool and parseGoFloat', () => {
  assert.is(parseGoBool('T'), true);
  assert.throws(() => parseGoBool('yes'), /parse error/);
  assert.is(parseGoFloat('0.99'), 0.99);
  assert.is(parseGoFloat('1e3'), 1000);
  assert.is(parseGoFloat('.5'), 0.5);
  assert.is(parseGoFloat('-Inf'), -Infinity);
  assert.ok(Number.isNaN(parseGoFloat('NaN')));
  assert.throws(() => parseGoFloat('1e999'), /value out of range/);
  assert.throws(() => parseGoFloat('abc'), /parse error/);
  assert.throws(() => parseGoFloat(''), /parse error/);
});

test('usage text follows PrintDefaults', () => {
  const usage = formatUsage('nsqd', SPECS);
  const lines = usage.split('\n');
  assert.is(lines[0], 'Usage of nsqd:');
  // Sorted by name.
  const names = lines.filter((l) => l.startsWith('  -')).map((l) => l.slice(3).split(' ')[0]);
  assert.equal(names, [...names].sort());
  assert.ok(usage.includes('  -config string\n    \tpath to config file\n'));
  assert.ok(usage.includes('  -version\n    \tprint version string\n'));
  assert.ok(usage.includes('  -tcp-address string\n    \t<addr>:<port> to listen on for TCP clients (default "0.0.0.0:4150")\n'));
  assert.ok(usage.includes('  -mem-queue-size int\n    \tnumber of messages to keep in memory (per topic/channel) (default 10000)\n'));
  assert.ok(usage.includes('  -msg-timeout duration\n    \tdefault duration to wait before auto-requeing a message (default 1m0s)\n'));
  assert.ok(usage.includes('  -snappy\n    \tenable snappy feature negotiation (client compression) (default true)\n'));
  assert.ok(usage.includes('  -lookupd-tcp-address value\n    \tlookupd TCP address (may be given multiple times)\n'));
  assert.ok(usage.includes('  -ratio float\n    \ta float knob (default 0.5)\n'));
  assert.ok(usage.includes('  -tls-required\n    \trequire TLS'));
  assert.ok(usage.includes('  -log-level value\n    \tset log verbosity: debug, info, warn, error, or fatal (default INFO)\n'));
  assert.ok(usage.endsWith('\n'));
});

test('usage: one-letter bool on one line, back-quoted value names, float and string defaults', () => {
  const specs: FlagSpec[] = [
    { name: 'v', key: 'v', kind: 'bool', default: false, usage: 'verbose' },
    { name: 'f', key: 'f', kind: 'string', default: '', usage: 'read from `file`' },
    { name: 'big', key: 'big', kind: 'float', default: 1_000_000, usage: 'big' },
    { name: 'list', key: 'list', kind: 'strings', default: ['a', 'b'], usage: 'list' },
  ];
  const usage = formatUsage('x', specs);
  assert.ok(usage.includes('  -v\tverbose\n'));
  assert.ok(usage.includes('  -f file\n    \tread from file\n'));
  assert.ok(usage.includes('  -big float\n    \tbig (default 1e+06)\n'));
  assert.ok(usage.includes('  -list value\n    \tlist (default a,b)\n'));
});

test.run();
