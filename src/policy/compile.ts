/**
 * compileTenant: a tenant's networks, endpoints and policies to the compiled form (types.ts,
 * docs/adr/012). Pure; the agent renders it into nft text (render.ts) and `policy check`
 * walks it (check.ts).
 *
 * A flow's network is the network whose subnet holds the address. Tenant subnets never
 * overlap, and port pinning lets a workload send only from its own address, so for every
 * packet that can exist this is "the network of the endpoint that owns the address"; it also
 * keeps dispatch a lookup of subnets that endpoint churn never changes. An address outside
 * every subnet has no network: only the other side's policies are in force and, with no
 * match, the flow is denied (it is not inside one network).
 */
import type { Policy } from '../model/policy.js';
import type { Endpoint } from '../model/types.js';
import { attachedPolicies, policiesInForce, rulesInForce, type InForce, type Tenant } from './order.js';
import { Groups, netRanges, type Side } from './resolve.js';
import { buildSteps } from './steps.js';
import type { Chain, CompiledPolicy, NetworkWithPolicies, PairTarget, RuleRef } from './types.js';

export interface CompileInput {
  networks: NetworkWithPolicies[];
  endpoints: Endpoint[];
  policies: Policy[];
}

export const REASON = {
  sameNetwork: 'default: same network, no rule matches',
  sameNetworkNoPolicy: 'default: same network, no policy in force',
  isolated: 'default: isolated networks',
  outside: 'default: an address outside every network of the tenant, no rule allows it',
} as const;

export const pairKey = (src: string, dst: string): string => `${src}\u0000${dst}`;

export function compileTenant(input: CompileInput): CompiledPolicy {
  const t: Tenant = {
    nets: netRanges(input.networks),
    attached: attachedPolicies(input.networks, input.policies),
    endpoints: input.endpoints,
    groups: new Groups(input.endpoints),
    resolved: new Map(),
    sorted: new Map(),
  };
  const out: CompiledPolicy = { networks: t.nets, groups: t.groups.sets, pairs: {}, toOutside: {}, fromOutside: {}, chains: {}, rules: [] };
  const chains = new ChainTable(out);
  for (const src of t.nets) {
    for (const dst of t.nets) out.pairs[pairKey(src.name, dst.name)] = target(t, chains, src, dst);
    const toOut = target(t, chains, src, 'outside');
    if ('chain' in toOut) out.toOutside[src.name] = toOut.chain;
    const fromOut = target(t, chains, 'outside', src);
    if ('chain' in fromOut) out.fromOutside[src.name] = fromOut.chain;
  }
  return out;
}

/** A chain when some rule in force could match the pair; otherwise the default, as a verdict. */
function target(t: Tenant, chains: ChainTable, src: Side, dst: Side): PairTarget {
  const same = src !== 'outside' && src === dst;
  const policies = policiesInForce(t, src, dst);
  const steps = policies.length ? buildSteps(rulesInForce(t, policies, src, dst), (r) => chains.ruleIndex(r)) : [];
  const fallback = same ? 'allow' : 'deny';
  const reason = same ? (policies.length ? REASON.sameNetwork : REASON.sameNetworkNoPolicy) : src === 'outside' || dst === 'outside' ? REASON.outside : REASON.isolated;
  if (steps.length === 0) return { verdict: fallback, reason };
  return { chain: chains.add({ steps, fallback, fallbackReason: reason }) };
}

/** Chains with the same content are one chain: pairs under the same policies share it. */
class ChainTable {
  private readonly byContent = new Map<string, string>();
  private readonly ruleIds = new Map<string, number>();
  constructor(private readonly out: CompiledPolicy) {}

  ruleIndex(r: InForce): number {
    const id = `${r.policy}#${r.index}`;
    let n = this.ruleIds.get(id);
    if (n === undefined) {
      n = this.out.rules.length;
      this.ruleIds.set(id, n);
      const ref: RuleRef = { policy: r.policy, index: r.index, text: r.rule.text };
      this.out.rules.push(ref);
    }
    return n;
  }

  add(c: Omit<Chain, 'name'>): string {
    const content = JSON.stringify(c);
    const known = this.byContent.get(content);
    if (known) return known;
    const name = `pol_c${this.byContent.size}`;
    this.byContent.set(content, name);
    c.steps.forEach((s, i) => {
      if (s.key.src || s.key.dst || s.key.proto || s.key.port) s.set = `${name}_s${i}`;
    });
    this.out.chains[name] = { name, ...c };
    return name;
  }
}
