/**
 * The DNS server of one network: a UDP socket and a TCP listener on the network's gateway
 * address, bound elsewhere (in the tenant's namespace, by a short-lived child: ADR 019) and
 * handed in. Every query passes the per-source limit first, then answerPacket; nothing a
 * client sends can throw out of here.
 *
 * TCP (RFC 7766, for answers truncated over UDP): two-byte length framing, answers in order
 * except forwarded ones (RFC 7766 6.2.1.1 allows that), at most MAX_TCP_PER_SOURCE
 * connections per source and MAX_TCP in all, each closed when idle for TCP_IDLE_MS; a frame
 * longer than a query may be closes it.
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import type { Logger } from '../base/logger.js';
import { answerPacket } from './answer.js';
import type { SourceLimiter } from './limits.js';
import type { DnsStats } from './stats.js';
import type { Forwarder } from './forward.js';
import { MAX_QUERY_BYTES } from './wire.js';
import type { TenantZone } from './zone.js';

export const MAX_TCP = 256;
export const MAX_TCP_PER_SOURCE = 8;
export const TCP_IDLE_MS = 5_000;

export interface NetworkServerOptions {
  tenant: string;
  network: string;
  /** The tenant's zone now (read per query: answers follow the agent's cache at once). */
  zone: () => TenantZone | undefined;
  stats: DnsStats;
  limiter: SourceLimiter;
  logger: Logger;
  /** Forwards names outside the zone when the network has an upstream (absent: REFUSED). */
  forwarder?: Forwarder;
}

export class NetworkDnsServer {
  private readonly conns = new Map<string, Set<net.Socket>>();
  private tcpCount = 0;

  private tcp?: net.Server;

  /** `tcp` may come later (`listenTcp`): through an agent restart the parker holds it a moment longer (ADR 024). */
  constructor(
    private readonly udp: dgram.Socket,
    tcp: net.Server | undefined,
    private readonly opts: NetworkServerOptions,
  ) {
    udp.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address, rinfo.port));
    udp.on('error', (err) => opts.logger.warn({ err: err.message, network: opts.network }, 'DNS UDP socket error'));
    if (tcp) this.listenTcp(tcp);
  }

  /** Serves TCP (the fallback for truncated answers) on `tcp`, a listening socket. */
  listenTcp(tcp: net.Server): void {
    this.tcp?.close();
    this.tcp = tcp;
    tcp.on('connection', (sock) => this.onConnection(sock));
    tcp.on('error', (err) => this.opts.logger.warn({ err: err.message, network: this.opts.network }, 'DNS TCP listener error'));
  }

  close(): void {
    try {
      this.udp.close();
    } catch {
      // closed already
    }
    this.tcp?.close();
    for (const set of this.conns.values()) for (const s of set) s.destroy();
  }

  /**
   * Answers one query from `source` through `reply`, at once or (forwarded to the network's
   * upstream) later; a dropped query gets no reply (counted).
   */
  private answer(msg: Buffer, source: string, udp: boolean, reply: (packet: Buffer) => void): void {
    const where = { tenant: this.opts.tenant, network: this.opts.network, source };
    if (!this.opts.limiter.take(source)) {
      this.opts.stats.count('rate-limited', where);
      return;
    }
    const r = answerPacket(msg, this.opts.zone(), this.opts.network, udp);
    if (r.forward && this.opts.forwarder) {
      const { servfail } = r.forward;
      this.opts.forwarder.forward(msg, source, r.forward.upstream, (result, answer) => {
        this.opts.stats.count(result, where);
        reply(answer ?? servfail); // the upstream saw the client's own size limit (EDNS)
      });
      return;
    }
    this.opts.stats.count(r.result, where);
    if (r.packet) reply(r.packet);
  }

  private onDatagram(msg: Buffer, address: string, port: number): void {
    this.answer(msg, address, true, (packet) => this.udp.send(packet, port, address, () => {})); // a send error (ICMP) is the client's
  }

  private onConnection(sock: net.Socket): void {
    const source = sock.remoteAddress ?? '?';
    const mine = this.conns.get(source) ?? new Set<net.Socket>();
    if (this.tcpCount >= MAX_TCP || mine.size >= MAX_TCP_PER_SOURCE) {
      this.opts.stats.count('tcp-refused', { tenant: this.opts.tenant, network: this.opts.network, source });
      sock.destroy();
      return;
    }
    mine.add(sock);
    this.conns.set(source, mine);
    this.tcpCount++;
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('error', () => {}); // resets by the client end the connection; 'close' cleans up
    sock.on('close', () => {
      this.tcpCount--;
      mine.delete(sock);
      if (mine.size === 0) this.conns.delete(source);
    });
    let buffered = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && !sock.destroyed) {
        const len = buffered.readUInt16BE(0);
        if (len > MAX_QUERY_BYTES) {
          this.opts.stats.count('tcp-oversized', { tenant: this.opts.tenant, network: this.opts.network, source });
          sock.destroy();
          return;
        }
        if (buffered.length < 2 + len) return;
        const query = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        this.answer(query, source, false, (packet) => {
          if (!sock.destroyed) sock.write(Buffer.concat([lengthPrefix(packet.length), packet]));
        });
      }
    });
  }
}

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
