/**
 * The agent's list+watch against a real controller app over a unix socket: it lists, follows
 * changes, resumes after the controller goes away and comes back, and re-lists when the
 * revision it would resume from has been compacted.
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

test('agent sync: list, watch, resume after a controller restart, re-list after compaction', async (t) => {
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

  await client.createTenant('acme');
  void runSync(client, cache, { onListed: () => lists++, onChange: (c) => changes.push(`${c.kind}:${c.tenant}`), onMessage: () => {} }, silentLogger, abort.signal);
  await waitFor(() => (lists === 1 && cache.tenants.has('acme')) || undefined, 3000, 'the first list');

  await client.createNetwork('acme', { name: 'red', subnet: '10.1.0.0/24' });
  await waitFor(() => changes.includes('network:acme') || undefined, 3000, 'the network event');

  // The controller goes away; while it is down the store moves on and compacts past the
  // agent's revision, so resuming the watch is impossible and the agent must list again.
  await app.close();
  await store.txn([], [{ type: 'put', key: '/tenet/tenants/beta', value: JSON.stringify({ id: 'b', name: 'beta', createdAt: '' }) }]);
  await store.compact(await store.revision());
  app = await serve();
  await waitFor(() => (lists === 2 && cache.tenants.has('beta')) || undefined, 10_000, 'a re-list after compaction');
  assert.equal(cache.networks.size, 1, 'the network survived in the new list');
});
