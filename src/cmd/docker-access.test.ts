/**
 * Docker on an agent joined over https (ADR 014 addendum): a host credential may hold and
 * release short-lived request reservations (docker run's RequestAddress) in any network, but
 * create or delete networks and hold reservations without a TTL only in tenants the admin
 * granted it (PUT /v1/hosts/:name/docker-tenants, admin only). Each refusal stands next to
 * the same request allowed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tcpFixture } from './testing-tcp.js';

const fx = tcpFixture();
const { tcpApp, joinedHost } = fx;

const ADDRS = '/v1/tenants/acme/networks/web/addresses';

test('a host credential reserves and releases short-lived requests in any network, nothing longer without a grant', async () => {
  const { call, close } = await tcpApp();
  try {
    const h1 = await joinedHost(call);
    const r = await call('POST', ADDRS, { owner: { kind: 'request', id: 'docker-a1' }, ttlSeconds: 120 }, h1);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await call('DELETE', `${ADDRS}/${r.body.ip}`, undefined, h1)).status, 204);
    for (const body of [{ owner: { kind: 'request', id: 'aux' } }, { ttlSeconds: 3600 }, { owner: { kind: 'floating-ip' }, ttlSeconds: 60 }]) {
      const refused = await call('POST', ADDRS, body, h1);
      assert.deepEqual([refused.status, refused.body.error.code], [403, 'FORBIDDEN'], JSON.stringify(body));
    }
    const held = await call('POST', ADDRS, { ip: '10.0.0.9', owner: { kind: 'request', id: 'admins' } }, fx.admin.token);
    assert.equal(held.status, 201);
    assert.equal((await call('DELETE', `${ADDRS}/10.0.0.9`, undefined, h1)).body.error.code, 'FORBIDDEN', "an admin's reservation without a TTL is not the host's to release");
    assert.equal((await call('DELETE', `${ADDRS}/10.0.0.77`, undefined, h1)).body.error.code, 'ADDRESS_NOT_RESERVED', 'nothing reserved: the route answers');
  } finally {
    await close();
  }
});

test("networks: a host creates and deletes them only in tenants the admin granted it; the grant is the admin's and can be taken back", async () => {
  const { call, close } = await tcpApp();
  try {
    const h1 = await joinedHost(call);
    assert.equal((await call('POST', '/v1/tenants', { name: 'other' }, fx.admin.token)).status, 201);
    const net = { name: 'red', subnet: '10.9.0.0/24' };
    const before = await call('POST', '/v1/tenants/acme/networks', net, h1);
    assert.deepEqual([before.status, before.body.error.code], [403, 'FORBIDDEN']);
    assert.match(before.body.error.message, /tenet docker allow h1 acme/);
    assert.equal((await call('PUT', '/v1/hosts/h1/docker-tenants', { tenants: ['acme'] }, h1)).status, 403, 'a host cannot grant itself');
    const granted = await call('PUT', '/v1/hosts/h1/docker-tenants', { tenants: ['acme'] }, fx.admin.token);
    assert.deepEqual(granted.body, { host: 'h1', tenants: ['acme'] });
    assert.deepEqual((await call('GET', '/v1/hosts/h1/docker-tenants', undefined, h1)).body, { host: 'h1', tenants: ['acme'] }, 'a host reads its own grant (its driver checks it at CreateNetwork)');
    assert.equal((await call('GET', '/v1/hosts/h2/docker-tenants', undefined, h1)).body.error.code, 'FORBIDDEN', "not another host's");
    assert.equal((await call('POST', '/v1/tenants/acme/networks', net, h1)).status, 201);
    assert.equal((await call('POST', '/v1/tenants/other/networks', net, h1)).body.error.code, 'FORBIDDEN', 'only the granted tenant');
    assert.equal((await call('POST', '/v1/tenants/acme/networks/red/addresses', { ip: '10.9.0.9', owner: { kind: 'request', id: 'docker-aux' } }, h1)).status, 201, 'aux addresses (no TTL) in a granted tenant');
    assert.equal((await call('DELETE', '/v1/tenants/acme/networks/red/addresses/10.9.0.9', undefined, h1)).status, 204);
    assert.equal((await call('DELETE', '/v1/tenants/acme/networks/red', undefined, h1)).status, 204);
    assert.equal((await call('DELETE', '/v1/tenants/other/networks/gone', undefined, h1)).body.error.code, 'NETWORK_NOT_FOUND', 'a network already gone: the route answers');
    assert.equal((await call('PUT', '/v1/hosts/h1/docker-tenants', { tenants: [] }, fx.admin.token)).status, 200);
    assert.equal((await call('POST', '/v1/tenants/acme/networks', net, h1)).body.error.code, 'FORBIDDEN', 'taken back');
    assert.equal((await call('PUT', '/v1/hosts/h9/docker-tenants', { tenants: ['acme'] }, fx.admin.token)).body.error.code, 'TOKEN_NOT_FOUND', 'a host that never joined');
    assert.equal((await call('PUT', '/v1/hosts/h1/docker-tenants', { tenants: ['Bad Name'] }, fx.admin.token)).body.error.code, 'INVALID_NAME');
  } finally {
    await close();
  }
});
