/**
 * Name resolution inside one tenant (issue 10), pure: a query, the network it arrived on
 * and the tenant's records in, an outcome out. A zone is built from one tenant's records
 * only, so no name of another tenant can ever be found in it, whatever the names.
 *
 * The tenant's zone is: single-label names (short names, looked up in the network the
 * query arrived on), `<endpoint>.<network>` for the tenant's networks, everything under
 * `<tenant>`, and the reverse names of the tenant's subnets. Inside it an unknown name is
 * NXDOMAIN; a name outside it is REFUSED, or forwarded when the network has a DNS upstream
 * (answer.ts, forward.ts): Tenet is not an open resolver of its own. Endpoint names may hold dots (pod names): the longest reading wins.
 */
import { contains, parseCidr, parseIp, type Cidr } from '../base/cidr.js';
import { ipOfReverseName, type DnsRecord } from '../model/dns-names.js';

export type Outcome =
  | { kind: 'a'; ip: string }
  | { kind: 'ptr'; name: string }
  /** The name exists, but has no record of the asked type (AAAA of an endpoint). */
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  | { kind: 'refused' };

export interface ZoneNetwork {
  name: string;
  subnet: string;
  /** Where names outside the zone are forwarded from this network (issue 10), if anywhere. */
  dnsUpstream?: string;
}

export class TenantZone {
  private readonly byName = new Map<string, DnsRecord>();
  private readonly byIp = new Map<string, DnsRecord>();
  private readonly networks = new Set<string>();
  private readonly upstreams = new Map<string, string>();
  private readonly subnets: Cidr[];

  constructor(
    readonly tenant: string,
    networks: ZoneNetwork[],
    records: DnsRecord[],
  ) {
    for (const n of networks) {
      this.networks.add(n.name);
      if (n.dnsUpstream) this.upstreams.set(n.name, n.dnsUpstream);
    }
    this.subnets = networks.flatMap((n) => parseCidr(n.subnet) ?? []);
    for (const r of records) {
      if (r.tenant !== tenant) continue; // belt and braces: a zone holds one tenant only
      this.byName.set(`${r.network}\n${r.endpoint}`, r);
      this.byIp.set(r.ip, r);
    }
  }

  /** The DNS upstream of the tenant's network `network`, if it has one. */
  upstream(network: string): string | undefined {
    return this.upstreams.get(network);
  }

  /** `network`: the name of the network whose gateway the query was sent to. */
  resolve(qname: string, qtype: string, network: string): Outcome {
    const name = qname.toLowerCase().replace(/\.$/, '');
    if (name.endsWith('.in-addr.arpa')) return this.reverse(name, qtype);
    const found = this.forward(name, network);
    if (found === 'outside') return { kind: 'refused' };
    if (found === 'missing') return { kind: 'nxdomain' };
    if (found === 'node') return { kind: 'nodata' };
    return qtype === 'A' || qtype === 'ANY' ? { kind: 'a', ip: found.ip } : { kind: 'nodata' };
  }

  private forward(name: string, network: string): DnsRecord | 'node' | 'missing' | 'outside' {
    const suffix = `.${this.tenant}`;
    if (name === this.tenant) return 'node';
    const inTenant = name.endsWith(suffix);
    const full = inTenant ? this.qualified(name.slice(0, -suffix.length)) : undefined;
    if (full) return full;
    const qualified = this.qualified(name);
    if (qualified) return qualified;
    const short = this.byName.get(`${network}\n${name}`);
    if (short) return short;
    const last = name.slice(name.lastIndexOf('.') + 1);
    return inTenant || !name.includes('.') || this.networks.has(last) ? 'missing' : 'outside';
  }

  /** `<endpoint>.<network>`, or just `<network>` (a node of the zone with no address). */
  private qualified(name: string): DnsRecord | 'node' | undefined {
    if (this.networks.has(name)) return 'node';
    const dot = name.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const network = name.slice(dot + 1);
    return this.networks.has(network) ? this.byName.get(`${network}\n${name.slice(0, dot)}`) : undefined;
  }

  private reverse(name: string, qtype: string): Outcome {
    const ip = ipOfReverseName(name);
    const addr = ip === undefined ? undefined : parseIp(ip);
    if (addr === undefined || !this.subnets.some((s) => contains(s, addr))) return { kind: 'refused' };
    const r = this.byIp.get(ip!);
    if (!r) return { kind: 'nxdomain' };
    return qtype === 'PTR' || qtype === 'ANY' ? { kind: 'ptr', name: r.fqdn } : { kind: 'nodata' };
  }
}
