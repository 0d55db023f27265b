/**
 * Leader election on a real etcd (one member, started by the test on loopback ports): two
 * replicas, each with its own client as two controllers would have; exactly one leads; when
 * the leader's client dies without resigning, its lease ends in etcd and the other leads.
 * Bounded waits, outcomes asserted, never timings.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../base/async.js';
import { EtcdStore } from '../store/etcd.js';
import { startEtcd, type EtcdCluster } from '../store/testing/etcd-server.js';
import { LeaderElection, leaderKeys } from './leader.js';
import { recordingLogger } from './testing.js';

let etcd: EtcdCluster;
const stores: EtcdStore[] = [];

before(async () => {
  etcd = await startEtcd({ members: 1 });
});

after(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  await etcd?.stop();
});

function replica(name: string): { election: LeaderElection; store: EtcdStore; work: { started: number; stopped: number } } {
  const store = new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 2000 });
  stores.push(store);
  const work = { started: 0, stopped: 0 };
  const tasks = [() => (work.started++, { stop: () => void work.stopped++ })];
  const record = { id: name, urls: [], version: 'test', startedAt: new Date().toISOString() };
  return { election: new LeaderElection({ store, logger: recordingLogger([]), record, tasks, ttlMs: 2000, keepAliveMs: 400 }), store, work };
}

test('etcd: one of two replicas leads; its client dies, its lease ends in etcd, the other leads', async () => {
  const a = replica('ctl-a');
  const b = replica('ctl-b');
  await Promise.all([a.election.start(), b.election.start()]);
  try {
    await waitFor(() => a.election.isLeader() !== b.election.isLeader() || undefined, 20_000, 'exactly one leader');
    const [leader, other] = a.election.isLeader() ? [a, b] : [b, a];
    assert.equal((await other.store.get(leaderKeys.leader()))?.value, leader.election.id);
    assert.equal((await other.store.list(leaderKeys.controllers())).items.length, 2);
    await leader.store.close(); // the leader's process is gone as far as etcd can tell: no keep-alive, no revoke
    await waitFor(() => other.election.isLeader() || undefined, 30_000, 'the other replica leads');
    await waitFor(() => !leader.election.isLeader() || undefined, 30_000, 'the cut-off leader stepped down');
    assert.deepEqual([leader.work.stopped, other.work.started], [1, 1]);
    assert.equal((await other.store.get(leaderKeys.leader()))?.value, other.election.id);
    assert.deepEqual((await other.store.list(leaderKeys.controllers())).items.map((kv) => JSON.parse(kv.value).id), [other.election.id]);
  } finally {
    await Promise.all([a.election.stop(), b.election.stop()]);
  }
});
