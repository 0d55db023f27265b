/**
 * The parker (ADR 024): keeps DNS and DHCP answering while the agent restarts. A stopping
 * agent starts this program detached and hands it every UDP socket of its DNS and DHCP
 * servers, and each DNS TCP listener, over IPC, with a snapshot of what each serves (the
 * tenant's zone, the DHCP bindings). It answers from that snapshot with the same server code until the new agent
 * has bound its own sockets next to these (SO_REUSEADDR: the last bound socket gets the
 * datagrams) and tells it to go (SIGTERM), or PARK_MAX_MS at most. One per host, and only
 * during a restart: no process per tenant or network is left running.
 *
 * IPC: `{ park: ParkedDns | ParkedDhcp }` with the UDP socket's handle, one per server, for a
 * DNS server followed by `{ parkTcp: true }` with its TCP listener, then `{ done: true }`; it
 * answers `{ parked: n }`. Leaving, it closes the TCP listeners, so the new agent can listen.
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import type { Logger } from '../base/logger.js';
import { DhcpLimiter, DEFAULT_DHCP_LIMITS } from '../dhcp/limits.js';
import { TenantDhcpServer } from '../dhcp/server.js';
import { DhcpStats } from '../dhcp/stats.js';
import { Forwarder } from '../dns/forward.js';
import { DEFAULT_LIMITS, SourceLimiter } from '../dns/limits.js';
import { NetworkDnsServer } from '../dns/server.js';
import { DnsStats } from '../dns/stats.js';
import { TenantZone } from '../dns/zone.js';
import { NETNS_DIR } from '../datapath/observe.js';
import { reachByNeighbour, type HostBinding, type ParkedDhcp } from './dhcp.js';
import type { ParkedDns } from './dns.js';

/** The parker leaves by itself after this, whatever happens to the new agent. */
export const PARK_MAX_MS = 30_000;

/** `parkTcp`: the TCP listener of the DNS server parked just before (IPC keeps the order). */
export type ParkMessage = { park: ParkedDns | ParkedDhcp } | { parkTcp: true } | { done: true };

function serve(spec: ParkedDns | ParkedDhcp, udp: dgram.Socket, logger: Logger, forwarder: Forwarder): NetworkDnsServer | TenantDhcpServer {
  if (spec.kind === 'dns') {
    const zone = new TenantZone(spec.tenant, spec.zone.networks, spec.zone.records);
    const opts = { tenant: spec.tenant, network: spec.network, zone: () => zone, stats: new DnsStats(logger), limiter: new SourceLimiter(DEFAULT_LIMITS), logger, forwarder };
    return new NetworkDnsServer(udp, undefined, opts);
  }
  const bindings = new Map(spec.bindings);
  return new TenantDhcpServer(udp, {
    tenant: spec.tenant,
    lookup: (mac) => bindings.get(mac.toLowerCase()),
    reach: (b, ip, mac) => reachByNeighbour(b as HostBinding, ip, mac),
    stats: new DhcpStats(logger),
    limiter: new DhcpLimiter(DEFAULT_DHCP_LIMITS),
    logger,
    leaseSeconds: spec.leaseSeconds,
  });
}

function main(): void {
  const logger: Logger = pino({ name: 'tenet-parker', level: process.env.TENET_LOG_LEVEL ?? 'info', base: { pid: process.pid } });
  const forwarder = new Forwarder();
  const servers: (NetworkDnsServer | TenantDhcpServer)[] = [];
  const namespaces = new Set<string>();
  const leave = (why: string) => {
    logger.info({ why, sockets: servers.length }, 'parker leaving: the agent serves again');
    for (const s of servers) s.close();
    forwarder.close();
    process.exit(0);
  };
  process.on('message', (m: ParkMessage, handle?: dgram.Socket | net.Server) => {
    if ('park' in m && handle) {
      servers.push(serve(m.park, handle as dgram.Socket, logger, forwarder));
      namespaces.add(m.park.ns);
    }
    const last = servers[servers.length - 1];
    if ('parkTcp' in m && handle && last instanceof NetworkDnsServer) last.listenTcp(handle as net.Server);
    if ('done' in m) {
      logger.info({ sockets: servers.length }, 'parker answering DNS and DHCP while the agent restarts');
      process.send?.({ parked: servers.length });
    }
  });
  process.once('SIGTERM', () => leave('told by the new agent'));
  setTimeout(() => leave(`${PARK_MAX_MS} ms passed`), PARK_MAX_MS);
  // `lab down` or a host cleanup removed the namespaces: nobody is left to answer.
  setInterval(() => {
    if (namespaces.size > 0 && [...namespaces].every((ns) => !existsSync(`${NETNS_DIR}/${ns}`))) leave('its namespaces are gone');
  }, 1_000);
}

if (process.send) main();
