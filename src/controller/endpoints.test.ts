import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIp } from '../base/cidr.js';
import { keys } from '../model/keys.js';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

const NETNS = '/run/netns/c1';

test('endpoints: create with defaults is pending, with the first free address', async () => {
  const t = await testApp();
  await seed(t);
  const res = await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS) });
  assert.equal(res.status, 201);
  const ep = res.body;
  assert.match(ep.id, /^[0-9a-f]{12}$/);
  assert.deepEqual(
    [ep.status, ep.ip, ep.prefixLen, ep.gateway, ep.mac, ep.attachment.ifname, ep.host, ep.attachment.netns, ep.tenant, ep.network],
    ['pending', '10.0.0.2', 24, '10.0.0.1', '0a:58:0a:00:00:02', 'eth0', 'h1', NETNS, 'acme', 'web'],
  );
  assert.deepEqual(ep.labels, {});
  const held = JSON.parse((await t.store.get(keys.addr(ep.networkId, parseIp('10.0.0.2')!)))!.value);
  assert.deepEqual(held.owner, { kind: 'endpoint', id: ep.id });
  assert.equal((await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS, 'eth1') })).body.ip, '10.0.0.3');
  const log = t.logs.find((l) => l.msg === 'endpoint created');
  assert.deepEqual(log?.fields, { tenant: 'acme', network: 'web', endpoint: ep.id, name: undefined, host: 'h1', ip: '10.0.0.2', mac: ep.mac, attached: 'netns' });
  await t.app.close();
});

test('endpoints: requested address and MAC; address in use names its holder', async () => {
  const t = await testApp();
  await seed(t);
  const a = await t.call('POST', EP_URL, { id: 'c1', host: 'h1', attachment: att(NETNS, 'net1'), ip: '10.0.0.50', mac: '02:AA:00:00:00:01' });
  assert.deepEqual([a.status, a.body.ip, a.body.mac, a.body.attachment.ifname], [201, '10.0.0.50', '02:aa:00:00:00:01', 'net1']);
  const rev = await t.store.revision();
  assert.match(assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS), ip: '10.0.0.50' }), 'IP_IN_USE'), /endpoint c1/);
  for (const ip of ['10.0.1.5', '10.0.0.1', '10.0.0.0', '10.0.0.255']) {
    assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS), ip }), 'IP_OUTSIDE_SUBNET');
  }
  assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS), ip: '10.0.0' }), 'INVALID_IP');
  assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS), mac: '01:00:00:00:00:01' }), 'INVALID_MAC');
  assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS, 'x'.repeat(16)) }), 'INVALID_IFNAME');
  assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS), id: '-bad' }), 'INVALID_NAME');
  assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS), id: 'x'.repeat(65) }), 'INVALID_NAME');
  assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: { kind: 'netns', netns: NETNS, ifname: 'eth0' } }), 'BAD_REQUEST');
  assertError(await t.call('POST', EP_URL, { host: 'h1', attachment: { ...att(NETNS), netns: '/run/netns/a\nlink del eth0' } }), 'BAD_REQUEST');
  assertError(await t.call('POST', EP_URL, { attachment: att(NETNS) }), 'BAD_REQUEST');
  assertError(await t.call('POST', EP_URL, { host: 'h 1' }), 'INVALID_NAME');
  assert.equal(await t.store.revision(), rev, 'bad input changes nothing');
  await t.app.close();
});

test('endpoints: unknown host, network or tenant', async () => {
  const t = await testApp();
  await seed(t);
  assert.match(assertError(await t.call('POST', EP_URL, { host: 'h9', attachment: att(NETNS) }), 'HOST_NOT_FOUND'), /start the agent/);
  assertError(await t.call('POST', '/v1/tenants/acme/networks/nope/endpoints', { host: 'h1', attachment: att(NETNS) }), 'NETWORK_NOT_FOUND');
  assertError(await t.call('POST', '/v1/tenants/nope/networks/web/endpoints', { host: 'h1', attachment: att(NETNS) }), 'TENANT_NOT_FOUND');
  await t.app.close();
});

