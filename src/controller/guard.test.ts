import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { GUARD_TTL_MS, readGuard, withDeleteGuard } from './guard.js';
import { internalKeys } from './repo.js';
import { EP_URL, att, seed, testApp } from './testing.js';

const KEY = internalKeys.deleting('network', 'n1');

test('guard: held during the delete, released after, refused while someone else holds it', async () => {
  const store = new MemoryStore();
  await withDeleteGuard(store, KEY, 'network n1', async () => {
    assert.equal((await readGuard(store, KEY)).active, true);
    await assert.rejects(withDeleteGuard(store, KEY, 'network n1', async () => 1), /STORE_CONFLICT|being deleted/);
  });
  assert.equal(await store.get(KEY), undefined);
  await assert.rejects(withDeleteGuard(store, KEY, 'x', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await store.get(KEY), undefined, 'released when the delete fails');
});

test('guard: a stale guard (left by a crash) counts as absent and can be taken over', async () => {
  const store = new MemoryStore();
  await store.create(KEY, String(Date.now() - GUARD_TTL_MS - 1));
  const stale = await readGuard(store, KEY);
  assert.equal(stale.active, false);
  assert.ok(stale.compare.modRevision > 0);
  const result = await withDeleteGuard(store, KEY, 'network n1', async (guard) => {
    assert.ok(guard.modRevision > stale.compare.modRevision, 'takeover rewrites it, so racing creates fail');
    return 'done';
  });
  assert.equal(result, 'done');
});

test('guard: a network delete racing attaches never leaves an endpoint behind', async () => {
  for (let round = 0; round < 10; round++) {
    const t = await testApp();
    await seed(t);
    const attaches = Array.from({ length: 5 }, (_, i) => t.call('POST', EP_URL, { host: 'h1', attachment: att(`/n/${i}`) }));
    const del = t.call('DELETE', '/v1/tenants/acme/networks/web');
    await Promise.all([...attaches, del]);
    const netExists = (await t.call('GET', '/v1/tenants/acme/networks/web')).status === 200;
    const eps = (await t.call('GET', '/v1/endpoints')).body as unknown[];
    assert.ok(netExists || eps.length === 0, `round ${round}: ${eps.length} endpoints of a deleted network`);
    await t.app.close();
  }
});
