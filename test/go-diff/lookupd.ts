/**
 * Differential check of nsqlookupd against Go's: the same lookup-protocol conversations (what
 * nsqd sends: IDENTIFY, REGISTER, UNREGISTER, PING, and wrong ones) and HTTP requests go to
 * ours and to a Go nsqlookupd binary, and the answers are compared with addresses, times and
 * versions masked and Go's map orders sorted.
 *
 *   npm run compile
 *   node --import tsx test/go-diff/lookupd.ts --go=/path/to/go/nsqlookupd [--show]
 *
 * Not part of `npm test` (CI has no Go nsqlookupd). Exits 1 when any answer differs. Inputs Go
 * crashes on (a negative IDENTIFY size) or would try to allocate gigabytes for are not sent.
 */
import { sized } from '../helpers/wire.js';
import { argvOf, goBinary, lookupdComparable, openConn, QuietConn, startDaemon, stopDaemon, Tally, type Daemon } from './common.js';

const values = goBinary('lookupd.ts', 'GO_NSQLOOKUPD', 'nsqlookupd');

const line = (l: string): Buffer => Buffer.from(`${l}\n`, 'latin1');
const IDENT = { broadcast_address: '10.0.0.1', hostname: 'h1', tcp_port: 4150, http_port: 4151, version: '1.3.0' };
const identify = (o: unknown): Buffer => Buffer.concat([line('IDENTIFY'), sized(JSON.stringify(o))]);

/** Per-process values; the peer's ports are IDENT's, the daemon's own ones differ. */
const MASKED = new Set(['remote_address', 'id', 'last_update', 'hostname', 'version', 'tombstoned_at', 'http_port', 'tcp_port']);
const normalise = (v: unknown): unknown => lookupdComparable(v, (k, x) => MASKED.has(k) && x !== IDENT.tcp_port && x !== IDENT.http_port);

/** A lookup-protocol connection: answers are [size][payload], with no frame type. */
class Conn extends QuietConn {
  private buf = Buffer.alloc(0);
  static open(port: number): Promise<Conn> {
    return openConn(port, (s) => new Conn(s));
  }
  protected receive(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
  }
  take(): string {
    const out: string[] = [];
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (this.buf.length < 4 + size) break;
      const s = this.buf.toString('latin1', 4, 4 + size);
      this.buf = this.buf.subarray(4 + size);
      try {
        out.push(JSON.stringify(normalise(JSON.parse(s))));
      } catch {
        out.push(s);
      }
    }
    if (this.buf.length > 0) out.push(`partial ${this.buf.toString('hex')}`);
    this.buf = Buffer.alloc(0);
    if (this.closed) out.push('<closed>');
    return out.join(' | ');
  }
}

async function conversation(d: Daemon, steps: Buffer[]): Promise<string> {
  const c = await Conn.open(d.tcpPort);
  const out: string[] = [];
  for (const s of steps) {
    if (c.closed) break;
    c.socket.write(s);
    await c.settle(50);
    out.push(c.take());
  }
  c.socket.destroy();
  return out.join('\n');
}

