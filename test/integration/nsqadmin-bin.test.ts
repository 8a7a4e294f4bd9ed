// The `nsqadmin` binary's flag handling: startup validation errors (exit 1 with
// `failed to instantiate nsqadmin - ...`), Go flag errors (exit 2), -h (exit 0), --version.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §0 and §2.1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBuilt, runToExit } from '../helpers/proc.js';

const BIN = requireBuilt('nsqadmin');

/** `message` is the text after `failed to instantiate nsqadmin - `, or a pattern for it. */
async function fatal(args: readonly string[], message: string | RegExp): Promise<void> {
  const r = await runToExit(BIN, ['--http-address=127.0.0.1:0', ...args]);
  assert.is(r.code, 1, `exit code; stderr:\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(String.raw`^\[nsqadmin\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} FATAL: failed to instantiate nsqadmin - ${typeof message === 'string' ? message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : message.source}$`, 'm'));
}

test('startup validation errors exit 1 with NSQ\'s texts', async () => {
  await fatal([], '--nsqd-http-address or --lookupd-http-address required');
  await fatal(['--nsqd-http-address=127.0.0.1:4151', '--lookupd-http-address=127.0.0.1:4161'], 'use --nsqd-http-address or --lookupd-http-address not both');
  await fatal(['--nsqd-http-address=127.0.0.1:4151', '--http-client-tls-cert=/x.pem'], '--http-client-tls-key must be specified with --http-client-tls-cert');
  await fatal(['--nsqd-http-address=127.0.0.1:4151', '--http-client-tls-key=/x.pem'], '--http-client-tls-cert must be specified with --http-client-tls-key');
  await fatal(['--lookupd-http-address=foo'], 'failed to resolve --lookupd-http-address (foo) - address foo: missing port in address');
  await fatal(['--nsqd-http-address=nohost.invalid:4151'], /failed to resolve --nsqd-http-address \(nohost\.invalid:4151\) - lookup nohost\.invalid on \S+:\d+: no such host/);
  await fatal(['--nsqd-http-address=127.0.0.1:4151', '--allow-config-from-cidr=nope'], 'failed to parse --allow-config-from-cidr (nope) - invalid CIDR address: nope');
  await fatal(['--nsqd-http-address=127.0.0.1:4151', '--proxy-graphite', '--graphite-url=127.0.0.1:8080'], 'failed to parse --graphite-url (127.0.0.1:8080) - parse "127.0.0.1:8080": first path segment in URL cannot contain colon');
  await fatal(['--nsqd-http-address=127.0.0.1:4151', '--proxy-graphite', '--graphite-url=://x'], 'failed to parse --graphite-url (://x) - parse "://x": missing protocol scheme');
});

test('unknown flag exits 2, -h exits 0 with usage, --version prints the version', async () => {
  const bad = await runToExit(BIN, ['--bogus']);
  assert.is(bad.code, 2);
  assert.ok(bad.stderr.includes('flag provided but not defined: -bogus'), bad.stderr);
  const help = await runToExit(BIN, ['-h']);
  assert.is(help.code, 0);
  for (const f of ['-lookupd-http-address', '-nsqd-http-address', '-admin-user', '-acl-http-header', '-allow-config-from-cidr', '-base-path', '-notification-http-endpoint', '-statsd-interval', '-proxy-graphite', '-http-client-connect-timeout']) {
    assert.ok(help.stderr.includes(f), `usage lists ${f}`);
  }
  const v = await runToExit(BIN, ['--version']);
  assert.is(v.code, 0);
  assert.match(v.stdout, /^nsqadmin v1\.3\.0 \(built w\/v\d+/);
});

test.run();
