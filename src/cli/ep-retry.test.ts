/** `ep attach` retries a dropped call with the same request (its idempotency key), and only that. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TenetError } from '../model/errors.js';
import { retryingAttach } from './ep.js';

test('a dropped attach is retried as it is; an answer, even an error, is final', async () => {
  let calls = 0;
  const ok = await retryingAttach(async () => {
    if (++calls < 3) throw new TenetError('AGENT_UNREACHABLE', 'cannot reach unix:/x (socket hang up)');
    return 'attached';
  });
  assert.deepEqual([ok, calls], ['attached', 3]);
  calls = 0;
  await assert.rejects(
    retryingAttach(async () => {
      calls++;
      throw new TenetError('IP_IN_USE', 'taken');
    }),
    /taken/,
  );
  assert.equal(calls, 1, 'a refusal is not retried');
  await assert.rejects(retryingAttach(async () => Promise.reject(new TenetError('AGENT_UNREACHABLE', 'down')), 0), /down/, 'bounded');
});
