/**
 * The agent's DHCP service (issue 10, ADR 020): one server per tenant namespace on this host,
 * a UDP socket on 0.0.0.0:67 bound there by a short-lived child (ns-sockets.ts, ADR 019),
 * answering the endpoints of this host by MAC with their Tenet address, from the agent's
 * cache. Like DnsService: `reconciled` binds what is missing and closes what is no longer
 * wanted (keyed by namespace identity, so a namespace made again gets a new socket); the
 * MAC index is rebuilt lazily after a watch message, so a new endpoint is answered at once.
 *
 * Only endpoints placed on THIS host are answered: a DISCOVER flooded over VXLAN reaches
 * the other hosts' bridges too, and their agents must stay silent.
 */
import { CoalescedRunner } from '../base/async.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../base/logger.js';
import { DEFAULT_DHCP_LIMITS, DhcpLimiter, type DhcpLimits } from '../dhcp/limits.js';
import { DEFAULT_LEASE_SECONDS, type Binding } from '../dhcp/respond.js';
import { TenantDhcpServer } from '../dhcp/server.js';
import { DhcpStats } from '../dhcp/stats.js';
import { SERVER_PORT } from '../dhcp/wire.js';
import { NETNS_DIR } from '../datapath/observe.js';
import { bridgeName, tenantNs } from '../datapath/names.js';
import { identityText, namespaceIdentity } from '../datapath/ns-identity.js';
import { networkMtu } from '../datapath/plan.js';
import type { Network } from '../model/types.js';
import type { ObjectCache } from './cache.js';
import { bindInNamespace } from './ns-sockets.js';

const RETRY_MS = 1_000;
/** Until this host's object arrives (it always does before its endpoints matter). */
const FALLBACK_UNDERLAY_MTU = 1500;
const run = promisify(execFile);

/** A binding, plus where its network lives in the namespace. */
export interface HostBinding extends Binding {
  ns: string;
  bridge: string;
}

export interface DhcpServiceOptions {
  host: string;
  nsPrefix: string;
  cache: ObjectCache;
  logger: Logger;
  port?: number;
  clientPort?: number;
  leaseSeconds?: number;
  limits?: DhcpLimits;
  bind?: typeof bindInNamespace;
  /** Makes `ip` resolve to `mac` on the bridge (default: `ip neigh replace … nud stale`). */
  reach?: (b: HostBinding, ip: string, mac: string) => Promise<void>;
}

interface Running {
  server: TenantDhcpServer;
  nsId: string;
}

/** The search list a lease carries: `<network>.<tenant>` then `<tenant>` (ADR 020). */
export function searchList(tenant: string, network: string): string[] {
  return [`${network}.${tenant}`, tenant];
}

/**
 * A STALE entry, not a permanent one: the kernel sends to it at once, then checks it by ARP
 * and forgets it if nobody answers, so nothing outlives the endpoint (the datapath owns only
 * the VXLAN devices' neighbours and leaves these alone).
 */
export async function reachByNeighbour(b: HostBinding, ip: string, mac: string): Promise<void> {
  await run('ip', ['-n', b.ns, 'neigh', 'replace', ip, 'lladdr', mac, 'dev', b.bridge, 'nud', 'stale']);
}

