/**
 * Diff: the commands that turn a tenant namespace's observed state into its plan. Pure, so
 * the golden tests can feed it plans and states without root. It never flushes: it touches
 * only what differs, and deletes only Tenet-named objects that the plan no longer has.
 *
 * Order inside a tenant: stale objects go first (a deleted network's VNI may come back),
 * then bridges, VXLAN devices, forwarding entries; new ports are separate steps (PortSteps)
 * because a port's workload namespace is the user's and may refuse us. Removing a whole
 * namespace is not a diff: see KernelOps.removeNamespace.
 */
import type { FlowPredicate, NetworkPlan, PortPlan, TenantPlan } from './plan.js';
import { betweenNetworks } from './conntrack.js';
import type { LinkState, TenantState } from './state.js';
import { isOurs, VXLAN_PORT } from './names.js';
import { handoffMtuFix, newHandoffPort } from './handoff.js';
import { workloadSetup } from './port-create.js';
import { elementsScript, pinElements, rulesetScript } from './nft.js';
import { rateSteps, wantedIfbs, type RateSteps } from './tc.js';

export interface TenantSteps {
  ns: string;
  createNs: boolean;
  /** `ip -n ns -batch -`, first: stale links (a deleted network's VNI may come right back). */
  cleanup: string[];
  /** `ip -batch -` in the agent's own namespace: VXLAN devices are born here (underlay socket). */
  host: string[];
  /** `ip -n ns -batch -` */
  tenant: string[];
  /** `bridge -n ns -batch -` */
  bridge: string[];
  /** `nft -f -` inside ns, when the ruleset differs. */
  nft?: string;
  /**
   * `nft` only adds and deletes pinning elements (no ruleset load): it names ports as strings
   * and depends on no link, so it runs alongside the cleanup (a Leave pays one round of
   * processes, not two: docs/benchmarks.md, Docker).
   */
  nftInPlace?: boolean;
  /**
   * br_netfilter per bridge (docs/adr/013): the bridges whose bridged IPv4 stops meeting the
   * inet hooks, switched before the ruleset loads, and those that start to, after it, so
   * bridged traffic never meets a forward chain that was not written for it.
   */
  trackOff: string[];
  trackOn: string[];
  /** The namespace-wide switch of an older Tenet is on: off, once the bridges that need it are on. */
  brnfSysctlOff?: boolean;
  /** The ruleset changed with a policy in it or out of it: cut the established flows this denies (conntrack.ts). */
  recheckFlows?: FlowPredicate;
  /** Ports whose rate limits change (tc.ts), applied after the ports are made. */
  rates: RateSteps[];
  /** Ports to create, each with its own commands (see PortSteps). */
  newPorts: PortSteps[];
  /** Existing ports whose workload end needs a change (an MTU change of the network); for a handoff, its host side (handoff.ts). */
  workloadFixes: { plan: PortPlan; commands: string[] }[];
}

export interface PortSteps {
  plan: PortPlan;
  /**
   * Lines run in the same `ip -batch` process right after the pair is made (port-create.ts):
   * for a netns port, inside its workload namespace, the workload end's state, address and
   * route; none for a handoff (its runtime configures that end).
   */
  workload: string[];
}

export function isNoop(s: TenantSteps): boolean {
  return !s.createNs && !s.cleanup.length && !s.host.length && !s.tenant.length && !s.bridge.length && !touchesRules(s) && !s.newPorts.length && !s.workloadFixes.length && !s.rates.length;
}

/** Whether the steps load rules or switch br_netfilter (what Datapath.loadRules does). */
export function touchesRules(s: TenantSteps): boolean {
  return !!s.nft || s.trackOn.length > 0 || s.trackOff.length > 0 || s.brnfSysctlOff === true;
}

