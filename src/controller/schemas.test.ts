/**
 * Route schemas (ADR 009): every route is in the OpenAPI document with its schemas; a wrong
 * type is a BAD_REQUEST naming the field, on every route that takes input, never a 500;
 * and no response schema drops a field (each object kind round-trips against the store).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { AGENT_ROUTES, buildAgentApp } from '../agent/api.js';
import type { Agent } from '../agent/agent.js';
import { installRouteSchemas } from '../api/openapi.js';
import { silentLogger } from '../base/logger.js';
import { keys } from '../model/keys.js';
import { CONTROLLER_ROUTES } from './route-schemas.js';
import { EP_URL, assertError, att, seed, testApp, type TestApp } from './testing.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Checks `doc` against a table: each route with its method, parameters, body and answers. */
function assertDocumented(doc: any, table: typeof CONTROLLER_ROUTES, app: { hasRoute(o: { method: string; url: string }): boolean }): void {
  assert.equal(doc.openapi, '3.0.3');
  for (const [key, schema] of Object.entries(table)) {
    const [method, url] = key.split(' ') as [string, string];
    assert.ok(app.hasRoute({ method, url }), `${key}: the table names a route the app has`);
    const op = doc.paths?.[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
    assert.ok(op, `${key} is in the document`);
    const params = Object.keys((schema.params as any)?.properties ?? {});
    const query = Object.keys((schema.querystring as any)?.properties ?? {});
    assert.deepEqual(op.parameters?.filter((p: any) => p.in === 'path').map((p: any) => p.name) ?? [], params, `${key}: path parameters`);
    assert.deepEqual(op.parameters?.filter((p: any) => p.in === 'query').map((p: any) => p.name) ?? [], query, `${key}: query parameters`);
    assert.equal(Boolean(op.requestBody), Boolean(schema.body), `${key}: request body`);
    for (const status of Object.keys((schema.response as object) ?? {})) assert.ok(op.responses[status], `${key}: answer ${status}`);
    assert.ok(op.responses['4XX'] ?? op.responses['4xx'], `${key}: error answers`);
  }
  const documented = Object.entries(doc.paths).flatMap(([p, ops]: [string, any]) => Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => `${m} ${p}`));
  assert.equal(documented.length, Object.keys(table).length, 'the document has the table\'s routes and no others');
}

test('schemas: GET /v1/openapi.json documents every controller route with its schemas', async () => {
  const t = await testApp();
  const res = await t.app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /application\/json/);
  const doc = JSON.parse(res.body);
  assertDocumented(doc, CONTROLLER_ROUTES, t.app);
  assert.match(doc.paths['/v1/watch'].get.description, /NDJSON/, 'the stream is described');
  assert.deepEqual(doc.paths['/v1/tenants'].post.requestBody.content['application/json'].schema.required, ['name']);
  await t.app.close();
});

test('schemas: the agent publishes its own document', async () => {
  const app = buildAgentApp({} as Agent, silentLogger, 'test');
  const res = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  assertDocumented(JSON.parse(res.body), AGENT_ROUTES, app);
  await app.close();
});

test('schemas: a route without a schema in its table is refused at registration', async () => {
  const app = Fastify();
  await installRouteSchemas(app, { 'GET /known': {}, 'GET /v1/openapi.json': {} }, 't', '0');
  app.get('/known', async () => ({}));
  assert.throws(() => app.get('/unknown', async () => ({})), /route GET \/unknown has no schema/);
  assert.equal((await app.inject({ method: 'GET', url: '/known' })).statusCode, 200, 'positive control: a listed route registers');
  await app.close();
});

