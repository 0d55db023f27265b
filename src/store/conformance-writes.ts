/** Conformance cases for writes: revisions, create, update, delete, txn (see conformance.ts). */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { keysUnder, kv, mustWrite, storeCase, type OpenStore } from './conformance-kit.js';
import type { Store } from './types.js';

/** Asserts that the store still holds exactly `/keep`=`v` at revision `rev`. */
async function assertUntouched(store: Store, rev: number, createRevision = rev): Promise<void> {
  assert.equal(await store.revision(), rev);
  assert.deepEqual(await store.get('/keep'), kv('/keep', 'v', createRevision, rev));
  assert.deepEqual(await keysUnder(store, ''), ['/keep']);
}

export function writeCases(open: OpenStore): void {
  describe('revisions', () => {
    storeCase(open, 'an empty store is at revision 0', async ({ store }) => {
      assert.equal(await store.revision(), 0);
      assert.deepEqual(await store.list(''), { revision: 0, items: [] });
      assert.equal(await store.get('/a'), undefined);
    });

    storeCase(open, 'each successful write adds exactly one to the revision', async ({ store }) => {
      const steps = [
        () => store.create('/a', '1'),
        () => store.update('/a', '2', 1),
        () => store.txn([], [{ type: 'put', key: '/b', value: '1' }, { type: 'put', key: '/c', value: '1' }]),
        () => store.delete('/b'),
        () => store.delete('/c', 3),
      ];
      for (const [i, step] of steps.entries()) {
        assert.deepEqual(await step(), { ok: true, revision: i + 1 }, `step ${i}`);
        assert.equal(await store.revision(), i + 1);
      }
    });
  });

  describe('create', () => {
    storeCase(open, 'create stores a new key created and modified at its revision', async ({ store }) => {
      await mustWrite(() => store.create('/other', 'x'));
      assert.deepEqual(await store.create('/k', 'v'), { ok: true, revision: 2 });
      assert.deepEqual(await store.get('/k'), kv('/k', 'v', 2, 2));
    });

    storeCase(open, 'create of an existing key fails and changes nothing', async ({ store }) => {
      await mustWrite(() => store.create('/keep', 'v'));
      assert.deepEqual(await store.create('/keep', 'other'), { ok: false, revision: 1 });
      await assertUntouched(store, 1);
    });

    storeCase(open, 'an empty string is a value, not an absence', async ({ store }) => {
      await mustWrite(() => store.create('/e', ''));
      assert.deepEqual(await store.get('/e'), kv('/e', '', 1, 1));
      assert.equal((await store.create('/e', 'x')).ok, false);
      assert.deepEqual(await keysUnder(store, '/'), ['/e']);
    });

    storeCase(open, 'a key created again after a delete starts a new life', async ({ store }) => {
      await mustWrite(() => store.create('/k', 'a'), () => store.update('/k', 'b', 1));
      await mustWrite(() => store.delete('/k'));
      assert.deepEqual(await store.create('/k', 'c'), { ok: true, revision: 4 });
      assert.deepEqual(await store.get('/k'), kv('/k', 'c', 4, 4));
    });
  });

  describe('update', () => {
    storeCase(open, 'update with the current modRevision keeps createRevision', async ({ store }) => {
      await mustWrite(() => store.create('/k', 'a'), () => store.create('/x', 'x'));
      assert.deepEqual(await store.update('/k', 'b', 1), { ok: true, revision: 3 });
      assert.deepEqual(await store.get('/k'), kv('/k', 'b', 1, 3));
    });

    storeCase(open, 'update with a stale modRevision fails and changes nothing', async ({ store }) => {
      await mustWrite(() => store.create('/keep', 'old'));
      await mustWrite(() => store.update('/keep', 'v', 1));
      assert.deepEqual(await store.update('/keep', 'lost', 1), { ok: false, revision: 2 });
      await assertUntouched(store, 2, 1);
    });

    storeCase(open, 'update of an absent or deleted key fails and creates nothing', async ({ store }) => {
      await mustWrite(() => store.create('/keep', 'v'), () => store.create('/gone', 'v'));
      await mustWrite(() => store.delete('/gone'));
      for (const [key, rev] of [['/never', 0], ['/never', 1], ['/gone', 0], ['/gone', 2], ['/gone', 3]] as const) {
        assert.deepEqual(await store.update(key, 'x', rev), { ok: false, revision: 3 }, `${key} at ${rev}`);
      }
      assert.deepEqual(await keysUnder(store, ''), ['/keep']);
      assert.equal(await store.revision(), 3);
    });
  });

  describe('delete', () => {
    storeCase(open, 'delete without a modRevision removes the key', async ({ store }) => {
      await mustWrite(() => store.create('/keep', 'v'), () => store.create('/k', 'v'));
      assert.deepEqual(await store.delete('/k'), { ok: true, revision: 3 });
      assert.equal(await store.get('/k'), undefined);
      assert.deepEqual(await keysUnder(store, ''), ['/keep']);
    });

    storeCase(open, 'delete with the current modRevision removes the key', async ({ store }) => {
      await mustWrite(() => store.create('/k', 'a'), () => store.update('/k', 'b', 1));
      assert.deepEqual(await store.delete('/k', 2), { ok: true, revision: 3 });
      assert.equal(await store.get('/k'), undefined);
    });

    storeCase(open, 'delete with a stale modRevision fails and keeps the key', async ({ store }) => {
      await mustWrite(() => store.create('/keep', 'a'));
      await mustWrite(() => store.update('/keep', 'v', 1));
      assert.deepEqual(await store.delete('/keep', 1), { ok: false, revision: 2 });
      assert.deepEqual(await store.delete('/keep', 0), { ok: false, revision: 2 });
      await assertUntouched(store, 2, 1);
    });

    storeCase(open, 'delete of an absent key is ok:false and writes nothing', async ({ store }) => {
      await mustWrite(() => store.create('/keep', 'v'), () => store.create('/gone', 'v'));
      await mustWrite(() => store.delete('/gone'));
      assert.deepEqual(await store.delete('/never'), { ok: false, revision: 3 });
      assert.deepEqual(await store.delete('/gone'), { ok: false, revision: 3 });
      assert.deepEqual(await store.delete('/gone', 2), { ok: false, revision: 3 });
      assert.deepEqual(await store.get('/keep'), kv('/keep', 'v', 1, 1));
      assert.equal(await store.revision(), 3);
    });
  });

  describe('txn', () => {
    storeCase(open, 'all ops of a txn share one revision', async ({ store }) => {
      await mustWrite(() => store.create('/old', 'o'), () => store.create('/gone', 'g'));
      const ops = [
        { type: 'put', key: '/new', value: 'n' },
        { type: 'put', key: '/old', value: 'o2' },
        { type: 'delete', key: '/gone' },
      ] as const;
      assert.deepEqual(await store.txn([{ key: '/old', modRevision: 1 }, { key: '/new', modRevision: 0 }], [...ops]), { ok: true, revision: 3 });
      assert.deepEqual((await store.list('')).items, [kv('/new', 'n', 3, 3), kv('/old', 'o2', 1, 3)]);
      assert.equal(await store.revision(), 3);
    });

    storeCase(open, 'a txn whose compare fails writes nothing', async ({ store }) => {
      await mustWrite(() => store.create('/keep', 'v'));
      const ops = [{ type: 'put', key: '/new', value: 'n' }, { type: 'put', key: '/keep', value: 'x' }, { type: 'delete', key: '/keep' }] as const;
      const failing = [
        [{ key: '/keep', modRevision: 1 }, { key: '/new', modRevision: 1 }],
        [{ key: '/new', modRevision: 0 }, { key: '/keep', modRevision: 0 }],
        [{ key: '/keep', modRevision: 2 }],
      ];
      for (const compares of failing) {
        assert.deepEqual(await store.txn(compares, [...ops]), { ok: false, revision: 1 }, JSON.stringify(compares));
      }
      await assertUntouched(store, 1);
    });
  });
}