const MAGIC = Buffer.from('  V1');
const tcp: [string, Buffer[]][] = [
  ['magic V2', [Buffer.from('  V2')]],
  ['magic garbage', [Buffer.from('GET / HTTP/1.0\r\n\r\n')]],
  ['PING before IDENTIFY', [MAGIC, line('PING')]],
  ['REGISTER before IDENTIFY', [MAGIC, line('REGISTER t')]],
  ['UNREGISTER before IDENTIFY', [MAGIC, line('UNREGISTER t')]],
  ['IDENTIFY', [MAGIC, identify(IDENT)]],
  ['IDENTIFY twice', [MAGIC, identify(IDENT), identify(IDENT)]],
  ['IDENTIFY bad JSON', [MAGIC, Buffer.concat([line('IDENTIFY'), sized('{x')])]],
  ['IDENTIFY empty body', [MAGIC, Buffer.concat([line('IDENTIFY'), sized('')])]],
  ['IDENTIFY no broadcast_address', [MAGIC, identify({ ...IDENT, broadcast_address: '' })]],
  ['IDENTIFY no tcp_port', [MAGIC, identify({ ...IDENT, tcp_port: 0 })]],
  ['IDENTIFY no http_port', [MAGIC, identify({ ...IDENT, http_port: 0 })]],
  ['IDENTIFY no version', [MAGIC, identify({ ...IDENT, version: '' })]],
  ['IDENTIFY no hostname', [MAGIC, identify({ ...IDENT, hostname: undefined })]],
  ['IDENTIFY wrong types', [MAGIC, identify({ ...IDENT, tcp_port: '4150' })]],
  ['IDENTIFY remote_address ignored', [MAGIC, identify({ ...IDENT, remote_address: '1.2.3.4:5' })]],
  ['IDENTIFY size split', [MAGIC, line('IDENTIFY'), Buffer.from([0, 0]), sized(JSON.stringify(IDENT)).subarray(2)]],
  ['REGISTER no params', [MAGIC, identify(IDENT), line('REGISTER')]],
  ['REGISTER bad topic', [MAGIC, identify(IDENT), line('REGISTER bad!')]],
  ['REGISTER bad channel', [MAGIC, identify(IDENT), line('REGISTER t bad!')]],
  ['REGISTER topic and channel', [MAGIC, identify(IDENT), line('REGISTER rt rc'), line('PING')]],
  ['REGISTER extra params', [MAGIC, identify(IDENT), line('REGISTER rt rc extra')]],
  ['REGISTER double space', [MAGIC, identify(IDENT), line('REGISTER  rt')]],
  ['REGISTER CRLF', [MAGIC, identify(IDENT), Buffer.from('REGISTER rt rc\r\n')]],
  ['REGISTER ephemeral', [MAGIC, identify(IDENT), line('REGISTER e#ephemeral c#ephemeral'), line('UNREGISTER e#ephemeral c#ephemeral'), line('UNREGISTER e#ephemeral')]],
  ['UNREGISTER no params', [MAGIC, identify(IDENT), line('UNREGISTER')]],
  ['UNREGISTER bad topic', [MAGIC, identify(IDENT), line('UNREGISTER bad!')]],
  ['UNREGISTER never registered', [MAGIC, identify(IDENT), line('UNREGISTER nothere ch')]],
  ['unknown command', [MAGIC, line('FOO')]],
  ['empty line', [MAGIC, line('')]],
  ['lowercase ping', [MAGIC, line('ping')]],
  ['PING with params', [MAGIC, line('PING x')]],
  ['pipelined', [Buffer.concat([MAGIC, identify(IDENT), line('REGISTER pt pc'), line('PING'), line('UNREGISTER pt pc')])]],
];

