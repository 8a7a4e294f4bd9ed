// The client's FrameReader: the same frames whatever the chunking (whole stream, one byte at a
// time, random splits), zero-copy for frames inside a chunk, invalid sizes rejected, pause/resume.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameReader, type FrameSink } from '../../src/client/frame-reader.js';
import { encodeFrame } from '../../src/protocol/frames.js';
import { prng } from '../helpers/prng.js';

interface Got {
  type: number;
  data: string;
}

class Collect implements FrameSink {
  frames: Got[] = [];
  onFrame(type: number, buf: Buffer, start: number, end: number): void {
    this.frames.push({ type, data: buf.toString('latin1', start, end) });
  }
}

function frame(type: number, data: Buffer | string): Buffer {
  return encodeFrame(type, typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
}

function sampleStream(rand: () => number, n: number): { bytes: Buffer; expect: Got[] } {
  const parts: Buffer[] = [];
  const expect: Got[] = [];
  for (let i = 0; i < n; i++) {
    const type = Math.floor(rand() * 3);
    const len = rand() < 0.1 ? 0 : Math.floor(rand() * (rand() < 0.2 ? 5000 : 60));
    const data = Buffer.alloc(len);
    for (let k = 0; k < len; k++) data[k] = Math.floor(rand() * 256);
    parts.push(frame(type, data));
    expect.push({ type, data: data.toString('latin1') });
  }
  return { bytes: Buffer.concat(parts), expect };
}

test('whole stream in one chunk', () => {
  const rand = prng(1);
  const { bytes, expect } = sampleStream(rand, 300);
  const sink = new Collect();
  const r = new FrameReader(sink);
  assert.is(r.push(bytes), bytes.length);
  assert.equal(sink.frames, expect);
});

test('one byte at a time', () => {
  const rand = prng(2);
  const { bytes, expect } = sampleStream(rand, 200);
  const sink = new Collect();
  const r = new FrameReader(sink);
  for (let i = 0; i < bytes.length; i++) assert.is(r.push(bytes.subarray(i, i + 1)), 1);
  assert.equal(sink.frames, expect);
});

test('random splits, many seeds', () => {
  for (let seed = 10; seed < 60; seed++) {
    const rand = prng(seed);
    const { bytes, expect } = sampleStream(rand, 80);
    const sink = new Collect();
    const r = new FrameReader(sink);
    let pos = 0;
    while (pos < bytes.length) {
      const n = 1 + Math.floor(rand() * (rand() < 0.5 ? 7 : 3000));
      const chunk = Buffer.from(bytes.subarray(pos, pos + n)); // a fresh buffer, as sockets give
      assert.is(r.push(chunk), chunk.length);
      pos += n;
    }
    assert.equal(sink.frames, expect, `seed ${seed}`);
  }
});

test('a frame inside one chunk is delivered as offsets into that chunk (no copy)', () => {
  const chunk = Buffer.concat([frame(0, 'OK'), frame(2, 'x'.repeat(40))]);
  const seen: Buffer[] = [];
  const r = new FrameReader({ onFrame: (_t, buf) => void seen.push(buf) });
  r.push(chunk);
  assert.is(seen.length, 2);
  assert.ok(seen[0] === chunk && seen[1] === chunk);
});

test('invalid sizes stop the reader: negative, below 4, HTTP, above the limit', () => {
  const cases: [Buffer, number, RegExp][] = [
    [Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, /invalid frame size -1/],
    [Buffer.from([0, 0, 0, 3, 0, 0, 0]), 0, /invalid frame size 3/],
    [Buffer.from('HTTP/1.1 400 Bad Request\r\n', 'latin1'), 0, /unexpected HTTP response/],
    [frame(2, 'y'.repeat(100)), 50, /exceeds the limit of 50/],
  ];
  for (const [bytes, max, re] of cases) {
    const sink = new Collect();
    const r = new FrameReader(sink, max);
    // Byte by byte too: the size check fires once the size is complete.
    let res = 0;
    for (let i = 0; i < bytes.length && res >= 0; i++) res = r.push(bytes.subarray(i, i + 1));
    assert.is(res, -1);
    assert.match(String(r.error?.message), re);
    assert.is(r.push(frame(0, 'OK')), -1, 'stays stopped');
    assert.is(sink.frames.length, 0);
  }
});

test('pause after a frame returns the offset where the next layer starts; resume continues', () => {
  const chunk = Buffer.concat([frame(0, '{"json":1}'), Buffer.from('compressed-bytes')]);
  const frames: string[] = [];
  const r = new FrameReader({
    onFrame: (_t, buf, s, e) => {
      frames.push(buf.toString('latin1', s, e));
      r.pause();
    },
  });
  const used = r.push(chunk);
  assert.is(used, 18);
  assert.equal(frames, ['{"json":1}']);
  r.resume();
  assert.is(r.push(frame(0, 'OK')), 10);
  assert.equal(frames, ['{"json":1}', 'OK']);
});

test.run();
