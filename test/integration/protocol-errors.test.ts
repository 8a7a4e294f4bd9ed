// TCP protocol V2, error paths (spec nsqd.md §1.1, §1.2, §2.1-§2.14, §9, §11 quirks 2-5): every
// error row with its exact text and class. Fatal errors must be followed by the server closing the
// connection; E_FIN_FAILED / E_REQ_FAILED / E_TOUCH_FAILED must leave it open and working.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Logger } from '../../src/internal/log.js';
import type { TestNsqd } from '../helpers/daemons.js';
import {
  assertHealthy,
  expectAlive,
  expectFatal,
  int32,
  lineWithSize,
  topicStats,
  withNsqd,
} from '../helpers/protocol-checks.js';
import { mpubBody, sized, WireConn } from '../helpers/wire.js';

const ID = '0123456789abcdef';

type State = 'init' | 'subscribed' | 'closing';

/** A fresh connection in the given §2.1 state. */
async function inState(d: TestNsqd, state: State, topic = 'sm', channel = 'c'): Promise<WireConn> {
  const c = await WireConn.open(d.tcpPort);
  if (state === 'init') return c;
  await c.sub(topic, channel);
  if (state === 'closing') {
    c.cmd('CLS');
    await c.expectResponse('CLOSE_WAIT');
  }
  return c;
}

/** Send raw bytes on a fresh connection in `state` and expect a fatal error with `text`. */
async function fatalCase(d: TestNsqd, state: State, bytes: Buffer | string, text: string): Promise<void> {
  const c = await inState(d, state);
  try {
    c.write(bytes);
    await expectFatal(c, text);
  } catch (e) {
    throw new Error(`sent ${JSON.stringify(Buffer.from(bytes).toString('latin1'))} in ${state}: ${(e as Error).message}`);
  } finally {
    c.close();
  }
}

const line = (l: string): Buffer => Buffer.from(`${l}\n`, 'latin1');
const withBody = (l: string, body: Buffer | string): Buffer => Buffer.concat([line(l), sized(body)]);
const identifyBody = (obj: unknown): Buffer => withBody('IDENTIFY', JSON.stringify(obj));

// ---------------------------------------------------------------------------------------------
// §1.1 magic

test('§1.1 a bad magic gets exactly one E_BAD_PROTOCOL frame, then close', async () => {
  await withNsqd({}, async (d) => {
    for (const magic of ['  V1', 'V2  ', '  v2', 'GET / HTTP/1.1\r\n\r\n', '\x00\x00\x00\x00PUB t\n']) {
      const c = await WireConn.open(d.tcpPort, { magic: false });
      try {
        c.write(magic);
        const f = await c.readFrame();
        assert.is(f.type, 1, `magic ${JSON.stringify(magic)}`);
        assert.is(f.data.toString('latin1'), 'E_BAD_PROTOCOL');
        await c.expectClosed();
      } finally {
        c.close();
      }
    }
  });
});

test('§1.1 fewer than 4 magic bytes then EOF: closed with nothing sent', async () => {
  await withNsqd({}, async (d) => {
    const c = await WireConn.open(d.tcpPort, { magic: false });
    try {
      c.write('  V');
      c.socket.end();
      await c.expectClosed();
    } finally {
      c.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// §1.2 command lines

test('§1.2 empty line → fatal `E_INVALID invalid command ` (trailing space)', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'init', '\n', 'E_INVALID invalid command ');
    await fatalCase(d, 'init', '\r\n', 'E_INVALID invalid command ');
    // a leading space makes the command word empty too
    await fatalCase(d, 'init', ' NOP\n', 'E_INVALID invalid command ');
    await fatalCase(d, 'subscribed', '\n', 'E_INVALID invalid command ');
  });
});

test('§1.2 unknown and lower-case commands → fatal `E_INVALID invalid command <NAME>`', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'init', 'ASDF\n', 'E_INVALID invalid command ASDF');
    await fatalCase(d, 'init', 'pub t\n', 'E_INVALID invalid command pub');
    await fatalCase(d, 'init', 'PUBLISH t\n', 'E_INVALID invalid command PUBLISH');
    await fatalCase(d, 'subscribed', 'HELLO world\n', 'E_INVALID invalid command HELLO');
    await fatalCase(d, 'closing', 'Nop\n', 'E_INVALID invalid command Nop');
  });
});

// ---------------------------------------------------------------------------------------------
// §2.1 state machine

test('§2.1 init state: RDY, FIN, REQ, TOUCH and CLS are fatal E_INVALID', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'init', 'RDY 1\n', 'E_INVALID cannot RDY in current state');
    await fatalCase(d, 'init', `FIN ${ID}\n`, 'E_INVALID cannot FIN in current state');
    await fatalCase(d, 'init', 'FIN short\n', 'E_INVALID cannot FIN in current state');
    await fatalCase(d, 'init', `REQ ${ID} 0\n`, 'E_INVALID cannot REQ in current state');
    await fatalCase(d, 'init', `TOUCH ${ID}\n`, 'E_INVALID cannot TOUCH in current state');
    await fatalCase(d, 'init', 'CLS\n', 'E_INVALID cannot CLS in current state');
  });
});

test('§2.1 subscribed state: IDENTIFY, AUTH and SUB are fatal E_INVALID', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'subscribed', identifyBody({ client_id: 'x' }), 'E_INVALID cannot IDENTIFY in current state');
    await fatalCase(d, 'subscribed', withBody('AUTH', 'secret'), 'E_INVALID cannot AUTH in current state');
    await fatalCase(d, 'subscribed', 'SUB sm other\n', 'E_INVALID cannot SUB in current state');
  });
});

test('§2.1 closing state: IDENTIFY, AUTH, SUB and CLS are fatal E_INVALID', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'closing', identifyBody({ client_id: 'x' }), 'E_INVALID cannot IDENTIFY in current state');
    await fatalCase(d, 'closing', withBody('AUTH', 'secret'), 'E_INVALID cannot AUTH in current state');
    await fatalCase(d, 'closing', 'SUB sm other\n', 'E_INVALID cannot SUB in current state');
    await fatalCase(d, 'closing', 'CLS\n', 'E_INVALID cannot CLS in current state');
  });
});

