/**
 * What policy writes check against the rest of the tenant (issue 7): every net: selector of a
 * rule or a rate target names a network of the tenant (NETWORK_NOT_FOUND at create/update
 * time, so a typo never becomes a rule that silently matches nothing), and a policy never
 * grows past its ceilings.
 */
import { TenetError } from '../model/errors.js';
import { MAX_POLICY_RATES, MAX_POLICY_RULES } from '../model/limits.js';
import type { PolicyRule, Selector } from '../model/policy.js';
import type { Network } from '../model/types.js';
import { quoteValue } from '../model/validate.js';

/** Fails on the first net: selector naming no network of the tenant; `where(i)` names the rule. */
export function checkNetworkRefs(tenant: string, selectors: Selector[][], networks: Network[], where: (i: number) => string): void {
  const names = new Set(networks.map((n) => n.name));
  selectors.forEach((sels, i) => {
    for (const s of sels) {
      if (s.kind === 'net' && !names.has(s.name)) {
        throw new TenetError('NETWORK_NOT_FOUND', `${where(i)}: tenant ${tenant} has no network named ${quoteValue(s.name)}`, 'create it first (tenet net create) or fix the name');
      }
    }
  });
}

export const ruleSelectors = (rules: PolicyRule[]): Selector[][] => rules.map((r) => [r.from, r.to]);

export function checkRuleCount(n: number): void {
  if (n > MAX_POLICY_RULES) {
    throw new TenetError('TOO_MANY_RULES', `a policy may hold at most ${MAX_POLICY_RULES} rules (this one would hold ${n})`, 'split the rules over several policies');
  }
}

export function checkRateCount(n: number): void {
  if (n > MAX_POLICY_RATES) throw new TenetError('INVALID_RATE', `a policy may hold at most ${MAX_POLICY_RATES} rate limits (this one would hold ${n})`, 'remove some');
}
