import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cfgName, loadConfigFile, resolveOptions } from '../../src/internal/config.js';
import { parseFlags, type FlagSpec } from '../../src/internal/flags.js';

const LEVELS: Record<string, number> = { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };

const SPECS: FlagSpec[] = [
  { name: 'config', key: 'config', kind: 'string', default: '', usage: 'config file', noConfig: true },
  { name: 'tcp-address', key: 'tcpAddress', kind: 'string', default: '0.0.0.0:4150', usage: 'tcp' },
  { name: 'node-id', key: 'id', cfg: 'id', kind: 'int', default: 7, usage: 'node id' },
  { name: 'mem-queue-size', key: 'memQueueSize', kind: 'int', default: 10000, usage: 'mem' },
  { name: 'msg-timeout', key: 'msgTimeout', kind: 'duration', default: 60_000, usage: 'timeout' },
  { name: 'snappy', key: 'snappy', kind: 'bool', default: true, usage: 'snappy' },
  { name: 'ratio', key: 'ratio', kind: 'float', default: 0.5, usage: 'ratio' },
  { name: 'lookupd-tcp-address', key: 'nsqlookupdTCPAddresses', cfg: 'nsqlookupd_tcp_addresses', kind: 'strings', default: [], usage: 'lookupd' },
  {
    name: 'e2e-processing-latency-percentile',
    key: 'percentiles',
    cfg: 'e2e_processing_latency_percentiles',
    kind: 'strings',
    splitComma: true,
    default: [],
    usage: 'percentiles',
    parse: (raw) => {
      const f = Number(raw);
      if (!(f > 0 && f <= 1)) throw new Error(`Invalid percentile: ${raw}`);
      return f;
    },
  },
  {
    name: 'log-level',
    key: 'logLevel',
    kind: 'custom',
    default: 2,
    usage: 'level',
    parse: (raw) => {
      const v = LEVELS[raw.toLowerCase()];
      if (v === undefined) throw new Error(`invalid log level "${raw}"`);
      return v;
    },
  },
  {
    name: 'tls-required',
    key: 'tlsRequired',
    kind: 'custom',
    boolLike: true,
    default: 0,
    usage: 'tls',
    parse: (raw) => (raw === 'tcp-https' ? 1 : raw === 'true' ? 2 : 0),
    fromConfig: (v) => {
      if (v === true) return 2;
      if (v === false) return 0;
      if (v === 'tcp-https') return 1;
      throw new Error(`bad tls_required ${String(v)}`);
    },
  },
  { name: 'version', key: 'version', kind: 'bool', default: false, usage: 'version', noConfig: true },
];

interface Opts {
  config: string;
  tcpAddress: string;
  id: number;
  memQueueSize: number;
  msgTimeout: number;
  snappy: boolean;
  ratio: number;
  nsqlookupdTCPAddresses: string[];
  percentiles: number[];
  logLevel: number;
  tlsRequired: number;
  version: boolean;
}

function resolve(argv: string[], config: Record<string, unknown>): Opts {
  const r = parseFlags('nsqd', SPECS, argv);
  if (r.kind !== 'ok') throw new Error(r.kind === 'error' ? r.message : 'help');
  return resolveOptions<Opts>(SPECS, r, config);
}

let dir = '';
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsq-ts-config-'));
});
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('cfgName defaults to the flag name with underscores', () => {
  assert.is(cfgName(SPECS[3] as FlagSpec), 'mem_queue_size');
  assert.is(cfgName(SPECS[2] as FlagSpec), 'id');
  assert.is(cfgName(SPECS[7] as FlagSpec), 'nsqlookupd_tcp_addresses');
});

test('defaults when nothing is set, with arrays copied', () => {
  const o = resolve([], {});
  assert.equal(o, {
    config: '',
    tcpAddress: '0.0.0.0:4150',
    id: 7,
    memQueueSize: 10000,
    msgTimeout: 60_000,
    snappy: true,
    ratio: 0.5,
    nsqlookupdTCPAddresses: [],
    percentiles: [],
    logLevel: 2,
    tlsRequired: 0,
    version: false,
  });
  o.nsqlookupdTCPAddresses.push('x');
  assert.equal((SPECS[7] as FlagSpec).default, []);
});

test('flag beats config beats default', () => {
  const config = { mem_queue_size: 5, tcp_address: '127.0.0.1:1', snappy: false };
  const o = resolve(['--mem-queue-size=9'], config);
  assert.is(o.memQueueSize, 9);
  assert.is(o.tcpAddress, '127.0.0.1:1');
  assert.is(o.snappy, false);
  assert.is(o.msgTimeout, 60_000);
  // An explicit flag equal to the default still wins over the config file.
  assert.is(resolve(['--snappy=true'], config).snappy, true);
});