test('§2.1 closing state: RDY (even an invalid one) is silently ignored', async () => {
  await withNsqd({}, async (d) => {
    const c = await inState(d, 'closing');
    try {
      c.cmd('RDY 10');
      c.cmd('RDY -5');
      c.cmd('RDY 99999');
      await c.expectNothing(300);
      await expectAlive(c);
    } finally {
      c.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// §2.2 IDENTIFY

test('§2.2 IDENTIFY field validation: exact reasons, fatal', async () => {
  await withNsqd({}, async (d) => {
    const cases: [object, string][] = [
      [{ heartbeat_interval: 999 }, 'heartbeat interval (999) is invalid'],
      [{ heartbeat_interval: 60001 }, 'heartbeat interval (60001) is invalid'],
      [{ heartbeat_interval: -2 }, 'heartbeat interval (-2) is invalid'],
      [{ output_buffer_timeout: 24 }, 'output buffer timeout (24) is invalid'],
      [{ output_buffer_timeout: 30001 }, 'output buffer timeout (30001) is invalid'],
      [{ output_buffer_timeout: -2 }, 'output buffer timeout (-2) is invalid'],
      [{ output_buffer_size: 63 }, 'output buffer size (63) is invalid'],
      [{ output_buffer_size: 65537 }, 'output buffer size (65537) is invalid'],
      [{ output_buffer_size: -2 }, 'output buffer size (-2) is invalid'],
      [{ sample_rate: -1 }, 'sample rate (-1) is invalid'],
      [{ sample_rate: 100 }, 'sample rate (100) is invalid'],
      [{ msg_timeout: 999 }, 'msg timeout (999) is invalid'],
      [{ msg_timeout: 900001 }, 'msg timeout (900001) is invalid'],
      [{ msg_timeout: -1 }, 'msg timeout (-1) is invalid'],
    ];
    for (const [body, reason] of cases) {
      await fatalCase(d, 'init', identifyBody({ feature_negotiation: true, ...body }), `E_BAD_BODY IDENTIFY ${reason}`);
    }
  });
});

test('§2.2 IDENTIFY integer fields decode as Go ints: no fractions or exponents, int64 range, printed exactly', async () => {
  await withNsqd({}, async (d) => {
    const undecodable = ['{"msg_timeout":1e3}', '{"msg_timeout":1E3}', '{"msg_timeout":1000.0}', '{"sample_rate":1e1}', '{"sample_rate":5.0}',
      '{"heartbeat_interval":-1.0}', '{"msg_timeout":9223372036854775808}', '{"msg_timeout":-9223372036854775809}', '{"sample_rate":2147483648}',
      '{"output_buffer_size":"64"}', '{"deflate":1}', '{"client_id":5}'];
    for (const body of undecodable) await fatalCase(d, 'init', withBody('IDENTIFY', body), 'E_BAD_BODY IDENTIFY failed to decode JSON body');
    await fatalCase(d, 'init', withBody('IDENTIFY', '{"msg_timeout":9223372036854775807}'), 'E_BAD_BODY IDENTIFY msg timeout (9223372036854775807) is invalid');
    await fatalCase(d, 'init', withBody('IDENTIFY', '{"heartbeat_interval":-9223372036854775808}'), 'E_BAD_BODY IDENTIFY heartbeat interval (-9223372036854775808) is invalid');
    await fatalCase(d, 'init', withBody('IDENTIFY', '{"output_buffer_size":18014398509481985}'), 'E_BAD_BODY IDENTIFY output buffer size (18014398509481985) is invalid');
    await fatalCase(d, 'init', withBody('IDENTIFY', '{"sample_rate":2147483647}'), 'E_BAD_BODY IDENTIFY sample rate (2147483647) is invalid');
    await fatalCase(d, 'init', withBody('IDENTIFY', '[' .repeat(10001) + ']'.repeat(10001)), 'E_BAD_BODY IDENTIFY failed to decode JSON body');
    const c = await WireConn.open(d.tcpPort);
    try {
      c.cmd('IDENTIFY', '{"MSG_TIMEOUT":2000,"Sample_Rate":0,"heartbeat_interval":null,"unknown":[1e400,{"x":null}],"constructor":1,"__proto__":{},"toString":"x"}');
      await c.expectResponse('OK');
    } finally {
      c.close();
    }
  });
});

test('§2.2 IDENTIFY limits follow the server flags', async () => {
  await withNsqd({ maxHeartbeatInterval: 5000, minOutputBufferTimeout: 100, maxOutputBufferTimeout: 2000, maxOutputBufferSize: 1024, maxMsgTimeout: 10000 }, async (d) => {
    await fatalCase(d, 'init', identifyBody({ heartbeat_interval: 5001 }), 'E_BAD_BODY IDENTIFY heartbeat interval (5001) is invalid');
    await fatalCase(d, 'init', identifyBody({ output_buffer_timeout: 99 }), 'E_BAD_BODY IDENTIFY output buffer timeout (99) is invalid');
    await fatalCase(d, 'init', identifyBody({ output_buffer_timeout: 2001 }), 'E_BAD_BODY IDENTIFY output buffer timeout (2001) is invalid');
    await fatalCase(d, 'init', identifyBody({ output_buffer_size: 1025 }), 'E_BAD_BODY IDENTIFY output buffer size (1025) is invalid');
    await fatalCase(d, 'init', identifyBody({ msg_timeout: 10001 }), 'E_BAD_BODY IDENTIFY msg timeout (10001) is invalid');
    const c = await WireConn.open(d.tcpPort);
    try {
      assert.is(await c.identify({ heartbeat_interval: 5000, output_buffer_timeout: 2000, output_buffer_size: 1024, msg_timeout: 10000 }), 'OK');
    } finally {
      c.close();
    }
  });
});

test('§2.2 IDENTIFY validation order: heartbeat → buffer timeout → buffer size → sample rate → msg timeout', async () => {
  await withNsqd({}, async (d) => {
    // JSON key order is reversed on purpose: the order of checks is nsqd's, not the body's
    await fatalCase(d, 'init', withBody('IDENTIFY', '{"msg_timeout":1,"sample_rate":-5,"output_buffer_size":1,"output_buffer_timeout":1,"heartbeat_interval":1}'),
      'E_BAD_BODY IDENTIFY heartbeat interval (1) is invalid');
    await fatalCase(d, 'init', withBody('IDENTIFY', '{"msg_timeout":1,"sample_rate":-5,"output_buffer_size":1,"output_buffer_timeout":1}'),
      'E_BAD_BODY IDENTIFY output buffer timeout (1) is invalid');
    await fatalCase(d, 'init', withBody('IDENTIFY', '{"msg_timeout":1,"sample_rate":-5,"output_buffer_size":1}'),
      'E_BAD_BODY IDENTIFY output buffer size (1) is invalid');
    await fatalCase(d, 'init', withBody('IDENTIFY', '{"msg_timeout":1,"sample_rate":-5}'), 'E_BAD_BODY IDENTIFY sample rate (-5) is invalid');
    // valid earlier fields do not mask a later failure
    await fatalCase(d, 'init', identifyBody({ heartbeat_interval: 1000, output_buffer_size: -1, sample_rate: 50, msg_timeout: 5 }),
      'E_BAD_BODY IDENTIFY msg timeout (5) is invalid');
  });
});

test('§2.2 IDENTIFY JSON that does not decode into the fields → `E_BAD_BODY IDENTIFY failed to decode JSON body`', async () => {
  await withNsqd({}, async (d) => {
    const bodies = [
      '{', 'not json', '[]', '"text"', '42', 'true', '{} trailing', '{"a":1,}',
      '{"heartbeat_interval":"1000"}', '{"heartbeat_interval":1000.5}', '{"msg_timeout":true}',
      '{"feature_negotiation":1}', '{"feature_negotiation":"true"}', '{"client_id":5}', '{"hostname":{}}',
      '{"user_agent":["x"]}', '{"sample_rate":3000000000}', '{"deflate_level":"6"}',
    ];
    for (const b of bodies) await fatalCase(d, 'init', withBody('IDENTIFY', b), 'E_BAD_BODY IDENTIFY failed to decode JSON body');
  });
});

test('§2.2 IDENTIFY body size errors', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'init', lineWithSize('IDENTIFY', 0), 'E_BAD_BODY IDENTIFY invalid body size 0');
    await fatalCase(d, 'init', lineWithSize('IDENTIFY', -1), 'E_BAD_BODY IDENTIFY invalid body size -1');
    await fatalCase(d, 'init', lineWithSize('IDENTIFY', -2147483648), 'E_BAD_BODY IDENTIFY invalid body size -2147483648');
    await fatalCase(d, 'init', lineWithSize('IDENTIFY', 5242881), 'E_BAD_BODY IDENTIFY body too big 5242881 > 5242880');
  });
  await withNsqd({ maxBodySize: 100 }, async (d) => {
    await fatalCase(d, 'init', lineWithSize('IDENTIFY', 101), 'E_BAD_BODY IDENTIFY body too big 101 > 100');
    const c = await WireConn.open(d.tcpPort);
    try {
      const body = JSON.stringify({ client_id: 'x'.repeat(100 - 16) }); // exactly 100 bytes
      assert.is(body.length, 100);
      c.cmd('IDENTIFY', body);
      await c.expectResponse('OK');
    } finally {
      c.close();
    }
  });
});

test('§2.2 IDENTIFY negotiating both deflate and snappy → fatal E_IDENTIFY_FAILED', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'init', identifyBody({ feature_negotiation: true, deflate: true, snappy: true }),
      'E_IDENTIFY_FAILED cannot enable both deflate and snappy compression');
  });
});

