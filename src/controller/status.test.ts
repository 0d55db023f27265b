/**
 * GET /v1/status over a MemoryStore: the store's health, the replicas and the leader (from
 * a real LeaderElection on the same store), hosts up and down, the endpoints and policies
 * not realized everywhere; a store that cannot be read gives a partial answer, not a 500.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterStatus } from '../api/types.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';
import { LeaderElection } from './leader.js';
import { EP_URL, att, recordingLogger, seed, testApp } from './testing.js';

const status = async (t: Awaited<ReturnType<typeof testApp>>): Promise<ClusterStatus> => {
  const res = await t.call<ClusterStatus>('GET', '/v1/status');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
};

test('status: the store, no leader before any election, then the elected replica marked leader', async () => {
  const t = await testApp();
  const empty = await status(t);
  assert.deepEqual(empty.store.members, [{ name: 'memory', endpoint: 'memory:', healthy: true, leader: true }]);
  assert.deepEqual([empty.store.backend, empty.store.healthy, empty.controllers, empty.leader], ['memory', true, [], undefined]);
  const record = { id: 'ctl-a', urls: ['https://127.0.0.1:7400'], version: '1.2.3', startedAt: new Date().toISOString() };
  const election = new LeaderElection({ store: t.store, logger: recordingLogger([]), record, tasks: [], ttlMs: 2000 });
  await election.start();
  try {
    const s = await status(t);
    assert.equal(s.leader, 'ctl-a');
    assert.deepEqual(s.controllers, [{ ...record, leader: true }]);
    assert.equal(s.store.revision, await t.store.revision());
  } finally {
    await election.stop();
  }
  assert.deepEqual([(await status(t)).controllers, (await status(t)).leader], [[], undefined], 'a resigned replica is gone');
  await t.app.close();
});

test('status: hosts up and down, and the endpoints and policies some host has not realized', async () => {
  const t = await testApp();
  await seed(t); // h1
  const h2 = (await t.call('PUT', '/v1/hosts/h2', { vtep: '192.0.2.2', underlayMtu: 1500 })).body.lease;
  const ep = (await t.call('POST', EP_URL, { host: 'h1', attachment: att('/run/netns/c1') })).body;
  await t.call('POST', EP_URL, { host: 'h2' });
  await t.call('POST', '/v1/tenants/acme/policies', { name: 'web', rules: ['allow from any to any'] });
  const before = await status(t);
  assert.deepEqual(before.hosts, { up: 2, down: 0, downNames: [] });
  assert.deepEqual([before.unrealized.endpoints, before.unrealized.policies], [2, 1]);
  const first = before.unrealized.first.find((o) => o.id === ep.id);
  assert.deepEqual([first?.kind, first?.tenant, first?.behind, first?.hosts], ['endpoint', 'acme', 2, ['h1', 'h2']]);
  assert.deepEqual(before.unrealized.first.find((o) => o.kind === 'policy')?.id, 'acme/web');

  const now = await t.store.revision();
  for (const h of ['h1', 'h2']) assert.equal((await t.call('PUT', `/v1/hosts/${h}/realized`, { revision: now })).status, 204);
  const realized = await status(t);
  assert.deepEqual([realized.unrealized.endpoints, realized.unrealized.policies, realized.unrealized.first], [0, 0, []]);

  await t.store.revoke(h2.id); // h2 goes down: nobody knows what its kernel has now
  const down = await status(t);
  assert.deepEqual(down.hosts, { up: 1, down: 1, downNames: ['h2'] });
  assert.deepEqual([down.unrealized.endpoints, down.unrealized.policies], [2, 1]);
  assert.ok(down.unrealized.first.every((o) => o.hosts.includes('h2') && !o.hosts.includes('h1')));
  await t.app.close();
});

test('status: a store that cannot be read answers 200 with the store unhealthy and the error, never a 500', async () => {
  const inner = new MemoryStore();
  const broken = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'status') return async () => ({ backend: 'etcd', healthy: false, revision: 0, members: [{ name: 'm1', endpoint: 'http://127.0.0.1:1', healthy: false, leader: false, error: 'connection refused' }], error: 'no member answers' });
      if (prop === 'list' || prop === 'get') return async () => Promise.reject(new Error('no member answers'));
      return Reflect.get(target, prop);
    },
  }) as Store;
  const t = await testApp({ store: broken });
  const s = await status(t);
  assert.deepEqual([s.store.healthy, s.store.error, s.controllers, s.hosts.up], [false, 'no member answers', [], 0]);
  assert.match(s.error ?? '', /could not be read: no member answers/);
  await t.app.close();
  await inner.close();
});
