// nsqlookupd's registration database (nsqlookupd/registration_db.go): a map from a Registration
// (category, key, subkey) to the producers registered under it, keyed by peer id. Categories are
// "client" (one key holding every identified peer), "topic" (key = topic) and "channel" (key =
// topic, subkey = channel). `*` as key or subkey matches anything. A producer is one peer's entry
// under one registration, so tombstones are per (registration, peer) while the PeerInfo, and its
// lastUpdate, is shared by every registration of one connection.

import type { GoInt } from '../internal/go-json.js';

export type { GoInt };

/** Registration categories NSQ uses. */
export type Category = 'client' | 'topic' | 'channel';

/** A registration key: what a set of producers is registered under. */
export interface Registration {
  /** "client", "topic" or "channel". */
  readonly category: string;
  /** The topic name ('' for "client"). */
  readonly key: string;
  /** The channel name ('' for "client" and "topic"). */
  readonly subKey: string;
}

/** What a connected nsqd told us about itself in IDENTIFY, plus where it connected from. */
export interface PeerInfo {
  /** The connection's remote `ip:port`; the peer's identity in the database. */
  readonly id: string;
  /** The connection's remote `ip:port` (a client-supplied value is ignored). */
  readonly remoteAddress: string;
  /** The peer's OS hostname. */
  readonly hostname: string;
  /** Address clients should use to reach the peer. */
  readonly broadcastAddress: string;
  /** The peer's TCP port. */
  readonly tcpPort: GoInt;
  /** The peer's HTTP port. */
  readonly httpPort: GoInt;
  /** The peer's version string. */
  readonly version: string;
  /** Unix nanoseconds of the last IDENTIFY or PING. */
  lastUpdate: bigint;
}

/** Go's zero time.Time as UnixNano(), which /debug prints for a never-tombstoned producer. */
export const ZERO_TIME_UNIX_NANOS = -6795364578871345152n;

/** The wall clock in unix nanoseconds when process.hrtime read 0 (read once, as performance.timeOrigin is). */
const UNIX_NANOS_AT_HRTIME_ZERO = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/**
 * Wall-clock time in unix nanoseconds, to the nanosecond as Go's time.Now().UnixNano(): a
 * last_update in /nodes, and the "last ping" between two of them, carry every digit Go's do.
 */
export function unixNanos(): bigint {
  return UNIX_NANOS_AT_HRTIME_ZERO + process.hrtime.bigint();
}

