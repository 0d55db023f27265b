/**
 * Per-source rate limit (issue 10: one container cannot starve the others): a token bucket
 * per source address. The table is bounded: when full, sources whose bucket has refilled
 * (idle ones) are forgotten first, then the oldest, so a spray of sources costs memory
 * only up to the bound.
 */
export interface LimitOptions {
  /** Sustained queries per second one source may send. */
  perSecond: number;
  /** Queries a source may send at once after being idle. */
  burst: number;
  /** Sources remembered at most. */
  maxSources: number;
}

export const DEFAULT_LIMITS: LimitOptions = { perSecond: 200, burst: 400, maxSources: 4096 };

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly opts: LimitOptions = DEFAULT_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when `source` may be answered now (and spends one token). */
  take(source: string): boolean {
    const now = this.now();
    let b = this.buckets.get(source);
    if (!b) {
      if (this.buckets.size >= this.opts.maxSources) this.evict(now);
      b = { tokens: this.opts.burst, at: now };
      this.buckets.set(source, b);
    }
    b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) / 1000) * this.opts.perSecond);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
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
