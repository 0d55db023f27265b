import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIp } from '../base/cidr.js';
import { keys } from '../model/keys.js';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

test('hosts: register creates, re-register updates and refreshes lastSeen', async () => {
  const t = await testApp();
  const first = await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 9000 });
  assert.equal(first.status, 201);
  assert.deepEqual([first.body.name, first.body.vtep, first.body.underlayMtu, first.body.underlay], ['h1', '192.0.2.1', 9000, 'default']);
  await new Promise((r) => setTimeout(r, 5));
  const again = await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.9', underlayMtu: 1500, realizedRevision: 7 });
  assert.equal(again.status, 200);
  assert.ok(again.body.lastSeen > first.body.lastSeen);
  assert.deepEqual([again.body.vtep, again.body.realizedRevision], ['192.0.2.9', 7]);
  const beat = await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.9', underlayMtu: 1500 });
  assert.equal(beat.body.realizedRevision, 7, 'a heartbeat without realizedRevision keeps the last one');
  assert.deepEqual((await t.call('GET', '/v1/hosts')).body, [beat.body]);
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
  assertError(await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500, realizedRevision: -1 }), 'BAD_REQUEST');
  assert.equal(await t.store.revision(), 0);
  await t.app.close();
});

test('hosts: delete removes the host, its endpoints and their addresses, in one txn', async () => {
  const t = await testApp();
  await seed(t);
  await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 });
  const a = (await t.call('POST', EP_URL, { id: 'a', host: 'h1', attachment: att('/n/a') })).body;
  await t.call('POST', EP_URL, { id: 'b', host: 'h1', attachment: att('/n/b') });
  await t.call('POST', EP_URL, { id: 'c', host: 'h2', attachment: att('/n/c') });
  const rev = await t.store.revision();
  assert.equal((await t.call('DELETE', '/v1/hosts/h1')).status, 204);
  assert.equal(await t.store.revision(), rev + 2, 'the delete guard, then one txn for everything');
  assert.deepEqual((await t.call('GET', '/v1/endpoints')).body.map((e: { id: string }) => e.id), ['c']);
  assert.deepEqual((await t.call('GET', '/v1/hosts')).body.map((h: { name: string }) => h.name), ['h2']);
  assert.equal(await t.store.get(keys.addr(a.networkId, parseIp(a.ip)!)), undefined);
  assert.deepEqual(t.logs.find((l) => l.msg === 'host deleted')?.fields, { host: 'h1', endpoints: ['a', 'b'] });
  assertError(await t.call('DELETE', '/v1/hosts/h1'), 'HOST_NOT_FOUND');
  assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: att('/n/x') }), 'HOST_NOT_FOUND');
  await t.app.close();
});
