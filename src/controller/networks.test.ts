import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keys } from '../model/keys.js';
import { assertError, att, testApp, type TestApp } from './testing.js';

const NETS = '/v1/tenants/acme/networks';

async function withTenants(...names: string[]): Promise<TestApp> {
  const t = await testApp();
  for (const name of names) assert.equal((await t.call('POST', '/v1/tenants', { name })).status, 201);
  return t;
}

test('networks: create with defaults, get, list per tenant and across tenants', async () => {
  const t = await withTenants('acme', 'beta');
  const res = await t.call('POST', NETS, { name: 'web', subnet: '10.0.0.0/24' });
  assert.equal(res.status, 201);
  assert.equal(res.body.gateway, '10.0.0.1');
  assert.equal(res.body.mtu, 0);
  assert.equal(res.body.vni, 4096);
  assert.equal(res.body.tenant, 'acme');
  assert.deepEqual((await t.call('GET', `${NETS}/web`)).body, res.body);
  await t.call('POST', '/v1/tenants/beta/networks', { name: 'db', subnet: '10.0.0.0/24' });
  assert.deepEqual((await t.call('GET', NETS)).body, [res.body]);
  assert.equal((await t.call('GET', '/v1/networks')).body.length, 2);
  const log = t.logs.find((l) => l.msg === 'network created');
  assert.deepEqual(log?.fields, { tenant: 'acme', network: 'web', networkId: res.body.id, subnet: '10.0.0.0/24', vni: 4096 });
  await t.app.close();
});

test('networks: explicit gateway, mtu and vni; VNIs allocated lowest free from 4096', async () => {
  const t = await withTenants('acme');
  const a = await t.call('POST', NETS, { name: 'a', subnet: '10.1.0.0/16', gateway: '10.1.255.254', mtu: 1400, vni: 100 });
  assert.deepEqual([a.status, a.body.gateway, a.body.mtu, a.body.vni], [201, '10.1.255.254', 1400, 100]);
  const b = await t.call('POST', NETS, { name: 'b', subnet: '10.2.0.0/24' });
  const c = await t.call('POST', NETS, { name: 'c', subnet: '10.3.0.0/24' });
  assert.deepEqual([b.body.vni, c.body.vni], [4096, 4097]);
  await t.call('DELETE', `${NETS}/b`);
  assert.equal(await t.store.get(keys.vni(4096)), undefined, 'delete frees the VNI key');
  assert.equal((await t.call('POST', NETS, { name: 'd', subnet: '10.4.0.0/24' })).body.vni, 4096);
  await t.app.close();
});

test('networks: bad input is refused and changes nothing', async () => {
  const t = await withTenants('acme');
  const rev = await t.store.revision();
  const cases: [object, string][] = [
    [{ name: 'web', subnet: '10.0.0.0' }, 'INVALID_CIDR'],
    [{ name: 'web', subnet: '10.0.0.1/24' }, 'INVALID_CIDR'],
    [{ name: 'web', subnet: '300.0.0.0/24' }, 'INVALID_CIDR'],
    [{ name: 'web', subnet: '10.0.0.0/31' }, 'INVALID_CIDR'],
    [{ name: 'web' }, 'BAD_REQUEST'],
    [{ name: 'web', subnet: '10.0.0.0/24', gateway: '10.0.1.1' }, 'GATEWAY_OUTSIDE_SUBNET'],
    [{ name: 'web', subnet: '10.0.0.0/24', gateway: '10.0.0.255' }, 'GATEWAY_OUTSIDE_SUBNET'],
    [{ name: 'web', subnet: '10.0.0.0/24', gateway: 'x' }, 'INVALID_IP'],
    [{ name: 'web', subnet: '10.0.0.0/24', mtu: 100 }, 'INVALID_MTU'],
    [{ name: 'web', subnet: '10.0.0.0/24', vni: 1 << 24 }, 'INVALID_VNI'],
    [{ name: 'Web', subnet: '10.0.0.0/24' }, 'INVALID_NAME'],
  ];
  for (const [body, code] of cases) assertError(await t.call('POST', NETS, body), code as never);
  assertError(await t.call('POST', '/v1/tenants/nope/networks', { name: 'web', subnet: '10.0.0.0/24' }), 'TENANT_NOT_FOUND');
  assert.equal(await t.store.revision(), rev);
  await t.app.close();
});

test('networks: overlapping subnets are refused within a tenant, allowed across tenants', async () => {
  const t = await withTenants('acme', 'beta');
  await t.call('POST', NETS, { name: 'web', subnet: '10.0.0.0/16' });
  const msg = assertError(await t.call('POST', NETS, { name: 'db', subnet: '10.0.5.0/24' }), 'SUBNET_OVERLAP');
  assert.match(msg, /network web \(10\.0\.0\.0\/16\)/);
  assertError(await t.call('POST', NETS, { name: 'db', subnet: '10.0.0.0/8' }), 'SUBNET_OVERLAP');
  assert.equal((await t.call('POST', '/v1/tenants/beta/networks', { name: 'web', subnet: '10.0.0.0/16' })).status, 201);
  assert.equal((await t.call('POST', NETS, { name: 'db', subnet: '10.1.0.0/16' })).status, 201);
  await t.app.close();
});

