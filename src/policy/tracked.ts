/**
 * Which networks' bridged traffic must meet the forward chain and conntrack (br_netfilter on
 * their bridge, docs/adr/013, "per bridge"). Read off the compiled form, so it follows exactly
 * what the rules can do to a flow that is bridged on its way:
 *
 * - inside a network, a flow is bridged all the way. It must meet the rules when a rule in
 *   force there can deny, reject or log it: then the rules see it, statefully (replies pass).
 *   Rules that can only allow what is allowed anyway change nothing and need nothing.
 * - between two networks, a flow is routed on its first hop, where the forward chain always
 *   sees it, and arrives bridged on the other host. When a rule can allow it, both networks
 *   need br_netfilter: its reply, routed on the far host, must find the flow already tracked
 *   there, and the reply arrives bridged back (docs/adr/013, "Why br_netfilter at all"). Rules
 *   that can only deny or reject act where the flow is routed and need nothing more.
 * - a network with rules for flows to or from the outside is tracked, as before.
 *
 * An untracked network's bridged traffic passes no netfilter hook at all, even in a tenant
 * with policies elsewhere. When a network becomes tracked, its running flows meet conntrack
 * as new (TCP pick-up) and so the rules: a flow the change denies stops at its next packet.
 * The agents switch the bridges (src/agent/policy.ts); `tenet net show` says why (controller).
 */
import { pairKey } from './compile.js';
import type { CompiledPolicy, Step } from './types.js';

/** Names of the networks whose bridges must pass bridged IPv4 to the inet hooks, sorted. */
export function trackedNetworks(c: CompiledPolicy): string[] {
  return [...trackingPolicies(c).keys()].sort();
}

/** Tracked network → the policies whose rules make it so, sorted. */
export function trackingPolicies(c: CompiledPolicy): Map<string, string[]> {
  const why = new Map<string, Set<string>>();
  const add = (net: string, steps: Step[]) => {
    const names = why.get(net) ?? new Set<string>();
    for (const s of steps) for (const e of s.elements) names.add(c.rules[e.rule]!.policy);
    why.set(net, names);
  };
  for (const [net, chain] of [...Object.entries(c.toOutside), ...Object.entries(c.fromOutside)]) add(net, c.chains[chain]!.steps);
  for (const src of c.networks) {
    for (const dst of c.networks) {
      const target = c.pairs[pairKey(src.name, dst.name)];
      const chain = target && 'chain' in target ? c.chains[target.chain] : undefined;
      const acting = chain ? chain.steps.filter((s) => changesBridged(s, src === dst)) : [];
      if (acting.length) [src.name, dst.name].forEach((n) => add(n, acting));
    }
  }
  return new Map([...why].map(([net, names]) => [net, [...names].sort()]));
}

/** Whether a step can do to a bridged flow what its network's default would not. */
function changesBridged(s: Step, sameNetwork: boolean): boolean {
  return sameNetwork ? s.verdict !== 'allow' || s.log !== undefined : s.verdict === 'allow';
}

