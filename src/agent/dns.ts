/**
 * The agent's DNS service (issue 10, ADR 019): one server per network of every tenant with
 * an endpoint on this host, listening on the network's gateway address, port 53, inside the
 * tenant's namespace, answering from the agent's cache (which the watch keeps current, and
 * which holds the tenant's endpoints on every host).
 *
 * The servers follow the cache as ns-services.ts says (bound after each reconcile by a
 * short-lived child per namespace, keyed by namespace identity too). Zones are rebuilt lazily
 * after a watch message, so answers follow attaches and detaches at once; so does a
 * network's DNS upstream (names outside the zone are forwarded there, from this namespace).
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import type { Logger } from '../base/logger.js';
import { tenantNs } from '../datapath/names.js';
import { Forwarder } from '../dns/forward.js';
import { DEFAULT_LIMITS, SourceLimiter, type LimitOptions } from '../dns/limits.js';
import { NetworkDnsServer } from '../dns/server.js';
import { DnsStats } from '../dns/stats.js';
import { TenantZone, type ZoneNetwork } from '../dns/zone.js';
import { dnsRecords, type DnsRecord } from '../model/dns-names.js';
import type { Network } from '../model/types.js';
import type { ObjectCache } from './cache.js';
import type { bindInNamespace } from './ns-sockets.js';
import { NamespaceServers, type Bound, type WantedServer } from './ns-services.js';

export const DNS_PORT = 53;

export interface DnsServiceOptions {
  host: string;
  nsPrefix: string;
  cache: ObjectCache;
  logger: Logger;
  port?: number;
  limits?: LimitOptions;
  /** Binds sockets in a namespace (a fake in unit tests). */
  bind?: typeof bindInNamespace;
  /** Called after a sync left every server running (the socket handoff, ns-socket-handoff.ts). */
  onComplete?: () => void;
}

interface Wanted extends WantedServer {
  tenant: string;
  network: Network;
}

/** What a parked DNS socket needs to keep answering without the agent (ns-socket-parker.ts). */
export interface ParkedDns {
  kind: 'dns';
  tenant: string;
  /** The tenant namespace's name: the parker leaves when none of its namespaces is left. */
  ns: string;
  network: string;
  zone: { networks: ZoneNetwork[]; records: DnsRecord[] };
}

export class DnsService {
  readonly stats: DnsStats;
  /** One for every network of the host: queries leave from the agent's namespace (forward.ts). */
  private readonly forwarder = new Forwarder();
  private readonly zones = new Map<string, TenantZone>();
  private readonly servers: NamespaceServers<Wanted, NetworkDnsServer>;

  constructor(private readonly opts: DnsServiceOptions) {
    this.stats = new DnsStats(opts.logger.child({ component: 'dns' }));
    const attach = (server: NetworkDnsServer, _i: number, b: Bound) => {
      if (b.tcp) server.listenTcp(b.tcp);
    };
    const hooks = { name: 'DNS', logger: opts.logger, wanted: () => this.wanted(), start: (w: Wanted, s: Bound[]) => this.start(w, s), attach };
    this.servers = new NamespaceServers({ ...hooks, ...(opts.bind ? { bind: opts.bind } : {}), ...(opts.onComplete ? { onComplete: opts.onComplete } : {}) });
  }

  /** How long the last bind of each namespace took, in ms (ADR 019 measures it). */
  get bindMs(): Map<string, number> {
    return this.servers.bindMs;
  }

  /** A watch message arrived: zones are rebuilt from the cache on their next query. */
  viewChanged(): void {
    this.zones.clear();
  }

  /** Brings the servers in line with the cache, in the background (coalesced). */
  reconciled(): void {
    this.zones.clear();
    this.servers.request();
  }

  stop(): void {
    this.servers.stop();
    this.forwarder.close();
  }

  /** The tenant's zone now, from the cache (memoized until the next watch message). */
  zone(tenant: string): TenantZone | undefined {
    let z = this.zones.get(tenant);
    if (z) return z;
    const inputs = this.zoneInputs(tenant);
    if (!inputs) return undefined;
    z = new TenantZone(tenant, inputs.networks, inputs.records);
    this.zones.set(tenant, z);
    return z;
  }

  /** Keys of the servers running now: "<tenant>/<network>@<gateway>". */
  get listening(): string[] {
    return this.servers.keys;
  }

  /** Each server's sockets (UDP, and TCP when bound) with what it serves, for the parker that answers while the agent restarts. */
  parkable(): { udp: dgram.Socket; tcp?: net.Server; spec: ParkedDns }[] {
    return this.servers.servers.flatMap(({ wanted: w, sockets }) => {
      const zone = this.zoneInputs(w.tenant);
      const tcp = sockets[1]?.tcp;
      return sockets[0]?.udp && zone ? [{ udp: sockets[0].udp, ...(tcp ? { tcp } : {}), spec: { kind: 'dns' as const, tenant: w.tenant, ns: w.ns, network: w.network.name, zone } }] : [];
    });
  }

  private zoneInputs(tenant: string): ParkedDns['zone'] | undefined {
    if (!this.opts.cache.tenants.has(tenant)) return undefined;
    const { networks, endpoints } = this.opts.cache.scopeOf([tenant]);
    const zoneNets = networks.map((n) => ({ name: n.name, subnet: n.subnet, ...(n.dnsUpstream ? { dnsUpstream: n.dnsUpstream } : {}) }));
    return { networks: zoneNets, records: dnsRecords(tenant, networks, endpoints) };
  }

  private wanted(): Wanted[] {
    const out: Wanted[] = [];
    const port = this.opts.port ?? DNS_PORT;
    for (const tenant of this.opts.cache.tenantsOn(this.opts.host)) {
      for (const network of this.opts.cache.scopeOf([tenant]).networks) {
        const key = `${tenant}/${network.name}@${network.gateway}`;
        const requests = [
          { key: `udp ${key}`, proto: 'udp' as const, address: network.gateway, port },
          // Optional: after a clean restart the parker holds it until this agent's UDP servers run (ADR 024).
          { key: `tcp ${key}`, proto: 'tcp' as const, address: network.gateway, port, optional: true },
        ];
        out.push({ key, tenant, network, ns: tenantNs(this.opts.nsPrefix, tenant), requests });
      }
    }
    return out;
  }

  private start(w: Wanted, [udp, tcp]: Bound[]): NetworkDnsServer {
    const limiter = new SourceLimiter(this.opts.limits ?? DEFAULT_LIMITS);
    const zone = () => this.zone(w.tenant);
    return new NetworkDnsServer(udp!.udp!, tcp?.tcp, { tenant: w.tenant, network: w.network.name, zone, stats: this.stats, limiter, logger: this.opts.logger, forwarder: this.forwarder });
  }
}
