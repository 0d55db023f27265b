/**
 * Selectors resolved to addresses (docs/adr/012): net:NAME is its subnet, cidr itself, ep:ID
 * the endpoint's address, any all of IPv4, group:k=v a named set of the addresses of the
 * tenant's endpoints carrying that label. Groups stay named sets so a rule between two groups
 * costs two lookups, not the product of their members.
 */
import { maskOf, parseCidr, parseIp, size } from '../base/cidr.js';
import type { Selector } from '../model/policy.js';
import type { Endpoint } from '../model/types.js';
import type { AddrRange, NetRange, NetworkWithPolicies } from './types.js';

export const ALL: AddrRange = { from: 0, to: 0xffffffff };

/** A side of a flow: a network's subnet, or everything outside every subnet of the tenant. */
export type Side = NetRange | 'outside';

export type Resolved = { kind: 'ranges'; ranges: AddrRange[] } | { kind: 'group'; name: string; members: number[] };

export function cidrRange(text: string): AddrRange | undefined {
  const c = parseCidr(text);
  return c && { from: c.base, to: c.base + size(c) - 1 };
}

export function netRanges(networks: NetworkWithPolicies[]): NetRange[] {
  return networks
    .flatMap((n) => {
      const r = cidrRange(n.subnet);
      return r ? [{ ...r, name: n.name, subnet: n.subnet }] : [];
    })
    .sort((a, b) => a.from - b.from);
}

/** The network whose subnet holds `addr` (tenant subnets never overlap). */
export function networkOf(nets: NetRange[], addr: number): NetRange | undefined {
  return nets.find((n) => addr >= n.from && addr <= n.to);
}

/** Group selectors get one named set each, named in order of first use. */
export class Groups {
  readonly sets: Record<string, number[]> = {};
  private readonly byLabel = new Map<string, string>();
  constructor(private readonly endpoints: Endpoint[]) {}

  resolve(key: string, value: string): { name: string; members: number[] } {
    const label = `${key}=${value}`;
    let name = this.byLabel.get(label);
    if (!name) {
      name = `pol_g${this.byLabel.size}`;
      this.byLabel.set(label, name);
      const ips = this.endpoints.filter((e) => e.labels[key] === value).map((e) => parseIp(e.ip));
      this.sets[name] = [...new Set(ips.filter((ip): ip is number => ip !== undefined))].sort((a, b) => a - b);
    }
    return { name, members: this.sets[name]! };
  }
}

export function resolveSelector(s: Selector, nets: NetRange[], endpoints: Endpoint[], groups: Groups): Resolved {
  const ranges = (r: AddrRange | undefined): Resolved => ({ kind: 'ranges', ranges: r ? [r] : [] });
  switch (s.kind) {
    case 'any':
      return ranges(ALL);
    case 'net':
      return ranges(nets.find((n) => n.name === s.name));
    case 'cidr':
      return ranges(cidrRange(s.cidr));
    case 'ep': {
      const ip = parseIp(endpoints.find((e) => e.id === s.id)?.ip ?? '');
      return ranges(ip === undefined ? undefined : { from: ip, to: ip });
    }
    case 'group':
      return { kind: 'group', ...groups.resolve(s.key, s.value) };
  }
}

/** Could an address on `side` be selected? (Conservative for `outside`: a kept rule that cannot match costs a lookup, never a wrong verdict.) */
export function canSelect(r: Resolved, side: Side, nets: NetRange[]): boolean {
  if (side === 'outside') {
    if (r.kind === 'group') return r.members.some((ip) => !networkOf(nets, ip));
    return r.ranges.some((x) => !nets.some((n) => x.from >= n.from && x.to <= n.to));
  }
  if (r.kind === 'group') return r.members.some((ip) => ip >= side.from && ip <= side.to);
  return r.ranges.some((x) => x.from <= side.to && x.to >= side.from);
}

/** "a.b.c.d/n" when the range is a prefix, else "a.b.c.d-e.f.g.h". */
export function rangeText(r: AddrRange, ip: (n: number) => string): string {
  const len = 32 - Math.log2(r.to - r.from + 1);
  if (Number.isInteger(len) && ((r.from & ~maskOf(len)) >>> 0) === 0) return `${ip(r.from)}/${len}`;
  return `${ip(r.from)}-${ip(r.to)}`;
}