interface Req { method: string; path: string; note?: string }
const http: Req[] = [
  { method: 'GET', path: '/ping' },
  { method: 'GET', path: '/info' },
  { method: 'GET', path: '/topics' },
  { method: 'GET', path: '/channels', note: 'no topic' },
  { method: 'GET', path: '/channels?topic=live' },
  { method: 'GET', path: '/channels?topic=unknown' },
  { method: 'GET', path: '/lookup', note: 'no topic' },
  { method: 'GET', path: '/lookup?topic=' },
  { method: 'GET', path: '/lookup?topic=unknown' },
  { method: 'GET', path: '/lookup?topic=live' },
  { method: 'GET', path: '/lookup?topic=rt', note: 'registered by a closed connection' },
  { method: 'GET', path: '/nodes' },
  { method: 'GET', path: '/debug' },
  { method: 'POST', path: '/topic/create', note: 'no topic' },
  { method: 'POST', path: '/topic/create?topic=bad!' },
  { method: 'POST', path: '/topic/create?topic=made' },
  { method: 'POST', path: '/channel/create?topic=made' },
  { method: 'POST', path: '/channel/create?channel=c' },
  { method: 'POST', path: '/channel/create?topic=made&channel=bad!' },
  { method: 'POST', path: '/channel/create?topic=bad!&channel=c' },
  { method: 'POST', path: '/channel/create?topic=made&channel=mc' },
  { method: 'POST', path: '/channel/create?topic=new2&channel=nc' },
  { method: 'GET', path: '/lookup?topic=made' },
  { method: 'GET', path: '/lookup?topic=new2' },
  { method: 'POST', path: '/channel/delete?topic=made&channel=nope' },
  { method: 'POST', path: '/channel/delete?topic=made&channel=mc' },
  { method: 'POST', path: '/topic/delete', note: 'no topic' },
  { method: 'POST', path: '/topic/delete?topic=unknown' },
  { method: 'POST', path: '/topic/delete?topic=made' },
  { method: 'POST', path: '/topic/tombstone?topic=live', note: 'no node' },
  { method: 'POST', path: '/topic/tombstone?node=10.0.0.1:4151', note: 'no topic' },
  { method: 'POST', path: '/topic/tombstone?topic=live&node=10.0.0.1:4151' },
  { method: 'GET', path: '/lookup?topic=live', note: 'after tombstone' },
  { method: 'GET', path: '/nodes', note: 'after tombstone' },
  { method: 'POST', path: '/topic/tombstone?topic=live&node=nomatch:1' },
  { method: 'GET', path: '/topics', note: 'at the end' },
  { method: 'GET', path: '/topic/create', note: 'wrong method' },
  { method: 'POST', path: '/lookup', note: 'wrong method' },
  { method: 'HEAD', path: '/ping' },
  { method: 'OPTIONS', path: '/lookup' },
  { method: 'OPTIONS', path: '/nope' },
  { method: 'GET', path: '/lookup/', note: 'trailing slash' },
  { method: 'GET', path: '/nope' },
  { method: 'GET', path: '/lookup?topic=%zz', note: 'bad query' },
  { method: 'GET', path: '/lookup?topic=live&topic=other', note: 'repeated key' },
];

async function httpCall(d: Daemon, r: Req): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${d.httpPort}${r.path}`, { method: r.method, redirect: 'manual' });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.stringify(normalise(JSON.parse(text)));
  } catch {
    // not JSON
  }
  const headers = ['content-type', 'x-nsq-content-type', 'allow', 'location'].map((h) => `${h}=${res.headers.get(h) ?? ''}`).join(' ');
  return `${res.status} ${headers}\n${body}`;
}

const ours = await startDaemon('ours', argvOf(null, 'nsqlookupd'), ['--broadcast-address=127.0.0.1']);
const go = await startDaemon('go', argvOf(values.go, 'nsqlookupd'), ['--broadcast-address=127.0.0.1']);
const tally = new Tally(values.show);
const report = (name: string, a: string, b: string): void => tally.report(name, a, b);
const live: Conn[] = [];
try {
  for (const [name, steps] of tcp) {
    const [a, b] = await Promise.all([conversation(ours, steps), conversation(go, steps)]);
    report(`tcp: ${name}`, a, b);
  }
  // One nsqd-like peer stays connected through the HTTP requests.
  for (const d of [ours, go]) {
    const c = await Conn.open(d.tcpPort);
    c.socket.write(Buffer.concat([MAGIC, identify(IDENT), line('REGISTER live lc'), line('REGISTER live2')]));
    await c.settle(50);
    c.take();
    live.push(c);
  }
  for (const r of http) {
    const [a, b] = await Promise.all([httpCall(ours, r), httpCall(go, r)]);
    report(`http: ${r.method} ${r.path}${r.note !== undefined ? ` (${r.note})` : ''}`, a, b);
  }
} finally {
  for (const c of live) c.socket.destroy();
  for (const d of [ours, go]) await stopDaemon(d);
}
tally.end();
