// Request bodies of nsqadmin's admin actions are decoded like Go's json.NewDecoder(body).Decode(&v)
// into a struct of string fields: only the first JSON value counts (trailing bytes are ignored),
// keys match field names case-insensitively, and failures carry Go's error text, which nsqadmin
// returns verbatim as the 400 message (`EOF`, `unexpected EOF`,
// `invalid character 'o' in literal null (expecting 'u')`, `json: cannot unmarshal ...`).

import { decodeFirstGo } from '../internal/go-json.js';

function goKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/**
 * Decode the first JSON value of `body` into the string `fields` like Go's json.Decoder into a
 * struct: returns the field values ('' when absent or null) or an Error with Go's message.
 */
export function decodeStringFields<K extends string>(body: Buffer, fields: readonly K[]): Record<K, string> | Error {
  let value: unknown;
  try {
    value = decodeFirstGo(body.toString('utf8'));
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  const out = Object.fromEntries(fields.map((f) => [f, ''])) as Record<K, string>;
  if (value === null) return out;
  if (typeof value !== 'object' || Array.isArray(value)) {
    const goFields = fields.map((f) => `${f[0]!.toUpperCase()}${f.slice(1)} string "json:\\"${f}\\""`).join('; ');
    return new Error(`json: cannot unmarshal ${goKind(value)} into Go value of type struct { ${goFields} }`);
  }
  let typeErr: Error | undefined;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const field = fields.find((f) => f === k) ?? fields.find((f) => f.toLowerCase() === k.toLowerCase());
    if (field === undefined || v === null) continue;
    if (typeof v !== 'string') {
      typeErr ??= new Error(`json: cannot unmarshal ${goKind(v)} into Go struct field .${field} of type string`);
      continue;
    }
    out[field] = v;
  }
  return typeErr ?? out;
}
