/**
 * Inputs for the differential check against Go's nsqd (run.ts): raw V2 conversations and HTTP
 * requests, valid and not, meant to reach every answer nsqd gives. Limits match run.ts's
 * COMMON_FLAGS: --max-msg-size=1024, --max-body-size=4096, --max-rdy-count=100.
 */

import type { ConnectionOptions } from 'node:tls';
import { prng } from '../helpers/prng.js';
import { sized } from '../helpers/wire.js';

/** Bytes to send, a function of the last message ID the connection received, or a pause in ms. */
export type Step = string | Buffer | ((lastId: string) => Buffer) | number;

export interface TcpScenario {
  name: string;
  /** Sent one at a time; after each, what arrives until the line is quiet is recorded. */
  steps: Step[];
  quietMs?: number;
  /** The client's TLS settings for an upgrade (node:tls connect options; Node's defaults otherwise). */
  tls?: ConnectionOptions;
}

export interface HttpScenario {
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  note?: string;
}

const MAGIC = '  V2';

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0, 0);
  return b;
}

function cmd(line: string, body?: string | Buffer): Buffer {
  const l = Buffer.from(`${line}\n`, 'latin1');
  return body === undefined ? l : Buffer.concat([l, sized(body)]);
}

/** An MPUB body without its size: count, then each message sized (also /mpub?binary=true's body). */
export function mpub(messages: (string | Buffer)[], count = messages.length): Buffer {
  return Buffer.concat([int32(count), ...messages.map(sized)]);
}

const identify = (o: unknown): Buffer => cmd('IDENTIFY', JSON.stringify(o));

/** A conversation on a fresh connection, after the magic. */
function v2(name: string, ...steps: Step[]): TcpScenario {
  return { name, steps: [MAGIC, ...steps] };
}

let uniq = 0;
/** A topic name no other scenario uses, so scenarios do not see each other's messages. */
const fresh = (base: string): string => `${base}_${++uniq}`;

