/**
 * A Go regexp (RE2 syntax, as nsqd compiles an authorization's topic and channels) as a JS
 * RegExp with the same matches for the syntax auth servers use: a leading flag group `(?i)`,
 * `(?s)`, `(?m)` (or several), `\A` and `\z`, `(?P<name>...)`, and POSIX classes such as
 * `[[:alpha:]]`, `\Q...\E`, `\pL`. What RE2 refuses and JS would take is refused with Go's error: lookaround
 * (`invalid or unsupported Perl syntax: `(?=``) and backreferences (`invalid escape sequence:
 * `\1``). Other differences (the `U` flag, Unicode classes) fall to JS's own errors.
 */
export function compileGoRegexp(source: string): RegExp {
  let flags = '';
  let rest = source;
  const lead = /^\(\?([imsU]+)\)/.exec(rest);
  if (lead !== null && !lead[1]!.includes('U')) {
    for (const f of new Set(lead[1]!)) flags += f;
    rest = rest.slice(lead[0].length);
  }
  const multiline = flags.includes('m');
  let out = '';
  let inClass = false;
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
        // A negated POSIX class has no JS spelling inside a class: refused (auth fails closed).
        if (posix[1] === '^') throw new Error(`negated POSIX class ${posix[0]} is not supported`);
        out += POSIX[posix[2]!];
        i += posix[0].length - 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
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
