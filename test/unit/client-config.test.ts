// Client configuration (go-nsq's Config defaults, ranges and coercions, camelCase and snake_case
// names) and the lookupd URL and response handling.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostname } from 'node:os';
import { CLIENT_VERSION, NsqError, buildLookupUrl, checkOption, defaultClientConfig, parseLookupResponse, producerAddresses, resolveConfig } from '../../src/client/index.js';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.instance(err, NsqError);
    assert.is((err as NsqError).code, 'ERR_CONFIG');
    return (err as Error).message;
  }
  throw new Error('expected an ERR_CONFIG error');
}

test('defaults are go-nsq\'s', () => {
  const c = defaultClientConfig();
  assert.is(c.dialTimeout, 1000);
  assert.is(c.readTimeout, 60_000);
  assert.is(c.writeTimeout, 1000);
  assert.is(c.lookupdPollInterval, 60_000);
  assert.is(c.lookupdPollJitter, 0.3);
  assert.is(c.maxRequeueDelay, 900_000);
  assert.is(c.defaultRequeueDelay, 90_000);
  assert.is(c.backoffStrategy, 'exponential');
  assert.is(c.maxBackoffDuration, 120_000);
  assert.is(c.backoffMultiplier, 1000);
  assert.is(c.maxAttempts, 5);
  assert.is(c.lowRdyIdleTimeout, 10_000);
  assert.is(c.lowRdyTimeout, 30_000);
  assert.is(c.rdyRedistributeInterval, 5000);
  assert.is(c.heartbeatInterval, 30_000);
  assert.is(c.outputBufferSize, 16384);
  assert.is(c.outputBufferTimeout, 250);
  assert.is(c.maxInFlight, 1);
  assert.is(c.deflateLevel, 6);
  assert.is(c.clientId, hostname().split('.')[0]);
  assert.is(c.hostname, hostname());
  assert.is(c.userAgent, `nsq-ts/${CLIENT_VERSION}`);
  assert.match(CLIENT_VERSION, /^\d+\.\d+\.\d+/);
});

test('camelCase, snake_case and kebab-case names; Go durations and ms numbers', () => {
  const c = resolveConfig({ maxInFlight: 10, max_attempts: 3, 'lookupd-poll-interval': '15s', backoff_multiplier: '250ms', read_timeout: 2000, heartbeatInterval: '1s' });
  assert.is(c.maxInFlight, 10);
  assert.is(c.maxAttempts, 3);
  assert.is(c.lookupdPollInterval, 15_000);
  assert.is(c.backoffMultiplier, 250);
  assert.is(c.readTimeout, 2000);
  assert.is(c.heartbeatInterval, 1000);
  assert.is(resolveConfig({ tls_v1: true }).tlsV1, true);
  assert.is(resolveConfig({ skip_lookupd_authorization: false }).lookupdAuthorization, false);
  assert.is(resolveConfig({ deflate: 'true' } as Record<string, unknown>).deflate, true);
  assert.is(resolveConfig({ max_in_flight: '7' } as Record<string, unknown>).maxInFlight, 7);
});

