/**
 * Handoff ports on the real kernel (ADR 005, "Handoff, realized"): Tenet makes the pair with
 * its host side in the (simulated) host's namespace, then the test does what Docker does at
 * Join (move the interface into the sandbox, rename it eth0, give it the endpoint's address,
 * set it up, default route via the gateway). The sandbox then talks to its network on this
 * host and across hosts, is pinned like any port, survives an agent restart untouched, and
 * loses its interface when the endpoint is removed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../base/logger.js';
import type { Endpoint } from '../model/types.js';
import { Datapath } from './datapath.js';
import { buildPlan } from './plan.js';
import { kernelSkip } from './testing/kernel-env.js';
import { ep, handedOff, host, net } from './testing/objects.js';
import { assertBlocked } from './testing/reach.js';
import { TestUnderlay } from './testing/underlay.js';

const u = new TestUnderlay();
const red = net('acme', 'red', '192.168.10.0/24', 4101);
let endpoints: Endpoint[] = [];
const hf = handedOff(ep('hf', red, 'h1', '192.168.10.5', ''));
const hostIfname = hf.attachment?.kind === 'handoff' ? hf.attachment.hostIfname : '';

/** Every host converged, each by a fresh Datapath (an agent restart); returns what changed. */
async function setAll(): Promise<string[]> {
  const hosts = [...u.hosts].map(([name, h]) => host(name, h.vtep));
  const changed: string[] = [];
  for (const [name, h] of u.hosts) {
    const plan = buildPlan({ host: name, vtep: h.vtep, underlayMtu: 1500, underlay: 'default', nsPrefix: `${h.ns}-`, networks: [red], endpoints, hosts });
    const result = await new Datapath(u.runner, silentLogger, { hostNs: h.ns }).set(plan);
    assert.equal(result.failedPorts.size, 0, [...result.failedPorts.values()].map((e) => e.message).join('; '));
    changed.push(...result.changed);
  }
  return changed;
}

const h1 = () => u.hosts.get('h1')!.ns;
const links = async (ns: string): Promise<{ ifname: string; address: string; mtu: number; flags: string[] }[]> => JSON.parse(await u.exec(ns, ['ip', '-j', 'link', 'show']));

describe('handoff ports on the kernel', { skip: kernelSkip('handoff ports on the kernel') }, () => {
  before(async () => {
    await u.create(['h1', 'h2']);
    await u.workload('sandbox'); // the runtime's namespace: Tenet is never told about it
    endpoints = [ep('c1', red, 'h1', '192.168.10.2', await u.workload('c1')), ep('c2', red, 'h2', '192.168.10.3', await u.workload('c2')), hf];
    await setAll();
  });
  after(() => u.destroy());

  it("makes the host side in the host's namespace with the endpoint's MAC and the MTU, down", async () => {
    const side = (await links(h1())).find((l) => l.ifname === hostIfname);
    assert.ok(side, `${hostIfname} is in ${h1()}`);
    assert.deepEqual([side.address, side.mtu, side.flags.includes('UP')], [hf.mac, 1450, false]);
  });

  it('the sandbox works once the runtime moved and configured it as Docker does', async () => {
    const sb = u.workloadNs('sandbox');
    await u.runner.run(['ip', '-n', h1(), 'link', 'set', hostIfname, 'netns', sb]);
    await u.runner.run(['ip', '-n', sb, '-batch', '-'], {
      input: `link set ${hostIfname} name eth0\naddr add 192.168.10.5/24 dev eth0\nlink set eth0 up\nroute add default via 192.168.10.1\n`,
    });
    assert.ok(await u.ping('sandbox', '192.168.10.2'), 'sandbox -> c1 on the same host');
    assert.ok(await u.ping('sandbox', '192.168.10.3'), 'sandbox -> c2 across hosts');
    assert.ok(await u.ping('c2', '192.168.10.5'), 'c2 -> sandbox');
  });

  it('pins the handoff port: a spoofed source from the sandbox is dropped', async () => {
    const sb = u.workloadNs('sandbox');
    await u.exec(sb, ['ip', 'addr', 'add', '192.168.10.78/24', 'dev', 'eth0']);
    try {
      await assertBlocked("sandbox -> c1 from an address that is not the endpoint's", {
        blocked: async () => (await u.runner.run(['ip', 'netns', 'exec', sb, 'ping', '-c', '1', '-W', '1', '-I', '192.168.10.78', '192.168.10.2'], { allowFail: true })).code === 0,
        control: () => u.ping('sandbox', '192.168.10.2'), // its own address, same port, same moment
      });
    } finally {
      await u.exec(sb, ['ip', 'addr', 'del', '192.168.10.78/24', 'dev', 'eth0']);
    }
  });

  it('an agent restart changes nothing: the moved interface is not made again', async () => {
    assert.deepEqual(await setAll(), []);
    assert.equal((await links(h1())).some((l) => l.ifname === hostIfname), false, `no new ${hostIfname} in the host namespace`);
    assert.ok(await u.ping('sandbox', '192.168.10.3'), 'the sandbox still works');
  });

  it("removing the endpoint deletes the pair, the sandbox's eth0 with it", async () => {
    endpoints = endpoints.filter((e) => e.id !== 'hf');
    await setAll();
    assert.equal((await links(u.workloadNs('sandbox'))).some((l) => l.ifname === 'eth0'), false, 'eth0 is gone from the sandbox');
    assert.ok(await u.ping('c2', '192.168.10.2'), 'c2 -> c1 still works (positive control)');
    assert.deepEqual(await setAll(), []);
  });
});
