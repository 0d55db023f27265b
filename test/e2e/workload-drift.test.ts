/**
 * Issue #5: the workload side of a port is read back. Inside workloads on the real kernel,
 * behind the agent's back: `ip addr flush dev eth0`, `ip route del default`, `ip link set
 * eth0 down`; after an agent restart the address, route and link are back, ping works again
 * and the status is up. The extra processes of a full reconcile are counted (ADR 002).
 * And ADR 008 on the real kernel: a namespace path (a bind mount) re-pointed to a stranger's
 * namespace while the agent was down is never entered; the endpoint goes, its address is free.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { silentLogger } from '../../src/base/logger.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { ExecRunner } from '../../src/datapath/runner.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { assertIsolated } from '../../src/datapath/testing/reach.js';
import { InProcessCluster } from '../support/cluster.js';

const c = new InProcessCluster();
const DRIFTS: Record<string, string[]> = {
  d1: ['ip', 'addr', 'flush', 'dev', 'eth0'],
  d3: ['ip', 'route', 'del', 'default'],
  d4: ['ip', 'link', 'set', 'eth0', 'down'],
};

const defaultRoute = async (w: string) => (await c.underlay.exec(c.underlay.workloadNs(w), ['ip', 'route', 'show', 'default'])).trim();

describe('workload drift is repaired by a restarted agent', { skip: kernelSkip('workload drift on the kernel') }, () => {
  before(async () => {
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('acme');
    await c.controller.createNetwork('acme', { name: 'red', subnet: '192.168.10.0/24' });
  });
  after(() => c.destroy());

  it('restores address, default route and link state; ping works and the status is up', async (t) => {
    const target = await c.agent('h2').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('d2') });
    const ids: Record<string, string> = {};
    for (const w of ['d1', 'd3', 'd4', 'd5']) ids[w] = (await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload(w) })).id;
    for (const w of ['d1', 'd3', 'd4']) assert.ok(await waitFor(async () => (await c.underlay.ping(w, target.ip)) || undefined, 5000, `${w} -> d2 before the drift`));
    const route = await defaultRoute('d3');
    assert.match(route, /^default via 192\.168\.10\.1 dev eth0/);

    await c.stopAgent('h1');
    for (const [w, argv] of Object.entries(DRIFTS)) await c.underlay.exec(c.underlay.workloadNs(w), argv);
    const ping = (from: string, to: string) => c.underlay.ping(from, to);
    for (const w of ['d1', 'd4']) await assertIsolated(ping, `${w} is cut off by its drift`, { from: w, to: target.ip, control: { from: 'd5' } });
    assert.equal(await defaultRoute('d3'), '');

    const runner = new ExecRunner();
    await c.startAgent('h1', new Datapath(runner, silentLogger, { hostNs: c.underlay.hosts.get('h1')!.ns }));
    await waitFor(() => c.agentObject('h1').reconciles.full >= 1 || undefined, 20_000, 'the first full reconcile');
    const repairSpawns = runner.spawns;
    assert.deepEqual(c.agentObject('h1').reconciles.lastFullChanged, [`${c.underlay.hosts.get('h1')!.ns}-acme`], 'the repair is a change of acme');
    for (const w of ['d1', 'd3', 'd4']) assert.ok(await c.underlay.ping(w, target.ip), `${w} -> d2 after the repair`);
    assert.equal(await defaultRoute('d3'), route);
    for (const w of Object.keys(ids)) assert.equal((await c.controller.getEndpoint(ids[w]!)).status, 'up', `${w} is up`);

    // A clean full reconcile: the tenant's 4 reads + 1 per workload namespace (4 here) + 1 read of
    // the agent's own namespace for stale handoff interfaces (handoff.ts), nothing changed.
    const before = runner.spawns;
    const result = await c.agentObject('h1').reconcileAll();
    assert.deepEqual(result.changed, []);
    t.diagnostic(`spawns: repairing full reconcile ${repairSpawns}, clean full reconcile ${runner.spawns - before} (4 workload namespaces)`);
    assert.equal(runner.spawns - before, 4 + 4 + 1);
  });

  it('a bind-mounted namespace path re-pointed to a stranger: the stranger is untouched, the endpoint gone, its address free', async () => {
    const path = `/run/${c.underlay.hosts.get('h1')!.ns}-bind`;
    const sh = (argv: string[]) => c.underlay.runner.run(argv);
    await sh(['touch', path]);
    try {
      await sh(['mount', '--bind', await c.underlay.workload('r1'), path]);
      const e = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: path });
      assert.ok(await waitFor(async () => (await c.underlay.ping('r1', '192.168.10.1')) || undefined, 5000, 'positive control: the attach works (r1 -> its gateway)'));
      await c.stopAgent('h1');
      const stranger = c.underlay.workloadNs('s1');
      await c.underlay.workload('s1');
      await sh(['umount', path]);
      await sh(['mount', '--bind', `/run/netns/${stranger}`, path]);
      const strangerBefore = (await sh(['ip', '-n', stranger, '-j', 'addr', 'show'])).stdout;
      await c.startAgent('h1');
      await waitFor(async () => ((await c.controller.listEndpoints()).some((x) => x.id === e.id) ? undefined : true), 20_000, 'the endpoint to be removed');
      assert.equal((await sh(['ip', '-n', stranger, '-j', 'addr', 'show'])).stdout, strangerBefore, "the stranger's links and addresses are untouched");
      assert.equal((await sh(['ip', '-n', stranger, 'route', 'show'])).stdout.trim(), '', 'no route was added');
      const again = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('r2'), ip: e.ip });
      assert.equal(again.ip, e.ip, 'the address was released');
      await c.agent('h1').remove(again.id);
    } finally {
      await c.underlay.runner.run(['umount', path], { allowFail: true });
      await c.underlay.runner.run(['rm', '-f', path], { allowFail: true });
    }
  });
});
