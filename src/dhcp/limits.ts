/**
 * Rate limits of the DHCP server (issue 10: a flood of DISCOVERs from one port cannot starve
 * the others). Every unconfigured client sends from 0.0.0.0, so the source is the client's
 * hardware address (pinning already dropped frames whose Ethernet source is not the port's
 * own MAC), and a global bucket per socket bounds what any mix of sources costs. Token
 * buckets; the per-source table is bounded, forgetting idle sources first, then the oldest.
 */
export interface DhcpLimits {
  perSecond: number;
  burst: number;
  maxSources: number;
  /** All sources of one socket (one tenant namespace) together. */
  totalPerSecond: number;
}

export const DEFAULT_DHCP_LIMITS: DhcpLimits = { perSecond: 10, burst: 20, maxSources: 4096, totalPerSecond: 100 };

interface Bucket {
  tokens: number;
  at: number;
}

export class DhcpLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly total: Bucket;

  constructor(
    private readonly opts: DhcpLimits = DEFAULT_DHCP_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.total = { tokens: opts.totalPerSecond, at: now() };
  }

  /** 'ok', or which limit refused `source` now. */
  take(source: string): 'ok' | 'rate-limited' | 'total-limited' {
    const now = this.now();
    let b = this.buckets.get(source);
    if (!b) {
      if (this.buckets.size >= this.opts.maxSources) this.evict(now);
      b = { tokens: this.opts.burst, at: now };
      this.buckets.set(source, b);
    }
    if (!spend(b, now, this.opts.perSecond, this.opts.burst)) return 'rate-limited';
    if (!spend(this.total, now, this.opts.totalPerSecond, this.opts.totalPerSecond)) return 'total-limited';
    return 'ok';
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(now: number): void {
    const refill = (this.opts.burst / this.opts.perSecond) * 1000;
    for (const [k, b] of this.buckets) if (now - b.at >= refill) this.buckets.delete(k);
    if (this.buckets.size < this.opts.maxSources) return;
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }
}

function spend(b: Bucket, now: number, perSecond: number, burst: number): boolean {
  b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}
