/**
 * Differential check of nsqadmin against Go's: two identical clusters, A and B, each one of our
 * nsqlookupd and two of our nsqd (registered with it, --broadcast-address=127.0.0.1), are given
 * the same state the same way (topics on one or both nsqds, channels, messages from /pub and
 * /mpub, a paused channel, a paused topic, a consumer over TCP holding in-flight and deferred
 * messages, an ephemeral channel with a consumer, a producer tombstoned in nsqlookupd, topics
 * known to nsqlookupd only). The nsqadmin under test (--go) watches cluster A and ours watches
 * cluster B; both get the same sequence of requests: the JSON API reads, the admin actions
 * (each followed by reads of what it changed), wrong methods, unknown paths, /config. Answers
 * are compared by status, headers (Content-Type, X-NSQ-Content-Type, Allow, Location,
 * Content-Encoding) and body, after the body was normalised: every port of a cluster becomes the
 * name of what listens on it (so `127.0.0.1:<A's nsqd1 HTTP port>` and `127.0.0.1:<B's nsqd1
 * HTTP port>` both read `<nsqd1.http>`), times are masked, and lists Go builds in goroutine or
 * map order are sorted. Only the JSON API, /ping and /config are compared: the Go binary's web
 * UI is a placeholder, so HTML pages and static assets are not requested (but in the basepath
 * mode, which compares only their status and headers).
 *
 * Each mode starts fresh clusters: `lookupd` (nsqadmins started with --lookupd-http-address),
 * `nsqd` (with --nsqd-http-address for both nsqds; same requests), `acl` (lookupd, plus
 * --admin-user=alice; a shorter list of actions with and without the user header), `notify` and
 * `basepath` (below); --mode=all (the default) runs the five.
 *
 * `notify`: each nsqadmin has --notification-http-endpoint pointing at a small HTTP server of its
 * own side that records every request it gets (method, path, Content-Type, User-Agent, body).
 * The admin actions of the lookupd mode are run with no user, with X-Forwarded-User and with a
 * Basic Authorization header (the user a notification names comes from the latter only, spec
 * §2.6), then failing actions, other URL forms and headers; a second nsqadmin per side, with
 * --acl-http-header=X-Remote-User --admin-user=alice, takes a few more. Every request names the
 * number of notifications spec §2.6 says it causes: after the answers are compared, the harness
 * waits until that many arrived on each side (at most 5 s), then --settle more so that extra or
 * late ones are caught too, and compares what each side's server got (`-> notifications`):
 * `timestamp` is masked when plausible (within a day of now), ports are named as in the answers
 * (the url's `127.0.0.1:<nsqadmin port>` reads `<nsqadmin.http>`), `remote_ip` is kept but for
 * its ephemeral port, and the notifications of one request are sorted, as Go sends each from a
 * goroutine of its own (create_channel may come before create_topic). Bodies are compared as
 * sent (field order and JSON escapes included), not re-serialised. A count other than the
 * expected one is printed as a note under the verdict.
 *
 * `basepath`: one nsqadmin per side with --base-path=/admin and a second with --base-path=/admin/
 * (Go cleans both to /admin, spec §2.1) take the same list: the read API, /ping and /config under
 * the prefix, the same without it (404s), the /admin vs /admin/ redirects and other redirected
 * forms, and one action. The UI routes answer the Go binary's placeholder page, so the body of
 * a 200 text/html answer is not compared (its status and headers are); redirect bodies are, as
 * in the other modes.
 *
 *   npm run compile
 *   node --import tsx test/go-diff/admin.ts --go=/path/to/go/nsqadmin [--show] [--mode=lookupd|nsqd|acl|notify|basepath|all] [--settle=MS]
 *
 * --go may also come from env GO_NSQADMIN. Passing --go=dist/apps/nsqadmin.js (ours on both
 * sides) checks the harness itself: that must give 0 differ. --show prints both answers of every
 * request; --settle is how long to wait after each action before the next request (default 500
 * ms), as nsqd re-registers with nsqlookupd asynchronously.
 *
 * Prints a verdict per request (with a line diff when the answers are not identical) and, at
 * the end, `N same, ..., M differ`. Three kinds of answers are counted apart instead of as
 * differences, and their diffs are still printed: an answer of the Go nsqadmin that equals ours
 * once its pre-1.3.0 error wording is updated (V13_WORDING); a topic view summed over several
 * nsqds that equals ours but for the channels Go sums in place (withoutSummedChannels, spec
 * §2.4); and the answers a request marked `known` names a pre-1.3.0 bug for (a tombstone
 * without the admin check, nsqio/nsq#1390; the spec lists the action as admin-only). Exits 1
 * when any other answer differs. Not part of `npm test` (CI has no Go nsqadmin).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../helpers/proc.js';
import { sized, WireConn } from '../helpers/wire.js';
import { argvOf, sleep, startDaemon, stopDaemon, waitUntil, type Daemon } from './common.js';

const { values } = parseArgs({
  options: {
    go: { type: 'string', default: process.env.GO_NSQADMIN ?? '' },
    show: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'all' },
    settle: { type: 'string', default: '500' },
  },
});
const MODES = ['lookupd', 'nsqd', 'acl', 'notify', 'basepath'] as const;
type Mode = (typeof MODES)[number];
const isMode = (m: string): m is Mode => (MODES as readonly string[]).includes(m);
if (values.go === '' || (values.mode !== 'all' && !isMode(values.mode!))) {
  process.stderr.write('usage: node --import tsx test/go-diff/admin.ts --go=/path/to/go/nsqadmin [--show] [--mode=lookupd|nsqd|acl|notify|basepath|all] [--settle=MS]\n');
  process.exit(2);
}
const SETTLE_MS = Number(values.settle);

// ---------------------------------------------------------------------------------------------
// The clusters

/** Everything of one side: its daemons, the consumers it keeps connected, and its ports by name. */
interface Cluster {
  side: string;
  lookupd: Daemon;
  nsqd1: Daemon;
  nsqd2: Daemon;
  admin: Daemon;
  /** The second nsqadmin of the notify and basepath modes (see startCluster), else null. */
  admin2: Daemon | null;
  /** The notify mode's notification receiver, else null. */
  sink: Sink | null;
  conns: WireConn[];
  /** Port number -> the name it is shown as, e.g. `nsqd1.http`. */
  ports: Map<number, string>;
}

/** One request a notification receiver got. */
interface Notification {
  method: string;
  path: string;
  contentType: string;
  userAgent: string;
  body: string;
}

/** An HTTP server on a loopback port that answers 200 to everything and records what it got. */
interface Sink {
  server: Server;
  port: number;
  got: Notification[];
}

const daemons: Daemon[] = [];
const dirs: string[] = [];
const sinks: Sink[] = [];

