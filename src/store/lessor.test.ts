/**
 * The lessor's expiry loop (lessor.ts): each ended lease is handed to the backend once, even
 * while the backend's write is still under way across several ticks, and again after a
 * failed write, never lost. The backends' lease behaviour is in the conformance suite.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '../base/async.js';
import { EXPIRY_TICK_MS, Lessor } from './lessor.js';

test('a lease whose end takes several ticks is handed to the backend once', async () => {
  const calls: number[] = [];
  const lessor: Lessor = new Lessor(async (id) => {
    calls.push(id);
    const ending = lessor.begin(id);
    assert.deepEqual(ending, { live: false, keys: ['/k'] });
    await sleep(EXPIRY_TICK_MS * 4);
    lessor.finish(id);
  });
  lessor.add({ id: 7, ttlMs: 1 });
  lessor.bind('/k', 7);
  lessor.start();
  try {
    await sleep(EXPIRY_TICK_MS * 8);
    assert.deepEqual(calls, [7]);
    assert.equal(lessor.knows(7), false);
  } finally {
    lessor.stop();
  }
});

test('a lease whose end failed is tried again at a later tick, and is not live meanwhile', async () => {
  let attempts = 0;
  const lessor: Lessor = new Lessor((id) => {
    attempts++;
    lessor.begin(id);
    if (attempts === 1) {
      lessor.retry(id);
      throw new Error('disk I/O error');
    }
    lessor.finish(id);
  });
  lessor.add({ id: 3, ttlMs: 1 });
  lessor.start();
  try {
    await sleep(5);
    const deadline = Date.now() + 3000;
    while (lessor.knows(3) && Date.now() < deadline) {
      assert.equal(lessor.has(3), false, 'an ended lease binds nothing while its end is retried');
      await sleep(10);
    }
    assert.equal(attempts, 2);
    assert.equal(lessor.knows(3), false);
  } finally {
    lessor.stop();
  }
});

test('revoking a live lease reports it live; its keys are those bound to it now', () => {
  const lessor = new Lessor(() => undefined);
  lessor.add({ id: 1, ttlMs: 60_000 });
  lessor.bind('/a', 1);
  lessor.bind('/b', 1);
  lessor.bind('/b', undefined);
  assert.deepEqual(lessor.begin(1), { live: true, keys: ['/a'] });
  assert.equal(lessor.begin(1), undefined, 'a lease is ended once');
  assert.equal(lessor.keepAlive(1), false);
});