export class DhcpService {
  readonly stats: DhcpStats;
  private readonly servers = new Map<string, Running>();
  private index?: Map<string, HostBinding>;
  private readonly syncer = new CoalescedRunner(() => this.sync(), (err) => this.opts.logger.error({ err: err.message }, 'DHCP sync failed; will retry on the next reconcile'));
  private retry?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: DhcpServiceOptions) {
    this.stats = new DhcpStats(opts.logger.child({ component: 'dhcp' }));
  }

  viewChanged(): void {
    this.index = undefined;
  }

  reconciled(): void {
    this.index = undefined;
    if (this.stopped) return;
    this.syncer.request();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const r of this.servers.values()) r.server.close();
    this.servers.clear();
  }

  /** Tenants served now. */
  get listening(): string[] {
    return [...this.servers.keys()].sort();
  }

  /** The endpoint of this host with this MAC in `tenant`, if it is attached. */
  lookup(tenant: string, mac: string): HostBinding | undefined {
    const b = this.bindings().get(mac.toLowerCase());
    return b?.tenant === tenant ? b : undefined;
  }

  private bindings(): Map<string, HostBinding> {
    if (this.index) return this.index;
    const { cache, host, nsPrefix } = this.opts;
    const underlayMtu = [...cache.hosts.values()].find((h) => h.name === host)?.underlayMtu ?? FALLBACK_UNDERLAY_MTU;
    const index = new Map<string, HostBinding>();
    for (const tenant of cache.tenantsOn(host)) {
      const networks = new Map<string, Network>(cache.scopeOf([tenant]).networks.map((n) => [n.name, n]));
      for (const e of cache.endpointsOn(host, tenant).values()) {
        const net = networks.get(e.network);
        if (!net || !e.attachment || e.status === 'detached') continue;
        const mtu = networkMtu(net, underlayMtu);
        index.set(e.mac.toLowerCase(), { tenant, network: net.name, ip: e.ip, prefixLen: e.prefixLen, gateway: e.gateway, mtu, dns: [e.gateway], search: searchList(tenant, net.name), ns: tenantNs(nsPrefix, tenant), bridge: bridgeName(net.vni) });
      }
    }
    this.index = index;
    return index;
  }

  private async sync(): Promise<void> {
    const tenants = [...this.opts.cache.tenantsOn(this.opts.host)];
    const nsIds = new Map<string, string | undefined>();
    for (const t of tenants) nsIds.set(t, await namespaceIdentity(`${NETNS_DIR}/${tenantNs(this.opts.nsPrefix, t)}`).then(identityText, () => undefined));
    for (const [t, r] of this.servers) {
      if (nsIds.get(t) === r.nsId) continue;
      r.server.close();
      this.servers.delete(t);
    }
    const missing = tenants.filter((t) => !this.servers.has(t) && nsIds.get(t) !== undefined);
    const results = await Promise.all(missing.map((t) => this.bindTenant(t, nsIds.get(t)!)));
    if (results.includes(false) && !this.stopped) {
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.reconciled(), RETRY_MS);
    }
  }

  private async bindTenant(tenant: string, nsId: string): Promise<boolean> {
    const ns = tenantNs(this.opts.nsPrefix, tenant);
    const [bound] = await (this.opts.bind ?? bindInNamespace)(`${NETNS_DIR}/${ns}`, [{ key: tenant, proto: 'udp', address: '0.0.0.0', port: this.opts.port ?? SERVER_PORT }]);
    const udp = bound?.ok ? bound.udp : undefined;
    if (!udp || this.stopped) {
      udp?.close();
      if (!this.stopped) this.opts.logger.warn({ tenant, err: bound && !bound.ok ? bound.error : 'no socket' }, 'DHCP server not bound; retrying');
      return false;
    }
    const reach = this.opts.reach ?? reachByNeighbour;
    const server = new TenantDhcpServer(udp, {
      tenant,
      lookup: (mac) => this.lookup(tenant, mac),
      reach: (b, ip, mac) => reach(b as HostBinding, ip, mac),
      stats: this.stats,
      limiter: new DhcpLimiter(this.opts.limits ?? DEFAULT_DHCP_LIMITS),
      logger: this.opts.logger,
      leaseSeconds: this.opts.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
      ...(this.opts.clientPort ? { clientPort: this.opts.clientPort } : {}),
    });
    this.servers.get(tenant)?.server.close();
    this.servers.set(tenant, { server, nsId });
    this.opts.logger.info({ tenant, ns }, 'DHCP server listening');
    return true;
  }
}
