/**
 * The rules in force for a pair of sides, in evaluation order (src/model/policy.ts): the rules
 * of every policy attached to either side's network, by ascending priority, deny and reject
 * before allow at equal priority, then by policy name and rule index so the deciding rule is
 * the same everywhere. Rules that cannot select an address of their side are left out: they
 * could never match a flow of this pair.
 */
import type { Endpoint } from '../model/types.js';
import type { Policy, PolicyRule } from '../model/policy.js';
import { canSelect, resolveSelector, type Groups, type Resolved, type Side } from './resolve.js';
import type { NetRange, NetworkWithPolicies } from './types.js';

export interface InForce {
  rule: PolicyRule;
  policy: string;
  /** 1-based, in its policy. */
  index: number;
  from: Resolved;
  to: Resolved;
}

export interface Tenant {
  nets: NetRange[];
  attached: Map<string, Policy[]>;
  endpoints: Endpoint[];
  groups: Groups;
  /** Selectors resolved once per compile, not once per pair. */
  resolved: Map<PolicyRule, { from: Resolved; to: Resolved }>;
  /**
   * The rules of a set of policies (by their names), resolved and sorted once per compile: a
   * pair only filters them (filtering keeps the order). Sorting 10,000 rules for each of a
   * tenant's pairs cost most of a compile.
   */
  sorted: Map<string, InForce[]>;
}

/** Network name -> the policies attached to it (unknown names are skipped: the API refuses them). */
export function attachedPolicies(networks: NetworkWithPolicies[], policies: Policy[]): Map<string, Policy[]> {
  const byName = new Map(policies.map((p) => [p.name, p]));
  return new Map(networks.map((n) => [n.name, (n.policies ?? []).flatMap((name) => byName.get(name) ?? [])]));
}

export function policiesInForce(t: Tenant, src: Side, dst: Side): Policy[] {
  const names = new Map<string, Policy>();
  for (const side of [src, dst]) if (side !== 'outside') for (const p of t.attached.get(side.name) ?? []) names.set(p.name, p);
  return [...names.values()];
}

export function compareRules(a: InForce, b: InForce): number {
  const rank = (r: InForce) => (r.rule.action === 'allow' ? 1 : 0);
  return a.rule.priority - b.rule.priority || rank(a) - rank(b) || (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0) || a.index - b.index;
}

export function rulesInForce(t: Tenant, policies: Policy[], src: Side, dst: Side): InForce[] {
  return sortedRules(t, policies).filter((r) => canSelect(r.from, src, t.nets) && canSelect(r.to, dst, t.nets));
}

function sortedRules(t: Tenant, policies: Policy[]): InForce[] {
  const key = policies.map((p) => p.name).sort().join('\u0000');
  let all = t.sorted.get(key);
  if (!all) {
    all = policies.flatMap((p) => p.rules.map((rule, i) => ({ rule, policy: p.name, index: i + 1, ...resolved(t, rule) }))).sort(compareRules);
    t.sorted.set(key, all);
  }
  return all;
}

function resolved(t: Tenant, rule: PolicyRule): { from: Resolved; to: Resolved } {
  let r = t.resolved.get(rule);
  if (!r) {
    r = { from: resolveSelector(rule.from, t.nets, t.endpoints, t.groups), to: resolveSelector(rule.to, t.nets, t.endpoints, t.groups) };
    t.resolved.set(rule, r);
  }
  return r;
}