export function diffTenant(ns: string, plan: TenantPlan, state: TenantState): TenantSteps {
  const steps: TenantSteps = { ns, createNs: !state.exists, cleanup: [], host: [], tenant: [], bridge: [], trackOn: [], trackOff: [], newPorts: [], workloadFixes: [], rates: [] };
  const dying = staleLinks(plan, state);
  steps.cleanup.push(...[...dying].map((name) => `link del ${name}`));
  for (const net of plan.networks) {
    steps.tenant.push(...bridgeCommands(net, state.links.get(net.bridge)));
    const vx = vxlanCommands(ns, net, dying.has(net.vxlan) ? undefined : state.links.get(net.vxlan));
    steps.host.push(...vx.host);
    steps.tenant.push(...vx.tenant);
  }
  steps.bridge.push(...fdbCommands(plan, state, dying));
  steps.tenant.push(...neighCommands(plan, state, dying));
  for (const port of plan.ports) {
    const link = state.links.get(port.port);
    if (!link) {
      steps.newPorts.push(port.handoff !== undefined ? newHandoffPort(port) : newPort(port));
      continue;
    }
    steps.tenant.push(...portFixes(port, link));
    if (link.mtu !== port.mtu) steps.workloadFixes.push({ plan: port, commands: port.handoff !== undefined ? handoffMtuFix(port) : [`link set ${port.ifname} mtu ${port.mtu}`] });
  }
  const nft = rulesetScript(plan, { base: state.nftBase, objects: state.nftObjects, texts: state.nftTexts, pinned: state.pinned });
  // An older Tenet's ruleset is reloaded once, so its comment stops saying the sysctl is on.
  const whole = nft.hash !== state.nftHash || state.brnfSysctl === true;
  steps.nft = whole ? nft.script : elementsScript(pinElements(plan), state.pinned);
  if (!whole && steps.nft) steps.nftInPlace = true;
  // A new namespace and a new bridge are made with br_netfilter off; the plan says which bridges need it.
  for (const net of plan.networks) {
    const tracked = state.links.get(net.bridge)?.tracked === true;
    if (net.tracked && !tracked) steps.trackOn.push(net.bridge);
    if (!net.tracked && tracked) steps.trackOff.push(net.bridge);
  }
  if (state.brnfSysctl) steps.brnfSysctlOff = true;
  if (whole && state.exists && (plan.policy !== undefined || state.policy)) steps.recheckFlows = plan.denies ?? betweenNetworks(plan);
  steps.rates = rateSteps(plan, { ...state, links: new Map([...state.links].filter(([name]) => !dying.has(name))) });
  return steps;
}

/** Tenet-named links the plan no longer has, and VXLAN devices whose settings changed. */
function staleLinks(plan: TenantPlan, state: TenantState): Set<string> {
  const wanted = new Set([...plan.networks.flatMap((n) => [n.bridge, n.vxlan]), ...plan.ports.map((p) => p.port), ...wantedIfbs(plan)]);
  const vxlanById = new Map(plan.networks.map((n) => [n.vxlan, n]));
  const out = new Set<string>();
  for (const link of state.links.values()) {
    const net = vxlanById.get(link.name);
    const wrongVxlan = net !== undefined && !vxlanMatches(net, link);
    if ((isOurs(link.name) && !wanted.has(link.name)) || wrongVxlan) out.add(link.name);
  }
  return out;
}

function vxlanMatches(net: NetworkPlan, link: LinkState): boolean {
  const v = link.vxlan;
  return !!v && v.id === net.vni && v.local === net.vtep && v.port === VXLAN_PORT && !v.learning && v.proxy;
}

function bridgeCommands(net: NetworkPlan, link: LinkState | undefined): string[] {
  const out: string[] = [];
  if (!link) out.push(`link add ${net.bridge} type bridge`);
  if (!link || link.mac !== net.gatewayMac || link.mtu !== net.mtu || !link.up) {
    out.push(`link set ${net.bridge} address ${net.gatewayMac} mtu ${net.mtu} up`);
  }
  const addrs = link?.addrs ?? [];
  for (const a of addrs) if (a !== net.gatewayCidr) out.push(`addr del ${a} dev ${net.bridge}`);
  if (!addrs.includes(net.gatewayCidr)) out.push(`addr add ${net.gatewayCidr} dev ${net.bridge}`);
  return out;
}

