/**
 * The Tenet object model (DESIGN.md "Model"). Everything is tenant-scoped except hosts.
 * These shapes are stored as JSON in the store and travel unchanged over the API.
 */
import type { Policy } from './policy.js';

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

export interface Network {
  id: string;
  tenant: string;
  name: string;
  /** IPv4 subnet in CIDR form, host bits clear: "192.168.10.0/24". */
  subnet: string;
  /** Anycast gateway address, the same on every host; defaults to the first usable address. */
  gateway: string;
  /** Workload MTU. 0 means automatic: each host uses its underlay MTU minus the VXLAN overhead. */
  mtu: number;
  /** VXLAN network identifier, unique across all tenants (every host shares UDP port 4789). */
  vni: number;
  /**
   * Names of the tenant's policies attached to the network, in the order given (issue 7).
   * Absent or empty: none, and the network is isolated from every other.
   */
  policies?: string[];
  /**
   * Where the network's DNS server forwards names outside the tenant's zone (issue 10): one
   * IPv4 address, port 53, reached from the host's own namespace. Absent: such names are REFUSED.
   */
  dnsUpstream?: string;
  createdAt: string;
}

/** `detached`: the endpoint exists (name, labels, MAC, address) but is bound to no namespace. */
export type EndpointStatus = 'pending' | 'up' | 'error' | 'detached';

/** A namespace's identity: the device and inode of its nsfs file, which no path reuse fakes. */
export interface NetnsId {
  dev: number;
  ino: number;
}

/**
 * What an endpoint is bound to on its host (ADR 005):
 * - netns: Tenet puts the interface into the namespace itself (CLI, lab, CNI). `netns` is
 *   the path as given; `netnsId` is what it pointed at when attached.
 * - handoff: Tenet makes the host-side interface `hostIfname` and a runtime moves it into its
 *   namespace itself, renaming it `ifname` (Docker's Join).
 */
export type Attachment =
  | { kind: 'netns'; netns: string; netnsId: NetnsId; ifname: string }
  | { kind: 'handoff'; hostIfname: string; ifname: string };

export type PortProto = 'tcp' | 'udp';

/** A published port (ADR 016): `hostPort` of the endpoint's host reaches `port` of the endpoint. */
export interface PublishedPort {
  hostPort: number;
  /** The endpoint's own port (Docker's container port). */
  port: number;
  proto: PortProto;
  /** Only this address of the host; absent: every address of the host but loopback. */
  hostIp?: string;
}

export interface Endpoint {
  id: string;
  tenant: string;
  network: string;
  /** Network.id: allocation keys hang off it so a re-created network starts clean. */
  networkId: string;
  /** Unique in its network (case-insensitively); DNS and policy will use it. */
  name?: string;
  labels: Record<string, string>;
  /** Host the endpoint lives on; absent for a detached endpoint not placed yet. */
  host?: string;
  mac: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  status: EndpointStatus;
  /** Why the status is what it is, for `error`. */
  statusDetail?: string;
  /** MTU the host actually configured, reported by the agent. */
  mtu?: number;
  /** Absent while detached. */
  attachment?: Attachment;
  /** Published ports, the desired state its host's agent realizes while it is attached (ADR 016). */
  ports?: PublishedPort[];
  createdAt: string;
  updatedAt: string;
}

export type NetnsAttachment = Extract<Attachment, { kind: 'netns' }>;

/** The attachment a host's datapath realizes as a port (handoff is left to the Docker driver). */
export function netnsAttachment(e: Endpoint): NetnsAttachment | undefined {
  return e.attachment?.kind === 'netns' ? e.attachment : undefined;
}

export interface Host {
  name: string;
  /** Underlay address VXLAN packets for this host's endpoints are sent to. */
  vtep: string;
  underlayMtu: number;
  /**
   * Name of the underlay network the VTEP is on. Hosts exchange VXLAN packets only with
   * hosts of the same underlay: a lab's simulated hosts and a real host never send each
   * other traffic (their addresses mean nothing on the other's network).
   */
  underlay: string;
  /**
   * When the host first registered. Nothing else about a host's life is in this object:
   * liveness (a lease) and the realized revision live in internal keys no agent watches, so
   * a heartbeat or a report never wakes another agent (controller/liveness.ts).
   */
  registeredAt: string;
}

/** VXLAN over IPv4 adds 50 bytes: outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;

export const DEFAULT_UNDERLAY = 'default';

/**
 * Every kind of object the controller distributes, by kind name. A new kind is one line here
 * and one declaration in kinds.ts; keys, snapshot, watch and the agent's cache follow.
 */
export interface KindObjects {
  tenant: Tenant;
  network: Network;
  endpoint: Endpoint;
  host: Host;
  policy: Policy;
}

export type ObjectKind = keyof KindObjects;
export type AnyObject = KindObjects[ObjectKind];