test('endpoints: a repeated create with the same id is idempotent; different settings clash', async () => {
  const t = await testApp();
  await seed(t);
  const req = { id: 'cni-abc', host: 'h1', attachment: att(NETNS) };
  const first = await t.call('POST', EP_URL, req);
  const again = await t.call('POST', EP_URL, req);
  assert.deepEqual([first.status, again.status], [201, 200]);
  assert.deepEqual(again.body, first.body);
  assertError(await t.call('POST', EP_URL, { ...req, attachment: att('/run/netns/other') }), 'ENDPOINT_EXISTS');
  assertError(await t.call('POST', EP_URL, { ...req, ip: '10.0.0.99' }), 'ENDPOINT_EXISTS');
  const concurrent = await Promise.all([1, 2, 3].map(() => t.call('POST', EP_URL, { ...req, id: 'same' })));
  assert.deepEqual(concurrent.map((r) => r.status).sort(), [200, 200, 201]);
  assert.equal(new Set(concurrent.map((r) => r.body.ip)).size, 1);
  await t.app.close();
});

test('endpoints: list with filters, get, unknown id', async () => {
  const t = await testApp();
  await seed(t);
  await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 });
  await t.call('POST', '/v1/tenants/acme/networks', { name: 'db', subnet: '10.1.0.0/24' });
  await t.call('POST', EP_URL, { id: 'a', host: 'h1', attachment: att(NETNS) });
  await t.call('POST', EP_URL, { id: 'b', host: 'h2', attachment: att(NETNS) });
  await t.call('POST', '/v1/tenants/acme/networks/db/endpoints', { id: 'c', host: 'h2', attachment: att(NETNS) });
  const ids = async (q: string) => (await t.call('GET', `/v1/endpoints${q}`)).body.map((e: { id: string }) => e.id);
  assert.deepEqual(await ids(''), ['a', 'b', 'c']);
  assert.deepEqual(await ids('?host=h2'), ['b', 'c']);
  assert.deepEqual(await ids('?tenant=acme&network=web'), ['a', 'b']);
  assert.deepEqual(await ids('?tenant=other'), []);
  assert.equal((await t.call('GET', '/v1/endpoints/c')).body.network, 'db');
  assertError(await t.call('GET', '/v1/endpoints/zzz'), 'ENDPOINT_NOT_FOUND');
  await t.app.close();
});

test('endpoints: status reports set status, detail, mtu and updatedAt', async () => {
  const t = await testApp();
  await seed(t);
  const ep = (await t.call('POST', EP_URL, { id: 'a', host: 'h1', attachment: att(NETNS) })).body;
  await new Promise((r) => setTimeout(r, 5));
  const err = await t.call('PATCH', '/v1/endpoints/a/status', { status: 'error', detail: 'netns gone' });
  assert.deepEqual([err.status, err.body.status, err.body.statusDetail], [200, 'error', 'netns gone']);
  assert.ok(err.body.updatedAt > ep.updatedAt);
  const up = await t.call('PATCH', '/v1/endpoints/a/status', { status: 'up', mtu: 1450 });
  assert.deepEqual([up.body.status, up.body.statusDetail, up.body.mtu], ['up', undefined, 1450]);
  assert.deepEqual((await t.call('GET', '/v1/endpoints/a')).body, up.body);
  assertError(await t.call('PATCH', '/v1/endpoints/a/status', { status: 'weird' }), 'BAD_REQUEST');
  assertError(await t.call('PATCH', '/v1/endpoints/a/status', { status: 'up', mtu: 1 }), 'INVALID_MTU');
  assertError(await t.call('PATCH', '/v1/endpoints/nope/status', { status: 'up' }), 'ENDPOINT_NOT_FOUND');
  const racing = await Promise.all([1, 2, 3, 4].map(() => t.call('PATCH', '/v1/endpoints/a/status', { status: 'up' })));
  assert.ok(racing.every((r) => r.status === 200));
  await t.app.close();
});

test('endpoints: delete releases the address; unknown id is ENDPOINT_NOT_FOUND', async () => {
  const t = await testApp();
  await seed(t);
  const ep = (await t.call('POST', EP_URL, { id: 'a', host: 'h1', attachment: att(NETNS) })).body;
  assert.equal((await t.call('DELETE', '/v1/endpoints/a')).status, 204);
  assert.equal(await t.store.get(keys.addr(ep.networkId, parseIp(ep.ip)!)), undefined);
  assert.equal(await t.store.get(keys.mac(ep.networkId, ep.mac)), undefined);
  assertError(await t.call('DELETE', '/v1/endpoints/a'), 'ENDPOINT_NOT_FOUND');
  assert.equal((await t.call('POST', EP_URL, { host: 'h1', attachment: att(NETNS), ip: ep.ip })).body.ip, ep.ip, 'the address is free again');
  assert.ok(t.logs.some((l) => l.msg === 'endpoint deleted' && l.fields.endpoint === 'a'));
  await t.app.close();
});
