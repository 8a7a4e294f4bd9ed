// Assertions for NSQ's "V1" HTTP responses, shared by the nsqd and nsqlookupd API tests.
import * as assert from 'uvu/assert';

/** The X-NSQ-Content-Type value every V1 response carries. */
export const V1 = 'nsq; version=1.0';
/** Content-Type of a JSON body. */
export const JSON_CT = 'application/json; charset=utf-8';
/** Content-Type of a plain-text body. */
export const TEXT_CT = 'text/plain; charset=utf-8';

/** An HTTP answer as test/helpers/daemons.ts `http()` returns it. */
export type Res = { status: number; headers: Headers; text: string };

/**
 * Assert a V1 response: status, body, the X-NSQ-Content-Type header, and the content type:
 * `json`, `text`, or `empty` (no body and no Content-Type).
 */
export function expectV1(r: Res, status: number, body: string, kind: 'json' | 'text' | 'empty', what = ''): void {
  const p = what === '' ? '' : `${what}: `;
  assert.is(r.status, status, `${p}status (body ${JSON.stringify(r.text)})`);
  assert.is(r.text, body, `${p}body`);
  assert.is(r.headers.get('x-nsq-content-type'), V1, `${p}X-NSQ-Content-Type header`);
  const ct = r.headers.get('content-type');
  if (kind === 'json') assert.is(ct, JSON_CT, `${p}Content-Type`);
  else if (kind === 'text') assert.is(ct, TEXT_CT, `${p}Content-Type`);
  else assert.is(ct, null, `${p}no Content-Type on an empty body`);
}

/** Assert a V1 error: `{"message":"CODE"}` with the JSON content type. */
export function expectErr(r: Res, status: number, code: string, what = ''): void {
  expectV1(r, status, `{"message":"${code}"}`, 'json', what);
}