export function tcpScenarios(): TcpScenario[] {
  const s: TcpScenario[] = [];
  // Magic.
  s.push({ name: 'magic V1', steps: ['  V1'] });
  s.push({ name: 'magic V3', steps: ['  V3'] });
  s.push({ name: 'magic garbage', steps: ['GET / HTTP/1.1\r\n\r\n'] });
  s.push({ name: 'magic split', steps: [' ', ' V', '2', 'NOP\n', cmd('PUB', 'x')] });
  // Lines.
  s.push(v2('empty line', '\n'));
  s.push(v2('CR LF line', 'NOP\r\n', 'PUB\r\n'));
  s.push(v2('unknown command', cmd('FOO')));
  s.push(v2('lowercase command', cmd('nop')));
  s.push(v2('command with trailing space', cmd('NOP ')));
  s.push(v2('double space params', cmd('SUB  t c')));
  s.push(v2('long line 20 KiB', `PUB ${'a'.repeat(20 * 1024)}\n`));
  s.push(v2('line of 16 KiB exactly', `${'N'.repeat(16 * 1024 - 1)}\n`));
  s.push(v2('NUL in command', 'NOP\0\n'));
  // PUB.
  const tp = fresh('pub');
  s.push(v2('PUB no topic', cmd('PUB')));
  s.push(v2('PUB bad topic', cmd('PUB bad!topic', 'x')));
  s.push(v2('PUB topic too long', cmd(`PUB ${'t'.repeat(65)}`, 'x')));
  s.push(v2('PUB topic 64 chars', cmd(`PUB ${'t'.repeat(64)}`, 'x')));
  s.push(v2('PUB ephemeral topic', cmd(`PUB ${fresh('e')}#ephemeral`, 'x')));
  s.push(v2('PUB size 0', Buffer.concat([cmd(`PUB ${tp}`), int32(0)])));
  s.push(v2('PUB size -1', Buffer.concat([cmd(`PUB ${tp}`), int32(-1)])));
  s.push(v2('PUB size over max', Buffer.concat([cmd(`PUB ${tp}`), int32(1025)])));
  s.push(v2('PUB size at max', cmd(`PUB ${tp}`, Buffer.alloc(1024, 97))));
  s.push(v2('PUB ok twice', cmd(`PUB ${tp}`, 'a'), cmd(`PUB ${tp}`, 'b')));
  s.push(v2('PUB extra param', cmd(`PUB ${tp} extra`, 'a')));
  s.push(v2('PUB body in two writes', Buffer.concat([cmd(`PUB ${tp}`), int32(4), Buffer.from('ab')]), 'cd'));
  s.push(v2('PUB size split', cmd(`PUB ${tp}`), Buffer.from([0, 0]), Buffer.from([0, 1, 120])));
  // MPUB.
  const tm = fresh('mpub');
  s.push(v2('MPUB no topic', cmd('MPUB')));
  s.push(v2('MPUB bad topic', cmd('MPUB a/b', mpub(['x']))));
  s.push(v2('MPUB body size 0', Buffer.concat([cmd(`MPUB ${tm}`), int32(0)])));
  s.push(v2('MPUB body size over max', Buffer.concat([cmd(`MPUB ${tm}`), int32(4097)])));
  s.push(v2('MPUB count 0', cmd(`MPUB ${tm}`, mpub([], 0))));
  s.push(v2('MPUB count -1', cmd(`MPUB ${tm}`, int32(-1))));
  s.push(v2('MPUB count over limit', cmd(`MPUB ${tm}`, Buffer.concat([int32(1000), Buffer.alloc(8)]))));
  s.push(v2('MPUB message size 0', cmd(`MPUB ${tm}`, Buffer.concat([int32(1), int32(0)]))));
  s.push(v2('MPUB message over max', cmd(`MPUB ${tm}`, Buffer.concat([int32(1), int32(1025), Buffer.alloc(1025)]))));
  s.push(v2('MPUB messages past body', cmd(`MPUB ${tm}`, Buffer.concat([int32(2), sized('a'), int32(50)]))));
  s.push(v2('MPUB count larger than messages', cmd(`MPUB ${tm}`, mpub(['a', 'b'], 3))));
  s.push(v2('MPUB trailing bytes', cmd(`MPUB ${tm}`, Buffer.concat([mpub(['a', 'b']), Buffer.from('zz')]))));
  s.push(v2('MPUB ok', cmd(`MPUB ${tm}`, mpub(['a', 'bb', 'ccc']))));
  s.push(v2('MPUB body at max', cmd(`MPUB ${tm}`, mpub([Buffer.alloc(1024, 1), Buffer.alloc(1024, 2), Buffer.alloc(1024, 3), Buffer.alloc(4096 - 4 - 3 * 1028 - 4, 4)]))));
  // DPUB.
  const td = fresh('dpub');
  s.push(v2('DPUB no params', cmd('DPUB')));
  s.push(v2('DPUB no timeout', cmd(`DPUB ${td}`)));
  s.push(v2('DPUB bad timeout', cmd(`DPUB ${td} abc`, 'x')));
  s.push(v2('DPUB negative timeout', cmd(`DPUB ${td} -1`, 'x')));
  s.push(v2('DPUB timeout over max', cmd(`DPUB ${td} 30001`, 'x')));
  s.push(v2('DPUB timeout at max', cmd(`DPUB ${td} 30000`, 'x')));
  s.push(v2('DPUB ok', cmd(`DPUB ${td} 10`, 'x')));
  s.push(v2('DPUB bad topic', cmd('DPUB b@d 10', 'x')));
  s.push(v2('DPUB size over max', Buffer.concat([cmd(`DPUB ${td} 10`), int32(2000)])));
  // IDENTIFY.
  s.push(v2('IDENTIFY empty object', identify({})));
  s.push(v2('IDENTIFY bad json', cmd('IDENTIFY', '{nope')));
  s.push(v2('IDENTIFY array', cmd('IDENTIFY', '[1,2]')));
  s.push(v2('IDENTIFY size 0', Buffer.concat([cmd('IDENTIFY'), int32(0)])));
  s.push(v2('IDENTIFY size over max', Buffer.concat([cmd('IDENTIFY'), int32(4097)])));
  s.push(v2('IDENTIFY feature negotiation', identify({ client_id: 'c', hostname: 'h', feature_negotiation: true, user_agent: 'go-diff/1' })));
  s.push(v2('IDENTIFY twice', identify({ feature_negotiation: true }), identify({ feature_negotiation: true })));
  s.push(v2('IDENTIFY heartbeat too big', identify({ heartbeat_interval: 20001 })));
  s.push(v2('IDENTIFY heartbeat too small', identify({ heartbeat_interval: 999 })));
  s.push(v2('IDENTIFY heartbeat -1', identify({ feature_negotiation: true, heartbeat_interval: -1 })));
  s.push(v2('IDENTIFY heartbeat -2', identify({ heartbeat_interval: -2 })));
  s.push(v2('IDENTIFY output buffer too big', identify({ output_buffer_size: 65537 })));
  s.push(v2('IDENTIFY output buffer too small', identify({ output_buffer_size: 63 })));
  s.push(v2('IDENTIFY output buffer -1', identify({ feature_negotiation: true, output_buffer_size: -1, output_buffer_timeout: -1 })));
  s.push(v2('IDENTIFY output timeout too big', identify({ output_buffer_timeout: 5001 })));
  s.push(v2('IDENTIFY output timeout too small', identify({ output_buffer_timeout: 0 })));
  s.push(v2('IDENTIFY sample rate 101', identify({ sample_rate: 101 })));
  s.push(v2('IDENTIFY sample rate -1', identify({ sample_rate: -1 })));
  s.push(v2('IDENTIFY sample rate 50', identify({ feature_negotiation: true, sample_rate: 50 })));
  s.push(v2('IDENTIFY msg timeout over max', identify({ msg_timeout: 60001 })));
  s.push(v2('IDENTIFY msg timeout 999', identify({ msg_timeout: 999 })));
  s.push(v2('IDENTIFY msg timeout ok', identify({ feature_negotiation: true, msg_timeout: 5000 })));
  s.push(v2('IDENTIFY deflate level 10', identify({ feature_negotiation: true, deflate: true, deflate_level: 10 })));
  for (const [name, feature] of [['deflate', { deflate: true, deflate_level: 1 }], ['snappy', { snappy: true }]] as const) {
    const t = fresh(name);
    s.push(v2(`${name}: publish, error, NOP`, identify({ feature_negotiation: true, ...feature }), cmd(`PUB ${t}`, 'compressed'), cmd(`MPUB ${t}`, mpub(['x', 'y'])), cmd('NOP'), cmd('RDY 1')));
    // RDY as many as are queued: nsqd flushes at once when a client's RDY is used up, else only
    // after --output-buffer-timeout.
    s.push(v2(`${name}: deliver and FIN`, cmd(`PUB ${t}`, 'before'), identify({ feature_negotiation: true, ...feature }), cmd(`SUB ${t} c`), cmd('RDY 4'), (id) => cmd(`FIN ${id}`), cmd(`PUB ${t}`, 'x'.repeat(1000))));
    s.push(v2(`${name}: fatal error`, identify({ feature_negotiation: true, ...feature }), cmd('PUB bad!'), cmd('NOP')));
  }
  s.push(v2('IDENTIFY deflate and snappy', identify({ feature_negotiation: true, deflate: true, snappy: true })));
  s.push(v2('IDENTIFY tls without cert', identify({ feature_negotiation: true, tls_v1: true })));
  s.push(v2('IDENTIFY wrong types', identify({ heartbeat_interval: 'x' })));
  s.push(v2('IDENTIFY unknown fields', identify({ feature_negotiation: true, foo: 1, long_id: 'l', short_id: 's' })));
  s.push(v2('IDENTIFY after SUB', cmd(`SUB ${fresh('ids')} c`), identify({})));
  // AUTH (no --auth-http-address).
  s.push(v2('AUTH disabled', cmd('AUTH', 'secret')));
  s.push(v2('AUTH no body size', cmd('AUTH')));
  s.push(v2('AUTH before IDENTIFY', cmd('AUTH', 'x'), identify({})));
  // SUB.
  s.push(v2('SUB no params', cmd('SUB')));
  s.push(v2('SUB one param', cmd('SUB t')));
  s.push(v2('SUB bad topic', cmd('SUB t! c')));
  s.push(v2('SUB bad channel', cmd('SUB t c!')));
  s.push(v2('SUB ephemeral', cmd(`SUB ${fresh('sube')}#ephemeral c#ephemeral`)));
  s.push(v2('SUB twice', cmd(`SUB ${fresh('sub2')} c`), cmd('SUB other c')));
  const full = fresh('full');
  s.push(v2('SUB max consumers', cmd(`SUB ${full} c`), cmd(`SUB ${full} c`)));
  // RDY.
  s.push(v2('RDY before SUB', cmd('RDY 1')));
  const tr = fresh('rdy');
  s.push(v2('RDY no count', cmd(`SUB ${tr} c`), cmd('RDY')));
  s.push(v2('RDY not a number', cmd(`SUB ${tr} c`), cmd('RDY x')));
  s.push(v2('RDY negative', cmd(`SUB ${tr} c`), cmd('RDY -1')));
  s.push(v2('RDY over max', cmd(`SUB ${tr} c`), cmd('RDY 101')));
  s.push(v2('RDY at max then 0', cmd(`SUB ${fresh('rdy')} c`), cmd('RDY 100'), cmd('RDY 0')));
  s.push(v2('RDY with space', cmd(`SUB ${fresh('rdy')} c`), cmd('RDY  5')));
  s.push(v2('RDY huge', cmd(`SUB ${fresh('rdy')} c`), cmd('RDY 99999999999999999999')));
  // FIN, REQ, TOUCH.
  s.push(v2('FIN before SUB', cmd('FIN 0123456789abcdef')));
  s.push(v2('FIN short id', cmd(`SUB ${fresh('fin')} c`), cmd('FIN 0123')));
  s.push(v2('FIN no id', cmd(`SUB ${fresh('fin')} c`), cmd('FIN')));
  s.push(v2('FIN unknown id', cmd(`SUB ${fresh('fin')} c`), cmd('FIN 0123456789abcdef')));
  s.push(v2('REQ no timeout', cmd(`SUB ${fresh('req')} c`), cmd('REQ 0123456789abcdef')));
  s.push(v2('REQ bad timeout', cmd(`SUB ${fresh('req')} c`), cmd('REQ 0123456789abcdef x')));
  s.push(v2('REQ unknown id', cmd(`SUB ${fresh('req')} c`), cmd('REQ 0123456789abcdef 0')));
  s.push(v2('TOUCH unknown id', cmd(`SUB ${fresh('touch')} c`), cmd('TOUCH 0123456789abcdef')));
  s.push(v2('TOUCH before SUB', cmd('TOUCH 0123456789abcdef')));
  // Delivery: publish, subscribe, receive, then answer with the message's own ID.
  const flow = (name: string, ...after: Step[]): TcpScenario => {
    const t = fresh('flow');
    return v2(name, cmd(`PUB ${t}`, 'hello'), cmd(`SUB ${t} c`), cmd('RDY 1'), ...after);
  };
  s.push(flow('deliver then FIN', (id) => cmd(`FIN ${id}`), cmd(`PUB x`, 'after')));
  s.push(flow('deliver then FIN twice', (id) => cmd(`FIN ${id}`), (id) => cmd(`FIN ${id}`)));
  s.push(flow('deliver then REQ 0', (id) => cmd(`REQ ${id} 0`)));
  s.push(flow('deliver then REQ over max', (id) => cmd(`REQ ${id} 30001`)));
  s.push(flow('deliver then REQ negative', (id) => cmd(`REQ ${id} -1`)));
  s.push(flow('deliver then TOUCH', (id) => cmd(`TOUCH ${id}`), (id) => cmd(`FIN ${id}`)));
  s.push(flow('deliver then CLS', cmd('CLS'), (id) => cmd(`FIN ${id}`), cmd('RDY 1')));
  s.push(flow('deliver with RDY 0 after', cmd('RDY 0'), (id) => cmd(`REQ ${id} 0`)));
  s.push(v2('SUB then PUB on same conn', cmd(`SUB ${fresh('same')} c`), cmd('PUB other', 'x')));
  // CLS, NOP.
  s.push(v2('CLS before SUB', cmd('CLS')));
  s.push(v2('CLS twice', cmd(`SUB ${fresh('cls')} c`), cmd('CLS'), cmd('CLS')));
  s.push(v2('CLS then SUB', cmd(`SUB ${fresh('cls')} c`), cmd('CLS'), cmd('SUB a b')));
  s.push(v2('NOP with param', cmd('NOP x')));
  // Several commands in one write.
  s.push(v2('pipelined', Buffer.concat([cmd('NOP'), cmd(`PUB ${tp}`, 'a'), cmd('FOO'), cmd(`PUB ${tp}`, 'b')])));
  return s;
}

