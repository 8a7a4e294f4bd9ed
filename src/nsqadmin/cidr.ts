// Go's net.ParseCIDR and IPNet.Contains for nsqadmin's --allow-config-from-cidr, over node:net's
// BlockList (which also matches IPv4-mapped IPv6 addresses against IPv4 networks, as Go does).

import { BlockList, isIP } from 'node:net';

/** Go's net.ParseCIDR as a BlockList holding that one network; an Error `invalid CIDR address: <s>` on bad input. */
export function parseCIDR(s: string): BlockList | Error {
  const slash = s.indexOf('/');
  const addr = slash === -1 ? '' : s.slice(0, slash);
  const prefix = s.slice(slash + 1);
  const family = isIP(addr);
  if (family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return new Error(`invalid CIDR address: ${s}`);
  const net = new BlockList();
  net.addSubnet(addr, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
  return net;
}

/** IPNet.Contains for an address string; undefined when it is not an IP address. */
export function cidrContains(net: BlockList, ip: string): boolean | undefined {
  const family = isIP(ip);
  if (family === 0) return undefined;
  return net.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}