/** One wrong-type (or missing-field) request per route that takes input, and the field its answer must name. */
const WRONG: [string, string, unknown, string][] = [
  ['POST', '/v1/tenants', { name: 5 }, 'body/name must be a string'],
  ['POST', '/v1/tenants/acme/networks', { name: 'x', subnet: '10.9.0.0/24', mtu: '1400' }, 'body/mtu must be a whole number'],
  ['POST', EP_URL, { labels: { app: true } }, 'body/labels/app must be a string'],
  ['POST', EP_URL, { host: 'h1', attachment: { kind: 'bridge' } }, 'body/attachment/kind must be one of "netns", "handoff"'],
  ['POST', EP_URL, { host: 'h1', attachment: { kind: 'netns', netns: '/x', netnsId: { dev: 'a', ino: 1 } } }, 'body/attachment/netnsId/dev must be a whole number'],
  ['GET', '/v1/watch?revision=abc', undefined, 'querystring/revision must match'],
  ['PATCH', '/v1/endpoints/a/status', { status: 'sideways' }, 'body/status must be one of "pending", "up", "error", "detached"'],
  ['PATCH', '/v1/endpoints/a/status', { detail: 'x' }, 'body/status is missing'],
  ['PUT', '/v1/endpoints/a/attachment', { host: 7, attachment: att('/x') }, 'body/host must be a string'],
  ['PATCH', '/v1/endpoints/a/labels', { remove: 'app' }, 'body/remove must be an array'],
  ['POST', '/v1/tenants/acme/networks/web/addresses', { ttlSeconds: 1.5 }, 'body/ttlSeconds must be a whole number'],
  ['POST', '/v1/tenants/acme/networks/web/addresses', { owner: { kind: 'gateway' } }, 'body/owner/kind must be one of "request", "floating-ip"'],
  ['PUT', '/v1/hosts/h1/realized', { revision: -1 }, 'body/revision must be >= 0'],
  ['POST', '/v1/hosts/h1/heartbeat', { lease: 'one' }, 'body/lease must be a whole number'],
  ['POST', '/v1/hosts/h1/heartbeat', {}, 'body/lease is missing'],
  ['POST', '/v1/tokens', { kind: 'agent', ttlSeconds: 'long' }, 'body/ttlSeconds must be a whole number'],
  ['POST', '/v1/tokens', { kind: 'admin' }, 'body/kind must be "agent"'],
  ['POST', '/v1/join', { token: 'x' }, 'body/host is missing'],
  ['POST', '/v1/tenants', [], 'body must be a JSON object'],
];

test('schemas: a wrong type or a missing field is BAD_REQUEST naming the field, and changes nothing', async () => {
  const t = await testApp();
  await seed(t);
  await t.call('POST', EP_URL, { id: 'a', labels: { app: 'web' } });
  const rev = await t.store.revision();
  for (const [method, url, body, field] of WRONG) {
    const message = assertError(await t.call(method, url, body), 'BAD_REQUEST');
    assert.ok(message.startsWith(`field ${field}`), `${method} ${url}: "${message}" names ${field}`);
  }
  assert.equal(await t.store.revision(), rev, 'refused requests change nothing');
  // Positive controls: the same routes take well-typed requests.
  assert.equal((await t.call('POST', '/v1/tenants', { name: 'beta' })).status, 201);
  assert.equal((await t.call('PATCH', '/v1/endpoints/a/labels', { remove: ['app'] })).status, 200);
  assert.equal((await t.call('POST', '/v1/tenants/acme/networks/web/addresses', {})).status, 201);
  assert.equal((await t.call('POST', '/v1/tenants/acme/networks/web/addresses')).status, 201, 'a reserve body is optional');
  // Meaning stays with the validators, with their own codes.
  assertError(await t.call('POST', '/v1/tenants/acme/networks', { name: 'x', subnet: '10.9.0.1/24' }), 'INVALID_CIDR');
  await t.app.close();
});

