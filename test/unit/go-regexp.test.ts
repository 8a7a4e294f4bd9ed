// compileGoRegexp: Go RE2 patterns (nsqd's authorization topic and channel regexes, nsq_to_file's
// --topic-pattern) as JS RegExps with Go's matches, and RE2's refusals in Go's words.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileGoRegexp } from '../../src/internal/go-regexp.js';
import { compileTopicPattern } from '../../src/tools/nsq-to-file/topic-discoverer.js';

const matches = (re: string, s: string): boolean => compileGoRegexp(re).test(s);

test('a leading flag group becomes JS flags: (?i), (?s), (?m), several at once', () => {
  assert.ok(matches('(?i)^T$', 't'));
  assert.not.ok(matches('^T$', 't'));
  assert.ok(matches('(?s)^a.b$', 'a\nb'));
  assert.not.ok(matches('^a.b$', 'a\nb'));
  assert.ok(matches('(?im)^B$', 'a\nb'));
});

test('\\A and \\z anchor at the text\'s ends (JS would read \\z as a literal z), also under (?m)', () => {
  assert.ok(matches('^t\\z', 't'));
  assert.not.ok(matches('^t\\z', 'tz'));
  assert.not.ok(matches('^t\\z', 't\nx'));
  assert.ok(matches('\\At', 'tx'));
  assert.not.ok(matches('(?m)\\At', 'x\nt'));
  assert.ok(matches('(?m)^t$', 'x\nt'));
  assert.not.ok(matches('(?m)t\\z', 't\nx'));
});

test('POSIX classes, \\Q...\\E literals, \\pL, (?P<name>...) groups', () => {
  assert.ok(matches('^[[:alpha:]_]+$', 'topic_a'));
  assert.not.ok(matches('^[[:alpha:]]+$', 'topic1'));
  assert.ok(matches('^[[:digit:][:upper:]]+$', 'A1'));
  assert.ok(matches('^\\Qa.b*c\\E$', 'a.b*c'));
  assert.not.ok(matches('^\\Qa.b\\E$', 'axb'));
  assert.ok(matches('^\\pL+$', 'tópico'));
  assert.not.ok(matches('^\\pL+$', 't1'));
  assert.ok(matches('^(?P<name>t)$', 't'));
  assert.ok(matches('^[]a]$', ']'));
});

