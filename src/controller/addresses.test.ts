import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIp } from '../base/cidr.js';
import { keys } from '../model/keys.js';
import { collectGarbage } from './gc.js';
import { assertError, att, EP_URL, seed, testApp } from './testing.js';

const ADDR_URL = '/v1/tenants/acme/networks/web/addresses';

test('addresses: the gateway is reserved at network create; list shows every reservation with its owner', async () => {
  const t = await testApp();
  await seed(t);
  await t.call('POST', EP_URL, { id: 'a', host: 'h1', attachment: att('/run/netns/a') });
  const list = (await t.call('GET', ADDR_URL)).body as { ip: string; owner: { kind: string; id: string } }[];
  assert.deepEqual(list.map((r) => [r.ip, r.owner.kind]), [['10.0.0.1', 'gateway'], ['10.0.0.2', 'endpoint']]);
  assertError(await t.call('GET', '/v1/tenants/acme/networks/nope/addresses'), 'NETWORK_NOT_FOUND');
  await t.app.close();
});

test('addresses: reserve for a request, claim it with an endpoint in one txn, release refuses held ones', async () => {
  const t = await testApp();
  await seed(t);
  const r = await t.call('POST', ADDR_URL, { owner: { kind: 'request', id: 'docker-1' } });
  assert.deepEqual([r.status, r.body.ip, r.body.owner], [201, '10.0.0.2', { kind: 'request', id: 'docker-1' }]);
  const fixed = await t.call('POST', ADDR_URL, { ip: '10.0.0.77' });
  assert.equal(fixed.body.ip, '10.0.0.77');
  assertError(await t.call('POST', ADDR_URL, { ip: '10.0.0.77' }), 'IP_IN_USE');
  // An automatic endpoint address skips the reserved ones.
  assert.equal((await t.call('POST', EP_URL, { id: 'auto', host: 'h1', attachment: att('/run/netns/x') })).body.ip, '10.0.0.3');
  const claimed = await t.call('POST', EP_URL, { id: 'c', ip: '10.0.0.2' });
  assert.deepEqual([claimed.status, claimed.body.status], [201, 'detached']);
  const held = JSON.parse((await t.store.get(keys.addr(claimed.body.networkId, parseIp('10.0.0.2')!)))!.value);
  assert.deepEqual(held.owner, { kind: 'endpoint', id: 'c' });
  const rev = await t.store.revision();
  assert.match(assertError(await t.call('DELETE', `${ADDR_URL}/10.0.0.2`), 'IP_IN_USE'), /endpoint c/);
  assertError(await t.call('DELETE', `${ADDR_URL}/10.0.0.1`), 'IP_IN_USE');
  assertError(await t.call('DELETE', `${ADDR_URL}/10.0.0.99`), 'ADDRESS_NOT_RESERVED');
  assertError(await t.call('DELETE', `${ADDR_URL}/nonsense`), 'INVALID_IP');
  for (const body of [{ owner: { kind: 'endpoint', id: 'x' } }, { owner: { kind: 'gateway' } }, { ttlSeconds: 0 }, { ttlSeconds: 'soon' }, { ip: 5 }]) {
    assert.equal((await t.call('POST', ADDR_URL, body)).status, 400, JSON.stringify(body));
  }
  assertError(await t.call('POST', ADDR_URL, { ip: '10.0.0.1' }), 'IP_OUTSIDE_SUBNET');
  assert.equal(await t.store.revision(), rev, 'refused requests change nothing');
  assert.equal((await t.call('DELETE', `${ADDR_URL}/10.0.0.77`)).status, 204);
  await t.app.close();
});

test('addresses: network delete refuses while endpoints hold addresses, then takes gateway and requests with it', async () => {
  const t = await testApp();
  await seed(t);
  await t.call('POST', EP_URL, { id: 'a' });
  await t.call('POST', ADDR_URL, {});
  assert.match(assertError(await t.call('DELETE', '/v1/tenants/acme/networks/web'), 'NETWORK_IN_USE'), /a/);
  await t.call('DELETE', '/v1/endpoints/a');
  assert.equal((await t.call('DELETE', '/v1/tenants/acme/networks/web')).status, 204);
  assert.deepEqual((await t.store.list(keys.addrs())).items, []);
  await t.app.close();
});

test('addresses: garbage collection releases orphans and expired requests, and nothing else', async () => {
  const t = await testApp();
  await seed(t);
  const ep = (await t.call('POST', EP_URL, { id: 'live', name: 'web-1' })).body;
  await t.call('POST', ADDR_URL, { ip: '10.0.0.50', ttlSeconds: 1 });
  await t.call('POST', ADDR_URL, { ip: '10.0.0.51' });
  // What a crashed writer could leave: keys of an endpoint that does not exist.
  await t.store.create(keys.addr(ep.networkId, parseIp('10.0.0.60')!), JSON.stringify({ ip: '10.0.0.60', owner: { kind: 'endpoint', id: 'gone' }, createdAt: '' }));
  await t.store.create(keys.mac(ep.networkId, '02:00:00:00:00:60'), 'gone');
  await t.store.create(keys.epName(ep.networkId, 'ghost'), 'gone');
  await t.store.create(keys.addr('deleted-net', parseIp('10.9.0.5')!), JSON.stringify({ ip: '10.9.0.5', owner: { kind: 'request', id: 'r' }, createdAt: '' }));
  const before = (await collectGarbage(t.store, Date.now())).released;
  assert.equal(before.length, 4, before.join(' '));
  const later = (await collectGarbage(t.store, Date.now() + 2000)).released;
  assert.deepEqual(later, [keys.addr(ep.networkId, parseIp('10.0.0.50')!)], 'the expired request only');
  const left = ((await t.call('GET', ADDR_URL)).body as { ip: string }[]).map((r) => r.ip);
  assert.deepEqual(left, ['10.0.0.1', '10.0.0.2', '10.0.0.51'], 'gateway, the live endpoint and the unexpiring request stay');
  assert.ok(await t.store.get(keys.epName(ep.networkId, 'web-1')));
  assert.ok(await t.store.get(keys.mac(ep.networkId, ep.mac)));
  await t.app.close();
});
