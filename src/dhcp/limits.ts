/**
 * Rate limits of the DHCP server (issue 10: a flood of DISCOVERs from one port cannot starve
 * the others). A source is what the client cannot forge: its IP source address, pinned to its
 * port. Every unconfigured client sends from 0.0.0.0 and its chaddr is mere payload (keying
 * by it let a client drain another MAC's bucket), so those are limited per port by the
 * kernel (src/datapath/nft.ts, DHCP_FLOOD) and here only by the total. A global bucket per
 * socket bounds what any mix of sources costs. Token buckets; the per-source table is
 * bounded, forgetting idle sources first, then the oldest.
 */
import { SourceLimiter, spend, type Bucket } from '../base/rate-limit.js';
export interface DhcpLimits {
  perSecond: number;
  burst: number;
  maxSources: number;
  /** All sources of one socket (one tenant namespace) together. */
  totalPerSecond: number;
}

export const DEFAULT_DHCP_LIMITS: DhcpLimits = { perSecond: 10, burst: 20, maxSources: 4096, totalPerSecond: 100 };

export class DhcpLimiter {
  private readonly sources: SourceLimiter;
  private readonly total: Bucket;

  constructor(
    private readonly opts: DhcpLimits = DEFAULT_DHCP_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.sources = new SourceLimiter(opts, now);
    this.total = { tokens: opts.totalPerSecond, at: now() };
  }

  /** 'ok', or which limit refused `source` now. */
  take(source: string): 'ok' | 'rate-limited' | 'total-limited' {
    const now = this.now();
    if (!this.sources.take(source, now)) return 'rate-limited';
    if (!spend(this.total, now, this.opts.totalPerSecond, this.opts.totalPerSecond)) return 'total-limited';
    return 'ok';
  }

  /** Only the total: for sources the kernel limits already (unconfigured clients, per port). */
  takeTotal(): 'ok' | 'total-limited' {
    return spend(this.total, this.now(), this.opts.totalPerSecond, this.opts.totalPerSecond) ? 'ok' : 'total-limited';
  }

  get size(): number {
    return this.sources.size;
  }
}
