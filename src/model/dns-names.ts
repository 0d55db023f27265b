/**
 * The names Tenet's DNS serves (issue 10), as one pure function of a tenant's networks and
 * endpoints: the agent's server answers from it and `tenet dns ls` lists it, so what the CLI
 * shows is what a workload gets. Names are case-insensitive (kept lowercase here).
 *
 * An endpoint is served while it is attached (it has an attachment and is not detached) and
 * named: `<endpoint>.<network>.<tenant>` is its full name; inside the tenant `<endpoint>.<network>`
 * and, inside its own network, `<endpoint>` name it too. Its address has a PTR to the full name.
 */
import type { Endpoint, Network } from './types.js';

export interface DnsRecord {
  /** Full name, lowercase, no trailing dot: "c2.red.admin". */
  fqdn: string;
  endpoint: string;
  network: string;
  tenant: string;
  ip: string;
  /** The reverse name of the address: "3.10.168.192.in-addr.arpa". */
  ptr: string;
  host?: string;
}

/** True when the endpoint has a name the server answers for now. */
export function servedByDns(e: Endpoint): boolean {
  return e.name !== undefined && e.name !== '' && e.attachment !== undefined && e.status !== 'detached';
}

export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** "3.10.168.192.in-addr.arpa" → "192.168.10.3"; undefined unless it names one IPv4 address. */
export function ipOfReverseName(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name.toLowerCase());
  if (!m) return undefined;
  const octets = m.slice(1, 5).reverse();
  return octets.every((o) => Number(o) <= 255 && String(Number(o)) === o) ? octets.join('.') : undefined;
}

/** The records of one tenant, sorted by full name (endpoints of other tenants are ignored). */
export function dnsRecords(tenant: string, networks: Iterable<Network>, endpoints: Iterable<Endpoint>): DnsRecord[] {
  const names = new Map([...networks].filter((n) => n.tenant === tenant).map((n) => [n.id, n.name]));
  const out: DnsRecord[] = [];
  for (const e of endpoints) {
    const network = names.get(e.networkId);
    if (e.tenant !== tenant || network === undefined || !servedByDns(e)) continue;
    const endpoint = e.name!.toLowerCase();
    out.push({ fqdn: `${endpoint}.${network}.${tenant}`, endpoint, network, tenant, ip: e.ip, ptr: reverseName(e.ip), host: e.host });
  }
  return out.sort((a, b) => a.fqdn.localeCompare(b.fqdn));
}
