import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ControllerClient } from '../api/client.js';
import { TenetError } from '../model/errors.js';
import { att, testApp } from './testing.js';

/** Every ControllerClient call against a real listening controller: the routes match the client. */
test('client contract: every ControllerClient method is served', async () => {
  const t = await testApp();
  const c = new ControllerClient(await t.app.listen({ port: 0, host: '127.0.0.1' }));
  try {
    assert.equal((await c.health()).role, 'controller');
    assert.equal((await c.createTenant('acme')).name, 'acme');
    assert.equal((await c.getTenant('acme')).name, 'acme');
    assert.equal((await c.listTenants()).length, 1);
    const net = await c.createNetwork('acme', { name: 'web', subnet: '10.0.0.0/24' });
    assert.deepEqual(await c.getNetwork('acme', 'web'), net);
    assert.deepEqual(await c.getBridgedTraffic('acme', 'web'), { conntrack: false, policies: [] });
    assert.deepEqual(await c.listNetworks('acme'), [net]);
    assert.deepEqual(await c.listNetworks(), [net]);
    assert.equal((await c.registerHost('h1', { vtep: '192.0.2.1', underlayMtu: 1500 })).host.name, 'h1');
    assert.equal((await c.listHosts()).length, 1);
    const ep = await c.createEndpoint('acme', 'web', { host: 'h1', attachment: att('/run/netns/x'), id: 'e1' });
    assert.equal(ep.status, 'pending');
    assert.deepEqual(await c.getEndpoint('e1'), ep);
    assert.deepEqual(await c.listEndpoints({ host: 'h1', network: 'web' }), [ep]);
    assert.equal((await c.setEndpointStatus('e1', { status: 'up', mtu: 1450 })).status, 'up');
    assert.equal((await c.snapshot()).objects.endpoint.length, 1);
    await assert.rejects(c.deleteNetwork('acme', 'web'), (e: TenetError) => e.code === 'NETWORK_IN_USE');
    assert.deepEqual((await c.labelEndpoint('e1', { set: { app: 'web' } })).labels, { app: 'web' });
    assert.equal((await c.nameEndpoint('e1', 'web1')).name, 'web1');
    assert.equal((await c.detachEndpoint('e1')).status, 'detached');
    assert.equal((await c.attachEndpoint('e1', { host: 'h1', attachment: att('/run/netns/y') })).status, 'pending');
    const r = await c.reserveAddress('acme', 'web', { ttlSeconds: 60 });
    assert.equal(r.owner.kind, 'request');
    assert.deepEqual((await c.listAddresses('acme', 'web')).map((a) => a.owner.kind).sort(), ['endpoint', 'gateway', 'request']);
    await c.releaseAddress('acme', 'web', r.ip);
    await c.deleteEndpoint('e1');
    await c.deleteNetwork('acme', 'web');
    await c.deleteHost('h1');
    await c.deleteTenant('acme');
    await assert.rejects(c.getTenant('acme'), (e: TenetError) => e.code === 'TENANT_NOT_FOUND');
    assert.ok(t.logs.some((l) => l.level === 'debug' && l.msg === 'request' && l.fields.status === 204));
  } finally {
    c.close();
    await t.app.close();
  }
});
