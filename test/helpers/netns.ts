// Separate "hosts" on one machine: network namespaces joined by veth pairs to a bridge in the
// root namespace (needs root and iproute2). Each host gets its own address; the test process in
// the root namespace reaches all of them through the bridge, and cutting a host's link takes
// that host off the network while its processes keep running.
import { execFileSync } from 'node:child_process';

/** One namespace with an address on the test bridge. */
export interface NetnsHost {
  /** Namespace name (for `ip netns exec`). */
  ns: string;
  /** Its IPv4 address on the bridge. */
  address: string;
  /** The root-namespace end of its veth pair (down = host cut off). */
  hostVeth: string;
}

/** A bridge in the root namespace and hosts attached to it. */
export interface NetnsTopology {
  bridge: string;
  /** The root namespace's address on the bridge (daemons there are reachable at it). */
  rootAddress: string;
  hosts: NetnsHost[];
  /** Take a host off the network (its veth link down) or put it back. */
  setLink(host: NetnsHost, up: boolean): void;
  /** Remove every namespace, link and the bridge. */
  destroy(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Why namespaces cannot be made here (not root, no iproute2, no permission), or null when they
 * can: tries to create and delete one.
 */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root';
  const probe = `nsqprobe${process.pid % 100000}`;
  try {
    ip('netns', 'add', probe);
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT') return 'the ip command (iproute2) is not installed';
    return `ip netns add failed: ${e.stderr?.toString().trim() ?? String(err)}`;
  }
  try {
    ip('netns', 'del', probe);
  } catch {
    // Best effort.
  }
  return null;
}

/**
 * Make `count` hosts on a fresh /24 (chosen from the pid so parallel runs do not collide):
 * the bridge has .1, host i has .(10 + i). Names carry a short unique tag.
 */
export function createTopology(count: number): NetnsTopology {
  const tag = (process.pid % 46656).toString(36);
  const net = `10.${200 + (process.pid % 50)}.${Math.floor(process.pid / 50) % 250}`;
  const bridge = `nsqbr${tag}`;
  const hosts: NetnsHost[] = [];
  const made: (() => void)[] = [];
  const destroy = (): void => {
    for (const undo of made.reverse()) {
      try {
        undo();
      } catch {
        // Already gone.
      }
    }
    made.length = 0;
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    made.push(() => ip('link', 'del', bridge));
    ip('addr', 'add', `${net}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (let i = 0; i < count; i++) {
      const ns = `nsq${tag}h${i}`;
      const hostVeth = `nv${tag}h${i}`;
      const nsVeth = `nv${tag}n${i}`;
      ip('netns', 'add', ns);
      made.push(() => ip('netns', 'del', ns));
      ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nsVeth);
      made.push(() => ip('link', 'del', hostVeth));
      ip('link', 'set', nsVeth, 'netns', ns);
      ip('link', 'set', hostVeth, 'master', bridge);
      ip('link', 'set', hostVeth, 'up');
      const address = `${net}.${10 + i}`;
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', nsVeth);
      ip('-n', ns, 'link', 'set', nsVeth, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'route', 'add', 'default', 'via', `${net}.1`);
      hosts.push({ ns, address, hostVeth });
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    bridge,
    rootAddress: `${net}.1`,
    hosts,
    setLink(host, up) {
      ip('link', 'set', host.hostVeth, up ? 'up' : 'down');
    },
    destroy,
  };
}
