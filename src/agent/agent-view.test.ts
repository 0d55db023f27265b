/**
 * The agent with a filtered view (issue 6, ADR 011), on the fake kernel: a tenant that has
 * no endpoint on the host is not in its cache nor its kernel; the host's first endpoint of
 * the tenant brings the tenant's state (networks, peer endpoints, peer hosts) and the
 * reconcile programs it; removing the last one makes the agent forget it all.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ControllerClient } from '../api/client.js';
import { waitFor } from '../base/async.js';
import { silentLogger } from '../base/logger.js';
import { buildControllerApp } from '../controller/app.js';
import { Datapath } from '../datapath/datapath.js';
import { FakeKernel } from '../datapath/testing/fake-kernel.js';
import { fakeOwnership } from '../datapath/testing/ownership.js';
import { MemoryStore } from '../store/memory.js';
import { Agent } from './agent.js';
import { attach } from './attach.js';
import { fakeNamespaces } from './testing/fake-namespaces.js';

test('agent view: a tenant arrives with its first endpoint on the host and is forgotten with the last', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-view-'));
  const socket = join(dir, 'c.sock');
  const app = await buildControllerApp({ store: new MemoryStore(), logger: silentLogger, version: 'test', bookmarkMs: 100 });
  await app.listen({ path: socket });
  const c = new ControllerClient(`unix:${socket}`);
  const k = new FakeKernel();
  const namespaces = fakeNamespaces(k);
  const datapath = new Datapath(k, silentLogger, { listNamespaces: () => k.listNamespaces(), ownership: fakeOwnership(k) });
  const agent = new Agent({ host: 'h1', nsPrefix: 'ut-', underlay: { name: 'default', vtep: '10.0.0.1', mtu: 1500 }, controller: c, datapath, logger: silentLogger, namespaces });
  t.after(async () => {
    agent.stop();
    c.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  await c.createTenant('beta');
  await c.createNetwork('beta', { name: 'web', subnet: '10.9.0.0/24' });
  await c.registerHost('h2', { vtep: '10.0.0.2', underlayMtu: 1500 });
  const peer = await c.createEndpoint('beta', 'web', { id: 'b2', host: 'h2', attachment: { kind: 'netns', netns: '/n/b2', netnsId: { dev: 4, ino: 77 }, ifname: 'eth0' } });
  await agent.start();
  await waitFor(() => agent.reconciles.full >= 1 || undefined, 5000, 'the first full reconcile');
  assert.deepEqual([agent.cache.tenants.size, agent.cache.endpoints.size, [...agent.cache.hosts.keys()]], [0, 0, ['h1']], 'nothing of beta, no other host');

  const path = join(dir, 'w1');
  writeFileSync(path, '');
  k.addWorkload(path);
  const ep = await attach(agent, { tenant: 'beta', network: 'web', netns: path }, silentLogger);
  assert.equal(ep.status, 'up');
  assert.deepEqual([agent.cache.tenants.has('beta'), agent.cache.endpoints.has(peer.id), agent.cache.hosts.has('h2')], [true, true, true], "beta's state arrived");
  assert.ok((await k.listNamespaces()).includes('ut-beta'), 'the tenant namespace is made');
  assert.match(k.dump(['ut-beta']), /10\.0\.0\.2/, "the FDB points at h2's VTEP");

  await agent.removeEndpoint(ep, 'test');
  await waitFor(() => (!agent.cache.tenants.has('beta') && !agent.cache.hosts.has('h2') && !agent.cache.endpoints.has(peer.id)) || undefined, 5000, 'beta forgotten');
  await agent.reconcileAll();
  assert.ok(!(await k.listNamespaces()).includes('ut-beta'), 'the tenant namespace is gone');
});
