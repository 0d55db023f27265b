/**
 * The agent's filtered list+watch (ADR 011) against a real controller app over a unix
 * socket: it lists its host's view, follows changes, gains a tenant's whole state with its
 * first endpoint on the host and forgets it with the last, and lists again after the
 * controller goes away and comes back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ObjectCache } from '../../src/agent/cache.js';
import { runSync } from '../../src/agent/sync.js';
import { ControllerClient } from '../../src/api/client.js';
import { waitFor } from '../../src/base/async.js';
import { silentLogger } from '../../src/base/logger.js';
import { buildControllerApp } from '../../src/controller/app.js';
import { MemoryStore } from '../../src/store/memory.js';

test('agent sync: lists its view, gains and forgets a tenant, lists again after a controller restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-sync-'));
  const socket = join(dir, 'c.sock');
  const store = new MemoryStore();
  const serve = async () => {
    const app = await buildControllerApp({ store, logger: silentLogger, version: 'test', bookmarkMs: 100 });
    await app.listen({ path: socket });
    return app;
  };
  let app = await serve();
  const client = new ControllerClient(`unix:${socket}`);
  const cache = new ObjectCache();
  const abort = new AbortController();
  let lists = 0;
  const changes: string[] = [];
  t.after(async () => {
    abort.abort();
    client.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const h of ['h1', 'h2']) await client.registerHost(h, { vtep: h === 'h1' ? '192.0.2.1' : '192.0.2.2', underlayMtu: 1500 });
  await client.createTenant('acme');
  await client.createNetwork('acme', { name: 'red', subnet: '10.1.0.0/24' });
  await client.createEndpoint('acme', 'red', { id: 'e1', host: 'h1' });
  void runSync(client, 'h1', cache, { onListed: () => lists++, onChange: (c) => changes.push(`${c.kind}:${c.tenant}`), onMessage: () => {} }, silentLogger, abort.signal);
  await waitFor(() => (lists === 1 && cache.endpoints.has('e1')) || undefined, 3000, 'the first list');
  assert.deepEqual([[...cache.tenants.keys()], [...cache.hosts.keys()]], [['acme'], ['h1']], 'h2 carries no tenant of h1: not in its view');

  await client.createNetwork('acme', { name: 'blue', subnet: '10.2.0.0/24' });
  await waitFor(() => changes.includes('network:acme') || undefined, 3000, 'the network event');

  // beta lives on h2 only: h1 sees nothing of it until its first endpoint of beta on h1.
  await client.createTenant('beta');
  await client.createNetwork('beta', { name: 'web', subnet: '10.3.0.0/24' });
  await client.createEndpoint('beta', 'web', { id: 'b2', host: 'h2' });
  await client.createEndpoint('acme', 'red', { id: 'e3', host: 'h1' }); // an event h1 gets after those: the positive control
  await waitFor(() => cache.endpoints.has('e3') || undefined, 3000, 'e3');
  assert.equal(cache.tenants.has('beta'), false);
  await client.createEndpoint('beta', 'web', { id: 'b1', host: 'h1' });
  await waitFor(() => cache.endpoints.has('b2') || undefined, 3000, "beta's state");
  assert.deepEqual([cache.tenants.has('beta'), cache.networks.size, [...cache.hosts.keys()].sort()], [true, 3, ['h1', 'h2']]);
  await client.deleteEndpoint('b1');
  await waitFor(() => (!cache.tenants.has('beta') && !cache.endpoints.has('b2')) || undefined, 3000, 'beta forgotten');
  assert.deepEqual([[...cache.hosts.keys()], cache.networks.size], [['h1'], 2], 'h2 forgotten too; acme kept');

  // The controller goes away; while it is down the store moves on. The agent lists again.
  await app.close();
  await store.txn([], [{ type: 'put', key: '/tenet/tenants/acme', value: JSON.stringify({ id: 'a2', name: 'acme', createdAt: 'later' }) }]);
  app = await serve();
  await waitFor(() => (lists === 2 && cache.tenants.get('acme')?.id === 'a2') || undefined, 10_000, 'a list after the restart');
  assert.equal(cache.networks.size, 2, 'the networks survived in the new list');
});