test('schemas: the agent refuses wrong types with the field named', async () => {
  const app = buildAgentApp({} as Agent, silentLogger, 'test');
  const cases: [string, unknown, string][] = [
    ['/v1/endpoints', { tenant: 'a', network: 'n', pid: '42' }, 'body/pid must be a whole number'],
    ['/v1/endpoints', { tenant: 'a' }, 'body/network is missing'],
    ['/v1/endpoints/x/attach', { netns: 5 }, 'body/netns must be a string'],
    ['/v1/endpoints', { tenant: 'a', network: 'n', handoff: 'yes' }, 'body/handoff must be true or false'],
    ['/v1/endpoints/x/attach', { handoff: 1 }, 'body/handoff must be true or false'],
  ];
  for (const [url, payload, field] of cases) {
    const res = await app.inject({ method: 'POST', url, payload: payload as object });
    assert.equal(res.statusCode, 400, url);
    assert.equal(res.json().error.code, 'BAD_REQUEST');
    assert.ok(res.json().error.message.startsWith(`field ${field}`), `${url}: ${res.json().error.message}`);
  }
  assert.equal((await app.inject({ method: 'GET', url: '/v1/openapi.json' })).statusCode, 200, 'positive control: the app answers');
  await app.close();
});

async function stored(t: TestApp, key: string): Promise<unknown> {
  return JSON.parse((await t.store.get(key))!.value);
}

test('schemas: every object kind round-trips whole (the serializer drops no field)', async () => {
  const t = await testApp();
  await seed(t);
  const reg = (await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500, underlay: 'lab' })).body;
  assert.deepEqual(reg.host, await stored(t, keys.host('h1')));
  assert.deepEqual(Object.keys(reg.lease).sort(), ['id', 'ttlMs']);
  assert.equal((await t.call('PUT', '/v1/hosts/h1/realized', { revision: 3 })).status, 204);
  const netns = await t.call('POST', EP_URL, { id: 'n1', name: 'db', labels: { 'example.com/tier': 'back', app: '' }, host: 'h1', attachment: att('/run/netns/c1', 'eth1') });
  await t.call('PATCH', '/v1/endpoints/n1/status', { status: 'error', detail: 'no such namespace', mtu: 1450 });
  await t.call('POST', EP_URL, { id: 'h1', host: 'h1', attachment: { kind: 'handoff', hostIfname: 'veth-h1', ifname: 'eth0' } });
  assert.equal(netns.status, 201);

  assert.deepEqual((await t.call('GET', '/v1/tenants/acme')).body, await stored(t, keys.tenant('acme')));
  assert.deepEqual((await t.call('GET', '/v1/tenants/acme/networks/web')).body, await stored(t, keys.network('acme', 'web')));
  for (const id of ['n1', 'h1']) assert.deepEqual((await t.call('GET', `/v1/endpoints/${id}`)).body, await stored(t, keys.endpoint(id)));
  const n1 = (await t.call('GET', '/v1/endpoints/n1')).body;
  assert.deepEqual([n1.statusDetail, n1.mtu, n1.name, n1.attachment.netnsId !== undefined], ['no such namespace', 1450, 'db', true], 'optional fields are kept');
  const [view] = (await t.call('GET', '/v1/hosts')).body;
  const { state, since, leaseExpiresInMs, realizedRevision, ...record } = view;
  assert.deepEqual(record, await stored(t, keys.host('h1')));
  assert.deepEqual([state, typeof since, typeof leaseExpiresInMs, realizedRevision], ['up', 'string', 'number', 3]);

  const snap = (await t.call('GET', '/v1/snapshot')).body;
  assert.deepEqual(snap.objects.endpoint, [await stored(t, keys.endpoint('h1')), await stored(t, keys.endpoint('n1'))]);

  const r = (await t.call('POST', '/v1/tenants/acme/networks/web/addresses', { ttlSeconds: 60, owner: { kind: 'request', id: 'req1' } })).body;
  assert.ok(r.expiresAt && r.owner.id === 'req1' && r.createdAt && r.ip, JSON.stringify(r));
  const listed = (await t.call('GET', '/v1/tenants/acme/networks/web/addresses')).body;
  assert.deepEqual(listed.find((x: any) => x.ip === r.ip), r);

  // Tokens need the TCP listener's TLS: their answers' round trip is in src/cmd/auth.test.ts.
  const health = (await t.call('GET', '/v1/health')).body;
  assert.deepEqual(Object.keys(health).sort(), ['ok', 'revision', 'role', 'version']);
  await t.app.close();
});
