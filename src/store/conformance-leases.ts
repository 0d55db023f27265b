/**
 * Conformance cases for leases (see conformance.ts and ADR 010): keys bound to a lease vanish
 * in one revision when it is revoked or expires; a keep-alive is not a write; an ended lease
 * binds nothing. TTLs are short (300 ms) and every wait is bounded; no case asserts a timing
 * beyond "gone within a generous bound". The restart cases are in conformance-leases-restart.ts.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { sleep, waitFor } from '../base/async.js';
import { brief, keysUnder, mustWrite, Recorder, settle, storeCase, type OpenStore } from './conformance-kit.js';
import { LeaseNotFoundError, type Store, type WatchEvent } from './types.js';

export const SHORT_TTL_MS = 300;

/** Asserts that `promise` rejects with a LeaseNotFoundError naming `lease`. */
export async function assertLeaseNotFound(promise: Promise<unknown>, lease: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LeaseNotFoundError, `expected LeaseNotFoundError, got ${String(err)}`);
    assert.equal(err.lease, lease);
    return true;
  });
}

/** Asserts that the lease has ended as far as every lease call can tell. */
export async function assertEnded(store: Store, lease: number): Promise<void> {
  assert.equal(await store.keepAlive(lease), false, 'keepAlive of an ended lease');
  assert.equal(await store.timeToLive(lease), undefined, 'timeToLive of an ended lease');
  assert.equal(await store.revoke(lease), false, 'revoke of an ended lease');
}

/** Deletes of `keys` in one batch at revision `rev`, each with its leased prevKv. */
export function assertLeaseDeletes(batches: WatchEvent[][], keys: string[], rev: number, lease: number): void {
  assert.equal(batches.length, 1, `expected one batch, got ${batches.map((b) => b.map(brief).join(' + ')).join(' | ')}`);
  const batch = batches[0]!;
  assert.deepEqual(batch.map((e) => `${e.type} ${e.kv.key}@${e.kv.modRevision}`).sort(), keys.map((k) => `delete ${k}@${rev}`).sort());
  for (const e of batch) assert.equal(e.prevKv?.lease, lease, `prevKv of ${e.kv.key} names the lease`);
}

