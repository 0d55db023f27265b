/**
 * The compiled form of a tenant's policies (issue 7, docs/adr/012). It is the one source of
 * truth: render.ts turns it into nft text for the tenant namespace's `inet tenet` table, and
 * check.ts walks the very same dispatch map, steps and set elements in JS for `policy check`
 * and for finding established flows a change now denies. Both read this structure and
 * nothing else, so the datapath and `policy check` agree by construction.
 *
 * Shape, as the kernel evaluates it for a new packet:
 *   1. one lookup of (source network, destination network) in `pairs` (interval
 *      concatenation of subnets): a terminal verdict, or a jump to a chain;
 *   2. for a destination or source outside every subnet, one lookup by the other side's
 *      subnet (`toOutside` / `fromOutside`);
 *   3. in the chain, the steps in order: each is at most one set lookup (plus one per group
 *      side); the first that matches decides; the chain ends with its default verdict.
 */
import type { PolicyAction, PortRange } from '../model/policy.js';
import type { Network } from '../model/types.js';

export type Verdict = PolicyAction;

/** An inclusive range of unsigned 32-bit addresses (a prefix, or all of IPv4). */
export interface AddrRange {
  from: number;
  to: number;
}

/** Which rule of which policy an element came from; index is 1-based in its policy. */
export interface RuleRef {
  policy: string;
  index: number;
  text: string;
}

/** One element of a step's set; a dimension is absent when the step's key does not have it. */
export interface Element {
  src?: AddrRange;
  dst?: AddrRange;
  /** IP protocol number (6 tcp, 17 udp, 1 icmp). */
  proto?: number;
  port?: PortRange;
  /** Index into CompiledPolicy.rules. */
  rule: number;
}

/** The dimensions of a step's set key, in nft's order: saddr . daddr . l4proto . th dport. */
export interface StepKey {
  src: boolean;
  dst: boolean;
  proto: boolean;
  port: boolean;
}

/**
 * One statement of a chain: the packet must be in the group sets (when given) and match one
 * element of the step's set (or every packet, when the key has no dimension). Elements never
 * overlap, so at most one matches and it names the deciding rule.
 */
export interface Step {
  srcGroup?: string;
  dstGroup?: string;
  key: StepKey;
  /** Name of the nft set holding the elements; absent when the key has no dimension. */
  set?: string;
  elements: Element[];
  verdict: Verdict;
  /** `log prefix` text; a logged step holds one rule only. */
  log?: string;
}

export interface Chain {
  name: string;
  steps: Step[];
  /** Verdict when no step matches: allow inside one network, deny between networks. */
  fallback: 'allow' | 'deny';
  /** Why the fallback applies, for `policy check`. */
  fallbackReason: string;
}

/** A network's subnet as an address range, for dispatch. */
export interface NetRange extends AddrRange {
  name: string;
  subnet: string;
}

/** What a (source, destination) network pair does: a verdict without policies, or a chain. */
export type PairTarget = { chain: string } | { verdict: 'allow' | 'deny'; reason: string };

export interface CompiledPolicy {
  networks: NetRange[];
  /** Named sets of endpoint addresses, one per group selector used: name -> sorted addresses. */
  groups: Record<string, number[]>;
  /** Every (src, dst) pair of networks, keyed `${src}\u0000${dst}` by network name. */
  pairs: Record<string, PairTarget>;
  /** Network name -> chain for its flows to addresses outside every subnet (policies attached). */
  toOutside: Record<string, string>;
  /** Network name -> chain for flows from outside every subnet to it. */
  fromOutside: Record<string, string>;
  chains: Record<string, Chain>;
  rules: RuleRef[];
}

export type NetworkWithPolicies = Network & { policies?: string[] };
