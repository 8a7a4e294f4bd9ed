// nsqadmin's web UI run in a DOM (jsdom) against the real binaries: the index page and
// /static/app.js are loaded over HTTP from nsqadmin, the page's API calls go to nsqadmin, which
// asks a real nsqlookupd and two real nsqd. Checks what a user sees: the topic page's per-node
// rows and totals, the channels table, the charts (SVG, a line once there are two samples), the
// admin buttons and their effect on the daemons, links, the nodes page, and no buttons for a
// non-admin.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JSDOM } from 'jsdom';
import { http, waitFor } from '../helpers/daemons.js';
import { BinSession, type Bin } from '../helpers/nsqadmin-cluster.js';

const s = new BinSession();
let nsqdA: Bin;
let nsqdB: Bin;
let admin: Bin;
let viewer: Bin;
const windows: JSDOM[] = [];

async function post(url: string, body?: string): Promise<void> {
  const r = await http('POST', url, body);
  assert.is(r.status, 200, `${url}: ${r.text}`);
}

/** Open `path` of an nsqadmin in a DOM that runs the page's scripts; confirm() says yes, alert() is recorded. */
async function open(a: Bin, path: string, alerts: string[] = []): Promise<JSDOM> {
  const dom = await JSDOM.fromURL(`${a.url}${path}`, {
    runScripts: 'dangerously',
    resources: 'usable',
    pretendToBeVisual: true,
    beforeParse(window) {
      // jsdom has no fetch: the page's calls go through Node's, relative to nsqadmin (the page's
      // AbortSignal belongs to jsdom, so it stays behind; the page's own timer still fires).
      const w = window as unknown as Record<string, unknown>;
      w.fetch = (u: string, o: RequestInit = {}) => fetch(new URL(u, a.url), { ...o, signal: undefined });
      w.confirm = () => true;
      w.alert = (m: string) => alerts.push(m);
    },
  });
  windows.push(dom);
  return dom;
}

const text = (dom: JSDOM, sel: string): string => dom.window.document.querySelector(sel)?.textContent ?? '';
const rows = (dom: JSDOM, table: number): string[][] =>
  Array.from(dom.window.document.querySelectorAll('table')[table]?.querySelectorAll('tr') ?? []).map((tr) => Array.from(tr.children).map((c) => (c.textContent ?? '').trim()));

async function topicStats(n: Bin, topic: string): Promise<{ paused: boolean; channels: { channel_name: string }[] } | undefined> {
  const r = await http('GET', `${n.url}/stats?format=json&topic=${topic}`);
  return (JSON.parse(r.text) as { topics: { topic_name: string; paused: boolean; channels: { channel_name: string }[] }[] }).topics.find((t) => t.topic_name === topic);
}

test.before(async () => {
  const lookupd = await s.nsqlookupd();
  [nsqdA, nsqdB] = await Promise.all([s.nsqd(lookupd.tcpPort), s.nsqd(lookupd.tcpPort)]);
  // "ui" on both nsqd: 5 messages on A, 3 on B; channel c1 created on A, and on B too when B
  // creates the topic (nsqd asks its lookupds for the topic's channels, as Go nsqd does).
  await post(`${nsqdA.url}/topic/create?topic=ui`);
  await post(`${nsqdA.url}/channel/create?topic=ui&channel=c1`);
  for (let i = 0; i < 5; i++) await post(`${nsqdA.url}/pub?topic=ui`, `a${i}`);
  await waitFor(async () => {
    const r = await http('GET', `${lookupd.url}/channels?topic=ui`);
    return r.status === 200 && ((JSON.parse(r.text) as { channels: string[] | null }).channels ?? []).includes('c1');
  }, 10_000, 'c1 registered with lookupd before B creates the topic');
  for (let i = 0; i < 3; i++) await post(`${nsqdB.url}/pub?topic=ui`, `b${i}`);
  await waitFor(async () => {
    const r = await http('GET', `${lookupd.url}/lookup?topic=ui`);
    return r.status === 200 && (JSON.parse(r.text) as { producers: unknown[] }).producers.length === 2;
  }, 10_000, 'both nsqd registered for ui');
  admin = await s.nsqadmin([`--lookupd-http-address=${lookupd.httpAddr}`]);
  viewer = await s.nsqadmin([`--lookupd-http-address=${lookupd.httpAddr}`, '--admin-user=bob']);
});

test.after(async () => {
  for (const d of windows) d.window.close();
  await s.cleanup();
});

