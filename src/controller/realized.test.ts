import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

test('realized: an endpoint is realized once every host of its underlay that carries its tenant is up and has reached its revision', async () => {
  const t = await testApp();
  await seed(t); // h1 on the default underlay
  await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 });
  await t.call('PUT', '/v1/hosts/h3', { vtep: '192.0.2.3', underlayMtu: 1500 }); // carries no endpoint of acme: never hears of it
  await t.call('PUT', '/v1/hosts/lab1', { vtep: '10.99.0.2', underlayMtu: 1500, underlay: 'lab-x' });
  await t.call('POST', EP_URL, { host: 'h2' }); // h2 carries acme
  await t.call('POST', EP_URL, { host: 'lab1' });
  const ep = (await t.call('POST', EP_URL, { host: 'h1', attachment: att('/run/netns/c1') })).body;
  const url = `/v1/endpoints/${ep.id}/realized`;
  const before = (await t.call('GET', url)).body;
  assert.equal(before.realized, false);
  assert.deepEqual(before.hosts.map((h: { host: string }) => h.host).sort(), ['h1', 'h2'], 'hosts of another underlay, or without the tenant, do not count');
  await t.call('PUT', '/v1/hosts/h1/realized', { revision: before.revision });
  const half = (await t.call('GET', url)).body;
  assert.deepEqual([half.realized, half.hosts.find((h: { host: string }) => h.host === 'h1')], [false, { host: 'h1', state: 'up', realizedRevision: before.revision, realized: true }]);
  const lease = (await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 })).body.lease;
  await t.call('PUT', '/v1/hosts/h2/realized', { revision: before.revision + 5 });
  assert.equal((await t.call('GET', url)).body.realized, true);
  // A status report is sent to no other host: it does not make the endpoint unrealized.
  assert.equal((await t.call('PATCH', `/v1/endpoints/${ep.id}/status`, { status: 'up' })).status, 200);
  assert.deepEqual([(await t.call('GET', url)).body.realized, (await t.call('GET', url)).body.revision], [true, before.revision]);
  // A host that goes down counts as not realized: nobody knows what its kernel has now.
  await t.store.revoke(lease.id);
  const down = (await t.call('GET', url)).body;
  assert.deepEqual([down.realized, down.hosts.find((h: { host: string }) => h.host === 'h2')], [false, { host: 'h2', state: 'down', realizedRevision: before.revision + 5, realized: false }]);
  assertError(await t.call('GET', '/v1/endpoints/nope/realized'), 'ENDPOINT_NOT_FOUND');
  await t.app.close();
});
