// nsq_to_file's <DATETIME> formatter (src/tools/nsq-to-file/strftime.ts) against what NSQ's
// strftime.go (jehiah/go-strftime: strftime codes → Go layout → time.Format) produces, including
// the quirk that literal text resembling a Go layout element is substituted too.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §3.1; NSQ apps/nsq_to_file/strftime{,_test}.go;
// Go time/format.go layout elements.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { goTimeFormat, strftime, strftimeToGoLayout } from '../../src/tools/nsq-to-file/strftime.js';

const originalTz = process.env.TZ;

/** Run `fn` with the process time zone set to `tz` (Node re-reads TZ on assignment). */
function inZone(tz: string, fn: () => void): void {
  process.env.TZ = tz;
  try {
    fn();
  } finally {
    if (originalTz === undefined) delete process.env.TZ;
    else process.env.TZ = originalTz;
  }
}

/** Local time `y-m-d h:mi:s.ms` (month 1-based) in the current zone. */
function at(y: number, m: number, d: number, h = 0, mi = 0, s = 0, ms = 0): Date {
  return new Date(y, m - 1, d, h, mi, s, ms);
}

test('NSQ\'s own strftime tests: plain text is kept, %Y is the year', () => {
  inZone('UTC', () => {
    const t = at(2023, 10, 1, 12);
    assert.is(strftime('Simple format', t), 'Simple format');
    assert.is(strftime('%Y', t), '2023');
  });
});

test('the default --datetime-format %Y-%m-%d_%H and the other codes', () => {
  inZone('UTC', () => {
    const t = at(2023, 10, 1, 12, 4, 5); // a Sunday
    assert.is(strftime('%Y-%m-%d_%H', t), '2023-10-01_12');
    assert.is(strftime('%Y-%m-%d_%H', at(2026, 1, 9, 5)), '2026-01-09_05');
    assert.is(strftime('%B %b %A %a', t), 'October Oct Sunday Sun');
    assert.is(strftime('%H:%M:%S', at(2023, 3, 7, 9, 5, 3)), '09:05:03');
    assert.is(strftime('%y %m %d', at(2009, 2, 3)), '09 02 03');
    assert.is(strftime('%I %p', t), '12 PM');
    assert.is(strftime('%I %p', at(2023, 10, 1, 0, 30)), '12 AM');
    assert.is(strftime('%I %p', at(2023, 10, 1, 15)), '03 PM');
    assert.is(strftime('%Z %z', t), 'UTC +0000');
    assert.is(strftime('x%%y', t), 'x%y');
    assert.is(strftime('100%%', t), '1000%', 'the 1 of 100 is a Go month');
  });
});

test('unknown codes pass through; a trailing % stays', () => {
  inZone('UTC', () => {
    const t = at(2023, 10, 1, 12);
    assert.is(strftime('%q%e%Y', t), '%q%e2023');
    assert.is(strftime('x%', t), 'x%');
    assert.is(strftimeToGoLayout('%Y-%m-%d_%H'), '2006-01-02_15');
    assert.is(strftimeToGoLayout('%B %b %A %a %I %M %S %y %p %Z %z %%'), 'January Jan Monday Mon 03 04 05 06 PM MST -0700 %');
  });
});

test('NSQ\'s quirk: literal text that looks like a Go layout element is substituted as well', () => {
  inZone('UTC', () => {
    const t = at(2023, 10, 1, 12, 7, 8);
    // "1" is Go's month number, "2" the day, "15" the hour, "2006" the year, "Jan" the month name.
    assert.is(strftime('v1', t), 'v10');
    assert.is(strftime('run2', t), 'run1');
    assert.is(strftime('at15', t), 'at12');
    assert.is(strftime('2006', t), '2023');
    assert.is(strftime('Jan.', t), 'Oct.');
    // ... but not "Jan" followed by a lower-case letter, nor digits Go does not read (0, 6-9 alone).
    assert.is(strftime('Janet', t), 'Janet');
    assert.is(strftime('07-8-9', t), '07-8-9');
    // 3, 4, 5: 12-hour, minute and second without padding; MST and PM are the zone and AM/PM.
    assert.is(strftime('h3m4s5', t), 'h12m7s8');
    assert.is(strftime('MST PM pm', t), 'UTC PM pm');
    // _2 is the space-padded day; 002 the day of the year; .000 fractional seconds.
    assert.is(strftime('_2|002', at(2023, 2, 3)), ' 3|034');
    assert.is(strftime('%S.000', at(2023, 10, 1, 12, 0, 9, 45)), '09.045');
    assert.is(strftime('%S.999', at(2023, 10, 1, 12, 0, 9, 450)), '09.45');
    assert.is(strftime('%S.999', at(2023, 10, 1, 12, 0, 9, 0)), '09');
  });
});

test('local time: <DATETIME> follows the process time zone (%H, %Z, %z)', () => {
  inZone('America/New_York', () => {
    const winter = new Date(Date.UTC(2024, 0, 15, 17, 30));
    assert.is(strftime('%Y-%m-%d_%H', winter), '2024-01-15_12');
    assert.is(strftime('%Z %z', winter), 'EST -0500');
    const summer = new Date(Date.UTC(2024, 6, 15, 17, 30));
    assert.is(strftime('%H %Z %z', summer), '13 EDT -0400');
  });
  inZone('Asia/Kolkata', () => {
    const t = new Date(Date.UTC(2024, 0, 15, 23, 0));
    assert.is(strftime('%Y-%m-%d_%H:%M %z', t), '2024-01-16_04:30 +0530');
  });
});

test('goTimeFormat handles the numeric zone forms', () => {
  inZone('UTC', () => {
    const t = at(2023, 10, 1, 12);
    assert.is(goTimeFormat('-07:00 -07 Z07:00 Z0700', t), '+00:00 +00 Z Z');
  });
  inZone('America/New_York', () => {
    const t = new Date(Date.UTC(2024, 0, 15, 17, 30));
    assert.is(goTimeFormat('-07:00 -07 Z07:00 Z0700 -070000', t), '-05:00 -05 -05:00 -0500 -050000');
  });
});

test.run();
