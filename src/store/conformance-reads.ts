/** Conformance cases for reads (list, list at a revision) and racing writers (see conformance.ts). */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { brief, keysUnder, kv, mustWrite, Recorder, settle, storeCase, type OpenStore } from './conformance-kit.js';
import type { Store, WatchEvent } from './types.js';

/**
 * Revisions 1..5: /a/1 created, /a/2 created, /a/1 updated, /a/2 deleted, /a/3 created;
 * /ab/x and /a (outside the /a/ prefix) are written at 6 and 7.
 */
async function writeHistory(store: Store): Promise<void> {
  await mustWrite(() => store.create('/a/1', 'one'));
  await mustWrite(() => store.create('/a/2', 'two'));
  await mustWrite(() => store.update('/a/1', 'one-b', 1));
  await mustWrite(() => store.delete('/a/2'));
  await mustWrite(() => store.create('/a/3', 'three'));
  await mustWrite(() => store.create('/ab/x', 'x'));
  await mustWrite(() => store.create('/a', 'a'));
}

function scribble(event: WatchEvent): void {
  for (const item of [event.kv, event.prevKv]) if (item) Object.assign(item, { value: 'scribbled', modRevision: -1 });
}

export function readCases(open: OpenStore): void {
  describe('list', () => {
    storeCase(open, 'list returns the keys under a prefix in key order', async ({ store }) => {
      for (const key of ['/a/c', '/ab/x', '/a/a', '/a', '/a/b/deep', '/b/1', '/a/b', '/a0']) {
        await mustWrite(() => store.create(key, key));
      }
      assert.deepEqual(await keysUnder(store, '/a/'), ['/a/a', '/a/b', '/a/b/deep', '/a/c']);
      assert.deepEqual(await keysUnder(store, '/a/b'), ['/a/b', '/a/b/deep']);
      assert.deepEqual(await keysUnder(store, ''), ['/a', '/a/a', '/a/b', '/a/b/deep', '/a/c', '/a0', '/ab/x', '/b/1']);
      assert.deepEqual(await store.list('/zzz/'), { revision: 8, items: [] });
    });

    storeCase(open, 'list items carry their revisions and the list its revision', async ({ store }) => {
      await writeHistory(store);
      assert.deepEqual(await store.list('/a/'), { revision: 7, items: [kv('/a/1', 'one-b', 1, 3), kv('/a/3', 'three', 5, 5)] });
    });

    storeCase(open, 'list at a past revision shows the state of then', async ({ store }) => {
      await writeHistory(store);
      const at = async (rev: number) => store.list('/a/', rev);
      assert.deepEqual(await at(0), { revision: 0, items: [] });
      assert.deepEqual(await at(2), { revision: 2, items: [kv('/a/1', 'one', 1, 1), kv('/a/2', 'two', 2, 2)] });
      assert.deepEqual(await at(3), { revision: 3, items: [kv('/a/1', 'one-b', 1, 3), kv('/a/2', 'two', 2, 2)] });
      assert.deepEqual(await at(4), { revision: 4, items: [kv('/a/1', 'one-b', 1, 3)] });
      assert.deepEqual(await at(7), await store.list('/a/'));
      assert.deepEqual(await keysUnder(store, '', 6), ['/a/1', '/a/3', '/ab/x']);
    });

    storeCase(open, 'list reads a page: keys from a key on, at most limit of them', async ({ store }) => {
      await writeHistory(store);
      await mustWrite(() => store.create('/a/4', 'four'));
      const page = async (from?: string, limit?: number, rev?: number) => (await store.list('/a/', rev, { from, limit })).items.map((i) => i.key);
      assert.deepEqual(await page('/a/2'), ['/a/3', '/a/4']);
      assert.deepEqual(await page('/a/1', 2), ['/a/1', '/a/3']);
      assert.deepEqual(await page(undefined, 1), ['/a/1']);
      assert.deepEqual(await page('/a/5', 3), []);
      assert.deepEqual(await page('/a/2', 1, 3), ['/a/2'], 'a page of a past revision');
      assert.deepEqual(await page('/', 10), ['/a/1', '/a/3', '/a/4'], 'a from before the prefix stays in the prefix');
    });

    storeCase(open, 'list at a past revision does not change the current state', async ({ store }) => {
      await writeHistory(store);
      await store.list('/a/', 2);
      assert.deepEqual(await store.get('/a/2'), undefined);
      assert.deepEqual(await store.get('/a/1'), kv('/a/1', 'one-b', 1, 3));
      assert.equal(await store.revision(), 7);
    });
  });

  describe('isolation', () => {
    storeCase(open, 'gets and lists hand out the caller\'s own copy, watches frozen events', async ({ store }) => {
      const other = new Recorder();
      store.watch('/i/', 0, other);
      // Events are shared by every watcher (watch-hub.ts): an edit must fail, not spread.
      const refused: string[] = [];
      const tryEdits = (e: WatchEvent) => {
        assert.throws(() => scribble(e), TypeError);
        assert.throws(() => Object.assign(e, { kv: { ...e.kv, value: 'x' } }), TypeError);
        refused.push(e.kv.key);
      };
      store.watch('/i/', 0, { onEvents: (events) => events.forEach(tryEdits), onError: () => {} });
      await mustWrite(() => store.create('/i/k', 'v1'));
      await mustWrite(() => store.update('/i/k', 'v2', 1));
      scribble({ type: 'put', kv: (await store.get('/i/k'))!, prevKv: (await store.list('/i/', 1)).items[0] });
      (await store.list('/i/')).items.forEach((item) => (item.value = 'scribbled'));
      await other.waitForRevision(2);
      await settle();
      assert.deepEqual(refused, ['/i/k', '/i/k'], 'both edits of a watched event were refused');
      assert.deepEqual(await store.get('/i/k'), kv('/i/k', 'v2', 1, 2));
      assert.deepEqual((await store.list('/i/', 1)).items, [kv('/i/k', 'v1', 1, 1)]);
      assert.deepEqual(other.events.map(brief), ['put /i/k@1/1=v1', 'put /i/k@1/2=v2 (was /i/k@1/1=v1)']);
    });
  });

  describe('racing writers', () => {
    storeCase(open, 'of many concurrent creates of one key exactly one succeeds', async ({ store }) => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.create('/ip/10.0.0.5', `owner-${i}`)));
      const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
      assert.equal(winners.length, 1, `winners: ${winners.join(', ')}`);
      assert.equal((await store.get('/ip/10.0.0.5'))?.value, `owner-${winners[0]}`);
      assert.equal(await store.revision(), 1);
    });

    storeCase(open, 'concurrent allocators each claim a different address', async ({ store }) => {
      const allocate = async (owner: number): Promise<number> => {
        for (let host = 1; host <= 40; host++) {
          if ((await store.create(`/ip/10.0.0.${host}`, `owner-${owner}`)).ok) return host;
        }
        throw new Error(`owner ${owner} found no free address`);
      };
      const hosts = await Promise.all(Array.from({ length: 20 }, (_, i) => allocate(i)));
      assert.equal(new Set(hosts).size, 20, `addresses handed out twice: ${hosts.join(', ')}`);
      const items = (await store.list('/ip/')).items;
      assert.equal(items.length, 20);
      for (const [owner, host] of hosts.entries()) {
        assert.equal((await store.get(`/ip/10.0.0.${host}`))?.value, `owner-${owner}`);
      }
      assert.equal(await store.revision(), 20);
    });

    storeCase(open, 'of concurrent updates from one modRevision exactly one succeeds', async ({ store }) => {
      await mustWrite(() => store.create('/counter', '0'));
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.update('/counter', `${i}`, 1)));
      assert.equal(results.filter((r) => r.ok).length, 1);
      assert.equal(await store.revision(), 2);
    });
  });
}
