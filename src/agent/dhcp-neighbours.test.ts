/**
 * The DHCP reply's neighbour entries are set in batches (dhcp-neighbours.ts): a burst of
 * replies costs a few `ip -batch` processes, never one per reply, and a failed line fails only
 * its own reply. A scripted runner stands in for `ip`; the kernel path is the e2e test's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CommandResult, CommandRunner, RunOptions } from '../datapath/runner.js';
import { NeighbourBatcher } from './dhcp-neighbours.js';

/** Holds each run until the test releases it, answering with `answer(input)`. */
class HeldRunner implements CommandRunner {
  readonly runs: { argv: string[]; input: string; release: () => void }[] = [];
  constructor(private readonly answer: (input: string) => CommandResult = () => ({ code: 0, stdout: '', stderr: '' })) {}

  run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    return new Promise((resolve) => this.runs.push({ argv, input: opts.input ?? '', release: () => resolve(this.answer(opts.input ?? '')) }));
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test('a burst of 50 replies costs two batches: the first arrival, then everything that came meanwhile', async () => {
  const runner = new HeldRunner();
  const b = new NeighbourBatcher(runner);
  const all = Array.from({ length: 50 }, (_, i) => b.reach('tns', 'tnb1', `10.0.0.${i + 2}`, `02:00:00:00:00:${(i + 2).toString(16).padStart(2, '0')}`));
  await tick();
  assert.equal(runner.runs.length, 1, 'one process at a time per namespace');
  assert.deepEqual(runner.runs[0]!.argv, ['ip', '-n', 'tns', '-force', '-batch', '-']);
  assert.equal(runner.runs[0]!.input, 'neigh replace 10.0.0.2 lladdr 02:00:00:00:00:02 dev tnb1 nud stale\n');
  runner.runs[0]!.release();
  await tick();
  assert.equal(runner.runs.length, 2);
  assert.equal(runner.runs[1]!.input.trim().split('\n').length, 49);
  runner.runs[1]!.release();
  await Promise.all(all);
  assert.equal(b.batches, 2);
});

test('a lone reply is one batch at once; another namespace does not wait for the first', async () => {
  const runner = new HeldRunner();
  const b = new NeighbourBatcher(runner);
  const one = b.reach('ns-a', 'tnb1', '10.0.0.2', '02:00:00:00:00:02');
  const two = b.reach('ns-b', 'tnb1', '10.0.0.2', '02:00:00:00:00:02');
  await tick();
  assert.deepEqual(runner.runs.map((r) => r.argv[2]), ['ns-a', 'ns-b']);
  runner.runs.forEach((r) => r.release());
  await Promise.all([one, two]);
});

test('a line ip names as failed rejects only its reply; the same entry asked twice is one line', async () => {
  const runner = new HeldRunner((input) => ({ code: 1, stdout: '', stderr: input.includes('nosuch') ? 'Cannot find device "nosuch"\nCommand failed -:2\n' : '' }));
  const b = new NeighbourBatcher(runner);
  const first = b.reach('tns', 'tnb1', '10.0.0.9', '02:00:00:00:00:09'); // runs alone, holds the namespace
  await tick();
  const ok = b.reach('tns', 'tnb1', '10.0.0.2', '02:00:00:00:00:02');
  const again = b.reach('tns', 'tnb1', '10.0.0.2', '02:00:00:00:00:02');
  const bad = b.reach('tns', 'nosuch', '10.0.0.3', '02:00:00:00:00:03');
  runner.runs[0]!.release();
  await assert.rejects(first, /exit 1/, 'a failure ip did not attribute to a line fails its batch');
  await tick();
  assert.equal(runner.runs[1]!.input.trim().split('\n').length, 2);
  runner.runs[1]!.release();
  await ok;
  await again;
  await assert.rejects(bad, /Cannot find device "nosuch"/);
});
