/**
 * The agent's DHCP service (issue 10, ADR 020): one server per tenant namespace on this host,
 * a UDP socket on 0.0.0.0:67 bound there by a short-lived child (ns-sockets.ts, ADR 019),
 * answering the endpoints of this host by MAC with their Tenet address, from the agent's
 * cache. The servers follow the cache as ns-services.ts says (like DnsService); the
 * MAC index is rebuilt lazily after a watch message, so a new endpoint is answered at once.
 *
 * Only endpoints placed on THIS host are answered: a DISCOVER flooded over VXLAN reaches
 * the other hosts' bridges too, and their agents must stay silent.
 */
import type dgram from 'node:dgram';
import type { Logger } from '../base/logger.js';
import { DEFAULT_DHCP_LIMITS, DhcpLimiter, type DhcpLimits } from '../dhcp/limits.js';
import { DEFAULT_LEASE_SECONDS, type Binding } from '../dhcp/respond.js';
import { TenantDhcpServer } from '../dhcp/server.js';
import { DhcpStats } from '../dhcp/stats.js';
import { SERVER_PORT } from '../dhcp/wire.js';
import { bridgeName, tenantNs } from '../datapath/names.js';
import { networkMtu } from '../datapath/plan.js';
import { ExecRunner } from '../datapath/runner.js';
import type { Network } from '../model/types.js';
import type { ObjectCache } from './cache.js';
import { DhcpFloodWatch } from './dhcp-flood.js';
import { NeighbourBatcher } from './dhcp-neighbours.js';
import type { bindInNamespace } from './ns-sockets.js';
import { NamespaceServers, type Bound, type WantedServer } from './ns-services.js';

/** Until this host's object arrives (it always does before its endpoints matter). */
const FALLBACK_UNDERLAY_MTU = 1500;

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
  /** Makes `ip` resolve to `mac` on the bridge (default: `ip neigh replace … nud stale`, batched). */
  reach?: (b: HostBinding, ip: string, mac: string) => Promise<void>;
  /** Called after a sync left every server running (the socket handoff, ns-socket-handoff.ts). */
  onComplete?: () => void;
  /** How often the kernel's DHCP flood counters are read (dhcp-flood.ts); 0: never. */
  floodEveryMs?: number;
}

interface Wanted extends WantedServer {
  tenant: string;
}

/** What a parked DHCP socket needs to keep answering without the agent (ns-socket-parker.ts). */
export interface ParkedDhcp {
  kind: 'dhcp';
  tenant: string;
  ns: string;
  bindings: [string, HostBinding][];
  leaseSeconds: number;
}

/** The search list a lease carries: `<network>.<tenant>` then `<tenant>` (ADR 020). */
export function searchList(tenant: string, network: string): string[] {
  return [`${network}.${tenant}`, tenant];
}

/** One batcher per process: at most one `ip -batch` per tenant namespace at a time (dhcp-neighbours.ts). */
const neighbours = new NeighbourBatcher(new ExecRunner());

/**
 * A STALE entry, not a permanent one: the kernel sends to it at once, then checks it by ARP
 * and forgets it if nobody answers, so nothing outlives the endpoint (the datapath owns only
 * the VXLAN devices' neighbours and leaves these alone). Batched with the other replies of a
 * burst: one process per reply made 50 clients at once wait seconds (ADR 020 addendum).
 */
export function reachByNeighbour(b: HostBinding, ip: string, mac: string): Promise<void> {
  return neighbours.reach(b.ns, b.bridge, ip, mac);
}

export class DhcpService {
  readonly stats: DhcpStats;
  /** What the kernel dropped as DHCP floods, per tenant (the per-port limit, dhcp-flood.ts). */
  readonly floods: DhcpFloodWatch;
  private index?: Map<string, HostBinding>;
  private readonly servers: NamespaceServers<Wanted, TenantDhcpServer>;

  constructor(private readonly opts: DhcpServiceOptions) {
    this.stats = new DhcpStats(opts.logger.child({ component: 'dhcp' }));
    const hooks = { name: 'DHCP', logger: opts.logger, wanted: () => this.wanted(), start: (w: Wanted, s: Bound[]) => this.start(w, s) };
    this.servers = new NamespaceServers({ ...hooks, ...(opts.bind ? { bind: opts.bind } : {}), ...(opts.onComplete ? { onComplete: opts.onComplete } : {}) });
    const tenants = () => this.wanted().map(({ tenant, ns }) => ({ tenant, ns }));
    this.floods = new DhcpFloodWatch({ runner: new ExecRunner(), logger: opts.logger.child({ component: 'dhcp' }), tenants, ...(opts.floodEveryMs ? { everyMs: opts.floodEveryMs } : {}) });
    if (opts.floodEveryMs !== 0) this.floods.start();
  }

  viewChanged(): void {
    this.index = undefined;
  }

  reconciled(): void {
    this.index = undefined;
    this.servers.request();
  }

  stop(): void {
    this.floods.stop();
    this.servers.stop();
  }

  /** Tenants served now. */
  get listening(): string[] {
    return this.servers.keys;
  }

  /** The endpoint of this host with this MAC in `tenant`, if it is attached. */
  lookup(tenant: string, mac: string): HostBinding | undefined {
    const b = this.bindings().get(mac.toLowerCase());
    return b?.tenant === tenant ? b : undefined;
  }

  /** Each tenant's socket with its bindings, for the parker that answers while the agent restarts. */
  parkable(): { udp: dgram.Socket; spec: ParkedDhcp }[] {
    const all = [...this.bindings()];
    const leaseSeconds = this.opts.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    return this.servers.servers.flatMap(({ wanted: w, sockets }) => {
      const udp = sockets[0]?.udp;
      return udp ? [{ udp, spec: { kind: 'dhcp' as const, tenant: w.tenant, ns: w.ns, bindings: all.filter(([, b]) => b.tenant === w.tenant), leaseSeconds } }] : [];
    });
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

  private wanted(): Wanted[] {
    const port = this.opts.port ?? SERVER_PORT;
    return [...this.opts.cache.tenantsOn(this.opts.host)].map((tenant) => ({ key: tenant, tenant, ns: tenantNs(this.opts.nsPrefix, tenant), requests: [{ key: tenant, proto: 'udp' as const, address: '0.0.0.0', port }] }));
  }

  private start(w: Wanted, [bound]: Bound[]): TenantDhcpServer {
    const reach = this.opts.reach ?? reachByNeighbour;
    return new TenantDhcpServer(bound!.udp!, {
      tenant: w.tenant,
      lookup: (mac) => this.lookup(w.tenant, mac),
      reach: (b, ip, mac) => reach(b as HostBinding, ip, mac),
      stats: this.stats,
      limiter: new DhcpLimiter(this.opts.limits ?? DEFAULT_DHCP_LIMITS),
      logger: this.opts.logger,
      leaseSeconds: this.opts.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
      ...(this.opts.clientPort ? { clientPort: this.opts.clientPort } : {}),
    });
  }
}