test('topic page: a row per nsqd and the totals, the channels table, and the two charts', async () => {
  const dom = await open(admin, '/topics/ui');
  await waitFor(() => text(dom, '#container h2').startsWith('Topic: ui'), 10_000, 'the topic page rendered');
  assert.ok(text(dom, '#nav').includes('nsqadmin v1.3.0'), 'the nav shows the version');
  const nodes = rows(dom, 0);
  assert.equal(nodes[0]!.slice(0, 4), ['NSQd Host', 'Depth', 'Memory + Disk', 'Messages']);
  const perNode = nodes.slice(1, -1).map((r) => r[3]).sort();
  assert.equal(perNode, ['3', '5'], 'one row per nsqd with its message count');
  const total = nodes[nodes.length - 1]!;
  assert.equal(total.slice(0, 5), ['Total', '0', '0 + 0', '8', '1'], 'totals: every message went to c1, 8 messages, 1 channel');
  const chans = rows(dom, 1);
  assert.equal(chans[1]!.slice(0, 3), ['c1', '8', '8 + 0']);
  const doc = dom.window.document;
  assert.ok(doc.querySelector('svg[aria-label="Message rate"]') !== null && doc.querySelector('svg[aria-label="Depth"]') !== null, 'both charts drawn');
  assert.is(doc.querySelector('svg[aria-label="Depth"] polyline'), null, 'one sample: no line yet');
  // Another sample (the page polls every 5 s; a history event re-renders at once).
  await post(`${nsqdA.url}/pub?topic=ui`, 'a5');
  dom.window.dispatchEvent(new dom.window.PopStateEvent('popstate'));
  await waitFor(() => doc.querySelector('svg[aria-label="Depth"] polyline') !== null, 10_000, 'the depth line after a second sample');
  assert.ok(text(dom, '.chart h4').startsWith('Message rate: '), text(dom, '.chart h4'));
});

test('admin buttons act on every nsqd: Pause Topic pauses it on both, UnPause undoes it', async () => {
  const dom = await open(admin, '/topics/ui');
  const doc = dom.window.document;
  const button = (label: string) => Array.from(doc.querySelectorAll('button')).find((b) => b.textContent === label);
  await waitFor(() => button('Pause Topic') !== undefined, 10_000, 'the Pause Topic button');
  button('Pause Topic')!.click();
  await waitFor(async () => (await topicStats(nsqdA, 'ui'))?.paused === true && (await topicStats(nsqdB, 'ui'))?.paused === true, 10_000, 'ui paused on both nsqd');
  await waitFor(() => button('UnPause Topic') !== undefined, 10_000, 'the page shows the paused state');
  assert.ok(text(dom, '#container h2').includes('paused'));
  button('UnPause Topic')!.click();
  await waitFor(async () => (await topicStats(nsqdA, 'ui'))?.paused === false && (await topicStats(nsqdB, 'ui'))?.paused === false, 10_000, 'ui unpaused on both nsqd');
});

test('a channel link opens the channel page in place (no reload), with its nodes and clients', async () => {
  const dom = await open(admin, '/topics/ui');
  const doc = dom.window.document;
  await waitFor(() => doc.querySelector('a[href="/topics/ui/c1"]') !== null, 10_000, 'the channel link');
  (doc.querySelector('a[href="/topics/ui/c1"]') as HTMLAnchorElement).click();
  assert.is(dom.window.location.pathname, '/topics/ui/c1');
  await waitFor(() => text(dom, '#container h3') === 'Clients', 10_000, 'the channel page');
  const table = rows(dom, 0);
  assert.equal(table.length, 4, 'header, one row per nsqd, total');
  assert.equal(table[table.length - 1]!.slice(0, 3), ['Total', '9', '9 + 0']);
  assert.ok(text(dom, '#container').includes('No clients connected'));
});

test('nodes page lists both nsqd with their topics; a non-admin sees no action buttons', async () => {
  const dom = await open(admin, '/nodes');
  await waitFor(() => text(dom, '#container h2') === 'NSQd Nodes (2)', 10_000, 'the nodes page');
  const ports = rows(dom, 0).slice(1).map((r) => Number(r[3])).sort((x, y) => x - y);
  assert.equal(ports, [nsqdA.httpPort, nsqdB.httpPort].sort((x, y) => x - y));
  const view = await open(viewer, '/topics/ui');
  await waitFor(() => text(view, '#container h2').startsWith('Topic: ui'), 10_000, 'the topic page for a non-admin');
  assert.is(view.window.document.querySelectorAll('#container button').length, 0);
});

test.run();
