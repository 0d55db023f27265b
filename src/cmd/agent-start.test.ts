/**
 * An agent starting while the controller or its store is away waits for them instead of
 * exiting (a lab or a host booting before its controller, etcd without quorum for a moment);
 * any other refusal ends the start at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { TenetError, type ErrorCode } from '../model/errors.js';
import { untilReachable } from './agent.js';

/** A step that fails with `codes` in turn, then answers. */
function failing(...codes: ErrorCode[]): { step: () => Promise<string>; calls: () => number } {
  let n = 0;
  return {
    step: async () => {
      const code = codes[n++];
      if (code) throw new TenetError(code, `failed with ${code}`);
      return 'registered';
    },
    calls: () => n,
  };
}

test('waits through an unreachable controller and a store without quorum', async () => {
  const s = failing('CONTROLLER_UNREACHABLE', 'STORE_UNAVAILABLE');
  assert.equal(await untilReachable(s.step, silentLogger), 'registered');
  assert.equal(s.calls(), 3);
});

test('any other refusal ends the start at once (control)', async () => {
  const s = failing('UNAUTHENTICATED');
  await assert.rejects(untilReachable(s.step, silentLogger), (e: TenetError) => e.code === 'UNAUTHENTICATED');
  assert.equal(s.calls(), 1);
});
