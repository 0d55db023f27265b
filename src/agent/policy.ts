/**
 * Where the policy compiler (src/policy/, ADR 012) meets the datapath (ADR 013): from one
 * tenant's objects in the agent's cache, the nft fragments its namespace loads, the predicate
 * that cuts established flows a change now denies, and the rate limits of its ports. All
 * three come from ONE compiled form, the same one `tenet policy check` evaluates, so the
 * kernel and the check cannot disagree.
 *
 * A tenant with no policy attached to any network gets no fragment (and so no br_netfilter:
 * ADR 013), and only the rate limits of policies in force, which are none. With one, only the
 * networks whose flows a rule may decide get br_netfilter on their bridge (policy/tracked.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import type { FlowPredicate, TenantPolicy } from '../datapath/plan.js';
import type { Policy } from '../model/policy.js';
import type { Endpoint, Network } from '../model/types.js';
import { checkFlow } from '../policy/check.js';
import { compileTenant } from '../policy/compile.js';
import { renderNft, tableBody } from '../policy/render.js';
import { trackedNetworks } from '../policy/tracked.js';
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
  const vnis = new Map(networks.map((n) => [n.name, n.vni]));
  const tracked = trackedNetworks(compiled).flatMap((name) => vnis.get(name) ?? []);
  return { nft: { sets: declarations, chains: '', forwardRules: fragments.forwardRules, hash, tracked }, denies, rates: rates.size ? rates : undefined };
}

/**
 * One compiled policy per tenant, kept until its inputs change: a 10,000-rule policy takes
 * most of a second to compile (ADR 012), and an attach must not pay that again. A policy
 * compiled from inputs that only loosen the previous ones carries that one's hash (`loosens`).
 */
export class CompiledPolicies {
  private readonly byTenant = new Map<string, { key: string; basis: Basis; policy: TenantPolicy | undefined }>();

  get(tenant: string, networks: Network[], endpoints: Endpoint[], policies: Policy[]): TenantPolicy | undefined {
    const key = inputKey(networks, endpoints, policies);
    const known = this.byTenant.get(tenant);
    if (known?.key === key) return known.policy;
    const basis = basisOf(networks, endpoints, policies);
    const compiled = tenantPolicy(networks, endpoints, policies);
    const before = known?.policy?.nft?.hash;
    const policy = compiled && before !== undefined && loosens(known!.basis, basis) ? { ...compiled, loosens: before } : compiled;
    this.byTenant.set(tenant, { key, basis, policy });
    return policy;
  }
}

/** What compiling reads, and nothing else (an endpoint's status never recompiles). */
function inputKey(networks: Network[], endpoints: Endpoint[], policies: Policy[]): string {
  const h = createHash('sha256');
  hashScope(h, networks, endpoints);
  for (const p of policies) h.update(`p|${p.id}|${p.name}|${p.updatedAt}|${p.rules.length}|${JSON.stringify(p.rates)}\n`);
  return h.digest('hex');
}

/** Networks with their attachments, and endpoints with their addresses and labels. */
function hashScope(h: Hash, networks: Network[], endpoints: Endpoint[]): void {
  for (const n of networks) h.update(`n|${n.id}|${n.name}|${n.subnet}|${(n.policies ?? []).join(',')}\n`);
  for (const e of endpoints) h.update(`e|${e.id}|${e.networkId}|${e.ip}|${JSON.stringify(e.labels)}\n`);
}

/**
 * The inputs of a compile as `loosens` compares them: everything but the policies' rules in
 * one key (networks, their attachments, endpoints and their labels), and each policy's rules
 * by what decides a verdict (the text may differ in spacing; `log` decides nothing).
 */
export interface Basis {
  fixed: string;
  rules: Map<string, { allow: boolean; key: string }[]>;
}

export function basisOf(networks: Network[], endpoints: Endpoint[], policies: Policy[]): Basis {
  const h = createHash('sha256');
  hashScope(h, networks, endpoints);
  for (const p of policies) h.update(`p|${p.id}|${p.name}\n`);
  const rules = new Map(policies.map((p) => [p.id, p.rules.map((r) => ({ allow: r.action === 'allow', key: JSON.stringify([r.action, r.proto, r.from, r.to, r.ports, r.priority]) }))]));
  return { fixed: h.digest('hex'), rules };
}

/**
 * Whether `next` can deny no flow `prev` allowed. True when nothing but rules changed and, in
 * every policy, the rules that went were deny/reject and those that came are allow. Why that
 * is enough: the first matching rule decides (ascending priority). An added allow rule either
 * becomes a flow's first match, and allows it, or leaves its first match as it was; a removed
 * deny only changes the verdict of flows it denied. Which policies are in force (attachments)
 * and what a selector matches (networks, endpoints, labels) are in `fixed`, so they did not move.
 */
export function loosens(prev: Basis, next: Basis): boolean {
  if (prev.fixed !== next.fixed) return false;
  for (const [id, rules] of next.rules) {
    const left = new Map<string, number>();
    for (const r of prev.rules.get(id) ?? []) left.set(r.key, (left.get(r.key) ?? 0) + 1);
    for (const r of rules) {
      const n = left.get(r.key) ?? 0;
      if (n > 0) left.set(r.key, n - 1);
      else if (!r.allow) return false; // a deny or reject came
    }
    for (const [key, n] of left) if (n > 0 && JSON.parse(key)[0] === 'allow') return false; // an allow went
  }
  return true;
}
