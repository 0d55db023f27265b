/**
 * Rate limits (issue 7): which endpoint gets which limit. A policy's RateLimit names its
 * targets with a selector (net:, group:, ep:, cidr:, any); this resolves them to endpoints,
 * purely, for the plan (datapath/plan.ts PortRate). When several limits match one endpoint,
 * the lowest wins, per direction: a limit is a promise that no more passes, so the strictest
 * one is the only one that keeps every promise.
 */
import { contains, parseCidr, parseIp } from '../base/cidr.js';
import type { Policy, Selector } from '../model/policy.js';
import type { Endpoint, Network } from '../model/types.js';

export interface ResolvedRate {
  egressBps?: number;
  ingressBps?: number;
}

/**
 * Endpoint id → its limits. `inForce(policy, endpoint)`: whether the policy applies to the
 * endpoint (by default: same tenant; the agent passes "attached to the endpoint's network").
 */
export function resolveRates(
  policies: Policy[],
  endpoints: Endpoint[],
  networks: Network[],
  inForce: (p: Policy, e: Endpoint) => boolean = (p, e) => p.tenant === e.tenant,
): Map<string, ResolvedRate> {
  const netName = new Map(networks.map((n) => [n.id, n]));
  const out = new Map<string, ResolvedRate>();
  for (const p of policies) {
    for (const limit of p.rates) {
      for (const e of endpoints) {
        if (e.tenant !== p.tenant || !inForce(p, e) || !selects(limit.target, e, netName.get(e.networkId))) continue;
        const r = out.get(e.id) ?? {};
        out.set(e.id, { egressBps: lowest(r.egressBps, limit.egressBps), ingressBps: lowest(r.ingressBps, limit.ingressBps) });
      }
    }
  }
  for (const [id, r] of out) out.set(id, Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as ResolvedRate);
  return out;
}

function lowest(a: number | undefined, b: number | undefined): number | undefined {
  const valid = [a, b].filter((x): x is number => x !== undefined && x > 0);
  return valid.length ? Math.min(...valid) : undefined;
}

function selects(s: Selector, e: Endpoint, net: Network | undefined): boolean {
  switch (s.kind) {
    case 'any':
      return true;
    case 'net':
      return net?.name === s.name;
    case 'group':
      return e.labels?.[s.key] === s.value;
    case 'ep':
      return e.id === s.id;
    case 'cidr': {
      const c = parseCidr(s.cidr);
      const ip = parseIp(e.ip);
      return c !== undefined && ip !== undefined && contains(c, ip);
    }
  }
}
