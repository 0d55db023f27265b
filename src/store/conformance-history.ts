/** Conformance cases for compaction and durability across a restart (see conformance.ts). */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { assertCompacted, brief, keysUnder, kv, mustWrite, Recorder, settle, storeCase, type OpenStore } from './conformance-kit.js';
import { CompactedError, type Store } from './types.js';

/**
 * 1 create /h/a, 2 update /h/a, 3 create /h/b, 4 delete /h/b, 5 create /h/c, 6 update /h/a,
 * 7 txn (put /h/d, delete /h/c); /h/a's row at 2 and /h/c's at 5 are superseded above 4.
 */
async function writeHistory(store: Store): Promise<void> {
  await mustWrite(() => store.create('/h/a', 'a1'));
  await mustWrite(() => store.update('/h/a', 'a2', 1));
  await mustWrite(() => store.create('/h/b', 'b'));
  await mustWrite(() => store.delete('/h/b'));
  await mustWrite(() => store.create('/h/c', 'c'));
  await mustWrite(() => store.update('/h/a', 'a6', 2));
  await mustWrite(() => store.txn([], [{ type: 'put', key: '/h/d', value: 'd' }, { type: 'delete', key: '/h/c' }]));
}

/** Everything a client can observe that must survive compaction above and a restart. */
async function snapshot(store: Store, watchFrom: number): Promise<unknown> {
  const rec = new Recorder();
  const watch = store.watch('/h/', watchFrom, rec);
  const events = await rec.waitForRevision(7);
  watch.cancel();
  const pastLists = [];
  for (let rev = watchFrom; rev <= 7; rev++) pastLists.push(await store.list('/h/', rev));
  const gets = await Promise.all(['/h/a', '/h/b', '/h/c', '/h/d'].map((key) => store.get(key)));
  return { revision: await store.revision(), events: events.map(brief), pastLists, gets };
}

export function historyCases(open: OpenStore): void {
  describe('compaction', () => {
    storeCase(open, 'list and watch below the compaction point fail with CompactedError', async ({ store }) => {
      await writeHistory(store);
      await store.compact(4);
      await assertCompacted(store.list('/h/', 3), 4);
      await assertCompacted(store.list('', 0), 4);
      const rec = new Recorder();
      store.watch('/h/', 3, rec);
      const err = await rec.waitForError();
      assert.ok(err instanceof CompactedError && err.compacted === 4, `expected CompactedError, got ${err}`);
      const cancelled = new Recorder();
      store.watch('/h/', 3, cancelled).cancel();
      await mustWrite(() => store.create('/h/late', 'x'));
      await settle();
      assert.deepEqual(rec.events, [], 'a failed watch must deliver nothing');
      assert.deepEqual(cancelled.errors, [], 'a cancelled watch must not report its error');
    });

    storeCase(open, 'compaction keeps what is at and above the compaction point', async ({ store }) => {
      await writeHistory(store);
      const before = await snapshot(store, 4);
      await store.compact(4);
      assert.deepEqual(await snapshot(store, 4), before);
    });

    storeCase(open, 'compaction keeps the current state, revisions and compares', async ({ store }) => {
      await writeHistory(store);
      await store.compact(7);
      assert.deepEqual((await store.list('')).items, [kv('/h/a', 'a6', 1, 6), kv('/h/d', 'd', 7, 7)]);
      assert.equal(await store.revision(), 7);
      assert.equal((await store.update('/h/a', 'x', 2)).ok, false);
      assert.deepEqual(await store.update('/h/a', 'a8', 6), { ok: true, revision: 8 });
      assert.deepEqual(await store.create('/h/b', 'again'), { ok: true, revision: 9 });
      assert.deepEqual(await store.get('/h/b'), kv('/h/b', 'again', 9, 9));
    });

    storeCase(open, 'a watch from the compaction point gets prevKv of compacted writes', async ({ store }) => {
      await writeHistory(store);
      await store.compact(7);
      const rec = new Recorder();
      store.watch('/h/', 7, rec);
      await mustWrite(() => store.update('/h/a', 'a8', 6), () => store.delete('/h/d'));
      assert.deepEqual((await rec.waitForEvents(2)).map(brief), ['put /h/a@1/8=a8 (was /h/a@1/6=a6)', 'delete /h/d@9 (was /h/d@7/7=d)']);
    });

    storeCase(open, 'compacting again below the compaction point changes nothing', async ({ store }) => {
      await writeHistory(store);
      await store.compact(5);
      await store.compact(2);
      await assertCompacted(store.list('/h/', 4), 5);
      assert.deepEqual(await keysUnder(store, '/h/', 5), ['/h/a', '/h/c']);
    });
  });

  describe('durability', () => {
    storeCase(open, 'values, revisions, compaction and history survive close and reopen', async (opened, t) => {
      if (!opened.reopen) return t.skip('the backend keeps nothing across a restart');
      await writeHistory(opened.store);
      await opened.store.compact(3);
      const before = await snapshot(opened.store, 3);
      await opened.store.close();
      const again = await opened.reopen();
      assert.deepEqual(await snapshot(again, 3), before);
      await assertCompacted(again.list('/h/', 2), 3);
      assert.equal((await again.create('/h/a', 'dup')).ok, false);
      assert.deepEqual(await again.create('/h/e', 'e'), { ok: true, revision: 8 });
    });
  });
}
