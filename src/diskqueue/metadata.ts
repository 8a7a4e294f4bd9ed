import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The positions go-diskqueue persists in `<name>.diskqueue.meta.dat`. */
export interface QueueMetadata {
  depth: number;
  readFileNum: number;
  readPos: number;
  writeFileNum: number;
  writePos: number;
}

/** `<dataPath>/<name>.diskqueue.%06d.dat` */
export function segmentFileName(dataPath: string, name: string, fileNum: number): string {
  return join(dataPath, `${name}.diskqueue.${String(fileNum).padStart(6, '0')}.dat`);
}

/** `<dataPath>/<name>.diskqueue.meta.dat` */
export function metadataFileName(dataPath: string, name: string): string {
  return join(dataPath, `${name}.diskqueue.meta.dat`);
}

/** The text go-diskqueue writes: `<depth>\n<readFileNum>,<readPos>\n<writeFileNum>,<writePos>\n`. */
export function formatMetadata(m: QueueMetadata): string {
  return `${m.depth}\n${m.readFileNum},${m.readPos}\n${m.writeFileNum},${m.writePos}\n`;
}

/**
 * Read a metadata file the way go-diskqueue scans it (`%d\n%d,%d\n%d,%d\n`); null when missing,
 * an Error when unreadable (go-diskqueue then logs and starts from zero for what did not parse).
 */
export function readMetadata(file: string): QueueMetadata | null | Error {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return err as Error;
  }
  const m = /^\s*(-?\d+)\n\s*(-?\d+),(-?\d+)\n\s*(-?\d+),(-?\d+)\n/.exec(text);
  if (m === null) return new Error(`bad metadata in ${file}`);
  return {
    depth: Number(m[1]),
    readFileNum: Number(m[2]),
    readPos: Number(m[3]),
    writeFileNum: Number(m[4]),
    writePos: Number(m[5]),
  };
}
