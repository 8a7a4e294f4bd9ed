// Go's encoding/json error texts, as json.Unmarshal (upstream answers, auth answers) and
// json.Decoder (nsqadmin action bodies) word them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeFirstGo, GoJsonSyntaxError, unmarshalGo } from '../../src/internal/go-json.js';

/** The GoJsonSyntaxError message `parse(text)` throws. */
function syntaxError(parse: (text: string) => unknown, text: string): string {
  try {
    parse(text);
  } catch (err) {
    assert.instance(err, GoJsonSyntaxError);
    return (err as Error).message;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
}
const unmarshalError = (text: string): string => syntaxError(unmarshalGo, text);
const decodeError = (text: string): string => syntaxError(decodeFirstGo, text);

test('unmarshalGo: values, whitespace around them', () => {
  assert.equal(unmarshalGo(' {"a":[1,2.5e3,-0.1,true,false,null,"x\\u00e9\\n"]}\n'), { a: [1, 2500, -0.1, true, false, null, 'x\u00e9\n'] });
  assert.is(unmarshalGo('"s"'), 's');
  assert.is(unmarshalGo('0'), 0);
});

test('unmarshalGo: Go syntax error texts', () => {
  const cases: [string, string][] = [
    ['', 'unexpected end of JSON input'],
    ['  \n', 'unexpected end of JSON input'],
    ['{"a":1', 'unexpected end of JSON input'],
    ['tru', 'unexpected end of JSON input'],
    ['"abc', 'unexpected end of JSON input'],
    ['1.', 'unexpected end of JSON input'],
    ['1e+', 'unexpected end of JSON input'],
    ['-', 'unexpected end of JSON input'],
    ['{}x', "invalid character 'x' after top-level value"],
    ['01', "invalid character '1' after top-level value"],
    ['[1] [2]', "invalid character '[' after top-level value"],
    ['nope', "invalid character 'o' in literal null (expecting 'u')"],
    ['<html>', "invalid character '<' looking for beginning of value"],
    ['[1,]', "invalid character ']' looking for beginning of value"],
    ['[1 2]', "invalid character '2' after array element"],
    ['{,}', "invalid character ',' looking for beginning of object key string"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['"\\x"', "invalid character 'x' in string escape code"],
    ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
    ['"a\tb"', "invalid character '\\t' in string literal"],
    ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ['1e+x', "invalid character 'x' in exponent of numeric literal"],
    ['1ex', "invalid character 'x' in exponent of numeric literal"],
    ['-x', "invalid character 'x' in numeric literal"],
    ["'", "invalid character '\\'' looking for beginning of value"],
  ];
  for (const [text, want] of cases) assert.is(unmarshalError(text), want, JSON.stringify(text));
});

test('decodeFirstGo: the first value counts, cut-off input is unexpected EOF, none is EOF', () => {
  assert.equal(decodeFirstGo('{"topic":"a"} trailing junk'), { topic: 'a' });
  assert.equal(decodeFirstGo('[1] [2]'), [1]);
  assert.is(decodeError(''), 'EOF');
  assert.is(decodeError(' \r\n'), 'EOF');
  assert.is(decodeError('{"topic":'), 'unexpected EOF');
  assert.is(decodeError('nu'), 'unexpected EOF');
  assert.is(decodeError('nope'), "invalid character 'o' in literal null (expecting 'u')");
});

test.run();
