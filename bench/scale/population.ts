/**
 * Who runs where: a seeded, skewed spread of tenants and endpoints over simulated hosts,
 * written down so a run can be repeated and compared.
 *
 * Tiers (shares of the tenants; at the default 1,000 tenants / 100,000 endpoints / 1,000 hosts):
 * - large, 1 % (10 tenants): the endpoints left after the other tiers (~7,300 each, weights
 *   uniform 0.5–1.5), each over 20–40 % of the hosts (200–400 hosts);
 * - medium, 9 % (90 tenants): 25 % of the endpoints (~280 each, weights 0.5–1.5), each over
 *   2–6 % of the hosts (20–60 hosts);
 * - small, 90 % (900 tenants): 2–8 endpoints each (mean 5, ~4,500 in all) over 1–3 hosts.
 * Each tenant has one network (10.0.0.0/N sized for twice its endpoints) and picks its hosts
 * at random without repeats; its endpoints go round-robin over them. The seed is fixed (1).
 */
import { rng } from '../../src/base/random.js';

export type Tier = 'large' | 'medium' | 'small';

export interface TenantSpec {
  name: string;
  tier: Tier;
  endpoints: number;
  hosts: string[];
  subnet: string;
}

export interface Population {
  hosts: string[];
  tenants: TenantSpec[];
}

export const NETWORK = 'net';

export { rng };

export const hostName = (i: number): string => `sim-${String(i).padStart(4, '0')}`;

export function planPopulation(hostCount: number, endpointCount: number, tenantCount: number, seed = 1): Population {
  const rand = rng(seed);
  const between = (lo: number, hi: number) => lo + rand() * (hi - lo);
  const int = (lo: number, hi: number) => Math.floor(between(lo, hi + 1));
  const hosts = Array.from({ length: hostCount }, (_, i) => hostName(i));
  const large = Math.max(1, Math.round(tenantCount * 0.01));
  const medium = Math.min(tenantCount - large, Math.round(tenantCount * 0.09));
  const small = tenantCount - large - medium;
  const counts: number[] = [];
  const tiers: Tier[] = [];
  for (let i = 0; i < small; i++) (counts.push(int(2, 8)), tiers.push('small'));
  const smallTotal = counts.reduce((a, b) => a + b, 0);
  const spread = (n: number, total: number, tier: Tier) => {
    const w = Array.from({ length: n }, () => between(0.5, 1.5));
    const sum = w.reduce((a, b) => a + b, 0);
    for (const x of w) (counts.push(Math.max(1, Math.round((x / sum) * total))), tiers.push(tier));
  };
  const mediumTotal = Math.round(endpointCount * 0.25);
  spread(medium, mediumTotal, 'medium');
  spread(large, Math.max(large, endpointCount - smallTotal - mediumTotal), 'large');
  // Rounding may leave the total a little off: settle the difference on the largest tenant.
  const last = counts.length - 1;
  counts[last] = Math.max(1, counts[last]! + endpointCount - counts.reduce((a, b) => a + b, 0));
  const tenants = counts.map((n, i) => {
    const tier = tiers[i]!;
    const want = tier === 'small' ? int(1, 3) : tier === 'medium' ? Math.round(hostCount * between(0.02, 0.06)) : Math.round(hostCount * between(0.2, 0.4));
    const picked = pick(hosts, Math.max(1, Math.min(want, n, hostCount)), rand);
    return { name: `t${String(i).padStart(4, '0')}-${tier}`, tier, endpoints: n, hosts: picked, subnet: subnetFor(n) };
  });
  return { hosts, tenants: tenants.reverse() }; // large first: the summary reads top-down
}

function pick<T>(xs: T[], n: number, rand: () => number): T[] {
  const a = [...xs];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

function subnetFor(endpoints: number): string {
  const bits = Math.max(4, Math.ceil(Math.log2(endpoints * 2 + 64)));
  return `10.0.0.0/${32 - Math.min(bits, 16)}`;
}

/** Hosts each tenant lives on: the hosts concerned by a change in it. */
export function tenantsOfHost(pop: Population): Map<string, string[]> {
  const m = new Map<string, string[]>(pop.hosts.map((h) => [h, []]));
  for (const t of pop.tenants) for (const h of t.hosts) m.get(h)!.push(t.name);
  return m;
}

export function describe(pop: Population): string[] {
  const lines: string[] = [];
  for (const tier of ['large', 'medium', 'small'] as Tier[]) {
    const ts = pop.tenants.filter((t) => t.tier === tier);
    if (ts.length === 0) continue;
    const eps = ts.map((t) => t.endpoints);
    const hs = ts.map((t) => t.hosts.length);
    lines.push(`${tier}: ${ts.length} tenants, ${eps.reduce((a, b) => a + b, 0)} endpoints (${Math.min(...eps)}–${Math.max(...eps)} each) over ${Math.min(...hs)}–${Math.max(...hs)} hosts each`);
  }
  const perHost = [...tenantsOfHost(pop).values()].map((ts) => ts.length).sort((a, b) => a - b);
  lines.push(`tenants per host: median ${perHost[perHost.length >> 1]}, max ${perHost[perHost.length - 1]}; hosts with none: ${perHost.filter((n) => n === 0).length}`);
  return lines;
}
