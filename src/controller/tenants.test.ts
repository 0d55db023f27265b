import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertError, testApp } from './testing.js';

test('tenants: create, get, list, delete', async () => {
  const t = await testApp();
  const created = await t.call('POST', '/v1/tenants', { name: 'acme' });
  assert.equal(created.status, 201);
  assert.equal(created.body.name, 'acme');
  assert.match(created.body.id, /^[0-9a-f]{12}$/);
  assert.deepEqual((await t.call('GET', '/v1/tenants/acme')).body, created.body);
  await t.call('POST', '/v1/tenants', { name: 'beta' });
  assert.deepEqual((await t.call('GET', '/v1/tenants')).body.map((x: { name: string }) => x.name), ['acme', 'beta']);
  assert.equal((await t.call('DELETE', '/v1/tenants/acme')).status, 204);
  assertError(await t.call('GET', '/v1/tenants/acme'), 'TENANT_NOT_FOUND');
  assert.ok(t.logs.some((l) => l.msg === 'tenant created' && l.fields.tenant === 'acme'));
  assert.ok(t.logs.some((l) => l.msg === 'tenant deleted' && l.fields.tenant === 'acme'));
  await t.app.close();
});

test('tenants: duplicate and invalid names are refused and change nothing', async () => {
  const t = await testApp();
  await t.call('POST', '/v1/tenants', { name: 'acme' });
  const rev = await t.store.revision();
  assert.match(assertError(await t.call('POST', '/v1/tenants', { name: 'acme' }), 'TENANT_EXISTS'), /acme/);
  assertError(await t.call('POST', '/v1/tenants', { name: 'Bad_Name' }), 'INVALID_NAME');
  assertError(await t.call('POST', '/v1/tenants', { name: 42 }), 'BAD_REQUEST');
  assertError(await t.call('POST', '/v1/tenants', [1]), 'BAD_REQUEST');
  assert.equal(await t.store.revision(), rev);
  await t.app.close();
});

test('tenants: unknown tenant is TENANT_NOT_FOUND for get and delete', async () => {
  const t = await testApp();
  assert.match(assertError(await t.call('GET', '/v1/tenants/nope'), 'TENANT_NOT_FOUND'), /tenet tenant create nope/);
  assertError(await t.call('DELETE', '/v1/tenants/nope'), 'TENANT_NOT_FOUND');
  assertError(await t.call('GET', '/v1/tenants/..%2Fx'), 'TENANT_NOT_FOUND');
  await t.app.close();
});

test('tenants: a tenant with networks cannot be deleted', async () => {
  const t = await testApp();
  await t.call('POST', '/v1/tenants', { name: 'acme' });
  await t.call('POST', '/v1/tenants/acme/networks', { name: 'web', subnet: '10.0.0.0/24' });
  const msg = assertError(await t.call('DELETE', '/v1/tenants/acme'), 'TENANT_IN_USE');
  assert.match(msg, /web/);
  assert.equal((await t.call('DELETE', '/v1/tenants/acme/networks/web')).status, 204);
  assert.equal((await t.call('DELETE', '/v1/tenants/acme')).status, 204);
  await t.app.close();
});

test('tenants: a delete racing a network create never leaves an orphan network', async () => {
  for (let round = 0; round < 10; round++) {
    const t = await testApp();
    await t.call('POST', '/v1/tenants', { name: 'acme' });
    const [del, net] = await Promise.all([
      t.call('DELETE', '/v1/tenants/acme'),
      t.call('POST', '/v1/tenants/acme/networks', { name: 'web', subnet: '10.0.0.0/24' }),
    ]);
    const tenantExists = (await t.call('GET', '/v1/tenants/acme')).status === 200;
    const networks = (await t.call('GET', '/v1/networks')).body as unknown[];
    assert.ok(tenantExists || networks.length === 0, `orphan network: delete ${del.status}, create ${net.status}`);
    await t.app.close();
  }
});
