/**
 * Token buckets per source, for the workload services (DNS and DHCP, issue 10: one container
 * cannot starve the others). The table is bounded: when full, sources whose bucket has
 * refilled (idle ones) are forgotten first, then the oldest, so a spray of sources costs
 * memory only up to the bound. One copy here: the dns and dhcp layers may not import each other.
 */
export interface LimitOptions {
  /** Sustained messages per second one source may send. */
  perSecond: number;
  /** Messages a source may send at once after being idle. */
  burst: number;
  /** Sources remembered at most. */
  maxSources: number;
}

export interface Bucket {
  tokens: number;
  at: number;
}

export class SourceLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly opts: LimitOptions,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when `source` may be answered now (and spends one token). */
  take(source: string, now = this.now()): boolean {
    let b = this.buckets.get(source);
    if (!b) {
      if (this.buckets.size >= this.opts.maxSources) this.evict(now);
      b = { tokens: this.opts.burst, at: now };
      this.buckets.set(source, b);
    }
    return spend(b, now, this.opts.perSecond, this.opts.burst);
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

/** Refills `b` for the time since its last use and spends one token if it has one. */
export function spend(b: Bucket, now: number, perSecond: number, burst: number): boolean {
  b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}
