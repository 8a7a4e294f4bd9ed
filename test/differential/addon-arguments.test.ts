// The addon's argument checks (native/binding.cc Args): every entry point called with too few
// arguments, a wrong type where a typed array or a number goes, or a number beyond ±2^53 throws
// a TypeError naming the function, and never crashes or reads memory it was not given. Under
// `npm run test:asan` this runs against the sanitizer build. The wrappers in src/native never
// pass such arguments; this guards the boundary itself.
import * as assert from 'uvu/assert';
import { STATE_SLOTS, S_SCAN_END, S_SCAN_START } from '../../src/native/backend.js';
import { differentialSuite } from './generators.js';

differentialSuite('differential: addon argument checks', (t, addon) => {
  const u8 = new Uint8Array(64);
  const i32 = new Int32Array(16);
  const f64 = new Float64Array(3);
  const noop = (): void => {};

  /** A valid call per entry point (the addon accepts it), to derive bad ones from. */
  const calls: Record<string, unknown[]> = {
    bindScanner: [i32, new Int32Array(STATE_SLOTS), 1024, 4096],
    gather: [u8, 0, [u8], i32, i32, i32, 0],
    pushRecords: [u8, 0, u8, i32, i32, 0, 0],
    pushMessages: [u8, 0, u8, u8, i32, i32, 0, 0],
    splitMpub: [u8, 0, 0, 1024, i32, i32],
    writeHeaders: [u8, 0, 0, f64],
    scanRecords: [u8, 0, 0, 0, i32, i32],
    executeBatch: [i32, f64, u8, i32, i32, u8, 0, noop],
    prefault: [[new Uint8Array(4096)], noop],
    unlockDirectory: [-1],
  };
  const fn = (name: string): ((...args: unknown[]) => unknown) => Reflect.get(addon, name) as (...args: unknown[]) => unknown;

  t('the valid calls are accepted', () => {
    for (const [name, args] of Object.entries(calls)) {
      assert.not.throws(() => fn(name)(...args), name);
    }
  });

  t('too few arguments, a wrong type, or a number beyond 2^53: a TypeError naming the function', () => {
    let cases = 0;
    for (const [name, args] of Object.entries(calls)) {
      const bad: unknown[][] = [args.slice(0, args.length - 1)];
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        // writeHeaders takes its count and time as any double (it answers -1 to a bad one).
        const huge = name === 'writeHeaders' ? [] : [2 ** 60];
        const swaps: unknown[] =
          typeof a === 'number' ? ['1', null, ...huge] : a instanceof Float64Array ? [i32, 'x'] : a instanceof Int32Array ? [f64, u8, {}] : a instanceof Uint8Array ? [i32, 'x', null] : [];
        for (const s of swaps) bad.push(args.map((v, k) => (k === i ? s : v)));
      }
      for (const b of bad) {
        cases++;
        let thrown: unknown = null;
        try {
          fn(name)(...b);
        } catch (err) {
          thrown = err;
        }
        assert.ok(thrown instanceof TypeError, `${name}(${b.map((v) => (v instanceof Object ? v.constructor.name : String(v))).join(', ')}) threw ${String(thrown)}`);
        assert.ok((thrown as TypeError).message.startsWith(`${name}:`), (thrown as TypeError).message);
      }
    }
    assert.ok(cases > 60, `${cases} bad calls`);
  });

  t("gather's sources and prefault's buffers: anything but an array of Uint8Arrays is a TypeError; so is a callback that is not a function", () => {
    for (const list of ['x', [i32], [u8, 'x'], {}]) {
      assert.throws(() => fn('gather')(u8, 0, list, i32, i32, i32, 0), (err: unknown) => err instanceof TypeError && (err as Error).message.startsWith('gather:'));
      assert.throws(() => fn('prefault')(list, noop), (err: unknown) => err instanceof TypeError && (err as Error).message.startsWith('prefault:'));
    }
    assert.throws(() => fn('prefault')([u8], 'x'), (err: unknown) => err instanceof TypeError && (err as Error).message.startsWith('prefault:'));
    assert.throws(() => fn('executeBatch')(i32, f64, u8, i32, i32, u8, 0, 'x'), (err: unknown) => err instanceof TypeError && (err as Error).message.startsWith('executeBatch:'));
  });

  t('scan checks its arguments the same way, takes only a handle from bindScanner, and its range from the bound state', () => {
    const state = new Int32Array(STATE_SLOTS);
    const handle = addon.bindScanner(new Int32Array(8), state, 1024, 4096);
    const scan = fn('scan');
    const buf = new TextEncoder().encode('NOP\n');
    const range = (start: number, end: number): void => {
      state[S_SCAN_START] = start;
      state[S_SCAN_END] = end;
    };
    range(0, 4);
    assert.is(scan(buf, handle), 1);
    assert.is(state[S_SCAN_START], 0, 'the range inputs are cleared');
    assert.is(state[S_SCAN_END], 0, 'the range inputs are cleared');
    assert.is(scan(buf, handle), 0, 'a cleared range is empty');
    const bad = [[buf], ['NOP\n', handle], [i32, handle], [buf, {}], [buf, null], [buf, i32], [buf, scan], [handle, buf]];
    for (const b of bad) {
      range(0, 4);
      assert.throws(() => scan(...b), (err: unknown) => err instanceof TypeError && (err as Error).message.startsWith('scan:'));
    }
    range(3, 1);
    assert.is(scan(buf, handle), -1, 'start after end');
    range(-1, 4);
    assert.is(scan(buf, handle), -1, 'negative start');
    range(0, 5);
    assert.is(scan(buf, handle), -1, 'end past the buffer');
    assert.is(state[S_SCAN_END], 0, 'cleared on a refusal too');
    const short = new Int32Array(STATE_SLOTS - 2);
    assert.is(scan(buf, addon.bindScanner(new Int32Array(8), short, 1024, 4096)), -1, 'a state array too short to hold the range');
  });
});
