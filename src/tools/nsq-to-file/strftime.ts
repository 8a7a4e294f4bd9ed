// nsq_to_file's <DATETIME> (apps/nsq_to_file/strftime.go in NSQ v1.3.0): the strftime codes
// %B %b %m %A %a %d %H %I %M %S %Y %y %p %Z %z %% are turned into a Go time layout, and the
// result is formatted with Go's time.Format. So, as in NSQ, literal text of the format that looks
// like a Go layout element (`2006`, `01`, `Jan`, `15`, `PM`, `MST`, ...) is replaced too.

const CONVERSION: Record<string, string> = {
  B: 'January', b: 'Jan', m: '01', A: 'Monday', a: 'Mon', d: '02', H: '15', I: '03', M: '04', S: '05',
  Y: '2006', y: '06', p: 'PM', Z: 'MST', z: '-0700', '%': '%',
};

/** Convert a strftime format into a Go time layout (unknown `%x` codes are kept as they are). */
export function strftimeToGoLayout(format: string): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === '%' && i + 1 < format.length) {
      const conv = CONVERSION[format[i + 1]!];
      if (conv !== undefined) {
        out += conv;
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function pad(n: number, w: number, c = '0'): string {
  return String(n).padStart(w, c);
}

/** Built once per TZ setting: constructing an Intl.DateTimeFormat costs far more than formatting with it. */
let zoneFormat: Intl.DateTimeFormat | null = null;
let zoneFormatTz: string | undefined;

function zoneFormatter(): Intl.DateTimeFormat {
  if (zoneFormat === null || zoneFormatTz !== process.env.TZ) {
    zoneFormat = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });
    zoneFormatTz = process.env.TZ;
  }
  return zoneFormat;
}

/** The local zone's abbreviation as Go prints it for MST (e.g. `UTC`, `CET`; `+0530`-style when there is none). */
function zoneName(d: Date): string {
  const name = zoneFormatter().formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
  if (name !== '' && !/^GMT[+-]/.test(name)) return name === 'GMT' && d.getTimezoneOffset() === 0 ? 'UTC' : name;
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${sign}${pad(Math.floor(a / 60), 2)}${a % 60 === 0 ? '' : pad(a % 60, 2)}`;
}

function zoneOffset(d: Date, colon: boolean, seconds: boolean, short: boolean, z: boolean): string {
  const off = -d.getTimezoneOffset();
  if (z && off === 0) return 'Z';
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const hh = pad(Math.floor(a / 60), 2);
  const mm = pad(a % 60, 2);
  if (short) return `${sign}${hh}`;
  const sep = colon ? ':' : '';
  return `${sign}${hh}${sep}${mm}${seconds ? `${sep}00` : ''}`;
}

function dayOfYear(d: Date): number {
  const start = new Date(d.getFullYear(), 0, 1);
  return Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() - start.getTime()) / 86_400_000) + 1;
}

/** The layout elements Go recognises, longest first where one is a prefix of another. */
const ELEMENTS: readonly [string, (d: Date) => string][] = [
  ['January', (d) => LONG_MONTHS[d.getMonth()]!],
  ['Jan', (d) => LONG_MONTHS[d.getMonth()]!.slice(0, 3)],
  ['Monday', (d) => LONG_DAYS[d.getDay()]!],
  ['Mon', (d) => LONG_DAYS[d.getDay()]!.slice(0, 3)],
  ['MST', zoneName],
  ['2006', (d) => pad(d.getFullYear(), 4)],
  ['002', (d) => pad(dayOfYear(d), 3)],
  ['01', (d) => pad(d.getMonth() + 1, 2)],
  ['02', (d) => pad(d.getDate(), 2)],
  ['03', (d) => pad(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12, 2)],
  ['04', (d) => pad(d.getMinutes(), 2)],
  ['05', (d) => pad(d.getSeconds(), 2)],
  ['06', (d) => pad(d.getFullYear() % 100, 2)],
  ['15', (d) => pad(d.getHours(), 2)],
  ['1', (d) => String(d.getMonth() + 1)],
  ['2', (d) => String(d.getDate())],
  ['3', (d) => String(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12)],
  ['4', (d) => String(d.getMinutes())],
  ['5', (d) => String(d.getSeconds())],
  ['_2006', (d) => '_' + pad(d.getFullYear(), 4)],
  ['__2', (d) => pad(dayOfYear(d), 3, ' ')],
  ['_2', (d) => pad(d.getDate(), 2, ' ')],
  ['PM', (d) => (d.getHours() >= 12 ? 'PM' : 'AM')],
  ['pm', (d) => (d.getHours() >= 12 ? 'pm' : 'am')],
  ['-07:00:00', (d) => zoneOffset(d, true, true, false, false)],
  ['-070000', (d) => zoneOffset(d, false, true, false, false)],
  ['-07:00', (d) => zoneOffset(d, true, false, false, false)],
  ['-0700', (d) => zoneOffset(d, false, false, false, false)],
  ['-07', (d) => zoneOffset(d, false, false, true, false)],
  ['Z07:00:00', (d) => zoneOffset(d, true, true, false, true)],
  ['Z070000', (d) => zoneOffset(d, false, true, false, true)],
  ['Z07:00', (d) => zoneOffset(d, true, false, false, true)],
  ['Z0700', (d) => zoneOffset(d, false, false, false, true)],
  ['Z07', (d) => zoneOffset(d, false, false, true, true)],
];

/** A fractional-seconds element (`.000`, `,999`...) at `i`, when followed by a non-digit; its length or 0. */
function fractionAt(layout: string, i: number): number {
  const c = layout[i];
  if ((c !== '.' && c !== ',') || i + 1 >= layout.length) return 0;
  const digit = layout[i + 1];
  if (digit !== '0' && digit !== '9') return 0;
  let j = i + 1;
  while (j < layout.length && layout[j] === digit) j++;
  const next = layout[j];
  return next !== undefined && next >= '0' && next <= '9' ? 0 : j - i;
}

function formatFraction(d: Date, spec: string): string {
  const digits = spec.length - 1;
  const ms = pad(d.getMilliseconds(), 3) + '000000';
  const frac = ms.slice(0, digits);
  if (spec[1] === '0') return spec[0] + frac;
  const trimmed = frac.replace(/0+$/, '');
  return trimmed === '' ? '' : spec[0] + trimmed;
}

/** Go's time.Format(layout) for local time `d` (the layout elements of Go's time package). */
export function goTimeFormat(layout: string, d: Date): string {
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    const f = fractionAt(layout, i);
    if (f > 0) {
      out += formatFraction(d, layout.slice(i, i + f));
      i += f;
      continue;
    }
    for (const [el, fn] of ELEMENTS) {
      if (layout.startsWith(el, i)) {
        // Go reads `Jan`/`Mon` only when not followed by a lower-case letter (as in `Janet`).
        if ((el === 'Jan' || el === 'Mon') && /[a-z]/.test(layout[i + el.length] ?? '')) continue;
        out += fn(d);
        i += el.length;
        continue outer;
      }
    }
    out += layout[i];
    i++;
  }
  return out;
}

/** strftime(`format`) for local time `d`, the way nsq_to_file computes <DATETIME>. */
export function strftime(format: string, d: Date): string {
  return goTimeFormat(strftimeToGoLayout(format), d);
}
