/**
 * Conformance cases for leases across a restart (durable backends only, ADR 010): grants and
 * revokes are durable, keep-alives are not, so a reopened store holds every lease it had with
 * a full TTL again, and its keys still vanish when the lease expires or is revoked.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext } from 'node:test';
import { sleep } from '../base/async.js';
import { keysUnder, mustWrite, Recorder, settle, storeCase, type OpenedStore, type OpenStore } from './conformance-kit.js';
import { assertEnded, assertLeaseDeletes, assertLeaseNotFound, SHORT_TTL_MS } from './conformance-leases.js';
import type { Store } from './types.js';

/** Closes and reopens the store; undefined (the case is skipped, visibly) when not durable. */
async function restart(opened: OpenedStore, t: TestContext): Promise<Store | undefined> {
  if (!opened.reopen) {
    t.skip('the backend keeps nothing across a restart');
    return undefined;
  }
  await opened.store.close();
  return opened.reopen();
}

export function leaseRestartCases(open: OpenStore): void {
  describe('leases across a restart', () => {
    storeCase(open, 'a lease and its keys survive a reopen with a full TTL again, and revoke then deletes the keys', async (opened, t) => {
      const lease = await opened.store.grant(10_000);
      await mustWrite(() => opened.store.create('/h/a', 'a', lease.id), () => opened.store.create('/h/b', 'b', lease.id));
      await sleep(500);
      const before = await opened.store.timeToLive(lease.id);
      // Counting down, with slack: a timer may fire a millisecond early, and etcd reports whole seconds.
      assert.ok(before !== undefined && before <= 9750, `timeToLive ${before} after 500 ms`);
      const store = await restart(opened, t);
      if (!store) return;
      const after = await store.timeToLive(lease.id);
      assert.ok(after !== undefined && after > before, `timeToLive after the reopen ${after}, before ${before}: a full TTL again`);
      assert.deepEqual((await store.list('/h/')).items.map((kv) => [kv.key, kv.lease]), [['/h/a', lease.id], ['/h/b', lease.id]]);
      assert.equal(await store.keepAlive(lease.id), true);
      const other = await store.grant(10_000);
      assert.notEqual(other.id, lease.id, 'a lease id is never given twice');
      const rec = new Recorder();
      store.watch('/h/', 2, rec);
      assert.equal(await store.revoke(lease.id), true);
      await rec.waitForEvents(2);
      await settle();
      assertLeaseDeletes(rec.batches, ['/h/a', '/h/b'], 3, lease.id);
      await assertEnded(store, lease.id);
    });

    storeCase(open, 'a lease not kept alive after a reopen expires and deletes its keys', async (opened, t) => {
      const lease = await opened.store.grant(SHORT_TTL_MS);
      await mustWrite(() => opened.store.create('/e/a', 'a', lease.id), () => opened.store.create('/e/free', 'f'));
      const store = await restart(opened, t);
      if (!store) return;
      const rec = new Recorder();
      store.watch('/e/', 2, rec);
      await rec.waitForEvents(1);
      await settle();
      assertLeaseDeletes(rec.batches, ['/e/a'], 3, lease.id);
      assert.deepEqual(await keysUnder(store, '/e/'), ['/e/free']);
      await assertEnded(store, lease.id);
    });

    storeCase(open, 'a revoked lease stays ended after a reopen', async (opened, t) => {
      const lease = await opened.store.grant(60_000);
      await mustWrite(() => opened.store.create('/v/a', 'a', lease.id));
      await opened.store.revoke(lease.id);
      const store = await restart(opened, t);
      if (!store) return;
      await assertEnded(store, lease.id);
      await assertLeaseNotFound(store.create('/v/a', 'a', lease.id), lease.id);
      assert.deepEqual([await store.revision(), await keysUnder(store, '/v/')], [2, []]);
    });

    storeCase(open, 'keys deleted or unbound before a reopen, even compacted away, are not bound again', async (opened, t) => {
      const lease = await opened.store.grant(60_000);
      const s = opened.store;
      await mustWrite(() => s.create('/b/deleted', 'd', lease.id), () => s.create('/b/unbound', 'u', lease.id), () => s.create('/b/bound', 'b', lease.id));
      await mustWrite(() => s.delete('/b/deleted'), () => s.update('/b/unbound', 'u2', 2));
      await s.compact(await s.revision());
      const store = await restart(opened, t);
      if (!store) return;
      assert.equal(await store.get('/b/deleted'), undefined, 'a deleted leased key stays deleted');
      await mustWrite(() => store.create('/b/deleted', 'again'));
      assert.equal(await store.revoke(lease.id), true);
      assert.deepEqual((await store.list('/b/')).items.map((kv) => [kv.key, kv.value, kv.lease]), [
        ['/b/deleted', 'again', undefined],
        ['/b/unbound', 'u2', undefined],
      ]);
      assert.equal(await store.revision(), 7, 'the revoke deleted /b/bound alone, in one revision');
    });
  });
}
