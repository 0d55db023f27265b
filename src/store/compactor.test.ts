import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, waitFor } from '../base/async.js';
import { silentLogger, type Logger } from '../base/logger.js';
import { startCompactor } from './compactor.js';
import { MemoryStore } from './memory.js';
import { CompactedError, type Store } from './types.js';

const INTERVAL_MS = 5;
/** Several intervals: long enough for a compactor that should act to have acted. */
const idle = () => sleep(INTERVAL_MS * 10);

async function storeAt(revision: number): Promise<MemoryStore> {
  const store = new MemoryStore();
  for (let i = 1; i <= revision; i++) await store.create(`/k/${i}`, 'v');
  return store;
}

/** The lowest revision the store can still list at. */
async function oldestListable(store: Store): Promise<number> {
  try {
    await store.list('', 0);
    return 0;
  } catch (err) {
    if (err instanceof CompactedError) return err.compacted;
    throw err;
  }
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warn: (_obj, msg) => void warnings.push(msg ?? ''), warnings };
}

describe('compactor', () => {
  it('compacts to the revision minus keepRevisions, and follows new writes', async () => {
    const store = await storeAt(10);
    const compactor = startCompactor(store, { keepRevisions: 3, intervalMs: INTERVAL_MS, logger: silentLogger });
    try {
      await waitFor(async () => ((await oldestListable(store)) === 7 ? true : undefined), 1000, 'compaction to 7');
      assert.equal((await store.list('', 7)).items.length, 7);
      for (let i = 11; i <= 15; i++) await store.create(`/k/${i}`, 'v');
      await waitFor(async () => ((await oldestListable(store)) === 12 ? true : undefined), 1000, 'compaction to 12');
    } finally {
      await compactor.stop();
    }
  });

  it('calls compact only when there is something new to forget', async () => {
    const store = await storeAt(5);
    const compact = store.compact.bind(store);
    const targets: number[] = [];
    store.compact = async (rev) => {
      targets.push(rev);
      return compact(rev);
    };
    const compactor = startCompactor(store, { keepRevisions: 5, intervalMs: INTERVAL_MS, logger: silentLogger });
    await idle();
    assert.deepEqual(targets, [], 'nothing is older than keepRevisions yet');
    await store.create('/k/6', 'v');
    await idle();
    await compactor.stop();
    assert.deepEqual(targets, [1]);
    assert.equal(await oldestListable(store), 1);
  });

  it('compacts nothing once stopped', async () => {
    const store = await storeAt(5);
    const compactor = startCompactor(store, { keepRevisions: 2, intervalMs: INTERVAL_MS, logger: silentLogger });
    await waitFor(async () => ((await oldestListable(store)) === 3 ? true : undefined), 1000, 'compaction to 3');
    await compactor.stop();
    for (let i = 6; i <= 10; i++) await store.create(`/k/${i}`, 'v');
    await idle();
    assert.equal(await oldestListable(store), 3);
  });

  it('logs a failed compaction and retries it', async () => {
    const store = await storeAt(4);
    const compact = store.compact.bind(store);
    let calls = 0;
    store.compact = async (rev) => (++calls === 1 ? Promise.reject(new Error('disk full')) : compact(rev));
    const logger = recordingLogger();
    const compactor = startCompactor(store, { keepRevisions: 1, intervalMs: INTERVAL_MS, logger });
    await waitFor(async () => ((await oldestListable(store)) === 3 ? true : undefined), 1000, 'compaction after a failure');
    await compactor.stop();
    assert.deepEqual(logger.warnings, ['store compaction failed; retrying at the next interval']);
  });

  it('never runs two compactions at once, and stop waits for the one under way', async () => {
    const store = await storeAt(4);
    let inFlight = 0;
    let most = 0;
    let finished = 0;
    store.compact = async () => {
      most = Math.max(most, ++inFlight);
      await sleep(INTERVAL_MS * 4);
      inFlight--;
      finished++;
    };
    const compactor = startCompactor(store, { keepRevisions: 0, intervalMs: INTERVAL_MS, logger: silentLogger });
    await waitFor(() => (inFlight > 0 ? true : undefined), 1000, 'a compaction to start');
    await compactor.stop();
    assert.equal(inFlight, 0, 'stop returned while a compaction was running');
    assert.equal(most, 1);
    assert.equal(finished, 1);
  });

  it('rejects nonsense options before starting', () => {
    const store = new MemoryStore();
    assert.throws(() => startCompactor(store, { keepRevisions: -1, intervalMs: 10, logger: silentLogger }), /keepRevisions/);
    assert.throws(() => startCompactor(store, { keepRevisions: 1.5, intervalMs: 10, logger: silentLogger }), /keepRevisions/);
    assert.throws(() => startCompactor(store, { keepRevisions: 1, intervalMs: 0, logger: silentLogger }), /intervalMs/);
  });
});
