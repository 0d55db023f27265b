/**
 * The rule sets of bench/policy-stack.ts, in the rule language (src/model/policy.ts). Kept
 * apart so the choices the figures rest on (why the 10,000 rules do not collapse into one set
 * lookup, which rule the measured flow meets) are read in one place.
 */

/** The port iperf3 listens on: the one the measured flow's rule allows. */
export const IPERF_PORT = 5201;

/** The filler rules' sources: x.y.128.0 and up (40 /24s for 10,000), far from IPAM's first addresses. */
const SRC_THIRD_OCTET = 128;

/**
 * `n` rules of which the measured flow (tcp `client` → `server` port 5201) matches only the
 * LAST one, evaluated last (highest priority number).
 *
 * The other n−1 are bench/policy-compile.ts's "mixed" shape: allow and deny alternate every
 * 10 rules at rising priorities (100, 101, …), each `tcp from cidr:<one /32> to net:<dst> port
 * P`. First match across verdicts means no merging can fold an allow run into the deny run
 * after it, so the compiler makes one interval set per 10 rules: about n/10 steps, and a new
 * flow that matches none of them (as ours, until the last) pays one lookup per step (1,000
 * lookups at 10,000 rules, the worst shape ADR 012 knows). An allow-list of 10,000 would fold
 * into ONE set and say nothing about the rule count. Sources are /32s in `src16`.128.0 and up (a block of
 * the source network where IPAM, which hands out the lowest free address first, has
 * put nobody), so no earlier rule can match the flow.
 */
export function lastRuleMatches(n: number, src16: string, dstNet: string, client: string, server: string): string[] {
  const rules = Array.from({ length: n - 1 }, (_, i) => {
    const action = Math.floor(i / 10) % 2 === 1 ? 'deny' : 'allow';
    const src = `${src16}.${SRC_THIRD_OCTET + (i >> 8)}.${i & 255}`;
    return `${action} tcp from cidr:${src}/32 to net:${dstNet} port ${1000 + (i % 5000)} priority ${100 + Math.floor(i / 10)}`;
  });
  rules.push(`allow tcp from cidr:${client}/32 to cidr:${server}/32 port ${IPERF_PORT} priority ${100 + Math.ceil(n / 10) + 1}`);
  return rules;
}

/**
 * Rules that apply INSIDE one network (Contiv's tiers): the client tier may reach the server
 * tier on the iperf3 port, ping works across the network, ssh into it is refused, and
 * everything else inside the network is denied. The measured flow is decided by the first
 * rule; every bridged packet meets br_netfilter and conntrack, which is the cost measured.
 */
export function fenceInside(net: string): string[] {
  return [
    `allow tcp from group:role=client to group:role=server port ${IPERF_PORT} priority 10`,
    `allow icmp from net:${net} to net:${net} priority 10`,
    `reject tcp from any to net:${net} port 22 priority 5`,
    `deny udp from net:${net} to net:${net} port 1-1023 priority 20`,
    `deny any from net:${net} to net:${net} priority 1000`,
  ];
}

/**
 * The policy the update benchmark edits: the mixed shape again (`n` rules), and the rule each
 * update replaces (the last one), different every time so every update changes the compiled
 * ruleset on every host.
 */
export function updateBase(n: number, src16: string, srcNet: string, dstNet: string): string[] {
  return [...lastRuleMatches(n, src16, dstNet, '0.0.0.1', '0.0.0.2').slice(0, n - 1), updateRule(0, srcNet, dstNet)];
}

export function updateRule(i: number, srcNet: string, dstNet: string): string {
  return `allow tcp from net:${srcNet} to net:${dstNet} port ${20000 + 2 * i}`;
}
