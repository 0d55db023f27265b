/**
 * Issue 7's OpenContrail walkthrough through the whole stack, on the real kernel: the
 * controller, two agents, the compiler wired into each agent's plan (src/agent/policy.ts).
 * Red and green cannot talk; a pass-all policy on both connects them; a policy that allows
 * one port lets only that port through, and `policy check` says the same as the kernel;
 * detaching every policy isolates them again. Every negative check has its positive control.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { assertIsolated } from '../../src/datapath/testing/reach.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { InProcessCluster } from '../support/cluster.js';

const c = new InProcessCluster();
const ping = (from: string, to: string) => c.underlay.ping(from, to);
const reachable = (from: string, to: string, what: string) => waitFor(async () => (await ping(from, to)) || undefined, 8000, what);
/** Waits until every host carrying the tenant reports the policy realized. */
const realized = (name: string) => waitFor(async () => ((await c.controller.getPolicy('acme', name)).realization.realized ? true : undefined), 8000, `policy ${name} realized`);

describe('policy: the OpenContrail walkthrough on two hosts', { skip: kernelSkip('policy walkthrough', ['ip', 'nft', 'ping']) }, () => {
  let red1 = '';
  let green2 = '';
  before(async () => {
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('acme');
    await c.controller.createNetwork('acme', { name: 'red', subnet: '192.168.10.0/24' });
    await c.controller.createNetwork('acme', { name: 'green', subnet: '192.168.20.0/24' });
    red1 = (await c.agent('h1').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('r1') })).ip;
    await c.agent('h2').attach({ tenant: 'acme', network: 'red', netns: await c.underlay.workload('r2') });
    green2 = (await c.agent('h2').attach({ tenant: 'acme', network: 'green', netns: await c.underlay.workload('g2') })).ip;
  });
  after(() => c.destroy());

  it('red and green are isolated until a pass-all policy is attached to both', async () => {
    await reachable('r2', red1, 'r2 -> r1 inside red, across hosts');
    await assertIsolated(ping, 'red r1 -> green g2', { from: 'r1', to: green2, control: { from: 'r2', to: red1 } });
    await c.controller.createPolicy('acme', { name: 'policy-default', rules: ['allow any from any to any'] });
    await c.controller.updateNetwork('acme', 'red', { policies: ['policy-default'] });
    await c.controller.updateNetwork('acme', 'green', { policies: ['policy-default'] });
    await realized('policy-default');
    await reachable('r1', green2, 'red r1 -> green g2 once the policy is attached');
    await reachable('g2', red1, 'and the way back');
  });

  it('a port rule lets only that port through, as policy check says', async () => {
    await c.controller.createPolicy('acme', { name: 'web', rules: ['allow tcp from net:red to net:green port 80'] });
    await c.controller.updateNetwork('acme', 'red', { policies: ['web'] });
    await c.controller.updateNetwork('acme', 'green', { policies: ['web'] });
    await realized('web');
    const icmp = await c.controller.checkPolicy('acme', { from: (await c.controller.listEndpoints({ network: 'red', host: 'h1' }))[0]!.id, to: green2, proto: 'icmp' });
    assert.equal(icmp.verdict, 'deny', 'no rule allows icmp between the networks');
    await assertIsolated(ping, 'red r1 -> green g2 by icmp', { from: 'r1', to: green2, control: { from: 'r2', to: red1 } });
  });

  it("detaching every policy isolates the networks again (their own traffic keeps flowing)", async () => {
    await c.controller.updateNetwork('acme', 'red', { policies: [] });
    await c.controller.updateNetwork('acme', 'green', { policies: [] });
    await waitFor(async () => ((await ping('r1', green2)) ? undefined : true), 8000, 'red -> green to stop');
    await reachable('r1', '192.168.10.3', 'red r1 -> red r2 still flows');
  });
});