export function httpScenarios(): HttpScenario[] {
  const h: HttpScenario[] = [];
  const get = (path: string, note?: string, headers?: Record<string, string>): void => {
    h.push({ method: 'GET', path, ...(note !== undefined ? { note } : {}), ...(headers !== undefined ? { headers } : {}) });
  };
  const post = (path: string, body?: string | Buffer, note?: string): void => {
    h.push({ method: 'POST', path, ...(body !== undefined ? { body } : {}), ...(note !== undefined ? { note } : {}) });
  };
  get('/ping');
  get('/info');
  get('/nope');
  get('/pub', 'wrong method');
  h.push({ method: 'PUT', path: '/ping', note: 'wrong method' });
  h.push({ method: 'HEAD', path: '/ping' });
  h.push({ method: 'OPTIONS', path: '/pub' });
  get('/ping/', 'trailing slash');
  get('/PING', 'case');
  get('/stats?format=json', 'empty');
  // /pub
  post('/pub', 'x', 'no topic');
  post('/pub?topic=', 'x', 'empty topic');
  post('/pub?topic=a!b', 'x', 'bad topic');
  post('/pub?topic=h1', '', 'empty body');
  post('/pub?topic=h1', 'a'.repeat(1025), 'too big');
  post('/pub?topic=h1', 'a'.repeat(1024), 'at max');
  post('/pub?topic=h1', 'hello');
  post('/pub?topic=h1&defer=abc', 'x', 'bad defer');
  post('/pub?topic=h1&defer=-1', 'x', 'negative defer');
  post('/pub?topic=h1&defer=30001', 'x', 'defer over max');
  post('/pub?topic=h1&defer=5000', 'x', 'defer ok');
  post('/pub?topic=h1&topic=h2', 'x', 'two topics');
  post('/pub?topic=h1;x', 'x', 'semicolon in query');
  post('/pub?topic=h%zz', 'x', 'bad escape');
  // /mpub
  post('/mpub', 'a\nb', 'no topic');
  post('/mpub?topic=h1', 'a\nb\n\nc\n', 'text');
  post('/mpub?topic=h1', '\n\n', 'text only newlines');
  post('/mpub?topic=h1', 'a\r\nb', 'text CR');
  post('/mpub?topic=h1', `${'a'.repeat(1025)}\nb`, 'text line too big');
  post('/mpub?topic=h1', 'a\n'.repeat(2049), 'text body too big');
  post('/mpub?topic=h1&binary=true', mpub(['a', 'b']), 'binary');
  post('/mpub?topic=h1&binary=1', mpub([]), 'binary count 0');
  post('/mpub?topic=h1&binary=true', Buffer.from([0, 0]), 'binary short');
  post('/mpub?topic=h1&binary=true', mpub(['a', 'b'], 3), 'binary count too big');
  post('/mpub?topic=h1&binary=true', Buffer.concat([int32(1), int32(2000), Buffer.alloc(10)]), 'binary message too big');
  post('/mpub?topic=h1&binary=true', Buffer.concat([mpub(['a']), Buffer.from('junk')]), 'binary trailing');
  post('/mpub?topic=h1&binary=yes', mpub(['a']), 'binary other value');
  post('/mpub?topic=h1&binary=false', 'a\nb', 'binary false');
  // topics and channels
  post('/topic/create', undefined, 'no topic');
  post('/topic/create?topic=bad!', undefined, 'bad topic');
  post('/topic/create?topic=ht');
  post('/topic/create?topic=ht', undefined, 'again');
  post('/topic/delete?topic=missing');
  post('/topic/delete?topic=bad!', undefined, 'bad name');
  post('/topic/empty?topic=missing');
  post('/topic/empty?topic=bad!', undefined, 'bad name');
  post('/topic/pause?topic=missing');
  post('/topic/pause?topic=ht');
  post('/topic/unpause?topic=ht');
  post('/channel/create?topic=ht', undefined, 'no channel');
  post('/channel/create?channel=c', undefined, 'no topic');
  post('/channel/create?topic=ht&channel=bad!', undefined, 'bad channel');
  post('/channel/create?topic=bad!&channel=c', undefined, 'bad topic');
  post('/channel/create?topic=missing&channel=c', undefined, 'missing topic');
  post('/channel/create?topic=ht&channel=c1');
  post('/channel/create?topic=ht&channel=c2#ephemeral');
  post('/channel/pause?topic=ht&channel=c1');
  post('/channel/pause?topic=ht&channel=nope');
  post('/channel/empty?topic=ht&channel=c1');
  post('/channel/delete?topic=ht&channel=nope');
  post('/channel/unpause?topic=ht&channel=c1');
  get('/stats?format=json&topic=ht', 'one topic');
  get('/stats?format=json&topic=nope', 'missing topic');
  get('/stats?format=json&topic=ht&channel=c1', 'one channel');
  get('/stats?format=json&channel=c1', 'channel only');
  get('/stats?format=json&include_clients=false&include_mem=false', 'no clients, no mem');
  get('/stats?format=text&topic=ht', 'text');
  get('/stats?format=json&include_clients=maybe', 'bad bool');
  post('/channel/delete?topic=ht&channel=c1');
  post('/topic/delete?topic=ht');
  get('/stats?format=json&include_mem=false', 'after deletes');
  // config
  get('/config/nsqlookupd_tcp_addresses');
  get('/config/log_level');
  get('/config/nope');
  h.push({ method: 'PUT', path: '/config/log_level', body: 'debug' });
  h.push({ method: 'PUT', path: '/config/log_level', body: 'loud', note: 'bad level' });
  h.push({ method: 'PUT', path: '/config/nsqlookupd_tcp_addresses', body: '["127.0.0.1:1"]' });
  h.push({ method: 'PUT', path: '/config/nsqlookupd_tcp_addresses', body: 'not json', note: 'bad json' });
  h.push({ method: 'PUT', path: '/config/nsqlookupd_tcp_addresses', body: '[]' });
  h.push({ method: 'PUT', path: '/config/nope', body: 'x' });
  h.push({ method: 'PUT', path: '/config/log_level', body: 'x'.repeat(70 * 1024), note: 'huge body' });
  get('/info', 'accept v1', { Accept: 'application/vnd.nsq; version=1.0' });
  return h;
}