// ---------------------------------------------------------------------------------------------
// §2.3 AUTH without an auth server configured

test('§2.3 AUTH errors when auth is not enabled', async () => {
  await withNsqd({ maxBodySize: 100 }, async (d) => {
    await fatalCase(d, 'init', withBody('AUTH x', 'secret'), 'E_INVALID AUTH invalid number of parameters');
    await fatalCase(d, 'init', withBody('AUTH ', 'secret'), 'E_INVALID AUTH invalid number of parameters');
    await fatalCase(d, 'init', lineWithSize('AUTH', 0), 'E_BAD_BODY AUTH invalid body size 0');
    await fatalCase(d, 'init', lineWithSize('AUTH', -1), 'E_BAD_BODY AUTH invalid body size -1');
    await fatalCase(d, 'init', lineWithSize('AUTH', 101), 'E_BAD_BODY AUTH body too big 101 > 100');
    await fatalCase(d, 'init', withBody('AUTH', 'secret'), 'E_AUTH_DISABLED AUTH disabled');
  });
});

const CERTS = fileURLToPath(new URL('../fixtures/certs/', import.meta.url));

// ---------------------------------------------------------------------------------------------
// §2.3 / §2.13 with an auth server (§7 protocol, minimal fake authd)

interface FakeAuthd {
  server: Server;
  address: string;
  queries: URLSearchParams[];
}

