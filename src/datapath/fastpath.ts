/**
 * The fast path. Reading a tenant namespace back from the kernel costs four processes and
 * grows with every endpoint of the host (docs/benchmarks.md: 26 of 49 ms per attach). But
 * when this Datapath itself converged the tenant to a plan, cleanly, the kernel state is
 * known: it is that plan. knownState() writes it down in the shape observe.ts reads, and the
 * one diff (diff.ts) runs against it, so the fast path can never compute different commands
 * than a read-back would on an untouched kernel. What somebody changed behind our back is
 * repaired by the full read-diff-apply path: at start, on every host change and on the
 * periodic resync (src/agent/agent.ts), and after any failure.
 */
import { ifbName, VXLAN_PORT } from './names.js';
import { rateAlias } from './tc.js';
import { pinElements, rulesetScript } from './nft.js';
import type { TenantPlan } from './plan.js';
import type { FdbEntry, LinkState, NeighEntry, TenantState } from './state.js';

export function knownState(plan: TenantPlan): TenantState {
  const links = new Map<string, LinkState>();
  const fdb: FdbEntry[] = [];
  const neigh: NeighEntry[] = [];
  for (const n of plan.networks) {
    links.set(n.bridge, { name: n.bridge, kind: 'bridge', mtu: n.mtu, mac: n.gatewayMac, up: true, addrs: [n.gatewayCidr], ...(n.tracked ? { tracked: true as const } : {}) });
    links.set(n.vxlan, {
      name: n.vxlan,
      kind: 'vxlan',
      master: n.bridge,
      mtu: n.mtu,
      mac: '',
      up: true,
      addrs: [],
      vxlan: { id: n.vni, local: n.vtep, port: VXLAN_PORT, learning: false, proxy: true },
    });
    for (const r of n.remotes) {
      fdb.push({ mac: r.mac, dev: n.vxlan, kind: 'remote', dst: r.vtep }, { mac: r.mac, dev: n.vxlan, kind: 'bridge' });
      neigh.push({ ip: r.ip, dev: n.vxlan, mac: r.mac });
    }
    for (const vtep of n.floodVteps) fdb.push({ mac: '00:00:00:00:00:00', dev: n.vxlan, kind: 'remote', dst: vtep });
  }
  for (const p of plan.ports) {
    const alias = rateAlias(p.rate);
    const shaped = { ...(p.rate?.ingressBps ? { qdisc: 'tbf' } : {}), ...(alias ? { alias } : {}) };
    links.set(p.port, { name: p.port, kind: 'veth', master: p.bridge, mtu: p.mtu, mac: '', up: true, addrs: [], ...shaped });
    const q = ifbName(p.port);
    if (p.rate?.egressBps) links.set(q, { name: q, kind: 'ifb', mtu: 1500, mac: '', up: true, addrs: [], qdisc: 'tbf', alias });
  }
  return { exists: true, links, fdb, neigh, nftHash: rulesetScript(plan).hash, policy: plan.policy !== undefined, pinned: pinElements(plan) };
}
