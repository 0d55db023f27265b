/**
 * Rate limits of the DHCP server (issue 10: a flood of DISCOVERs from one port cannot starve
 * the others). Every unconfigured client sends from 0.0.0.0, so the source is the client's
 * hardware address (pinning already dropped frames whose Ethernet source is not the port's
 * own MAC), and a global bucket per socket bounds what any mix of sources costs. Token
 * buckets; the per-source table is bounded, forgetting idle sources first, then the oldest.
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

  get size(): number {
    return this.sources.size;
  }
}
