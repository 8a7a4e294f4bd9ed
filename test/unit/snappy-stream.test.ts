import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { SnappyFrameDecoder, SnappyFrameEncoder, SNAPPY_STREAM_IDENTIFIER, crc32c } from '../../src/protocol/snappy-stream.js';
import { rng } from '../conformance/frame-parser.suite.js';

const require = createRequire(import.meta.url);

test('CRC-32C of "123456789" is e3069283', () => {
  assert.is(crc32c(Buffer.from('123456789')).toString(16), 'e3069283');
});

test('the stream starts with the identifier chunk', () => {
  const e = new SnappyFrameEncoder();
  const out = e.encode(Buffer.from('hello'));
  assert.equal(out.subarray(0, 10), SNAPPY_STREAM_IDENTIFIER);
  assert.ok(!e.encode(Buffer.from('x')).subarray(0, 10).equals(SNAPPY_STREAM_IDENTIFIER));
});

test('round trip of random data split at random points, including 200 KiB writes', () => {
  const r = rng(7);
  const e = new SnappyFrameEncoder();
  const d = new SnappyFrameDecoder();
  const inputs: Buffer[] = [];
  const wire: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const n = i === 10 ? 200 * 1024 : Math.floor(r() * 3000);
    const b = Buffer.alloc(n);
    for (let k = 0; k < n; k++) b[k] = r() < 0.5 ? 97 : Math.floor(r() * 256);
    inputs.push(b);
    wire.push(e.encode(b));
  }
  const all = Buffer.concat(wire);
  const got: Buffer[] = [];
  for (let pos = 0; pos < all.length; ) {
    const step = 1 + Math.floor(r() * 5000);
    const out = d.push(all.subarray(pos, pos + step));
    if (out instanceof Error) throw out;
    got.push(...out);
    pos += step;
  }
  assert.ok(Buffer.concat(got).equals(Buffer.concat(inputs)));
});

test('corruption is an error, not a crash', () => {
  const e = new SnappyFrameEncoder();
  const wire = e.encode(Buffer.from('some message body some message body'));
  const bad = Buffer.from(wire);
  bad[bad.length - 1] ^= 0xff;
  assert.instance(new SnappyFrameDecoder().push(bad), Error);
  assert.instance(new SnappyFrameDecoder().push(Buffer.from([0x00, 0x05, 0x00, 0x00, 1, 2, 3, 4, 5])), Error);
  assert.instance(new SnappyFrameDecoder().push(Buffer.from([0x02, 0x00, 0x00, 0x00])), Error);
});

test('interoperates with the snappystream package (nsqjs uses it)', async () => {
  const { SnappyStream, UnsnappyStream } = require('snappystream') as {
    SnappyStream: new () => NodeJS.ReadWriteStream;
    UnsnappyStream: new () => NodeJS.ReadWriteStream;
  };
  const text = Buffer.from('interop '.repeat(5000));
  // theirs → ours
  const enc = new SnappyStream();
  const parts: Buffer[] = [];
  enc.on('data', (c: Buffer) => parts.push(c));
  await new Promise<void>((res) => {
    enc.on('end', () => res());
    enc.end(text);
  });
  const mine = new SnappyFrameDecoder().push(Buffer.concat(parts));
  if (mine instanceof Error) throw mine;
  assert.ok(Buffer.concat(mine).equals(text));
  // ours → theirs
  const dec = new UnsnappyStream();
  const back: Buffer[] = [];
  dec.on('data', (c: Buffer) => back.push(c));
  await new Promise<void>((res) => {
    dec.on('end', () => res());
    dec.end(new SnappyFrameEncoder().encode(text));
  });
  assert.ok(Buffer.concat(back).equals(text));
});

test.run();
