/**
 * Controller + agents on the real kernel, in one process: attach through the agent API,
 * watch-driven convergence on the other host, isolation, detach, bad input, and an agent
 * restart under a running ping that must not lose a packet.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import type { TenetError } from '../../src/model/errors.js';
import { InProcessCluster } from '../support/cluster.js';
import { assertIsolated } from '../../src/datapath/testing/reach.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';

const c = new InProcessCluster();
const ping = (from: string, to: string) => c.underlay.ping(from, to);

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: TenetError) => {
    assert.equal(err.code, code, err.message);
    assert.doesNotMatch(err.message, /\n|at .*\.js/, 'one line, no stack');
    return true;
  });
}

describe('agents and controller on the kernel', { skip: kernelSkip('agents on the kernel') }, () => {
  before(async () => {
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('acme');
    await c.controller.createNetwork('acme', { name: 'red', subnet: '192.168.10.0/24' });
    await c.controller.createNetwork('acme', { name: 'green', subnet: '192.168.20.0/24' });
  });
  after(() => c.destroy());

  it('attaches on two hosts and connects them over VXLAN', async () => {
    const e1 = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('c1') });
    assert.equal(e1.status, 'up');
    assert.equal(e1.ip, '192.168.10.2');
    assert.equal(e1.mtu, 1450);
    const e2 = await c.agent('h2').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('c2') });
    await c.agent('h2').attach({ tenant: 'acme', network: 'green', netns: await c.underlay.workload('c3') });
    await c.agent('h1').attach({ tenant: 'acme', network: 'green', netns: await c.underlay.workload('c6') }); // green's control on h1
    assert.ok(await waitFor(async () => (await c.underlay.ping('c1', e2.ip)) || undefined, 5000, 'c1 -> c2'));
    const realized = await waitFor(async () => {
      const r = await c.controller.endpointRealization(e2.id);
      return r.realized ? r : undefined;
    }, 5000, 'both hosts to report the endpoint realized');
    assert.deepEqual(realized.hosts.map((h) => h.host).sort(), ['h1', 'h2']);
    await assertIsolated(ping, 'red c1 -> green c3', { from: 'c1', to: '192.168.20.2', control: { from: 'c6' } });
  });

  it('rejects bad attaches with one clear line and changes nothing', async () => {
    const before = (await c.controller.listEndpoints()).length;
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: '/run/netns/no-such-ns' }), 'NETNS_NOT_FOUND');
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'blue', netns: await c.underlay.workload('x1') }), 'NETWORK_NOT_FOUND');
    await rejects(c.agent('h1').attach({ tenant: 'nope', network: 'red', netns: await c.underlay.workload('x2') }), 'TENANT_NOT_FOUND');
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('x3'), ip: '192.168.10.2' }), 'IP_IN_USE');
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('x4'), ip: '10.0.0.5' }), 'IP_OUTSIDE_SUBNET');
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red' }), 'BAD_REQUEST');
    await c.underlay.exec(c.underlay.workloadNs('x1'), ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: `/run/netns/${c.underlay.workloadNs('x1')}` }), 'IFNAME_IN_USE');
    assert.equal((await c.controller.listEndpoints()).length, before, 'no endpoint left behind');
  });

  it('keeps every packet flowing while an agent restarts', async () => {
    const pinger = c.underlay.runner.run(['ip', 'netns', 'exec', c.underlay.workloadNs('c1'), 'ping', '-q', '-i', '0.05', '-c', '60', '-W', '1', '192.168.10.3'], { allowFail: true });
    await new Promise((r) => setTimeout(r, 500));
    await c.stopAgent('h1');
    await c.stopAgent('h2');
    await new Promise((r) => setTimeout(r, 300));
    await c.startAgent('h1');
    await c.startAgent('h2');
    const out = (await pinger).stdout;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    assert.ok(m, out);
    assert.equal(m[2], m[1], `lost packets across the restart: ${out}`);
  });

  it('attaches the namespace of a process given by --pid', async () => {
    await c.underlay.workload('p1');
    const proc = spawn('ip', ['netns', 'exec', c.underlay.workloadNs('p1'), 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => proc.once('spawn', r));
      const e = await c.agent('h1').attach({ tenant: 'acme', network: 'red', pid: proc.pid! });
      assert.equal(e.netns, `/proc/${proc.pid}/ns/net`);
      assert.ok(await c.underlay.ping('c2', e.ip), 'reachable from the other host');
      await c.agent('h1').detach(e.id);
    } finally {
      proc.kill();
    }
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', pid: 999_999_999 }), 'NETNS_NOT_FOUND');
  });

  it('detaches: the address stops answering and is released', async () => {
    const e = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('c9') });
    assert.ok(await c.underlay.ping('c1', e.ip));
    await c.agent('h1').detach(e.id);
    await assertIsolated(ping, 'c1 -> the detached endpoint', { from: 'c1', to: e.ip, control: { from: 'c1', to: '192.168.10.3' } });
    const again = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('c10'), ip: e.ip });
    assert.equal(again.ip, e.ip, 'the address was released and can be taken again');
  });
});
