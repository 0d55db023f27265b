/**
 * The agent's DNS service (issue 10, ADR 019): one server per network of every tenant with
 * an endpoint on this host, listening on the network's gateway address, port 53, inside the
 * tenant's namespace, answering from the agent's cache (which the watch keeps current, and
 * which holds the tenant's endpoints on every host).
 *
 * After each reconcile (the datapath has made the namespaces and gateway addresses) `sync`
 * binds what is missing, one short-lived child per namespace (ns-sockets.ts), and closes
 * what is no longer wanted. A server is keyed by namespace identity too: a tenant namespace
 * deleted and made again under the same name gets new sockets. Zones are rebuilt lazily
 * after a watch message, so answers follow attaches and detaches at once; so does a
 * network's DNS upstream (names outside the zone are forwarded there, from this namespace).
 */
import { CoalescedRunner } from '../base/async.js';
import type { Logger } from '../base/logger.js';
import { NETNS_DIR } from '../datapath/observe.js';
import { tenantNs } from '../datapath/names.js';
import { identityText, namespaceIdentity } from '../datapath/ns-identity.js';
import { Forwarder } from '../dns/forward.js';
import { DEFAULT_LIMITS, SourceLimiter, type LimitOptions } from '../dns/limits.js';
import { NetworkDnsServer } from '../dns/server.js';
import { DnsStats } from '../dns/stats.js';
import { TenantZone } from '../dns/zone.js';
import { dnsRecords } from '../model/dns-names.js';
import type { Network } from '../model/types.js';
import type { ObjectCache } from './cache.js';
import { bindInNamespace, type BoundSocket, type SocketRequest } from './ns-sockets.js';

export const DNS_PORT = 53;
/** A namespace whose bind failed (its address not up yet) is tried again after this. */
const RETRY_MS = 1_000;

export interface DnsServiceOptions {
  host: string;
  nsPrefix: string;
  cache: ObjectCache;
  logger: Logger;
  port?: number;
  limits?: LimitOptions;
  /** Binds sockets in a namespace (a fake in unit tests). */
  bind?: typeof bindInNamespace;
}

interface Running {
  server: NetworkDnsServer;
  nsId: string;
}

interface Wanted {
  key: string;
  tenant: string;
  network: Network;
  ns: string;
}

export class DnsService {
  readonly stats: DnsStats;
  /** One for every network of the host: queries leave from the agent's namespace (forward.ts). */
  private readonly forwarder = new Forwarder();
  private readonly servers = new Map<string, Running>();
  private readonly zones = new Map<string, TenantZone>();
  private readonly syncer = new CoalescedRunner(() => this.sync(), (err) => this.opts.logger.error({ err: err.message }, 'DNS sync failed; will retry on the next reconcile'));
  private retry?: NodeJS.Timeout;
  private stopped = false;
  /** How long the last bind of each namespace took, in ms (ADR 019 measures it). */
  readonly bindMs = new Map<string, number>();

  constructor(private readonly opts: DnsServiceOptions) {
    this.stats = new DnsStats(opts.logger.child({ component: 'dns' }));
  }

  /** A watch message arrived: zones are rebuilt from the cache on their next query. */
  viewChanged(): void {
    this.zones.clear();
  }