async function startSink(): Promise<Sink> {
  const got: Notification[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      got.push({
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '<none>',
        userAgent: req.headers['user-agent'] ?? '<none>',
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const sink: Sink = { server, port: (server.address() as AddressInfo).port, got };
  sinks.push(sink);
  return sink;
}

async function stopSinks(): Promise<void> {
  for (const s of sinks.splice(0)) {
    s.server.closeAllConnections();
    await new Promise<void>((r) => s.server.close(() => r()));
  }
}

/** Starts an nsqadmin (which has no TCP port, so not through startDaemon) and waits for /ping. */
async function startAdmin(name: string, argv: string[], flags: string[]): Promise<Daemon> {
  const httpPort = await freePort();
  const child = spawn(argv[0]!, [...argv.slice(1), `--http-address=127.0.0.1:${httpPort}`, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  const d: Daemon = { name, child, tcpPort: 0, httpPort, log: '' };
  daemons.push(d);
  child.stdout!.on('data', (b: Buffer) => (d.log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (d.log += b.toString()));
  // /ping is under --base-path (given here as /admin or /admin/ only).
  const base = (flags.find((f) => f.startsWith('--base-path='))?.slice('--base-path='.length) ?? '').replace(/\/+$/, '');
  const up = await waitUntil(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${httpPort}${base}/ping`)).status === 200;
    } catch {
      return child.exitCode !== null;
    }
  }, 10_000);
  if (!up || child.exitCode !== null) throw new Error(`${name} did not start:\n${d.log}`);
  return d;
}

async function startCluster(side: string, adminPath: string | null, mode: Mode): Promise<Cluster> {
  // A long tombstone lifetime: the 45 s default could run out during a slow run.
  const lookupd = await startDaemon(`${side} nsqlookupd`, argvOf(null, 'nsqlookupd'), ['--broadcast-address=127.0.0.1', '--tombstone-lifetime=1h']);
  daemons.push(lookupd);
  const nsqd = async (n: number): Promise<Daemon> => {
    const dir = mkdtempSync(join(tmpdir(), 'go-admin-'));
    dirs.push(dir);
    const d = await startDaemon(`${side} nsqd${n}`, argvOf(null, 'nsqd'), [`--data-path=${dir}`, `--lookupd-tcp-address=127.0.0.1:${lookupd.tcpPort}`, '--broadcast-address=127.0.0.1']);
    daemons.push(d);
    return d;
  };
  const nsqd1 = await nsqd(1);
  const nsqd2 = await nsqd(2);
  const upstream = mode === 'nsqd' ? [`--nsqd-http-address=127.0.0.1:${nsqd1.httpPort}`, `--nsqd-http-address=127.0.0.1:${nsqd2.httpPort}`] : [`--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`];
  if (mode === 'acl') upstream.push('--admin-user=alice');
  // notify: both nsqadmins POST to this side's receiver; the second one reads the user of its
  // admin check from another header. basepath: the same prefix written with and without '/'.
  let sink: Sink | null = null;
  let flags2: string[] | null = null;
  if (mode === 'notify') {
    sink = await startSink();
    upstream.push(`--notification-http-endpoint=http://127.0.0.1:${sink.port}/notify`);
    flags2 = [...upstream, '--acl-http-header=X-Remote-User', '--admin-user=alice'];
  }
  if (mode === 'basepath') {
    flags2 = [...upstream, '--base-path=/admin/'];
    upstream.push('--base-path=/admin');
  }
  const admin = await startAdmin(`${side} nsqadmin`, argvOf(adminPath, 'nsqadmin'), upstream);
  const admin2 = flags2 === null ? null : await startAdmin(`${side} nsqadmin2`, argvOf(adminPath, 'nsqadmin'), flags2);
  const ports = new Map<number, string>([
    [lookupd.tcpPort, 'lookupd.tcp'],
    [lookupd.httpPort, 'lookupd.http'],
    [nsqd1.tcpPort, 'nsqd1.tcp'],
    [nsqd1.httpPort, 'nsqd1.http'],
    [nsqd2.tcpPort, 'nsqd2.tcp'],
    [nsqd2.httpPort, 'nsqd2.http'],
    [admin.httpPort, 'nsqadmin.http'],
  ]);
  if (admin2 !== null) ports.set(admin2.httpPort, 'nsqadmin2.http');
  if (sink !== null) ports.set(sink.port, 'sink.http');
  return { side, lookupd, nsqd1, nsqd2, admin, admin2, sink, conns: [], ports };
}

/** `{nsqd1.http}` and the like in a request's path or body -> `127.0.0.1:<that port of cluster c>`. */
function fill(c: Cluster, s: string): string {
  return s.replace(/\{([a-z0-9]+\.(?:tcp|http))\}/g, (m, name: string) => {
    for (const [port, n] of c.ports) if (n === name) return `127.0.0.1:${port}`;
    return m;
  });
}

async function post(port: number, path: string, body?: string | Buffer): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', ...(body !== undefined ? { body: typeof body === 'string' ? body : new Uint8Array(body) } : {}) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`POST :${port}${path} answered ${r.status} ${text}`);
}

async function getJson(port: number, path: string): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : {};
}

/** A binary /mpub body: [int32 count] then [int32 size][bytes] per message. */
function binaryMpub(bodies: string[]): Buffer {
  const count = Buffer.alloc(4);
  count.writeInt32BE(bodies.length, 0);
  return Buffer.concat([count, ...bodies.map((b) => sized(b))]);
}

/**
 * Fixed IDENTIFY values, so client_id, hostname and user_agent are the same on both sides, and
 * the longest message timeout, so the in-flight message does not time out during the run.
 */
const IDENTIFY = { client_id: 'admin-diff', hostname: 'admin-diff.example', user_agent: 'go-diff-admin/1.0', feature_negotiation: true, msg_timeout: 900_000 };

/** Reads (and drops) what arrives on a consumer connection from now on, answering heartbeats. */
function keepAlive(conn: WireConn): void {
  void (async () => {
    while (!conn.closed) {
      try {
        await conn.readFrame(3_600_000);
      } catch {
        return;
      }
    }
  })();
}

/** The producers nsqlookupd lists, each with its HTTP port and topics. */
async function lookupdNodes(c: Cluster): Promise<{ http_port: number; topics: string[] }[]> {
  return ((await getJson(c.lookupd.httpPort, '/nodes')).producers ?? []) as { http_port: number; topics: string[] }[];
}

/** The channels nsqlookupd knows for a topic. */
async function lookupdChannels(c: Cluster, topic: string): Promise<string[]> {
  return ((await getJson(c.lookupd.httpPort, `/channels?topic=${encodeURIComponent(topic)}`)).channels ?? []) as string[];
}

const hasAll = (list: string[], want: string[]): boolean => want.every((w) => list.includes(w));

/** Whether nsqlookupd has heard everything the nsqds were given. */
async function registered(c: Cluster): Promise<boolean> {
  const nodes = await lookupdNodes(c);
  const topicsOf = (d: Daemon): string[] => nodes.find((n) => n.http_port === d.httpPort)?.topics ?? [];
  return hasAll(topicsOf(c.nsqd1), ['alpha', 'beta', 'paused_t']) && hasAll(topicsOf(c.nsqd2), ['alpha', 'beta', 'gamma'])
    && hasAll(await lookupdChannels(c, 'alpha'), ['busy', 'idle', 'solo']) && hasAll(await lookupdChannels(c, 'beta'), ['b1'])
    && hasAll(await lookupdChannels(c, 'gamma'), ['g1', 'eph#ephemeral']) && hasAll(await lookupdChannels(c, 'paused_t'), ['pc']);
}

/**
 * Gives cluster c the state every request sequence starts from; both clusters get it the same
 * way. An nsqd that creates a topic also creates the channels nsqlookupd knows for it, at a time
 * of its own: every channel a topic should have on an nsqd is therefore created explicitly (a
 * second create changes nothing), and a topic is only created on the second nsqd once
 * nsqlookupd knows all of its channels, so no channel appears on an nsqd by a race.
 */
async function buildState(c: Cluster): Promise<void> {
  const n1 = c.nsqd1.httpPort;
  const n2 = c.nsqd2.httpPort;
  if (!(await waitUntil(async () => (await lookupdNodes(c)).length === 2, 10_000))) throw new Error(`${c.side}: the nsqds did not connect to nsqlookupd`);
  const knows = async (topic: string, channels: string[]): Promise<void> => {
    if (!(await waitUntil(async () => hasAll(await lookupdChannels(c, topic), channels), 10_000))) throw new Error(`${c.side}: nsqlookupd did not learn ${topic}'s channels`);
  };
  // alpha: on both nsqds; channels busy and idle on both (summed in the topic's view), solo on nsqd2 only.
  await post(n1, '/topic/create?topic=alpha');
  await post(n1, '/channel/create?topic=alpha&channel=busy');
  await post(n1, '/channel/create?topic=alpha&channel=idle');
  for (let i = 0; i < 3; i++) await post(n1, '/pub?topic=alpha', `alpha ${i}`);
  await post(n1, '/mpub?topic=alpha', 'alpha 3\nalpha 4\nalpha 5');
  await knows('alpha', ['busy', 'idle']);
  await post(n2, '/topic/create?topic=alpha');
  await post(n2, '/channel/create?topic=alpha&channel=busy');
  await post(n2, '/channel/create?topic=alpha&channel=idle');
  await post(n2, '/channel/create?topic=alpha&channel=solo');
  await post(n2, '/mpub?topic=alpha&binary=true', binaryMpub(['alpha 6', 'alpha 7']));
  // beta: on both nsqds with channel b1; nsqd2's producer is tombstoned in nsqlookupd below.
  await post(n1, '/topic/create?topic=beta');
  await post(n1, '/channel/create?topic=beta&channel=b1');
  await post(n1, '/pub?topic=beta', 'beta 0');
  await knows('beta', ['b1']);
  await post(n2, '/topic/create?topic=beta');
  await post(n2, '/channel/create?topic=beta&channel=b1');
  await post(n2, '/pub?topic=beta', 'beta 1');
  // gamma: on nsqd2 only, channel g1 paused, and an ephemeral channel with a consumer.
  await post(n2, '/topic/create?topic=gamma');
  await post(n2, '/channel/create?topic=gamma&channel=g1');
  await post(n2, '/channel/pause?topic=gamma&channel=g1');
  for (let i = 0; i < 4; i++) await post(n2, '/pub?topic=gamma', `gamma ${i}`);
  // paused_t: on nsqd1 only, paused.
  await post(n1, '/topic/create?topic=paused_t');
  await post(n1, '/channel/create?topic=paused_t&channel=pc');
  await post(n1, '/topic/pause?topic=paused_t');
  for (let i = 0; i < 2; i++) await post(n1, '/pub?topic=paused_t', `paused ${i}`);

  // A consumer of alpha/busy on nsqd1 with RDY 1: FINs one message, defers one (REQ with a delay
  // longer than the run), and keeps the third in flight.
  const busy = await WireConn.open(c.nsqd1.tcpPort);
  c.conns.push(busy);
  await busy.identify(IDENTIFY);
  await busy.sub('alpha', 'busy');
  busy.cmd('RDY 1');
  const m1 = await busy.readMessage();
  busy.cmd(`FIN ${m1.id}`);
  const m2 = await busy.readMessage();
  busy.cmd(`REQ ${m2.id} 600000`);
  await busy.readMessage();
  keepAlive(busy);
  // A consumer of gamma/eph#ephemeral on nsqd2 (RDY 0): the ephemeral channel lives while it does.
  const eph = await WireConn.open(c.nsqd2.tcpPort);
  c.conns.push(eph);
  await eph.identify(IDENTIFY);
  await eph.sub('gamma', 'eph#ephemeral');
  keepAlive(eph);

  if (!(await waitUntil(() => registered(c), 10_000))) throw new Error(`${c.side}: the nsqds did not register everything with nsqlookupd`);
  // nsqlookupd-only state: nsqd2's beta tombstoned, and topics that no nsqd has (ghost with a channel).
  await post(c.lookupd.httpPort, `/topic/tombstone?topic=beta&node=127.0.0.1:${n2}`);
  await post(c.lookupd.httpPort, '/topic/create?topic=ghost');
  await post(c.lookupd.httpPort, '/channel/create?topic=ghost&channel=gc');
  await post(c.lookupd.httpPort, '/topic/create?topic=ghost2');
  await sleep(SETTLE_MS);
}

// ---------------------------------------------------------------------------------------------
// The requests

interface Req {
  method: string;
  /** May hold `{nsqd1.http}` and the like (see fill). */
  path: string;
  body?: string;
  headers?: Record<string, string>;
  note?: string;
  /** Why the answer of a pre-1.3.0 Go nsqadmin is known to differ (printed with its diff, counted apart). */
  known?: string;
  /** Sent to the second nsqadmin of the mode (see startCluster) instead of the first. */
  to?: 'admin2';
  /** notify mode: how many notifications the request causes (spec §2.6); 0 when unset. */
  expect?: number;
}
const G = (path: string, note?: string): Req => ({ method: 'GET', path, ...(note !== undefined ? { note } : {}) });
const P = (path: string, body: string, note?: string): Req => ({ method: 'POST', path, body, ...(note !== undefined ? { note } : {}) });
const D = (path: string, body?: string, note?: string): Req => ({ method: 'DELETE', path, ...(body !== undefined ? { body } : {}), ...(note !== undefined ? { note } : {}) });
const PUT = (path: string, body: string, note?: string): Req => ({ method: 'PUT', path, body, ...(note !== undefined ? { note } : {}) });
/** The same request with headers added. */
const H = (r: Req, headers: Record<string, string>): Req => ({ ...r, headers });

const REQUESTS: Req[] = [
  // Reads of the initial state.
  G('/ping'),
  G('/api/topics'),
  G('/api/topics?inactive=true'),
  G('/api/topics/alpha', 'on both nsqds, channel busy on both'),
  G('/api/topics/beta', "nsqd2's producer tombstoned"),
  G('/api/topics/gamma', 'paused and ephemeral channels'),
  G('/api/topics/paused_t', 'paused topic'),
  G('/api/topics/ghost', 'known to nsqlookupd only'),
  G('/api/topics/nope', 'unknown topic'),
  G('/api/topics/alpha/busy', 'clients, in flight, deferred'),
  G('/api/topics/alpha/idle'),
  G('/api/topics/gamma/g1', 'paused channel'),
  G('/api/topics/gamma/eph%23ephemeral'),
  G('/api/topics/alpha/nope', 'unknown channel'),
  G('/api/topics/nope/c', 'unknown topic'),
  G('/api/nodes'),
  G('/api/nodes/{nsqd1.http}'),
  G('/api/nodes/{nsqd2.http}'),
  G('/api/nodes/127.0.0.1:1', 'unknown node'),
  G('/api/counter'),
  G('/api/graphite', 'no metric'),
  G('/api/graphite?metric=rate', 'no target'),
  G('/api/graphite?metric=foo&target=x', 'wrong metric'),
  G('/api/graphite?metric=rate&target=x', 'no graphite configured'),
  G('/config/nsqlookupd_http_addresses'),
  G('/config/nsqd_http_addresses'),
  G('/config/http_address'),
  G('/config/log_level'),
  G('/config/statsd_interval'),
  G('/config/admin_users'),
  G('/config/graphite_url', 'empty string'),
  G('/config/nope', 'unknown option'),

  // Creating topics and channels.
  P('/api/topics', '{"topic":"made","channel":"mc"}', 'topic no nsqd has, with a channel'),
  G('/api/topics'),
  G('/api/topics?inactive=true'),
  G('/api/topics/made'),
  P('/api/topics', '{"topic":"alpha","channel":"fresh"}', 'new channel of a topic on both nsqds'),
  G('/api/topics/alpha'),
  G('/api/topics/alpha/fresh'),
  P('/api/topics', '{"topic":"made2"}', 'no channel'),
  G('/api/topics?inactive=true'),
  P('/api/topics', '{x', 'bad JSON'),
  P('/api/topics', '', 'empty body'),
  P('/api/topics', '{}', 'no topic'),
  P('/api/topics', '{"topic":"bad!"}', 'invalid topic'),
  P('/api/topics', '{"topic":"ok","channel":"bad!"}', 'invalid channel'),
  P('/api/topics', '{"topic":1}', 'topic not a string'),
  P('/api/topics', '[]', 'array body'),
  P('/api/topics', 'null', 'null body'),
  P('/api/topics', '{"topic":"made3"', 'unexpected EOF'),
  P('/api/topics', '{"topic":"made3","channel":1}', 'channel not a string'),
  P('/api/topics', '{"TOPIC":"made3","Channel":"mc3"}', 'keys in other case'),
  P('/api/topics', '{"topic":"made4"} trailing', 'bytes after the JSON value'),
  P('/api/topics', '{"topic":"made5","extra":[1,{"x":null}]}', 'unknown field'),
  P('/api/topics', '{"topic":"e#ephemeral","channel":"c#ephemeral"}', 'ephemeral names'),
  P('/api/topics', '{"topic":"caf\u00e9"}', 'non-ASCII topic'),
  P('/api/topics', `{"topic":"${'x'.repeat(65)}"}`, 'topic too long'),
  G('/api/topics?inactive=true'),

  // Topic actions.
  P('/api/topics/alpha', '{"action":"pause"}'),
  G('/api/topics/alpha'),
  G('/api/topics/alpha/busy'),
  P('/api/topics/alpha', '{"action":"unpause"}'),
  G('/api/topics/alpha'),
  P('/api/topics/beta', '{"action":"empty"}'),
  G('/api/topics/beta'),
  P('/api/topics/paused_t', '{"action":"unpause"}'),
  G('/api/topics/paused_t'),
  P('/api/topics/alpha', '{"action":"bogus"}'),
  P('/api/topics/alpha', '{x', 'bad JSON'),
  P('/api/topics/alpha', '', 'empty body'),
  P('/api/topics/alpha', '{}', 'no action'),
  P('/api/topics/alpha', '{"action":"PAUSE"}', 'upper case'),
  P('/api/topics/alpha', '{"action":["pause"]}', 'action not a string'),
  P('/api/topics/alpha', '{"Action":"unpause"} x', 'key in other case, bytes after the value'),
  G('/api/topics/alpha'),
  P('/api/topics/nope', '{"action":"pause"}', 'unknown topic'),
  P('/api/topics/ghost', '{"action":"pause"}', 'topic without producers'),

  // Channel actions.
  P('/api/topics/alpha/busy', '{"action":"pause"}'),
  G('/api/topics/alpha/busy'),
  G('/api/topics/alpha'),
  P('/api/topics/alpha/busy', '{"action":"unpause"}'),
  G('/api/topics/alpha/busy'),
  P('/api/topics/gamma/g1', '{"action":"unpause"}'),
  G('/api/topics/gamma/g1'),
  P('/api/topics/alpha/busy', '{"action":"empty"}'),
  G('/api/topics/alpha/busy'),
  G('/api/nodes/{nsqd1.http}'),
  P('/api/topics/alpha/busy', '{"action":"bogus"}'),
  P('/api/topics/alpha/nope', '{"action":"pause"}', 'unknown channel'),

  // Deleting channels and topics.
  D('/api/topics/alpha/idle'),
  G('/api/topics/alpha'),
  G('/api/topics/alpha/idle'),
  G('/api/counter'),
  D('/api/topics/alpha/nope', undefined, 'unknown channel'),
  D('/api/topics/paused_t'),
  G('/api/topics'),
  G('/api/nodes'),
  D('/api/topics/nope', undefined, 'unknown topic'),
  D('/api/topics/ghost2', undefined, 'topic known to nsqlookupd only'),
  G('/api/topics?inactive=true'),

  // Tombstoning a topic's producer.
  D('/api/nodes/{nsqd2.http}', '{"topic":"gamma"}'),
  G('/api/nodes'),
  G('/api/topics/gamma'),
  G('/api/topics'),
  D('/api/nodes/{nsqd1.http}', '{x', 'bad JSON'),
  D('/api/nodes/{nsqd1.http}', '{"topic":"bad!"}', 'invalid topic'),
  D('/api/nodes/{nsqd1.http}', '', 'empty body'),
  D('/api/nodes/127.0.0.1:1', '{"topic":"alpha"}', 'unknown node'),
  D('/api/nodes/{nsqd1.http}', '{"topic":1}', 'topic not a string'),
  D('/api/nodes/{nsqd1.http}', '{"Topic":"nope"}', 'topic the node does not have'),
  G('/api/nodes'),

  // Wrong methods and unknown paths.
  { method: 'PUT', path: '/api/topics', body: '{}' },
  { method: 'DELETE', path: '/api/topics' },
  { method: 'POST', path: '/api/nodes', body: '{}' },
  { method: 'POST', path: '/api/counter', body: '' },
  { method: 'PATCH', path: '/api/topics/alpha', body: '{}' },
  { method: 'POST', path: '/ping', body: '' },
  { method: 'DELETE', path: '/config/log_level' },
  { method: 'HEAD', path: '/ping' },
  G('/api/nope'),
  G('/api/topics/a/b/c'),
  G('/nope'),
  G('/api/topics/', 'trailing slash'),
  G('/api/topics?inactive=%zz', 'bad query'),
  G('/api/topics/bad!', 'invalid topic name'),
  G('/api/nodes/[::1]:4151', 'IPv6 node'),
  G('/config/', 'no option'),
  G('//api/topics', 'double slash'),
  G('/API/Topics', 'other case'),
  G('/api/topics/al%70ha', 'escaped letter'),
  G('/api/topics/alpha%2Fbusy', 'escaped slash'),
  { method: 'OPTIONS', path: '/api/topics' },
  { method: 'OPTIONS', path: '/nope' },
  { method: 'HEAD', path: '/api/topics' },
  H(G('/api/topics', 'deflate'), { 'Accept-Encoding': 'deflate' }),
  H(G('/api/topics', 'identity'), { 'Accept-Encoding': 'identity' }),
  H(G('/api/topics', 'br only'), { 'Accept-Encoding': 'br' }),
  H(G('/api/nodes', 'gzip;q=0, deflate'), { 'Accept-Encoding': 'gzip;q=0, deflate' }),
  H(G('/ping', 'gzip'), { 'Accept-Encoding': 'gzip' }),

  // Runtime config.
  PUT('/config/log_level', 'debug'),
  G('/config/log_level'),
  PUT('/config/log_level', 'bogus', 'invalid level'),
  PUT('/config/log_level', '', 'empty body'),
  PUT('/config/log_level', 'warn'),
  G('/config/log_level'),
  PUT('/config/log_level', 'ERROR', 'upper case'),
  G('/config/log_level'),
  PUT('/config/log_level', 'info\n', 'trailing newline'),
  G('/config/log_level'),
  PUT('/config/statsd_interval', '1s', 'not settable'),
  PUT('/config/log_level', 'd'.repeat(1024 * 1024 + 1), 'body over 1 MiB'),
  PUT('/config/log_level', `${' '.repeat(1024 * 1024 - 5)}debug`, 'body of exactly 1 MiB'),
  PUT('/config/nope', 'x', 'unknown option'),
  PUT('/config/nsqlookupd_http_addresses', '{x', 'bad JSON'),
  PUT('/config/nsqlookupd_http_addresses', '"{lookupd.http}"', 'not a list'),
  PUT('/config/nsqlookupd_http_addresses', 'null'),
  G('/config/nsqlookupd_http_addresses'),
  G('/api/topics', 'no nsqlookupd'),
  PUT('/config/nsqlookupd_http_addresses', '[]'),
  G('/config/nsqlookupd_http_addresses'),
  PUT('/config/nsqlookupd_http_addresses', '["{lookupd.http}", "127.0.0.1:1"]', 'one nsqlookupd down'),
  G('/api/topics'),
  G('/api/nodes'),
  G('/api/topics/alpha/busy'),
  PUT('/config/nsqlookupd_http_addresses', '["{lookupd.http}"]'),
  G('/config/nsqlookupd_http_addresses'),
  G('/api/topics', 'after setting the nsqlookupd list'),
];

/**
 * With --admin-user=alice: the admin actions need X-Forwarded-User: alice; reads and /config
 * do not.
 */
const ALICE = { 'X-Forwarded-User': 'alice' };
/** nsqio/nsq#1390: the tombstone endpoint lacked the admin check until after the 1.2.x snapshot; 1.3.0 has it (spec §2.5). */
const NO_TOMBSTONE_ACL = "Go before 1.3.0 does not check the admin user on DELETE /api/nodes/:node (nsqio/nsq#1390)";
const K = (r: Req, known: string): Req => ({ ...r, known });
const ACL_REQUESTS: Req[] = [
  G('/api/topics'),
  P('/api/topics', '{"topic":"made"}', 'no user'),
  H(P('/api/topics', '{"topic":"made"}', 'user bob'), { 'X-Forwarded-User': 'bob' }),
  H(P('/api/topics', '{"topic":"made"}', 'user alice'), ALICE),
  H(P('/api/topics', '{"topic":"made2"}', 'header name in lower case'), { 'x-forwarded-user': 'alice' }),
  G('/api/topics?inactive=true'),
  P('/api/topics', '{x', 'no user, bad JSON'),
  P('/api/topics/alpha', '{"action":"pause"}', 'no user'),
  P('/api/topics/alpha', '{"action":"bogus"}', 'no user, bad action'),
  H(P('/api/topics/alpha', '{"action":"pause"}', 'user alice'), ALICE),
  G('/api/topics/alpha/idle'),
  H(P('/api/topics/alpha', '{"action":"unpause"}', 'user alice'), ALICE),
  P('/api/topics/alpha/idle', '{"action":"pause"}', 'no user'),
  D('/api/topics/alpha/idle', undefined, 'no user'),
  D('/api/topics/paused_t', undefined, 'no user'),
  G('/api/topics'),
  K(D('/api/nodes/{nsqd2.http}', '{"topic":"gamma"}', 'no user'), NO_TOMBSTONE_ACL),
  K(D('/api/nodes/{nsqd2.http}', '{x', 'no user, bad JSON'), NO_TOMBSTONE_ACL),
  K(G('/api/nodes'), `${NO_TOMBSTONE_ACL}, so Go's nsqd2 lost gamma`),
  H(D('/api/nodes/{nsqd1.http}', '{"topic":"paused_t"}', 'user alice'), ALICE),
  K(G('/api/nodes'), `${NO_TOMBSTONE_ACL}, so Go's nsqd2 lost gamma`),
  H(D('/api/topics/alpha/idle', undefined, 'user alice'), ALICE),
  G('/api/topics/alpha/idle'),
  PUT('/config/log_level', 'debug', 'no user'),
  G('/config/admin_users'),
  G('/config/acl_http_header'),
];

/** A Basic Authorization header for `user:password` (the bytes as given, base64-encoded). */
const basic = (credentials: string | Buffer, scheme = 'Basic'): Record<string, string> => ({ Authorization: `${scheme} ${Buffer.from(credentials).toString('base64')}` });
/** The ways the notify mode runs each admin action: nsqadmin's notification names a user from Basic auth only. */
const USERS: [string, Record<string, string>][] = [
  ['no user', {}],
  ['X-Forwarded-User alice', { 'X-Forwarded-User': 'alice' }],
  ['basic-auth bob', basic('bob:secret')],
];
/** The request expecting n notifications. */
const N = (r: Req, n: number): Req => ({ ...r, expect: n });
/** An action once per way of USERS; make(i) may pick a different target per way. */
const byUser = (make: (i: number) => Req, n: number): Req[] =>
  USERS.map(([label, headers], i) => {
    const r = make(i);
    return { ...r, headers: { ...r.headers, ...headers }, note: r.note === undefined ? label : `${r.note}, ${label}`, expect: n };
  });
/** The request to the notify mode's second nsqadmin (--acl-http-header=X-Remote-User --admin-user=alice). */
const A2 = (r: Req): Req => ({ ...r, to: 'admin2', note: r.note === undefined ? 'acl header X-Remote-User' : `${r.note}; acl header X-Remote-User` });
const REMOTE_ALICE = { 'X-Remote-User': 'alice' };
const PAUSE = '{"action":"pause"}';
const UNPAUSE = '{"action":"unpause"}';

const NOTIFY_REQUESTS: Req[] = [
  N(G('/api/topics', 'a read'), 0),
  N(G('/config/notification_http_endpoint'), 0),

  // The lookupd mode's actions, each with no user, X-Forwarded-User and Basic auth.
  ...byUser((i) => P('/api/topics', `{"topic":"n${i}","channel":"c${i}"}`, 'topic and channel'), 2),
  ...byUser((i) => P('/api/topics', `{"topic":"m${i}"}`, 'topic only'), 1),
  ...byUser(() => P('/api/topics', '{"topic":"alpha","channel":"fresh"}', 'channel of a topic on both nsqds'), 2),
  ...byUser(() => P('/api/topics/alpha', PAUSE), 1),
  ...byUser(() => P('/api/topics/alpha', UNPAUSE), 1),
  ...byUser(() => P('/api/topics/beta', '{"action":"empty"}'), 1),
  ...byUser(() => P('/api/topics/alpha/busy', PAUSE), 1),
  ...byUser(() => P('/api/topics/alpha/busy', UNPAUSE), 1),
  ...byUser(() => P('/api/topics/alpha/busy', '{"action":"empty"}'), 1),
  ...byUser((i) => D(`/api/topics/alpha/${['idle', 'solo', 'fresh'][i]!}`), 1),
  ...byUser((i) => D(`/api/topics/${['paused_t', 'ghost2', 'n2'][i]!}`), 1),
  ...byUser((i) => D(`/api/nodes/${['{nsqd2.http}', '{nsqd1.http}', '{nsqd2.http}'][i]!}`, `{"topic":"${['gamma', 'beta', 'beta'][i]!}"}`), 1),
  G('/api/nodes'),

  // When one is sent: not for a request refused before the action; for a topic/channel action
  // even when it failed (502), but not for a failed create, delete or tombstone.
  N(P('/api/topics/alpha', '{"action":"bogus"}', 'bad action'), 0),
  N(P('/api/topics/alpha', '{x', 'bad JSON'), 0),
  N(P('/api/topics', '{"topic":"bad!"}', 'invalid topic'), 0),
  N(P('/api/topics', '{"topic":"ok","channel":"bad!"}', 'invalid channel'), 0),
  N(P('/api/topics/nope', PAUSE, 'unknown topic: 502'), 1),
  N(P('/api/topics/nope/c', '{"action":"empty"}', 'unknown topic: 502'), 1),
  N(P('/api/topics/ghost', PAUSE, 'topic without producers'), 1),
  N(P('/api/topics/alpha/nope', UNPAUSE, 'unknown channel'), 1),
  N(D('/api/topics/nope', undefined, 'unknown topic: 502'), 0),
  N(D('/api/topics/alpha/nope', undefined, 'unknown channel'), 1),
  N(D('/api/nodes/127.0.0.1:1', '{"topic":"alpha"}', 'unknown node: 502'), 0),
  N(D('/api/nodes/{nsqd1.http}', '{x', 'bad JSON'), 0),
  N(D('/api/nodes/{nsqd1.http}', '{"topic":"bad!"}', 'invalid topic'), 0),
  N(PUT('/config/log_level', 'debug', 'not an admin action'), 0),
  N(PUT('/config/log_level', 'info'), 0),
  N({ method: 'POST', path: '//api/topics/alpha', body: PAUSE, note: 'redirected, not run' }, 0),

  // The url field: the Host header, the decoded path re-escaped, the query as sent; X-Scheme.
  N(P('/api/topics/alpha?foo=bar&x=%20y+z', PAUSE, 'query string'), 1),
  N(P('/api/topics/alpha?', UNPAUSE, 'empty query'), 1),
  N(P('/api/topics/al%70ha', PAUSE, 'escaped letter in the path'), 1),
  N(P('/api/topics/alpha/bu%73y', UNPAUSE, 'escaped letter in the channel'), 1),
  N(P('/api/topics/alpha%2Fbusy', PAUSE, 'escaped slash'), 1),
  N(P('/api/topics/gamma/eph%23ephemeral', PAUSE, 'ephemeral channel'), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'X-Scheme: https'), { 'X-Scheme': 'https' }), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'X-Scheme: HTTPS'), { 'X-Scheme': 'HTTPS' }), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'User-Agent'), { 'User-Agent': 'tester/1.0 <&>' }), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'empty User-Agent'), { 'User-Agent': '' }), 1),
  // Header values go out byte for byte (a char per byte): UTF-8 of "café", then a byte that is not UTF-8.
  N(H(P('/api/topics/alpha', UNPAUSE, 'User-Agent in UTF-8'), { 'User-Agent': 'caf\u00c3\u00a9/1.0' }), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'User-Agent not UTF-8'), { 'User-Agent': 'x\u00ff/1.0' }), 1),
  N(P('/api/topics/bad!/c', PAUSE, 'invalid topic name in the path: 502'), 1),

  // What `user` holds: the part before the first ':' of a well-formed Basic header, else nothing.
  N(H(P('/api/topics/alpha', UNPAUSE, 'basic-auth bob and X-Forwarded-User alice'), { ...basic('bob:secret'), 'X-Forwarded-User': 'alice' }), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'scheme in lower case'), basic('bob:secret', 'basic')), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'scheme in upper case'), basic('bob:secret', 'BASIC')), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'no colon'), basic('bob')), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'empty user'), basic(':secret')), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'empty password'), basic('bob:')), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'colon in the password'), basic('bob:a:b')), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'user with <&> and a quote'), basic('<b&o"b>:x')), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'non-ASCII user'), basic('caf\u00e9:x')), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'user not UTF-8'), basic(Buffer.from([0x62, 0xff, 0xfe, 0x3a, 0x78]))), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'base64 without padding'), { Authorization: 'Basic Ym9iOng' }), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'not base64'), { Authorization: 'Basic !!!!' }), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'two spaces'), { Authorization: `Basic  ${Buffer.from('bob:x').toString('base64')}` }), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'scheme only'), { Authorization: 'Basic' }), 1),
  N(H(P('/api/topics/alpha', UNPAUSE, 'Bearer'), { Authorization: 'Bearer Ym9iOng=' }), 1),

  // --acl-http-header=X-Remote-User --admin-user=alice: the admin check reads that header; the
  // notification's user is still the Basic one.
  A2(N(G('/config/acl_http_header'), 0)),
  A2(N(H(P('/api/topics/alpha', PAUSE, 'X-Remote-User alice'), REMOTE_ALICE), 1)),
  A2(N(H(P('/api/topics/alpha', UNPAUSE, 'x-remote-user alice'), { 'x-remote-user': 'alice' }), 1)),
  A2(N(H(P('/api/topics/alpha', PAUSE, 'X-Forwarded-User alice: not the header'), { 'X-Forwarded-User': 'alice' }), 0)),
  A2(N(H(P('/api/topics/alpha', PAUSE, 'basic-auth alice only'), basic('alice:secret')), 0)),
  A2(N(H(P('/api/topics/alpha', UNPAUSE, 'X-Remote-User alice, basic-auth bob'), { ...REMOTE_ALICE, ...basic('bob:secret') }), 1)),
  A2(N(H(P('/api/topics', '{"topic":"acl_t","channel":"acl_c"}', 'X-Remote-User alice'), REMOTE_ALICE), 2)),
  A2(N(P('/api/topics', '{"topic":"acl_t2"}', 'no user'), 0)),
  A2(N(H(D('/api/topics/acl_t/acl_c', undefined, 'X-Remote-User bob'), { 'X-Remote-User': 'bob' }), 0)),
  A2(N(H(D('/api/topics/acl_t/acl_c', undefined, 'X-Remote-User alice'), REMOTE_ALICE), 1)),
  A2(N(H(D('/api/topics/acl_t', undefined, 'X-Remote-User alice'), REMOTE_ALICE), 1)),
  A2(N(H(D('/api/nodes/{nsqd2.http}', '{"topic":"gamma"}', 'X-Remote-User alice'), REMOTE_ALICE), 1)),
  // Last: Go 1.2.x tombstones here (and tells), so the two clusters differ from now on.
  K(A2(N(H(D('/api/nodes/{nsqd1.http}', '{"topic":"alpha"}', 'X-Forwarded-User alice'), { 'X-Forwarded-User': 'alice' }), 0)), NO_TOMBSTONE_ACL),
];

