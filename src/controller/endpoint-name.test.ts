/** PUT /v1/endpoints/:id/name: naming after creation moves the name key in one txn (Docker's driver endpoints, ADR 014). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keys } from '../model/keys.js';
import { EP_URL, assertError, att, seed, testApp } from './testing.js';

test('endpoint name: set, renamed (old name freed), repeated without a write; clashes and bad names refused, nothing changed', async () => {
  const t = await testApp();
  await seed(t);
  const a = (await t.call('POST', EP_URL, { host: 'h1', attachment: att('/run/netns/a') })).body;
  const b = (await t.call('POST', EP_URL, { host: 'h1', attachment: att('/run/netns/b'), name: 'db' })).body;
  const named = await t.call('PUT', `/v1/endpoints/${a.id}/name`, { name: 'web' });
  assert.equal(named.status, 200);
  assert.equal(named.body.name, 'web');
  assert.equal((await t.store.get(keys.epName(a.networkId, 'web')))?.value, a.id);
  const rev = (await t.store.get(keys.endpoint(a.id)))!.modRevision;
  assert.equal((await t.call('PUT', `/v1/endpoints/${a.id}/name`, { name: 'web' })).status, 200);
  assert.equal((await t.store.get(keys.endpoint(a.id)))!.modRevision, rev, 'a repeat writes nothing');
  assert.equal((await t.call('PUT', `/v1/endpoints/${a.id}/name`, { name: 'web2' })).body.name, 'web2');
  assert.equal(await t.store.get(keys.epName(a.networkId, 'web')), undefined, 'the old name is free again');
  // Refusals: each next to the allowed rename above; none changes the endpoint.
  assertError(await t.call('PUT', `/v1/endpoints/${a.id}/name`, { name: 'db' }), 'ENDPOINT_NAME_IN_USE');
  assertError(await t.call('PUT', `/v1/endpoints/${a.id}/name`, { name: '-bad-' }), 'INVALID_NAME');
  assertError(await t.call('PUT', `/v1/endpoints/${a.id}/name`, { name: '' }), 'INVALID_NAME');
  assertError(await t.call('PUT', '/v1/endpoints/nope/name', { name: 'x' }), 'ENDPOINT_NOT_FOUND');
  assert.equal((await t.call('GET', `/v1/endpoints/${a.id}`)).body.name, 'web2');
  assert.equal((await t.store.get(keys.epName(b.networkId, 'db')))?.value, b.id);
  await t.app.close();
});