export function leaseCases(open: OpenStore): void {
  describe('leases', () => {
    storeCase(open, 'grant returns distinct ids with a time to live; a TTL that is not positive is refused', async ({ store }) => {
      const leases = await Promise.all([store.grant(60_000), store.grant(60_000), store.grant(1000)]);
      assert.equal(new Set(leases.map((l) => l.id)).size, 3);
      for (const lease of leases) {
        const left = await store.timeToLive(lease.id);
        assert.ok(left !== undefined && left > 0 && left <= lease.ttlMs, `timeToLive ${left} of a ${lease.ttlMs} ms lease`);
      }
      for (const bad of [0, -5, Number.NaN]) await assert.rejects(store.grant(bad), RangeError);
      assert.equal(await store.revision(), 0, 'a grant is not a revision');
    });

    storeCase(open, 'keys of an expired lease vanish in one revision, with delete events that carry prevKv', async ({ store }) => {
      const lease = await store.grant(SHORT_TTL_MS);
      await mustWrite(() => store.create('/l/a', 'a', lease.id), () => store.create('/l/b', 'b', lease.id), () => store.create('/l/free', 'f'));
      const rev = await store.revision();
      const rec = new Recorder();
      store.watch('/l/', rev, rec);
      await rec.waitForEvents(2);
      await settle();
      assertLeaseDeletes(rec.batches, ['/l/a', '/l/b'], rev + 1, lease.id);
      assert.equal(await store.revision(), rev + 1);
      assert.deepEqual(await keysUnder(store, '/l/'), ['/l/free']);
      await assertEnded(store, lease.id);
    });

    storeCase(open, 'revoke deletes the keys at once in one revision and ends the lease', async ({ store }) => {
      const lease = await store.grant(60_000);
      await mustWrite(() => store.create('/r/a', 'a', lease.id), () => store.txn([], [{ type: 'put', key: '/r/b', value: 'b', lease: lease.id }]));
      const rec = new Recorder();
      store.watch('/r/', 2, rec);
      assert.equal(await store.revoke(lease.id), true);
      assert.equal(await store.revision(), 3);
      assert.deepEqual(await keysUnder(store, '/r/'), []);
      await rec.waitForEvents(2);
      await settle();
      assertLeaseDeletes(rec.batches, ['/r/a', '/r/b'], 3, lease.id);
      await assertEnded(store, lease.id);
      assert.equal(await store.revision(), 3, 'revoking an ended lease writes nothing');
    });

    storeCase(open, 'once its TTL has passed a lease has ended, for revoke too, and its keys go', async ({ store }) => {
      const lease = await store.grant(200);
      await mustWrite(() => store.create('/t/a', 'a', lease.id));
      await waitFor(async () => ((await store.timeToLive(lease.id)) === undefined ? true : undefined), 3000, 'the TTL to pass');
      // Whether or not the expiry loop has come by yet, the lease is over.
      assert.equal(await store.revoke(lease.id), false);
      await assertLeaseNotFound(store.create('/t/b', 'b', lease.id), lease.id);
      await waitFor(async () => ((await store.get('/t/a')) === undefined ? true : undefined), 3000, '/t/a to go');
      assert.equal(await store.revision(), 2);
    });

    storeCase(open, 'a lease with no keys ends without a revision; an unknown lease is ended', async ({ store }) => {
      const lease = await store.grant(60_000);
      assert.equal(await store.revoke(lease.id), true);
      assert.equal(await store.revision(), 0);
      await assertEnded(store, lease.id);
      await assertEnded(store, lease.id + 1000);
    });

    storeCase(open, 'keep-alives hold the keys past the TTL and are not writes; without them the keys go', async ({ store }) => {
      // A longer TTL than elsewhere: a loaded CI machine can stall the event loop for several
      // hundred ms, and a keep-alive that comes late would fail the case for the wrong reason.
      const ttl = 5 * SHORT_TTL_MS;
      const lease = await store.grant(ttl);
      await mustWrite(() => store.create('/k/a', 'a', lease.id));
      const rec = new Recorder();
      store.watch('/k/', 1, rec);
      // Longer than the TTL, a keep-alive every tenth of it.
      for (let i = 0; i < 12; i++) {
        await sleep(ttl / 10);
        assert.equal(await store.keepAlive(lease.id), true, `keep-alive ${i}`);
      }
      const left = await store.timeToLive(lease.id);
      assert.ok(left !== undefined && left <= ttl, `timeToLive ${left}`);
      assert.equal(await store.revision(), 1, 'a keep-alive is not a revision');
      assert.deepEqual(rec.events, [], 'a keep-alive is not an event');
      assert.deepEqual((await rec.waitForEvents(1)).map(brief), ['delete /k/a@2 (was /k/a@1/1=a)']);
    });

    storeCase(open, 'a put with an ended or unknown lease throws LeaseNotFoundError and a txn holding it applies nothing', async ({ store }) => {
      const ended = await store.grant(60_000);
      await store.revoke(ended.id);
      await mustWrite(() => store.create('/keep', 'v'));
      const rec = new Recorder();
      store.watch('', 1, rec);
      for (const id of [ended.id, ended.id + 1000]) {
        await assertLeaseNotFound(store.create('/n/a', 'a', id), id);
        await assertLeaseNotFound(store.update('/keep', 'x', 1, id), id);
        const put = { type: 'put' as const, key: '/n/b', value: 'b', lease: id };
        await assertLeaseNotFound(store.txn([], [{ type: 'put', key: '/n/c', value: 'c' }, put, { type: 'delete', key: '/keep' }]), id);
      }
      await settle();
      assert.equal(await store.revision(), 1);
      assert.deepEqual(await keysUnder(store, ''), ['/keep']);
      assert.deepEqual(await store.get('/keep'), { key: '/keep', value: 'v', createRevision: 1, modRevision: 1 });
      assert.deepEqual(rec.events, []);
    });

    storeCase(open, 'a put without a lease unbinds the key, a put with another lease moves it', async ({ store }) => {
      const [first, second] = await Promise.all([store.grant(60_000), store.grant(60_000)]);
      await mustWrite(() => store.create('/u/free', 'a', first!.id), () => store.create('/u/moved', 'b', first!.id), () => store.create('/u/gone', 'c', first!.id));
      await mustWrite(() => store.update('/u/free', 'a2', 1), () => store.update('/u/moved', 'b2', 2, second!.id));
      assert.equal(await store.revoke(first!.id), true);
      assert.deepEqual(await keysUnder(store, '/u/'), ['/u/free', '/u/moved']);
      assert.equal((await store.get('/u/free'))?.lease, undefined);
      assert.equal((await store.get('/u/moved'))?.lease, second!.id);
      await store.revoke(second!.id);
      assert.deepEqual(await keysUnder(store, '/u/'), ['/u/free']);
    });

    storeCase(open, 'a key deleted before its lease ends causes no event when the lease expires', async ({ store }) => {
      const lease = await store.grant(SHORT_TTL_MS);
      await mustWrite(() => store.create('/x/deleted', 'd', lease.id), () => store.create('/x/marker', 'm', lease.id));
      await mustWrite(() => store.delete('/x/deleted'));
      const rec = new Recorder();
      store.watch('/x/', 3, rec);
      await rec.waitForEvents(1);
      await settle();
      assert.deepEqual(rec.events.map(brief), ['delete /x/marker@4 (was /x/marker@2/2=m)']);
      await mustWrite(() => store.create('/x/deleted', 'again'));
      assert.equal((await store.get('/x/deleted'))?.value, 'again');
    });

    storeCase(open, 'get, list and watch show the lease of a bound key, and none on a free key', async ({ store }) => {
      const lease = await store.grant(60_000);
      const rec = new Recorder();
      store.watch('/s/', 0, rec);
      await mustWrite(() => store.create('/s/bound', 'b', lease.id), () => store.create('/s/free', 'f'));
      const items = (await store.list('/s/')).items;
      assert.deepEqual(items, [
        { key: '/s/bound', value: 'b', createRevision: 1, modRevision: 1, lease: lease.id },
        { key: '/s/free', value: 'f', createRevision: 2, modRevision: 2 },
      ]);
      assert.equal('lease' in items[1]!, false);
      assert.deepEqual(await store.get('/s/bound'), items[0]);
      assert.deepEqual((await store.list('/s/', 1)).items, [items[0]]);
      assert.deepEqual((await rec.waitForEvents(2)).map((e) => e.kv), items);
    });
  });
}
