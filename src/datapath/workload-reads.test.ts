/**
 * Which reads taken outside the agent's queue a full set() may still use (workload-reads.ts):
 * none of a namespace a set() changed in the read's epoch or later, all the others, and
 * nothing of a read older than what was forgotten.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CommandRunner } from './runner.js';
import { WorkloadEpochs } from './workload-reads.js';
import type { WorkloadState } from './workload.js';

const state: WorkloadState = { ifaces: new Map(), defaults: [] };
/** A runner whose every read answers an empty namespace; `ran` lists the paths entered. */
function runner(ran: string[]): CommandRunner {
  return {
    run: async (argv) => {
      ran.push(argv[1]!);
      return { code: 0, stdout: '[]\n[]\n', stderr: '' };
    },
  } as CommandRunner;
}

test('a read is used but for the namespaces a set() changed since it began (or while)', async () => {
  const epochs = new WorkloadEpochs();
  const ran: string[] = [];
  epochs.begin(); // a set() is running when the read begins…
  const reads = await epochs.read(runner(ran), ['/a', '/b', '/c']);
  assert.deepEqual(ran, ['--net=/a', '--net=/b', '--net=/c'], 'each namespace read once');
  epochs.touch(['/a']); // …and changes /a
  epochs.begin(); // a later set() changes /b
  epochs.touch(['/b']);
  epochs.begin(); // the full set()
  const fresh = epochs.fresh(reads, ['/a', '/b', '/c', '/d']);
  assert.deepEqual([...fresh.keys()], ['/c'], 'only /c is as read; /d was never read');
  assert.deepEqual(fresh.get('/c'), state);
});

test('marks before a used read are forgotten; a read older than them is not used at all', async () => {
  const epochs = new WorkloadEpochs();
  const ran: string[] = [];
  epochs.begin();
  const old = await epochs.read(runner(ran), ['/a']);
  epochs.begin();
  const newer = await epochs.read(runner(ran), ['/a']);
  epochs.begin();
  assert.deepEqual([...epochs.fresh(newer, ['/a']).keys()], ['/a'], 'nothing changed /a: the newer read is used');
  assert.deepEqual([...epochs.fresh(old, ['/a']).keys()], [], 'the older one can no longer be checked: not used');
});
