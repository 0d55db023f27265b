/**
 * The Tenet object model (DESIGN.md "Model"). Everything is tenant-scoped except hosts.
 * These shapes are stored as JSON in the store and travel unchanged over the API.
 */

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
  createdAt: string;
}

export type EndpointStatus = 'pending' | 'up' | 'error';

export interface Endpoint {
  id: string;
  tenant: string;
  network: string;
  /** Network.id: IP allocation keys hang off it so a re-created network starts clean. */
  networkId: string;
  host: string;
  /** Path of the workload's network namespace on its host (/run/netns/x, /proc/PID/ns/net). */
  netns: string;
  ifname: string;
  mac: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  status: EndpointStatus;
  /** Why the status is what it is, for `error`. */
  statusDetail?: string;
  /** MTU the host actually configured, reported by the agent. */
  mtu?: number;
  createdAt: string;
  updatedAt: string;
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
  lastSeen: string;
  /** Store revision the agent last realized in the kernel. */
  realizedRevision?: number;
}

/** VXLAN over IPv4 adds 50 bytes: outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;

export const DEFAULT_UNDERLAY = 'default';

export type ObjectKind = 'tenant' | 'network' | 'endpoint' | 'host';
export type AnyObject = Tenant | Network | Endpoint | Host;