/** The basepath mode's requests, written for --base-path=/admin (run on both of the mode's nsqadmins). */
const BASEPATH_REQUESTS: Req[] = [
  // The read API, /ping and /config under the prefix.
  G('/admin/ping'),
  G('/admin/api/topics'),
  G('/admin/api/topics?inactive=true'),
  G('/admin/api/topics/alpha'),
  G('/admin/api/topics/ghost'),
  G('/admin/api/topics/alpha/busy'),
  G('/admin/api/topics/gamma/eph%23ephemeral'),
  G('/admin/api/nodes'),
  G('/admin/api/nodes/{nsqd1.http}'),
  G('/admin/api/nodes/127.0.0.1:1', 'unknown node'),
  G('/admin/api/counter'),
  G('/admin/api/graphite?metric=rate&target=x'),
  G('/admin/config/base_path'),
  G('/admin/config/nsqlookupd_http_addresses'),
  G('/admin/config/log_level'),
  G('/admin/config/nope'),
  H(G('/admin/api/nodes', 'gzip'), { 'Accept-Encoding': 'gzip' }),
  H(G('/admin/ping', 'deflate'), { 'Accept-Encoding': 'deflate' }),
  // The UI routes (placeholder pages in the Go binary: status and headers only) and assets.
  G('/admin', 'index page'),
  G('/admin/topics', 'UI page'),
  G('/admin/topics/alpha/busy', 'UI page'),
  G('/admin/nodes/{nsqd1.http}', 'UI page'),
  G('/admin/lookup', 'UI page'),
  G('/admin/static/nope.js', 'unknown asset'),
  G('/admin/fonts/nope.woff', 'unknown asset'),
  // /admin vs /admin/, and the other forms httprouter redirects.
  G('/admin/', 'trailing slash'),
  G('/admin/?t=2h', 'trailing slash and a query'),
  { method: 'HEAD', path: '/admin/', note: 'trailing slash' },
  { method: 'POST', path: '/admin/', body: '', note: 'trailing slash, no POST route' },
  G('/admin/api/topics/', 'trailing slash'),
  P('/admin/api/topics/', '{"topic":"x"}', 'trailing slash'),
  G('/admin/topics/', 'trailing slash'),
  G('/admin//api/topics', 'double slash'),
  G('/ADMIN/api/topics', 'prefix in other case'),
  G('/Admin', 'prefix in other case'),
  G('/admin/API/Nodes', 'other case'),
  G('/admin/api/topics/al%70ha', 'escaped letter'),
  G('/admin%2Fping', 'escaped slash'),
  // Without the prefix, or a wrong one.
  G('/'),
  G('/ping'),
  G('/api/topics'),
  G('/api/nodes'),
  G('/config/log_level'),
  G('/topics'),
  G('/static/nope.js'),
  G('/admin/admin/ping', 'prefix twice'),
  G('/adminx'),
  G('/adminx/ping'),
  G('/admi'),
  G('/admin/nope'),
  G('/admin/api'),
  P('/api/topics', '{"topic":"made"}', 'without the prefix'),
  PUT('/config/log_level', 'debug', 'without the prefix'),
  // Methods under the prefix.
  { method: 'POST', path: '/admin/ping', body: '' },
  { method: 'DELETE', path: '/admin' },
  { method: 'OPTIONS', path: '/admin/api/topics' },
  { method: 'OPTIONS', path: '/api/topics' },
  { method: 'HEAD', path: '/admin/ping' },
  // Actions under the prefix.
  P('/admin/api/topics', '{"topic":"made","channel":"mc"}'),
  G('/admin/api/topics'),
  P('/admin/api/topics/alpha/busy', '{"action":"pause"}'),
  G('/admin/api/topics/alpha/busy'),
  P('/admin/api/topics/alpha/busy', '{"action":"unpause"}'),
  D('/admin/api/topics/made/mc'),
  G('/admin/api/topics?inactive=true'),
  PUT('/admin/config/log_level', 'warn'),
  G('/admin/config/log_level'),
  PUT('/admin/config/log_level', 'info'),
];

