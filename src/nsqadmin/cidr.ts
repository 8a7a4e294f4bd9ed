// Go's net.ParseCIDR and IPNet.Contains for nsqadmin's --allow-config-from-cidr.

import { isIPv4, isIPv6 } from 'node:net';

/** A parsed network: its address bytes (4 or 16) and prefix length. */
export interface IPNet {
  bytes: Uint8Array;
  prefix: number;
}

function v4Bytes(s: string): Uint8Array | undefined {
  if (!isIPv4(s)) return undefined;
  return Uint8Array.from(s.split('.').map(Number));
}

function v6Bytes(s: string): Uint8Array | undefined {
  if (!isIPv6(s)) return undefined;
  let text = s;
  const out = new Uint8Array(16);
  // A trailing dotted quad ("::ffff:1.2.3.4") becomes two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: Uint8Array | undefined;
  if (dotted) {
    tail = v4Bytes(dotted[1]!);
    text = text.slice(0, -dotted[1]!.length) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

/** An IP address as 4 bytes (IPv4, including IPv4-mapped IPv6) or 16 bytes; undefined when unparsable. */
export function parseIP(s: string): Uint8Array | undefined {
  const v4 = v4Bytes(s);
  if (v4) return v4;
  const v6 = v6Bytes(s);
  if (!v6) return undefined;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

/** Go's net.ParseCIDR; an Error `invalid CIDR address: <s>` on bad input. */
export function parseCIDR(s: string): IPNet | Error {
  const bad = new Error(`invalid CIDR address: ${s}`);
  const slash = s.indexOf('/');
  if (slash === -1) return bad;
  const addr = s.slice(0, slash);
  const prefixText = s.slice(slash + 1);
  const bytes = v4Bytes(addr) ?? v6Bytes(addr);
  if (!bytes || !/^\d{1,3}$/.test(prefixText)) return bad;
  const prefix = Number(prefixText);
  if (prefix > bytes.length * 8) return bad;
  return { bytes, prefix };
}

/** IPNet.Contains: whether `ip` (as parseIP returns it) is inside `net`. */
export function cidrContains(net: IPNet, ip: Uint8Array): boolean {
  if (ip.length !== net.bytes.length) return false;
  let bits = net.prefix;
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (net.bytes[i]! & mask)) return false;
  }
  return true;
}