  /** Brings the servers in line with the cache, in the background (coalesced). */
  reconciled(): void {
    this.zones.clear();
    if (this.stopped) return;
    this.syncer.request();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const r of this.servers.values()) r.server.close();
    this.servers.clear();
    this.forwarder.close();
  }

  /** The tenant's zone now, from the cache (memoized until the next watch message). */
  zone(tenant: string): TenantZone | undefined {
    let z = this.zones.get(tenant);
    if (z) return z;
    if (!this.opts.cache.tenants.has(tenant)) return undefined;
    const { networks, endpoints } = this.opts.cache.scopeOf([tenant]);
    z = new TenantZone(tenant, networks, dnsRecords(tenant, networks, endpoints));
    this.zones.set(tenant, z);
    return z;
  }

  /** Keys of the servers running now: "<tenant>/<network>@<gateway>". */
  get listening(): string[] {
    return [...this.servers.keys()].sort();
  }

  private wanted(): Wanted[] {
    const out: Wanted[] = [];
    for (const tenant of this.opts.cache.tenantsOn(this.opts.host)) {
      for (const network of this.opts.cache.scopeOf([tenant]).networks) {
        out.push({ key: `${tenant}/${network.name}@${network.gateway}`, tenant, network, ns: tenantNs(this.opts.nsPrefix, tenant) });
      }
    }
    return out;
  }

  private async sync(): Promise<void> {
    const wanted = this.wanted();
    const nsIds = new Map<string, string | undefined>();
    for (const ns of new Set(wanted.map((w) => w.ns))) nsIds.set(ns, await namespaceIdentity(`${NETNS_DIR}/${ns}`).then(identityText, () => undefined));
    const keep = new Set(wanted.filter((w) => this.servers.get(w.key)?.nsId === nsIds.get(w.ns)).map((w) => w.key));
    for (const [key, r] of this.servers) {
      if (keep.has(key)) continue;
      r.server.close();
      this.servers.delete(key);
    }
    const missing = wanted.filter((w) => !keep.has(w.key) && nsIds.get(w.ns) !== undefined);
    const byNs = new Map<string, Wanted[]>();
    for (const w of missing) byNs.set(w.ns, [...(byNs.get(w.ns) ?? []), w]);
    const results = await Promise.all([...byNs].map(([ns, ws]) => this.bindNamespace(ns, nsIds.get(ns)!, ws)));
    if (results.includes(false) && !this.stopped) {
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.reconciled(), RETRY_MS);
    }
  }

  /** Binds the servers of `ws` (all in `ns`); false when any could not be bound. */
  private async bindNamespace(ns: string, nsId: string, ws: Wanted[]): Promise<boolean> {
    const port = this.opts.port ?? DNS_PORT;
    const requests: SocketRequest[] = ws.flatMap((w) => [
      { key: `udp ${w.key}`, proto: 'udp' as const, address: w.network.gateway, port },
      { key: `tcp ${w.key}`, proto: 'tcp' as const, address: w.network.gateway, port },
    ]);
    const started = performance.now();
    const bound = await (this.opts.bind ?? bindInNamespace)(`${NETNS_DIR}/${ns}`, requests);
    this.bindMs.set(ns, Math.round(performance.now() - started));
    const byKey = new Map(bound.map((b) => [b.key, b]));
    let ok = true;
    for (const w of ws) ok = this.start(w, nsId, byKey.get(`udp ${w.key}`), byKey.get(`tcp ${w.key}`)) && ok;
    return ok;
  }

  private start(w: Wanted, nsId: string, udp?: BoundSocket, tcp?: BoundSocket): boolean {
    const udpSock = udp?.ok ? udp.udp : undefined;
    const tcpServer = tcp?.ok ? tcp.tcp : undefined;
    if (!udpSock || !tcpServer || this.stopped) {
      udpSock?.close();
      tcpServer?.close();
      const error = [udp, tcp].map((b) => (b && !b.ok ? b.error : '')).filter((e) => e).join('; ');
      // Before the first reconcile of a new tenant its gateway address is not there yet: expected.
      const level = /EADDRNOTAVAIL/.test(error) ? 'info' : 'warn';
      if (!this.stopped) this.opts.logger[level]({ server: w.key, err: error || 'no socket' }, 'DNS server not bound; retrying');
      return false;
    }
    const limiter = new SourceLimiter(this.opts.limits ?? DEFAULT_LIMITS);
    const zone = () => this.zone(w.tenant);
    const server = new NetworkDnsServer(udpSock, tcpServer, { tenant: w.tenant, network: w.network.name, zone, stats: this.stats, limiter, logger: this.opts.logger, forwarder: this.forwarder });
    this.servers.get(w.key)?.server.close();
    this.servers.set(w.key, { server, nsId });
    this.opts.logger.info({ server: w.key }, 'DNS server listening');
    return true;
  }
}