// ---------------------------------------------------------------------------------------------
// Normalising an answer

/**
 * Cluster c's view of an answer made comparable with the other cluster's. Each rule is there
 * for a reason both sides share; nothing else is touched.
 */
function addressNamers(c: Cluster): { addrs: (s: string) => string; remote: (s: string) => string } {
  /** The clusters listen on different ports: `127.0.0.1:<port>` (also URL-escaped) -> `<name>`. */
  const addrs = (s: string): string => s.replace(/127\.0\.0\.1(:|%3A)(\d+)/g, (m, _sep: string, p: string) => {
    const name = c.ports.get(Number(p));
    return name === undefined ? m : `<${name}>`;
  });
  /**
   * The far end of a TCP connection (a consumer's, an nsqd's connection to nsqlookupd, or the
   * harness's connection to nsqadmin) has an ephemeral port the OS picked; the host is kept.
   */
  const remote = (s: string): string => {
    const a = addrs(s);
    return a === s ? s.replace(/:\d+$/, ':<ephemeral>') : a;
  };
  return { addrs, remote };
}

function normaliser(c: Cluster): (v: unknown) => unknown {
  const { addrs, remote } = addressNamers(c);
  const sortKey = (x: unknown): string => {
    const o = (x ?? {}) as Record<string, unknown>;
    return JSON.stringify([o.node ?? '', o.broadcast_address ?? '', o.http_port ?? '', o.channel_name ?? '', JSON.stringify(x)]);
  };
  const byKey = (a: unknown, b: unknown): number => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0);

  const walk = (v: unknown, key: string, parent: Record<string, unknown> | null): unknown => {
    if (typeof v === 'string') {
      if (key === 'remote_address') return remote(v);
      // "<nsqlookupd address>/<the nsqd's remote address there>"
      if (parent === null && key === 'remote_addresses') return v.split('/').map((p, i) => (i === 0 ? addrs(p) : remote(p))).join('/');
      return addrs(v);
    }
    if (typeof v === 'number') {
      // Wall-clock times: when a client connected (unix seconds), and for how long (ns since
      // then). Masked only when plausible (within a day of now), so a wrong unit still shows.
      const day = 86_400;
      if (key === 'connect_ts' && Math.abs(v - Date.now() / 1000) < day) return '<time>';
      if (key === 'connected' && v >= 0 && v < day * 1e9) return '<duration>';
      if (key === 'tcp_port' || key === 'http_port') {
        const name = c.ports.get(v);
        return name === undefined ? v : `<${name}>`;
      }
      return v;
    }
    if (Array.isArray(v)) {
      const out = v.map((x) => walk(x, key, null));
      // Go sorts these by hostname, and every nsqd and client here has the same hostname, so
      // their order is that of goroutines finishing (per-nsqd stats, clients) or of
      // nsqlookupd's answer (nodes). Sorted by node address (then the whole entry).
      if (key === 'nodes' || key === 'clients') out.sort(byKey);
      // A topic summed over several nsqds lists its channels in the order the nsqds' answers
      // were added (goroutine order again). A single nsqd's list is left in its order.
      if (key === 'channels' && parent !== null && parent.node === '*') out.sort(byKey);
      return out;
    }
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const entries = Object.entries(o).map(([k, x]) => [addrs(k), walk(x, k, o)] as const);
      // Go writes map keys sorted; keys holding addresses (/api/counter's "topic:channel:node")
      // were sorted by their port numbers, which differ between the clusters: sort the renamed keys.
      if (entries.some(([k], i) => k !== Object.keys(o)[i])) entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return Object.fromEntries(entries);
    }
    return v;
  };
  return (v) => walk(v, '', null);
}