/**
 * Random conversations, reproducible from `seed`: commands drawn from every kind nsqd knows,
 * each with valid, boundary and wrong parameters, some split across writes or run together in
 * one. Topics come from a small pool per conversation, so publishing, subscribing and answering
 * messages meet. REQ timeouts are 0 or out of range, so no redelivery depends on timing.
 */
export function tcpFuzzScenarios(seed: number, count: number): TcpScenario[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const out: TcpScenario[] = [];
  for (let n = 0; n < count; n++) {
    const base = `fz${seed}_${n}`;
    const topics = [`${base}a`, `${base}b`, `${base}c#ephemeral`];
    const topic = (): string => (rnd() < 0.08 ? pick(['', 'bad!t', 't'.repeat(65), 'a b', '#ephemeral', 'x#ephemeral#ephemeral']) : pick(topics));
    const channel = (): string => (rnd() < 0.08 ? pick(['', 'bad!c', 'c'.repeat(65), 'ch#ephemeral']) : pick(['c', 'd', 'e#ephemeral']));
    const body = (): Buffer => Buffer.alloc(pick([1, 1, 5, 100, 1023, 1024, 1025]), int(97, 122));
    const id = (): Step => {
      const r = rnd();
      if (r < 0.6) return (last: string) => Buffer.from(last === '' ? '0123456789abcdef' : last, 'latin1');
      if (r < 0.8) return '0123456789abcdef';
      return pick(['0123', '0123456789abcdef0', '', 'zzzzzzzzzzzzzzzz']);
    };
    const withId = (verb: string, suffix = ''): ((lastId: string) => Buffer) => {
      const i = id();
      return (last: string) => Buffer.from(`${verb} ${typeof i === 'function' ? i(last).toString('latin1') : String(i)}${suffix}\n`, 'latin1');
    };
    const identifyFields = (): Record<string, unknown> => {
      const o: Record<string, unknown> = {};
      const fields: [string, () => unknown][] = [
        ['client_id', () => pick(['c', '', 'x'.repeat(300)])],
        ['hostname', () => pick(['h', ''])],
        ['user_agent', () => pick(['fuzz/1', ''])],
        ['feature_negotiation', () => pick([true, false])],
        ['heartbeat_interval', () => pick([-2, -1, 0, 999, 1000, 20000, 20001, 'x'])],
        ['output_buffer_size', () => pick([-1, 0, 63, 64, 65536, 65537])],
        ['output_buffer_timeout', () => pick([-1, 0, 1, 5000, 5001])],
        ['sample_rate', () => pick([-1, 0, 1, 99, 100, 101])],
        ['msg_timeout', () => pick([0, 999, 1000, 60000, 60001])],
        ['deflate', () => pick([true, false])],
        ['deflate_level', () => pick([0, 1, 6, 9, 10])],
        ['snappy', () => pick([true, false])],
        ['tls_v1', () => pick([false, true])],
      ];
      for (const [k, v] of fields) if (rnd() < 0.3) o[k] = v();
      return o;
    };
    const command = (): Buffer | ((lastId: string) => Buffer) => {
      switch (int(0, 17)) {
        case 0: return cmd('NOP');
        case 1: return cmd(pick(['FOO', 'pub x', 'SUB', 'RDY', 'IDENTIFY x', '', ' ', 'NOP x y']));
        case 2: {
          const o = identifyFields();
          // Compression is left out: a fuzz conversation is compared byte-level framed.
          delete o.deflate;
          delete o.snappy;
          return rnd() < 0.1 ? cmd('IDENTIFY', pick(['{', '[]', 'null', '{"heartbeat_interval":1e99}'])) : identify(o);
        }
        case 3: return cmd('AUTH', 'secret');
        case 4: case 5: return cmd(`SUB ${topic()} ${channel()}`);
        case 6: case 7: return cmd(`RDY ${pick([-1, 0, 1, 1, 2, 5, 100, 101])}`);
        case 8: return withId('FIN');
        case 9: return withId('REQ', ` ${pick([0, 0, -1, 30001, 'x'])}`);
        case 10: return withId('TOUCH');
        case 11: case 12: return cmd(`PUB ${topic()}`, body());
        case 13: {
          const k = int(1, 4);
          const msgs = Array.from({ length: k }, body);
          const r = rnd();
          if (r < 0.15) return cmd(`MPUB ${topic()}`, mpub(msgs, k + int(-1, 2)));
          if (r < 0.25) return Buffer.concat([cmd(`MPUB ${topic()}`), int32(pick([0, -1, 4097, 4096]))]);
          return cmd(`MPUB ${topic()}`, mpub(msgs));
        }
        case 14: return cmd(`DPUB ${topic()} ${pick([0, 10, 30000, 30001, -1, 'x'])}`, body());
        case 15: return cmd('CLS');
        case 16: return Buffer.concat([cmd(`PUB ${topic()}`), int32(pick([0, -5, 2000]))]);
        default: return cmd(pick(['PUB', 'MPUB', 'DPUB', 'DPUB x', 'SUB x', 'REQ', 'TOUCH', 'FIN']));
      }
    };
    const steps: Step[] = [MAGIC];
    const len = int(2, 9);
    for (let i = 0; i < len; i++) {
      const c = command();
      const r = rnd();
      if (typeof c !== 'function' && c.length > 2 && r < 0.15) {
        // Split one command across two writes.
        const at = int(1, c.length - 1);
        steps.push(c.subarray(0, at), c.subarray(at));
      } else if (typeof c !== 'function' && r < 0.3 && i + 1 < len) {
        // Two commands in one write.
        const d = command();
        steps.push(typeof d === 'function' ? c : Buffer.concat([c, d]));
      } else steps.push(c);
    }
    out.push({ name: `fuzz seed ${seed} #${n}`, steps, quietMs: 300 });
  }
  return out;
}

