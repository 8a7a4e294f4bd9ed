// Request bodies of nsqadmin's admin actions are decoded like Go's json.NewDecoder(body).Decode(&v)
// into a struct of string fields: only the first JSON value counts (trailing bytes are ignored),
// keys match field names case-insensitively, and failures carry Go's error text, which nsqadmin
// returns verbatim as the 400 message (`EOF`, `unexpected EOF`,
// `invalid character 'o' in literal null (expecting 'u')`, `json: cannot unmarshal ...`).

import { decodeGoStruct, type GoFieldType } from '../internal/go-json.js';

/**
 * Decode the first JSON value of `body` into the string `fields` like Go's json.Decoder into an
 * anonymous struct: returns the field values ('' when absent or null) or an Error with Go's message.
 */
export function decodeStringFields<K extends string>(body: Buffer, fields: readonly K[]): Record<K, string> | Error {
  const type = `struct { ${fields.map((f) => `${f[0]!.toUpperCase()}${f.slice(1)} string "json:\\"${f}\\""`).join('; ')} }`;
  const decoded = decodeGoStruct(body.toString('utf8'), { name: '', type, fields: Object.fromEntries(fields.map((f): [K, GoFieldType] => [f, 'string'])) }, 'decoder');
  if (decoded instanceof Error) return decoded;
  return Object.fromEntries(fields.map((f) => [f, (decoded[f] as string | undefined) ?? ''])) as Record<K, string>;
}
