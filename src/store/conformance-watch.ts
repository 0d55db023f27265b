/** Conformance cases for watch (see conformance.ts). */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { brief, mustWrite, Recorder, settle, storeCase, type OpenStore } from './conformance-kit.js';
import type { WriteResult } from './types.js';

/** Awaits a write that must succeed and renders it as the event it should cause. */
async function tagged(type: string, key: string, write: Promise<WriteResult>): Promise<{ rev: number; text: string }> {
  const result = await write;
  assert.ok(result.ok, `${type} ${key} failed`);
  return { rev: result.revision, text: `${type} ${key}@${result.revision}` };
}

export function watchCases(open: OpenStore): void {
  describe('watch', () => {
    storeCase(open, 'a watch from a past revision replays history, then live events, with no gap or duplicate', async ({ store }) => {
      for (let i = 1; i <= 10; i++) await mustWrite(() => store.create(`/w/${i}`, 'v'));
      const rec = new Recorder();
      // Writes in flight on both sides of the watch's setup: none may be lost or doubled.
      const before = Array.from({ length: 20 }, (_, i) => tagged('put', `/w/b${i}`, store.create(`/w/b${i}`, 'b')));
      const watch = store.watch('/w/', 5, rec);
      const after = Array.from({ length: 20 }, (_, i) => {
        const key = `/w/${(i % 10) + 1}`;
        if (i < 5) return tagged('put', key, store.txn([], [{ type: 'put', key, value: 'u' }]));
        if (i < 10) return tagged('delete', key, store.delete(key));
        return tagged('put', `/w/a${i}`, store.create(`/w/a${i}`, 'a'));
      });
      const written = await Promise.all([...before, ...after]);
      const replayed = [6, 7, 8, 9, 10].map((rev) => `put /w/${rev}@${rev}`);
      const expected = [...replayed, ...written.sort((a, b) => a.rev - b.rev).map((w) => w.text)];
      await rec.waitForEvents(expected.length);
      await settle();
      watch.cancel();
      assert.deepEqual(rec.events.map((e) => `${e.type} ${e.kv.key}@${e.kv.modRevision}`), expected);
    });

    storeCase(open, 'a watch from the current revision sees only new events', async ({ store }) => {
      await mustWrite(() => store.create('/w/old', 'o'));
      const rec = new Recorder();
      store.watch('/w/', await store.revision(), rec);
      await mustWrite(() => store.create('/w/new', 'n'));
      await rec.waitForEvents(1);
      await settle();
      assert.deepEqual(rec.events.map(brief), ['put /w/new@2/2=n']);
    });

    storeCase(open, 'the events of one txn arrive in one onEvents call, live and replayed', async ({ store }) => {
      await mustWrite(() => store.create('/t/gone', 'g'));
      const live = new Recorder();
      store.watch('/t/', 1, live);
      await mustWrite(() => store.txn([], [{ type: 'put', key: '/t/a', value: 'a' }, { type: 'put', key: '/t/b', value: 'b' }, { type: 'delete', key: '/t/gone' }]));
      await mustWrite(() => store.create('/t/c', 'c'));
      const replayed = new Recorder();
      store.watch('/t/', 0, replayed);
      await live.waitForEvents(4);
      await replayed.waitForEvents(5);
      await settle();
      const txnBatch = ['put /t/a@2/2=a', 'put /t/b@2/2=b', 'delete /t/gone@2 (was /t/gone@1/1=g)'];
      assert.deepEqual(live.batches.map((b) => b.map(brief)), [txnBatch, ['put /t/c@3/3=c']]);
      assert.deepEqual(replayed.batches.map((b) => b.map(brief)), [['put /t/gone@1/1=g'], txnBatch, ['put /t/c@3/3=c']]);
    });

    storeCase(open, 'put and delete events carry prevKv, a delete its own revision', async ({ store }) => {
      const live = new Recorder();
      store.watch('/d', 0, live);
      await mustWrite(() => store.create('/d', 'v1'));
      await mustWrite(() => store.update('/d', 'v2', 1));
      await mustWrite(() => store.delete('/d'));
      const replayed = new Recorder();
      store.watch('/d', 0, replayed);
      const expected = ['put /d@1/1=v1', 'put /d@1/2=v2 (was /d@1/1=v1)', 'delete /d@3 (was /d@1/2=v2)'];
      assert.deepEqual((await live.waitForEvents(3)).map(brief), expected);
      assert.deepEqual((await replayed.waitForEvents(3)).map(brief), expected);
      const deletion = replayed.events[2]!;
      assert.deepEqual([deletion.type, deletion.kv.value, deletion.kv.createRevision], ['delete', '', 1]);
      assert.equal(replayed.events[0]!.prevKv, undefined);
    });

    storeCase(open, 'a watch of a prefix ignores other keys', async ({ store }) => {
      await mustWrite(() => store.create('/p', 'no'), () => store.create('/pq/x', 'no'), () => store.create('/p/1', 'yes'));
      const live = new Recorder();
      store.watch('/p/', 0, live);
      await mustWrite(() => store.create('/other', 'no'), () => store.create('/p/2', 'yes'), () => store.create('/pq/y', 'no'));
      await live.waitForEvents(2);
      await settle();
      assert.deepEqual(live.events.map((e) => e.kv.key), ['/p/1', '/p/2']);
    });

    storeCase(open, 'every watcher of a prefix gets the whole stream', async ({ store }) => {
      const recs = [new Recorder(), new Recorder(), new Recorder()];
      for (const rec of recs) store.watch('/m/', 0, rec);
      await mustWrite(() => store.create('/m/1', 'a'), () => store.create('/m/2', 'b'));
      for (const rec of recs) assert.deepEqual((await rec.waitForEvents(2)).map(brief), ['put /m/1@1/1=a', 'put /m/2@2/2=b']);
    });

    storeCase(open, 'cancel stops delivery, even of history not yet delivered', async ({ store }) => {
      const rec = new Recorder();
      const watch = store.watch('/c/', 0, rec);
      await mustWrite(() => store.create('/c/1', 'a'));
      await rec.waitForEvents(1);
      watch.cancel();
      await mustWrite(() => store.create('/c/2', 'b'), () => store.txn([], [{ type: 'put', key: '/c/3', value: 'c' }]));
      const early = new Recorder();
      store.watch('/c/', 0, early).cancel();
      await settle();
      assert.deepEqual(rec.events.map(brief), ['put /c/1@1/1=a']);
      assert.deepEqual([early.events, early.errors], [[], []]);
    });
  });
}