/**
 * What the auth server run.ts starts for each nsqd answers, by secret. `short` allows for one
 * second and then fails, so the re-query after expiry is exercised.
 */
export function authAnswer(secret: string, calls: number): { status: number; body: string } {
  const ok = (o: unknown): { status: number; body: string } => ({ status: 200, body: JSON.stringify(o) });
  const grant = (topic: string, channels: string[], permissions: string[], ttl = 3600): { status: number; body: string } =>
    ok({ ttl, identity: `id-${secret}`, identity_url: 'http://auth.example/u', authorizations: [{ topic, channels, permissions }] });
  switch (secret) {
    case 'good': return grant('auth_t.*', ['.*'], ['subscribe', 'publish']);
    case 'pub': return grant('^auth_p$', ['.*'], ['publish']);
    case 'sub': return grant('auth_s', ['^c$'], ['subscribe']);
    case 'nochan': return grant('.*', [], ['subscribe', 'publish']);
    case 'ci': return grant('(?i)^AUTH_CI$', ['.*'], ['publish', 'subscribe']);
    // Flags set and cleared inside the pattern (RE2's scoped flags).
    case 'scoped1': return grant('^(?i:auth)_F$', ['.*'], ['publish']);
    case 'scoped2': return grant('^(?i)Auth(?-i)_g[a-c]+$', ['.*'], ['publish']);
    case 'scoped3': return grant('.*', ['^(?i:[a-c]+)x$'], ['subscribe']);
    case 'scoped4': return grant('^a(?i)(b|c(?-i)d)E$', ['.*'], ['publish']);
    case 'two': return ok({ ttl: 60, identity: 'two', identity_url: '', authorizations: [{ topic: 'a', channels: ['.*'], permissions: ['publish'] }, { topic: 'b', channels: ['x'], permissions: ['subscribe'] }] });
    case 'none': return ok({ ttl: 60, identity: 'none', identity_url: '', authorizations: [] });
    case 'badperm': return grant('.*', ['.*'], ['read']);
    case 'badregex': return grant('(', ['.*'], ['publish']);
    case 'ttl0': return grant('.*', ['.*'], ['publish'], 0);
    case 'short': return calls === 1 ? grant('.*', ['.*'], ['publish'], 1) : { status: 500, body: 'down' };
    case 'garbage': return { status: 200, body: 'not json' };
    case 'err500': return { status: 500, body: '{"message":"boom"}' };
    default: return { status: 403, body: '{"message":"NOT_AUTHORIZED"}' };
  }
}

