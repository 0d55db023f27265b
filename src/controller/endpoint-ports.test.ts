/**
 * PUT /v1/endpoints/:id/ports (ADR 016): the whole list replaced, [] clearing it; bad
 * mappings and a host port another endpoint of the same host publishes refused with one
 * line and nothing changed; the same host port on another host is fine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

const p = (hostPort: number, port = 80, proto = 'tcp', hostIp?: string) => ({ hostPort, port, proto, ...(hostIp ? { hostIp } : {}) });

test('endpoint ports: set, replaced, shown, cleared; invalid mappings refused and nothing changed', async () => {
  const t = await testApp();
  await seed(t);
  const ep = (await t.call('POST', EP_URL, { host: 'h1', attachment: att('/run/netns/a') })).body;
  const url = `/v1/endpoints/${ep.id}/ports`;
  const set = await t.call('PUT', url, { ports: [p(8080), p(5353, 53, 'udp', '10.1.1.1')] });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.deepEqual(set.body.ports, [p(8080), p(5353, 53, 'udp', '10.1.1.1')]);
  assert.deepEqual((await t.call('GET', `/v1/endpoints/${ep.id}`)).body.ports, set.body.ports);
  const rev = await t.store.revision();
  for (const bad of [[p(0)], [p(8080, 70000)], [p(8080, 80, 'sctp')], [p(8080), p(8080, 81)]]) assertError(await t.call('PUT', url, { ports: bad }), 'INVALID_PORT');
  assertError(await t.call('PUT', url, { ports: Array.from({ length: 33 }, (_, i) => p(9000 + i)) }), 'BAD_REQUEST'); // the schema's ceiling
  assertError(await t.call('PUT', url, { ports: [p(8080, 80, 'tcp', '10.1.1')] }), 'INVALID_IP');
  assert.equal(await t.store.revision(), rev, 'refusals write nothing');
  assert.equal((await t.call('PUT', url, { ports: [p(8080)] })).body.ports.length, 1);
  const cleared = await t.call('PUT', url, { ports: [] });
  assert.equal(cleared.body.ports, undefined);
  assertError(await t.call('PUT', '/v1/endpoints/nope/ports', { ports: [] }), 'ENDPOINT_NOT_FOUND');
  await t.app.close();
});

test('endpoint ports: a host port another endpoint of the host publishes is HOST_PORT_IN_USE; another host or address is fine', async () => {
  const t = await testApp();
  await seed(t);
  assert.equal((await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2' })).status, 201);
  const mk = async (host: string, ns: string) => (await t.call('POST', EP_URL, { host, attachment: att(ns) })).body;
  const [a, b, c] = [await mk('h1', '/run/netns/a'), await mk('h1', '/run/netns/b'), await mk('h2', '/run/netns/c')];
  assert.equal((await t.call('PUT', `/v1/endpoints/${a.id}/ports`, { ports: [p(8080), p(9090, 90, 'tcp', '10.1.1.1')] })).status, 200);
  const rev = await t.store.revision();
  const refused = assertError(await t.call('PUT', `/v1/endpoints/${b.id}/ports`, { ports: [p(7070), p(8080, 81)] }), 'HOST_PORT_IN_USE');
  assert.match(refused, new RegExp(`host port 8080/tcp of host h1 is published by endpoint ${a.id}.*tenet ep unexpose ${a.id} 8080/tcp`));
  assertError(await t.call('PUT', `/v1/endpoints/${b.id}/ports`, { ports: [p(9090)] }), 'HOST_PORT_IN_USE'); // all addresses include 10.1.1.1
  assert.equal(await t.store.revision(), rev, 'nothing changed');
  assert.equal((await t.call('PUT', `/v1/endpoints/${b.id}/ports`, { ports: [p(8080, 80, 'udp'), p(9090, 90, 'tcp', '10.1.1.2')] })).status, 200, 'other protocol, other address');
  assert.equal((await t.call('PUT', `/v1/endpoints/${c.id}/ports`, { ports: [p(8080)] })).status, 200, 'another host');
  const detached = (await t.call('POST', EP_URL, {})).body;
  assert.match(assertError(await t.call('PUT', `/v1/endpoints/${detached.id}/ports`, { ports: [p(1234)] }), 'BAD_REQUEST'), /on no host yet/);
  await t.app.close();
});