test('what RE2 refuses is refused with Go\'s error text: lookaround and backreferences', () => {
  const err = (re: string): string => {
    try {
      compileGoRegexp(re);
    } catch (e) {
      return (e as Error).message;
    }
    return 'compiled';
  };
  assert.is(err('(?=t)t'), 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`');
  assert.is(err('a(?!b)'), 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`');
  assert.is(err('(?<=a)b'), 'error parsing regexp: invalid or unsupported Perl syntax: `(?<=`');
  assert.is(err('(a)\\1'), 'error parsing regexp: invalid escape sequence: `\\1`');
  assert.is(err('.*'), 'compiled');
});

test('negated POSIX classes, alone, beside other members and inside a negated class', () => {
  assert.ok(matches('^[[:^digit:]]+$', 'abc'));
  assert.not.ok(matches('^[[:^digit:]]+$', 'a1'));
  // [a[:^alpha:]]: a, or anything but a letter.
  for (const [s, want] of [['a', true], ['b', false], ['1', true], ['\n', true]] as const) assert.is(matches('^[a[:^alpha:]]$', s), want, `[a[:^alpha:]] on ${JSON.stringify(s)}`);
  // [^a[:^alpha:]]: a letter other than a.
  for (const [s, want] of [['a', false], ['b', true], ['1', false]] as const) assert.is(matches('^[^a[:^alpha:]]$', s), want, `[^a[:^alpha:]] on ${JSON.stringify(s)}`);
  // [^[:^alpha:][:^lower:]]: both a letter and lower case.
  for (const [s, want] of [['a', true], ['A', false], ['1', false]] as const) assert.is(matches('^[^[:^alpha:][:^lower:]]$', s), want, `[^[:^alpha:][:^lower:]] on ${JSON.stringify(s)}`);
  assert.ok(matches('^[[:^space:]x]{3}$', 'a-x'));
  assert.not.ok(matches('^[[:^space:]x]+$', 'a x'));
  // A quantifier after the class applies to the whole rewritten class.
  assert.ok(matches('^t[[:^digit:]_]*$', 't_a_b'));
});

test('the U (ungreedy) flag is accepted: it changes what a match covers, not whether a string matches', () => {
  assert.ok(matches('(?U)^a+b$', 'aab'));
  assert.ok(matches('(?iU)^A+$', 'aa'));
  assert.not.ok(matches('(?U)^a+$', 'ab'));
  assert.is(compileGoRegexp('(?sU)a.b').flags, 's');
});

test('flags set or cleared inside the pattern apply to their group, as RE2 scopes them (checked against Go nsqd\'s AUTH in test/go-diff)', () => {
  const table: [string, string, boolean][] = [
    ['^(?i:auth)_F$', 'AuTh_F', true],
    ['^(?i:auth)_F$', 'auth_f', false],
    ['^a(?i)b$', 'aB', true],
    ['^a(?i)b$', 'AB', false],
    ['^(?i)a(?-i)b$', 'Ab', true],
    ['^(?i)a(?-i)b$', 'AB', false],
    // (?-i) inside a group ends with it; the (?i) outside holds again after it.
    ['^a(?i)(b|c(?-i)d)E$', 'aCde', true],
    ['^a(?i)(b|c(?-i)d)E$', 'acDe', false],
    ['^a(?i)(b|c(?-i)d)E$', 'abe', true],
    ['^a(?i)(b|c(?-i)d)E$', 'Abe', false],
    // Classes hold both cases of their letters and ranges; a negated one leaves both out.
    ['^(?i:[a-c_]+)x$', 'AbC_x', true],
    ['^(?i:[a-c_]+)x$', 'abX', false],
    ['^(?i:[^a-c])$', 'B', false],
    ['^(?i:[^a-c])$', 'd', true],
    ['^(?i:[[:lower:]]+)$', 'ABC', true],
    ['^(?i:\\Qa.B\\E)$', 'A.b', true],
    ['^(?i:\\Qa.B\\E)$', 'AxB', false],
    ['^(?i:\\x41b)$', 'aB', true],
    ['^(?i:[\\x41-\\x43])$', 'b', true],
    ['^\\x41(?i)b$', 'aB', false],
    // A named group's name is not a letter to fold, nor is a \pL class.
    ['^(?P<Nm>(?i)t)x$', 'Tx', true],
    ['^(?i:\\p{Lu})$', 'a', true],
    ['^(?i:[\\p{Ll}])$', 'A', true],
    ['^\\p{Lu}$', 'a', false],
    // (?s) and (?m) scoped the same way; without (?s) a dot is anything but a newline (also \r).
    ['^a(?s:.)b.c$', 'a\nb\rc', true],
    ['^a(?s:.)b.c$', 'a\nb\nc', false],
    ['x(?m:^y$)', 'x\ny', false],
    ['x\n(?m:^y$)\n', 'x\ny\n', true],
    ['(?m)^a(?-m)$', 'a\nb', false],
    ['(?U)a(?i)B+', 'xabB', true],
    ['(?U)a(?i)B+', 'xAbb', false],
  ];
  for (const [re, subject, want] of table) assert.is(matches(re, subject), want, `${re} on ${JSON.stringify(subject)}`);
  // No scoped flags: the leading group stays JS flags.
  assert.is(compileGoRegexp('(?i)^a$').flags, 'i');
  assert.is(compileGoRegexp('(?i)^a(?-i)b$').flags, '');
});

test('a pattern wrapped in (?f:...) matches what the same pattern under a leading (?f) does (spelled-out flags against JS flags), on random patterns and subjects', () => {
  let seed = 20261201;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const atoms = ['a', 'B', 'c', '_', '.', '[a-c]', '[^B]', '[[:lower:]]', '[A-C_]', '\\Qa.B\\E', '^', '$', '\\n', 'x'];
  const gen = (depth: number): string => {
    let out = '';
    for (let k = 1 + rand(3); k > 0; k--) {
      let piece = depth > 0 && rand(4) === 0 ? `(${gen(depth - 1)}|${gen(depth - 1)})` : pick(atoms);
      // (JS cannot repeat an anchor; RE2 can. Not generated.)
      if (rand(3) === 0 && piece !== '^' && piece !== '$') piece += pick(['*', '+', '?']);
      out += piece;
    }
    return out;
  };
  const chars = 'aAbBcCx_.\n\r';
  let compared = 0;
  for (let n = 0; n < 3000; n++) {
    const body = gen(2);
    const f = pick(['i', 's', 'm', 'is', 'im', 'sm', 'ism']);
    const spelled = compileGoRegexp(`(?${f}:${body})`);
    const flagged = compileGoRegexp(`(?${f})${body}`);
    assert.is(spelled.flags.replace('u', ''), '', body);
    for (let k = 0; k < 8; k++) {
      let subject = '';
      for (let j = rand(6); j > 0; j--) subject += chars[rand(chars.length)];
      // JS's dot also refuses \r, Go's does not: only the spelled-out form says what Go does.
      if (subject.includes('\r') && body.includes('.') && !f.includes('s')) continue;
      assert.is(spelled.test(subject), flagged.test(subject), `(?${f}:${body}) against (?${f})${body} on ${JSON.stringify(subject)}`);
      compared++;
    }
  }
  assert.ok(compared > 15_000, `${compared} comparisons`);
});

test('nsq_to_file --topic-pattern is compiled as a Go regexp too (unanchored, null when RE2 refuses it)', () => {
  const re = compileTopicPattern('^[[:alpha:]_]+\\z');
  assert.ok(re !== null && re.test('topic_a'));
  assert.not.ok(re!.test('topic_a\n'), '\\z is the end of the text');
  assert.ok(compileTopicPattern('(?U)log')!.test('my_logs'));
  assert.ok(compileTopicPattern('^[[:^digit:]]+$')!.test('abc'));
  assert.is(compileTopicPattern('(?=a)a'), null);
  assert.is(compileTopicPattern('('), null);
});

test.run();
