/**
 * Every stored field has a bounded size (issue 6): every string, array and object a route of
 * either server accepts (path, query string, body) has a ceiling, so a route added later
 * cannot forget one. Then, on the running controller: a value past its ceiling is one
 * BAD_REQUEST line and changes nothing, a field no schema names never reaches the store, and
 * a status detail at its ceiling is stored whole.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENT_ROUTES } from '../agent/api.js';
import type { RouteSchemas } from '../api/openapi.js';
import { MAX_STATUS_DETAIL } from '../model/limits.js';
import { CONTROLLER_ROUTES } from './route-schemas.js';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

type Schema = Record<string, any>;

/** Where in `schema` a value of unbounded size could pass: one path per problem. */
export function unbounded(schema: Schema | undefined, at: string): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const inner = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])].flatMap((s: Schema, i: number) => unbounded(s, `${at}|${i}`));
  if ('const' in schema || 'enum' in schema) return inner;
  switch (schema.type) {
    case 'string':
      return typeof schema.maxLength === 'number' ? inner : [...inner, `${at}: a string without maxLength`];
    case 'array':
      return [...inner, ...(typeof schema.maxItems === 'number' ? [] : [`${at}: an array without maxItems`]), ...unbounded(schema.items, `${at}[]`)];
    case 'object':
      return [...inner, ...objectProblems(schema, at)];
    default:
      return inner;
  }
}

function objectProblems(schema: Schema, at: string): string[] {
  const props = Object.entries(schema.properties ?? {}).flatMap(([k, s]) => unbounded(s as Schema, `${at}.${k}`));
  const patterns = Object.values(schema.patternProperties ?? {}).flatMap((s) => unbounded(s as Schema, `${at}.*`));
  const mapBounded = typeof schema.maxProperties === 'number' && typeof schema.propertyNames?.maxLength === 'number';
  const closed = schema.additionalProperties === false && !schema.patternProperties;
  return [...props, ...patterns, ...(closed || mapBounded ? [] : [`${at}: an object open to unbounded fields (additionalProperties: false, or maxProperties with propertyNames.maxLength)`])];
}

function problemsOf(table: RouteSchemas): string[] {
  return Object.entries(table).flatMap(([route, s]) => (['params', 'querystring', 'body', 'headers'] as const).flatMap((part) => unbounded(s[part] as Schema, `${route} ${part}`)));
}

test('bounds: every string, array and object a controller or agent route accepts has a ceiling', () => {
  assert.deepEqual(problemsOf(CONTROLLER_ROUTES), []);
  assert.deepEqual(problemsOf(AGENT_ROUTES), []);
});

test('bounds: the walker finds what is unbounded (it would catch a forgotten ceiling)', () => {
  const open = { type: 'object', properties: { a: { type: 'string' }, b: { type: 'array', items: { type: 'string', maxLength: 3 } } } };
  assert.deepEqual(unbounded(open, 'x'), ['x.a: a string without maxLength', 'x.b: an array without maxItems', 'x: an object open to unbounded fields (additionalProperties: false, or maxProperties with propertyNames.maxLength)']);
  assert.deepEqual(unbounded({ anyOf: [{ type: 'string' }, { const: 'a' }] }, 'u'), ['u|0: a string without maxLength']);
});

test('bounds: a status detail past its ceiling is one BAD_REQUEST line and changes nothing; at the ceiling it is kept whole', async () => {
  const t = await testApp();
  await seed(t);
  const ep = (await t.call('POST', EP_URL, { id: 'e1', host: 'h1', attachment: att('/run/netns/c1') })).body;
  const res = await t.call('PATCH', '/v1/endpoints/e1/status', { status: 'error', detail: 'x'.repeat(MAX_STATUS_DETAIL + 1) });
  assertError(res, 'BAD_REQUEST');
  assert.match(res.body.error.message, /^field body\/detail must be at most 1024 characters/);
  assert.equal((await t.call('GET', '/v1/endpoints/e1')).body.updatedAt, ep.updatedAt, 'nothing changed');
  const ok = await t.call('PATCH', '/v1/endpoints/e1/status', { status: 'error', detail: 'y'.repeat(MAX_STATUS_DETAIL) });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.statusDetail.length, MAX_STATUS_DETAIL);
  await t.app.close();
});

test('bounds: labels, ids and names past their ceilings are refused; a field no schema names never reaches the store', async () => {
  const t = await testApp();
  await seed(t);
  assertError(await t.call('POST', EP_URL, { labels: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v'])) }), 'BAD_REQUEST');
  assertError(await t.call('POST', EP_URL, { labels: { ['k'.repeat(400)]: 'v' } }), 'BAD_REQUEST');
  assertError(await t.call('POST', EP_URL, { id: 'i'.repeat(300) }), 'BAD_REQUEST');
  assertError(await t.call('POST', EP_URL, { labels: { app: 'v'.repeat(64) } }), 'INVALID_LABEL');
  const res = await t.call('POST', EP_URL, { id: 'e2', junk: 'z'.repeat(10_000), attachment: undefined });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal('junk' in res.body, false);
  const stored = await t.call('GET', '/v1/endpoints/e2');
  assert.equal(JSON.stringify(stored.body).includes('zzz'), false);
  await t.app.close();
});