function vxlanCommands(ns: string, net: NetworkPlan, link: LinkState | undefined): { host: string[]; tenant: string[] } {
  const fresh = !link || !vxlanMatches(net, link);
  const host = fresh
    ? [
        `link add ${net.vxlan} type vxlan id ${net.vni} local ${net.vtep} dstport ${VXLAN_PORT} nolearning proxy`,
        `link set ${net.vxlan} netns ${ns}`,
      ]
    : [];
  const ok = !fresh && link.master === net.bridge && link.mtu === net.mtu && link.up;
  return { host, tenant: ok ? [] : [`link set ${net.vxlan} master ${net.bridge} mtu ${net.mtu} up`] };
}

const fdbKey = (kind: string, dev: string, mac: string, dst = ''): string => `${kind} ${dev} ${mac} ${dst}`;

function fdbCommands(plan: TenantPlan, state: TenantState, dying: Set<string>): string[] {
  const wanted = new Map<string, string>();
  for (const net of plan.networks) {
    for (const r of net.remotes) {
      wanted.set(fdbKey('remote', net.vxlan, r.mac, r.vtep), `fdb replace ${r.mac} dev ${net.vxlan} dst ${r.vtep} self permanent`);
      wanted.set(fdbKey('bridge', net.vxlan, r.mac), `fdb replace ${r.mac} dev ${net.vxlan} master static`);
    }
    for (const vtep of net.floodVteps) {
      wanted.set(fdbKey('remote', net.vxlan, ZERO_MAC, vtep), `fdb append ${ZERO_MAC} dev ${net.vxlan} dst ${vtep} self permanent`);
    }
  }
  const have = new Set<string>();
  const out: string[] = [];
  for (const e of state.fdb) {
    const key = fdbKey(e.kind, e.dev, e.mac, e.dst);
    if (dying.has(e.dev)) continue;
    have.add(key);
    if (wanted.has(key)) continue;
    out.push(e.kind === 'remote' ? `fdb del ${e.mac} dev ${e.dev} dst ${e.dst} self` : `fdb del ${e.mac} dev ${e.dev} master`);
  }
  for (const [key, cmd] of wanted) if (!have.has(key)) out.push(cmd);
  return out;
}

const ZERO_MAC = '00:00:00:00:00:00';

/** Permanent neighbours on each VXLAN device let it answer ARP locally (the `proxy` flag). */
function neighCommands(plan: TenantPlan, state: TenantState, dying: Set<string>): string[] {
  const wanted = new Map<string, string>();
  for (const net of plan.networks) {
    for (const r of net.remotes) wanted.set(`${net.vxlan} ${r.ip}`, r.mac);
  }
  const live = state.neigh.filter((n) => !dying.has(n.dev));
  const have = new Map(live.map((n) => [`${n.dev} ${n.ip}`, n.mac]));
  const out: string[] = [];
  for (const n of live) if (!wanted.has(`${n.dev} ${n.ip}`)) out.push(`neigh del ${n.ip} dev ${n.dev}`);
  for (const [key, mac] of wanted) {
    const [dev, ip] = key.split(' ');
    if (have.get(key) !== mac) out.push(`neigh replace ${ip} lladdr ${mac} dev ${dev} nud permanent`);
  }
  return out;
}

function portFixes(port: PortPlan, link: LinkState): string[] {
  if (link.master === port.bridge && link.mtu === port.mtu && link.up) return [];
  return [`link set ${port.port} master ${port.bridge} mtu ${port.mtu} up`];
}

/** The pair itself is made at build time, when the bridge's ifindex is known (port-create.ts). */
export function newPort(port: PortPlan): PortSteps {
  return { plan: port, workload: workloadSetup(port) };
}
