/**
 * Plan: from the objects the controller distributes to the kernel state one host should have.
 * Pure and deterministic (sorted), so the same objects always give the same plan and the
 * reconciler can compare it with what it reads back from the kernel.
 *
 * A tenant gets a namespace on this host when it has at least one endpoint here; the
 * namespace then carries every network of the tenant (bridge + VXLAN + anycast gateway), so
 * routing between networks can happen on the first hop once a policy allows it.
 */
import { formatIp, maskOf, parseCidr, parseIp, type Cidr } from '../base/cidr.js';
import { gatewayMac } from '../model/mac.js';
import { DEFAULT_UNDERLAY, netnsAttachment, VXLAN_OVERHEAD, type Endpoint, type Host, type Network } from '../model/types.js';
import type { ConntrackFlow } from './conntrack.js';
import { bridgeName, portOf, tenantNs, vxlanName } from './names.js';

export interface PlanInput {
  host: string;
  vtep: string;
  underlayMtu: number;
  /** Only hosts on this underlay are sent VXLAN packets (Host.underlay). */
  underlay: string;
  nsPrefix: string;
  networks: Network[];
  endpoints: Endpoint[];
  hosts: Host[];
  /**
   * The policy of a tenant, compiled (issue 7): nft text to load into its `inet tenet` table
   * and the rate limits of its endpoints. One function, so the agent wires the compiler here
   * and nothing else changes; absent or undefined: no policy, no limits (br_netfilter stays
   * off in that tenant's namespaces, docs/adr/013).
   */
  policyFor?: (tenant: string) => TenantPolicy | undefined;
}

/** nft text fragments of a tenant's compiled policy (src/policy/), dropped into `table inet tenet`. */
export interface PolicyFragment {
  /** `set …`/`map …` declarations, at table level. */
  sets: string;
  /** Regular (non-base) chains, at table level. */
  chains: string;
  /** Rules of the forward base chain, after `ct state established,related accept`. */
  forwardRules: string;
  /** The compiled policy's version, for logs and realization. */
  hash: string;
  /**
   * VNIs of the networks whose bridged IPv4 must meet the forward chain and conntrack
   * (src/policy/tracked.ts): br_netfilter goes on for their bridges only (docs/adr/013).
   * Absent: every network of the tenant (a fragment made by hand, in tests).
   */
  tracked?: number[];
}

/** Bits per second, from the endpoint's point of view (model/policy.ts RateLimit). */
export interface PortRate {
  /** What the endpoint sends. */
  egressBps?: number;
  /** What the endpoint receives. */
  ingressBps?: number;
}

/** Whether a tracked flow is denied by the policy now in force (src/policy/ checkFlow). */
export type FlowPredicate = (flow: ConntrackFlow) => boolean;

export interface TenantPolicy {
  nft?: PolicyFragment;
  /**
   * After a policy change, established flows this calls denied are cut (conntrack.ts). Absent:
   * a flow between two networks of the tenant is denied, one inside a network allowed.
   */
  denies?: FlowPredicate;
  /**
   * The hash (PolicyFragment.hash) of the policy this one follows and denies nothing more than
   * (src/agent/policy.ts `loosens`): after a load from exactly that one, no established flow can
   * have become denied, so the conntrack table is not even read (datapath.ts, ADR 026 addendum).
   */
  loosens?: string;
  /** Endpoint id → its limits (src/policy/rates.ts resolveRates). */
  rates?: ReadonlyMap<string, PortRate>;
}

export interface RemoteEndpoint {
  ip: string;
  mac: string;
  vtep: string;
}

export interface NetworkPlan {
  vni: number;
  bridge: string;
  vxlan: string;
  mtu: number;
  /** "192.168.10.1/24" on the bridge: the anycast gateway. */
  gatewayCidr: string;
  gatewayMac: string;
  vtep: string;
  remotes: RemoteEndpoint[];
  /** VTEPs of other hosts with endpoints in this network: head-end replication for BUM. */
  floodVteps: string[];
  /** br_netfilter on for this bridge (PolicyFragment.tracked): its bridged IPv4 meets conntrack. */
  tracked?: true;
}

export interface PortPlan {
  endpointId: string;
  port: string;
  bridge: string;
  netns: string;
  ifname: string;
  mac: string;
  ipCidr: string;
  gateway: string;
  mtu: number;
  /** Only the primary interface (eth0) gets the default route; others get their subnet. */
  defaultRoute: boolean;
  /**
   * A handoff attachment's host-side interface (handoff.ts): the pair's other end is made in
   * the agent's namespace for a runtime to move, and `netns` is empty. Absent for netns ports.
   */
  handoff?: string;
  /** Rate limits (tc, rates.ts in this directory); absent: unlimited. */
  rate?: PortRate;
}

export interface TenantPlan {
  tenant: string;
  ns: string;
  networks: NetworkPlan[];
  ports: PortPlan[];
  /** A compiled policy: br_netfilter is then on for the bridges of its tracked networks (docs/adr/013). */
  policy?: PolicyFragment;
  /** TenantPolicy.denies: not kernel state, used after a policy change only (datapath.ts). */
  denies?: FlowPredicate;
  /** TenantPolicy.loosens: not kernel state either. */
  loosens?: string;
}

export interface HostPlan {
  nsPrefix: string;
  tenants: TenantPlan[];
}