test('config coercions', () => {
  const o = resolve([], {
    id: 12,
    msg_timeout: '1m30s',
    ratio: 3,
    nsqlookupd_tcp_addresses: ['a:4160', 'b:4160'],
    e2e_processing_latency_percentiles: [0.99, 0.95],
    log_level: 'WARN',
    tls_required: 'tcp-https',
  });
  assert.is(o.id, 12);
  assert.is(o.msgTimeout, 90_000);
  assert.is(o.ratio, 3);
  assert.equal(o.nsqlookupdTCPAddresses, ['a:4160', 'b:4160']);
  assert.equal(o.percentiles, [0.99, 0.95]);
  assert.is(o.logLevel, 3);
  assert.is(o.tlsRequired, 1);
  // Integer durations are milliseconds; integral floats are integers.
  assert.is(resolve([], { msg_timeout: 1500 }).msgTimeout, 1500);
  assert.is(resolve([], { mem_queue_size: 100.0 }).memQueueSize, 100);
  // go-options also accepts strings for ints and bools, and splits a plain string list on ','.
  assert.is(resolve([], { mem_queue_size: '42' }).memQueueSize, 42);
  assert.is(resolve([], { snappy: 'false' }).snappy, false);
  assert.equal(resolve([], { nsqlookupd_tcp_addresses: 'a:4160' }).nsqlookupdTCPAddresses, ['a:4160']);
  assert.equal(resolve([], { nsqlookupd_tcp_addresses: 'a:4160,b:4160' }).nsqlookupdTCPAddresses, ['a:4160', 'b:4160']);
  assert.is(resolve([], { tls_required: true }).tlsRequired, 2);
});

test('noConfig flags ignore the config file and unknown keys are ignored', () => {
  const o = resolve([], { version: true, config: '/etc/x', whatever: 1, 'tcp-address': 'nope' });
  assert.is(o.version, false);
  assert.is(o.config, '');
  assert.is(o.tcpAddress, '0.0.0.0:4150');
});

test('wrong config types throw naming the key', () => {
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ mem_queue_size: 'abc' }, 'mem_queue_size'],
    [{ mem_queue_size: 1.5 }, 'mem_queue_size'],
    [{ snappy: 1 }, 'snappy'],
    [{ tcp_address: 4150 }, 'tcp_address'],
    [{ msg_timeout: '10' }, 'msg_timeout'],
    [{ msg_timeout: 1.5 }, 'msg_timeout'],
    [{ msg_timeout: true }, 'msg_timeout'],
    [{ ratio: 'x' }, 'ratio'],
    [{ nsqlookupd_tcp_addresses: [1, 2] }, 'nsqlookupd_tcp_addresses'],
    [{ nsqlookupd_tcp_addresses: 5 }, 'nsqlookupd_tcp_addresses'],
    [{ e2e_processing_latency_percentiles: [2] }, 'e2e_processing_latency_percentiles'],
    [{ log_level: 'loud' }, 'log_level'],
    [{ tls_required: 'sometimes' }, 'tls_required'],
  ];
  for (const [config, key] of bad) {
    assert.throws(
      () => resolve([], config),
      (err: unknown) => err instanceof Error && err.message.startsWith(`invalid value for ${key}: `),
      JSON.stringify(config),
    );
  }
  assert.throws(() => resolve([], { msg_timeout: '10' }), /missing unit in duration "10"/);
});

test('loadConfigFile parses TOML', () => {
  const path = join(dir, 'nsqd.cfg');
  writeFileSync(
    path,
    [
      '# nsqd config',
      'id = 3',
      'mem_queue_size = 500',
      'msg_timeout = "30s"',
      'nsqlookupd_tcp_addresses = ["127.0.0.1:4160"]',
      'e2e_processing_latency_percentiles = [1.0, 0.99]',
      'snappy = false',
      'log_level = "debug"',
      '',
    ].join('\n'),
  );
  const config = loadConfigFile(path);
  assert.is(config.mem_queue_size, 500);
  const o = resolveOptions<Opts>(SPECS, { values: {}, explicit: new Set() }, config);
  assert.is(o.id, 3);
  assert.is(o.memQueueSize, 500);
  assert.is(o.msgTimeout, 30_000);
  assert.equal(o.nsqlookupdTCPAddresses, ['127.0.0.1:4160']);
  assert.equal(o.percentiles, [1, 0.99]);
  assert.is(o.snappy, false);
  assert.is(o.logLevel, 1);
});

test('loadConfigFile errors name the file', () => {
  const path = join(dir, 'broken.cfg');
  writeFileSync(path, 'mem_queue_size = = 5\n');
  assert.throws(
    () => loadConfigFile(path),
    (err: unknown) => err instanceof Error && err.message.startsWith(`failed to load config file ${path} - `) && err.message.length > path.length + 30,
  );
  const missing = join(dir, 'missing.cfg');
  assert.throws(() => loadConfigFile(missing), (err: unknown) => err instanceof Error && err.message === `failed to load config file ${missing} - open ${missing}: no such file or directory`);
  assert.throws(() => loadConfigFile(dir), (err: unknown) => err instanceof Error && err.message === `failed to load config file ${dir} - read ${dir}: is a directory`);
});

test.run();
