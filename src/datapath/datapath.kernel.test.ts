/**
 * The datapath on the real kernel: two simulated hosts on an underlay, tenants, networks and
 * workloads, driven through Datapath.set() exactly as the agent drives it. Asserts what a
 * user checks: the ping over the right path works, over the wrong path it does not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../base/logger.js';
import type { Endpoint, Network } from '../model/types.js';
import { Datapath } from './datapath.js';
import { buildPlan } from './plan.js';
import { TestUnderlay } from './testing/underlay.js';
import { ep, host, net } from './testing/objects.js';
import { assertBlocked, assertIsolated } from './testing/reach.js';
import { kernelSkip } from './testing/kernel-env.js';

const u = new TestUnderlay();
const red = net('acme', 'red', '192.168.10.0/24', 4101);
const green = net('acme', 'green', '192.168.20.0/24', 4102);
const blue = net('other', 'blue', '192.168.10.0/24', 4103); // same subnet as red, other tenant
let endpoints: Endpoint[] = [];
const networks: Network[] = [red, green, blue];

async function setAll(): Promise<string[]> {
  const hosts = [...u.hosts].map(([name, h]) => host(name, h.vtep));
  const changed: string[] = [];
  for (const [name, h] of u.hosts) {
    const dp = new Datapath(u.runner, silentLogger, { hostNs: h.ns });
    const plan = buildPlan({ host: name, vtep: h.vtep, underlayMtu: 1500, underlay: 'default', nsPrefix: `${h.ns}-`, networks, endpoints, hosts });
    const result = await dp.set(plan);
    assert.equal(result.failedPorts.size, 0, [...result.failedPorts.values()].map((e) => e.message).join('; '));
    changed.push(...result.changed);
  }
  return changed;
}

describe('datapath on the kernel', { skip: kernelSkip('datapath on the kernel') }, () => {
  before(async () => {
    await u.create(['h1', 'h2']);
    const w = async (name: string) => u.workload(name);
    endpoints = [
      ep('c1', red, 'h1', '192.168.10.2', await w('c1')),
      ep('c2', red, 'h2', '192.168.10.3', await w('c2')),
      ep('c4', red, 'h1', '192.168.10.4', await w('c4')),
      ep('c3', green, 'h2', '192.168.20.2', await w('c3')),
      ep('c5', green, 'h1', '192.168.20.3', await w('c5')), // green's positive control on h1
      ep('d1', blue, 'h1', '192.168.10.2', await w('d1')),
      ep('d2', blue, 'h2', '192.168.10.3', await w('d2')),
      ep('d9', blue, 'h2', '192.168.10.9', await w('d9')),
    ];
    await setAll();
  });
  after(() => u.destroy());

  it('connects a network across hosts and on one host', async () => {
    assert.ok(await u.ping('c1', '192.168.10.3'), 'c1 -> c2 across hosts');
    assert.ok(await u.ping('c2', '192.168.10.2'), 'c2 -> c1 across hosts');
    assert.ok(await u.ping('c1', '192.168.10.4'), 'c1 -> c4 on the same host');
    assert.ok(await u.ping('c1', '192.168.10.1'), 'c1 -> its anycast gateway');
  });

  it('isolates networks of one tenant', async () => {
    const ping = (from: string, to: string) => u.ping(from, to);
    await assertIsolated(ping, 'red c1 -> green c3', { from: 'c1', to: '192.168.20.2', control: { from: 'c5' } });
    await assertIsolated(ping, 'green c3 -> red c1', { from: 'c3', to: '192.168.10.2', control: { from: 'c2' } });
    await assertIsolated(ping, "red c1 -> green's gateway", { from: 'c1', to: '192.168.20.1', control: { from: 'c5' } });
  });

  it('keeps tenants with the same subnet apart, each pair working', async () => {
    assert.ok(await u.ping('d1', '192.168.10.3'), 'other/d1 -> other/d2');
    assert.ok(await u.ping('c1', '192.168.10.3'), 'acme/c1 -> acme/c2');
    await assertIsolated((f, t) => u.ping(f, t), 'acme/c1 -> other/d9', { from: 'c1', to: '192.168.10.9', control: { from: 'd1' } });
  });

  it("pins each port to its endpoint's MAC and address: no spoofing inside a network", async () => {
    const c1 = u.workloadNs('c1');
    await u.exec(c1, ['ip', 'addr', 'add', '192.168.10.77/24', 'dev', 'eth0']);
    try {
      await assertBlocked("c1 -> c4 from an address that is not c1's", {
        blocked: async () => (await u.runner.run(['ip', 'netns', 'exec', c1, 'ping', '-c', '1', '-W', '1', '-I', '192.168.10.77', '192.168.10.4'], { allowFail: true })).code === 0,
        control: () => u.ping('c1', '192.168.10.4'), // c1's own address, same port, same moment
      });
    } finally {
      await u.exec(c1, ['ip', 'addr', 'del', '192.168.10.77/24', 'dev', 'eth0']);
    }
  });

  it('gives workloads the underlay MTU minus 50 and the gateway as default route', async () => {
    const link = await u.exec(u.workloadNs('c1'), ['ip', '-j', 'link', 'show', 'eth0']);
    assert.equal(JSON.parse(link)[0].mtu, 1450);
    const route = await u.exec(u.workloadNs('c1'), ['ip', '-j', 'route', 'show', 'default']);
    assert.equal(JSON.parse(route)[0].gateway, '192.168.10.1');
  });

  it('changes nothing when the plan is applied again', async () => {
    assert.deepEqual(await setAll(), []);
  });

  it('removes a detached endpoint, and a tenant namespace with its last endpoint', async () => {
    endpoints = endpoints.filter((e) => e.id !== 'c4' && e.tenant !== 'other');
    await setAll();
    await assertIsolated((f, t) => u.ping(f, t), 'c1 -> detached c4', { from: 'c1', to: '192.168.10.4', control: { from: 'c1', to: '192.168.10.3' } });
    const names = await u.runner.run(['ip', 'netns', 'list']);
    assert.doesNotMatch(names.stdout, new RegExp(`${u.prefix}-h1-other`));
    assert.deepEqual(await setAll(), []);
  });
  it('reads a tenant back and retries when the kernel is not as last converged (a workload namespace vanished)', async () => {
    const [name, h] = [...u.hosts].find(([n]) => n === 'h1')!;
    const hosts = [...u.hosts].map(([n, x]) => host(n, x.vtep));
    const planOf = (eps: Endpoint[]) => buildPlan({ host: name, vtep: h.vtep, underlayMtu: 1500, underlay: 'default', nsPrefix: `${h.ns}-`, networks, endpoints: eps, hosts });
    const dp = new Datapath(u.runner, silentLogger, { hostNs: h.ns });
    assert.deepEqual((await dp.set(planOf(endpoints))).changed, [], 'converged, and now known to this datapath');
    // Behind Tenet's back: c5's namespace goes, and its veth with it.
    await u.runner.run(['ip', 'netns', 'del', u.workloadNs('c5')]);
    endpoints = endpoints.filter((e) => e.id !== 'c5');
    const result = await dp.set(planOf(endpoints), new Set(['acme']));
    assert.deepEqual([...result.failedNamespaces.keys()], [], 'the known state was wrong, the read-back is not');
    assert.ok(await u.ping('c1', '192.168.10.3'), 'c1 -> c2 still across hosts');
    assert.deepEqual((await dp.set(planOf(endpoints))).changed, [], 'and nothing is left to do');
  });
});
