import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Logger } from '../internal/log.js';
import { segmentFileName, type QueueMetadata } from './metadata.js';

/** Where a queue resumes after a start: positions, the sizes of finished segments, bytes on disk. */
export interface RecoveredQueue {
  meta: QueueMetadata;
  /** Sizes of segments that will not be written again (the reader's end for each). */
  fileSizes: Map<number, number>;
  /** Bytes of the segments from the read file on. */
  bytesHeld: number;
  /** Whether the positions differ from the metadata file (it should be rewritten). */
  changed: boolean;
}

/** Numbers of the `<name>.diskqueue.NNNNNN.dat` files in dataPath, ascending. */
export function listSegments(dataPath: string, name: string): number[] {
  const prefix = `${name}.diskqueue.`;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dataPath);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.startsWith(prefix) || !e.endsWith('.dat')) continue;
    const digits = e.slice(prefix.length, -'.dat'.length);
    if (/^[0-9]{6,}$/.test(digits)) out.push(Number(digits));
  }
  return out.sort((a, b) => a - b);
}

/** Whole records in file[from, to) whose sizes are within bounds, stopping at the first that is not. */
function countRecords(file: string, from: number, minMsgSize: number, maxMsgSize: number): number {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return 0;
  }
  let n = 0;
  for (let p = from; buf.length - p >= 4; n++) {
    const len = buf.readInt32BE(p);
    if (len < minMsgSize || len > maxMsgSize || buf.length - p - 4 < len) break;
    p += 4 + len;
  }
  return n;
}

function sizeOf(file: string): number | null {
  try {
    return statSync(file).size;
  } catch {
    return null;
  }
}

/**
 * Reconcile a queue's metadata with the segment files. go-diskqueue trusts its metadata, which
 * it syncs every --sync-every messages, --sync-timeout and segment roll; whatever was written
 * after the last sync is then overwritten (metadata missing: from file 0) or, when the write
 * file grew, read but its records not counted. Here the files decide what exists: records past
 * the metadata's write position (in the write file or in later segments, with no metadata in
 * every segment) are kept and counted, and writing resumes in a fresh segment after the last
 * one. A write file shorter than the metadata says lost data: writing moves on too, and the
 * reader renames it `.bad` when it gets there (go-diskqueue's reader does the same).
 */
export function recoverQueue(dataPath: string, name: string, stored: QueueMetadata | null, logger: Logger, minMsgSize: number, maxMsgSize: number): RecoveredQueue {
  const file = (n: number) => segmentFileName(dataPath, name, n);
  const segs = listSegments(dataPath, name);
  const meta: QueueMetadata = stored ?? { depth: 0, readFileNum: segs[0] ?? 0, readPos: 0, writeFileNum: segs[0] ?? 0, writePos: 0 };
  const fileSizes = new Map<number, number>();
  const last = segs.length > 0 ? segs[segs.length - 1]! : -1;
  let changed = false;
  const writeSize = sizeOf(file(meta.writeFileNum));
  if (writeSize !== null && meta.writePos > writeSize) {
    logger.warn(`DISKQUEUE(${name}) ${file(meta.writeFileNum)} is ${writeSize} bytes, metadata writePos ${meta.writePos}: data lost, writing moves to a new file`);
    fileSizes.set(meta.writeFileNum, meta.writePos);
    meta.writeFileNum++;
    meta.writePos = 0;
    changed = true;
  }
  const currentSize = sizeOf(file(meta.writeFileNum));
  if ((currentSize !== null && meta.writePos < currentSize) || last > meta.writeFileNum) {
    let extra = 0;
    for (let f = meta.writeFileNum; f <= Math.max(last, meta.writeFileNum); f++) {
      const size = sizeOf(file(f));
      if (size === null) continue;
      const from = f === meta.writeFileNum ? meta.writePos : 0;
      if (size > from) extra += countRecords(file(f), from, minMsgSize, maxMsgSize);
      fileSizes.set(f, size);
    }
    const next = Math.max(last, meta.writeFileNum) + 1;
    if (stored !== null && currentSize !== null && meta.writePos < currentSize) {
      logger.warn(`DISKQUEUE(${name}) ${file(meta.writeFileNum)} metadata writePos ${meta.writePos} < file size of ${currentSize}, skipping to new file`);
    }
    logger.warn(`DISKQUEUE(${name}) ${extra} records past the ${stored === null ? 'start (no metadata)' : `metadata write position ${meta.writeFileNum},${meta.writePos}`} kept; writing resumes in ${file(next)}`);
    meta.depth = Math.max(0, meta.depth) + extra;
    meta.writeFileNum = next;
    meta.writePos = 0;
    changed = true;
  }
  let bytesHeld = 0;
  for (let f = meta.readFileNum; f <= meta.writeFileNum; f++) bytesHeld += fileSizes.get(f) ?? sizeOf(file(f)) ?? 0;
  return { meta, fileSizes, bytesHeld, changed };
}
