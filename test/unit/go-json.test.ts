// Go's encoding/json error texts, as json.Unmarshal (upstream answers, auth answers) and
// json.Decoder (nsqadmin action bodies) word them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeGoStruct, goBytesString, goInvalidBytesJson, GoJsonSyntaxError, unmarshalGo, type GoStruct } from '../../src/internal/go-json.js';
import { goJSON } from '../../src/internal/http.js';

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

test('goBytesString + goInvalidBytesJson: bytes written as encoding/json writes a Go string, each invalid byte \\ufffd', () => {
  const json = (bytes: number[]): string => goInvalidBytesJson(goJSON(goBytesString(Buffer.from(bytes))));
  assert.is(json([0x61, 0x62]), '"ab"');
  assert.is(json([0x63, 0x61, 0x66, 0xc3, 0xa9]), '"café"');
  assert.is(json([0xf0, 0x9f, 0x98, 0x80]), '"\u{1F600}"');
  // A valid U+FFFD is written as it is; invalid bytes are escaped, one per byte (utf8.DecodeRune
  // returns width 1 for each), whether stray, cut short, overlong, a surrogate or past U+10FFFF.
  assert.is(json([0xef, 0xbf, 0xbd]), '"\ufffd"');
  assert.is(json([0x62, 0xff, 0xfe]), '"b\\ufffd\\ufffd"');
  assert.is(json([0xe2, 0x82]), '"\\ufffd\\ufffd"');
  assert.is(json([0xe2, 0x82, 0x41]), '"\\ufffd\\ufffdA"');
  assert.is(json([0xc0, 0x80]), '"\\ufffd\\ufffd"');
  assert.is(json([0xe0, 0x80, 0x80]), '"\\ufffd\\ufffd\\ufffd"');
  assert.is(json([0xed, 0xa0, 0x80]), '"\\ufffd\\ufffd\\ufffd"');
  assert.is(json([0xf4, 0x90, 0x80, 0x80]), '"\\ufffd\\ufffd\\ufffd\\ufffd"');
  assert.is(json([0x80, 0x3c]), '"\\ufffd\\u003c"');
  // Every 1- to 3-byte input decodes to what Node's UTF-8 decoder reads where it is valid.
  for (let a = 0; a < 256; a++) {
    for (const tail of [[], [0x80], [0xbf, 0x80], [0xa0, 0x80], [0x41]]) {
      const b = Buffer.from([a, ...tail]);
      const s = goBytesString(b);
      if (!s.includes('\udfff')) assert.is(s, b.toString('utf8'), b.toString('hex'));
    }
  }
});

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

const PEER: GoStruct = { name: 'PeerInfo', type: 'nsqlookupd.PeerInfo', fields: { version: 'string', tcp_port: 'int', rate: 'int32', ok: 'bool' } };

/** decodeGoStruct's Error message (or the fields, as JSON with bigints as strings). */
function decode(text: string, mode: 'unmarshal' | 'decoder' = 'unmarshal'): string {
  const r = decodeGoStruct(text, PEER, mode);
  return r instanceof Error ? r.message : JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

test('unmarshalGo: nesting is limited to 10000 levels, without recursion', () => {
  let v = unmarshalGo('['.repeat(10000) + ']'.repeat(10000));
  let depth = 1;
  for (; Array.isArray(v) && v.length === 1; depth++) v = v[0] as unknown;
  assert.equal([depth, v], [10000, []]);
  assert.is(unmarshalError('['.repeat(10001) + ']'.repeat(10001)), "invalid character '[' exceeded max depth");
  assert.is(unmarshalError('{"a":'.repeat(20000)), "invalid character '{' exceeded max depth");
  assert.is(unmarshalError('['.repeat(5_000_000)), "invalid character '[' exceeded max depth");
});

test('decodeGoStruct: keys fold (ſ, Kelvin), the last duplicate wins, unknown keys and nulls are skipped', () => {
  assert.is(decode('{"VERSION":"a","Version":"b","other":[1,{"x":2}],"tcp_port":null}'), '{"version":"b"}');
  assert.is(decode('{"ver\u017fion":"s","o\u212a":true}'), '{"version":"s","ok":true}');
  assert.is(decode('null'), '{}');
  assert.is(decode('{"constructor":1,"__proto__":{"version":5},"toString":"x","valueOf":[],"version":"v"}'), '{"version":"v"}', 'Object.prototype names are unknown keys');
  assert.is(decode('{"version":"\\ud800x"}'), '{"version":"\ufffdx"}');
});

test('decodeGoStruct: an int field takes only an integer literal in range', () => {
  assert.is(decode('{"tcp_port":4150,"rate":-2147483648}'), '{"tcp_port":4150,"rate":-2147483648}');
  assert.is(decode('{"tcp_port":9223372036854775807}'), '{"tcp_port":"9223372036854775807n"}');
  const cases: [string, string][] = [
    ['{"tcp_port":4e3}', 'json: cannot unmarshal number 4e3 into Go struct field PeerInfo.tcp_port of type int'],
    ['{"tcp_port":4150.0}', 'json: cannot unmarshal number 4150.0 into Go struct field PeerInfo.tcp_port of type int'],
    ['{"tcp_port":9223372036854775808}', 'json: cannot unmarshal number 9223372036854775808 into Go struct field PeerInfo.tcp_port of type int'],
    ['{"rate":2147483648}', 'json: cannot unmarshal number 2147483648 into Go struct field PeerInfo.rate of type int32'],
    ['{"tcp_port":"4150"}', 'json: cannot unmarshal string into Go struct field PeerInfo.tcp_port of type int'],
    ['{"version":5}', 'json: cannot unmarshal number into Go struct field PeerInfo.version of type string'],
    ['{"ok":"yes"}', 'json: cannot unmarshal string into Go struct field PeerInfo.ok of type bool'],
    ['[1]', 'json: cannot unmarshal array into Go value of type nsqlookupd.PeerInfo'],
    // the first type error counts, but only once the whole input is known to be valid JSON
    ['{"version":5,"ok":"x"}', 'json: cannot unmarshal number into Go struct field PeerInfo.version of type string'],
    ['{"version":5} x', "invalid character 'x' after top-level value"],
  ];
  for (const [text, want] of cases) assert.is(decode(text), want, text);
});

test('decodeGoStruct as json.Decoder: the first value counts, cut-off input is unexpected EOF, none is EOF', () => {
  assert.is(decode('{"version":"a"} trailing junk', 'decoder'), '{"version":"a"}');
  assert.is(decode('', 'decoder'), 'EOF');
  assert.is(decode(' \r\n', 'decoder'), 'EOF');
  assert.is(decode('{"version":', 'decoder'), 'unexpected EOF');
  assert.is(decode('nu', 'decoder'), 'unexpected EOF');
  assert.is(decode('nope', 'decoder'), "invalid character 'o' in literal null (expecting 'u')");
});

test.run();