/** The subnet of a network from its gateway's address ("192.168.10.1/24" → 192.168.10.0/24). */
export function subnetOf(n: NetworkPlan): Cidr | undefined {
  const [gw, len] = n.gatewayCidr.split('/');
  const ip = parseIp(gw ?? '');
  const prefixLen = Number(len);
  if (ip === undefined || !Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) return undefined;
  return { base: (ip & maskOf(prefixLen)) >>> 0, prefixLen };
}

export const subnetText = (c: Cidr): string => `${formatIp(c.base)}/${c.prefixLen}`;

export function networkMtu(net: Network, underlayMtu: number): number {
  return net.mtu > 0 ? net.mtu : underlayMtu - VXLAN_OVERHEAD;
}

/**
 * Only attached endpoints become ports (and remote entries on other hosts): a detached
 * endpoint has nowhere for packets to go. A handoff attachment is a port too; its other end
 * waits in the agent's namespace for a runtime to move it (ADR 005, "Handoff, realized").
 */
const realized = (endpoints: Endpoint[]): Endpoint[] => endpoints.filter((e) => e.attachment !== undefined);

export function buildPlan(input: PlanInput): HostPlan {
  input = { ...input, endpoints: realized(input.endpoints) };
  const local = input.endpoints.filter((e) => e.host === input.host);
  const tenants = [...new Set(local.map((e) => e.tenant))].sort();
  return { nsPrefix: input.nsPrefix, tenants: tenants.map((t) => tenantPlan(input, t)) };
}

function tenantPlan(input: PlanInput, tenant: string): TenantPlan {
  const networks = input.networks.filter((n) => n.tenant === tenant).sort((a, b) => a.vni - b.vni);
  const policy = input.policyFor?.(tenant);
  const ports = input.endpoints
    .filter((e) => e.host === input.host && e.tenant === tenant)
    .flatMap((e) => {
      const net = networks.find((n) => n.id === e.networkId);
      return net ? [withRate(portPlan(e, net, input.underlayMtu), policy?.rates?.get(e.id))] : [];
    })
    .sort((a, b) => (a.port < b.port ? -1 : 1));
  return {
    tenant,
    ns: tenantNs(input.nsPrefix, tenant),
    networks: networks.map((n) => withTracking(networkPlan(input, n), policy?.nft)),
    ports,
    ...(policy?.nft ? { policy: policy.nft } : {}),
    ...(policy?.denies ? { denies: policy.denies } : {}),
    ...(policy?.loosens ? { loosens: policy.loosens } : {}),
  };
}

/** Only a tracked network's plan says so, so plans without a policy compare as before. */
function withTracking(net: NetworkPlan, policy: PolicyFragment | undefined): NetworkPlan {
  const tracked = policy !== undefined && (policy.tracked?.includes(net.vni) ?? true);
  return tracked ? { ...net, tracked: true } : net;
}

/** Only positive limits count; a port with none has no `rate` at all (plans compare deeply). */
function withRate(port: PortPlan, rate: PortRate | undefined): PortPlan {
  const r: PortRate = {};
  if (rate?.egressBps && rate.egressBps > 0) r.egressBps = Math.round(rate.egressBps);
  if (rate?.ingressBps && rate.ingressBps > 0) r.ingressBps = Math.round(rate.ingressBps);
  return r.egressBps || r.ingressBps ? { ...port, rate: r } : port;
}

function networkPlan(input: PlanInput, net: Network): NetworkPlan {
  const peers = input.hosts.filter((h) => (h.underlay ?? DEFAULT_UNDERLAY) === input.underlay);
  const vteps = new Map(peers.map((h) => [h.name, h.vtep]));
  const remotes = input.endpoints
    .filter((e) => e.networkId === net.id && e.host !== undefined && e.host !== input.host && vteps.has(e.host))
    .map((e) => ({ ip: e.ip, mac: e.mac, vtep: vteps.get(e.host!)! }))
    .filter((r) => r.vtep !== input.vtep)
    .sort((a, b) => (a.mac < b.mac ? -1 : 1));
  const prefixLen = parseCidr(net.subnet)?.prefixLen ?? 32;
  return {
    vni: net.vni,
    bridge: bridgeName(net.vni),
    vxlan: vxlanName(net.vni),
    mtu: networkMtu(net, input.underlayMtu),
    gatewayCidr: `${net.gateway}/${prefixLen}`,
    gatewayMac: gatewayMac(net.vni),
    vtep: input.vtep,
    remotes,
    floodVteps: [...new Set(remotes.map((r) => r.vtep))].sort(),
  };
}

function portPlan(e: Endpoint, net: Network, underlayMtu: number): PortPlan {
  const a = e.attachment!;
  const netns = netnsAttachment(e)?.netns ?? '';
  const ifname = a.ifname;
  return {
    endpointId: e.id,
    // A handoff whose host-side name is not Tenet's has no port name: plan-check refuses it.
    port: portOf(e) ?? '',
    bridge: bridgeName(net.vni),
    netns,
    ifname,
    mac: e.mac,
    ipCidr: `${e.ip}/${e.prefixLen}`,
    gateway: e.gateway,
    mtu: networkMtu(net, underlayMtu),
    defaultRoute: ifname === 'eth0',
    ...(a.kind === 'handoff' ? { handoff: a.hostIfname } : {}),
  };
}