/** An answer: `status headers` and the normalised body (pretty JSON, or text), and the body as parsed (undefined if not JSON). */
interface Answer {
  text: string;
  json: unknown;
}

function answerOf(head: string, json: unknown): Answer {
  return { text: `${head}\n${JSON.stringify(json, null, 1)}`, json };
}

/** One request to c's nsqadmin (or its second one, for a request `to` it). */
async function call(c: Cluster, r: Req): Promise<Answer> {
  const init: RequestInit = { method: r.method, redirect: 'manual', headers: { Accept: 'application/vnd.nsq; version=1.0', ...r.headers } };
  if (r.body !== undefined) init.body = fill(c, r.body);
  const admin = r.to === 'admin2' ? c.admin2 : c.admin;
  if (admin === null) throw new Error(`${c.side}: this mode has no second nsqadmin`);
  const res = await fetch(`http://127.0.0.1:${admin.httpPort}${fill(c, r.path)}`, init);
  const text = await res.text();
  const headers = ['content-type', 'x-nsq-content-type', 'allow', 'location', 'content-encoding']
    .map((h) => [h, res.headers.get(h)] as const)
    .filter(([, v]) => v !== null)
    .map(([h, v]) => `${h}: ${normaliser(c)(v) as string}`);
  const head = `${res.status} ${headers.join(' | ')}`;
  // A UI page: the Go binary's index template is a placeholder (see the header comment).
  if (res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('text/html')) return { text: `${head}\n<HTML page, not compared>`, json: undefined };
  try {
    return answerOf(head, normaliser(c)(JSON.parse(text)));
  } catch {
    return { text: `${head}\n${normaliser(c)(text) as string}`, json: undefined };
  }
}

