/**
 * Issue 11, failure test (2), on `tenet lab up --store etcd --controllers 2` (3 etcd members,
 * 2 replicas; 2 hosts are enough: each host must realize what is written for the other): the
 * replica the agents follow (c1, the first of their list) is killed with SIGKILL by its PID.
 * Writes made through the survivor afterwards (attaches on both hosts, a removal of an
 * endpoint made before the kill) are all realized on every host: each host's kernel view
 * (neighbour entries in the tenant's namespace) equals the store, each agent's applied
 * revision reaches the store's, the new endpoints come `up` (the agents report through c2),
 * and a ping across hosts still works. No watch event was lost in the failover.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { ClusterLab, createAttached, viewsMatchStore } from '../support/cluster-lab.js';
import { waitFor } from '../../src/base/async.js';
import type { Endpoint } from '../../src/model/types.js';

const lab = new ClusterLab();
const HOSTS = ['h1', 'h2'];

describe('a controller replica killed with SIGKILL', { skip: kernelSkip('controller replica kill in an etcd lab'), timeout: 240_000 }, () => {
  before(async () => {
    await lab.up(2);
    await lab.setUp([{ tenant: 'acme', name: 'red', subnet: '192.168.71.0/24' }], [
      { host: 'h1', name: 'a1', tenant: 'acme', net: 'red' },
      { host: 'h2', name: 'a2', tenant: 'acme', net: 'red' },
    ]);
  });
  after(() => lab.destroy());

  it('agents fail over to the survivor and lose no watch event', async (ctx) => {
    const both = lab.api();
    const early = await createAttached(both, 'acme', 'red', 'early1', 'h1');
    assert.deepEqual(await viewsMatchStore(lab, both, 'acme', 'red', HOSTS), [], 'before the kill, every host realizes the store');
    both.close();

    const pid = await lab.kill('controller c1');
    ctx.diagnostic(`killed controller c1 (pid ${pid})`);
    const survivor = lab.api(60_000, 'c2');
    try {
      const made: Endpoint[] = [];
      for (let i = 0; i < 6; i++) made.push(await createAttached(survivor, 'acme', 'red', `after${i}`, HOSTS[i % 2]!));
      await survivor.deleteEndpoint(early.id);
      const storeRevision = (await survivor.health()).revision;

      assert.deepEqual(await viewsMatchStore(lab, survivor, 'acme', 'red', HOSTS), [], 'every host realizes every write made after the kill (attaches on both hosts, a removal)');
      for (const h of HOSTS) {
        const agent = lab.agent(h);
        const applied = await waitFor(async () => ((await agent.health()).revision >= storeRevision ? true : undefined), 60_000, `${h} to apply revision ${storeRevision}`, 250).catch(() => false);
        agent.close();
        assert.ok(applied, `${h}'s agent applied the store's revision ${storeRevision}`);
      }
      const notUp = await waitFor(async () => {
        const eps = await survivor.listEndpoints({ tenant: 'acme', network: 'red' });
        const missing = made.filter((m) => eps.find((e) => e.id === m.id)?.status !== 'up').map((m) => m.id);
        return missing.length === 0 ? missing : undefined;
      }, 60_000, 'the new endpoints to be up', 250).catch(async () => (await survivor.listEndpoints({ tenant: 'acme', network: 'red' })).filter((e) => e.status !== 'up').map((e) => `${e.id}:${e.status}`));
      assert.deepEqual(notUp, [], 'the agents report through the survivor: every new endpoint is up');
      assert.ok(await lab.ping('a1', lab.container('a2').ip), 'a1 (h1) reaches a2 (h2) after the failover');
      const { processes } = await lab.refresh();
      assert.equal(processes.find((p) => p.name === 'controller c1')?.alive, false, 'lab ls shows c1 dead');
    } finally {
      survivor.close();
    }
  });
});