/** Conversations with nsqd started with --auth-http-address pointing at authAnswer. */
export function authScenarios(): TcpScenario[] {
  const auth = (secret: string): Buffer => cmd('AUTH', secret);
  // An AUTH waits for an HTTP round trip: give every step time to be answered.
  return ([
    v2('auth: IDENTIFY says auth required', identify({ feature_negotiation: true })),
    v2('auth: PUB first', cmd('PUB auth_t1', 'x')),
    v2('auth: MPUB first', cmd('MPUB auth_t1', mpub(['x']))),
    v2('auth: DPUB first', cmd('DPUB auth_t1 10', 'x')),
    v2('auth: SUB first', cmd('SUB auth_t1 c')),
    v2('auth: good, PUB, MPUB, DPUB, SUB', auth('good'), cmd('PUB auth_t1', 'x'), cmd('MPUB auth_t2', mpub(['a'])), cmd('DPUB auth_t3 10', 'x'), cmd('SUB auth_t1 c')),
    v2('auth: good, PUB elsewhere', auth('good'), cmd('PUB other', 'x')),
    v2('auth: twice', auth('good'), auth('good')),
    v2('auth: after SUB', auth('good'), cmd('SUB auth_t1 c'), auth('good')),
    v2('auth: after IDENTIFY', identify({}), auth('good'), cmd('PUB auth_t1', 'x')),
    v2('auth: publish only, SUB', auth('pub'), cmd('PUB auth_p', 'x'), cmd('SUB auth_p c')),
    v2('auth: publish only, other topic', auth('pub'), cmd('PUB auth_px', 'x')),
    v2('auth: subscribe only, PUB', auth('sub'), cmd('SUB auth_s c'), cmd('RDY 1')),
    v2('auth: subscribe only, PUB first', auth('sub'), cmd('PUB auth_s', 'x')),
    v2('auth: subscribe only, wrong channel', auth('sub'), cmd('SUB auth_s cc')),
    v2('auth: subscribe only, substring topic', auth('sub'), cmd('SUB xauth_sx c')),
    v2('auth: no channels', auth('nochan'), cmd('PUB t', 'x')),
    v2('auth: case-insensitive topic', auth('ci'), cmd('PUB auth_ci', 'x'), cmd('PUB AUTH_CI', 'y'), cmd('PUB auth_cix', 'z')),
    v2('auth: scoped (?i:...)', auth('scoped1'), cmd('PUB auth_F', 'x'), cmd('PUB AUTH_F', 'x'), cmd('PUB aUtH_F', 'x'), cmd('PUB auth_f', 'x')),
    v2('auth: (?i) then (?-i)', auth('scoped2'), cmd('PUB auth_gab', 'x'), cmd('PUB AUTH_gc', 'x'), cmd('PUB auth_Gab', 'x')),
    v2('auth: (?i) then (?-i), class', auth('scoped2'), cmd('PUB auth_gA', 'x')),
    v2('auth: scoped (?i) class in a channel', auth('scoped3'), cmd('SUB t ABx'), cmd('RDY 0')),
    v2('auth: scoped (?i) class in a channel, denied', auth('scoped3'), cmd('SUB t abX')),
    v2('auth: (?-i) inside a group under (?i)', auth('scoped4'), cmd('PUB abE', 'x'), cmd('PUB aBe', 'x'), cmd('PUB aCde', 'x'), cmd('PUB acDe', 'x')),
    v2('auth: (?i) scope ends with its group', auth('scoped4'), cmd('PUB Abe', 'x')),
    v2('auth: two authorizations', auth('two'), cmd('PUB a', 'x'), cmd('SUB b x')),
    v2('auth: two authorizations, denied', auth('two'), cmd('SUB a x')),
    v2('auth: none', auth('none')),
    v2('auth: bad permission', auth('badperm')),
    v2('auth: bad regex', auth('badregex')),
    v2('auth: ttl 0', auth('ttl0')),
    v2('auth: garbage answer', auth('garbage')),
    v2('auth: 500', auth('err500')),
    v2('auth: 403', auth('nope')),
    v2('auth: expiry re-query fails', auth('short'), cmd('PUB t', 'x'), 1500, cmd('PUB t', 'y')),
    v2('auth: size 0', Buffer.concat([cmd('AUTH'), int32(0)])),
    v2('auth: size over max', Buffer.concat([cmd('AUTH'), int32(4097)])),
    v2('auth: extra param', cmd('AUTH x', 'good')),
  ] as TcpScenario[]).map((sc) => ({ ...sc, quietMs: 400 }));
}