// ---------------------------------------------------------------------------------------------
// Comparing

/** A line diff (longest common subsequence) of a and b, with two lines of context around changes. */
function lineDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: [' ' | '-' | '+', string][] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) ops.push([' ', x[i++]!]), j++;
    else if (j < y.length && (i === x.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) ops.push(['+', y[j++]!]);
    else ops.push(['-', x[i++]!]);
  }
  const near = ops.map((_, k) => ops.slice(Math.max(0, k - 2), k + 3).some((o) => o[0] !== ' '));
  const out: string[] = [];
  ops.forEach(([op, l], k) => {
    if (near[k]) out.push(`${op === '-' ? '- go  ' : op === '+' ? '+ ours' : '      '} ${l}`);
    else if (near[k - 1]) out.push('       ...');
  });
  return out.join('\n');
}

/**
 * Error texts NSQ 1.3.0 words differently from the 1.2.x snapshot: nsqio/nsq#1427 (staticcheck
 * cleanup, merged 2022-12, after the snapshot) lower-cased clusterinfo's error strings (ST1005),
 * and shared/spec (from 1.3.0, verified on its binaries) has `failed to query any nsqlookupd|nsqd`.
 * An answer of the Go nsqadmin that matches ours once rewritten is counted apart, not as a difference.
 */
