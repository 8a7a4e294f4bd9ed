import {
  Cmd,
  MAX_LINE_LENGTH,
  RECORD_STRIDE,
  R_BODY_LEN,
  R_BODY_START,
  R_CODE,
  R_LINE_END,
  R_LINE_START,
  R_SIZE,
  R_SRC,
  R_STATUS,
  STAGE_BODY,
  STAGE_LINE,
  STAGE_NONE,
  STAGE_SIZE,
  STAGE_STOPPED,
  S_CODE,
  S_CONSUMED,
  S_LINE_LEN,
  S_NEED,
  S_STAGE,
  ScanStatus,
  type FrameScanner,
  type ScanLimits,
} from '../backend.js';

const NL = 0x0a;
const CR = 0x0d;
const SP = 0x20;

/** Classify the command word in buf[start, end) (end excludes the space or line end). */
export function classifyCommand(buf: Uint8Array, start: number, end: number): Cmd {
  const len = end - start;
  const c0 = buf[start];
  switch (len) {
    case 3:
      if (c0 === 0x46 && buf[start + 1] === 0x49 && buf[start + 2] === 0x4e) return Cmd.FIN; // FIN
      if (c0 === 0x52) {
        if (buf[start + 1] === 0x44 && buf[start + 2] === 0x59) return Cmd.RDY; // RDY
        if (buf[start + 1] === 0x45 && buf[start + 2] === 0x51) return Cmd.REQ; // REQ
        return Cmd.UNKNOWN;
      }
      if (c0 === 0x50 && buf[start + 1] === 0x55 && buf[start + 2] === 0x42) return Cmd.PUB; // PUB
      if (c0 === 0x53 && buf[start + 1] === 0x55 && buf[start + 2] === 0x42) return Cmd.SUB; // SUB
      if (c0 === 0x4e && buf[start + 1] === 0x4f && buf[start + 2] === 0x50) return Cmd.NOP; // NOP
      if (c0 === 0x43 && buf[start + 1] === 0x4c && buf[start + 2] === 0x53) return Cmd.CLS; // CLS
      return Cmd.UNKNOWN;
    case 4:
      if (c0 === 0x4d && buf[start + 1] === 0x50 && buf[start + 2] === 0x55 && buf[start + 3] === 0x42) return Cmd.MPUB;
      if (c0 === 0x44 && buf[start + 1] === 0x50 && buf[start + 2] === 0x55 && buf[start + 3] === 0x42) return Cmd.DPUB;
      if (c0 === 0x41 && buf[start + 1] === 0x55 && buf[start + 2] === 0x54 && buf[start + 3] === 0x48) return Cmd.AUTH;
      return Cmd.UNKNOWN;
    case 5:
      if (c0 === 0x54 && buf[start + 1] === 0x4f && buf[start + 2] === 0x55 && buf[start + 3] === 0x43 && buf[start + 4] === 0x48) return Cmd.TOUCH;
      return Cmd.UNKNOWN;
    case 8:
      if (
        c0 === 0x49 && buf[start + 1] === 0x44 && buf[start + 2] === 0x45 && buf[start + 3] === 0x4e &&
        buf[start + 4] === 0x54 && buf[start + 5] === 0x49 && buf[start + 6] === 0x46 && buf[start + 7] === 0x59
      ) return Cmd.IDENTIFY;
      return Cmd.UNKNOWN;
    default:
      return Cmd.UNKNOWN;
  }
}

/** Body size limit of a command, or 0 when the command carries no body. */
export function bodyLimit(code: Cmd, limits: ScanLimits): number {
  switch (code) {
    case Cmd.PUB:
    case Cmd.DPUB:
      return limits.maxMsgSize;
    case Cmd.MPUB:
    case Cmd.IDENTIFY:
    case Cmd.AUTH:
      return limits.maxBodySize;
    default:
      return 0;
  }
}

/** Pure-TypeScript FrameScanner: indexOf for newlines, byte compares for command words. */
export class TsFrameScanner implements FrameScanner {
  private readonly limits: ScanLimits;

  constructor(limits: ScanLimits) {
    this.limits = { maxMsgSize: limits.maxMsgSize, maxBodySize: limits.maxBodySize };
  }