async function startAuthd(): Promise<FakeAuthd> {
  const queries: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    queries.push(u.searchParams);
    const secret = u.searchParams.get('secret');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (u.pathname !== '/auth') return json(404, { message: 'NOT_FOUND' });
    if (secret === 'good') {
      return json(200, {
        ttl: 3600, identity: 'user1', identity_url: 'https://example.com/u1',
        authorizations: [
          { topic: '^allowed$', channels: ['^ok$'], permissions: ['subscribe'] },
          { topic: '^allowed$', channels: ['.*'], permissions: ['publish'] },
        ],
      });
    }
    if (secret === 'none') return json(200, { ttl: 3600, identity: 'nobody', identity_url: '', authorizations: [] });
    if (secret === 'posix') {
      // RE2 syntax JS spells otherwise: negated POSIX classes, \z, and the U flag. A publish is
      // checked with the channel "" (nsqd's IsAllowed), hence '^$'.
      return json(200, {
        ttl: 3600, identity: 'posix', identity_url: '',
        authorizations: [{ topic: '(?U)^[[:^digit:]]+\\z', channels: ['^[^[:^alpha:][:^lower:]]+$', '^$'], permissions: ['publish', 'subscribe'] }],
      });
    }
    return json(500, { message: 'INTERNAL_ERROR' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, queries };
}

/**
 * AUTH with `secret` on a fresh connection, expecting the identity answer (identity_url empty, one
 * permission), then `then` on the connection; closed after.
 */
async function authOk(d: TestNsqd, secret: string | Buffer, identity: string, then?: (c: WireConn) => Promise<void>): Promise<void> {
  const c = await WireConn.open(d.tcpPort);
  try {
    c.cmd('AUTH', secret);
    await c.expectResponse(`{"identity":"${identity}","identity_url":"","permission_count":1}`);
    await then?.(c);
  } finally {
    c.close();
  }
}

async function withAuth(fn: (d: TestNsqd, authd: FakeAuthd) => Promise<void>): Promise<void> {
  const authd = await startAuthd();
  try {
    await withNsqd({ authHttpAddresses: [authd.address] }, (d) => fn(d, authd));
  } finally {
    await new Promise((r) => authd.server.close(r));
  }
}

test('§2.13 with auth enabled, SUB/PUB/MPUB/DPUB before AUTH → fatal `E_AUTH_FIRST AUTH required before <CMD>`', async () => {
  await withAuth(async (d) => {
    await fatalCase(d, 'init', 'SUB allowed ok\n', 'E_AUTH_FIRST AUTH required before SUB');
    await fatalCase(d, 'init', withBody('PUB allowed', 'x'), 'E_AUTH_FIRST AUTH required before PUB');
    await fatalCase(d, 'init', Buffer.concat([line('MPUB allowed'), mpubBody(['x'])]), 'E_AUTH_FIRST AUTH required before MPUB');
    await fatalCase(d, 'init', withBody('DPUB allowed 0', 'x'), 'E_AUTH_FIRST AUTH required before DPUB');
    // MPUB checks auth before reading the body: the line alone is enough
    await fatalCase(d, 'init', 'MPUB allowed\n', 'E_AUTH_FIRST AUTH required before MPUB');
  });
});

test('§2.3 AUTH success answers identity JSON; permitted commands work', async () => {
  await withAuth(async (d, authd) => {
    const c = await WireConn.open(d.tcpPort);
    try {
      c.cmd('AUTH', 'good');
      await c.expectResponse('{"identity":"user1","identity_url":"https://example.com/u1","permission_count":2}');
      await c.pub('allowed', 'x');
      await c.mpub('allowed', ['y', 'z']);
      c.cmd('DPUB allowed 0', 'w');
      await c.expectResponse('OK');
      await c.sub('allowed', 'ok');
      const q = authd.queries.at(-1)!;
      assert.is(q.get('secret'), 'good');
      assert.is(q.get('remote_ip'), '127.0.0.1');
      assert.is(q.get('tls'), 'false');
    } finally {
      c.close();
    }
  });
});

test('§2.3/§2.13 AUTH failures and unauthorized commands', async () => {
  await withAuth(async (d) => {
    const authed = async (): Promise<WireConn> => {
      const c = await WireConn.open(d.tcpPort);
      c.cmd('AUTH', 'good');
      const f = await c.readFrame();
      assert.is(f.type, 0, f.data.toString());
      return c;
    };
    for (const [cmd, text] of [
      [withBody('PUB other', 'x'), 'E_UNAUTHORIZED AUTH failed for PUB on "other" ""'],
      [Buffer.concat([line('MPUB other'), mpubBody(['x'])]), 'E_UNAUTHORIZED AUTH failed for MPUB on "other" ""'],
      [withBody('DPUB other 0', 'x'), 'E_UNAUTHORIZED AUTH failed for DPUB on "other" ""'],
      [line('SUB allowed wrong'), 'E_UNAUTHORIZED AUTH failed for SUB on "allowed" "wrong"'],
      [withBody('AUTH', 'good'), 'E_INVALID AUTH already set'],
    ] as const) {
      const c = await authed();
      try {
        c.write(cmd);
        await expectFatal(c, text);
      } finally {
        c.close();
      }
    }
    await fatalCase(d, 'init', withBody('AUTH', 'none'), 'E_UNAUTHORIZED AUTH no authorizations found');
    await fatalCase(d, 'init', withBody('AUTH', 'broken'), 'E_AUTH_FAILED AUTH failed');
  });
});

test('§2.3 authorization regexes in RE2 syntax JS spells otherwise: negated POSIX classes, \\z, the U flag', async () => {
  await withAuth(async (d) => {
    await authOk(d, 'posix', 'posix', async (c) => {
      await c.pub('letters_only', 'x');
      await c.sub('letters_only', 'lower');
    });
    for (const [cmd, text] of [
      [withBody('PUB topic1', 'x'), 'E_UNAUTHORIZED AUTH failed for PUB on "topic1" ""'],
      [line('SUB letters_only Lower'), 'E_UNAUTHORIZED AUTH failed for SUB on "letters_only" "Lower"'],
    ] as const) {
      await authOk(d, 'posix', 'posix', async (c) => {
        c.write(cmd);
        await expectFatal(c, text);
      });
    }
  });
});

test('§2.3 an auth answer is decoded as json.Unmarshal into nsqd\'s auth.State; the secret goes as its bytes; a redirect is followed; the request says Go-http-client', async () => {
  const seen: { url: string; ua: string | undefined }[] = [];
  const grant = '"authorizations":[{"topic":"^t$","channels":[".*"],"permissions":["publish"]}]';
  const answers: Record<string, (res: ServerResponse) => void> = {
    floatTtl: (res) => res.writeHead(200).end(`{"ttl":3600.5,${grant}}`),
    numberIdentity: (res) => res.writeHead(200).end(`{"ttl":60,"identity":5,${grant}}`),
    numberTopic: (res) => res.writeHead(200).end('{"ttl":60,"authorizations":[{"topic":5,"channels":[".*"],"permissions":["publish"]}]}'),
    channelsNotList: (res) => res.writeHead(200).end('{"ttl":60,"authorizations":[{"topic":"t","channels":".*","permissions":["publish"]}]}'),
    upperCase: (res) => res.writeHead(200).end('{"TTL":60,"Identity":"u","AUTHORIZATIONS":[{"Topic":"^t$","Channels":[".*"],"Permissions":["publish"]}]}'),
    redirect: (res) => res.writeHead(302, { Location: '/auth?secret=upperCase' }).end(),
    goRegexp: (res) => res.writeHead(200).end('{"ttl":60,"identity":"re","authorizations":[{"topic":"(?i)^T\\\\z","channels":[".*"],"permissions":["publish"]}]}'),
    lookahead: (res) => res.writeHead(200).end('{"ttl":60,"authorizations":[{"topic":"(?=t)t","channels":[".*"],"permissions":["publish"]}]}'),
  };
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', ua: req.headers['user-agent'] });
    const secret = new URL(req.url ?? '/', 'http://x').searchParams.get('secret') ?? '';
    (answers[secret] ?? ((r: ServerResponse) => r.writeHead(200).end(`{"ttl":60,"identity":"bytes",${grant}}`)))(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const logs: string[] = [];
    const logger = new Logger({ prefix: '', level: 1, write: (l) => void logs.push(l) });
    await withNsqd({ authHttpAddresses: [addr], logger }, async (d) => {
      for (const [secret, why] of [
        ['floatTtl', 'json: cannot unmarshal number 3600.5 into Go struct field State.ttl of type int'],
        ['numberIdentity', 'json: cannot unmarshal number into Go struct field State.identity of type string'],
        ['numberTopic', 'json: cannot unmarshal number into Go struct field Authorization.authorizations.topic of type string'],
        ['channelsNotList', 'json: cannot unmarshal string into Go struct field Authorization.authorizations.channels of type []string'],
        ['lookahead', 'unable to compile topic "(?=t)t" error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
      ] as const) {
        await fatalCase(d, 'init', withBody('AUTH', secret), 'E_AUTH_FAILED AUTH failed');
        assert.ok(logs.some((l) => l.includes(`failed to auth against ${addr} - ${why}`)), `${secret}: ${logs.filter((l) => l.includes('auth against')).join('\n')}`);
      }
      for (const secret of ['upperCase', 'redirect']) await authOk(d, secret, 'u', (c) => c.pub('t', 'x'));
      // Regexes are Go's (RE2): (?i) is a flag and \z the end of the text, not a literal z.
      await authOk(d, 'goRegexp', 're', async (c) => {
        await c.pub('t', 'x');
        c.cmd('PUB tz', 'x');
        await c.expectError('E_UNAUTHORIZED AUTH failed for PUB on "tz" ""');
      });
      // The AUTH body's bytes, escaped one by one (UTF-8 é is %C3%A9, once).
      await authOk(d, Buffer.from([0x73, 0x33, 0x63, 0x72, 0xc3, 0xa9, 0x74, 0xff]), 'bytes');
      assert.ok(seen.some((q) => q.url.includes('&secret=s3cr%C3%A9t%FF&')), seen.map((q) => q.url).join('\n'));
      assert.ok(seen.every((q) => q.ua === 'Go-http-client/1.1'), JSON.stringify(seen.map((q) => q.ua)));
    });
    // --tls-min-version holds for an https auth server too (with --tls-root-ca-file, as nsqd's client TLS config).
    const tls12 = createHttpsServer({ cert: readFileSync(join(CERTS, 'server.pem')), key: readFileSync(join(CERTS, 'server.key')), maxVersion: 'TLSv1.2' }, (_req, res) => {
      res.writeHead(200).end(`{"ttl":60,"identity":"tls12",${grant}}`);
    });
    await new Promise<void>((r) => tls12.listen(0, '127.0.0.1', r));
    try {
      const url = `https://127.0.0.1:${(tls12.address() as AddressInfo).port}/auth`;
      const ca = join(CERTS, 'ca.pem');
      await withNsqd({ authHttpAddresses: [url], tlsRootCaFile: ca, tlsMinVersion: 0x0304 }, async (d) => {
        await fatalCase(d, 'init', withBody('AUTH', 's'), 'E_AUTH_FAILED AUTH failed');
      });
      await withNsqd({ authHttpAddresses: [url], tlsRootCaFile: ca, tlsMinVersion: 0x0303 }, (d) => authOk(d, 's', 'tls12'));
    } finally {
      await new Promise((r) => tls12.close(r));
    }
    // An auth server that speaks only TLS 1.0 is reached under the default --tls-min-version
    // (tls1.0), as Go's client reaches it; OpenSSL 3 refuses TLS 1.0 unless told.
    const tls10 = createHttpsServer({ cert: readFileSync(join(CERTS, 'server.pem')), key: readFileSync(join(CERTS, 'server.key')), minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }, (_req, res) => {
      res.writeHead(200).end(`{"ttl":60,"identity":"tls10",${grant}}`);
    });
    await new Promise<void>((r) => tls10.listen(0, '127.0.0.1', r));
    try {
      const url = `https://127.0.0.1:${(tls10.address() as AddressInfo).port}/auth`;
      const ca = join(CERTS, 'ca.pem');
      await withNsqd({ authHttpAddresses: [url], tlsRootCaFile: ca }, (d) => authOk(d, 's', 'tls10'));
      await withNsqd({ authHttpAddresses: [url], tlsRootCaFile: ca, tlsMinVersion: 0x0302 }, async (d) => {
        await fatalCase(d, 'init', withBody('AUTH', 's'), 'E_AUTH_FAILED AUTH failed');
      });
    } finally {
      await new Promise((r) => tls10.close(r));
    }
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('§2.3 AUTH failures are logged with nsqd texts: every auth server tried, the https retry of a 403', async () => {
  // One fake auth server per answer, so each failure has a known address; the https one needs
  // --tls-root-ca-file to be trusted.
  const answers: Record<string, (res: ServerResponse) => void> = {
    status500: (res) => res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"message":"INTERNAL_ERROR"}'),
    notJson: (res) => res.writeHead(200).end('nope'),
    zeroTtl: (res) => res.writeHead(200).end('{"ttl":0,"authorizations":[]}'),
    badPermission: (res) => res.writeHead(200).end('{"ttl":60,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["admin"]}]}'),
    badTopic: (res) => res.writeHead(200).end('{"ttl":60,"authorizations":[{"topic":"(","channels":[],"permissions":["publish"]}]}'),
    // A 403 is read as nsqd's httpsEndpoint reads it: JSON with https_port, or Go's JSON error,
    // or (no https_port) a retry on port 0.
    forbiddenNotJson: (res) => res.writeHead(403).end('nope'),
    forbiddenNoPort: (res) => res.writeHead(403).end('{"message":"FORBIDDEN"}'),
    forbiddenBadPort: (res) => res.writeHead(403).end('{"https_port":70000}'),
  };
  const servers: Server[] = [];
  const listen = async (s: Server): Promise<string> => {
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(s.address() as AddressInfo).port}`;
  };
  const good = (res: ServerResponse): void => {
    res.writeHead(200).end('{"ttl":60,"identity":"tls-user","authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}]}');
  };
  try {
    const addrs: Record<string, string> = {};
    for (const [name, answer] of Object.entries(answers)) addrs[name] = await listen(createServer((_req, res) => answer(res)));
    const httpsAddr = await listen(createHttpsServer({ cert: readFileSync(join(CERTS, 'server.pem')), key: readFileSync(join(CERTS, 'server.key')) }, (_req, res) => good(res)));
    addrs.redirect = await listen(createServer((_req, res) => res.writeHead(403).end(JSON.stringify({ message: 'TLS_REQUIRED', https_port: Number(httpsAddr.split(':')[1]) }))));
    const dead = await listen(createServer());
    await new Promise((r) => servers.pop()!.close(r));

    const expected: [string, string][] = [
      ['status500', `got response 500 Internal Server Error "{\\"message\\":\\"INTERNAL_ERROR\\"}"`],
      ['notJson', "invalid character 'o' in literal null (expecting 'u')"],
      ['zeroTtl', 'invalid TTL 0 (must be >0)'],
      ['badPermission', 'unknown permission admin'],
      ['badTopic', 'unable to compile topic "(" '],
      ['forbiddenNotJson', "invalid character 'o' in literal null (expecting 'u')"],
      ['forbiddenNoPort', 'Get "https://127.0.0.1:0/auth?common_name=&remote_ip=127.0.0.1&secret=s&tls=false": dial tcp 127.0.0.1:0: connect: connection refused'],
      ['forbiddenBadPort', 'Get "https://127.0.0.1:70000/auth?common_name=&remote_ip=127.0.0.1&secret=s&tls=false": dial tcp: address 70000: invalid port'],
    ];
    for (const [name, why] of expected) {
      const logs: string[] = [];
      const logger = new Logger({ prefix: '[nsqd] ', level: 1, write: (l) => void logs.push(l) });
      await withNsqd({ authHttpAddresses: [addrs[name]!], logger }, async (d) => {
        await fatalCase(d, 'init', withBody('AUTH', 's'), 'E_AUTH_FAILED AUTH failed');
      });
      const line = logs.find((l) => l.includes('WARNING: PROTOCOL(V2)'));
      assert.ok(line?.includes(`AUTH failed failed to auth against ${addrs[name]} - ${why}`), `${name}: ${line}`);
      // The error sent is logged with the auth server's error as its parent, as nsqd's IOLoop does.
      const fatal = logs.find((l) => l.includes('E_AUTH_FAILED'));
      assert.ok(fatal?.includes(`- E_AUTH_FAILED AUTH failed - failed to auth against ${addrs[name]} - ${why}`), `${name}: ${fatal}`);
    }

    // Two dead servers: both are tried, in either order, and both reasons are joined with "; ".
    const dead2 = await listen(createServer());
    await new Promise((r) => servers.pop()!.close(r));
    const logs: string[] = [];
    const logger = new Logger({ prefix: '[nsqd] ', level: 1, write: (l) => void logs.push(l) });
    await withNsqd({ authHttpAddresses: [dead, dead2], logger }, async (d) => {
      await fatalCase(d, 'init', withBody('AUTH', 's'), 'E_AUTH_FAILED AUTH failed');
    });
    const line = logs.find((l) => l.includes('WARNING: PROTOCOL(V2)')) ?? '';
    const reason = (a: string): RegExp => new RegExp(`failed to auth against ${a} - Get "http://${a}/auth\\?common_name=&remote_ip=127\\.0\\.0\\.1&secret=s&tls=false": dial tcp ${a}: connect: connection refused`);
    assert.match(line, reason(dead));
    assert.match(line, reason(dead2));
    assert.match(line, /connection refused; failed to auth against /);

    // A 403 naming an https_port is asked again over https, trusted through --tls-root-ca-file.
    await withNsqd({ authHttpAddresses: [addrs.redirect!], tlsRootCaFile: join(CERTS, 'ca.pem') }, (d) => authOk(d, 's', 'tls-user', (c) => c.pub('t', 'x')));
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
});

// ---------------------------------------------------------------------------------------------
// §2.4 SUB, §9 names

test('§2.4 SUB errors', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'init', 'SUB\n', 'E_INVALID SUB insufficient number of parameters');
    await fatalCase(d, 'init', 'SUB t\n', 'E_INVALID SUB insufficient number of parameters');
    await fatalCase(d, 'init', 'SUB a#b c\n', 'E_BAD_TOPIC SUB topic name "a#b" is not valid');
    await fatalCase(d, 'init', 'SUB a#b c#d\n', 'E_BAD_TOPIC SUB topic name "a#b" is not valid');
    await fatalCase(d, 'init', 'SUB t a#b\n', 'E_BAD_CHANNEL SUB channel name "a#b" is not valid');
    await fatalCase(d, 'init', 'SUB t #ephemeral\n', 'E_BAD_CHANNEL SUB channel name "#ephemeral" is not valid');
    // two spaces: the channel parameter is empty
    await fatalCase(d, 'init', 'SUB t  c\n', 'E_BAD_CHANNEL SUB channel name "" is not valid');
    await fatalCase(d, 'init', `SUB t ${'c'.repeat(65)}\n`, `E_BAD_CHANNEL SUB channel name "${'c'.repeat(65)}" is not valid`);
  });
});

test('§2.4 SUB with heartbeats disabled → `E_INVALID cannot SUB with heartbeats disabled` (checked before params)', async () => {
  await withNsqd({}, async (d) => {
    for (const sub of ['SUB t c', 'SUB']) {
      const c = await WireConn.open(d.tcpPort);
      try {
        assert.is(await c.identify({ heartbeat_interval: -1 }), 'OK');
        c.cmd(sub);
        await expectFatal(c, 'E_INVALID cannot SUB with heartbeats disabled');
      } finally {
        c.close();
      }
    }
  });
});

test('§2.4 SUB beyond --max-channel-consumers → fatal E_SUB_FAILED', async () => {
  await withNsqd({ maxChannelConsumers: 1 }, async (d) => {
    const a = await WireConn.open(d.tcpPort);
    try {
      await a.sub('mc', 'c');
      await fatalCase(d, 'init', 'SUB mc c\n', 'E_SUB_FAILED SUB failed consumers for mc:c exceeds limit of 1');
      const b = await WireConn.open(d.tcpPort);
      try {
        await b.sub('mc', 'other');
      } finally {
        b.close();
      }
    } finally {
      a.close();
    }
  });
});

test('§9 names: 64 chars ok, 65 not; #ephemeral alone and a#b invalid; suffix counts toward 64', async () => {
  await withNsqd({}, async (d) => {
    const ok = ['a', 'a.b_c-d', 'A.b_C-9', 'x'.repeat(64), 'x#ephemeral', `${'e'.repeat(54)}#ephemeral`, '...', '-_-'];
    const bad = ['x'.repeat(65), '#ephemeral', 'a#b', `${'e'.repeat(55)}#ephemeral`, 'a#ephemeral#ephemeral', 'a#ephemeralx', 'a/b', 'a:b', 'a*'];
    const p = await WireConn.open(d.tcpPort);
    try {
      for (const n of ok) {
        p.cmd(`PUB ${n}`, 'x');
        const f = await p.readFrame();
        assert.is(`${f.type} ${f.data}`, '0 OK', `topic ${n} is valid`);
      }
      const s = await WireConn.open(d.tcpPort);
      try {
        await s.sub('x'.repeat(64), 'y'.repeat(64));
      } finally {
        s.close();
      }
    } finally {
      p.close();
    }
    for (const n of bad) await fatalCase(d, 'init', withBody(`PUB ${n}`, 'x'), `E_BAD_TOPIC PUB topic name "${n}" is not valid`);
  });
});

test('§2.11/§9 invalid names are quoted with Go %q in the error text', async () => {
  await withNsqd({}, async (d) => {
    const u8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
    const cases: [string, string][] = [
      ['a"b', '"a\\"b"'],
      ['a\\b', '"a\\\\b"'],
      ['a\tb', '"a\\tb"'],
      ['a\rb', '"a\\rb"'],
      ['\x00', '"\\x00"'],
      ['\x01x', '"\\x01x"'],
      ['\x7f', '"\\x7f"'],
      ['\xff', '"\\xff"'],
      ['\xc3(', '"\\xc3("'],
      [u8('é'), `"${u8('é')}"`],
      [u8('日本'), `"${u8('日本')}"`],
      [u8('\u00a0'), '"\\u00a0"'],
      [u8('\u2028'), '"\\u2028"'],
    ];
    const failures: string[] = [];
    for (const [name, quoted] of cases) {
      await fatalCase(d, 'init', Buffer.concat([Buffer.from(`PUB ${name}\n`, 'latin1'), sized('x')]), `E_BAD_TOPIC PUB topic name ${quoted} is not valid`)
        .catch((e: Error) => failures.push(e.message));
    }
    await fatalCase(d, 'init', Buffer.from(`SUB ok ${u8('ü')}\n`, 'latin1'), `E_BAD_CHANNEL SUB channel name "${u8('ü')}" is not valid`)
      .catch((e: Error) => failures.push(e.message));
    assert.equal(failures, []);
  });
});

// ---------------------------------------------------------------------------------------------
// §2.5 RDY (quirk 5)

test('§2.5/quirk 5 RDY errors: non-digits (incl. sign) and out of range', async () => {
  await withNsqd({}, async (d) => {
    for (const raw of ['-1', '-0', '+1', '1.5', 'abc', '0x10', '1e3', '\u00bd']) {
      await fatalCase(d, 'subscribed', `RDY ${raw}\n`, `E_INVALID RDY could not parse count ${raw}`);
    }
    await fatalCase(d, 'subscribed', 'RDY 2501\n', 'E_INVALID RDY count 2501 out of range 0-2500');
    await fatalCase(d, 'subscribed', 'RDY 1000000\n', 'E_INVALID RDY count 1000000 out of range 0-2500');
  });
  await withNsqd({ maxRdyCount: 10 }, async (d) => {
    await fatalCase(d, 'subscribed', 'RDY 11\n', 'E_INVALID RDY count 11 out of range 0-10');
  });
});

// ---------------------------------------------------------------------------------------------
// §2.6 FIN, §2.7 REQ, §2.8 TOUCH (quirk 2)

test('§2.6/§2.7/§2.8 parameter errors are fatal', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'subscribed', 'FIN\n', 'E_INVALID FIN insufficient number of params');
    await fatalCase(d, 'subscribed', 'FIN \n', 'E_INVALID invalid message ID');
    await fatalCase(d, 'subscribed', 'FIN 0123456789abcde\n', 'E_INVALID invalid message ID');
    await fatalCase(d, 'subscribed', 'FIN 0123456789abcdef0\n', 'E_INVALID invalid message ID');
    // 16 bytes after `FIN ` holding a space: nsqd's split leaves a shorter id.
    await fatalCase(d, 'subscribed', 'FIN 01234567 9abcdef\n', 'E_INVALID invalid message ID');
    await fatalCase(d, 'subscribed', 'FIN 0123456789abcde \n', 'E_INVALID invalid message ID');
    await fatalCase(d, 'closing', 'FIN  123456789abcdef\n', 'E_INVALID invalid message ID');
    await fatalCase(d, 'subscribed', 'REQ\n', 'E_INVALID REQ insufficient number of params');
    await fatalCase(d, 'subscribed', `REQ ${ID}\n`, 'E_INVALID REQ insufficient number of params');
    await fatalCase(d, 'subscribed', 'REQ short 0\n', 'E_INVALID invalid message ID');
    await fatalCase(d, 'subscribed', 'REQ short -1\n', 'E_INVALID invalid message ID');
    await fatalCase(d, 'subscribed', `REQ ${ID} -1\n`, 'E_INVALID REQ could not parse timeout -1');
    await fatalCase(d, 'subscribed', `REQ ${ID} 1s\n`, 'E_INVALID REQ could not parse timeout 1s');
    await fatalCase(d, 'subscribed', 'TOUCH\n', 'E_INVALID TOUCH insufficient number of params');
    await fatalCase(d, 'subscribed', 'TOUCH 0123456789\n', 'E_INVALID invalid message ID');
    await fatalCase(d, 'closing', 'FIN abc\n', 'E_INVALID invalid message ID');
    await fatalCase(d, 'closing', `REQ ${ID} x\n`, 'E_INVALID REQ could not parse timeout x');
  });
});