const V13_WORDING: [string, string][] = [['Failed to query any ', 'failed to query any ']];

/**
 * A topic view summed over several nsqds, without the channels held by more than one of them
 * (those whose summed entry has node "*"), at the top and in every node's own list. Go sums
 * such a channel into the first nsqd's own entry in place (so that entry, shared by the top-level
 * list and the node's list, lists only the other nsqds and keeps the first one's hostname and
 * e2e fields); spec §2.4 says a re-implementation need not copy this, and ours builds a fresh
 * sum. Those channels' sums are compared by /api/topics/:t/:c, which sums afresh in Go too.
 */
function withoutSummedChannels(v: unknown): unknown {
  const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (!isObj(v) || v.node !== '*' || !Array.isArray(v.channels) || !Array.isArray(v.nodes)) return v;
  const summed = new Set(v.channels.filter((ch) => isObj(ch) && ch.node === '*').map((ch) => (ch as Record<string, unknown>).channel_name));
  if (summed.size === 0) return v;
  const keep = (list: unknown): unknown => (Array.isArray(list) ? list.filter((ch) => !(isObj(ch) && summed.has(ch.channel_name))) : list);
  return { ...v, channels: keep(v.channels), nodes: v.nodes.map((n) => (isObj(n) ? { ...n, channels: keep(n.channels) } : n)) };
}

