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