/**
 * Random HTTP requests, reproducible from `seed`: nsqd's endpoints (and near misses) with every
 * method, parameters drawn from valid, boundary and wrong values, and bodies around the limits.
 * Deferrals are 0 or long, so no answer depends on timing.
 */
export function httpFuzzScenarios(seed: number, count: number): HttpScenario[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  /** Endpoint, its method, and the parameters it reads. */
  const endpoints: [string, string, string[]][] = [
    ['/pub', 'POST', ['topic', 'defer']], ['/pub', 'POST', ['topic']], ['/mpub', 'POST', ['topic', 'binary']], ['/mpub', 'POST', ['topic']],
    ['/stats', 'GET', ['format', 'topic', 'channel', 'include_clients', 'include_mem']], ['/info', 'GET', []], ['/ping', 'GET', []],
    ['/topic/create', 'POST', ['topic']], ['/topic/delete', 'POST', ['topic']], ['/topic/empty', 'POST', ['topic']],
    ['/topic/pause', 'POST', ['topic']], ['/topic/unpause', 'POST', ['topic']],
    ['/channel/create', 'POST', ['topic', 'channel']], ['/channel/delete', 'POST', ['topic', 'channel']], ['/channel/empty', 'POST', ['topic', 'channel']],
    ['/channel/pause', 'POST', ['topic', 'channel']], ['/channel/unpause', 'POST', ['topic', 'channel']],
    ['/config/nsqlookupd_tcp_addresses', 'PUT', []], ['/config/log_level', 'PUT', []], ['/config/log_level', 'GET', []], ['/config/x', 'GET', []],
    ['/pub/', 'POST', ['topic']], ['/topic', 'POST', ['topic']], ['/', 'GET', []], ['/stats/', 'GET', []],
  ];
  const topics = [`hf${seed}a`, `hf${seed}a`, `hf${seed}b`, `hf${seed}c#ephemeral`, '', 'bad!', 't'.repeat(65)];
  const channels = ['c', 'c', 'd#ephemeral', '', 'bad!', 'c'.repeat(65)];
  const values: Record<string, () => string> = {
    topic: () => encodeURIComponent(pick(topics)),
    channel: () => encodeURIComponent(pick(channels)),
    defer: () => pick(['0', '20000', '30000', '30001', '-1', 'x', '']),
    binary: () => pick(['true', 'false', '1', '0', 'yes', '']),
    format: () => pick(['json', 'json', 'text', '']),
    include_clients: () => pick(['true', 'false', 'x']),
    include_mem: () => pick(['false', '0']),
  };
  const body = (): string | Buffer | undefined => {
    switch (Math.floor(rnd() * 8)) {
      case 0: return undefined;
      case 1: return '';
      case 2: return 'hello';
      case 3: return 'a'.repeat(pick([1024, 1025]));
      case 4: return 'l1\nl2\n\nl3';
      case 5: return 'x\n'.repeat(pick([10, 2048, 2049]));
      case 6: return mpub(Array.from({ length: Math.floor(rnd() * 4) }, () => 'm'.repeat(pick([1, 1024, 1025]))));
      default: return Buffer.from([0, 0, 0, 2, 0, 0, 0, 1, 97]);
    }
  };
  const out: HttpScenario[] = [];
  for (let n = 0; n < count; n++) {
    const [path, right, reads] = pick(endpoints);
    const method = rnd() < 0.85 ? right : pick(['GET', 'POST', 'PUT', 'DELETE']);
    // Mostly the parameters the endpoint reads, each usually present; now and then a stray one.
    const names = [...reads.filter(() => rnd() < 0.85), ...(rnd() < 0.1 ? [pick(Object.keys(values))] : [])];
    const q = names.map((k) => `${k}=${values[k]!()}`);
    const b = method === 'GET' ? undefined : path.startsWith('/config/nsqlookupd') ? pick(['[]', '["127.0.0.1:1"]', 'x', '[1]']) : path.startsWith('/config/') ? pick(['debug', 'info', 'x', '']) : body();
    out.push({ method, path: q.length > 0 ? `${path}?${q.join('&')}` : path, ...(b !== undefined ? { body: b } : {}), note: `fuzz ${seed} #${n}` });
  }
  return out;
}