test('networks: duplicate names and taken VNIs are refused', async () => {
  const t = await withTenants('acme', 'beta');
  await t.call('POST', NETS, { name: 'web', subnet: '10.0.0.0/24', vni: 77 });
  assertError(await t.call('POST', NETS, { name: 'web', subnet: '10.9.0.0/24' }), 'NETWORK_EXISTS');
  const msg = assertError(await t.call('POST', '/v1/tenants/beta/networks', { name: 'x', subnet: '10.9.0.0/24', vni: 77 }), 'VNI_IN_USE');
  assert.match(msg, /network web of tenant acme/);
  await t.app.close();
});

test('networks: get/delete of unknown tenant or network', async () => {
  const t = await withTenants('acme');
  assertError(await t.call('GET', `${NETS}/nope`), 'NETWORK_NOT_FOUND');
  assertError(await t.call('DELETE', `${NETS}/nope`), 'NETWORK_NOT_FOUND');
  assertError(await t.call('GET', '/v1/tenants/nope/networks/web'), 'TENANT_NOT_FOUND');
  assertError(await t.call('GET', '/v1/tenants/nope/networks'), 'TENANT_NOT_FOUND');
  await t.app.close();
});

test('networks: a network with endpoints cannot be deleted', async () => {
  const t = await withTenants('acme');
  await t.call('POST', NETS, { name: 'web', subnet: '10.0.0.0/24' });
  await t.call('PUT', '/v1/hosts/h1', { vtep: '192.0.2.1', underlayMtu: 1500 });
  const ep = await t.call('POST', `${NETS}/web/endpoints`, { host: 'h1', attachment: att('/run/netns/a'), id: 'c1' });
  assert.equal(ep.status, 201);
  assert.match(assertError(await t.call('DELETE', `${NETS}/web`), 'NETWORK_IN_USE'), /c1/);
  assert.equal((await t.call('GET', `${NETS}/web`)).status, 200);
  await t.call('DELETE', '/v1/endpoints/c1');
  assert.equal((await t.call('DELETE', `${NETS}/web`)).status, 204);
  assert.ok(t.logs.some((l) => l.msg === 'network deleted' && l.fields.network === 'web'));
  await t.app.close();
});

test('networks: two controllers on one store never allocate the same VNI', async () => {
  const a = await withTenants('acme');
  const b = await testApp({ store: a.store });
  const creates = Array.from({ length: 20 }, (_, i) =>
    (i % 2 ? a : b).call('POST', NETS, { name: `n${i}`, subnet: `10.${i}.0.0/16` }),
  );
  const results = await Promise.all(creates);
  assert.ok(results.every((r) => r.status === 201), JSON.stringify(results.find((r) => r.status !== 201)));
  const vnis = new Set(results.map((r) => r.body.vni));
  assert.equal(vnis.size, 20);
  await a.app.close();
  await b.app.close();
});

test('networks: concurrent overlapping creates in one tenant: exactly one wins', async () => {
  const t = await withTenants('acme');
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => t.call('POST', NETS, { name: `n${i}`, subnet: `10.0.0.0/${16 + i}` })),
  );
  assert.equal(results.filter((r) => r.status === 201).length, 1);
  for (const r of results.filter((r) => r.status !== 201)) assertError(r, 'SUBNET_OVERLAP');
  await t.app.close();
});

test('networks: a DNS forwarder is set, kept across a policy change, and removed; a bad one changes nothing', async () => {
  const t = await withTenants('acme');
  await t.call('POST', NETS, { name: 'web', subnet: '10.0.0.0/24' });
  const set = await t.call('PATCH', `${NETS}/web`, { dnsUpstream: '198.51.100.53' });
  assert.deepEqual([set.status, set.body.dnsUpstream], [200, '198.51.100.53']);
  assert.equal((await t.call('PATCH', `${NETS}/web`, { policies: [] })).body.dnsUpstream, '198.51.100.53', 'a policy patch keeps it');
  for (const bad of ['127.0.0.53', '224.0.0.1', '198.51.100', 'x', 5]) {
    assertError(await t.call('PATCH', `${NETS}/web`, { dnsUpstream: bad }), typeof bad === 'number' ? 'BAD_REQUEST' : 'INVALID_IP');
  }
  assert.equal((await t.call('GET', `${NETS}/web`)).body.dnsUpstream, '198.51.100.53', 'unchanged by the refused patches');
  const removed = await t.call('PATCH', `${NETS}/web`, { dnsUpstream: '' });
  assert.deepEqual([removed.status, 'dnsUpstream' in removed.body], [200, false]);
  await t.app.close();
});
