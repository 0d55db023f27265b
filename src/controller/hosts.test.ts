import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIp } from '../base/cidr.js';
import { keys, kindOfKey } from '../model/keys.js';
import { internalKeys } from './repo.js';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

test('hosts: register creates the record and a lease; a re-registration renews the lease and rewrites only a changed record', async () => {
  const t = await testApp();
  const first = await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 9000 });
  assert.equal(first.status, 201);
  const { host, lease } = first.body;
  assert.deepEqual([host.name, host.vtep, host.underlayMtu, host.underlay, typeof host.registeredAt], ['h1', '192.0.2.1', 9000, 'default', 'string']);
  assert.deepEqual(Object.keys(host).sort(), ['name', 'registeredAt', 'underlay', 'underlayMtu', 'vtep'], 'no liveness in the watched object');
  assert.equal(lease.ttlMs, 30_000, 'the default TTL');
  const rev = await t.store.revision();
  const same = await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 9000 });
  assert.deepEqual([same.status, same.body.lease.id, same.body.host], [200, lease.id, host], 'the live lease is kept, not piled up');
  assert.equal(await t.store.revision(), rev, 'an unchanged re-registration of a live host writes nothing');
  const moved = await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.9', underlayMtu: 1500 });
  assert.deepEqual([moved.body.host.vtep, moved.body.host.registeredAt, moved.body.lease.id], ['192.0.2.9', host.registeredAt, lease.id]);
  assert.equal(await t.store.revision(), rev + 1, 'positive control: a changed record is written');
  const [view] = (await t.call('GET', '/v1/hosts')).body;
  assert.deepEqual([view.state, view.vtep, view.since <= new Date().toISOString(), view.leaseExpiresInMs > 0], ['up', '192.0.2.9', true, true]);
  assert.deepEqual(t.logs.filter((l) => l.level === 'info').map((l) => l.msg), ['host registered', 'host updated']);
  await t.app.close();
});

test('hosts: bad names and addresses are refused and change nothing', async () => {
  const t = await testApp();
  assertError(await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2', underlayMtu: 1500 }), 'INVALID_IP');
  assertError(await t.call('PUT', '/v1/hosts/h1', { underlayMtu: 1500 }), 'BAD_REQUEST');
  assertError(await t.call('PUT', '/v1/hosts/-h', { vtep: '192.0.2.1', underlayMtu: 1500 }), 'INVALID_NAME');
  assertError(await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 100 }), 'INVALID_MTU');
  assertError(await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500, underlay: 'Lab X' }), 'INVALID_NAME');
  assertError(await t.call('PUT', '/v1/hosts/h1/realized', { revision: 3 }), 'HOST_NOT_FOUND');
  assertError(await t.call('POST', '/v1/hosts/h1/heartbeat', { lease: 1 }), 'LEASE_EXPIRED');
  assertError(await t.call('POST', '/v1/hosts/h1/evict'), 'HOST_NOT_FOUND');
  assert.equal(await t.store.revision(), 0);
  await t.app.close();
});

test('hosts: a heartbeat keeps the own lease alive with no store write; another lease is refused', async () => {
  const t = await testApp();
  const h1 = (await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 })).body.lease;
  const h2 = (await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 })).body.lease;
  assert.deepEqual([kindOfKey(internalKeys.alive('h1')), kindOfKey(internalKeys.realized('h1'))], [undefined, undefined], 'no object kind: agents never receive them');
  const rev = await t.store.revision();
  const events: unknown[] = [];
  const watch = t.store.watch('/', rev, { onEvents: (e) => events.push(...e), onError: () => undefined });
  assert.equal((await t.call('POST', '/v1/hosts/h1/heartbeat', { lease: h1.id })).status, 204);
  assert.equal((await t.call('POST', '/v1/hosts/h1/heartbeat', { lease: h1.id })).status, 204);
  assertError(await t.call('POST', '/v1/hosts/h1/heartbeat', { lease: h2.id }), 'LEASE_EXPIRED');
  assertError(await t.call('POST', '/v1/hosts/h1/heartbeat', { lease: 999 }), 'LEASE_EXPIRED');
  assert.equal(await t.store.revision(), rev, 'keep-alives make no revision');
  // Positive control: the watch does see a write made after the heartbeats.
  await t.call('PUT', '/v1/hosts/h1/realized', { revision: 5 });
  await new Promise((r) => setTimeout(r, 20));
  watch.cancel();
  assert.deepEqual(events.map((e: any) => e.kv.key), [internalKeys.realized('h1')]);
  await t.app.close();
});

test('hosts: realization reports go to an internal key, never to the Host object', async () => {
  const t = await testApp();
  await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 });
  const before = await t.store.get(keys.host('h1'));
  assert.equal((await t.call('PUT', '/v1/hosts/h1/realized', { revision: 7 })).status, 204);
  const rev = await t.store.revision();
  assert.equal((await t.call('PUT', '/v1/hosts/h1/realized', { revision: 7 })).status, 204);
  assert.equal(await t.store.revision(), rev, 'the same revision again writes nothing');
  assert.deepEqual(await t.store.get(keys.host('h1')), before, 'the Host object is untouched');
  assert.equal((await t.call('GET', '/v1/hosts')).body[0].realizedRevision, 7);
  await t.app.close();
});

test('hosts: delete (decommission) removes even an up host, its endpoints, addresses, status keys, and revokes its lease', async () => {
  const t = await testApp();
  await seed(t);
  const lease = (await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 })).body.lease;
  await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 });
  await t.call('PUT', '/v1/hosts/h1/realized', { revision: 3 });
  const a = (await t.call('POST', EP_URL, { id: 'a', host: 'h1', attachment: att('/n/a') })).body;
  await t.call('POST', EP_URL, { id: 'b', host: 'h1', attachment: att('/n/b') });
  await t.call('POST', EP_URL, { id: 'c', host: 'h2', attachment: att('/n/c') });
  const rev = await t.store.revision();
  assert.equal((await t.call('DELETE', '/v1/hosts/h1')).status, 204);
  assert.equal(await t.store.revision(), rev + 2, 'the delete guard, then one txn for everything');
  assert.deepEqual((await t.call('GET', '/v1/endpoints')).body.map((e: { id: string }) => e.id), ['c']);
  assert.deepEqual((await t.call('GET', '/v1/hosts')).body.map((h: { name: string }) => h.name), ['h2']);
  assert.equal(await t.store.get(keys.addr(a.networkId, parseIp(a.ip)!)), undefined);
  assert.equal(await t.store.get(internalKeys.realized('h1')), undefined);
  assert.equal(await t.store.get(internalKeys.alive('h1')), undefined);
  assert.equal(await t.store.timeToLive(lease.id), undefined, 'the lease is revoked');
  assert.deepEqual(t.logs.find((l) => l.msg === 'host deleted')?.fields, { host: 'h1', endpoints: ['a', 'b'] });
  assertError(await t.call('DELETE', '/v1/hosts/h1'), 'HOST_NOT_FOUND');
  assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: att('/n/x') }), 'HOST_NOT_FOUND');
  assertError(await t.call('POST', '/v1/hosts/h1/heartbeat', { lease: lease.id }), 'LEASE_EXPIRED');
  await t.app.close();
});
