/**
 * Published ports (ADR 015), as a pure plan: host port → endpoint address and port. Shared by
 * Docker's ProgramExternalConnectivity, `tenet ep expose` and CNI portMappings.
 *
 * An endpoint's address lives in its tenant namespace, and tenants may use the same subnets,
 * so the host cannot route to it. Two DNAT steps instead: the host (table `ip tenet-nat`)
 * DNATs the host port to its tenant's transit address, the tenant end of a veth pair between
 * the host and the tenant namespace (one pair per tenant with published ports, a /30 from
 * 169.254.128.0/17), and masquerades to its own end, so replies come back through the pair;
 * the tenant namespace (table `ip tenet-ports`) DNATs again, from the pair to the endpoint.
 */
import { createHash } from 'node:crypto';
import type { PublishedPort } from '../model/types.js';
import { tenantNs } from './names.js';

/** An endpoint's published port (model/types.ts), as the plan takes it. */
export type PortMapping = PublishedPort;

export interface PublishedEndpoint {
  id: string;
  tenant: string;
  ip: string;
  ports: PortMapping[];
}

export interface TransitLink {
  tenant: string;
  ns: string;
  hostIf: string;
  nsIf: string;
  hostAddr: string;
  nsAddr: string;
}

export interface PortPlan {
  links: TransitLink[];
  /** `nft -f` script replacing the host's `ip tenet-nat` (deleting it when nothing is published). */
  hostScript: string;
  /** Per tenant namespace with published ports: the script replacing its `ip tenet-ports`. */
  tenantScripts: Map<string, string>;
}

export const HOST_TABLE = 'tenet-nat';
export const TENANT_TABLE = 'tenet-ports';
const SLOTS = 8192; // /30s in 169.254.128.0/17
const hash8 = (tenant: string) => createHash('sha1').update(tenant).digest('hex').slice(0, 8);
export const isTransitHostIf = (name: string): boolean => /^tpx[0-9a-f]{8}$/.test(name);

export function planPorts(endpoints: PublishedEndpoint[], nsPrefix: string): PortPlan {
  const tenants = [...new Set(endpoints.filter((e) => e.ports.length > 0).map((e) => e.tenant))].sort();
  const links = transitLinks(tenants, nsPrefix);
  const byTenant = new Map(links.map((l) => [l.tenant, l]));
  const hostRules: string[] = [];
  const tenantRules = new Map<string, string[]>();
  for (const e of endpoints) {
    const link = byTenant.get(e.tenant);
    if (!link) continue;
    for (const p of e.ports) {
      const dst = p.hostIp ? `ip daddr ${p.hostIp}` : `ip daddr != 127.0.0.0/8 fib daddr type local`;
      hostRules.push(`${dst} ${p.proto} dport ${p.hostPort} dnat to ${link.nsAddr}:${p.hostPort}`);
      const rules = tenantRules.get(link.ns) ?? [];
      rules.push(`iifname "${link.nsIf}" ip daddr ${link.nsAddr} ${p.proto} dport ${p.hostPort} dnat to ${e.ip}:${p.port}`);
      tenantRules.set(link.ns, rules);
    }
  }
  return { links, hostScript: hostScript(hostRules, links), tenantScripts: new Map([...tenantRules].map(([ns, r]) => [ns, tenantScript(r)])) };
}

/** One /30 per tenant, slot from a hash of its name, probing past a slot another tenant here took. */
function transitLinks(tenants: string[], nsPrefix: string): TransitLink[] {
  const taken = new Set<number>();
  return tenants.map((tenant) => {
    const h = hash8(tenant);
    let slot = parseInt(h, 16) % SLOTS;
    while (taken.has(slot)) slot = (slot + 1) % SLOTS;
    taken.add(slot);
    const base = (169 << 24) + (254 << 16) + (128 << 8) + slot * 4;
    return { tenant, ns: tenantNs(nsPrefix, tenant), hostIf: `tpx${h}`, nsIf: `tpi${h}`, hostAddr: dotted(base + 1), nsAddr: dotted(base + 2) };
  });
}

const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

function replace(family: string, table: string, body: string[]): string {
  return [`table ${family} ${table} {}`, `delete table ${family} ${table}`, ...(body.length ? [`table ${family} ${table} {`, ...body, `}`] : [])].join('\n') + '\n';
}

function hostScript(rules: string[], links: TransitLink[]): string {
  if (rules.length === 0) return replace('ip', HOST_TABLE, []);
  const ifs = links.map((l) => `"${l.hostIf}"`).join(', ');
  return replace('ip', HOST_TABLE, [
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    ...rules.map((r) => `    ${r}`),
    `  }`,
    `  chain output {`,
    `    type nat hook output priority -100; policy accept;`,
    ...rules.map((r) => `    ${r}`),
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    oifname { ${ifs} } masquerade`,
    `  }`,
  ]);
}

function tenantScript(rules: string[]): string {
  return replace('ip', TENANT_TABLE, [`  chain prerouting {`, `    type nat hook prerouting priority dstnat; policy accept;`, ...rules.map((r) => `    ${r}`), `  }`]);
}

/** Removes the tenant namespace's table (no published port left in it). */
export const dropTenantTable = (): string => replace('ip', TENANT_TABLE, []);
