/**
 * A Go regexp (RE2 syntax, as nsqd compiles an authorization's topic and channels and
 * nsq_to_file its --topic-pattern) as a JS RegExp that matches the same strings, for the syntax
 * those patterns use: a leading flag group `(?i)`, `(?s)`, `(?m)`, `(?U)` (or several), `\A` and
 * `\z`, `(?P<name>...)`, POSIX classes such as `[[:alpha:]]` and negated ones such as
 * `[[:^digit:]]` (also beside other members of a class, or in a negated class), `\Q...\E`,
 * `\pL`. `U` (ungreedy) changes which text a match covers, never whether a string matches, so it
 * is accepted and has no JS counterpart. What RE2 refuses and JS would take is refused with Go's
 * error: lookaround (`invalid or unsupported Perl syntax: `(?=``) and backreferences (`invalid
 * escape sequence: `\1``). Other differences (flag groups inside the pattern, Unicode classes JS
 * does not know) fall to JS's own errors.
 */
export function compileGoRegexp(source: string): RegExp {
  let flags = '';
  let rest = source;
  const lead = /^\(\?([imsU]+)\)/.exec(rest);
  if (lead !== null) {
    for (const f of new Set(lead[1]!.replaceAll('U', ''))) flags += f;
    rest = rest.slice(lead[0].length);
  }
  const multiline = flags.includes('m');
  let out = '';
  let inClass = false;
  /** Where the open class starts in `out`, whether it is negated, and its negated POSIX classes' contents. */
  let classAt = 0;
  let classNegated = false;
  let negatedPosix: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '\\') {
      const n = rest[i + 1] ?? '';
      if (n === 'Q') {
        // \Q...\E: literal text.
        const end = rest.indexOf('\\E', i + 2);
        const lit = rest.slice(i + 2, end === -1 ? rest.length : end);
        out += lit.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
        i = end === -1 ? rest.length : end + 1;
        continue;
      }
      if (n === 'p' || n === 'P') {
        // Unicode classes: \pL or \p{Greek}; JS needs the u flag for them.
        if (!flags.includes('u')) flags += 'u';
        if (rest[i + 2] === '{') {
          out += c + n;
        } else {
          out += `${c}${n}{${rest[i + 2] ?? ''}}`;
          i++;
        }
        i++;
        continue;
      }
      if (!inClass && n === 'A') out += multiline ? '(?<![\\s\\S])' : '^';
      else if (!inClass && n === 'z') out += multiline ? '(?![\\s\\S])' : '$';
      else if (/[1-9]/.test(n)) throw new Error(`error parsing regexp: invalid escape sequence: \`\\${n}\``);
      else out += c + n;
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
      out += c;
      if (c === ']') {
        inClass = false;
        if (negatedPosix.length > 0) out = out.slice(0, classAt) + withNegatedPosix(out.slice(classAt + (classNegated ? 2 : 1), -1), classNegated, negatedPosix);
      }
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
      if (rest.startsWith('(?P<', i)) {
        out += '(?<';
        i += 3;
        continue;
      }
    }
    out += c;
  }
  return new RegExp(out, flags);
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
