// Decoding nsqlookupd's IDENTIFY body the way Go's json.Unmarshal fills nsqlookupd's PeerInfo
// struct (go-json's decodeGoStruct): the whole body must be valid JSON (nesting at most 10000
// deep), keys match the struct's json tags case-insensitively and the last duplicate wins,
// unknown keys are ignored, `null` leaves a field alone, and a value of the wrong type fails the
// decode; integer fields take only integer literals within int64 ("4150.0" and "4e3" fail).

import { decodeGoStruct, type GoInt, type GoStruct } from '../internal/go-json.js';

/** The PeerInfo fields an IDENTIFY body may set (remote_address is decoded but then overwritten). */
export interface IdentifyFields {
  /** `remote_address` as sent (nsqlookupd replaces it with the connection's peer address). */
  remoteAddress: string;
  /** `hostname`. */
  hostname: string;
  /** `broadcast_address` (required). */
  broadcastAddress: string;
  /** `tcp_port` (required, non-zero). */
  tcpPort: GoInt;
  /** `http_port` (required, non-zero). */
  httpPort: GoInt;
  /** `version` (required). */
  version: string;
}

const PEER_INFO: GoStruct = {
  name: 'PeerInfo',
  type: 'nsqlookupd.PeerInfo',
  fields: { remote_address: 'string', hostname: 'string', broadcast_address: 'string', tcp_port: 'int', http_port: 'int', version: 'string' },
};

/**
 * Decode an IDENTIFY body like Go's json.Unmarshal into nsqlookupd's PeerInfo; returns the fields
 * (zero values where absent) or an Error describing why Go's decode would fail.
 */
export function decodeIdentifyBody(body: Uint8Array): IdentifyFields | Error {
  // Go keeps invalid UTF-8 inside strings as U+FFFD and rejects it elsewhere; the lenient
  // decoder yields U+FFFD in both places, which the scanner then rejects outside strings. A BOM
  // is kept (and so rejected), as Go does not skip one.
  const f = decodeGoStruct(new TextDecoder('utf-8', { ignoreBOM: true }).decode(body), PEER_INFO, 'unmarshal');
  if (f instanceof Error) return f;
  return {
    remoteAddress: (f.remote_address as string | undefined) ?? '',
    hostname: (f.hostname as string | undefined) ?? '',
    broadcastAddress: (f.broadcast_address as string | undefined) ?? '',
    tcpPort: (f.tcp_port as GoInt | undefined) ?? 0,
    httpPort: (f.http_port as GoInt | undefined) ?? 0,
    version: (f.version as string | undefined) ?? '',
  };
}