test('§2.6/§2.7/§2.8 quirk 2: ID not in flight → non-fatal E_FIN_FAILED / E_REQ_FAILED / E_TOUCH_FAILED, logged with their parent error as nsqd\'s IOLoop does', async () => {
  const logs: string[] = [];
  const logger = new Logger({ prefix: '[nsqd] ', level: 1, write: (l) => void logs.push(l) });
  await withNsqd({ logger }, async (d) => {
    for (const state of ['subscribed', 'closing'] as const) {
      const c = await inState(d, state);
      try {
        c.cmd(`FIN ${ID}`);
        await c.expectError(`E_FIN_FAILED FIN ${ID} failed ID not in flight`);
        c.cmd(`REQ ${ID} 0`);
        await c.expectError(`E_REQ_FAILED REQ ${ID} failed ID not in flight`);
        c.cmd(`TOUCH ${ID}`);
        await c.expectError(`E_TOUCH_FAILED TOUCH ${ID} failed ID not in flight`);
        await expectAlive(c);
      } finally {
        c.close();
      }
    }
  });
  for (const cmd of ['FIN', 'REQ', 'TOUCH']) {
    const line = new RegExp(`ERROR: \\[127\\.0\\.0\\.1:\\d+\\] - E_${cmd}_FAILED ${cmd} ${ID} failed ID not in flight - ID not in flight\n$`);
    assert.ok(logs.some((l) => line.test(l)), `${cmd}: ${logs.filter((l) => l.includes(cmd)).join('')}`);
  }
});

