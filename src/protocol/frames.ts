/** Magic the V2 (client) protocol starts with: two spaces and `V2`. */
export const MAGIC_V2 = Buffer.from('  V2', 'latin1');
/** Magic of the V1 lookup protocol nsqd speaks to nsqlookupd. */
export const MAGIC_V1 = Buffer.from('  V1', 'latin1');

/** Frame type of a response frame (`OK`, `_heartbeat_`, JSON). */
export const FRAME_TYPE_RESPONSE = 0;
/** Frame type of an error frame (`E_* description`). */
export const FRAME_TYPE_ERROR = 1;
/** Frame type of a message frame. */
export const FRAME_TYPE_MESSAGE = 2;

/** Response data sent as a heartbeat. */
export const HEARTBEAT = '_heartbeat_';

/** Encode one response or error frame: [size int32][type int32][data]. */
export function encodeFrame(frameType: number, data: string | Uint8Array): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out = Buffer.allocUnsafe(8 + body.length);
  out.writeInt32BE(4 + body.length, 0);
  out.writeInt32BE(frameType, 4);
  out.set(body, 8);
  return out;
}

/** [size int32 BE][frame type int32 BE] at out[at]. */
export function writeFrameHeader(out: Uint8Array, at: number, size: number, type: number): void {
  out[at] = size >>> 24;
  out[at + 1] = (size >>> 16) & 0xff;
  out[at + 2] = (size >>> 8) & 0xff;
  out[at + 3] = size & 0xff;
  out[at + 4] = 0;
  out[at + 5] = 0;
  out[at + 6] = 0;
  out[at + 7] = type;
}
