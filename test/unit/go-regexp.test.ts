// compileGoRegexp: Go RE2 patterns (nsqd's authorization topic and channel regexes) as JS
// RegExps with Go's matches, and RE2's refusals in Go's words.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileGoRegexp } from '../../src/internal/go-regexp.js';

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

test.run();
