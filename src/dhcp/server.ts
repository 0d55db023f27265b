/**
 * The DHCP server of one tenant namespace: one UDP socket on 0.0.0.0:67 there (bound by a
 * short-lived child, ADR 019, and handed in) serves every network of the tenant, because the
 * client's hardware address names the endpoint and so the network. Each datagram is parsed
 * (wire.ts), looked up, rate limited, answered (respond.ts) and counted; nothing a client
 * sends can throw out of here.
 *
 * Replies go to the endpoint's address and MAC (ADR 020): `reach` first makes that address
 * resolve to the MAC on the network's bridge (the client has no address yet, so it answers
 * no ARP), then the kernel routes the reply out of that bridge from the gateway's address.
 * Clients read frames to their MAC with raw sockets while unconfigured (udhcpc, dhclient).
 */
import type dgram from 'node:dgram';
import type { Logger } from '../base/logger.js';
import type { DhcpLimiter } from './limits.js';
import { respond, type Binding, type Outcome } from './respond.js';
import type { DhcpStats } from './stats.js';
import { CLIENT_PORT, parseClientMessage } from './wire.js';

export interface TenantDhcpOptions {
  tenant: string;
  /** The endpoint on this host with this MAC, now (read per message: follows the agent's cache). */
  lookup: (mac: string) => Binding | undefined;
  /** Makes `ip` resolve to `mac` on the binding's bridge before a reply is sent there. */
  reach: (b: Binding, ip: string, mac: string) => Promise<void>;
  stats: DhcpStats;
  limiter: DhcpLimiter;
  logger: Logger;
  leaseSeconds?: number;
  /** Where clients listen (68; tests use others). */
  clientPort?: number;
}

const UNCONFIGURED = '0.0.0.0';

export class TenantDhcpServer {
  constructor(
    private readonly udp: dgram.Socket,
    private readonly opts: TenantDhcpOptions,
  ) {
    udp.on('message', (msg, rinfo) => void this.handle(msg, rinfo.address).catch((err) => opts.logger.warn({ err: (err as Error).message, tenant: opts.tenant }, 'DHCP reply not sent')));
    udp.on('error', (err) => opts.logger.warn({ err: err.message, tenant: opts.tenant }, 'DHCP socket error'));
  }

  close(): void {
    try {
      this.udp.close();
    } catch {
      // closed already
    }
  }

  /**
   * Answers one datagram from `from` (its IP source); resolves with what was decided (tests
   * read it). The rate limit is keyed by what a client cannot forge: a configured client's
   * source address (pinned to its port). `chaddr` is only payload, so a client with no address
   * yet (source 0.0.0.0) is limited per port by the kernel (the bridge table's dhcp-flood
   * meter, src/datapath/nft.ts) and here only by the namespace's total (ADR 024).
   */
  async handle(packet: Buffer, from = UNCONFIGURED): Promise<Outcome> {
    const where: Record<string, unknown> = { tenant: this.opts.tenant };
    const parsed = parseClientMessage(packet);
    if (!parsed.ok) return this.counted({ result: parsed.reason }, where);
    const msg = parsed.msg;
    where.mac = msg.chaddr;
    const binding = this.opts.lookup(msg.chaddr);
    // Unknown MACs cost a lookup and a count, never a token: they cannot drain anyone's bucket.
    if (!binding) return this.counted({ result: 'unknown-mac' }, where);
    const limit = from === UNCONFIGURED ? this.opts.limiter.takeTotal() : this.opts.limiter.take(from);
    if (limit !== 'ok') return this.counted({ result: limit }, where);
    const out = respond(msg, () => binding, this.opts.leaseSeconds);
    this.counted(out, { ...where, network: binding.network });
    if (out.result === 'decline') this.opts.logger.warn({ ...where, ip: binding.ip, network: binding.network }, 'DHCP DECLINE: the client says its Tenet address is in use on the network');
    if (out.reply && out.to) await this.send(out.reply, binding, out.to.ip, out.to.mac);
    return out;
  }

  private async send(reply: Buffer, b: Binding, ip: string, mac: string): Promise<void> {
    await this.opts.reach(b, ip, mac);
    await new Promise<void>((resolve) => this.udp.send(reply, this.opts.clientPort ?? CLIENT_PORT, ip, () => resolve()));
  }

  private counted(out: Outcome, where: Record<string, unknown>): Outcome {
    this.opts.stats.count(out.result, where);
    return out;
  }
}