/** Milliseconds to integer nanoseconds as a bigint. */
function msToNanos(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

/** One peer's entry under one registration, with its tombstone. */
export class Producer {
  /** Unix nanoseconds of the tombstone, or null when never tombstoned. */
  tombstonedAt: bigint | null = null;
  // Monotonic time of the tombstone: the lifetime check must not follow wall-clock jumps.
  private tombstonedAtMono = 0;

  /** Wrap a peer's info (shared with the peer's other registrations). */
  constructor(
    /** The registering peer. */
    readonly peerInfo: PeerInfo,
  ) {}

  /** Whether /topic/tombstone marked this entry (kept even after the lifetime passes, as in NSQ). */
  get tombstoned(): boolean {
    return this.tombstonedAt !== null;
  }

  /** Mark this entry tombstoned now. */
  tombstone(): void {
    this.tombstonedAt = unixNanos();
    this.tombstonedAtMono = performance.now();
  }

  /** Whether the entry is tombstoned and the tombstone is younger than `lifetimeMs`. */
  isTombstoned(lifetimeMs: number): boolean {
    return this.tombstoned && performance.now() - this.tombstonedAtMono < lifetimeMs;
  }

  /** `<broadcast_address>:<http_port>`, the node name /topic/tombstone matches against. */
  get node(): string {
    return `${this.peerInfo.broadcastAddress}:${this.peerInfo.httpPort}`;
  }
}

/**
 * Producers whose peer was heard from within `inactivityTimeoutMs` and that are not tombstoned
 * within `tombstoneLifetimeMs` (Go's Producers.FilterByActive).
 */
export function filterByActive(producers: readonly Producer[], inactivityTimeoutMs: number, tombstoneLifetimeMs: number): Producer[] {
  const now = unixNanos();
  const timeout = msToNanos(inactivityTimeoutMs);
  return producers.filter((p) => !(now - p.peerInfo.lastUpdate > timeout || p.isTombstoned(tombstoneLifetimeMs)));
}

interface Entry {
  readonly registration: Registration;
  readonly producers: Map<string, Producer>;
  /** Creation order (the registration map's iteration order). */
  readonly seq: number;
}

function mapKey(category: string, key: string, subKey: string): string {
  // Categories are fixed words and names never hold U+0000, so the joined text is unambiguous.
  return `${category}\u0000${key}\u0000${subKey}`;
}

/** Whether a registration matches a query where key or subkey may be the wildcard `*`. */
export function isMatch(r: Registration, category: string, key: string, subKey: string): boolean {
  if (category !== r.category) return false;
  if (key !== '*' && r.key !== key) return false;
  if (subKey !== '*' && r.subKey !== subKey) return false;
  return true;
}

/** The registration database; iteration order is insertion order (Go's is random). */
export class RegistrationDB {
  private readonly registrationMap = new Map<string, Entry>();
  /**
   * The entries each peer is a producer of, so lookupRegistrations (every /nodes producer, every
   * peer that disconnects) costs that peer's registrations, not a walk over every registration
   * (Go's walk: 500 peers × 2,000 topics took 631 ms for one /nodes, in front of every client).
   */
  private readonly byPeer = new Map<string, Set<Entry>>();
  private nextSeq = 0;

  private entry(k: Registration): Entry | undefined {
    return this.registrationMap.get(mapKey(k.category, k.key, k.subKey));
  }

  private ensure(k: Registration): Entry {
    const id = mapKey(k.category, k.key, k.subKey);
    let e = this.registrationMap.get(id);
    if (e === undefined) {
      e = { registration: { category: k.category, key: k.key, subKey: k.subKey }, producers: new Map(), seq: this.nextSeq++ };
      this.registrationMap.set(id, e);
    }
    return e;
  }

  /** Create the registration key with no producers, unless it exists. */
  addRegistration(k: Registration): void {
    this.ensure(k);
  }

  /** Add a producer under a registration; false when that peer was already there (the old entry stays). */
  addProducer(k: Registration, p: Producer): boolean {
    const e = this.ensure(k);
    const id = p.peerInfo.id;
    if (e.producers.has(id)) return false;
    e.producers.set(id, p);
    let mine = this.byPeer.get(id);
    if (mine === undefined) this.byPeer.set(id, (mine = new Set()));
    mine.add(e);
    return true;
  }

  /** Remove a peer from a registration, leaving the key; returns whether it was there and how many remain. */
  removeProducer(k: Registration, id: string): { removed: boolean; left: number } {
    const e = this.entry(k);
    if (e === undefined) return { removed: false, left: 0 };
    const removed = e.producers.delete(id);
    if (removed) this.forget(id, e);
    return { removed, left: e.producers.size };
  }

  /** Delete a registration key and its producers. */
  removeRegistration(k: Registration): void {
    const id = mapKey(k.category, k.key, k.subKey);
    const e = this.registrationMap.get(id);
    if (e === undefined) return;
    this.registrationMap.delete(id);
    for (const peer of e.producers.keys()) this.forget(peer, e);
  }

  private forget(peer: string, e: Entry): void {
    const mine = this.byPeer.get(peer);
    if (mine === undefined) return;
    mine.delete(e);
    if (mine.size === 0) this.byPeer.delete(peer);
  }

  /** Registrations matching the query (`*` wildcards allowed in key and subkey). */
  findRegistrations(category: string, key: string, subKey: string): Registration[] {
    if (key !== '*' && subKey !== '*') {
      const e = this.registrationMap.get(mapKey(category, key, subKey));
      return e === undefined ? [] : [e.registration];
    }
    const out: Registration[] = [];
    for (const e of this.registrationMap.values()) {
      if (isMatch(e.registration, category, key, subKey)) out.push(e.registration);
    }
    return out;
  }

  /** Producers of every matching registration, one per peer (the first one met). */
  findProducers(category: string, key: string, subKey: string): Producer[] {
    if (key !== '*' && subKey !== '*') {
      const e = this.registrationMap.get(mapKey(category, key, subKey));
      return e === undefined ? [] : [...e.producers.values()];
    }
    const seen = new Map<string, Producer>();
    for (const e of this.registrationMap.values()) {
      if (!isMatch(e.registration, category, key, subKey)) continue;
      for (const [id, p] of e.producers) if (!seen.has(id)) seen.set(id, p);
    }
    return [...seen.values()];
  }

  /** Every registration the peer `id` is a producer of. */
  lookupRegistrations(id: string): Registration[] {
    return this.peerEntries(id).map((e) => e.registration);
  }

  /** lookupRegistrations (of one `category`, or all) with the peer's own producer entry under each (for /nodes' tombstones). */
  lookupProducers(id: string, category?: string): [Registration, Producer][] {
    return this.peerEntries(id, category).map((e) => [e.registration, e.producers.get(id)!]);
  }

  /** The entries (of one `category`, or all) peer `id` is a producer of, in the registration map's order, as a walk over it gives. */
  private peerEntries(id: string, category?: string): Entry[] {
    const mine = this.byPeer.get(id);
    if (mine === undefined) return [];
    let entries: Entry[];
    if (category === undefined) entries = [...mine];
    else {
      entries = [];
      for (const e of mine) if (e.registration.category === category) entries.push(e);
    }
    // Usually in order already: a peer registers keys in the order they were made.
    for (let i = 1; i < entries.length; i++) {
      if (entries[i - 1]!.seq > entries[i]!.seq) {
        entries.sort((a, b) => a.seq - b.seq);
        break;
      }
    }
    return entries;
  }

  /** Every registration with its producers, for /debug. */
  *entries(): IterableIterator<[Registration, readonly Producer[]]> {
    for (const e of this.registrationMap.values()) yield [e.registration, [...e.producers.values()]];
  }
}