test('ranges with go-nsq\'s wording', () => {
  assert.is(configError(() => resolveConfig({ max_attempts: 70000 })), 'invalid max_attempts ! 70000 > 65535');
  assert.is(configError(() => resolveConfig({ maxInFlight: -1 })), 'invalid maxInFlight ! -1 < 0');
  assert.is(configError(() => resolveConfig({ read_timeout: '10ms' })), 'invalid read_timeout ! 10ms < 100ms');
  assert.is(configError(() => resolveConfig({ lookupdPollInterval: 5 })), 'invalid lookupdPollInterval ! 5ms < 10ms');
  assert.is(configError(() => resolveConfig({ rdy_redistribute_interval: '6s' })), 'invalid rdy_redistribute_interval ! 6s > 5s');
  assert.is(configError(() => resolveConfig({ lookupd_poll_jitter: 1.5 })), 'invalid lookupd_poll_jitter ! 1.5 > 1');
  assert.is(configError(() => resolveConfig({ sample_rate: 100 })), 'invalid sample_rate ! 100 > 99');
  assert.is(configError(() => resolveConfig({ deflate_level: 0 })), 'invalid deflate_level ! 0 < 1');
  assert.is(configError(() => resolveConfig({ max_backoff_duration: '61m' })), 'invalid max_backoff_duration ! 1h1m0s > 1h0m0s');
  assert.is(configError(() => resolveConfig({ heartbeatInterval: 70_000 })), 'HeartbeatInterval 1m10s must be less than ReadTimeout 1m0s');
  assert.is(configError(() => resolveConfig({ nope: 1 } as Record<string, unknown>)), 'invalid option nope');
  assert.match(configError(() => resolveConfig({ maxInFlight: 1.5 })), /failed to coerce option maxInFlight/);
  assert.match(configError(() => resolveConfig({ read_timeout: 'soon' })), /failed to coerce option read_timeout .*invalid duration/);
  assert.match(configError(() => resolveConfig({ backoffStrategy: 'linear' } as Record<string, unknown>)), /invalid backoff_strategy/);
  assert.match(configError(() => resolveConfig({ snappy: true, deflate: true })), /both deflate and snappy/);
  // A string is a Go duration (go-nsq's coerceDuration): digits alone lack a unit, except 0.
  assert.is(configError(() => resolveConfig({ lookupd_poll_interval: '15000' })), 'failed to coerce option lookupd_poll_interval (15000) - time: missing unit in duration "15000"');
  assert.is(resolveConfig({ default_requeue_delay: '0' }).defaultRequeueDelay, 0);
});

test('checkOption checks one option as go-nsq\'s Config.Set does: range and type, not the rules between options', () => {
  checkOption('read_timeout', '10s');
  checkOption('heartbeat_interval', '2m');
  checkOption('deflate', 'true');
  checkOption('snappy', true);
  assert.is(configError(() => checkOption('max_attempts', '70000')), 'invalid max_attempts ! 70000 > 65535');
  assert.is(configError(() => checkOption('nope', '1')), 'invalid option nope');
  assert.match(configError(() => checkOption('read_timeout', '10')), /missing unit/);
  // The rule between options applies once the options are put together.
  assert.is(configError(() => resolveConfig({ heartbeat_interval: '2m', read_timeout: '10s' })), 'HeartbeatInterval 2m0s must be less than ReadTimeout 10s');
  assert.is(resolveConfig({ heartbeat_interval: '5s', read_timeout: '10s' }).readTimeout, 10_000);
});

test('lookupd URLs as go-nsq builds them', () => {
  assert.is(buildLookupUrl('127.0.0.1:4161', 'events'), 'http://127.0.0.1:4161/lookup?topic=events');
  assert.is(buildLookupUrl('http://lookupd.local:4161/', 't'), 'http://lookupd.local:4161/lookup?topic=t');
  assert.is(buildLookupUrl('https://l:8443/custom?x=1', 't'), 'https://l:8443/custom?x=1&topic=t');
  assert.throws(() => buildLookupUrl('lookupd.local', 't'), /missing port/);
});

test('both lookupd response shapes; broadcast_address:tcp_port, deduplicated', () => {
  const producer = { remote_address: '10.0.0.1:5555', hostname: 'h', broadcast_address: 'nsqd1', tcp_port: 4150, http_port: 4151, version: '1.3.0' };
  const v1 = JSON.stringify({ channels: ['c'], producers: [producer, producer, { ...producer, broadcast_address: '::1', tcp_port: 4250 }] });
  const legacy = JSON.stringify({ status_code: 200, status_txt: 'OK', data: { channels: [], producers: [producer] } });
  assert.equal(producerAddresses(parseLookupResponse(v1)), ['nsqd1:4150', '[::1]:4250']);
  assert.equal(producerAddresses(parseLookupResponse(legacy)), ['nsqd1:4150']);
  assert.equal(parseLookupResponse(''), []);
  assert.equal(parseLookupResponse('{"producers":null}'), []);
  assert.equal(producerAddresses([{ address: 'old', tcp_port: 1 }]), ['old:1']);
});

test.run();