/** A client that speaks only TLS `v` (1.0 or 1.1). */
export const legacyTls = (v: 'TLSv1' | 'TLSv1.1'): ConnectionOptions => ({ minVersion: v, maxVersion: v, ciphers: 'DEFAULT:@SECLEVEL=0' });

/** Conversations with nsqd started with a certificate and --tls-min-version=tls1.2: older clients are refused. */
export function tlsMinScenarios(): TcpScenario[] {
  const tls = identify({ feature_negotiation: true, tls_v1: true });
  return [
    { ...v2('tls-min-version=tls1.2: a TLS 1.0 client', tls, cmd('NOP')), tls: legacyTls('TLSv1') },
    { ...v2('tls-min-version=tls1.2: a TLS 1.1 client', tls, cmd('NOP')), tls: legacyTls('TLSv1.1') },
    { ...v2('tls-min-version=tls1.2: a TLS 1.2 client', tls, cmd('PUB t', 'x')), tls: { maxVersion: 'TLSv1.2' } },
  ];
}

/** Conversations with nsqd started with a certificate and --tls-required=true. */
export function tlsScenarios(): TcpScenario[] {
  const tls = identify({ feature_negotiation: true, tls_v1: true });
  return ([
    v2('tls-required: NOP first', cmd('NOP')),
    v2('tls-required: PUB first', cmd('PUB t', 'x')),
    v2('tls-required: SUB first', cmd('SUB t c')),
    v2('tls-required: AUTH first', cmd('AUTH', 's')),
    v2('tls-required: IDENTIFY without TLS, then PUB', identify({ feature_negotiation: true }), cmd('PUB t', 'x')),
    v2('tls-required: IDENTIFY without feature negotiation', identify({ tls_v1: true }), cmd('PUB t', 'x')),
    v2('tls-required: upgrade, publish, consume', tls, cmd('PUB tls_t', 'secret'), cmd('SUB tls_t c'), cmd('RDY 1'), (id) => cmd(`FIN ${id}`), cmd('NOP')),
    v2('tls-required: upgrade, errors', tls, cmd('FOO')),
    v2('tls-required: upgrade, IDENTIFY again', tls, identify({ feature_negotiation: true })),
    v2('tls-required: upgrade, MPUB and DPUB', tls, cmd('MPUB tls_m', mpub(['a', 'b'])), cmd('DPUB tls_m 20000', 'later'), cmd('MPUB tls_m', mpub([], 0))),
    // TLS 1.0 and 1.1 clients under the default --tls-min-version=tls1.0 (they need OpenSSL's
    // lowest security level on our side of the test, too).
    { ...v2('tls-required: a TLS 1.0 client', tls, cmd('PUB tls_old', 'x'), cmd('NOP')), tls: legacyTls('TLSv1') },
    { ...v2('tls-required: a TLS 1.1 client', tls, cmd('PUB tls_old', 'y')), tls: legacyTls('TLSv1.1') },
  ] as TcpScenario[]).map((sc) => ({ ...sc, quietMs: 300 }));
}

/** Two clients left connected while the HTTP scenarios run: a subscriber and a publisher. */
export function liveClients(): TcpScenario[] {
  return [
    v2('live subscriber', identify({ feature_negotiation: true, client_id: 'live-sub', hostname: 'sub.example', user_agent: 'go-diff/1', msg_timeout: 20000 }), cmd('SUB live_t c'), cmd('RDY 3'), cmd('PUB live_t', 'one'), (id) => cmd(`REQ ${id} 0`)),
    // One topic: a client's pub_counts shows one entry, and Go picks it from a map at random.
    v2('live publisher', identify({ client_id: 'live-pub', hostname: 'pub.example' }), cmd('PUB live_t', 'two'), cmd('MPUB live_t', mpub(['a', 'b'])), cmd('DPUB live_t 25000', 'later')),
  ].map((sc) => ({ ...sc, quietMs: 300 }));
}
