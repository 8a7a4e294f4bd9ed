/**
 * A Go regexp (RE2 syntax, as nsqd compiles an authorization's topic and channels and
 * nsq_to_file its --topic-pattern) as a JS RegExp that matches the same strings, for the syntax
 * those patterns use: a leading flag group `(?i)`, `(?s)`, `(?m)`, `(?U)` (or several), flags
 * set or cleared further in (`a(?i)b`, `(?i:...)`, `(?-i)`, scoped to their group as RE2 scopes
 * them), `\A` and `\z`, `(?P<name>...)`, POSIX classes such as `[[:alpha:]]` and negated ones
 * such as `[[:^digit:]]` (also beside other members of a class, or in a negated class),
 * `\Q...\E`, `\pL`. `U` (ungreedy) changes which text a match covers, never whether a string
 * matches, so it is accepted and has no JS counterpart. What RE2 refuses and JS would take is
 * refused with Go's error: lookaround (`invalid or unsupported Perl syntax: `(?=``) and
 * backreferences (`invalid escape sequence: `\1``). Other differences fall to JS's own errors
 * (Unicode classes JS does not know) or stay (under a scoped `(?i)`, negated POSIX classes and
 * letters written as `\x{...}` are not folded; Go folds them).
 */
export function compileGoRegexp(source: string): RegExp {
  let flags = '';
  let rest = source;
  const lead = /^\(\?([imsU]+)\)/.exec(rest);
  if (lead !== null) rest = rest.slice(lead[0].length);
  const leadFlags = lead?.[1] ?? '';
  // Flags set or cleared inside the pattern (`(?i:...)`, `a(?i)b`, `(?-s)`) have no JS spelling in
  // Node 20: then every flag is spelled out instead of given to JS (explicit), by the state of the
  // group each part of the pattern is in. Without them the leading group becomes JS flags.
  const explicit = SCOPED_FLAGS.test(rest);
  if (!explicit) for (const f of new Set(leadFlags.replaceAll('U', ''))) flags += f;
  /** The flags in force where the translation is (explicit mode), and those of the enclosing groups. */
  let state: FlagState = { i: leadFlags.includes('i'), s: leadFlags.includes('s'), m: leadFlags.includes('m') };
  const outer: FlagState[] = [];
  const multiline = flags.includes('m');
  let out = '';
  let inClass = false;
  /** Where the open class starts in `out`, whether it is negated, and its negated POSIX classes' contents. */
  let classAt = 0;
  let classNegated = false;
  let negatedPosix: string[] = [];
  /** A literal character as the pattern means it where it is: both cases under explicit (?i). */
  const literal = (ch: string): string => (explicit && state.i && !inClass ? caseless(ch) : ch);
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '\\') {
      const n = rest[i + 1] ?? '';
      if (n === 'Q') {
        // \Q...\E: literal text.
        const end = rest.indexOf('\\E', i + 2);
        const lit = rest.slice(i + 2, end === -1 ? rest.length : end);
        for (const ch of lit) out += /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : literal(ch);
        i = end === -1 ? rest.length : end + 1;
        continue;
      }
      if (n === 'p' || n === 'P') {
        // Unicode classes: \pL or \p{Greek}; JS needs the u flag for them.
        if (!flags.includes('u')) flags += 'u';
        if (rest[i + 2] === '{') {
          const close = rest.indexOf('}', i + 3);
          const to = close === -1 ? rest.length : close + 1;
          const cls = rest.slice(i, to);
          // RE2 folds a class under (?i): one case's letters stand for every cased letter.
          out += explicit && state.i && /^\\p\{L[ult]\}$/.test(cls) ? (inClass ? CASED : `[${CASED}]`) : cls;
          i = to - 1;
        } else {
          out += `${c}${n}{${rest[i + 2] ?? ''}}`;
          i += 2;
        }
        continue;
      }
      if (!inClass && n === 'A') out += multiline ? '(?<![\\s\\S])' : '^';
      else if (!inClass && n === 'z') out += multiline ? '(?![\\s\\S])' : '$';
      else if (/[1-9]/.test(n)) throw new Error(`error parsing regexp: invalid escape sequence: \`\\${n}\``);
      else if (n === 'x' && explicit) {
        // Hex digits are not letters to fold: \xHH is copied whole (folded under (?i) when it is a
        // letter), \x{...} becomes JS's \u{...}.
        if (rest[i + 2] === '{') {
          const close = rest.indexOf('}', i + 3);
          const to = close === -1 ? rest.length : close + 1;
          if (!flags.includes('u')) flags += 'u';
          out += `\\u${rest.slice(i + 2, to)}`;
          i = to - 2;
        } else {
          const hex = rest.slice(i, i + 4);
          const ch = /^\\x[0-9A-Fa-f]{2}$/.test(hex) ? String.fromCharCode(parseInt(hex.slice(2), 16)) : '';
          out += ch !== '' && literal(ch) !== ch ? literal(ch) : hex;
          i += 2;
        }
      } else out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(rest.slice(i));
      if (posix !== null && POSIX[posix[2]!] !== undefined) {
        // A negated one has no JS spelling inside a class: the class is rewritten when it closes.
        if (posix[1] === '^') negatedPosix.push(POSIX[posix[2]!]!);
        else out += POSIX[posix[2]!];
        i += posix[0].length - 1;
        continue;
      }
      if (c === ']') {
        inClass = false;
        const from = classAt + (classNegated ? 2 : 1);
        // Under explicit (?i) the class holds both cases of each of its letters.
        const members = explicit && state.i ? caseClosedClass(out.slice(from)) : out.slice(from);
        if (negatedPosix.length > 0) out = out.slice(0, classAt) + withNegatedPosix(members, classNegated, negatedPosix);
        else out = `${out.slice(0, from)}${members}]`;
        continue;
      }
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      classAt = out.length;
      classNegated = rest[i + 1] === '^';
      negatedPosix = [];
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (rest[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (rest[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && rest[i + 1] === '?') {
      const look = /^\(\?(=|!|<=|<!)/.exec(rest.slice(i));
      if (look !== null) throw new Error(`error parsing regexp: invalid or unsupported Perl syntax: \`${look[0]}\``);
      const group = explicit ? FLAG_GROUP.exec(rest.slice(i)) : null;
      if (group !== null) {
        // (?flags) changes the flags for the rest of the enclosing group; (?flags:re) for re only.
        const changed = withFlags(state, group[1]!, group[2] ?? '');
        if (group[3] === ')') state = changed;
        else {
          outer.push(state);
          state = changed;
          out += '(?:';
        }
        i += group[0].length - 1;
        continue;
      }
      if (rest.startsWith('(?P<', i)) {
        // The group's name is copied as it is (its letters are not folded).
        const close = rest.indexOf('>', i);
        const to = close === -1 ? rest.length : close + 1;
        out += `(?<${rest.slice(i + 4, to)}`;
        outer.push(state);
        i = to - 1;
        continue;
      }
    }
    if (c === '(') {
      outer.push(state);
      out += c;
      continue;
    }
    if (c === ')') {
      state = outer.pop() ?? state;
      out += c;
      continue;
    }
    if (explicit && c === '.') out += state.s ? '[^]' : '[^\\n]';
    else if (explicit && c === '^') out += state.m ? '(?<![^\\n])' : '^';
    else if (explicit && c === '$') out += state.m ? '(?![^\\n])' : '$';
    else out += literal(c);
  }
  return new RegExp(out, flags);
}

/** The flags RE2 scopes to a group (U, ungreedy, changes what a match covers, never whether a string matches). */
interface FlagState {
  i: boolean;
  s: boolean;
  m: boolean;
}

/** Every cased letter, as JS class contents (RE2's fold of \p{Lu}, \p{Ll} or \p{Lt} under (?i)). */
const CASED = '\\p{Lu}\\p{Ll}\\p{Lt}';

/** A flag group other than a leading `(?flags)`: `(?flags:`, `(?flags)` further on, or one clearing flags. */
const SCOPED_FLAGS = /\(\?(?:[imsU]+(?:-[imsU]*)?|-[imsU]+)[:)]/;
/** A flag group at the start of a string: set flags, cleared flags, and `)` or `:`. */
const FLAG_GROUP = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/;

function withFlags(state: FlagState, set: string, cleared: string): FlagState {
  const has = (f: 'i' | 's' | 'm'): boolean => (set.includes(f) ? true : cleared.includes(f) ? false : state[f]);
  return { i: has('i'), s: has('s'), m: has('m') };
}

/** A literal character matched in either case: `[aA]` for a letter with two cases, the character itself otherwise. */
function caseless(ch: string): string {
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  if (lower === upper || lower.length !== 1 || upper.length !== 1) return ch;
  return `[${lower}${upper}]`;
}

/**
 * JS class contents (`members`, as the translation wrote them) with the other case of every
 * ASCII letter they hold added, single letters and ranges alike; class escapes (\d, \w, \pL) are
 * kept as they are.
 */
function caseClosedClass(members: string): string {
  /** The code point of the single-character token at `at` (null for a class escape), and where it ends. */
  const token = (at: number): { cp: number | null; end: number } => {
    if (members[at] !== '\\') return { cp: members.codePointAt(at)!, end: at + (members.codePointAt(at)! > 0xffff ? 2 : 1) };
    const n = members[at + 1] ?? '';
    const hex = /^(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|u\{([0-9A-Fa-f]+)\})/.exec(members.slice(at + 1));
    if (hex !== null) return { cp: parseInt(hex[1] ?? hex[2] ?? hex[3]!, 16), end: at + 1 + hex[0].length };
    if (n === 'p' || n === 'P') {
      const close = members.indexOf('}', at);
      return { cp: null, end: close === -1 ? members.length : close + 1 };
    }
    const CONTROL: Record<string, number> = { t: 9, n: 10, v: 11, f: 12, r: 13 };
    if (CONTROL[n] !== undefined) return { cp: CONTROL[n]!, end: at + 2 };
    return { cp: /[dDwWsSbB]/.test(n) ? null : n.codePointAt(0)!, end: at + 2 };
  };
  let extra = '';
  const addSwapped = (lo: number, hi: number): void => {
    // The ASCII letters in [lo, hi], in the other case.
    for (const [from, to, shift] of [[0x41, 0x5a, 0x20], [0x61, 0x7a, -0x20]] as const) {
      const a = Math.max(lo, from);
      const b = Math.min(hi, to);
      if (a <= b) extra += a === b ? String.fromCharCode(a + shift) : `${String.fromCharCode(a + shift)}-${String.fromCharCode(b + shift)}`;
    }
  };
  for (let at = 0; at < members.length; ) {
    const first = token(at);
    at = first.end;
    if (first.cp === null) continue;
    if (members[at] === '-' && at + 1 < members.length) {
      const last = token(at + 1);
      if (last.cp !== null) {
        addSwapped(first.cp, last.cp);
        at = last.end;
        continue;
      }
    }
    addSwapped(first.cp, first.cp);
  }
  return members + extra;
}

/**
 * A class with negated POSIX classes among its members, as a JS group matching one character:
 * [S[:^P:]] is S or not P, so `(?:[S]|[^P])`; [^S[:^P:]] is neither S nor not P, so not S and P:
 * `(?![S])[P]`. `members` is the rest of the class (JS class contents, maybe empty).
 */
function withNegatedPosix(members: string, negated: boolean, posix: string[]): string {
  if (!negated) return `(?:${[...(members === '' ? [] : [`[${members}]`]), ...posix.map((p) => `[^${p}]`)].join('|')})`;
  const last = posix[posix.length - 1]!;
  return `(?:${members === '' ? '' : `(?![${members}])`}${posix.slice(0, -1).map((p) => `(?=[${p}])`).join('')}[${last}])`;
}

/** RE2's POSIX classes, as JS class contents. */
const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};
