/**
 * The DNS server of one network: a UDP socket and a TCP listener on the network's gateway
 * address, bound elsewhere (in the tenant's namespace, by a short-lived child: ADR 019) and
 * handed in. Every query passes the per-source limit first, then answerPacket; nothing a
 * client sends can throw out of here.
 *
 * TCP (RFC 7766, for answers truncated over UDP): two-byte length framing, queries answered
 * in order, at most MAX_TCP_PER_SOURCE connections per source and MAX_TCP in all, each
 * closed when idle for TCP_IDLE_MS; a frame longer than a query may be closes it.
 */
import type dgram from 'node:dgram';
import type net from 'node:net';
import type { Logger } from '../base/logger.js';
import { answerPacket } from './answer.js';
import type { SourceLimiter } from './limits.js';
import type { DnsStats } from './stats.js';
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
}

export class NetworkDnsServer {
  private readonly conns = new Map<string, Set<net.Socket>>();
  private tcpCount = 0;

  constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server | undefined,
    private readonly opts: NetworkServerOptions,
  ) {
    udp.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address, rinfo.port));
    udp.on('error', (err) => opts.logger.warn({ err: err.message, network: opts.network }, 'DNS UDP socket error'));
    tcp?.on('connection', (sock) => this.onConnection(sock));
    tcp?.on('error', (err) => opts.logger.warn({ err: err.message, network: opts.network }, 'DNS TCP listener error'));
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

  /** The answer to one query from `source`, or undefined (dropped: counted). */
  private answer(msg: Buffer, source: string, udp: boolean): Buffer | undefined {
    const where = { tenant: this.opts.tenant, network: this.opts.network, source };
    if (!this.opts.limiter.take(source)) {
      this.opts.stats.count('rate-limited', where);
      return undefined;
    }
    const r = answerPacket(msg, this.opts.zone(), this.opts.network, udp);
    this.opts.stats.count(r.result, where);
    return r.packet;
  }

  private onDatagram(msg: Buffer, address: string, port: number): void {
    const packet = this.answer(msg, address, true);
    if (packet) this.udp.send(packet, port, address, () => {}); // a send error (ICMP) is the client's
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
        const packet = this.answer(buffered.subarray(2, 2 + len), source, false);
        buffered = buffered.subarray(2 + len);
        if (packet) sock.write(Buffer.concat([lengthPrefix(packet.length), packet]));
      }
    });
  }
}

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
