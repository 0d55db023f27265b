/**
 * Where the policy compiler (src/policy/, ADR 012) meets the datapath (ADR 013): from one
 * tenant's objects in the agent's cache, the nft fragments its namespace loads, the predicate
 * that cuts established flows a change now denies, and the rate limits of its ports. All
 * three come from ONE compiled form, the same one `tenet policy check` evaluates, so the
 * kernel and the check cannot disagree.
 *
 * A tenant with no policy attached to any network gets no fragment (and so no br_netfilter:
 * ADR 013), and only the rate limits of policies in force, which are none.
 */
import { createHash } from 'node:crypto';
import type { FlowPredicate, TenantPolicy } from '../datapath/plan.js';
import type { Policy } from '../model/policy.js';
import type { Endpoint, Network } from '../model/types.js';
import { checkFlow } from '../policy/check.js';
import { compileTenant } from '../policy/compile.js';
import { renderNft, tableBody } from '../policy/render.js';
import { resolveRates } from './policy-rates.js';

const CHECKED = new Set(['tcp', 'udp', 'icmp']);

export function tenantPolicy(networks: Network[], endpoints: Endpoint[], policies: Policy[]): TenantPolicy | undefined {
  const attached = new Map(networks.map((n) => [n.id, new Set(n.policies ?? [])]));
  if (![...attached.values()].some((names) => names.size > 0)) return undefined;
  // A rate limit is in force for an endpoint when its policy is attached to the endpoint's network.
  const rates = resolveRates(policies, endpoints, networks, (p, e) => attached.get(e.networkId)?.has(p.name) === true);
  const compiled = compileTenant({ networks, endpoints, policies });
  const fragments = renderNft(compiled);
  const declarations = tableBody(fragments);
  const hash = createHash('sha256').update(declarations).update(fragments.forwardRules).digest('hex').slice(0, 16);
  const denies: FlowPredicate = (flow) => {
    if (!CHECKED.has(flow.proto)) return false; // a protocol no rule names: the default chain decides, never cut here
    const port = flow.proto === 'icmp' ? undefined : flow.dport;
    const proto = flow.proto as 'tcp' | 'udp' | 'icmp';
    return checkFlow(compiled, { src: flow.src, dst: flow.dst, proto, ...(port === undefined ? {} : { port }) }).verdict !== 'allow';
  };
  return { nft: { sets: declarations, chains: '', forwardRules: fragments.forwardRules, hash }, denies, rates: rates.size ? rates : undefined };
}

/**
 * One compiled policy per tenant, kept until its inputs change: a 10,000-rule policy takes
 * most of a second to compile (ADR 012), and an attach must not pay that again.
 */
export class CompiledPolicies {
  private readonly byTenant = new Map<string, { key: string; policy: TenantPolicy | undefined }>();

  get(tenant: string, networks: Network[], endpoints: Endpoint[], policies: Policy[]): TenantPolicy | undefined {
    const key = inputKey(networks, endpoints, policies);
    const known = this.byTenant.get(tenant);
    if (known?.key === key) return known.policy;
    const policy = tenantPolicy(networks, endpoints, policies);
    this.byTenant.set(tenant, { key, policy });
    return policy;
  }
}

/** What compiling reads, and nothing else (an endpoint's status never recompiles). */
function inputKey(networks: Network[], endpoints: Endpoint[], policies: Policy[]): string {
  const h = createHash('sha256');
  for (const n of networks) h.update(`n|${n.id}|${n.name}|${n.subnet}|${(n.policies ?? []).join(',')}\n`);
  for (const e of endpoints) h.update(`e|${e.id}|${e.networkId}|${e.ip}|${JSON.stringify(e.labels)}\n`);
  for (const p of policies) h.update(`p|${p.id}|${p.name}|${p.updatedAt}|${p.rules.length}|${JSON.stringify(p.rates)}\n`);
  return h.digest('hex');
}
