/**
 * br_netfilter per bridge through the whole stack (docs/adr/013 addendum): the compiler says
 * which networks a rule acts on while their traffic is bridged, the agents switch exactly
 * those bridges, and the rules still hold there, statefully, across hosts. A network no rule
 * acts on keeps the plain bridge path even while its tenant has policies. Each negative check
 * stands next to its positive control.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { bridgeName } from '../../src/datapath/names.js';
import { assertIsolated } from '../../src/datapath/testing/reach.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { InProcessCluster } from '../support/cluster.js';

const c = new InProcessCluster();
const ping = (from: string, to: string) => c.underlay.ping(from, to);
const reachable = (from: string, to: string, what: string) => waitFor(async () => (await ping(from, to)) || undefined, 8000, what);
const NETS = ['red', 'green', 'blue'] as const;
const bridges = new Map<string, string>();

/** "red green blue" → which of them have br_netfilter on, per host: e.g. "h1: blue | h2: blue". */
async function tracked(): Promise<string> {
  const out: string[] = [];
  for (const host of ['h1', 'h2']) {
    const ns = `${c.underlay.hosts.get(host)!.ns}-acme`;
    const links = JSON.parse(await c.underlay.exec(ns, ['ip', '-j', '-d', 'link', 'show', 'type', 'bridge'])) as { ifname: string; linkinfo: { info_data: { nf_call_iptables: number } } }[];
    const on = NETS.filter((n) => links.find((l) => l.ifname === bridges.get(n))?.linkinfo.info_data.nf_call_iptables === 1);
    const sysctl = (await c.underlay.exec(ns, ['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables'])).trim();
    out.push(`${host}: ${on.join(' ') || '-'}${sysctl === '0' ? '' : ' (namespace-wide ON)'}`);
  }
  return out.join(' | ');
}

/** What the API (`tenet net show`) says of each network's bridged traffic, in the same words. */
async function says(): Promise<string> {
  const out: string[] = [];
  for (const n of NETS) {
    const b = await c.controller.getBridgedTraffic('acme', n);
    if (b.conntrack) out.push(`${n} (${b.policies.join(', ')})`);
  }
  return out.join(' ');
}

const trackedBecomes = (want: string) => waitFor(async () => ((await tracked()) === want ? true : undefined), 8000, `br_netfilter on ${want}`).catch(async (err: Error) => {
  throw new Error(`${err.message}; the kernel has ${await tracked()}`);
});

describe('policy: br_netfilter only on the bridges a rule acts on', { skip: kernelSkip('policy bridges', ['ip', 'nft', 'ping', 'sysctl']) }, () => {
  const ip: Record<string, string> = {};
  before(async () => {
    await c.start(['h1', 'h2']);
    await c.controller.createTenant('acme');
    for (const [i, name] of NETS.entries()) {
      const net = await c.controller.createNetwork('acme', { name, subnet: `192.168.${10 * (i + 1)}.0/24` });
      bridges.set(name, bridgeName(net.vni));
    }
    for (const name of NETS) {
      for (const host of ['h1', 'h2']) {
        const w = `${name[0]}${host[1]}`;
        ip[w] = (await c.agent(host).attach({ tenant: 'acme', network: name, netns: await c.underlay.workload(w) })).ip;
      }
    }
  });
  after(() => c.destroy());

  it('no policy: no bridge, and never the namespace', async () => {
    await trackedBecomes('h1: - | h2: -');
    await reachable('r1', ip.r2!, 'red across hosts');
  });

  it('a rule inside blue switches blue only, and holds there across hosts', async () => {
    await c.controller.createPolicy('acme', { name: 'fence', rules: ['deny icmp from net:blue to net:blue'] });
    await c.controller.updateNetwork('acme', 'blue', { policies: ['fence'] });
    await trackedBecomes('h1: blue | h2: blue');
    assert.deepEqual(await says(), 'blue (fence)', '`tenet net show` says what the hosts do');
    await assertIsolated(ping, 'blue b1 -> b2 (denied inside blue)', { from: 'b1', to: ip.b2!, control: { from: 'r1', to: ip.r2! } });
    assert.equal(await ping('g1', ip.g2!), true, 'green, untouched, still talks across hosts');
  });

  it('an allow between red and green switches both, and the reply passes across hosts', async () => {
    await c.controller.createPolicy('acme', { name: 'link', rules: ['allow icmp from net:red to net:green'] });
    await c.controller.updateNetwork('acme', 'red', { policies: ['link'] });
    await trackedBecomes('h1: red green blue | h2: red green blue');
    assert.deepEqual(await says(), 'red (link) green (link) blue (fence)');
    // Routed on h1, bridged into green on h2, whose reply (routed there) must find the flow tracked.
    await reachable('r1', ip.g2!, 'red r1 -> green g2 (allowed) and its reply');
    await assertIsolated(ping, 'green g2 -> red r1 (no rule allows it)', { from: 'g2', to: ip.r1!, control: { from: 'r1', to: ip.g2! } });
  });

  it('detaching switches the bridges back off', async () => {
    for (const name of NETS) await c.controller.updateNetwork('acme', name, { policies: [] });
    await trackedBecomes('h1: - | h2: -');
    await reachable('b1', ip.b2!, 'blue across hosts again');
  });
});