test('a REQ timeout out of range is clamped and logged in nanoseconds; RDY after CLS is ignored and logged, as by nsqd', async () => {
  const logs: string[] = [];
  const logger = new Logger({ prefix: '[nsqd] ', level: 1, write: (l) => void logs.push(l) });
  await withNsqd({ logger, maxReqTimeout: 10_000 }, async (d) => {
    const c = await WireConn.open(d.tcpPort);
    try {
      await c.sub('req_clamp', 'c');
      c.cmd('RDY 1');
      await c.pub('req_clamp', 'x');
      const m = await c.readMessage();
      c.cmd(`REQ ${m.id} 99999999`);
      c.cmd('CLS');
      await c.expectResponse('CLOSE_WAIT');
      c.cmd('RDY 5');
      await expectAlive(c);
    } finally {
      c.close();
    }
  });
  assert.ok(logs.some((l) => /INFO: PROTOCOL\(V2\): \[127\.0\.0\.1:\d+\] REQ timeout 99999999000000 out of range 0-10000000000\. Setting to 10000000000\n$/.test(l)), logs.join(''));
  assert.ok(logs.some((l) => /INFO: PROTOCOL\(V2\): \[127\.0\.0\.1:\d+\] ignoring RDY after CLS in state ClientStateV2Closing\n$/.test(l)), logs.join(''));
});

