import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayMac } from '../model/mac.js';
import { keys } from '../model/keys.js';
import { assertError, att, EP_URL, seed, testApp } from './testing.js';

test('endpoint model: created detached, attached later, detached again keeping its address', async () => {
  const t = await testApp();
  await seed(t);
  const created = await t.call('POST', EP_URL, { id: 'd1', name: 'web-1', labels: { app: 'web', 'example.com/tier': 'front' } });
  assert.equal(created.status, 201);
  assert.deepEqual([created.body.status, created.body.host, created.body.attachment, created.body.ip], ['detached', undefined, undefined, '10.0.0.2']);
  // An agent status report about a detached endpoint (a late one) changes nothing.
  assert.equal((await t.call('PATCH', '/v1/endpoints/d1/status', { status: 'up' })).body.status, 'detached');
  const a = att('/run/netns/c1');
  const attached = await t.call('PUT', '/v1/endpoints/d1/attachment', { host: 'h1', attachment: a });
  assert.deepEqual([attached.status, attached.body.status, attached.body.host, attached.body.attachment], [200, 'pending', 'h1', a]);
  assert.equal((await t.call('PUT', '/v1/endpoints/d1/attachment', { host: 'h1', attachment: a })).status, 200, 'the same attach again is a no-op');
  assert.match(assertError(await t.call('PUT', '/v1/endpoints/d1/attachment', { host: 'h1', attachment: att('/run/netns/c2') }), 'ENDPOINT_ATTACHED'), /\/run\/netns\/c1/);
  assertError(await t.call('PUT', '/v1/endpoints/d1/attachment', { host: 'h9', attachment: a }), 'ENDPOINT_ATTACHED');
  const handoff = { kind: 'handoff', hostIfname: 'tnh0', ifname: 'eth0' };
  const detached = await t.call('DELETE', '/v1/endpoints/d1/attachment');
  assert.deepEqual([detached.body.status, detached.body.attachment, detached.body.ip, detached.body.name], ['detached', undefined, '10.0.0.2', 'web-1']);
  assert.deepEqual((await t.call('PUT', '/v1/endpoints/d1/attachment', { host: 'h1', attachment: handoff })).body.attachment, handoff);
  assertError(await t.call('PUT', '/v1/endpoints/d1/attachment', { host: 'h1', attachment: { kind: 'other' } }), 'BAD_REQUEST');
  assertError(await t.call('PUT', '/v1/endpoints/nope/attachment', { host: 'h1', attachment: a }), 'ENDPOINT_NOT_FOUND');
  await t.app.close();
});

test('endpoint model: names are unique per network (ignoring case) and released with the endpoint', async () => {
  const t = await testApp();
  await seed(t);
  await t.call('POST', '/v1/tenants/acme/networks', { name: 'db', subnet: '10.1.0.0/24' });
  assert.equal((await t.call('POST', EP_URL, { id: 'a', name: 'Web-1' })).status, 201);
  const rev = await t.store.revision();
  assert.match(assertError(await t.call('POST', EP_URL, { id: 'b', name: 'web-1' }), 'ENDPOINT_NAME_IN_USE'), /endpoint a/);
  assert.equal(await t.store.revision(), rev);
  assert.equal((await t.call('POST', '/v1/tenants/acme/networks/db/endpoints', { id: 'c', name: 'web-1' })).status, 201, 'another network');
  for (const name of ['-x', 'a b', 'x'.repeat(64)]) assertError(await t.call('POST', EP_URL, { name }), 'INVALID_NAME');
  assertError(await t.call('POST', EP_URL, { name: 5 }), 'BAD_REQUEST'); // a wrong type is the schema's (ADR 009)
  await t.call('DELETE', '/v1/endpoints/a');
  assert.equal((await t.call('POST', EP_URL, { id: 'b', name: 'web-1' })).status, 201, 'the name is free again');
  await t.app.close();
});

test('endpoint model: a MAC that is the gateway\'s, derived-style or in use is refused', async () => {
  const t = await testApp();
  await seed(t);
  const net = (await t.call('GET', '/v1/tenants/acme/networks/web')).body;
  const first = (await t.call('POST', EP_URL, { id: 'a', mac: '02:00:00:00:00:05' })).body;
  const rev = await t.store.revision();
  assert.match(assertError(await t.call('POST', EP_URL, { mac: gatewayMac(net.vni) }), 'MAC_IN_USE'), /gateway/);
  assert.match(assertError(await t.call('POST', EP_URL, { mac: '02:00:00:00:00:05' }), 'MAC_IN_USE'), /endpoint a/);
  assertError(await t.call('POST', EP_URL, { mac: '0a:58:0a:00:00:09' }), 'MAC_IN_USE');
  assertError(await t.call('POST', EP_URL, { mac: '01:00:5e:00:00:01' }), 'INVALID_MAC');
  assert.equal(await t.store.revision(), rev, 'refused creates change nothing');
  assert.equal((await t.store.get(keys.mac(first.networkId, '02:00:00:00:00:05')))?.value, 'a');
  await t.app.close();
});

test('endpoint model: labels are validated, patched (set and remove) and filter the list', async () => {
  const t = await testApp();
  await seed(t);
  await t.call('POST', EP_URL, { id: 'a', labels: { app: 'web' } });
  await t.call('POST', EP_URL, { id: 'b', labels: { app: 'db' } });
  const rev = await t.store.revision();
  for (const labels of [{ '-bad': 'x' }, { 'a/b/c': 'x' }, { app: 'x y' }, { ['k'.repeat(64)]: 'v' }, Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']))]) {
    assertError(await t.call('POST', EP_URL, { labels }), 'INVALID_LABEL');
  }
  for (const labels of [{ app: 5 }, ['app']]) assertError(await t.call('POST', EP_URL, { labels }), 'BAD_REQUEST');
  assertError(await t.call('PATCH', '/v1/endpoints/a/labels', { set: { 'Bad Key': 'v' } }), 'INVALID_LABEL');
  assert.equal(await t.store.revision(), rev, 'refused changes change nothing');
  const patched = await t.call('PATCH', '/v1/endpoints/a/labels', { set: { tier: 'front', 'example.com/team': 'blue' }, remove: ['app'] });
  assert.deepEqual(patched.body.labels, { tier: 'front', 'example.com/team': 'blue' });
  const ids = async (q: string) => (await t.call('GET', `/v1/endpoints${q}`)).body.map((e: { id: string }) => e.id);
  assert.deepEqual(await ids('?label=tier=front'), ['a']);
  assert.deepEqual(await ids('?label=app=db'), ['b']);
  assert.deepEqual(await ids('?label=app=db&label=tier=front'), []);
  assert.deepEqual(await ids('?label=example.com/team'), ['a'], 'a bare key asks for presence');
  assertError(await t.call('PATCH', '/v1/endpoints/zz/labels', { set: { a: 'b' } }), 'ENDPOINT_NOT_FOUND');
  await t.app.close();
});