const totals = { same: 0, reworded: 0, summed: 0, known: 0, differ: 0 };

/** Compares one pair of answers, prints the verdict (and the diff, or both with --show) and counts it. */
function judge(name: string, r: Req, ra: Answer, rb: Answer, counts: typeof totals): void {
  const reword = (t: string): string => V13_WORDING.reduce((x, [from, to]) => x.replaceAll(from, to), t);
  const head = (t: string): string => t.slice(0, t.indexOf('\n'));
  const unsummed = (x: Answer, json: unknown): string | null => (x.json === undefined ? null : answerOf(head(x.text), withoutSummedChannels(json)).text);
  const reworded = reword(ra.text);
  const summedA = unsummed(ra, ra.json === undefined ? undefined : JSON.parse(reword(JSON.stringify(ra.json))));
  const summedB = unsummed(rb, rb.json);
  let verdict: string;
  if (ra.text === rb.text) {
    counts.same++;
    verdict = 'same  ';
  } else if (reworded === rb.text) {
    counts.reworded++;
    verdict = 'same after 1.3.0 wording';
  } else if (summedA !== null && summedA === summedB) {
    counts.summed++;
    verdict = "same but for Go's in-place channel sums";
  } else if (r.known !== undefined) {
    counts.known++;
    verdict = 'DIFFER as known';
  } else {
    counts.differ++;
    verdict = 'DIFFER';
  }
  process.stdout.write(`${verdict} ${name}\n`);
  if (r.known !== undefined && ra.text !== rb.text) process.stdout.write(`  known: ${r.known}\n`);
  if (values.show) {
    if (ra.text === rb.text) process.stdout.write(`  ${ra.text.replaceAll('\n', '\n  ')}\n`);
    else process.stdout.write(`  go:\n    ${ra.text.replaceAll('\n', '\n    ')}\n  ours:\n    ${rb.text.replaceAll('\n', '\n    ')}\n`);
  } else if (ra.text !== rb.text) process.stdout.write(`  ${lineDiff(ra.text, rb.text).replaceAll('\n', '\n  ')}\n`);
}

/**
 * The notifications cluster c's receiver got for one request, as comparable text: one entry per
 * notification (method, path, Content-Type, User-Agent, then the body as sent, a field a line),
 * sorted, as Go sends the notifications of one request from goroutines of their own. In the body
 * the timestamp is masked (when within a day of now), the ports are named, and remote_ip (the
 * harness's side of its connection to nsqadmin) keeps its host but not its ephemeral port.
 */
function notificationsText(c: Cluster, got: Notification[]): string {
  const { addrs, remote } = addressNamers(c);
  const day = 86_400;
  const entries = got.map((n) => {
    const body = addrs(n.body
      .replace(/"timestamp":(-?\d+)/g, (m, t: string) => (Math.abs(Number(t) - Date.now() / 1000) < day ? '"timestamp":<time>' : m))
      .replace(/"remote_ip":"([^"\\]*)"/g, (_m, v: string) => `"remote_ip":"${remote(v)}"`));
    return `${n.method} ${addrs(n.path)} | content-type: ${n.contentType} | user-agent: ${n.userAgent}\n  ${body.replaceAll(',"', ',\n  "')}`;
  });
  entries.sort();
  return [`${got.length} notification${got.length === 1 ? '' : 's'}`, ...entries].join('\n');
}

async function runMode(mode: Mode): Promise<void> {
  process.stdout.write(`== mode ${mode}: ${values.go} watches cluster A, ours watches cluster B\n`);
  const a = await startCluster('A', values.go!, mode);
  const b = await startCluster('B', null, mode);
  const counts = { same: 0, reworded: 0, summed: 0, known: 0, differ: 0 };
  const requests = mode === 'acl' ? ACL_REQUESTS
    : mode === 'notify' ? NOTIFY_REQUESTS
    : mode === 'basepath' ? [...BASEPATH_REQUESTS, ...BASEPATH_REQUESTS.map((r): Req => ({ ...r, to: 'admin2', note: r.note === undefined ? '--base-path=/admin/' : `${r.note}; --base-path=/admin/` }))]
    : REQUESTS;
  try {
    await Promise.all([buildState(a), buildState(b)]);
    for (const r of requests) {
      const before = [a.sink?.got.length ?? 0, b.sink?.got.length ?? 0] as const;
      const [ra, rb] = await Promise.all([call(a, r), call(b, r)]);
      const shown = r.body === undefined ? '' : r.body.replaceAll('\n', '\\n');
      const body = r.body === undefined ? '' : shown === '' ? " ''" : ` ${shown.length > 80 ? `${shown.slice(0, 40)}...` : shown}`;
      const name = `${mode}: ${r.method} ${r.path}${body}${r.note !== undefined ? ` (${r.note})` : ''}`;
      judge(name, r, ra, rb, counts);
      if (a.sink !== null && b.sink !== null) {
        // Notifications are sent asynchronously: wait for the expected number on both sides,
        // then --settle more, so that extra ones are caught as well.
        const sa = a.sink;
        const sb = b.sink;
        const expect = r.expect ?? 0;
        await waitUntil(() => sa.got.length - before[0] >= expect && sb.got.length - before[1] >= expect, 5_000);
        await sleep(SETTLE_MS);
        const ga = sa.got.slice(before[0]);
        const gb = sb.got.slice(before[1]);
        judge(`${name} -> notifications`, r, { text: notificationsText(a, ga), json: undefined }, { text: notificationsText(b, gb), json: undefined }, counts);
        if (ga.length !== expect || gb.length !== expect) process.stdout.write(`  note: ${expect} expected (spec §2.6), go sent ${ga.length}, ours ${gb.length}\n`);
        continue;
      }
      // nsqd tells nsqlookupd of what an action changed asynchronously.
      if (r.method !== 'GET' && r.method !== 'HEAD') await sleep(SETTLE_MS);
    }
  } finally {
    for (const c of [a, b]) for (const conn of c.conns) conn.close();
    for (const d of daemons.splice(0).reverse()) await stopDaemon(d);
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    await stopSinks();
  }
  process.stdout.write(`mode ${mode}: ${summary(counts)}\n`);
  for (const k of ['same', 'reworded', 'summed', 'known', 'differ'] as const) totals[k] += counts[k];
}

function summary(c: typeof totals): string {
  return `${c.same} same, ${c.reworded} same once Go 1.2.x's wording is updated to 1.3.0's, ${c.summed} same but for Go's in-place channel sums, ${c.known} differ as a pre-1.3.0 nsqadmin is known to, ${c.differ} differ`;
}

try {
  for (const mode of values.mode === 'all' ? MODES : [values.mode as Mode]) await runMode(mode);
} finally {
  for (const d of daemons.splice(0).reverse()) await stopDaemon(d);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await stopSinks();
}
process.stdout.write(`${summary(totals)}\n`);
process.exitCode = totals.differ === 0 ? 0 : 1;