  scan(buf: Uint8Array, start: number, end: number, records: Int32Array, state: Int32Array): number {
    const capacity = (records.length / RECORD_STRIDE) | 0;
    let n = 0;
    let pos = start;
    while (pos < end) {
      if (n === capacity) break;
      let nl = buf.indexOf(NL, pos);
      if (nl === -1 || nl >= end) {
        if (end - pos >= MAX_LINE_LENGTH) return this.stop(records, n, ScanStatus.LINE_TOO_LONG, Cmd.UNKNOWN, pos, end, state);
        state[S_CONSUMED] = pos;
        state[S_STAGE] = STAGE_LINE;
        state[S_NEED] = -1;
        state[S_CODE] = Cmd.UNKNOWN;
        state[S_LINE_LEN] = 0;
        return n;
      }
      if (nl - pos + 1 > MAX_LINE_LENGTH) return this.stop(records, n, ScanStatus.LINE_TOO_LONG, Cmd.UNKNOWN, pos, end, state);
      let lineEnd = nl;
      if (lineEnd > pos && buf[lineEnd - 1] === CR) lineEnd--;
      let wordEnd = pos;
      while (wordEnd < lineEnd && buf[wordEnd] !== SP) wordEnd++;
      const code = classifyCommand(buf, pos, wordEnd);
      const limit = bodyLimit(code, this.limits);
      const base = n * RECORD_STRIDE;
      if (limit === 0) {
        records[base + R_CODE] = code;
        records[base + R_STATUS] = ScanStatus.COMPLETE;
        records[base + R_SRC] = 0;
        records[base + R_LINE_START] = pos;
        records[base + R_LINE_END] = lineEnd;
        records[base + R_BODY_START] = -1;
        records[base + R_BODY_LEN] = -1;
        records[base + R_SIZE] = -1;
        n++;
        pos = nl + 1;
        continue;
      }
      const lineLen = nl + 1 - pos;
      const sizeAt = nl + 1;
      if (end - sizeAt < 4) {
        state[S_CONSUMED] = pos;
        state[S_STAGE] = STAGE_SIZE;
        state[S_NEED] = lineLen + 4;
        state[S_CODE] = code;
        state[S_LINE_LEN] = lineLen;
        return n;
      }
      const size = ((buf[sizeAt]! << 24) | (buf[sizeAt + 1]! << 16) | (buf[sizeAt + 2]! << 8) | buf[sizeAt + 3]!) | 0;
      if (size <= 0 || size > limit) {
        records[base + R_CODE] = code;
        records[base + R_STATUS] = ScanStatus.BAD_SIZE;
        records[base + R_SRC] = 0;
        records[base + R_LINE_START] = pos;
        records[base + R_LINE_END] = lineEnd;
        records[base + R_BODY_START] = -1;
        records[base + R_BODY_LEN] = -1;
        records[base + R_SIZE] = size;
        state[S_CONSUMED] = end;
        state[S_STAGE] = STAGE_STOPPED;
        state[S_NEED] = -1;
        state[S_CODE] = code;
        state[S_LINE_LEN] = lineLen;
        return n + 1;
      }
      const bodyAt = sizeAt + 4;
      if (end - bodyAt < size) {
        state[S_CONSUMED] = pos;
        state[S_STAGE] = STAGE_BODY;
        state[S_NEED] = lineLen + 4 + size;
        state[S_CODE] = code;
        state[S_LINE_LEN] = lineLen;
        return n;
      }
      records[base + R_CODE] = code;
      records[base + R_STATUS] = ScanStatus.COMPLETE;
      records[base + R_SRC] = 0;
      records[base + R_LINE_START] = pos;
      records[base + R_LINE_END] = lineEnd;
      records[base + R_BODY_START] = bodyAt;
      records[base + R_BODY_LEN] = size;
      records[base + R_SIZE] = size;
      n++;
      pos = bodyAt + size;
    }
    state[S_CONSUMED] = pos;
    state[S_STAGE] = STAGE_NONE;
    state[S_NEED] = 0;
    state[S_CODE] = Cmd.UNKNOWN;
    state[S_LINE_LEN] = 0;
    return n;
  }

  private stop(records: Int32Array, n: number, status: ScanStatus, code: Cmd, pos: number, end: number, state: Int32Array): number {
    const base = n * RECORD_STRIDE;
    records[base + R_CODE] = code;
    records[base + R_STATUS] = status;
    records[base + R_SRC] = 0;
    records[base + R_LINE_START] = pos;
    records[base + R_LINE_END] = pos;
    records[base + R_BODY_START] = -1;
    records[base + R_BODY_LEN] = -1;
    records[base + R_SIZE] = -1;
    state[S_CONSUMED] = end;
    state[S_STAGE] = STAGE_STOPPED;
    state[S_NEED] = -1;
    state[S_CODE] = code;
    state[S_LINE_LEN] = 0;
    return n + 1;
  }
}
