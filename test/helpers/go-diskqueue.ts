// An independent reader and writer of go-diskqueue v1.1.0 files (spec §4), written from the spec
// and not from src/diskqueue, so tests can check our directories the way Go nsqd would read them
// and craft directories (including broken ones) the way Go nsqd would have left them.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The 26 bytes before a message body: timestamp 8 + attempts 2 + id 16 (spec §1.4). */
export const MSG_HEADER_BYTES = 26;
/** The int32 length before each record payload (spec §4.3). */
export const RECORD_LENGTH_BYTES = 4;

/** The five numbers of `<name>.diskqueue.meta.dat` (spec §4.2). */
export interface GoMeta {
  depth: number;
  readFileNum: number;
  readPos: number;
  writeFileNum: number;
  writePos: number;
}

/** A message as it sits in a segment. */
export interface GoMessage {
  timestamp: bigint;
  attempts: number;
  id: string;
  body: Buffer;
}

/** A record found in a segment file: where it starts and what it holds. */
export interface GoRecord extends GoMessage {
  fileNum: number;
  /** Offset of the int32 length prefix in the segment. */
  pos: number;
  /** Bytes the record takes: 4 + payload length. */
  size: number;
  /** The payload bytes (26-byte header + body). */
  payload: Buffer;
}

/** `<name>.diskqueue.%06d.dat` */
export function segmentName(name: string, fileNum: number): string {
  return `${name}.diskqueue.${String(fileNum).padStart(6, '0')}.dat`;
}

/** `<name>.diskqueue.meta.dat` */
export function metaName(name: string): string {
  return `${name}.diskqueue.meta.dat`;
}

/**
 * Parse metadata text exactly as go-diskqueue writes it, `%d\n%d,%d\n%d,%d\n` with nothing
 * before or after; throws on anything else.
 */
export function parseGoMeta(text: string): GoMeta {
  const m = /^(-?\d+)\n(-?\d+),(-?\d+)\n(-?\d+),(-?\d+)\n$/.exec(text);
  if (m === null) throw new Error(`metadata ${JSON.stringify(text)} is not %d\\n%d,%d\\n%d,%d\\n`);
  return { depth: Number(m[1]), readFileNum: Number(m[2]), readPos: Number(m[3]), writeFileNum: Number(m[4]), writePos: Number(m[5]) };
}

/** The metadata text go-diskqueue writes. */
export function formatGoMeta(m: GoMeta): string {
  return `${m.depth}\n${m.readFileNum},${m.readPos}\n${m.writeFileNum},${m.writePos}\n`;
}

/** The metadata text of queue `name` in `dir`, or null when the file does not exist. */
export function readMetaText(dir: string, name: string): string | null {
  const p = join(dir, metaName(name));
  return existsSync(p) ? readFileSync(p, 'latin1') : null;
}

/** Parsed metadata of queue `name` in `dir` (throws when missing or malformed). */
export function readGoMeta(dir: string, name: string): GoMeta {
  const t = readMetaText(dir, name);
  if (t === null) throw new Error(`${metaName(name)} is missing in ${dir}`);
  return parseGoMeta(t);
}

/** Write metadata as go-diskqueue would have left it. */
export function writeGoMeta(dir: string, name: string, m: GoMeta): void {
  writeFileSync(join(dir, metaName(name)), formatGoMeta(m));
}

/** A 16-char lowercase hex id from a number. */
export function hexId(n: number | bigint): string {
  return BigInt(n).toString(16).padStart(16, '0');
}

/** One record: [int32 BE length][timestamp int64][attempts uint16][id 16][body]. */
export function encodeRecord(m: GoMessage): Buffer {
  if (!/^[0-9a-f]{16}$/.test(m.id)) throw new Error(`bad id ${m.id}`);
  const out = Buffer.alloc(RECORD_LENGTH_BYTES + MSG_HEADER_BYTES + m.body.length);
  out.writeInt32BE(MSG_HEADER_BYTES + m.body.length, 0);
  out.writeBigInt64BE(m.timestamp, 4);
  out.writeUInt16BE(m.attempts, 12);
  out.write(m.id, 14, 'latin1');
  m.body.copy(out, 4 + MSG_HEADER_BYTES);
  return out;
}

/** Messages with bodies `${prefix}${i}` (i from `first`, zero-padded to 3 digits), distinct ids and increasing timestamps. */
export function makeMessages(prefix: string, count: number, first = 1, idBase = 0x1000): GoMessage[] {
  const out: GoMessage[] = [];
  for (let i = 0; i < count; i++) {
    const n = first + i;
    out.push({ timestamp: 1_700_000_000_000_000_000n + BigInt(n) * 1000n, attempts: 0, id: hexId(idBase + n), body: Buffer.from(`${prefix}${String(n).padStart(3, '0')}`) });
  }
  return out;
}

/** Write a segment holding these messages back to back (plus `tail` bytes); returns its size. */
export function writeSegment(dir: string, name: string, fileNum: number, msgs: GoMessage[], tail: Buffer = Buffer.alloc(0)): number {
  const data = Buffer.concat([...msgs.map(encodeRecord), tail]);
  writeFileSync(join(dir, segmentName(name, fileNum)), data);
  return data.length;
}

/**
 * Parse every record of a segment buffer from `from` to its end; throws on a length outside
 * [26, maxMsgSize] or a record running past the end (what go-diskqueue would call corrupt).
 */
