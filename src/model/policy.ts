/**
 * The policy model (issue 7): one rule language for OpenContrail's network-to-network rules,
 * Contiv's label groups with priorities and Nuage's rate limiters. These shapes are stored as
 * JSON and travel unchanged over the API; the rule text a user wrote is kept beside its parsed
 * form so listings show exactly what was typed.
 *
 *   ACTION [PROTO] from SELECTOR to SELECTOR [port PORTS] [priority N] [log]
 *
 * Semantics (fixed, so scripts and UIs can rely on them): a policy is in force for a flow when
 * it is attached to the network of the flow's source endpoint or of its destination endpoint.
 * Rules in force are evaluated by ascending priority (default 100); at equal priority deny and
 * reject win over allow; the first match decides. With no match a flow inside one network is
 * allowed and a flow between networks is denied. Replies of an allowed flow always pass.
 */

export type PolicyAction = 'allow' | 'deny' | 'reject';
export type PolicyProto = 'any' | 'tcp' | 'udp' | 'icmp';

export type Selector =
  | { kind: 'any' }
  /** A network of the policy's tenant, by name. */
  | { kind: 'net'; name: string }
  /** Endpoints whose labels hold key=value. */
  | { kind: 'group'; key: string; value: string }
  /** An IPv4 prefix, host bits clear: "192.168.10.128/25". */
  | { kind: 'cidr'; cidr: string }
  /** One endpoint, by id. */
  | { kind: 'ep'; id: string };

/** Inclusive; a single port has from === to. */
export interface PortRange {
  from: number;
  to: number;
}

export const DEFAULT_PRIORITY = 100;

export interface PolicyRule {
  /** The rule as the user wrote it (normalized spacing). */
  text: string;
  action: PolicyAction;
  proto: PolicyProto;
  from: Selector;
  to: Selector;
  /** Empty: every port (and the only value for icmp/any). */
  ports: PortRange[];
  priority: number;
  log: boolean;
}

/** A rate limit on the endpoints a selector matches (net, group or ep), in bits per second. */
export interface RateLimit {
  target: Selector;
  /** Traffic the endpoint sends. */
  egressBps?: number;
  /** Traffic the endpoint receives. */
  ingressBps?: number;
}

export interface Policy {
  id: string;
  tenant: string;
  name: string;
  rules: PolicyRule[];
  rates: RateLimit[];
  createdAt: string;
  updatedAt: string;
}
