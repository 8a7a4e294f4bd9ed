// nsq_to_nsq's JSON filtering (apps/nsq_to_nsq in NSQ v1.3.0), used only when
// --require-json-field or --whitelist-json-field is given: a body that is not a JSON object is
// dropped (finished); --require-json-field keeps messages having the field, and with
// --require-json-value only those whose field is that string, or that number when the flag parses
// as one; a missing field with a required value asks for a requeue with backoff. The whitelist
// re-encodes the object with only the listed fields, as Go's encoding/json would (keys sorted).

import { parseGoFloat } from '../../internal/flags.js';

/** The filter settings. */
export interface JsonFilterOptions {
  requireField: string;
  requireValue: string;
  whitelistFields: string[];
}

/** The decision for one message body. */
export type FilterResult =
  /** Publish `body` (the original bytes, or the whitelisted re-encoding). */
  | { action: 'pass'; body: Buffer }
  /** Finish without publishing; `log` is the line to log, if any. */
  | { action: 'drop'; log?: string }
  /** Requeue with backoff (a required value's field is missing). */
  | { action: 'backoff'; log: string };

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

function goString(s: string): string {
  return '"' + s.replace(/["\\\n\r\t\b\f<>&\u2028\u2029\u0000-\u001f]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '"';
}

/** Go's json.Marshal of a decoded JSON value: object keys sorted, HTML-safe string escaping. */
export function goJsonMarshal(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(goJsonMarshal).join(',')}]`;
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${goString(k)}:${goJsonMarshal(obj[k])}`).join(',')}}`;
}

/** Decides, per message, what nsq_to_nsq's JSON options make of a body. */
export class JsonFilter {
  private readonly o: JsonFilterOptions;
  private readonly requiredNumber: number | null;

  /** A filter for the given options; null when none is set (bodies then pass untouched and undecoded). */
  static create(o: JsonFilterOptions): JsonFilter | null {
    return o.requireField !== '' || o.whitelistFields.length > 0 ? new JsonFilter(o) : null;
  }

  private constructor(o: JsonFilterOptions) {
    this.o = o;
    let n: number | null = null;
    if (o.requireValue !== '') {
      try {
        n = parseGoFloat(o.requireValue);
      } catch {
        n = null;
      }
    }
    this.requiredNumber = n;
  }

  /** Apply the options to `body`. */
  apply(body: Buffer): FilterResult {
    const text = body.toString('utf8');
    let js: unknown;
    try {
      js = JSON.parse(text);
    } catch {
      return { action: 'drop', log: `ERROR: Unable to decode json: ${text}` };
    }
    // Go decodes into map[string]interface{}: `null` leaves an empty map, other non-objects fail.
    if (js === null) js = {};
    if (typeof js !== 'object' || Array.isArray(js)) return { action: 'drop', log: `ERROR: Unable to decode json: ${text}` };
    const obj = js as Record<string, unknown>;
    const verdict = this.shouldPass(obj);
    if (verdict !== 'pass') return verdict === 'backoff' ? { action: 'backoff', log: 'ERROR: missing field to check required value' } : { action: 'drop' };
    if (this.o.whitelistFields.length === 0) return { action: 'pass', body };
    const out: Record<string, unknown> = {};
    for (const k of this.o.whitelistFields) if (Object.hasOwn(obj, k)) out[k] = obj[k];
    return { action: 'pass', body: Buffer.from(goJsonMarshal(out)) };
  }

  private shouldPass(obj: Record<string, unknown>): 'pass' | 'drop' | 'backoff' {
    const field = this.o.requireField;
    const want = this.o.requireValue;
    if (field === '') return 'pass';
    if (!Object.hasOwn(obj, field)) return want !== '' ? 'backoff' : 'drop';
    if (want === '') return 'pass';
    const v = obj[field];
    if (typeof v === 'string') return v === want ? 'pass' : 'drop';
    if (this.requiredNumber !== null) return typeof v === 'number' && v === this.requiredNumber ? 'pass' : 'drop';
    return 'drop';
  }
}
