/**
 * Test support: the only way a test says "this must not get through". A failed ping proves
 * nothing alone: a broken port, a missing route or a dead namespace fail it too, and would
 * pass as "isolated". So every negative check comes with a positive control, run at the same
 * moment: the same target answering from where it should (or, for a target that is gone,
 * the same source reaching a live one). test/arch/negative-checks.test.ts keeps tests on it.
 */
import assert from 'node:assert/strict';

/** True when the probe got through (an answer to a ping, exit status 0). */
export type Probe = () => Promise<boolean>;
/** Pings `to` (an address) from `from` (a workload or container name) once; true on an answer. */
export type Ping = (from: string, to: string) => Promise<boolean>;

/** Runs both probes concurrently; the control must pass and the blocked probe must not. */
export async function assertBlocked(what: string, probes: { blocked: Probe; control: Probe }): Promise<void> {
  const [blocked, control] = await Promise.all([probes.blocked(), probes.control()]);
  assert.ok(control, `${what}: the positive control did not get through, so the blocked probe proves nothing`);
  assert.equal(blocked, false, `${what}: got through`);
}

export interface Isolation {
  from: string;
  to: string;
  /** Who reaches `to` at the same moment (`to` defaults to the same address). */
  control: { from: string; to?: string };
}

/** `from` must not reach `to`, while `control.from` reaches `control.to ?? to`. */
export function assertIsolated(ping: Ping, what: string, i: Isolation): Promise<void> {
  return assertBlocked(what, { blocked: () => ping(i.from, i.to), control: () => ping(i.control.from, i.control.to ?? i.to) });
}