export function parseSegment(buf: Buffer, fileNum: number, from = 0, to = buf.length, maxMsgSize = 1024 * 1024 + MSG_HEADER_BYTES): GoRecord[] {
  const out: GoRecord[] = [];
  let p = from;
  while (p < to) {
    if (to - p < RECORD_LENGTH_BYTES) throw new Error(`segment ${fileNum}: ${to - p} stray bytes at ${p}`);
    const len = buf.readInt32BE(p);
    if (len < MSG_HEADER_BYTES || len > maxMsgSize) throw new Error(`segment ${fileNum}: invalid message read size (${len}) at ${p}`);
    if (p + RECORD_LENGTH_BYTES + len > to) throw new Error(`segment ${fileNum}: record at ${p} of ${len} bytes runs past ${to}`);
    const payload = buf.subarray(p + 4, p + 4 + len);
    out.push({
      fileNum,
      pos: p,
      size: RECORD_LENGTH_BYTES + len,
      payload,
      timestamp: payload.readBigInt64BE(0),
      attempts: payload.readUInt16BE(8),
      id: payload.toString('latin1', 10, 26),
      body: payload.subarray(26),
    });
    p += RECORD_LENGTH_BYTES + len;
  }
  return out;
}

/** Records of segment `fileNum` of queue `name`. */
export function readSegment(dir: string, name: string, fileNum: number): GoRecord[] {
  return parseSegment(readFileSync(join(dir, segmentName(name, fileNum))), fileNum);
}

/** Segment numbers of queue `name` present in `dir` (not `.bad`), ascending. */
export function segmentNumbers(dir: string, name: string): number[] {
  const prefix = `${name}.diskqueue.`;
  const out: number[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.startsWith(prefix)) continue;
    const m = /^(\d{6})\.dat$/.exec(f.slice(prefix.length));
    if (m !== null) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** What a queue's files say is still to be read. */
export interface GoQueueState {
  meta: GoMeta;
  /** Records a go-diskqueue reader would hand out, in order. */
  pending: GoRecord[];
  /** Segment numbers present on disk. */
  segments: number[];
}

/**
 * Read a queue the way go-diskqueue v1.1.0 does (spec §4.5): from (readFileNum, readPos); a
 * file before writeFileNum is read to its physical end, the write file up to writePos. Throws
 * on anything a Go reader would treat as corruption (missing file, bad length, torn record).
 */
export function readGoQueue(dir: string, name: string): GoQueueState {
  const meta = readGoMeta(dir, name);
  const pending: GoRecord[] = [];
  for (let f = meta.readFileNum; f <= meta.writeFileNum; f++) {
    const from = f === meta.readFileNum ? meta.readPos : 0;
    const path = join(dir, segmentName(name, f));
    if (f === meta.writeFileNum && meta.writePos === 0 && from === 0) break;
    if (!existsSync(path)) throw new Error(`${segmentName(name, f)} is missing (metadata ${JSON.stringify(formatGoMeta(meta))})`);
    const buf = readFileSync(path);
    const to = f < meta.writeFileNum ? buf.length : meta.writePos;
    if (to > buf.length) throw new Error(`${segmentName(name, f)}: writePos ${to} beyond its ${buf.length} bytes`);
    pending.push(...parseSegment(buf, f, from, to));
  }
  return { meta, pending, segments: segmentNumbers(dir, name) };
}

/**
 * Where records of these sizes (4 + payload) land when written from (fileNum, pos) with
 * go-diskqueue's roll rule (spec §4.4): roll first when pos > 0 && pos + size > max.
 */
export function goLayout(sizes: number[], maxBytesPerFile: number, fileNum = 0, pos = 0): { fileNum: number; pos: number; end: { fileNum: number; pos: number } } [] {
  const out: { fileNum: number; pos: number; end: { fileNum: number; pos: number } }[] = [];
  for (const size of sizes) {
    if (pos > 0 && pos + size > maxBytesPerFile) {
      fileNum++;
      pos = 0;
    }
    const at = { fileNum, pos };
    pos += size;
    out.push({ ...at, end: { fileNum, pos } });
  }
  return out;
}

/** nsqd.dat as JSON (spec §3.10). */
export interface NsqdDat {
  topics: { name: string; paused: boolean; channels: { name: string; paused: boolean }[] | null }[] | null;
  version: string;
}

/** Read and parse `<dir>/nsqd.dat`. */
export function readNsqdDat(dir: string): { text: string; doc: NsqdDat } {
  const text = readFileSync(join(dir, 'nsqd.dat'), 'utf8');
  return { text, doc: JSON.parse(text) as NsqdDat };
}

/** nsqd.dat with topics and channels sorted by name (its arrays are in map order, spec §3.10). */
export function normalizeNsqdDat(doc: NsqdDat): NsqdDat {
  const topics = doc.topics === null ? null : [...doc.topics]
    .map((t) => ({ name: t.name, paused: t.paused, channels: t.channels === null ? null : [...t.channels].map((c) => ({ name: c.name, paused: c.paused })).sort((a, b) => a.name.localeCompare(b.name)) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { topics, version: doc.version };
}

/** Write an nsqd.dat as Go nsqd 1.3.0 would. */
export function writeNsqdDat(dir: string, topics: { name: string; paused?: boolean; channels?: { name: string; paused?: boolean }[] }[]): void {
  const doc = {
    topics: topics.map((t) => ({
      name: t.name,
      paused: t.paused ?? false,
      channels: t.channels === undefined || t.channels.length === 0 ? null : t.channels.map((c) => ({ name: c.name, paused: c.paused ?? false })),
    })),
    version: '1.3.0',
  };
  writeFileSync(join(dir, 'nsqd.dat'), JSON.stringify(doc));
}

/** Size of a file, or -1 when it does not exist. */
export function fileSize(dir: string, file: string): number {
  const p = join(dir, file);
  return existsSync(p) ? statSync(p).size : -1;
}
