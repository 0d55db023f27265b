/**
 * Controller + agents on the real kernel, in one process: attach through the agent API,
 * watch-driven convergence on the other host, isolation, detach, bad input, and an agent
 * restart under a running ping that must not lose a packet: the restarted agents' first
 * full reconcile must run while the ping runs and change nothing (a datapath that flushes
 * on start fails that check, and a test shows it does).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sleep, waitFor } from '../../src/base/async.js';
import type { Datapath } from '../../src/datapath/datapath.js';
import type { TenetError } from '../../src/model/errors.js';
import { InProcessCluster } from '../support/cluster.js';
import { FlushingDatapath } from '../support/flushing-datapath.js';
import { assertIsolated } from '../../src/datapath/testing/reach.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';

const c = new InProcessCluster();
const ping = (from: string, to: string) => c.underlay.ping(from, to);

interface RestartRun {
  transmitted: number;
  received: number;
  /** Was the ping still running when every restarted agent had finished its first full reconcile? */
  reconciledWhilePinging: boolean;
  /** Host → what the restarted agent's first full reconcile changed. */
  changed: Record<string, string[]>;
  out: string;
}

/**
 * Pings c1 -> c2 across hosts while both agents stop and start again (with `datapaths` as
 * stand-ins for the real one), and waits for each new agent's first full reconcile.
 */
async function restartUnderPing(datapaths: Record<string, Datapath> = {}): Promise<RestartRun> {
  const argv = ['ip', 'netns', 'exec', c.underlay.workloadNs('c1'), 'ping', '-q', '-i', '0.05', '-c', '120', '-W', '1', '192.168.10.3'];
  let pinging = true;
  const pinger = c.underlay.runner.run(argv, { allowFail: true }).finally(() => (pinging = false));
  await sleep(500);
  await c.stopAgent('h1');
  await c.stopAgent('h2');
  await sleep(300);
  await c.startAgent('h1', datapaths.h1);
  await c.startAgent('h2', datapaths.h2);
  const hosts = ['h1', 'h2'];
  await waitFor(() => hosts.every((h) => c.agentObject(h).reconciles.full >= 1) || undefined, 20_000, 'the first full reconcile of both agents');
  const reconciledWhilePinging = pinging;
  const changed = Object.fromEntries(hosts.map((h) => [h, c.agentObject(h).reconciles.lastFullChanged]));
  const out = (await pinger).stdout;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  assert.ok(m, out);
  return { transmitted: Number(m[1]), received: Number(m[2]), reconciledWhilePinging, changed, out };
}

/** What a restart must be: reconciled under traffic, nothing changed, nothing lost. */
function assertQuietRestart(r: RestartRun): void {
  assert.ok(r.reconciledWhilePinging, 'the first full reconcile must finish while the ping runs, or the ping proves nothing');
  assert.deepEqual(r.changed, { h1: [], h2: [] }, 'the first full reconcile after a restart changed the kernel');
  assert.equal(r.received, r.transmitted, `lost packets across the restart: ${r.out}`);
}

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
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: '/run/netns/x', pid: 1 }), 'BAD_REQUEST');
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: 5 as unknown as string }), 'BAD_REQUEST');
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: '/run/netns/a\nlink del eth0' }), 'BAD_REQUEST');
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('x5'), labels: { 'bad key': 'v' } }), 'INVALID_LABEL');
    await c.underlay.exec(c.underlay.workloadNs('x1'), ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: `/run/netns/${c.underlay.workloadNs('x1')}` }), 'IFNAME_IN_USE');
    assert.equal((await c.controller.listEndpoints()).length, before, 'no endpoint left behind');
  });

  it('keeps every packet flowing while both agents restart; their first full reconcile changes nothing', async () => {
    assertQuietRestart(await restartUnderPing());
  });

  it('attaches the namespace of a process given by --pid', async () => {
    await c.underlay.workload('p1');
    const proc = spawn('ip', ['netns', 'exec', c.underlay.workloadNs('p1'), 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => proc.once('spawn', r));
      // `ip netns exec` enters the namespace after it is spawned: attach only once it has.
      const target = statSync(`/run/netns/${c.underlay.workloadNs('p1')}`).ino;
      await waitFor(() => statSync(`/proc/${proc.pid}/ns/net`).ino === target || undefined, 5000, 'the process to enter p1');
      const e = await c.agent('h1').attach({ tenant: 'acme', network: 'red', pid: proc.pid! });
      assert.equal(e.attachment?.kind === 'netns' && e.attachment.netns, `/proc/${proc.pid}/ns/net`);
      // h2 learns the endpoint from its watch: a probe may go out before it has.
      assert.ok(await waitFor(async () => (await c.underlay.ping('c2', e.ip)) || undefined, 5000, 'reachable from the other host'));
      await c.agent('h1').remove(e.id);
    } finally {
      proc.kill();
    }
    await rejects(c.agent('h1').attach({ tenant: 'acme', network: 'red', pid: 999_999_999 }), 'NETNS_NOT_FOUND');
  });

  it('detaches keeping the endpoint, attaches it elsewhere, removes it: the address follows', async () => {
    const e = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('c9'), name: 'c9', labels: { app: 'web' } });
    assert.ok(await c.underlay.ping('c1', e.ip));
    const detached = await c.agent('h1').detach(e.id);
    assert.deepEqual([detached.status, detached.ip, detached.name, detached.attachment], ['detached', e.ip, 'c9', undefined]);
    await assertIsolated(ping, 'c1 -> the detached endpoint', { from: 'c1', to: e.ip, control: { from: 'c1', to: '192.168.10.3' } });
    const moved = await c.agent('h1').attachExisting(e.id, { netns: await c.underlay.workload('c10') });
    assert.deepEqual([moved.id, moved.ip, moved.status], [e.id, e.ip, 'up']);
    assert.ok(await c.underlay.ping('c1', e.ip), 'the same address answers from the new namespace');
    await c.agent('h1').remove(e.id);
    await assertIsolated(ping, 'c1 -> the removed endpoint', { from: 'c1', to: e.ip, control: { from: 'c1', to: '192.168.10.3' } });
    const again = await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('c11'), ip: e.ip, name: 'c9' });
    assert.deepEqual([again.ip, again.name], [e.ip, 'c9'], 'the address and the name were released and can be taken again');
    await c.agent('h1').remove(again.id);
  });

  // Mutation check: a datapath that flushes on start (the first sketch's) must fail the
  // no-loss test above. It is run last: it disturbs c1's traffic on purpose.
  it('would catch a datapath that flushes on start', async () => {
    const r = await restartUnderPing({ h1: new FlushingDatapath(c.underlay.runner, c.underlay.hosts.get('h1')!.ns) });
    assert.notDeepEqual(r.changed.h1, [], 'the flushing datapath rebuilt h1');
    assert.throws(() => assertQuietRestart(r), /changed|lost/);
  });
});
