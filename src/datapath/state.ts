/**
 * What the reconciler reads back from the kernel for one tenant namespace, reduced to the
 * attributes Tenet manages. Only objects with Tenet's names (names.ts) are listed, so state
 * somebody else put there is neither compared nor deleted.
 */

export interface VxlanAttrs {
  id: number;
  local: string;
  port: number;
  learning: boolean;
  proxy: boolean;
}

export interface LinkState {
  name: string;
  kind: string;
  master?: string;
  mtu: number;
  mac: string;
  up: boolean;
  /** IPv4 addresses in CIDR form. */
  addrs: string[];
  vxlan?: VxlanAttrs;
  /** "tbf" when the root qdisc is a token bucket (tc.ts); absent otherwise. */
  qdisc?: string;
  /** The interface alias: where tc.ts records the rate limits it applied to a port. */
  alias?: string;
  /** A bridge that passes bridged IPv4 to the inet hooks (its nf_call_iptables option, docs/adr/013). */
  tracked?: true;
}

/** "remote": `self` entry with a VTEP dst on a VXLAN device; "bridge": `master static` entry. */
export interface FdbEntry {
  mac: string;
  dev: string;
  kind: 'remote' | 'bridge';
  dst?: string;
}

export interface NeighEntry {
  ip: string;
  dev: string;
  mac: string;
}

export interface TenantState {
  exists: boolean;
  links: Map<string, LinkState>;
  fdb: FdbEntry[];
  neigh: NeighEntry[];
  /** Hash recorded in the comment of Tenet's nftables rules; undefined when there are none. */
  nftHash?: string;
  /** Whether the loaded ruleset carries a policy (docs/adr/013). */
  policy?: boolean;
  /**
   * Loaded by a Tenet that switched br_netfilter on for the whole namespace (a sysctl) with a
   * policy, before it went per bridge: the next load switches the sysctl off (docs/adr/013).
   */
  brnfSysctl?: boolean;
  /** The structure of Tenet's tables (nft.ts baseHash), from the input chain's comment: undefined, replace them whole. */
  nftBase?: string;
  /** The policy's sets, maps and chains in `inet tenet` (`set NAME`…): what an in-place update deletes. */
  nftObjects?: string[];
  /** Their text as this Datapath loaded them (known state only): an in-place update rewrites only what changed. */
  nftTexts?: ReadonlyMap<string, string>;
  /** Elements of the port-pinning set, spelled as nft.ts pinElements() spells them. */
  pinned: string[];
  /** Bridge name → ifindex, from a read-back only (bridge-index.ts); not part of what is compared. */
  bridgeIndexes?: Map<string, number>;
}

export const emptyTenantState = (): TenantState => ({ exists: false, links: new Map(), fdb: [], neigh: [], pinned: [] });