test('§2.6/§2.7/§2.8 quirk 2: a message in flight to another client → non-fatal "client does not own message"', async () => {
  await withNsqd({}, async (d) => {
    const p = await WireConn.open(d.tcpPort);
    const a = await WireConn.open(d.tcpPort);
    const b = await WireConn.open(d.tcpPort);
    try {
      await a.sub('own', 'c');
      await b.sub('own', 'c');
      a.cmd('RDY 1');
      await p.pub('own', 'x');
      const m = await a.readMessage();
      b.cmd(`TOUCH ${m.id}`);
      await b.expectError(`E_TOUCH_FAILED TOUCH ${m.id} failed client does not own message`);
      b.cmd(`REQ ${m.id} 0`);
      await b.expectError(`E_REQ_FAILED REQ ${m.id} failed client does not own message`);
      b.cmd(`FIN ${m.id}`);
      await b.expectError(`E_FIN_FAILED FIN ${m.id} failed client does not own message`);
      await expectAlive(b);
      // the owner still finishes it; a second FIN is then "not in flight"
      a.cmd(`FIN ${m.id}`);
      a.cmd(`FIN ${m.id}`);
      await a.expectError(`E_FIN_FAILED FIN ${m.id} failed ID not in flight`);
      await expectAlive(a);
    } finally {
      p.close();
      a.close();
      b.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// §2.11 PUB

test('§2.11 PUB errors in nsqd order', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'init', 'PUB\n', 'E_INVALID PUB insufficient number of parameters');
    // topic checked before the body is read: no body sent at all
    await fatalCase(d, 'init', 'PUB a#b\n', 'E_BAD_TOPIC PUB topic name "a#b" is not valid');
    await fatalCase(d, 'init', 'PUB \n', 'E_BAD_TOPIC PUB topic name "" is not valid');
    await fatalCase(d, 'init', lineWithSize('PUB t', 0), 'E_BAD_MESSAGE PUB invalid message body size 0');
    await fatalCase(d, 'init', lineWithSize('PUB t', -1), 'E_BAD_MESSAGE PUB invalid message body size -1');
    await fatalCase(d, 'init', lineWithSize('PUB t', 1048577), 'E_BAD_MESSAGE PUB message too big 1048577 > 1048576');
    await fatalCase(d, 'subscribed', lineWithSize('PUB t', 0), 'E_BAD_MESSAGE PUB invalid message body size 0');
  });
  await withNsqd({ maxMsgSize: 10 }, async (d) => {
    await fatalCase(d, 'init', withBody('PUB t', 'x'.repeat(11)), 'E_BAD_MESSAGE PUB message too big 11 > 10');
    await fatalCase(d, 'closing', withBody('PUB t', 'x'.repeat(11)), 'E_BAD_MESSAGE PUB message too big 11 > 10');
  });
});

// ---------------------------------------------------------------------------------------------
// §2.12 MPUB (quirk 3)

test('§2.12 MPUB errors in nsqd order; quirk 3: the bad-topic text repeats the code', async () => {
  await withNsqd({ maxBodySize: 100, maxMsgSize: 10 }, async (d) => {
    await fatalCase(d, 'init', 'MPUB\n', 'E_INVALID MPUB insufficient number of parameters');
    await fatalCase(d, 'init', 'MPUB a#b\n', 'E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a#b" is not valid');
    await fatalCase(d, 'init', lineWithSize('MPUB t', 0), 'E_BAD_BODY MPUB invalid body size 0');
    await fatalCase(d, 'init', lineWithSize('MPUB t', -1), 'E_BAD_BODY MPUB invalid body size -1');
    await fatalCase(d, 'init', lineWithSize('MPUB t', 101), 'E_BAD_BODY MPUB body too big 101 > 100');
    await fatalCase(d, 'init', lineWithSize('MPUB t', 8, Buffer.concat([int32(0), int32(0)])), 'E_BAD_BODY MPUB invalid message count 0');
    await fatalCase(d, 'init', lineWithSize('MPUB t', 8, Buffer.concat([int32(-1), int32(0)])), 'E_BAD_BODY MPUB invalid message count -1');
    // (100 - 4) / 5 = 19 is the most messages a 100-byte body can hold
    await fatalCase(d, 'init', lineWithSize('MPUB t', 100, Buffer.concat([int32(20), Buffer.alloc(96)])), 'E_BAD_BODY MPUB invalid message count 20');
    const msgs = (sizes: number[]): Buffer => Buffer.concat(sizes.map((s) => Buffer.concat([int32(s), Buffer.alloc(Math.max(s, 0), 0x61)])));
    const mp = (count: number, sizes: number[]): Buffer => {
      const inner = Buffer.concat([int32(count), msgs(sizes)]);
      return lineWithSize('MPUB t', inner.length, inner);
    };
    await fatalCase(d, 'init', mp(2, [1, 0]), 'E_BAD_MESSAGE MPUB invalid message(1) body size 0');
    await fatalCase(d, 'init', mp(2, [-1, 1]), 'E_BAD_MESSAGE MPUB invalid message(0) body size -1');
    await fatalCase(d, 'init', mp(3, [1, 2, 11]), 'E_BAD_MESSAGE MPUB message too big 11 > 10');
  });
});

test('§2.12 MPUB is all-or-nothing; the topic is created even when the body fails', async () => {
  await withNsqd({}, async (d) => {
    const inner = Buffer.concat([int32(3), int32(1), Buffer.from('a'), int32(1), Buffer.from('b'), int32(0)]);
    await fatalCase(d, 'init', lineWithSize('MPUB aon', inner.length, inner), 'E_BAD_MESSAGE MPUB invalid message(2) body size 0');
    const t = await topicStats(d, 'aon');
    assert.ok(t, 'topic created');
    assert.is(t!.depth, 0, 'no message of the batch was queued');
    assert.is(t!.message_count, 0);
    await fatalCase(d, 'init', lineWithSize('MPUB created', 0), 'E_BAD_BODY MPUB invalid body size 0');
    assert.ok(await topicStats(d, 'created'), 'topic created before the body is read');
  });
});

// ---------------------------------------------------------------------------------------------
// §2.14 DPUB (quirk 4)

test('§2.14 DPUB errors in nsqd order; defer above --max-req-timeout is fatal (unlike REQ)', async () => {
  await withNsqd({}, async (d) => {
    await fatalCase(d, 'init', 'DPUB\n', 'E_INVALID DPUB insufficient number of parameters');
    await fatalCase(d, 'init', 'DPUB t\n', 'E_INVALID DPUB insufficient number of parameters');
    await fatalCase(d, 'init', 'DPUB a#b 0\n', 'E_BAD_TOPIC DPUB topic name "a#b" is not valid');
    await fatalCase(d, 'init', 'DPUB a#b x\n', 'E_BAD_TOPIC DPUB topic name "a#b" is not valid');
    await fatalCase(d, 'init', 'DPUB t -1\n', 'E_INVALID DPUB could not parse timeout -1');
    await fatalCase(d, 'init', 'DPUB t 1s\n', 'E_INVALID DPUB could not parse timeout 1s');
    await fatalCase(d, 'init', 'DPUB t 3600001\n', 'E_INVALID DPUB timeout 3600001 out of range 0-3600000');
    await fatalCase(d, 'init', lineWithSize('DPUB t 0', 0), 'E_BAD_MESSAGE DPUB invalid message body size 0');
    await fatalCase(d, 'init', lineWithSize('DPUB t 0', -1), 'E_BAD_MESSAGE DPUB invalid message body size -1');
    await fatalCase(d, 'init', lineWithSize('DPUB t 0', 1048577), 'E_BAD_MESSAGE DPUB message too big 1048577 > 1048576');
  });
  await withNsqd({ maxReqTimeout: 2000, maxMsgSize: 10 }, async (d) => {
    await fatalCase(d, 'init', withBody('DPUB t 2001', 'x'), 'E_INVALID DPUB timeout 2001 out of range 0-2000');
    await fatalCase(d, 'subscribed', withBody('DPUB t 2001', 'x'), 'E_INVALID DPUB timeout 2001 out of range 0-2000');
    await fatalCase(d, 'init', withBody('DPUB t 2000', 'x'.repeat(11)), 'E_BAD_MESSAGE DPUB message too big 11 > 10');
  });
});

// ---------------------------------------------------------------------------------------------
// §2.1 TLS policy (no handshake needed: every command but IDENTIFY is refused before TLS)

/** An nsqd with the fixture certificate (no handshake completes in these tests, so its name does not matter). */
const TLS_FILES = { tlsCert: join(CERTS, 'server.pem'), tlsKey: join(CERTS, 'server.key') };

test('§2.1 --tls-required: commands other than IDENTIFY before TLS → fatal `cannot <CMD> in current state (TLS required)`', async () => {
  await withNsqd({ ...TLS_FILES, tlsRequired: 2 }, async (d) => {
    await fatalCase(d, 'init', withBody('PUB t', 'x'), 'E_INVALID cannot PUB in current state (TLS required)');
    await fatalCase(d, 'init', 'NOP\n', 'E_INVALID cannot NOP in current state (TLS required)');
    await fatalCase(d, 'init', 'SUB t c\n', 'E_INVALID cannot SUB in current state (TLS required)');
    await fatalCase(d, 'init', 'RDY 1\n', 'E_INVALID cannot RDY in current state (TLS required)');
    await fatalCase(d, 'init', 'ASDF\n', 'E_INVALID cannot ASDF in current state (TLS required)');
    const c = await WireConn.open(d.tcpPort);
    try {
      assert.is(await c.identify({ client_id: 'x' }), 'OK');
      c.cmd('PUB t', 'x');
      await expectFatal(c, 'E_INVALID cannot PUB in current state (TLS required)');
    } finally {
      c.close();
    }
  });
});

test('§2.1 a TLS upgrade that fails is answered in the clear, as nsqd\'s handshake error: a first record that is not TLS, an SSLv2 hello, a stream ending in the record header, or silence for 5 s', async () => {
  await withNsqd(TLS_FILES, async (d) => {
    const c = await WireConn.open(d.tcpPort, { timeoutMs: 10_000 });
    try {
      assert.match(await c.identify({ feature_negotiation: true, tls_v1: true }), /"tls_v1":true/);
      c.write(Buffer.from('GARBAGE NOT TLS AT ALL\n'));
      await expectFatal(c, 'E_IDENTIFY_FAILED IDENTIFY failed tls: first record does not look like a TLS handshake');
    } finally {
      c.close();
    }
    // crypto/tls names an SSLv2 hello, and a stream that ends inside the first record header.
    for (const [bytes, text] of [[[0x80, 0x2e, 0x01, 0x03, 0x01], 'tls: unsupported SSLv2 handshake received'], [[22, 3, 1], 'unexpected EOF']] as const) {
      const conn = await WireConn.open(d.tcpPort, { timeoutMs: 10_000 });
      try {
        assert.match(await conn.identify({ feature_negotiation: true, tls_v1: true }), /"tls_v1":true/);
        conn.write(Buffer.from(bytes));
        if (bytes.length < 5) conn.socket.end();
        await expectFatal(conn, `E_IDENTIFY_FAILED IDENTIFY failed ${text}`);
      } finally {
        conn.close();
      }
    }
    const quiet = await WireConn.open(d.tcpPort, { timeoutMs: 10_000 });
    try {
      assert.match(await quiet.identify({ feature_negotiation: true, tls_v1: true }), /"tls_v1":true/);
      const f = await quiet.readFrame();
      assert.is(f.type, 1);
      assert.match(f.data.toString(), /^E_IDENTIFY_FAILED IDENTIFY failed read tcp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: i\/o timeout$/);
      await quiet.expectClosed();
    } finally {
      quiet.close();
    }
    await assertHealthy(d);
  });
});

test.run();
